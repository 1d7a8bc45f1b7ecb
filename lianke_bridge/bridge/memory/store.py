"""What the bridge remembers across restarts, crashes and power loss.

One SQLite database under ``state_dir`` (``statedb.py``: WAL journal, written in order on a
thread of its own): the discovery it published, the jobs it follows, the requests it saw (with
their answers) and the print submissions that may be on their way to the cloud. A write cut
short leaves the previous state.

Reads come from memory. Two kinds of writes:

- queued (``put_job``, ``set_discovery``, ``note_request``, ``end_submission``...): the caller
  goes on at once. Committed within ``COALESCE`` (50 ms: waking the writer thread for each
  write would cost the event loop more than the commits do) with ``synchronous=NORMAL``: once
  committed it survives SIGKILL (it is in the operating system's hands), and a power cut only
  once the system wrote it back (seconds) or a durable write followed;
- durable (``remember_request``, ``begin_submission``, ``flush``): awaited until committed with
  ``synchronous=FULL`` (the WAL synced): it survives a power cut, and so does every write
  queued before it (the WAL is one file written in order). One that cannot be written raises
  ``StateUnavailableError``: what waited for it must not go ahead.

After any crash the database holds a prefix of the writes, in order: never a later one without
an earlier one. A missing, unreadable or corrupt database is reported in one log line and
replaced, never fatal; so is a disk that stops taking writes (``trouble``, ``statedb.py``).

Requests are remembered on the monotonic clock (``seen_at``) and stored as wall-clock time,
re-based at each write; a stored time is read back onto the monotonic clock (``clock.py``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from lianke_bridge import heartbeat
from lianke_bridge.bridge.memory import statedir
from lianke_bridge.bridge.memory.entries import SeenRequest, Submission
from lianke_bridge.bridge.memory.push_token import TOKEN_FILE
from lianke_bridge.bridge.memory.statedb import (
    CORRUPT_SUFFIX,
    DATABASE_FILE,
    Row,
    StateDatabase,
)
from lianke_bridge.bridge.memory.statedir import StateTrouble
from lianke_bridge.bridge.memory.writer import COALESCE
from lianke_bridge.bridge.records.state import JobRecord
from lianke_bridge.clock import SYSTEM_CLOCK, Clock, monotonic_of, wall_of
from lianke_bridge.errors import StateUnavailableError

_LOGGER = logging.getLogger(__name__)

__all__ = ["COALESCE", "CORRUPT_SUFFIX", "DATABASE_FILE", "SeenRequest", "Store", "Submission"]

LEGACY_STATE_FILE = "bridge-state.json"
"""The JSON file of earlier versions: read once into the database, then removed."""
HEARTBEAT_FILE = heartbeat.HEARTBEAT_FILE
"""Rewritten every health interval while connected: the container health check reads it."""
STATE_FILES = (
    DATABASE_FILE,
    DATABASE_FILE + "-wal",
    DATABASE_FILE + "-shm",
    DATABASE_FILE + "-journal",
    DATABASE_FILE + CORRUPT_SUFFIX,
    LEGACY_STATE_FILE,
    HEARTBEAT_FILE,
    TOKEN_FILE,
)
"""Every file the bridge keeps in ``state_dir`` (made 0600 if an earlier version left it wider)."""
CLOCK_STEP = 1.0
"""Seconds the wall clock must have moved against the monotonic one to count as stepped."""

_KINDS = ("discovery", "job", "request", "submission", "subscription")


class Store:
    """Persisted bridge state: read from memory, written in order on a writer thread."""

    def __init__(
        self, directory: Path, *, clock: Clock = SYSTEM_CLOCK, announce: bool = True
    ) -> None:
        """Open the state in ``directory`` and read it.

        ``announce=False`` holds a problem found now until ``trouble.announce()`` (the service
        calls it once the log reaches ``bridge/log``).
        """
        self._directory = directory
        self.clock = clock
        """Where time is read: requests' ``seen_at`` is on its monotonic clock."""
        self._offset = clock.wall() - clock.monotonic()
        """The wall clock against the monotonic one at start (a later change is a step)."""
        self.discovery: dict[str, list[str]] = {}
        """Discovery topic -> the component keys published in it (what to remove later)."""
        self.jobs: dict[str, JobRecord] = {}
        self.requests: dict[tuple[str, str], SeenRequest] = {}
        """(request topic, transaction) -> what was seen and answered."""
        self.submissions: dict[str, Submission] = {}
        self.subscriptions: set[str] = set()
        """The filters the bridge's persistent MQTT session holds (to drop stale ones)."""
        self._oldest_request = -math.inf
        """No remembered request is older than this (``expire_requests`` skips a full scan)."""
        self.database = StateDatabase(
            directory, self._whole_state, private=STATE_FILES, announce=announce
        )
        for kind, key, value in self.database.open():
            self._read_row(kind, key, value)
        self._import_legacy()
        if (problem := heartbeat.writable_problem(directory)) is not None:
            self.trouble.fail("folder", problem)

    @property
    def trouble(self) -> StateTrouble:
        """Whether the state can be written (one ERROR when it stops, one INFO when it is back)."""
        return self.database.trouble

    @property
    def problem(self) -> str | None:
        """Why the state cannot be written now (a sentence naming the place), or None."""
        return self.trouble.problem

    # ---- loading ------------------------------------------------------------------------------
    def _read_row(self, kind: str, key: str, value: str) -> None:
        try:
            data = json.loads(value)
            if kind == "discovery":
                self.discovery[key] = [str(ref) for ref in data]
            elif kind == "job":
                job = JobRecord.from_json(data)
                self.jobs[job.task_id] = job
            elif kind == "request":
                seen = SeenRequest(**data)
                seen = replace(seen, seen_at=monotonic_of(self.clock, float(seen.seen_at)))
                self.requests[(seen.topic, seen.transaction)] = seen
            elif kind == "submission":
                submission = Submission(**data)
                self.submissions[submission.id] = submission
            elif kind == "subscription":
                self.subscriptions.add(key)
        except (KeyError, TypeError, ValueError) as err:
            _LOGGER.warning("ignoring a stored %s that cannot be read: %s", kind, err)

    def _import_legacy(self) -> None:
        """Jobs and discovery from an earlier version's JSON file, once."""
        path = self._directory / LEGACY_STATE_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as err:
            _LOGGER.warning("ignoring unreadable state file %s: %s", path, err)
            raw = {}
        if isinstance(raw, dict):
            index = raw.get("discovery", {})
            if isinstance(index, dict):
                for topic, refs in index.items():
                    if isinstance(refs, list):
                        self._read_row("discovery", str(topic), json.dumps(refs))
            for item in raw.get("jobs", []):
                self._read_row("job", str(item.get("task_id", "")), json.dumps(item))
        rows: list[Row] = [("discovery", t, json.dumps(r)) for t, r in self.discovery.items()]
        rows += [("job", j.task_id, json.dumps(j.to_json())) for j in self.jobs.values()]
        if self.database.is_open and self.database.commit_now(rows):
            path.unlink(missing_ok=True)

    def _whole_state(self) -> list[Row]:
        """Every row, as memory holds it (written whole after writes were lost)."""
        rows: list[Row] = [("discovery", t, json.dumps(r)) for t, r in self.discovery.items()]
        rows += [("job", j.task_id, json.dumps(j.to_json())) for j in self.jobs.values()]
        rows += [("request", s.key, self._request_value(s)) for s in self.requests.values()]
        rows += [("submission", s.id, json.dumps(asdict(s))) for s in self.submissions.values()]
        rows += [("subscription", f, "true") for f in sorted(self.subscriptions)]
        return rows

    # ---- writing ------------------------------------------------------------------------------
    def _queue(
        self,
        puts: Iterable[Row] = (),
        deletes: Iterable[tuple[str, str]] = (),
        *,
        durable: bool = False,
    ) -> concurrent.futures.Future[None]:
        return self.database.queue(puts, deletes, durable=durable)

    def check(self) -> None:
        """Each health interval: see that the state can be written (``statedb.py``)."""
        self.database.check()

    async def flush(self) -> None:
        """Wait until every write queued so far is committed and on disk (power loss too)."""
        await self.database.flush()

    def close(self) -> None:
        """Finish the queued writes and close the database (blocking: at the very end).

        If the wall clock stepped during the run, the remembered requests are written again
        with their times re-based on it: the next start measures their age from there.
        """
        stepped = self.clock.wall() - self.clock.monotonic() - self._offset
        if abs(stepped) > CLOCK_STEP and self.requests:
            rows = [("request", s.key, self._request_value(s)) for s in self.requests.values()]
            self.database.queue(rows, durable=True)
        self.database.close()

    # ---- jobs and discovery (queued writes) ---------------------------------------------------
    def put_job(self, job: JobRecord) -> None:
        """Remember a job (new or changed)."""
        self.jobs[job.task_id] = job
        self._queue([("job", job.task_id, json.dumps(job.to_json()))])

    def drop_job(self, task_id: str) -> None:
        """Forget a job whose retained topic was cleared."""
        if self.jobs.pop(task_id, None) is not None:
            self._queue(deletes=[("job", task_id)])

    def set_discovery(self, index: dict[str, list[str]]) -> None:
        """Remember exactly which discovery configs (and components) are published now."""
        if index == self.discovery:
            return
        gone = [("discovery", topic) for topic in self.discovery if topic not in index]
        self.discovery = dict(index)
        self._queue([("discovery", t, json.dumps(r)) for t, r in index.items()], gone)

    def update_discovery(self, part: dict[str, list[str]], forget: set[str]) -> None:
        """Change only some topics of the index: one box's announce writes one box's rows."""
        part = {t: r for t, r in part.items() if self.discovery.get(t) != r}
        gone = [("discovery", t) for t in forget if t in self.discovery and t not in part]
        if not part and not gone:
            return
        for topic in forget:
            self.discovery.pop(topic, None)
        self.discovery.update(part)
        self._queue([("discovery", t, json.dumps(r)) for t, r in part.items()], gone)

    def set_subscriptions(self, filters: Iterable[str]) -> None:
        """Remember the filters the session holds now."""
        wanted = set(filters)
        if wanted == self.subscriptions:
            return
        gone = [("subscription", f) for f in self.subscriptions - wanted]
        self.subscriptions = wanted
        self._queue([("subscription", f, "true") for f in sorted(wanted)], gone)

    # ---- requests and submissions -----------------------------------------------------------
    def _request_value(self, seen: SeenRequest) -> Callable[[], str]:
        """A request's row, its time made wall-clock time when it is written."""
        return lambda: seen.to_json(wall_of(self.clock, seen.seen_at))

    def note_request(self, seen: SeenRequest) -> None:
        """Record a request (or its answer) without waiting: committed in order, soon.

        For what needs no disk before it goes on: a query (run again after a crash, it does
        the same) or what follows a print's cloud call (its submission finds it again).
        """
        self.requests[(seen.topic, seen.transaction)] = seen
        self._oldest_request = min(self._oldest_request, seen.seen_at)
        self._queue([("request", seen.key, self._request_value(seen))])

    async def remember_request(self, seen: SeenRequest) -> None:
        """Record a request (or its answer) and wait until it is on disk (power loss too).

        Raises ``StateUnavailableError`` when it cannot be written; it stays in memory.
        """
        self.requests[(seen.topic, seen.transaction)] = seen
        self._oldest_request = min(self._oldest_request, seen.seen_at)
        row = ("request", seen.key, self._request_value(seen)())
        await asyncio.wrap_future(self._queue([row], durable=True))

    def mark_sent(self, seen: SeenRequest) -> None:
        """The answer went out (queued write: losing it only means a repeat of the answer)."""
        sent = SeenRequest(seen.topic, seen.transaction, seen.seen_at, seen.answer, sent=True)
        self.requests[(seen.topic, seen.transaction)] = sent
        self._queue([("request", sent.key, self._request_value(sent))])

    def forget_request(self, topic: str, transaction: str) -> None:
        """Forget a request, so the same transaction runs again (nothing of it was done)."""
        seen = self.requests.pop((topic, transaction), None)
        if seen is not None:
            self._queue(deletes=[("request", seen.key)])

    def expire_requests(self, older_than: float) -> None:
        """Forget requests seen before ``older_than`` (on the store's monotonic clock)."""
        if self._oldest_request >= older_than:
            return
        old = [seen for seen in self.requests.values() if seen.seen_at < older_than]
        for seen in old:
            del self.requests[(seen.topic, seen.transaction)]
        if old:
            self._queue(deletes=[("request", seen.key) for seen in old])
        self._oldest_request = min((s.seen_at for s in self.requests.values()), default=older_than)

    async def begin_submission(self, submission: Submission) -> None:
        """Record a print before its cloud call, and wait until it is on disk (power loss too).

        Writes are committed in order, so its request's record (``note_request``) is on disk
        with it: one synced commit before the call. Raises ``StateUnavailableError`` when it
        cannot be written: the print must not go ahead, and it is forgotten.
        """
        self.submissions[submission.id] = submission
        row = ("submission", submission.id, json.dumps(asdict(submission)))
        try:
            await asyncio.wrap_future(self._queue([row], durable=True))
        except StateUnavailableError:
            if self.submissions.pop(submission.id, None) is not None:
                self._queue(deletes=[("submission", submission.id)])
            raise

    def end_submission(self, submission_id: str, job: JobRecord | None = None) -> None:
        """The cloud answered: replace the submission by its job (or drop it) in one write.

        Queued, not awaited: if it is lost (SIGKILL or a power cut before it is committed),
        the submission is still on disk and the next start finds the job in the box's task
        list (``JobTracker.reconcile``), as for a print cut off during its call.
        """
        self.submissions.pop(submission_id, None)
        puts = []
        if job is not None:
            self.jobs[job.task_id] = job
            puts.append(("job", job.task_id, json.dumps(job.to_json())))
        self._queue(puts, [("submission", submission_id)])

    # ---- the health heartbeat -----------------------------------------------------------------
    def write_heartbeat(self, health: dict[str, Any]) -> None:
        """Leave the latest health snapshot where ``lianke-bridge health`` finds it.

        A new file every health interval: also the test that the folder still takes writes.
        """
        signed = heartbeat.signed(health)  # who wrote it: a SIGKILLed bridge is seen as gone
        self.database.submit(self._write_heartbeat, signed)

    def _write_heartbeat(self, data: dict[str, Any]) -> None:
        try:
            statedir.write_atomically(self._directory / HEARTBEAT_FILE, data)
        except OSError as err:
            self.trouble.fail("folder", heartbeat.unwritable_reason(self._directory, err))
        else:
            self.trouble.ok("folder")

    def clear_heartbeat(self) -> None:
        """The bridge stops: a health check must not find it healthy a minute later."""
        self.database.submit(_remove, self._directory / HEARTBEAT_FILE)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def read_heartbeat(directory: Path) -> tuple[float, dict[str, Any]] | None:
    """The last health snapshot and its age in seconds, or None if there is none."""
    path = directory / HEARTBEAT_FILE
    try:
        mtime = path.stat().st_mtime
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (heartbeat.heartbeat_age(data, mtime), data) if isinstance(data, dict) else None
