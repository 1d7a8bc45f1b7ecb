"""``printer_models`` (the bridge): the cloud's supported printer models, searched or whole."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.requests.command import BridgeCommand, CommandDoc
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import check_fields
from lianke_bridge.bridge.requests.model import MAX_TEXT_FIELD, Limits, Request
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.errors import InvalidValueError
from lianke_bridge.print_options import readers


@dataclass(frozen=True)
class PrinterModelsCommand(Request):
    """``printer_models``: the cloud's supported models, searched or whole."""

    COMMAND: ClassVar[str] = "printer_models"
    query: str | None = None
    """Words to search the model names for (``HP 1020``); without it, every model."""


@dataclass(frozen=True)
class PrinterModelsData:
    """The answer: the models the cloud supports."""

    models: list[str]
    """Model names (``driver_name`` s) matching the query, or every one."""


def parse(command: str, body: Body, transaction: str | None, _: Limits) -> PrinterModelsCommand:
    """printer_models: ``{"query": "HP 1020"}``, the query as bare text, or nothing (all)."""
    query: str | None
    if body.kind == "object":
        data = check_fields(command, body.value, ("query",))
        query = readers.text("query", data.get("query"), max_len=MAX_TEXT_FIELD)
    elif body.kind in ("text", "json") and isinstance(body.value, str):
        query = body.value
    elif body.kind == "empty":
        query = None
    else:
        raise InvalidValueError(
            'printer_models takes {"query": "HP 1020"}, the query as text, or nothing'
        )
    if query is not None:
        query = query.strip()
        if len(query) > MAX_TEXT_FIELD:
            raise InvalidValueError(f"query is longer than {MAX_TEXT_FIELD} characters")
    return PrinterModelsCommand(query or None, transaction=transaction)


async def handle(ctx: RequestContext, command: PrinterModelsCommand) -> PrinterModelsData:
    """The cloud's supported printer models, searched or whole."""
    return PrinterModelsData(await ctx.client.printer_models(command.query))


COMMAND = BridgeCommand(
    name="printer_models",
    request=PrinterModelsCommand,
    parse=parse,
    handle=handle,
    doc=CommandDoc(
        does="the cloud's supported printer models, searched or whole",
        payload='`{"query": "HP 1020"}`, the query as plain text, or empty for every model',
        calls="`GET /api/print/printer_enum` (cached)",
        answer='`{"models": ["HP LaserJet 1020", …]}`',
        does_zh="链科云支持的打印机型号：按查询词搜索，或全部列出",
        payload_zh='`{"query": "HP 1020"}`、纯文本的查询词，或者留空以列出所有型号',
    ),
)
