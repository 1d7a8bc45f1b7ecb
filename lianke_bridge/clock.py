"""The bridge's two clocks: the wall clock for what people read, the monotonic one for durations.

A Raspberry Pi has no real-time clock: it boots with the time it was shut down at and NTP steps
the clock, hours or days, a minute later; an administrator may set it back. Anything measured as
elapsed time (the duplicate window, how long a finished job stays retained, uptime) is measured
on ``monotonic()``, which never steps; ``wall()`` is only for times shown (``finished_at``) and for
what must outlive the process (a record's time on disk).

Across a restart a record's age can only come from the wall clock: it is stored as wall time
and re-based onto the monotonic clock when it is read (``monotonic_of``), its age never below 0:
a record "from the future" (the clock was set back, or the Pi booted with an old time) counts as
new, so it lives one full period from the start and no longer. Stored times are re-based again at
each write (``wall_of``): a step between two writes does not count as time that passed.

One object so tests (and only tests) can step the wall clock without touching the machine's.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where the bridge reads the time."""

    def wall(self) -> float:
        """Seconds since the epoch, as the system clock says now (it can step)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that only moves forward, at the pace of real time."""
        ...


class SystemClock:
    """The machine's clocks: ``time.time()`` and ``time.monotonic()``."""

    def wall(self) -> float:
        """``time.time()``."""
        return time.time()

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()


def now(clock: Clock) -> datetime:
    """The wall clock as an aware UTC datetime (for times shown in payloads)."""
    return datetime.fromtimestamp(clock.wall(), UTC)


def wall_of(clock: Clock, moment: float) -> float:
    """The wall-clock time of a moment of the monotonic clock, as the wall clock reads now."""
    return clock.wall() - (clock.monotonic() - moment)


def monotonic_of(clock: Clock, wall: float) -> float:
    """A stored wall-clock time on the monotonic clock; never later than now (see the module)."""
    return clock.monotonic() - max(0.0, clock.wall() - wall)
