"""``refresh`` (the bridge): poll every box now and answer their fresh states.

Named ``bridge_refresh`` here because a box has a ``refresh`` of its own (:mod:`.refresh`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, ClassVar

from lianke_bridge.bridge.records.state import BoxState
from lianke_bridge.bridge.requests.command import BridgeCommand, CommandDoc
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import NoArgCommand
from lianke_bridge.wire import DEVICE_KEYS


@dataclass(frozen=True)
class RefreshAllCommand(NoArgCommand):
    """``refresh`` of the bridge (every box): no fields."""

    COMMAND: ClassVar[str] = "refresh"


@dataclass(frozen=True)
class RefreshAllData:
    """The answer: every box's fresh state."""

    devices: Annotated[dict[str, BoxState], DEVICE_KEYS]
    """Each box's state JSON, as on ``<dev>/state``, by name."""


async def handle(ctx: RequestContext, _command: RefreshAllCommand) -> RefreshAllData:
    """Poll every box now (a refused ApiKey: its error, at once)."""
    refused = ctx.client.refused("refresh")
    if refused is not None:
        raise refused
    pollers = ctx.pollers
    states = await asyncio.gather(*(p.poll_now() for p in pollers.values()))
    return RefreshAllData(dict(zip(pollers, states, strict=True)))


COMMAND = BridgeCommand(
    name="refresh",
    request=RefreshAllCommand,
    parse=no_arg(RefreshAllCommand),
    handle=handle,
    doc=CommandDoc(
        does="polls every box now",
        payload="any",
        calls="poll every box now (device_info, printer_list, printer_status, tasks)",
        answer='`{"devices": {"<dev>": {…box state…}}}`',
        does_zh="立即轮询所有云盒",
    ),
)
