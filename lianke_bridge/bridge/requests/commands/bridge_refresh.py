"""``refresh`` (the bridge): poll every box now and answer their fresh states.

Named ``bridge_refresh`` here because a box has a ``refresh`` of its own (:mod:`.refresh`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.requests.command import BridgeCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import JsonObject, NoArgCommand


@dataclass(frozen=True)
class RefreshAllCommand(NoArgCommand):
    """``refresh`` of the bridge (every box): no fields."""

    COMMAND: ClassVar[str] = "refresh"


async def handle(ctx: RequestContext, _command: RefreshAllCommand) -> JsonObject:
    """Poll every box now (a refused ApiKey: its error, at once)."""
    refused = ctx.client.refused("refresh")
    if refused is not None:
        raise refused
    pollers = ctx.pollers
    states = await asyncio.gather(*(p.poll_now() for p in pollers.values()))
    return {"devices": {n: s.to_json() for n, s in zip(pollers, states, strict=True)}}


COMMAND = BridgeCommand(
    name="refresh", request=RefreshAllCommand, parse=no_arg(RefreshAllCommand), handle=handle
)
