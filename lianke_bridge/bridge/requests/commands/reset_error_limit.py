"""``reset_error_limit``: lift the cloud's pause after 30 consecutive failed jobs (11203)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import port_only
from lianke_bridge.bridge.requests.model import Limits, PortText, Request
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.bridge.requests.ports import device_port, port_of
from lianke_bridge.wire import Port


@dataclass(frozen=True)
class ResetErrorLimitCommand(Request):
    """``reset_error_limit``: lift the 11203 pause of one port, or of the default port."""

    COMMAND: ClassVar[str] = "reset_error_limit"
    port: PortText | None = None
    """The port to reset; without it, the box's default port."""


@dataclass(frozen=True)
class ResetErrorLimitData:
    """The answer: the port's pause was lifted."""

    port: Port
    """The port reset."""
    reset: Literal[True] = True


def parse(command: str, body: Body, transaction: str | None, _: Limits) -> ResetErrorLimitCommand:
    """reset_error_limit: one port, or the default port."""
    return ResetErrorLimitCommand(port_only(command, body), transaction=transaction)


async def handle(
    ctx: RequestContext, box: Box, command: ResetErrorLimitCommand
) -> ResetErrorLimitData:
    """Lift the cloud's pause after 30 consecutive failures (11203)."""
    port = port_of(box, command.port)
    await ctx.client.reset_error_limit(box.credentials, device_port(box, port))
    await ctx.pollers[box.name].set_error_limit(reached=False)
    return ResetErrorLimitData(port)


COMMAND = DeviceCommand(
    name="reset_error_limit",
    request=ResetErrorLimitCommand,
    parse=parse,
    handle=handle,
    doc=CommandDoc(
        does="lifts the cloud's pause after 30 failed jobs (11203)",
        payload="optional `port`",
        calls="`POST /api/print/reset_printing_error_limit`",
        answer='`{"port": 1, "reset": true}`',
        does_zh="解除链科云在连续 30 个打印任务失败后的暂停（11203）",
        payload_zh="可选 `port`",
    ),
    synced=True,
)
