"""``paper_sizes``: the papers a printer model offers with their sizes, cached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import port_or_model
from lianke_bridge.bridge.requests.model import PortOrModelCommand
from lianke_bridge.bridge.requests.ports import model_of
from lianke_bridge.cloud.models import PaperSize


@dataclass(frozen=True)
class PaperSizesCommand(PortOrModelCommand):
    """``paper_sizes``: of a port's printer, a model, or the default port's printer."""

    COMMAND: ClassVar[str] = "paper_sizes"


@dataclass(frozen=True)
class PaperSizesData:
    """The answer: the model's papers with their sizes (0.1 mm)."""

    model: str
    """The printer model asked about."""
    papers: list[PaperSize]
    """Each paper of ``paper_dimension_list``: its name, the API's number and its sizes."""


async def handle(ctx: RequestContext, box: Box, command: PaperSizesCommand) -> PaperSizesData:
    """The paper_dimension_list of a port's printer or of a named model (cached)."""
    model = model_of(box, command)
    return PaperSizesData(model, list(await ctx.client.paper_sizes(model)))


COMMAND = DeviceCommand(
    name="paper_sizes",
    request=PaperSizesCommand,
    parse=port_or_model(PaperSizesCommand),
    handle=handle,
    doc=CommandDoc(
        does="the printer's papers with their sizes (cached)",
        payload="optional `port` or `model`",
        calls="`GET /api/print/paper_dimension_list` (cached)",
        answer='`{"model", "papers": [{"name", "paper_id", "physical_width", …}]}`',
        does_zh="打印机支持的纸张及其尺寸（有缓存）",
        payload_zh="可选 `port` 或 `model`",
    ),
)
