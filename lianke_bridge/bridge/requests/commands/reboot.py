"""``reboot``: restart the box (asynchronous: it goes offline for a while)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import NoArgCommand

REBOOT_RECHECK = 5.0
"""Seconds after a reboot request before device_info is asked again (the box goes offline)."""


@dataclass(frozen=True)
class RebootCommand(NoArgCommand):
    """``reboot``: no fields."""

    COMMAND: ClassVar[str] = "reboot"


@dataclass(frozen=True)
class RebootData:
    """The answer: the box was asked to restart (it goes offline meanwhile)."""

    rebooting: Literal[True] = True


async def handle(ctx: RequestContext, box: Box, _command: RebootCommand) -> RebootData:
    """Reboot the box (it goes offline for a while)."""
    await ctx.client.reboot(box.credentials)
    box.poll_soon("device_info", after=REBOOT_RECHECK)
    return RebootData()


COMMAND = DeviceCommand(
    name="reboot",
    request=RebootCommand,
    parse=no_arg(RebootCommand),
    handle=handle,
    doc=CommandDoc(
        does="reboots the box",
        calls="`POST /api/device/async_device_reboot`",
        answer='`{"rebooting": true}`',
        does_zh="重启云盒",
    ),
    synced=True,
)
