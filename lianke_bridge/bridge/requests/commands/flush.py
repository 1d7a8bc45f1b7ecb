"""``flush``: drop the queued jobs (not the one printing) of one port, or of every port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import port_only
from lianke_bridge.bridge.requests.model import Limits, PortText, Request
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.bridge.requests.ports import device_port
from lianke_bridge.wire import PORT_KEYS, Count


@dataclass(frozen=True)
class FlushCommand(Request):
    """``flush``: drop queued jobs of one port, or of every port (``port`` None)."""

    COMMAND: ClassVar[str] = "flush"
    port: PortText | None = None
    """The port whose queue is dropped; without it, every port of the box."""


@dataclass(frozen=True)
class FlushData:
    """The answer: how many queued jobs were dropped."""

    flushed: Count
    """Jobs dropped, on every port flushed."""
    ports: Annotated[dict[str, Count], PORT_KEYS]
    """Jobs dropped by port (the API's port: a network printer's is 1)."""


def parse(command: str, body: Body, transaction: str | None, _: Limits) -> FlushCommand:
    """flush: one port, or every port."""
    return FlushCommand(port_only(command, body), transaction=transaction)


async def handle(ctx: RequestContext, box: Box, command: FlushCommand) -> FlushData:
    """Drop queued jobs of one port, or of every port of the box."""
    if command.port is not None:
        ports = [device_port(box, command.port)]
    else:
        ports = sorted({row.device_port for row in box.rows.values()}) or [box.config.default_port]
    flushed = {}
    for port in ports:
        flushed[str(port)] = await ctx.client.flush_jobs(box.credentials, port)
    box.poll_soon("tasks")
    return FlushData(sum(flushed.values()), flushed)


COMMAND = DeviceCommand(
    name="flush",
    request=FlushCommand,
    parse=parse,
    handle=handle,
    doc=CommandDoc(
        does="drops queued jobs (every port without `port`)",
        payload="optional `port`",
        calls="`POST /api/print/flush_jobs`",
        answer='`{"flushed": 3, "ports": {"2": 3}}`',
        does_zh="清除排队中的打印任务（不给 `port` 时清除所有端口）",
        payload_zh="可选 `port`",
    ),
    synced=True,
)
