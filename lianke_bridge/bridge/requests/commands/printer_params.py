"""``printer_params``: what a printer model offers (papers, colours, duplex…), cached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import port_or_model
from lianke_bridge.bridge.requests.model import PortOrModelCommand
from lianke_bridge.bridge.requests.ports import model_of
from lianke_bridge.cloud.models import PrinterParams


@dataclass(frozen=True)
class PrinterParamsCommand(PortOrModelCommand):
    """``printer_params``: of a port's printer, a model, or the default port's printer."""

    COMMAND: ClassVar[str] = "printer_params"


async def handle(ctx: RequestContext, box: Box, command: PrinterParamsCommand) -> PrinterParams:
    """The printer_params of a port's printer or of a named model (cached).

    The answer is the client's own record: every field of it, as the cloud's model gives them.
    """
    return await ctx.client.printer_params(model_of(box, command))


COMMAND = DeviceCommand(
    name="printer_params",
    request=PrinterParamsCommand,
    parse=port_or_model(PrinterParamsCommand),
    handle=handle,
    doc=CommandDoc(
        does="the printer's capabilities (cached)",
        payload="optional `port` or `model`",
        calls="`GET /api/print/printer_params` (cached)",
        answer='`{"model", "papers": {"A4": 9, …}, "colors", "duplex", "max_copies", …}`',
        does_zh="打印机的能力参数（有缓存）",
        payload_zh="可选 `port` 或 `model`",
    ),
)
