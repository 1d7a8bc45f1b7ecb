"""The state database on disk: one SQLite file, written in order on a thread of its own.

The standard library's ``sqlite3``, WAL journal, one table of (kind, key, JSON value). Every write
runs on one dedicated thread (``writer.py``), in order, never on the event loop; what is queued
meanwhile is committed as one transaction (group commit). Queued writes are committed within
``COALESCE`` with ``synchronous=NORMAL``; a durable one is awaited and committed with
``synchronous=FULL`` (the WAL synced: it and every write before it survive a power cut).
``store.py`` says what is written and when.

A write that fails (a full disk, a read-only file system, the file removed under the bridge:
SQLite would go on writing to the removed file, so its identity is checked before each commit)
is never fatal. ``trouble`` hears of it (one ERROR line, ``bridge/health``); the database now
lacks a write (``stale``), so every durable write raises ``StateUnavailableError`` until the
whole state, which memory holds, has been written again in one transaction: with the next
durable write, or by ``check`` each health interval. Then the trouble is over (one INFO line).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import functools
import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lianke_bridge import heartbeat
from lianke_bridge.bridge.memory import statedir
from lianke_bridge.bridge.memory.writer import OrderedWriter
from lianke_bridge.errors import StateUnavailableError

_LOGGER = logging.getLogger(__name__)

DATABASE_FILE = "bridge-state.db"
CORRUPT_SUFFIX = ".corrupt"
"""A corrupt database is kept beside the new one under this suffix (the last one only)."""
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS state ("
    " kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, key))"
)

Value = str | Callable[[], str]
"""A row's JSON, or what encodes it on the writer thread (only the last value of a key is)."""
Row = tuple[str, str, Value]
"""(kind, key, value)."""


@dataclass(frozen=True)
class _Write:
    """Rows to put and delete in one commit, and whether it must survive a power cut."""

    puts: list[Row]
    deletes: list[tuple[str, str]]
    durable: bool
    done: concurrent.futures.Future[None]
    whole: bool = False
    """``puts`` is the whole state: every other row goes (written again after lost writes)."""


class StateDatabase:
    """The SQLite file under the state directory and the thread that writes it."""

    def __init__(
        self,
        directory: Path,
        whole: Callable[[], list[Row]],
        *,
        private: Iterable[str],
        announce: bool = True,
    ) -> None:
        """``whole``: every row of the state as memory holds it (called on the event loop).

        ``private``: the names of the state files (narrowed to 0600 when wider); ``announce``:
        see ``StateTrouble``.
        """
        self.directory = directory
        self.path = directory / DATABASE_FILE
        self._whole = whole
        self._private = tuple(private)
        self.trouble = statedir.StateTrouble(directory, announce=announce)
        self._writer = OrderedWriter[_Write](self._commit, name="store")
        """The thread every write runs on, in order (``writer.py``)."""
        self._synced = True
        """The connection's current ``synchronous`` mode: FULL (True) or NORMAL."""
        self._db: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None
        """The file open (device, inode): another one at its path means it was replaced."""
        self.stale = False
        """The database lacks a write that failed (or is not open): durable writes fail until
        the whole state is written again (set and cleared on the writer thread)."""

    # ---- opening ------------------------------------------------------------------------------
    def open(self) -> list[tuple[str, str, str]]:
        """Open (or create) the database and read its rows; a bad one is reported and replaced.

        A folder or file that cannot be used is not fatal: ``trouble`` says so, no rows.
        """
        try:
            statedir.make_private(self.directory, self._private)
            return self._connect()
        except sqlite3.DatabaseError as err:
            self._close_db()
            _LOGGER.error(  # noqa: TRY400 - one line, no traceback: the cause is the file
                "state database %s is unreadable (%s): starting with an empty state, "
                "the old file is kept as %s",
                self.path,
                err,
                self.path.name + CORRUPT_SUFFIX,
            )
            self._set_aside()
            try:
                return self._connect()
            except (OSError, sqlite3.Error) as again:
                self._give_up(again)
        except OSError as err:
            self._give_up(err)
        return []

    @property
    def is_open(self) -> bool:
        """Whether the database could be opened."""
        return self._db is not None

    def _connect(self) -> list[tuple[str, str, str]]:
        """Open the file, created 0600 first (SQLite gives its -wal and -shm that mode)."""
        statedir.create_private(self.path)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db = db
        self._synced = True
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(_SCHEMA)
        opened = self.path.stat()
        self._file = (opened.st_dev, opened.st_ino)
        rows = db.execute("SELECT kind, key, value FROM state").fetchall()
        return [(str(k), str(key), str(v)) for k, key, v in rows]

    def _give_up(self, err: BaseException) -> None:
        self._close_db()
        self.stale = True
        self.trouble.fail("database", self._reason(err))

    def _reason(self, err: BaseException) -> str:
        """A sentence saying why the database cannot be written."""
        if isinstance(err, OSError):
            return heartbeat.unwritable_reason(self.directory, err)
        code = getattr(err, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_FULL:
            return heartbeat.unwritable_reason(self.directory, OSError(errno.ENOSPC, str(err)))
        if code == sqlite3.SQLITE_READONLY:
            return heartbeat.unwritable_reason(self.directory, OSError(errno.EROFS, str(err)))
        return f"the state database {self.path} cannot be written ({err})"

    def _close_db(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def _set_aside(self) -> None:
        """Move a corrupt database (and its journal) out of the way."""
        with contextlib.suppress(OSError):
            self.path.replace(self.path.with_name(self.path.name + CORRUPT_SUFFIX))
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                self.path.with_name(self.path.name + suffix).unlink()

    # ---- the writer thread --------------------------------------------------------------------
    def commit_now(self, puts: list[Row]) -> bool:
        """Write at once, on the caller's thread (before the writer starts); True if written."""
        write = _Write(puts, [], durable=True, done=concurrent.futures.Future())
        self._commit([write])
        return write.done.exception() is None

    def _commit(self, writes: list[_Write]) -> None:
        """One SQLite transaction for every write queued meanwhile (runs on the writer thread).

        ``synchronous=FULL`` (the WAL synced before the commit returns) when one of them must
        survive a power cut, else ``NORMAL``. The WAL is one file written in order, so a synced
        commit makes every earlier one durable too. A failure is never fatal: ``trouble`` hears
        of it and the durable writes raise ``StateUnavailableError``, as they do while the
        database still lacks an earlier write that failed.
        """
        # Running: a waiter cancelled from now on cannot cancel the write (it is committed
        # anyway; one cancelled while queued is committed too, nobody hears of it).
        running = [write for write in writes if write.done.set_running_or_notify_cancel()]
        if not writes:
            return
        failure: StateUnavailableError | None = None
        lost = False  # nothing of this batch is on disk
        try:
            self._write(writes)
        except (OSError, sqlite3.Error) as err:
            self.stale = lost = True
            reason = self._reason(err)
            self.trouble.fail("database", reason)
            failure = StateUnavailableError(reason)
        else:
            if not self.stale:
                self.trouble.ok("database")
            else:  # on disk, but without an earlier write that failed
                failure = StateUnavailableError(self.trouble.problem or f"{self.path} lacks writes")
        for write in running:
            if failure is not None and (lost or write.durable):
                write.done.set_exception(failure)
            else:
                write.done.set_result(None)

    def _write(self, writes: list[_Write]) -> None:
        final, whole = _last_values(writes)
        gone = [row for row, value in final.items() if value is None]
        rows = [
            (kind, key, text)
            for (kind, key), value in final.items()
            if value is not None and (text := self._encode(kind, value)) is not None
        ]
        db = self._usable_db()
        if not rows and not gone and not whole:
            return  # the check of ``check``: the file is there
        durable = any(write.durable for write in writes)
        if durable != self._synced:
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._synced = durable
        db.execute("BEGIN IMMEDIATE")
        try:
            if whole:
                db.execute("DELETE FROM state")
            db.executemany("DELETE FROM state WHERE kind = ? AND key = ?", gone)
            db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        if whole:
            self.stale = False

    def _encode(self, kind: str, value: Value) -> str | None:
        try:
            return value if isinstance(value, str) else value()
        except Exception as err:  # noqa: BLE001 - a value that cannot be encoded: not the disk
            _LOGGER.warning("could not save a %s to %s: %s", kind, self.path, err)
            return None

    def _usable_db(self) -> sqlite3.Connection:
        """The open database; opened again if it is not, or if its file was removed or replaced.

        SQLite would go on writing to a removed file, for nobody.
        """
        if self._db is not None:
            try:
                found = self.path.stat()
            except OSError:  # gone, or its folder is
                found = None
            if found is not None and (found.st_dev, found.st_ino) == self._file:
                return self._db
            self._close_db()
            self.stale = True
            self.trouble.fail(
                "database",
                f"the state database {self.path} was removed or replaced while the bridge ran",
            )
        statedir.make_private(self.directory, self._private)
        try:
            self._connect()
        except BaseException:
            self._close_db()
            raise
        self.stale = True  # what that file holds is not what memory holds: written whole again
        if self._db is None:  # pragma: no cover - _connect sets it or raises
            raise StateUnavailableError(f"{self.path} could not be opened")
        return self._db

    def queue(
        self, puts: Iterable[Row] = (), deletes: Iterable[tuple[str, str]] = (), *, durable: bool
    ) -> concurrent.futures.Future[None]:
        """Queue a write; it is committed in order, with whatever else waits (group commit).

        A durable write while the database lacks an earlier write comes after the whole state,
        in the same commit if it can: it is on disk only with everything before it.
        """
        if durable and self.stale:
            self._writer.write(self._whole_write())
        write = _Write(list(puts), list(deletes), durable, concurrent.futures.Future())
        self._writer.write(write, now=durable)
        return write.done

    def _whole_write(self) -> _Write:
        return _Write(self._whole(), [], durable=True, done=concurrent.futures.Future(), whole=True)

    def check(self) -> None:
        """Write the whole state again after lost writes, else see that the file is still there.

        Called each health interval: how a full disk that was cleared, or a folder that was
        removed (it is made again), is noticed while no write comes.
        """
        if self.stale:
            self._writer.write(self._whole_write(), now=True)
        else:
            self._writer.write(
                _Write([], [], durable=False, done=concurrent.futures.Future()), now=True
            )

    def submit(self, call: Callable[..., None], *args: Any) -> None:
        """Run something else on the writer thread now, in order with the writes (file writes)."""
        self._writer.run(functools.partial(call, *args))

    async def flush(self) -> None:
        """Wait until every write queued so far is committed and on disk (power loss too)."""
        await asyncio.wrap_future(self.queue(durable=True))

    def close(self) -> None:
        """Finish the queued writes and close the database (blocking: at the very end)."""
        self._writer.close()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._close_db()


def _last_values(writes: list[_Write]) -> tuple[dict[tuple[str, str], Value | None], bool]:
    """Each row's last value in a batch (None: deleted), and whether it holds the whole state.

    A whole state replaces what came before it in the batch: it was taken after them.
    """
    final: dict[tuple[str, str], Value | None] = {}
    whole = False
    for write in writes:
        if write.whole:
            final.clear()
            whole = True
        for kind, key in write.deletes:
            final[kind, key] = None
        for kind, key, value in write.puts:
            final[kind, key] = value
    return final, whole
