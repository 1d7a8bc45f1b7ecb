"""A guard for long-running loops against cancellations lost on Python 3.11.

On 3.11, ``asyncio.wait_for`` (used inside aiomqtt's publish) returns the result and drops a
cancellation that arrives as the awaited future completes. The task's ``cancelling()`` count
still says it was asked to stop, so loops call ``checkpoint()`` once per round and stop then.
"""

from __future__ import annotations

import asyncio
import contextlib


async def sleep_until_woken(event: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``event`` is set meanwhile (then clear it)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    event.clear()


def checkpoint() -> None:
    """Raise ``CancelledError`` if this task was asked to stop and the request got lost."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
