"""Everything the bridge knows about one configured box: its snapshots and its poll schedule.

One ``Box`` per box this instance owns, made by the service and shared by reference: the poller
fills it, requests read it (and ask for a poll), the schedule places it, discovery and the
monitor read it. A record only: it calls nothing and publishes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from lianke_bridge.bridge.records.state import BoxState, PrinterState
from lianke_bridge.cloud.models import Credentials, DeviceTask, Printer
from lianke_bridge.config import DeviceConfig


@dataclass
class Box:
    """Everything the bridge knows about one configured box."""

    config: DeviceConfig
    state: BoxState = field(default_factory=BoxState)
    printers: dict[int, PrinterState] = field(default_factory=dict)
    rows: dict[int, Printer] = field(default_factory=dict)
    cloud_tasks: tuple[DeviceTask, ...] = ()
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    asked: dict[str, float] = field(default_factory=dict)
    """Kind -> loop time a poll was asked for (0.0: now), ahead of its slot."""
    slot: dict[str, float] = field(default_factory=dict)
    """Kind -> loop time of the slot its last poll took (the next is one interval later)."""
    phase: float = 0.0
    """Where in each interval this box's slots fall (0 <= phase < 1): the fleet spreads them."""
    lag: dict[str, float] = field(default_factory=dict)
    """Seconds each kind of poll last started after its slot (the metrics' schedule lag)."""
    backoff: float = 1.0
    last_poll: str | None = None
    known: bool = False
    """Whether device_info answered at least once (events fire on changes after that)."""
    printers_listed: bool = False
    """Whether printer_list answered at least once (until then the printers are unknown)."""
    key_refused: bool = False
    """The cloud refused the box's device id or key (404): said once in the log."""

    def poll_soon(self, *kinds: str, after: float = 0.0) -> None:
        """Make these polls due now (or ``after`` seconds from now) and wake the poller.

        An asked-for poll comes on top of the schedule: the box's slots stay where they are.
        """
        due = asyncio.get_running_loop().time() + after if after else 0.0
        for kind in kinds:
            self.asked[kind] = due
        self.wake.set()

    @property
    def name(self) -> str:
        """The ``<dev>`` slug."""
        return self.config.name

    @property
    def credentials(self) -> Credentials:
        """The box's cloud credentials."""
        return Credentials(self.config.device_id, self.config.device_key)

    def printer_for(self, port: int | None) -> Printer | None:
        """The printer_list row for a port (the default port when None)."""
        wanted = self.config.default_port if port is None else port
        if wanted in self.rows:
            return self.rows[wanted]
        for row in self.rows.values():
            if row.device_port == wanted:
                return row
        return None
