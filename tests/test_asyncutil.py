"""The guard against cancellations that Python 3.11's asyncio.wait_for can lose."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from lianke_bridge.asyncutil import checkpoint


async def test_checkpoint_stops_a_task_whose_cancel_was_swallowed() -> None:
    """A task that caught its CancelledError (as wait_for may do for it) stops at the checkpoint."""
    reached_checkpoint = asyncio.Event()

    async def loop_that_loses_a_cancel() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)  # the cancel lands here and is swallowed
        reached_checkpoint.set()
        checkpoint()
        await asyncio.sleep(10)  # never reached: the checkpoint raised

    task = asyncio.create_task(loop_that_loses_a_cancel())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(1):
            await task
    assert reached_checkpoint.is_set()


async def test_checkpoint_lets_a_running_task_go_on() -> None:
    """Without a pending cancel, the checkpoint does nothing."""
    checkpoint()
