"""The bounded intake of requests: a queue in front of a fixed set of workers.

Every request waits here before any task exists for it, bounded two ways: how many bytes of
payload are held (queued and being answered: a Pi has little memory, and a document payload is
decoded into several copies), and how long the newest would wait, from the average time a
request took. What does not fit is refused at once (the service answers it ``rate_limited``)
instead of being answered half a minute late. There is no bound on how many wait: a burst of
cheap requests is simply answered (refusing one costs a publish, what answering a cached one
costs), and the message is in memory either way once it was read from the broker.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

FIRST_GUESS = 0.5
"""Seconds a request is assumed to take before one was measured."""
SMOOTHING = 0.2
"""Weight of the newest measurement in the running average."""


@dataclass(frozen=True)
class Refusal:
    """Why a request does not fit, and when trying again makes sense."""

    reason: str
    retry_after: float


@dataclass(frozen=True)
class Ticket(Generic[T]):
    """A request taken by a worker; give it back with :meth:`RequestIntake.done`."""

    item: T
    size: int


class RequestIntake(Generic[T]):
    """Requests waiting for one of ``workers`` workers (FIFO), within the two bounds."""

    def __init__(self, *, workers: int, max_bytes: int, max_wait: float) -> None:
        self.workers = workers
        self.max_bytes = max_bytes
        self.max_wait = max_wait
        self._waiting: collections.deque[Ticket[T]] = collections.deque()
        self._arrived = asyncio.Event()
        self.busy = 0
        """Requests being answered."""
        self.held_bytes = 0
        """Payload bytes waiting or being answered."""
        self.average = FIRST_GUESS
        """Seconds a request takes, on average (running)."""
        self.refused = 0

    @property
    def waiting(self) -> int:
        """Requests waiting for a worker."""
        return len(self._waiting)

    def expected_wait(self) -> float:
        """Seconds a request offered now would wait before a worker takes it."""
        ahead = self.waiting + self.busy - self.workers + 1
        return max(0, ahead) * self.average / self.workers

    def offer(self, item: T, size: int) -> Refusal | None:
        """Queue a request of ``size`` payload bytes, or say why it does not fit."""
        refusal = self._refusal(size)
        if refusal is not None:
            self.refused += 1
            return refusal
        self._waiting.append(Ticket(item, size))
        self.held_bytes += size
        self._arrived.set()
        return None

    def _refusal(self, size: int) -> Refusal | None:
        wait = self.expected_wait()
        if self.held_bytes and self.held_bytes + size > self.max_bytes:
            return Refusal("the bridge is busy with large documents", max(wait, self.average))
        if wait > self.max_wait:
            return Refusal(f"the queue holds about {wait:.0f} s of work", wait)
        return None

    async def take(self) -> Ticket[T]:
        """The oldest waiting request (waits for one)."""
        while not self._waiting:
            self._arrived.clear()
            await self._arrived.wait()
        self.busy += 1
        return self._waiting.popleft()

    def done(self, ticket: Ticket[T], seconds: float) -> None:
        """A worker finished a request that took ``seconds``."""
        self.busy -= 1
        self.held_bytes -= ticket.size
        self.average += SMOOTHING * (seconds - self.average)

    def clear(self) -> list[T]:
        """Forget every waiting request (the session ended); return them."""
        items = [ticket.item for ticket in self._waiting]
        self.held_bytes -= sum(ticket.size for ticket in self._waiting)
        self._waiting.clear()
        return items
