"""``refresh_network_printers``: ask the box to rescan its LAN for network printers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import NoArgCommand
from lianke_bridge.wire import Count


@dataclass(frozen=True)
class RefreshNetworkPrintersCommand(NoArgCommand):
    """``refresh_network_printers``: no fields."""

    COMMAND: ClassVar[str] = "refresh_network_printers"


@dataclass(frozen=True)
class RefreshNetworkPrintersData:
    """The answer: what the rescan found."""

    total: Count
    """Network printers the box found."""


async def handle(
    ctx: RequestContext, box: Box, _command: RefreshNetworkPrintersCommand
) -> RefreshNetworkPrintersData:
    """Ask the box to rescan its LAN; printer_list is polled again right after."""
    total = await ctx.client.refresh_network_printers(box.credentials)
    box.poll_soon("printer_list")
    return RefreshNetworkPrintersData(total)


COMMAND = DeviceCommand(
    name="refresh_network_printers",
    request=RefreshNetworkPrintersCommand,
    parse=no_arg(RefreshNetworkPrintersCommand),
    handle=handle,
    doc=CommandDoc(
        does="rescans the box's LAN for printers",
        calls="`GET /api/printer/refresh_network_printer`",
        answer='`{"total": 1}`',
        does_zh="重新扫描云盒所在局域网中的网络打印机",
    ),
    synced=True,
)
