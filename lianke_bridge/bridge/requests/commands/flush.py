"""``flush``: drop the queued jobs (not the one printing) of one port, or of every port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import port_only
from lianke_bridge.bridge.requests.model import JsonObject, Limits, Request
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.bridge.requests.ports import device_port


@dataclass(frozen=True)
class FlushCommand(Request):
    """``flush``: drop queued jobs of one port, or of every port (``port`` None)."""

    COMMAND: ClassVar[str] = "flush"
    port: int | None = None
    """The port whose queue is dropped; without it, every port of the box."""


def parse(command: str, body: Body, transaction: str | None, _: Limits) -> FlushCommand:
    """flush: one port, or every port."""
    return FlushCommand(port_only(command, body), transaction=transaction)


async def handle(ctx: RequestContext, box: Box, command: FlushCommand) -> JsonObject:
    """Drop queued jobs of one port, or of every port of the box."""
    if command.port is not None:
        ports = [device_port(box, command.port)]
    else:
        ports = sorted({row.device_port for row in box.rows.values()}) or [box.config.default_port]
    flushed = {}
    for port in ports:
        flushed[str(port)] = await ctx.client.flush_jobs(box.credentials, port)
    box.poll_soon("tasks")
    return {"flushed": sum(flushed.values()), "ports": flushed}


COMMAND = DeviceCommand(name="flush", request=FlushCommand, parse=parse, handle=handle, synced=True)
