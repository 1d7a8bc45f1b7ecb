"""What the bridge remembers across restarts, crashes and power loss.

One SQLite database under ``state_dir`` (the standard library's ``sqlite3``, WAL journal): the
discovery it published, the jobs it follows, the requests it saw (with their answers) and the
print submissions that may be on their way to the cloud. A write cut short leaves the previous
state.

Reads come from memory. Every write runs on one dedicated thread, in order, never on the event
loop; what is queued meanwhile is committed as one transaction (group commit). Two kinds:

- queued (``put_job``, ``set_discovery``, ``note_request``, ``end_submission``...): the caller
  goes on at once. Committed within ``COALESCE`` (50 ms: waking the writer thread for each
  write would cost the event loop more than the commits do) with ``synchronous=NORMAL``: once
  committed it survives SIGKILL (it is in the operating system's hands), and a power cut only
  once the system wrote it back (seconds) or a durable write followed;
- durable (``remember_request``, ``begin_submission``, ``flush``): awaited until committed with
  ``synchronous=FULL`` (the WAL synced): it survives a power cut, and so does every write
  queued before it (the WAL is one file written in order).

After any crash the database holds a prefix of the writes, in order: never a later one without
an earlier one. A missing, unreadable or corrupt database is reported in one log line and
replaced, never fatal.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lianke_bridge import heartbeat
from lianke_bridge.bridge.state import JobRecord

_LOGGER = logging.getLogger(__name__)

DATABASE_FILE = "bridge-state.db"
LEGACY_STATE_FILE = "bridge-state.json"
"""The JSON file of earlier versions: read once into the database, then removed."""
CORRUPT_SUFFIX = ".corrupt"
"""A corrupt database is kept beside the new one under this suffix (the last one only)."""
COALESCE = 0.05
"""Seconds a queued (not durable) write may wait for others before the writer takes them."""
HEARTBEAT_FILE = heartbeat.HEARTBEAT_FILE
"""Rewritten every health interval while connected: the container health check reads it."""

_KINDS = ("discovery", "job", "request", "submission", "subscription")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS state ("
    " kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, key))"
)


@dataclass(frozen=True)
class SeenRequest:
    """A request that carried a ``transaction``: seen, and answered once it is."""

    topic: str
    transaction: str
    seen_at: float
    """Wall-clock seconds (``time.time()``): the duplicate window holds across restarts."""
    answer: dict[str, Any] | None = None
    """The envelope the bridge answered (or will answer) with; None while it is handled."""
    sent: bool = False
    """Whether ``answer`` was published (a redelivery then gets ``duplicate``, else the answer)."""

    @property
    def key(self) -> str:
        """The database key: the request topic and the transaction."""
        return json.dumps([self.topic, self.transaction])

    def to_json(self) -> str:
        """The stored row (``asdict`` would deep-copy the answer: slow for a big one)."""
        row = {
            "topic": self.topic,
            "transaction": self.transaction,
            "seen_at": self.seen_at,
            "answer": self.answer,
            "sent": self.sent,
        }
        return json.dumps(row)


Value = str | Callable[[], str]
"""A row's JSON, or what encodes it on the writer thread (only the last value of a key is)."""


@dataclass(frozen=True)
class _Write:
    """Rows to put and delete in one commit, and whether it must survive a power cut."""

    puts: list[tuple[str, str, Value]]
    deletes: list[tuple[str, str]]
    durable: bool
    done: concurrent.futures.Future[None]


@dataclass(frozen=True)
class Submission:
    """A print about to go to the cloud, recorded before the call (its task id is not known).

    If the bridge dies during the call, the next start looks the print up in the box's task list
    (see ``JobTracker.reconcile``) instead of forgetting it.
    """

    id: str
    device: str
    port: int
    source: str
    transaction: str | None
    recorded_at: float
    """Wall-clock seconds just before the cloud call."""


class Store:
    """Persisted bridge state: read from memory, written in order on a writer thread."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._path = directory / DATABASE_FILE
        self.discovery: dict[str, list[str]] = {}
        """Discovery topic -> the component keys published in it (what to remove later)."""
        self.jobs: dict[str, JobRecord] = {}
        self.requests: dict[tuple[str, str], SeenRequest] = {}
        """(request topic, transaction) -> what was seen and answered."""
        self.submissions: dict[str, Submission] = {}
        self.subscriptions: set[str] = set()
        """The filters the bridge's persistent MQTT session holds (to drop stale ones)."""
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="store")
        self._lock = threading.Lock()
        self._pending: list[_Write | Callable[[], None]] = []
        """Writes (and file jobs) queued for the writer thread, oldest first."""
        self._draining = False
        """Whether a drain is scheduled or running on the writer thread (it takes new items)."""
        self._synced = True
        """The connection's current ``synchronous`` mode: FULL (True) or NORMAL."""
        self._oldest_request = 0.0
        """No remembered request is older than this (``expire_requests`` skips a full scan)."""
        self._kick_later: asyncio.TimerHandle | None = None
        self._db: sqlite3.Connection | None = None
        self._load()

    # ---- opening and loading ----------------------------------------------------------------
    def _load(self) -> None:
        """Open (or create) the database and read it; a bad one is reported and replaced."""
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            rows = self._open()
        except sqlite3.DatabaseError as err:
            self._close_db()
            _LOGGER.error(  # noqa: TRY400 - one line, no traceback: the cause is the file
                "state database %s is unreadable (%s): starting with an empty state, "
                "the old file is kept as %s",
                self._path,
                err,
                self._path.name + CORRUPT_SUFFIX,
            )
            self._set_aside()
            try:
                rows = self._open()
            except (OSError, sqlite3.Error) as again:
                self._give_up(again)
                return
        except OSError as err:
            self._give_up(err)
            return
        for kind, key, value in rows:
            self._read_row(kind, key, value)
        self._import_legacy()

    def _open(self) -> list[tuple[str, str, str]]:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._db = db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(_SCHEMA)
        rows = db.execute("SELECT kind, key, value FROM state").fetchall()
        return [(str(k), str(key), str(v)) for k, key, v in rows]

    def _give_up(self, err: BaseException) -> None:
        self._close_db()
        _LOGGER.error(
            "cannot keep state in %s (%s): nothing is remembered across restarts", self._path, err
        )

    def _close_db(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def _set_aside(self) -> None:
        """Move a corrupt database (and its journal) out of the way."""
        with contextlib.suppress(OSError):
            self._path.replace(self._path.with_name(self._path.name + CORRUPT_SUFFIX))
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                self._path.with_name(self._path.name + suffix).unlink()

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
        rows: list[tuple[str, str, Value]] = [
            ("discovery", t, json.dumps(r)) for t, r in self.discovery.items()
        ]
        rows += [("job", j.task_id, json.dumps(j.to_json())) for j in self.jobs.values()]
        if self._db is not None:
            self._commit([_Write(rows, [], durable=True, done=concurrent.futures.Future())])
            with contextlib.suppress(OSError):
                path.unlink()

    # ---- the writer thread --------------------------------------------------------------------
    def _commit(self, writes: list[_Write]) -> None:
        """One SQLite transaction for every write queued meanwhile (runs on the writer thread).

        ``synchronous=FULL`` (the WAL synced before the commit returns) when one of them must
        survive a power cut, else ``NORMAL``. The WAL is one file written in order, so a synced
        commit makes every earlier one durable too. A failure is logged, never fatal.
        """
        # Running: a waiter cancelled from now on cannot cancel the write (it is committed
        # anyway; one cancelled while queued is committed too, nobody hears of it).
        running = [write for write in writes if write.done.set_running_or_notify_cancel()]
        db = self._db
        try:
            if db is None or not writes:
                return
            durable = any(write.durable for write in writes)
            if durable != self._synced:
                db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._synced = durable
            final: dict[tuple[str, str], Value | None] = {}  # a row's last value in the batch
            for write in writes:
                for kind, key in write.deletes:
                    final[kind, key] = None
                for kind, key, value in write.puts:
                    final[kind, key] = value
            gone = [row for row, value in final.items() if value is None]
            rows = [
                (kind, key, value if isinstance(value, str) else value())
                for (kind, key), value in final.items()
                if value is not None
            ]
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM state WHERE kind = ? AND key = ?", gone)
            db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")
        except Exception as err:  # noqa: BLE001 - sqlite or a value that cannot be encoded
            if db is not None:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            _LOGGER.warning("could not save state to %s: %s", self._path, err)
        finally:
            for write in running:
                write.done.set_result(None)

    def _queue(
        self,
        puts: Iterable[tuple[str, str, Value]] = (),
        deletes: Iterable[tuple[str, str]] = (),
        *,
        durable: bool = False,
    ) -> concurrent.futures.Future[None]:
        """Queue a write; it is committed in order, with whatever else waits (group commit)."""
        write = _Write(list(puts), list(deletes), durable, concurrent.futures.Future())
        self._enqueue(write, now=durable)
        return write.done

    def _submit(self, call: Callable[..., None], *args: Any) -> None:
        """Run something else on the writer thread, in order with the writes (file writes)."""
        self._enqueue(functools.partial(call, *args))

    def _enqueue(self, item: _Write | Callable[[], None], *, now: bool = False) -> None:
        """Queue for the writer; wake it now (a durable write) or within ``COALESCE`` seconds.

        Waking a thread costs the event loop more than a commit without a sync does, so
        queued writes are gathered: a burst of requests is a few commits, not one per write.
        """
        with self._lock:
            self._pending.append(item)
            if self._draining:
                return  # the running drain takes it
        if not now:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (start-up, tools): write at once
                loop = None
            if loop is not None:
                if self._kick_later is None:
                    self._kick_later = loop.call_later(COALESCE, self._kick)
                return
        self._kick()

    def _kick(self) -> None:
        """Have the writer thread drain what is queued."""
        if self._kick_later is not None:
            self._kick_later.cancel()
            self._kick_later = None
        with self._lock:
            if self._draining or not self._pending:
                return
            self._draining = True
        try:
            self._writer.submit(self._drain)
        except RuntimeError:  # closed: the bridge is stopping; write in place
            self._drain()

    def _drain(self) -> None:
        """Commit everything queued, in order, in as few transactions as the file jobs allow."""
        try:
            self._drain_all()
        except BaseException:
            with self._lock:
                self._draining = False  # the next write schedules a drain again
            raise

    def _drain_all(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._draining = False
                    return
                items = list(self._pending)
                self._pending.clear()
            writes: list[_Write] = []
            for item in items:
                if isinstance(item, _Write):
                    writes.append(item)
                    continue
                self._commit(writes)
                writes = []
                try:
                    item()
                except Exception:  # the writer must go on whatever one job did
                    _LOGGER.exception("state writer job failed")
            self._commit(writes)

    async def flush(self) -> None:
        """Wait until every write queued so far is committed and on disk (power loss too)."""
        await asyncio.wrap_future(self._queue(durable=True))

    def close(self) -> None:
        """Finish the queued writes and close the database (blocking: at the very end)."""
        if self._kick_later is not None:
            self._kick_later.cancel()
            self._kick_later = None
        self._writer.shutdown(wait=True)
        self._drain()  # anything queued while shutting down
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._close_db()

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
    def note_request(self, seen: SeenRequest) -> None:
        """Record a request (or its answer) without waiting: committed in order, soon.

        For what needs no disk before it goes on: a query (run again after a crash, it does
        the same) or what follows a print's cloud call (its submission finds it again).
        """
        self.requests[(seen.topic, seen.transaction)] = seen
        self._oldest_request = min(self._oldest_request, seen.seen_at)
        self._queue([("request", seen.key, seen.to_json)])

    async def remember_request(self, seen: SeenRequest) -> None:
        """Record a request (or its answer) and wait until it is on disk (power loss too)."""
        self.requests[(seen.topic, seen.transaction)] = seen
        self._oldest_request = min(self._oldest_request, seen.seen_at)
        row = ("request", seen.key, seen.to_json())
        await asyncio.wrap_future(self._queue([row], durable=True))

    def mark_sent(self, seen: SeenRequest) -> None:
        """The answer went out (queued write: losing it only means a repeat of the answer)."""
        sent = SeenRequest(seen.topic, seen.transaction, seen.seen_at, seen.answer, sent=True)
        self.requests[(seen.topic, seen.transaction)] = sent
        self._queue([("request", sent.key, sent.to_json)])

    def forget_request(self, topic: str, transaction: str) -> None:
        """Forget a request, so the same transaction runs again (nothing of it was done)."""
        seen = self.requests.pop((topic, transaction), None)
        if seen is not None:
            self._queue(deletes=[("request", seen.key)])

    def expire_requests(self, older_than: float) -> None:
        """Forget requests seen before ``older_than`` (wall-clock seconds)."""
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
        with it: one synced commit before the call.
        """
        self.submissions[submission.id] = submission
        row = ("submission", submission.id, json.dumps(asdict(submission)))
        await asyncio.wrap_future(self._queue([row], durable=True))

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
        """Leave the latest health snapshot where ``lianke-bridge health`` finds it."""
        signed = heartbeat.signed(health)  # who wrote it: a SIGKILLed bridge is seen as gone
        self._submit(_write_atomically, self._directory / HEARTBEAT_FILE, signed)

    def clear_heartbeat(self) -> None:
        """The bridge stops: a health check must not find it healthy a minute later."""
        self._submit(_remove, self._directory / HEARTBEAT_FILE)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    """Temp file, fsync, rename: a crash leaves the old file or the new one, never half."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except OSError as err:
        _LOGGER.warning("could not save %s: %s", path, err)
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()


def read_heartbeat(directory: Path) -> tuple[float, dict[str, Any]] | None:
    """The last health snapshot and its age in seconds, or None if there is none."""
    path = directory / HEARTBEAT_FILE
    try:
        age = time.time() - path.stat().st_mtime
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (age, data) if isinstance(data, dict) else None
