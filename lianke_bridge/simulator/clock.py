"""How long the simulated cloud takes (``Timing``), and the clock its rules read (``SimClock``).

Every wait is an ``asyncio.sleep`` with a ``Timing`` duration, so tests run the whole life of a
job in tens of milliseconds; the rules that span minutes or days read ``SimClock``, which tests
can move forward.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Timing:
    """How long things take, in seconds. The defaults feel real but quick (a job takes ~4 s)."""

    ready: float = 0.5
    """A new job waits this long in READY before it may start."""
    parsing: float = 1.5
    """PARSING (the cloud converts the document)."""
    sending: float = 2.0
    """SENDING (the box feeds the printer)."""
    revoke: float = 0.5
    """SET_REVOKE before REVOKED."""
    reboot: float = 20.0
    """A rebooting box is offline this long."""
    refresh: float = 3.0
    """async_refresh_device_info keeps the box "refreshing" (401) this long."""
    printer_status: float = 0.8
    """printer_status answers after this long (it asks the printer live)."""
    answer: float = 0.1
    """Latency of the other one-at-a-time calls (reset, refresh); a second one meanwhile: 10009."""
    pages: float = 1.0
    """file_pages counting time (the answer's latency; PARSING of a counting task)."""
    status_window: float = 2.0
    """printer_status for a port again within this many seconds of its last answer: 10009."""
    error_pause: float = 30 * 60.0
    """How long the 11203 pause lasts after the last failed job (the cloud says 30 minutes)."""
    callback_retries: tuple[float, ...] = (0.0, 5.0, 10.0)
    """Delays before each callback attempt (the reference: 0, 5, 10 s)."""

    @classmethod
    def fast(cls) -> Timing:
        """Tens of milliseconds everywhere: for tests."""
        return cls(
            ready=0.01,
            parsing=0.02,
            sending=0.02,
            revoke=0.02,
            reboot=0.15,
            refresh=0.1,
            printer_status=0.05,
            answer=0.05,
            pages=0.02,
            status_window=0.0,
            callback_retries=(0.0, 0.05, 0.1),
        )


class SimClock:
    """The simulated cloud's sense of time: the real clocks plus an offset tests can advance.

    ``advance(1800)`` makes half an hour pass at once for every rule that reads the clock (the
    11203 pause, the printer_status window, the daily reset count, the last day's tasks).
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        """Move the clock forward (never back)."""
        if not seconds >= 0:
            raise ValueError("the clock only moves forward: seconds must be 0 or more")
        self.offset += seconds

    def monotonic(self) -> float:
        """Seconds for measuring spans (windows, pauses)."""
        return time.monotonic() + self.offset

    def now(self) -> datetime:
        """The local date and time shown to clients."""
        return datetime.now().astimezone() + timedelta(seconds=self.offset)

    def today(self) -> date:
        """The local date (the cloud's "day" for its daily limits)."""
        return self.now().date()
