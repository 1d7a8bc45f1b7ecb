"""An answer and the work it leaves for after it: the answer goes out first.

A print's job topics (``job/<task_id>``, ``last_job``, the box's queue) are published retained
when the job is made; the answer carries the same job, so the requester need not wait for them.
A handler returns :class:`Answer` (its data, and ``after``: the job's publication); answering
publishes the data, has it acknowledged, then runs ``after`` in order. Nothing is collected
behind the scenes: what runs after an answer is what its handler returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Work = Callable[[], Awaitable[None]]
"""Something to do once the answer is out (publishing a new job's topics)."""

D = TypeVar("D")


@dataclass(frozen=True)
class Answer(Generic[D]):
    """An answer's data, and what to do once it is published and acknowledged."""

    data: D
    after: tuple[Work, ...] = ()
