"""What a repeated transaction gets: run once, then the original answer or ``duplicate``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.memory.transactions import DUPLICATE_WINDOW, Envelope, RequestMemory
from lianke_bridge.bridge.records.answer import Answer
from lianke_bridge.errors import StateUnavailableError

TOPIC = "lianke/office/request/print"
CANCEL = "lianke/office/request/cancel"
OK = {"status": "ok", "data": {"task_id": "t-1"}, "transaction": "a"}


async def _nothing_to_recover(_topic: str, _transaction: str) -> Answer[Envelope] | None:
    return None


def _code(answer: Answer[Envelope] | None) -> Any:
    return None if answer is None else answer.data.get("error", {}).get("code")


async def test_a_repeat_while_answering_and_after_is_a_duplicate(tmp_path: Path) -> None:
    """Handled once; a repeat during the publish or after it is duplicate, with the answer."""
    store = Store(tmp_path)
    memory = RequestMemory(store, _nothing_to_recover)
    assert await memory.begin(TOPIC, "a") is None
    assert _code(await memory.begin(TOPIC, "a")) == "duplicate"  # still running
    memory.release(TOPIC, "a")
    await memory.answered(TOPIC, "a", OK)
    during = await memory.begin(TOPIC, "a")
    memory.sent(TOPIC, "a")
    after = await memory.begin(TOPIC, "a")
    store.close()
    assert during is not None
    assert after is not None
    assert during.data["error"]["original"] == OK
    assert after.data["error"]["original"] == OK


async def test_an_answer_never_published_is_given_once_after_a_restart(tmp_path: Path) -> None:
    """Killed between recording and publishing: the redelivery gets the answer itself, once."""
    store = Store(tmp_path)
    memory = RequestMemory(store, _nothing_to_recover)
    assert await memory.begin(TOPIC, "a") is None
    memory.release(TOPIC, "a")
    await memory.answered(TOPIC, "a", OK)
    store.close()  # the bridge dies here: never published
    again = Store(tmp_path)
    memory = RequestMemory(again, _nothing_to_recover)
    first = await memory.begin(TOPIC, "a")
    second = await memory.begin(TOPIC, "a")
    memory.sent(TOPIC, "a")
    again.close()
    assert first == Answer(OK)
    assert _code(second) == "duplicate"


async def test_a_request_begun_and_never_answered_runs_again_if_nothing_was_done(
    tmp_path: Path,
) -> None:
    """Interrupted before anything happened: recover says so, and it runs once more."""
    store = Store(tmp_path)
    assert await RequestMemory(store, _nothing_to_recover).begin(TOPIC, "a") is None
    store.close()
    again = Store(tmp_path)
    memory = RequestMemory(again, _nothing_to_recover)
    assert await memory.begin(TOPIC, "a") is None
    assert _code(await memory.begin(TOPIC, "a")) == "duplicate"
    again.close()


async def test_an_interrupted_request_gets_what_its_command_recovers_then_duplicate(
    tmp_path: Path,
) -> None:
    """Begun by an earlier run, never answered: the command's hook finds the answer.

    It is given once, with the work the hook left for after it (a found job's topics), and
    remembered: a repeat is ``duplicate`` carrying it.
    """

    async def announce() -> None:
        """A found job's publication (never run here: answering runs it)."""

    asked: list[tuple[str, str]] = []

    async def recover(topic: str, transaction: str) -> Answer[Envelope] | None:
        asked.append((topic, transaction))
        return Answer(OK, after=(announce,))

    store = Store(tmp_path)
    assert await RequestMemory(store, recover).begin(TOPIC, "a") is None
    store.close()  # the bridge dies before answering
    again = Store(tmp_path)
    memory = RequestMemory(again, recover)
    recovered = await memory.begin(TOPIC, "a")
    memory.sent(TOPIC, "a")
    repeat = await memory.begin(TOPIC, "a")
    again.close()
    assert recovered == Answer(OK, after=(announce,))
    assert asked == [(TOPIC, "a")]
    assert repeat is not None
    assert repeat.data["error"]["original"] == OK


async def test_duplicates_are_forgotten_after_the_window(tmp_path: Path) -> None:
    """Past the window the same transaction runs again."""
    store = Store(tmp_path)
    memory = RequestMemory(store, _nothing_to_recover, window=-1)
    assert await memory.begin(TOPIC, "a") is None
    memory.release(TOPIC, "a")
    await memory.answered(TOPIC, "a", OK)
    memory.sent(TOPIC, "a")
    assert await memory.begin(TOPIC, "a") is None
    store.close()


async def test_an_answer_that_could_not_be_published_is_given_as_is_next_time(
    tmp_path: Path,
) -> None:
    """The session ended while answering: the redelivery gets the answer itself, not duplicate."""
    store = Store(tmp_path)
    memory = RequestMemory(store, _nothing_to_recover)
    assert await memory.begin(TOPIC, "a") is None
    memory.release(TOPIC, "a")
    await memory.answered(TOPIC, "a", OK)
    memory.sent(TOPIC, "a", published=False)
    assert await memory.begin(TOPIC, "a") == Answer(OK)
    store.close()


class FakeClock:
    """A wall clock and a monotonic clock the test sets by hand."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.elapsed = 5_000.0

    def wall(self) -> float:
        """The wall clock (steps when the test says so)."""
        return self.now

    def monotonic(self) -> float:
        """The monotonic clock (moves only with ``advance``)."""
        return self.elapsed

    def advance(self, seconds: float) -> None:
        """Real time passes: both clocks move."""
        self.now += seconds
        self.elapsed += seconds


async def _answered(memory: RequestMemory) -> None:
    assert await memory.begin(TOPIC, "a") is None
    memory.release(TOPIC, "a")
    await memory.answered(TOPIC, "a", OK)
    memory.sent(TOPIC, "a")


async def test_the_window_is_time_that_passed_whatever_the_wall_clock_does(
    tmp_path: Path,
) -> None:
    """Steps of the wall clock neither end nor stretch the window, in a run or across restarts.

    +1 day in a run: still a duplicate (and, after a clean stop, after the restart too); the
    clock set back 25 h before a restart: the record from the "future" counts as new, and is
    forgotten one window later, on the monotonic clock.
    """
    clock = FakeClock()
    store = Store(tmp_path, clock=clock)
    memory = RequestMemory(store, _nothing_to_recover)
    await _answered(memory)
    await store.flush()  # on disk with the wall time before the step
    clock.now += 86400  # NTP steps the clock a day forward
    stepped = _code(await memory.begin(TOPIC, "a"))
    store.close()  # a clean stop re-bases what it remembers on the new wall clock
    store = Store(tmp_path, clock=clock)
    after_restart = _code(await RequestMemory(store, _nothing_to_recover).begin(TOPIC, "a"))
    store.close()
    clock.now -= 25 * 3600  # set back before the next start: the record is from the "future"
    store = Store(tmp_path, clock=clock)
    memory = RequestMemory(store, _nothing_to_recover)
    from_the_future = _code(await memory.begin(TOPIC, "a"))
    clock.advance(DUPLICATE_WINDOW + 1)
    expired = await memory.begin(TOPIC, "a")
    store.close()
    assert (stepped, after_restart, from_the_future) == ("duplicate", "duplicate", "duplicate")
    assert expired is None  # one window after the start: it runs again


async def test_a_command_that_acts_needs_its_record_and_its_answer_goes_out_anyway(
    tmp_path: Path,
) -> None:
    """The disk fails after a command ran: its answer is still given, a repeat is ``duplicate``.

    While it fails, a new command that acts is refused (``StateUnavailableError``) and not
    remembered: sent again, it is refused again, never taken for a duplicate.
    """
    state = tmp_path / "state"
    store = Store(state)
    memory = RequestMemory(store, _nothing_to_recover)
    assert await memory.begin(CANCEL, "a", durable=True) is None
    shutil.rmtree(state)
    state.write_text("in the way", encoding="utf-8")  # nothing can be written any more
    memory.release(CANCEL, "a")
    await memory.answered(CANCEL, "a", OK, durable=True)  # the cancel was done: no raise
    memory.sent(CANCEL, "a")
    repeat = await memory.begin(CANCEL, "a", durable=True)
    refused = []
    for _ in range(2):
        with pytest.raises(StateUnavailableError):
            await memory.begin(CANCEL, "b", durable=True)
        refused.append((CANCEL, "b") in store.requests)
    store.close()
    assert _code(repeat) == "duplicate"
    assert refused == [False, False]
