"""An event loop on a virtual clock: when nothing is ready, time jumps to the next timer.

Hours of a bridge's polling run in a moment, the same way every time, so a schedule can be
checked against its own clock (never against how fast the machine is). For code that does no
network I/O of its own: a fake stands in for the cloud.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _VirtualSelector(selectors.SelectSelector):
    """Waits no real time: a wait for ``timeout`` seconds with nothing to read moves the clock."""

    def __init__(self, start: float) -> None:
        super().__init__()
        self.now = start

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if events or timeout is None or timeout <= 0:
            return events if events or timeout is not None else super().select(None)
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``time()`` is virtual: it moves only when the loop would otherwise wait."""

    def __init__(self, start: float = 1000.0) -> None:
        self._virtual = _VirtualSelector(start)
        super().__init__(self._virtual)

    def time(self) -> float:
        """The virtual clock."""
        return self._virtual.now


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()
