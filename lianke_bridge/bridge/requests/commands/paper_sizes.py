"""``paper_sizes``: the papers a printer model offers with their sizes, cached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import port_or_model
from lianke_bridge.bridge.requests.model import JsonObject, PortOrModelCommand
from lianke_bridge.bridge.requests.ports import flat, model_of


@dataclass(frozen=True)
class PaperSizesCommand(PortOrModelCommand):
    """``paper_sizes``: of a port's printer, a model, or the default port's printer."""

    COMMAND: ClassVar[str] = "paper_sizes"


async def handle(ctx: RequestContext, box: Box, command: PaperSizesCommand) -> JsonObject:
    """The paper_dimension_list of a port's printer or of a named model (cached)."""
    model = model_of(box, command)
    return {"model": model, "papers": [flat(p) for p in await ctx.client.paper_sizes(model)]}


COMMAND = DeviceCommand(
    name="paper_sizes",
    request=PaperSizesCommand,
    parse=port_or_model(PaperSizesCommand),
    handle=handle,
)
