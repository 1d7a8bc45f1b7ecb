"""``print_test_page``: print the bridge's test page, or its colour maintenance page, on a printer.

The cloud has no such call: the bridge renders the page (:mod:`..pages`) and prints it as an
HTML file, a print job like any other: on the printer's paper (the port's ``print_defaults``
paper, else the printer's own default), answered with its ``task_id`` and followed to its end,
and found again after a crash (:mod:`..submission`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated, ClassVar, Literal

from lianke_bridge import __version__
from lianke_bridge.bridge.records.answer import Answer
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests import submission
from lianke_bridge.bridge.requests.build import build_print_request
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import bare_port, check_fields
from lianke_bridge.bridge.requests.model import Limits, PortText, Request
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.bridge.requests.ports import capabilities, port_of, printer_at
from lianke_bridge.bridge.requests.submission import SubmittedJob
from lianke_bridge.clock import now
from lianke_bridge.cloud.models import JobFile
from lianke_bridge.errors import InvalidValueError
from lianke_bridge.print_options import PrintOptions, readers
from lianke_bridge.print_options.readers import show
from lianke_bridge.wire import Schema

Page = Literal["test", "maintenance"]
PAGES: tuple[Page, ...] = ("test", "maintenance")
"""The pages ``print_test_page`` prints, by the name its ``page`` field takes."""


@dataclass(frozen=True)
class PrintTestPageCommand(Request):
    """``print_test_page``: which printer, and which page."""

    COMMAND: ClassVar[str] = "print_test_page"
    port: PortText | None = None
    """The printer's port; the box's default_port without it."""
    page: Annotated[Page, Schema({"enum": list(PAGES)})] = "test"
    """test (the bridge's version, the box, the port, the paper and the time) or maintenance
    (colour blocks, tint bars and a nozzle-check pattern that keep an inkjet's nozzles clear)."""


@dataclass(frozen=True)
class _PagePrint:
    """The page as ``build_print_request`` reads a print (its file is set once it is rendered)."""

    options: PrintOptions
    transaction: str | None
    urls: tuple[str, ...] = ()
    file: JobFile | None = None
    text: str | None = field(default=None, repr=False)
    html: str | None = field(default=None, repr=False)
    title: str | None = None


def parse(command: str, body: Body, transaction: str | None, _: Limits) -> PrintTestPageCommand:
    """print_test_page: ``{"port": 1, "page": "maintenance"}``, a bare port, or anything."""
    if body.kind != "object":
        return PrintTestPageCommand(bare_port(body), transaction=transaction)
    data = check_fields(command, body.value, ("port", "page"))
    port = readers.port(data.get("port"), "port")
    page = data.get("page")
    if page is None:
        page = "test"
    if page not in PAGES:
        raise InvalidValueError(
            f"page {show(page)} is not a page the bridge prints; use test or maintenance"
        )
    return PrintTestPageCommand(port, page, transaction=transaction)


async def handle(
    ctx: RequestContext, box: Box, command: PrintTestPageCommand
) -> Answer[SubmittedJob]:
    """Render the page for this printer and submit it as a print job."""
    from lianke_bridge.bridge.requests import pages  # noqa: PLC0415 - its html, on first use only

    port = port_of(box, command.port)
    printer = await printer_at(ctx, box, port)
    paper = box.config.print_defaults.get(port, PrintOptions()).paper
    asked = PrintOptions(paper=paper)
    known = await capabilities(ctx, box, printer, paper_sizes=asked.needs_paper_sizes)
    if command.page == "maintenance" and (known.params is None or known.params.supports_color):
        asked = replace(asked, color="color")
    api_request = build_print_request(
        _PagePrint(asked, command.transaction),
        port=port,
        printer=printer,
        params=known.params,
        paper_sizes=known.sizes,
        missing=known.missing,
    )
    facts = pages.PageFacts(
        version=__version__,
        box=box.name,
        port=port,
        printer=(printer.name or printer.model or None) if printer is not None else None,
        paper=pages.paper_label(api_request, known.params, known.sizes),
        time=now(ctx.jobs.clock).astimezone(),
    )
    content = pages.render(command.page, facts)
    document = JobFile(pages.FILENAMES[command.page], content, "text/html")
    return await submission.submit(
        ctx,
        box,
        replace(api_request, file=document),
        port=port,
        source="file",
        transaction=command.transaction,
    )


COMMAND = DeviceCommand(
    name="print_test_page",
    request=PrintTestPageCommand,
    parse=parse,
    handle=handle,
    recover=submission.recover,
    doc=CommandDoc(
        does=(
            "prints the bridge's test page, or with `page: maintenance` a colour page that keeps "
            "an inkjet's nozzles clear; answers and follows it as `print` does"
        ),
        payload="optional `port`, `page` (`test` or `maintenance`)",
        calls="`POST /api/print/job` with a page the bridge renders, then job tracking",
        answer='`{"task_id", "port", "job": {…the job JSON…}}`',
        does_zh=(
            "打印桥接程序的测试页；`page: maintenance` 时打印一张彩色保养页，让喷墨打印机的喷头保持"
            "通畅；像 `print` 一样应答并跟踪这个打印任务"
        ),
        payload_zh="可选 `port`、`page`（`test` 或 `maintenance`）",
    ),
)
"""Not ``synced``: its submission is on disk before the cloud call, as a print's."""
