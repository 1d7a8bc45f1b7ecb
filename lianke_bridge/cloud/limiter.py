"""The client-wide rate limit: a token bucket that serves commands ahead of polls.

The real cloud bans keys and IPs that hammer it, so every request of a client takes a token
first; a task that only polls (:func:`background_calls`) waits behind every command.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Iterator
from contextvars import ContextVar
from enum import IntEnum

from lianke_bridge import errors


class Priority(IntEnum):
    """Who waits for a call: the client-wide ceiling serves the lower number first."""

    COMMAND = 0
    """Someone is waiting for the answer (an MQTT request)."""
    POLL_FIRST = 1
    """The poll that matters most (device_info: is the box there at all)."""
    POLL_NEW = 2
    """A box's first printer_list (its printers are unknown until it answers)."""
    POLL = 3
    """Background polling: it may wait behind every command."""


_ROUNDING = 1e-9
"""A token short by less than this is whole: the refill's float arithmetic may leave it short by
less than the clock can tell apart, and the timer for that last bit would fire forever."""

_PRIORITY: ContextVar[Priority] = ContextVar("lianke_call_priority", default=Priority.COMMAND)
_DEADLINE: ContextVar[float | None] = ContextVar("lianke_call_deadline", default=None)


def background_calls() -> None:
    """From now on, calls made by the current task (and tasks it starts) wait behind commands.

    Pollers call this once at the start of their task; everything else stays a command.
    """
    _PRIORITY.set(Priority.POLL)


@contextlib.contextmanager
def call_priority(priority: Priority) -> Iterator[None]:
    """Calls made inside the block wait with this priority (then the task's own again)."""
    token = _PRIORITY.set(priority)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def current_priority() -> Priority:
    """The priority of calls made by the current task (a command unless it said otherwise)."""
    return _PRIORITY.get()


@contextlib.contextmanager
def call_deadline(deadline: float | None) -> Iterator[None]:
    """Calls made inside the block give up (``errors.TurnPassed``) if still waiting at ``deadline``.

    ``deadline`` is event-loop time; None: wait as long as it takes.
    """
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current_deadline() -> float | None:
    """Until when calls of the current task may wait for the rate limit (None: no limit)."""
    return _DEADLINE.get()


class TokenBucket:
    """A client-wide ceiling of ``rate`` calls per second, with bursts up to ``rate``.

    Waiters are served by priority, then in order of arrival: a command never queues behind
    polls. No task of its own: one timer at a time releases the next token.
    """

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._updated: float | None = None
        """Loop time of the last refill (the loop's clock: the pollers' slots read it too)."""
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(
        self, priority: Priority = Priority.COMMAND, deadline: float | None = None
    ) -> bool:
        """Take one token, waiting for it if needed; True when the caller had to wait.

        Raises ``errors.TurnPassed`` if it is still waiting at ``deadline`` (loop time).
        """
        if self._rate <= 0:
            return False
        self._refill()
        if not self._waiters and self._tokens >= 1 - _ROUNDING:
            self._tokens -= 1
            return False
        loop = asyncio.get_running_loop()
        if deadline is not None and deadline <= loop.time():
            raise errors.TurnPassed
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._order), future))
        self._arm()
        try:
            if deadline is None:
                await future
            else:
                async with asyncio.timeout_at(deadline):
                    await future
        except (asyncio.CancelledError, TimeoutError) as err:
            if future.done() and not future.cancelled():  # granted, then cancelled: give back
                self._tokens = min(self._capacity, self._tokens + 1)
                self._release()
            if isinstance(err, TimeoutError):
                raise errors.TurnPassed from None
            raise
        return True

    def _arm(self) -> None:
        """Set the timer for the next token, if anyone waits and none is set."""
        if self._timer is None and self._waiters:
            delay = max(0.0, (1 - self._tokens) / self._rate)
            self._timer = asyncio.get_running_loop().call_later(delay, self._release)

    def _release(self) -> None:
        """Hand out the tokens there are, best priority first."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._refill()
        while self._waiters and self._tokens >= 1 - _ROUNDING:
            _, _, future = heapq.heappop(self._waiters)
            if future.done():  # its caller was cancelled while waiting
                continue
            self._tokens -= 1
            future.set_result(None)
        while self._waiters and self._waiters[0][2].done():
            heapq.heappop(self._waiters)
        self._arm()

    def _refill(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._updated is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
