"""Exactly once for requests that carry a ``transaction``: across redeliveries and restarts.

The broker may deliver a QoS 1 request again (a lost PUBACK, a reconnect, the bridge killed
before it acknowledged). Each request with a transaction is recorded before it runs and its
answer before it is published, so a repeat within ``DUPLICATE_WINDOW`` is never run again:

- answered and published: ``duplicate``, with the original answer in ``error.original``
  (unless the broker itself sends the request again: its answer is out, nothing more goes);
- answered, not yet published (the bridge died in between): the original answer, as is;
- being handled right now: ``duplicate`` (the answer follows on its own);
- begun by an earlier run that died before answering: ``recover`` (the registry's: the
  command's own hook) says what became of it (a print is looked up in the cloud); if nothing
  of it was done, it runs now.

What waits for the disk (see ``store.py``) is only what a side effect depends on. A command that
acts (``cancel``, ``reboot``...: ``durable``) is on disk, power cut included, before it runs and
its answer before it is published. A query's records are queued: lost in a crash, the query
runs again and does what it did. A print's record is queued too: its submission, on disk
before the cloud call, carries it (writes are committed in order), and what follows the call
may be lost with a crash because ``recover`` finds the job again from that submission.

When the state cannot be written (``StateUnavailableError``), a command whose record must be on
disk before it runs does not run: it is answered ``state_unavailable`` and forgotten, so the same
transaction runs once the disk takes writes again. An answer whose record cannot be written
after the command ran is still given (and remembered in memory, for this run only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lianke_bridge.bridge.memory.entries import SeenRequest
from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.records.answer import Answer
from lianke_bridge.bridge.records.envelope import duplicate_error, error_envelope
from lianke_bridge.errors import StateUnavailableError

DUPLICATE_WINDOW = 600.0
"""Seconds a request's transaction is remembered (QoS 1 may deliver twice), across restarts.

Measured on the monotonic clock (the store's): a step of the wall clock, NTP setting a Pi's
clock a day forward after boot, neither ends nor stretches it. Across a restart a record's age
comes from the wall clock, never below 0 (``clock.py``)."""

Envelope = dict[str, Any]
"""An answer as published: ``{"status", "data" or "error", "transaction"}``."""
Recover = Callable[[str, str], Awaitable[Answer[Envelope] | None]]
"""(request topic, transaction) -> the answer of an interrupted request (its envelope, and what
to do once it is out), or None: run it again."""


class RequestMemory:
    """Decides whether a request with a transaction runs, and remembers its answer."""

    def __init__(self, store: Store, recover: Recover, *, window: float = DUPLICATE_WINDOW) -> None:
        self._store = store
        self._recover = recover
        self._window = window
        self._live: set[tuple[str, str]] = set()
        self._sending: set[tuple[str, str]] = set()
        """Answers being published right now (a repeat meanwhile is a duplicate)."""

    async def begin(
        self, topic: str, transaction: str, *, durable: bool = False
    ) -> Answer[Envelope] | None:
        """None: run the request (it is recorded as begun). Else the answer to give.

        ``durable``: the record is on disk before this returns; else it is queued.
        """
        now = self._store.clock.monotonic()
        self._store.expire_requests(now - self._window)
        key = (topic, transaction)
        seen = self._store.requests.get(key)
        if seen is not None:
            answer = await self._repeat(seen)
            if answer is not None:
                return answer
        self._live.add(key)
        begun = SeenRequest(topic, transaction, now)
        try:
            if durable:
                await self._store.remember_request(begun)
            else:
                self._store.note_request(begun)
        except StateUnavailableError:  # not on disk: it must not run (and may come again)
            self._live.discard(key)
            self._store.forget_request(topic, transaction)
            raise
        except BaseException:  # cancelled while recording: the request did not begin
            self._live.discard(key)
            raise
        return None

    async def _repeat(self, seen: SeenRequest) -> Answer[Envelope] | None:
        """The answer to a transaction seen before; None: it never ran, run it now."""
        key = (seen.topic, seen.transaction)
        if key in self._live:
            return Answer(duplicate_envelope(seen.transaction, None))
        if seen.answer is not None:
            if seen.sent or key in self._sending:
                return Answer(duplicate_envelope(seen.transaction, seen.answer))
            self._sending.add(key)
            return Answer(seen.answer)
        answer = await self._recover(seen.topic, seen.transaction)
        if answer is None:
            return None
        if key in self._sending:  # another delivery recovered it meanwhile
            return Answer(duplicate_envelope(seen.transaction, answer.data), answer.after)
        self._sending.add(key)
        try:
            await self._store.remember_request(
                SeenRequest(seen.topic, seen.transaction, seen.seen_at, answer.data)
            )
        except StateUnavailableError:
            pass  # the answer is known (in memory): give it
        except BaseException:  # cancelled: the next delivery recovers it again
            self._sending.discard(key)
            raise
        return answer

    def published(self, topic: str, transaction: str) -> bool:
        """Whether the answer to this transaction went out and the broker took it."""
        self._store.expire_requests(self._store.clock.monotonic() - self._window)
        seen = self._store.requests.get((topic, transaction))
        return seen is not None and seen.answer is not None and seen.sent

    def release(self, topic: str, transaction: str) -> None:
        """The request that ``begin`` let run is over (answered, failed or cancelled)."""
        self._live.discard((topic, transaction))

    def forget(self, topic: str, transaction: str) -> None:
        """The request that ``begin`` let run did nothing (its state could not be written)."""
        self._live.discard((topic, transaction))
        self._store.forget_request(topic, transaction)

    async def answered(
        self, topic: str, transaction: str, envelope: dict[str, Any], *, durable: bool = False
    ) -> None:
        """Record the answer before it is published (``durable``: on disk); ``sent`` follows."""
        key = (topic, transaction)
        self._sending.add(key)
        seen = self._store.requests.get(key)
        seen_at = seen.seen_at if seen is not None else self._store.clock.monotonic()
        answer = SeenRequest(topic, transaction, seen_at, envelope)
        if not durable:
            self._store.note_request(answer)
            return
        try:
            await self._store.remember_request(answer)
        except StateUnavailableError:
            pass  # the command ran: its answer goes out all the same (remembered in memory)
        except BaseException:  # cancelled: never published, the redelivery gets it as is
            self._sending.discard(key)
            raise

    def sent(self, topic: str, transaction: str, *, published: bool = True) -> None:
        """The answer was published (a repeat now gets ``duplicate``), or could not be."""
        self._sending.discard((topic, transaction))
        seen = self._store.requests.get((topic, transaction))
        if published and seen is not None and seen.answer is not None and not seen.sent:
            self._store.mark_sent(seen)


def duplicate_envelope(transaction: str, original: dict[str, Any] | None) -> dict[str, Any]:
    """``duplicate``; with the first answer in ``error.original`` once there is one."""
    envelope = error_envelope(duplicate_error(transaction), transaction)
    if original is not None:
        envelope["error"]["original"] = original
    return envelope
