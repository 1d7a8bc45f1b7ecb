"""One parser per command: a decoded payload in, its typed request out.

Each takes the command's name (for messages), the decoded :class:`Body`, the transaction and the
:class:`Limits`, and raises :class:`InvalidValueError` for a payload it cannot take; the
registry (:mod:`.registry`) turns that into ``invalid_payload`` carrying the transaction.
"""

from __future__ import annotations

import re
from typing import Literal

from lianke_bridge.bridge.requests.fields import (
    bare_port,
    bare_url,
    check_fields,
    document_text,
    job_file,
    read_urls,
    require_object,
)
from lianke_bridge.bridge.requests.model import (
    MAX_TEXT_FIELD,
    CancelCommand,
    DecodeQrCommand,
    FlushCommand,
    JobCommand,
    Limits,
    NoArgCommand,
    PageCountCommand,
    PortOrModelCommand,
    PrintCommand,
    PrinterModelsCommand,
    ResetErrorLimitCommand,
)
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.cloud.models import JobFile
from lianke_bridge.errors import InvalidValueError
from lianke_bridge.print_options import (
    PRINT_OPTIONS,
    PrintOptions,
    read_option,
    read_paper,
    readers,
)
from lianke_bridge.print_options.readers import show

_TASK_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


def parse_no_arg(command: str, body: Body, transaction: str | None, _: Limits) -> NoArgCommand:
    """Commands without arguments: any payload; a JSON object may hold only a transaction."""
    if body.kind == "object":
        check_fields(command, body.value, ())
    return NoArgCommand(command, transaction=transaction)


def _port_only(command: str, body: Body) -> int | None:
    """``{"port": 2}``, a bare port, or anything (every port)."""
    if body.kind == "object":
        data = check_fields(command, body.value, ("port",))
        return readers.port(data.get("port"))
    return bare_port(body)


def parse_flush(command: str, body: Body, transaction: str | None, _: Limits) -> FlushCommand:
    """flush: one port, or every port."""
    return FlushCommand(_port_only(command, body), transaction=transaction)


def parse_reset_error_limit(
    command: str, body: Body, transaction: str | None, _: Limits
) -> ResetErrorLimitCommand:
    """reset_error_limit: one port, or the default port."""
    return ResetErrorLimitCommand(_port_only(command, body), transaction=transaction)


def parse_port_or_model(
    command: str, body: Body, transaction: str | None, _: Limits
) -> PortOrModelCommand:
    """printer_params / paper_sizes: ``{"port": 2}``, ``{"model": "…"}``, a bare port or model."""
    port: int | None = None
    model: str | None = None
    if body.kind == "object":
        data = check_fields(command, body.value, ("port", "model"))
        port = readers.port(data.get("port"))
        model = readers.text("model", data.get("model"), max_len=MAX_TEXT_FIELD)
        if port is not None and model is not None:
            raise InvalidValueError("give port or model, not both")
    else:
        port = bare_port(body)
        if port is None and body.kind in ("text", "json") and isinstance(body.value, str):
            model = body.value.strip()[:MAX_TEXT_FIELD] or None
    name: Literal["printer_params", "paper_sizes"] = (
        "printer_params" if command == "printer_params" else "paper_sizes"
    )
    return PortOrModelCommand(name, port, model, transaction=transaction)


def _task(command: str, body: Body) -> tuple[str, int | None]:
    """Cancel or job: ``{"task_id": "…", "port": 1}``."""
    data = require_object(command, body, example='{"task_id": "581decf2-…"}')
    data = check_fields(command, data, ("task_id", "port"))
    task_id = readers.text("task_id", data.get("task_id"), max_len=MAX_TEXT_FIELD)
    if task_id is None:
        raise InvalidValueError(f"{command} needs task_id: the task id a print response returned")
    if not _TASK_ID.match(task_id):
        raise InvalidValueError(
            f"task_id {show(task_id)} is not a task id (letters, digits, '-', '_', '.', ':')"
        )
    return task_id, readers.port(data.get("port"))


def parse_cancel(command: str, body: Body, transaction: str | None, _: Limits) -> CancelCommand:
    """cancel: a task id, and its port when the bridge does not follow the job."""
    return CancelCommand(*_task(command, body), transaction=transaction)


def parse_job(command: str, body: Body, transaction: str | None, _: Limits) -> JobCommand:
    """job: a task id, and its port when the bridge does not follow the job."""
    return JobCommand(*_task(command, body), transaction=transaction)


_PRINT_SOURCES = ("url", "file", "text", "html")
_PRINT_FIELDS = (*_PRINT_SOURCES, "filename", "title", "port", *PRINT_OPTIONS)


def parse_print(command: str, body: Body, transaction: str | None, limits: Limits) -> PrintCommand:
    """print: a JSON object, or a bare URL."""
    if body.kind != "object":
        url = bare_url(command, body, limits)
        return PrintCommand(urls=(url,), from_text_entity=True, transaction=transaction)
    data = check_fields(command, body.value, _PRINT_FIELDS)
    sources = [name for name in _PRINT_SOURCES if data.get(name) is not None]
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


def parse_page_count(
    command: str, body: Body, transaction: str | None, limits: Limits
) -> PageCountCommand:
    """page_count: one URL or one file, optional port and paper."""
    if body.kind != "object":
        return PageCountCommand(urls=(bare_url(command, body, limits),), transaction=transaction)
    data = check_fields(
        command, body.value, ("url", "file", "filename", "port", "paper", "file_ext")
    )
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


def parse_printer_models(
    command: str, body: Body, transaction: str | None, _: Limits
) -> PrinterModelsCommand:
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


_QR_FIELDS = ("text", "link", "token")


def parse_decode_qr(
    command: str, body: Body, transaction: str | None, _: Limits
) -> DecodeQrCommand:
    """decode_qr: the QR link or token, bare or as ``{"text": …}``. Never echoed in errors."""
    usage = 'decode_qr needs the QR link or token, as text or as {"text": "…"}'
    if body.kind == "object":
        data = check_fields(command, body.value, _QR_FIELDS)
        given = [name for name in _QR_FIELDS if data.get(name) is not None]
        if len(given) != 1 or not isinstance(data[given[0]], str):
            raise InvalidValueError(usage)
        text = str(data[given[0]])
    elif body.kind in ("text", "json") and isinstance(body.value, str):
        text = body.value
    else:
        raise InvalidValueError(usage)
    text = text.strip()
    if not text:
        raise InvalidValueError(usage)
    return DecodeQrCommand(text, transaction=transaction)
