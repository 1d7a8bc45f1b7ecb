"""``page_count``: count a document's pages (the cloud's ``file_pages``, one document)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.build import build_page_count_request
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import bare_url, check_fields, job_file, read_urls
from lianke_bridge.bridge.requests.model import Limits, Link, PaperField, PortText, Request
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.bridge.requests.ports import capabilities, port_of, printer_at
from lianke_bridge.cloud.models import JobFile
from lianke_bridge.errors import InvalidValueError
from lianke_bridge.print_options import Paper, read_option, read_paper, readers
from lianke_bridge.wire import Count


@dataclass(frozen=True)
class PageCountCommand(Request):
    """``page_count``: one document (a URL or a file), optionally on a given paper."""

    COMMAND: ClassVar[str] = "page_count"
    urls: tuple[str, ...] = ()
    """Zero or one URL (the API counts one document)."""
    file: JobFile | None = None
    port: int | None = None
    paper: Paper | None = None
    file_ext: str | None = None


@dataclass(frozen=True)
class PageCountPayload:
    """The JSON form: one document, as a link or a file, and how it would be printed."""

    SCHEMA_RULES: ClassVar[Mapping[str, Any]] = {
        "oneOf": [{"required": ["url"]}, {"required": ["file", "filename"]}]
    }
    url: Link | None = None
    """The document's http:// or https:// link (the cloud must fetch it within 5 s)."""
    file: str | None = None
    """The document in base64, with filename."""
    filename: str | None = None
    """With file: its name, whose extension tells the cloud the type."""
    port: PortText | None = None
    """The printer whose paper list names the paper; the default port without it."""
    paper: PaperField | None = None
    """Count the pages as printed on this paper (a name, the API's number or a custom size)."""
    file_ext: str | None = None
    """The link's document type (.pdf, .docx…) when its path does not say."""


@dataclass(frozen=True)
class PageCountData:
    """The answer: the document's page count."""

    pages: Count
    """Pages of the document, on the paper given (or the printer's)."""


_FIELDS = tuple(f.name for f in fields(PageCountPayload))


def parse(command: str, body: Body, transaction: str | None, limits: Limits) -> PageCountCommand:
    """page_count: one URL or one file, optional port and paper."""
    if body.kind != "object":
        return PageCountCommand(urls=(bare_url(command, body, limits),), transaction=transaction)
    data = check_fields(command, body.value, _FIELDS)
    has_url = data.get("url") is not None
    if has_url == (data.get("file") is not None):
        raise InvalidValueError("page_count needs exactly one of url or file (with filename)")
    file_ext = read_option("file_ext", data.get("file_ext"))
    urls: tuple[str, ...] = ()
    file: JobFile | None = None
    if has_url:
        urls = read_urls(data["url"], limits)
        if len(urls) != 1:
            raise InvalidValueError(f"page_count counts one document; got {len(urls)} URLs")
    else:
        file = job_file(data, limits, file_ext)
    return PageCountCommand(
        urls=urls,
        file=file,
        port=readers.port(data.get("port")),
        paper=read_paper(data.get("paper")),
        file_ext=file_ext,
        transaction=transaction,
    )


async def handle(ctx: RequestContext, box: Box, command: PageCountCommand) -> PageCountData:
    """Count a document's pages (file_pages, then its task followed to the end)."""
    port = port_of(box, command.port)
    printer = await printer_at(ctx, box, port)
    # a paper name may only be in paper_dimension_list (16K…)
    known = await capabilities(ctx, box, printer, paper_sizes=isinstance(command.paper, str | int))
    counted = build_page_count_request(
        command,
        port=port,
        printer=printer,
        params=known.params,
        paper_sizes=known.sizes,
        missing=known.missing,
    )
    pages = await ctx.client.count_pages(
        box.credentials,
        urls=counted.urls,
        file=counted.file,
        port=counted.port,
        printer_model=counted.printer_model,
        paper_size=counted.paper_size,
        url_file_ext=counted.url_file_ext,
    )
    return PageCountData(pages)


COMMAND = DeviceCommand(
    name="page_count",
    request=PageCountCommand,
    parse=parse,
    handle=handle,
    payload=PageCountPayload,
    doc=CommandDoc(
        does="counts a document's pages",
        payload="like `print` (url or file) + optional `paper`",
        calls="`POST /api/print/file_pages`",
        answer='`{"pages": 12}`',
        does_zh="统计一个文档的页数",
        payload_zh="与 `print` 相同（url 或 file）+ 可选 `paper`",
    ),
    documents=True,
)
