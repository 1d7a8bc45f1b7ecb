"""The thread the state is written on: writes in order, those queued meanwhile in one commit.

Every write runs on one dedicated thread, in the order it was queued, never on the event loop.
What is queued while the thread is busy is handed to one ``commit`` call (group commit); a write
that is not urgent waits up to ``COALESCE`` seconds for others, since waking a thread costs the
event loop more than a commit without a sync does. Other jobs (the heartbeat file) run on the
same thread, in order with the writes. What a commit does is the caller's (``statedb.py``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

_LOGGER = logging.getLogger(__name__)

COALESCE = 0.05
"""Seconds a queued (not urgent) write may wait for others before the writer takes them."""

W = TypeVar("W")


@dataclass(frozen=True)
class _Job:
    """Something else to run on the writer thread, in order with the writes."""

    call: Callable[[], None]


class OrderedWriter(Generic[W]):
    """One thread that hands the writes queued to ``commit``, in order, as few times as it can."""

    def __init__(self, commit: Callable[[list[W]], None], *, name: str) -> None:
        """``commit`` runs on the writer thread with every write queued since the last one."""
        self._commit = commit
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._pending: list[W | _Job] = []
        """Writes (and jobs) queued for the writer thread, oldest first."""
        self._draining = False
        """Whether a drain is scheduled or running on the writer thread (it takes new items)."""
        self._kick_later: asyncio.TimerHandle | None = None

    def write(self, write: W, *, now: bool = False) -> None:
        """Queue a write; the thread takes it now or within ``COALESCE`` seconds."""
        self._enqueue(write, now=now)

    def run(self, call: Callable[[], None]) -> None:
        """Run ``call`` on the writer thread now, after the writes queued before it."""
        self._enqueue(_Job(call), now=True)

    def _enqueue(self, item: W | _Job, *, now: bool) -> None:
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
            self._thread.submit(self._drain)
        except RuntimeError:  # closed: the bridge is stopping; write in place
            self._drain()

    def _drain(self) -> None:
        """Commit everything queued, in order, in as few transactions as the jobs allow."""
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
            writes: list[W] = []
            for item in items:
                if not isinstance(item, _Job):
                    writes.append(item)
                    continue
                self._commit(writes)
                writes = []
                try:
                    item.call()
                except Exception:  # the writer must go on whatever one job did
                    _LOGGER.exception("state writer job failed")
            self._commit(writes)

    def close(self) -> None:
        """Finish what is queued and stop the thread (blocking: at the very end)."""
        if self._kick_later is not None:
            self._kick_later.cancel()
            self._kick_later = None
        self._thread.shutdown(wait=True)
        self._drain()  # anything queued while shutting down
