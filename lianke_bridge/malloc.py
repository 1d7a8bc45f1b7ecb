"""Giving memory back to the system after large payloads (glibc's malloc only).

glibc keeps what a program frees for its next allocations instead of returning it: a bridge
that has read a burst of 5 MB documents would otherwise keep that peak for good (measured: 42
MiB idle, 740 MiB for minutes after 200 such requests). Two settings of glibc fix that:

- a fixed mmap threshold (``mallopt(M_MMAP_THRESHOLD)``): every block of 128 KiB or more (a
  payload, its decoded copies) gets pages of its own, returned the moment it is freed. By
  default glibc raises the threshold to the largest block freed so far, so after the first
  document every later one comes from the heap, where freed holes stay;
- ``malloc_trim(0)`` once the large payloads are gone: returns the free pages left inside the
  heap and the threads' arenas (what the smaller objects of a burst leave behind).

Elsewhere (musl, macOS) both are no-ops. ``ctypes`` is imported on first use: a bridge that never
sees a large payload never loads it.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Callable
from functools import cache

_LOGGER = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3
"""mallopt's parameter number (malloc.h)."""
MMAP_THRESHOLD = 128 * 1024
"""glibc's own initial threshold, kept fixed."""
LARGE = 1024 * 1024
"""A payload from this size on is worth a trim once it is freed."""
TRIM_DELAY = 1.0
"""Seconds after a large payload is freed before the trim (a burst gets one trim a second)."""


@cache
def _glibc() -> dict[str, Callable[..., int]] | None:
    """The C library's ``mallopt`` and ``malloc_trim`` if it is glibc, else None."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    import ctypes  # noqa: PLC0415 - on first use only (see the module's docstring)

    try:
        libc = ctypes.CDLL(None)
        functions: dict[str, Callable[..., int]] = {
            "mallopt": libc.mallopt,
            "malloc_trim": libc.malloc_trim,
        }
    except (OSError, AttributeError):
        return None
    return functions


def fix_mmap_threshold() -> bool:
    """Keep glibc's mmap threshold at 128 KiB (large blocks go back when freed); True if done."""
    functions = _glibc()
    return functions is not None and functions["mallopt"](M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1


def trim() -> bool:
    """Return every free page of the heap to the system; True if there was something to return."""
    functions = _glibc()
    return functions is not None and functions["malloc_trim"](0) == 1


class Trimmer:
    """Trims ``delay`` seconds after a large payload was freed (a burst: once per ``delay``).

    The first large payload also fixes the mmap threshold (before it, no allocation is large
    enough for the threshold to matter).
    """

    def __init__(self, delay: float = TRIM_DELAY) -> None:
        self.delay = delay
        self.trims = 0
        """Trims made."""
        self._fixed = False
        self._pending: asyncio.TimerHandle | None = None

    def freed(self, size: int) -> None:
        """A payload of ``size`` bytes was (or is about to be) freed: trim soon if it was large."""
        if size < LARGE or self._pending is not None:
            return
        if not self._fixed:
            self._fixed = True
            fix_mmap_threshold()
        self._pending = asyncio.get_running_loop().call_later(self.delay, self._trim)

    def _trim(self) -> None:
        self._pending = None
        started = time.perf_counter()
        trim()
        self.trims += 1
        _LOGGER.debug("malloc_trim took %.1f ms", (time.perf_counter() - started) * 1000)
