"""Work a request leaves for after its answer: the answer goes out first.

A print's job topics (``job/<task_id>``, ``last_job``, the box's queue) are published retained
when the job is made; the answer carries the same job, so the requester need not wait for them.
``answering.py`` opens a list around each request and runs what was left in it, in order, once
the answer is published; outside a request (a recovered print) the work runs at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token

Work = Callable[[], Awaitable[None]]

_PENDING: ContextVar[list[Work] | None] = ContextVar("after_answer", default=None)


def defer(work: Work) -> bool:
    """Leave ``work`` for after the current request's answer; False if there is none."""
    pending = _PENDING.get()
    if pending is None:
        return False
    pending.append(work)
    return True


def collect() -> tuple[list[Work], Token[list[Work] | None]]:
    """Start collecting for one request: the list, and the token ``stop`` takes."""
    pending: list[Work] = []
    return pending, _PENDING.set(pending)


def stop(token: Token[list[Work] | None]) -> None:
    """Stop collecting (what was collected stays in the list ``collect`` returned)."""
    _PENDING.reset(token)
