"""``print``: submit a document (links, a file, text or html) to a port and follow the job.

A JSON object, or a bare URL as Home Assistant's text entity sends it. The request's print
options are laid over the port's ``print_defaults`` and turned into the API's numbers against
the printer's capabilities (:mod:`..build`); the job is submitted and followed to its end, and
found again after a crash, as every command submitting one does (:mod:`..submission`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, ClassVar, Literal

from lianke_bridge.bridge.records.answer import Answer
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests import submission
from lianke_bridge.bridge.requests.build import build_print_request
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import (
    bare_url,
    check_fields,
    document_text,
    job_file,
    read_urls,
)
from lianke_bridge.bridge.requests.model import (
    MAX_TEXT_FIELD,
    Limits,
    Links,
    PaperField,
    PortText,
    Request,
)
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.bridge.requests.ports import capabilities, port_of, printer_at
from lianke_bridge.bridge.requests.submission import SubmittedJob
from lianke_bridge.cloud.models import JobFile
from lianke_bridge.errors import InvalidValueError
from lianke_bridge.print_options import PrintOptions, readers
from lianke_bridge.wire import Schema


@dataclass(frozen=True)
class PrintCommand(Request):
    """``print``: one document source, a port, and print options (``None``: not asked for)."""

    COMMAND: ClassVar[str] = "print"
    urls: tuple[str, ...] = ()
    file: JobFile | None = None
    text: str | None = field(default=None, repr=False)
    html: str | None = field(default=None, repr=False)
    title: str | None = None
    """Heading of a text or html page."""
    port: int | None = None
    options: PrintOptions = field(default_factory=PrintOptions)
    """How to print, as asked; the port's ``print_defaults`` fill in the rest when it is built."""
    from_text_entity: bool = False
    """The payload was a bare URL, as a Home Assistant text entity sends it."""

    @property
    def needs_paper_sizes(self) -> bool:
        """Whether the paper (a name or number) may need ``paper_dimension_list`` to resolve."""
        return self.options.needs_paper_sizes

    @property
    def source(self) -> Literal["url", "file", "text"]:
        """The job record's ``source``: ``url``, ``file`` or ``text`` (html counts as text)."""
        if self.urls:
            return "url"
        if self.file is not None:
            return "file"
        return "text"


_Words = Annotated[str, Schema({"type": ["string", "boolean"]})]
_Switch = Annotated[bool, Schema({"type": ["boolean", "string", "integer"]})]


@dataclass(frozen=True)
class PrintPayload:
    """The JSON form: exactly one document source, the port, and how to print it.

    Its fields are the ones ``print`` takes (its print options are those of a port's
    ``print_defaults``, :data:`~lianke_bridge.print_options.PRINT_OPTIONS`).
    """

    SCHEMA_RULES: ClassVar[Mapping[str, Any]] = {
        "oneOf": [
            {"required": ["url"]},
            {"required": ["file"]},
            {"required": ["text"]},
            {"required": ["html"]},
        ],
        "dependentRequired": {"file": ["filename"]},
    }
    url: Links | None = None
    """http:// or https:// links, printed in order as one job."""
    file: str | None = None
    """The document in base64 (a data: URL too), with filename."""
    text: str | None = None
    """Plain text, printed as a simple page (- and * lines as a list, - [ ] as check boxes)."""
    html: str | None = None
    """HTML: a fragment is wrapped in a printable page, a whole document sent as it is."""
    filename: str | None = None
    """With file: its name, whose extension tells the cloud the type."""
    title: str | None = None
    """With text or html: a heading."""
    port: PortText | None = None
    """The printer's port; the box's default_port without it."""
    copies: Annotated[int, Schema({"type": ["integer", "string"]})] | None = None
    """1 to 999, at most what the printer allows."""
    paper: PaperField | None = None
    """A paper the printer offers (A4), the API's number, or a custom size in mm."""
    color: str | None = None
    """mono or color."""
    duplex: _Words | None = None
    """off, long or short (true: long)."""
    orientation: str | None = None
    """portrait or landscape."""
    scale: str | None = None
    """fit, fitw, fith, fill, cover, none, or a percentage (80%)."""
    align: str | None = None
    """z1 to z9, or top_left, top … bottom_right."""
    pages: Annotated[str, Schema({"type": ["string", "integer"]})] | None = None
    """A page range (1,3,5-10), odd or even."""
    reverse: _Switch | None = None
    """Last page first."""
    auto_rotate: _Switch | None = None
    """Turn pages to fit."""
    file_ext: str | None = None
    """The document's type (.pdf…) when a link's path does not say; replaces a file's."""
    options: Annotated[dict[str, Any], Schema({"type": "object"})] | None = None
    """Raw API fields, passed through unchecked (credentials, the document and the port
    excepted)."""


_SOURCES = ("url", "file", "text", "html")
_FIELDS = tuple(f.name for f in fields(PrintPayload))


def parse(command: str, body: Body, transaction: str | None, limits: Limits) -> PrintCommand:
    """print: a JSON object, or a bare URL."""
    if body.kind != "object":
        url = bare_url(command, body, limits)
        return PrintCommand(urls=(url,), from_text_entity=True, transaction=transaction)
    data = check_fields(command, body.value, _FIELDS)
    sources = [name for name in _SOURCES if data.get(name) is not None]
    if len(sources) != 1:
        found = f"; got {', '.join(sources)}" if sources else ""
        raise InvalidValueError(
            f"print needs exactly one of url, file (with filename), text or html{found}"
        )
    settings = PrintOptions.parse(data)
    urls: tuple[str, ...] = ()
    file: JobFile | None = None
    text = html = None
    if sources[0] == "url":
        urls = read_urls(data["url"], limits)
    elif sources[0] == "file":
        file = job_file(data, limits, settings.file_ext)
    elif sources[0] == "text":
        text = document_text(data, "text")
    else:
        html = document_text(data, "html")
    title = readers.text("title", data.get("title"), max_len=MAX_TEXT_FIELD)
    if title is not None and sources[0] in ("url", "file"):
        raise InvalidValueError("title only applies to text or html")
    return PrintCommand(
        urls=urls,
        file=file,
        text=text,
        html=html,
        title=title,
        port=readers.port(data.get("port")),
        transaction=transaction,
        options=settings,
    )


async def handle(ctx: RequestContext, box: Box, command: PrintCommand) -> Answer[SubmittedJob]:
    """Submit a print job and start following it; its topics are published after the answer."""
    port = port_of(box, command.port)
    printer = await printer_at(ctx, box, port)
    defaults = box.config.print_defaults.get(port, PrintOptions())
    # A paper name may only be in paper_dimension_list (16K…), asked or from the defaults.
    wants_paper = command.needs_paper_sizes or defaults.needs_paper_sizes
    known = await capabilities(ctx, box, printer, paper_sizes=wants_paper)
    api_request = build_print_request(
        command,
        port=port,
        printer=printer,
        params=known.params,
        paper_sizes=known.sizes,
        defaults=defaults,
        missing=known.missing,
    )
    answer = await submission.submit(
        ctx, box, api_request, port=port, source=command.source, transaction=command.transaction
    )
    if command.from_text_entity and command.urls:
        await ctx.publisher.publish(
            ctx.topics.print_url_state(box.name), command.urls[0][:255], retain=True
        )
    return answer


COMMAND = DeviceCommand(
    name="print",
    request=PrintCommand,
    parse=parse,
    handle=handle,
    recover=submission.recover,
    payload=PrintPayload,
    doc=CommandDoc(
        does=(
            "submits a job (text and html become a printable page), answers its `task_id`, then "
            "follows it"
        ),
        payload=(
            "`url` (one or more, http/https) or `file` (base64) + `filename`, or `text` / `html`; "
            "optional `port`, `copies`, `paper` (name like `A4` or the API's number), `color` "
            "(`mono`/`color`), `duplex` (`off`/`long`/`short`), `orientation` "
            "(`portrait`/`landscape`), `scale` (`fit`, `fitw`, `fith`, `fill`, `cover`, `none`, "
            "`NN%`), `align`, `pages` (page range), `reverse`, `auto_rotate`, `file_ext`, `options`"
            " (raw API fields, passed through)"
        ),
        calls="`POST /api/print/job`, then job tracking",
        answer='`{"task_id", "port", "job": {…the job JSON…}}`',
        does_zh=(
            "提交一个打印任务（`text` 和 `html` 会先排版成可打印的页面），"
            "应答其 `task_id`，然后跟踪它"
        ),
        payload_zh=(
            "`url`（一个或多个，http/https）或 `file`（base64）+ `filename`，或 `text` / `html`；"
            "可选 `port`、`copies`、`paper`（纸张名称如 `A4`，或 API 的编号）、"
            "`color`（`mono`/`color`）、`duplex`（`off`/`long`/`short`）、"
            "`orientation`（`portrait`/`landscape`）、"
            "`scale`（`fit`、`fitw`、`fith`、`fill`、`cover`、`none`、`NN%`）、`align`、"
            "`pages`（页码范围）、`reverse`、`auto_rotate`、`file_ext`、"
            "`options`（API 的原始字段，原样传给链科云）"
        ),
    ),
    documents=True,
)
"""Not ``synced``: its submission is on disk before the cloud call (``jobs.submit``)."""
