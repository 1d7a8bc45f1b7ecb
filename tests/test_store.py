"""The store: what survives a restart, a corrupt file, and writes kept off the event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import StalledDisk

from lianke_bridge import heartbeat
from lianke_bridge.bridge.memory import store as store_module
from lianke_bridge.bridge.memory.entries import SeenRequest, Submission
from lianke_bridge.bridge.memory.statedb import StateDatabase
from lianke_bridge.bridge.memory.store import (
    CORRUPT_SUFFIX,
    DATABASE_FILE,
    LEGACY_STATE_FILE,
    Store,
)
from lianke_bridge.bridge.records.state import JobRecord
from lianke_bridge.errors import StateUnavailableError


def _reopen(store: Store, directory: Path) -> Store:
    store.close()
    return Store(directory)


def _leftovers(directory: Path) -> list[str]:
    """Files a crash-safe writer must not leave behind once closed."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".") or "-wal" in p.name)


async def test_everything_survives_a_restart(tmp_path: Path) -> None:
    """Discovery, jobs, requests with their answers, submissions and subscriptions come back."""
    store = Store(tmp_path)
    store.set_discovery({"homeassistant/device/lianke_x/config": ["sensor/queue"]})
    store.put_job(JobRecord(task_id="t-1", device="office", port=1, source="url"))
    answer = {"status": "ok", "data": {"task_id": "t-1"}, "transaction": "a"}
    await store.remember_request(SeenRequest("lianke/office/request/print", "a", 1.0, answer))
    await store.begin_submission(Submission("s-1", "office", 2, "text", "b", 2.0))
    store.set_subscriptions(["lianke/+/request/+", "homeassistant/status"])
    store.set_subscriptions(["lianke/+/request/+"])
    again = _reopen(store, tmp_path)
    assert again.subscriptions == {"lianke/+/request/+"}
    assert again.discovery == {"homeassistant/device/lianke_x/config": ["sensor/queue"]}
    assert list(again.jobs) == ["t-1"]
    assert again.requests[("lianke/office/request/print", "a")].answer == answer
    assert again.submissions["s-1"].port == 2
    again.close()
    assert _leftovers(tmp_path) == []


async def test_an_awaited_write_is_committed_before_it_returns(tmp_path: Path) -> None:
    """A request remembered is on disk at once: another connection reads it (as after SIGKILL)."""
    store = Store(tmp_path)
    await store.remember_request(SeenRequest("t/request/print", "x", 5.0))
    with sqlite3.connect(tmp_path / DATABASE_FILE) as other:
        rows = other.execute("SELECT kind FROM state").fetchall()
    assert rows == [("request",)]
    store.close()


async def test_a_durable_write_brings_every_earlier_queued_one_to_disk(tmp_path: Path) -> None:
    """Queued writes need no await; the next durable one commits them with it, in order."""
    store = Store(tmp_path)
    store.note_request(SeenRequest("t/request/print", "p", 5.0))
    store.put_job(JobRecord(task_id="t-1", device="office", port=1, source="url"))
    store.end_submission("gone")
    await store.begin_submission(Submission("s-1", "office", 1, "url", "p", 6.0))
    with sqlite3.connect(tmp_path / DATABASE_FILE) as other:
        rows = sorted(other.execute("SELECT kind, key FROM state").fetchall())
    assert rows == [("job", "t-1"), ("request", '["t/request/print", "p"]'), ("submission", "s-1")]
    store.close()


async def test_a_waiter_cancelled_does_not_cancel_its_write_or_stop_the_writer(
    tmp_path: Path,
) -> None:
    """A task cancelled while its record waits for the disk: the record is written anyway.

    Every later write is too: the writer thread goes on.
    """
    store = Store(tmp_path)
    database = store.database._db  # the disk under the store, to be stalled
    assert database is not None
    disk = StalledDisk(database)
    store.database._db = disk  # type: ignore[assignment]
    store.put_job(JobRecord(task_id="t-0", device="office", port=1, source="url"))  # stalls
    waiter = asyncio.create_task(
        store.begin_submission(Submission("s-1", "office", 1, "url", "p", 6.0))
    )
    await asyncio.sleep(0)  # one turn of the loop: the task records it, then waits
    assert "s-1" in store.submissions
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    disk.released.set()
    store.put_job(JobRecord(task_id="t-1", device="office", port=1, source="url"))
    await store.flush()
    again = _reopen(store, tmp_path)
    assert list(again.submissions) == ["s-1"]
    assert sorted(again.jobs) == ["t-0", "t-1"]
    again.close()


def test_a_row_written_several_times_at_once_keeps_its_last_value(tmp_path: Path) -> None:
    """Writes gathered into one commit: a request begun, answered and sent is stored sent."""
    store = Store(tmp_path)
    answer = {"status": "ok", "data": {}, "transaction": "a"}
    store.note_request(SeenRequest("t/request/tasks", "a", 5.0))
    store.note_request(SeenRequest("t/request/tasks", "a", 5.0, answer))
    store.mark_sent(store.requests[("t/request/tasks", "a")])
    store.note_request(SeenRequest("t/request/tasks", "b", 5.0))
    store.forget_request("t/request/tasks", "b")
    again = _reopen(store, tmp_path)
    assert list(again.requests) == [("t/request/tasks", "a")]
    assert again.requests[("t/request/tasks", "a")].sent
    assert again.requests[("t/request/tasks", "a")].answer == answer
    again.close()


async def test_writes_run_on_the_writer_thread(tmp_path: Path, monkeypatch: Any) -> None:
    """No commit happens on the event loop's thread."""
    threads: list[str] = []
    commit = StateDatabase._commit

    def spy(self: StateDatabase, *args: Any) -> None:
        threads.append(threading.current_thread().name)
        commit(self, *args)

    monkeypatch.setattr(StateDatabase, "_commit", spy)
    store = Store(tmp_path)
    store.put_job(JobRecord(task_id="t-1", device="office", port=1, source="url"))
    await store.flush()
    store.close()
    assert threads
    assert all(name.startswith("store") for name in threads)


async def test_submission_becomes_its_job_in_one_step(tmp_path: Path) -> None:
    """end_submission swaps the submission for the job."""
    store = Store(tmp_path)
    await store.begin_submission(Submission("s-1", "office", 1, "url", None, 1.0))
    store.end_submission("s-1", JobRecord(task_id="t-9", device="office", port=1, source="url"))
    again = _reopen(store, tmp_path)
    assert again.submissions == {}
    assert list(again.jobs) == ["t-9"]
    again.close()


def test_a_corrupt_database_is_reported_and_replaced(tmp_path: Path, caplog: Any) -> None:
    """Garbage in the state file: one ERROR line, an empty state, a working new database."""
    (tmp_path / DATABASE_FILE).write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING):
        store = Store(tmp_path)
    assert store.jobs == {}
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1
    assert problems[0].levelno == logging.ERROR
    assert "unreadable" in problems[0].getMessage()
    store.put_job(JobRecord(task_id="t-1", device="office", port=1, source="url"))
    again = _reopen(store, tmp_path)
    assert list(again.jobs) == ["t-1"]
    again.close()
    assert (tmp_path / (DATABASE_FILE + CORRUPT_SUFFIX)).exists()


def test_a_missing_folder_is_created(tmp_path: Path) -> None:
    """A state_dir that does not exist yet is made; nothing is logged."""
    store = Store(tmp_path / "new" / "state")
    store.put_job(JobRecord(task_id="t-1", device="office", port=1, source="url"))
    again = _reopen(store, tmp_path / "new" / "state")
    assert list(again.jobs) == ["t-1"]
    again.close()


def test_an_unusable_folder_is_not_fatal(tmp_path: Path, caplog: Any) -> None:
    """A state_dir that is a file: one ERROR line, the bridge goes on without memory."""
    blocker = tmp_path / "state"
    blocker.write_text("a file", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        store = Store(blocker)
    store.put_job(JobRecord(task_id="t-1", device="office", port=1, source="url"))
    assert list(store.jobs) == ["t-1"]
    store.close()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "is not writable by uid" in errors[0].getMessage()


def test_the_json_file_of_earlier_versions_is_imported(tmp_path: Path) -> None:
    """bridge-state.json is read once into the database, then removed."""
    job = JobRecord(task_id="t-7", device="office", port=1, source="url").to_json()
    legacy = {"discovery": {"homeassistant/device/x/config": ["button/refresh"]}, "jobs": [job]}
    (tmp_path / LEGACY_STATE_FILE).write_text(json.dumps(legacy), encoding="utf-8")
    store = Store(tmp_path)
    assert list(store.jobs) == ["t-7"]
    assert not (tmp_path / LEGACY_STATE_FILE).exists()
    again = _reopen(store, tmp_path)
    assert again.discovery == {"homeassistant/device/x/config": ["button/refresh"]}
    again.close()


def test_requests_expire(tmp_path: Path) -> None:
    """Requests seen before the window are forgotten, on disk too."""
    store = Store(tmp_path)
    store.requests[("t", "old")] = SeenRequest("t", "old", 10.0)
    store.requests[("t", "new")] = SeenRequest("t", "new", 100.0)
    store.expire_requests(50.0)
    assert list(store.requests) == [("t", "new")]
    store.close()


def test_heartbeat_leaves_no_temp_file(tmp_path: Path) -> None:
    """The heartbeat is written through a temp file that is always renamed or removed."""
    store = Store(tmp_path)
    store.write_heartbeat({"ok": True})
    store.close()
    found = store_module.read_heartbeat(tmp_path)
    assert found is not None
    written = found[1].pop(heartbeat.MONOTONIC_KEY)
    assert found[1] == {"ok": True, "writer": heartbeat.writer_identity()}  # signed by us
    assert 0 <= found[0] <= time.monotonic() - written  # its age, on the monotonic clock
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("garbage", ['{"topic": 1}', "[1, 2]", "not json"])
def test_an_unreadable_row_is_skipped(tmp_path: Path, garbage: str, caplog: Any) -> None:
    """One bad row is logged and skipped; the others load."""
    store = Store(tmp_path)
    store.put_job(JobRecord(task_id="t-1", device="office", port=1, source="url"))
    store.close()
    with sqlite3.connect(tmp_path / DATABASE_FILE) as db:
        db.execute("INSERT INTO state VALUES ('request', 'k', ?)", (garbage,))
    with caplog.at_level(logging.WARNING):
        again = Store(tmp_path)
    assert list(again.jobs) == ["t-1"]
    assert again.requests == {}
    assert "cannot be read" in caplog.text
    again.close()


async def test_a_state_dir_removed_under_the_bridge_is_reported_and_written_again(
    tmp_path: Path, caplog: Any
) -> None:
    """The folder removed while the bridge runs: one ERROR; a record that must be on disk fails.

    A file is in the folder's way, so it cannot be made again. Once it can, the whole state is
    written there (what was queued meanwhile too) and one INFO line says so.
    """
    state = tmp_path / "state"
    store = Store(state)
    store.put_job(JobRecord(task_id="t-1", device="office", port=1, source="url"))
    await store.flush()
    with caplog.at_level(logging.INFO):
        shutil.rmtree(state)
        state.write_text("in the way", encoding="utf-8")  # it cannot even be made again
        store.put_job(JobRecord(task_id="t-2", device="office", port=1, source="url"))
        with pytest.raises(StateUnavailableError):
            await store.remember_request(SeenRequest("t/request/cancel", "c", 5.0))
        with pytest.raises(StateUnavailableError):
            await store.begin_submission(Submission("s-1", "office", 1, "url", "p", 6.0))
        problem = store.problem
        state.unlink()
        store.check()
        await store.flush()
    again = _reopen(store, state)
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert problem is not None
    assert "File exists" in problem  # mkdir found the file
    assert store.problem is None
    assert [level for level, _ in logged] == ["ERROR", "INFO"], logged
    assert "was removed or replaced while the bridge ran" in logged[0][1]
    assert "can be written again" in logged[1][1]
    assert sorted(again.jobs) == ["t-1", "t-2"]
    assert list(again.requests) == [("t/request/cancel", "c")]  # kept in memory, written now
    assert again.submissions == {}  # a print that did not go ahead is forgotten
    again.close()
