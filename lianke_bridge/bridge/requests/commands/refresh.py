"""``refresh`` (a box): poll the box now and answer its fresh state and its printers'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.state import BoxState, PrinterState
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import NoArgCommand
from lianke_bridge.wire import PORT_KEYS


@dataclass(frozen=True)
class RefreshCommand(NoArgCommand):
    """``refresh`` of one box: no fields."""

    COMMAND: ClassVar[str] = "refresh"


@dataclass(frozen=True)
class RefreshData:
    """The answer: the box's fresh state and its printers'."""

    state: BoxState
    """The box state JSON, as on ``<dev>/state``."""
    printers: Annotated[dict[str, PrinterState], PORT_KEYS]
    """Each printer's state JSON, as on ``<dev>/printer/<port>/state``, by port."""


async def handle(ctx: RequestContext, box: Box, _command: RefreshCommand) -> RefreshData:
    """Poll the box now and answer its fresh state (a refused key: its error, at once)."""
    refused = ctx.client.refused("refresh", box.credentials)
    if refused is not None:
        raise refused
    state = await ctx.pollers[box.name].poll_now()
    return RefreshData(state, {str(p): s for p, s in sorted(box.printers.items())})


COMMAND = DeviceCommand(
    name="refresh",
    request=RefreshCommand,
    parse=no_arg(RefreshCommand),
    handle=handle,
    doc=CommandDoc(
        does="polls the box now and answers its state",
        calls="poll this box now (device_info, printer_list, printer_status, tasks)",
        answer='`{"state": {…box state…}, "printers": {"1": {…}}}`',
        does_zh="立即轮询云盒，并应答它的状态",
    ),
)
