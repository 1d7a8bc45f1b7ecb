"""How long a published value stays true: the period of the poll that feeds each topic.

The poller re-sends an unchanged value after :data:`REFRESH_FACTOR` periods and Home Assistant
marks it unavailable after :data:`EXPIRE_FACTOR` periods without news, so both must name the same
poll: a printer with a live status is fed by printer_status, any other printer by printer_list,
the box's availability by device_info and its queue by the tasks poll.
"""

from __future__ import annotations

from lianke_bridge.bridge.records.state import PrinterState
from lianke_bridge.config import PollConfig

REFRESH_FACTOR = 1.5
"""Unchanged state is re-sent after 1.5 poll periods: a poll and its jitter fit before expiry."""
EXPIRE_FACTOR = 3.0
"""Home Assistant's ``expire_after``: about three periods of the feeding poll."""


def printer_period(poll: PollConfig, printer: PrinterState) -> float:
    """The poll that refreshes a printer's state: printer_status if it is asked, else the list."""
    return poll.printer_status if printer.status_polled else poll.printer_list


def availability_period(poll: PollConfig) -> float:
    """The box's availability (its cloud connection) comes with every device_info."""
    return poll.device_info


def queue_period(poll: PollConfig) -> float:
    """The queue is counted from each tasks poll."""
    return poll.tasks
