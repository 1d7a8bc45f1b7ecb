"""The bounded intake of requests: a queue in front of a fixed set of workers.

Every request waits here before any task exists for it, bounded two ways: how many bytes of
payload are held (queued and being answered: a Pi has little memory, and a document payload is
decoded into several copies), and how long the newest would wait, from the average time a
request took. What does not fit is refused at once (the service answers it ``rate_limited``)
instead of being answered half a minute late. There is no bound on how many wait: a burst of
cheap requests is simply answered (refusing one costs a publish, what answering a cached one
costs). The byte budget is applied first as a message arrives (``arrival.py``, with the same
rule: ``over_budget``), before it is even queued for the listener.
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


BUSY = "the bridge is busy with large documents"
SMALL = 64 * 1024
"""A payload smaller than this (any command but a document's print) ..."""
SMALL_HEADROOM = 4 * 1024 * 1024
"""... fits as long as the held payloads leave this much over the budget: a request for a
status is not refused because a document is being printed, yet thousands of small payloads
cannot add up to more than this."""


def over_budget(held: int, size: int, budget: int) -> bool:
    """Whether a payload of ``size`` bytes would take the ``held`` bytes over the budget.

    One payload is always let in when nothing is held: the budget is one largest payload.
    """
    if size < SMALL:
        budget += SMALL_HEADROOM
    return held > 0 and held + size > budget


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

    def full(self) -> Refusal:
        """The refusal of a payload over the byte budget (counted as refused)."""
        self.refused += 1
        return Refusal(BUSY, max(self.expected_wait(), self.average))

    def _refusal(self, size: int) -> Refusal | None:
        wait = self.expected_wait()
        if over_budget(self.held_bytes, size, self.max_bytes):
            return Refusal(BUSY, max(wait, self.average))
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
