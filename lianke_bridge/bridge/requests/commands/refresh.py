"""``refresh`` (a box): poll the box now and answer its fresh state and its printers'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import JsonObject, NoArgCommand


@dataclass(frozen=True)
class RefreshCommand(NoArgCommand):
    """``refresh`` of one box: no fields."""

    COMMAND: ClassVar[str] = "refresh"


async def handle(ctx: RequestContext, box: Box, _command: RefreshCommand) -> JsonObject:
    """Poll the box now and answer its fresh state (a refused key: its error, at once)."""
    refused = ctx.client.refused("refresh", box.credentials)
    if refused is not None:
        raise refused
    state = await ctx.pollers[box.name].poll_now()
    return {
        "state": state.to_json(),
        "printers": {str(p): s.to_json() for p, s in sorted(box.printers.items())},
    }


COMMAND = DeviceCommand(
    name="refresh", request=RefreshCommand, parse=no_arg(RefreshCommand), handle=handle
)
