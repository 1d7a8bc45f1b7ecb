"""MQTT requests: payload bytes in, typed commands or clear errors out; print options mapped.

Pure: no I/O, no MQTT. The service receives a request, calls :func:`parse_request`, performs the
API call(s) and publishes :func:`ok_envelope` or :func:`error_envelope`. A bad payload never
raises anything but :class:`CommandError`, whose message a person can act on.

Payload rules (the contract's "Commands" section): every command takes a JSON object; commands
without arguments take any payload (Home Assistant buttons send ``PRESS``); ``print`` and
``page_count`` also take a bare URL (Home Assistant text entities send the text as it is); any
JSON object may carry ``"transaction"``, echoed in the response, even an error response.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import math
import mimetypes
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from lianke_bridge import errors
from lianke_bridge.bridge import render
from lianke_bridge.cloud import models
from lianke_bridge.cloud.models import JobFile, PaperSize, Printer, PrinterParams, PrintRequest
from lianke_bridge.errors import CommandError
from lianke_bridge.print_options import (
    PRINT_OPTIONS,
    CustomPaper,
    Paper,
    PrintOptions,
    read_option,
    read_paper,
    readers,
)
from lianke_bridge.print_options.options import COLORS, DUPLEX, ORIENTATIONS
from lianke_bridge.print_options.readers import kind, show, size_text

# ---------------------------------------------------------------------------------------------
# Errors and the response envelope
# ---------------------------------------------------------------------------------------------


class ErrorCode(StrEnum):
    """The bridge's own error codes (the cloud's are its numbers)."""

    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_COMMAND = "unknown_command"
    UNKNOWN_PORT = "unknown_port"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    API_UNREACHABLE = "api_unreachable"
    API_ERROR = "api_error"
    """The cloud answered, but not with the API's JSON (an HTTP error page…)."""
    DUPLICATE = "duplicate"
    INTERNAL_ERROR = "internal_error"


def ok_envelope(data: Mapping[str, Any] | None, transaction: str | None) -> dict[str, Any]:
    """``{"status": "ok", "data": {...}, "transaction": ...}``."""
    return {"status": "ok", "data": dict(data or {}), "transaction": transaction}


def error_envelope(err: BaseException, transaction: str | None = None) -> dict[str, Any]:
    """``{"status": "error", "error": {code, message, api_message}, "transaction": ...}``.

    Takes a :class:`CommandError`, any cloud error (see :func:`to_command_error`) or, as a last
    resort, any exception. Without ``transaction``, the one a :class:`CommandError` carries.
    """
    error = to_command_error(err)
    if transaction is None:
        transaction = error.transaction
    return {"status": "error", "error": error.to_json(), "transaction": transaction}


def to_command_error(err: BaseException) -> CommandError:  # noqa: PLR0911 - one return per error kind
    """Map an exception to the envelope's code and message.

    Cloud answers keep their numeric code (10009 too many requests stays 10009: ``rate_limited``
    is only for the bridge's own limiter); timeouts are ``timeout``; an unreachable cloud is
    ``api_unreachable``; an answer that is not the API's JSON is ``api_error``. Anything else is
    ``internal_error`` without details (they are in the bridge's log, not on MQTT).
    """
    if isinstance(err, CommandError):
        return err
    if isinstance(err, errors.CloudApiError):
        return CommandError(err.code, err.message, api_message=err.api_message)
    if isinstance(err, errors.CloudTimeoutError | TimeoutError):
        text = err.message if isinstance(err, errors.CloudError) else "no answer in time"
        return CommandError(ErrorCode.TIMEOUT, f"the cloud did not answer in time ({text})")
    if isinstance(err, errors.CloudConnectionError):
        return CommandError(
            ErrorCode.API_UNREACHABLE, f"the cloud could not be reached ({err.message})"
        )
    if isinstance(err, errors.CloudResponseError):
        status = f" (HTTP {err.http_status})" if err.http_status else ""
        return CommandError(ErrorCode.API_ERROR, f"unexpected answer from the cloud{status}: {err}")
    if isinstance(err, errors.CredentialsError):
        return CommandError(ErrorCode.INVALID_PAYLOAD, str(err))
    if isinstance(err, errors.LiankeError):
        return CommandError(ErrorCode.INTERNAL_ERROR, str(err))
    return CommandError(
        ErrorCode.INTERNAL_ERROR,
        f"the bridge failed to handle the request ({type(err).__name__}); see its log",
    )


def unknown_port_error(
    port: int, known: Sequence[int], *, device: str, transaction: str | None = None
) -> CommandError:
    """``unknown_port``, naming the ports the box has."""
    ports = ", ".join(str(p) for p in sorted(known)) or "none (no printer found yet)"
    return CommandError(
        ErrorCode.UNKNOWN_PORT,
        f"{device} has no printer on port {port}; its printers are on: {ports}",
        transaction=transaction,
    )


def rate_limited_error(
    retry_after: float | None = None, *, transaction: str | None = None
) -> CommandError:
    """``rate_limited``: the bridge's own limiter refused the request (not the cloud's 10009)."""
    hint = f"; try again in {math.ceil(retry_after)} s" if retry_after else "; try again shortly"
    return CommandError(
        ErrorCode.RATE_LIMITED,
        f"too many requests: the bridge is pacing calls to the cloud{hint}",
        transaction=transaction,
    )


def duplicate_error(transaction: str) -> CommandError:
    """``duplicate``: the transaction was handled in the last minutes (a QoS 1 redelivery)."""
    return CommandError(
        ErrorCode.DUPLICATE,
        f"transaction {show(transaction)} was already handled; it is not repeated",
        transaction=transaction,
    )


# ---------------------------------------------------------------------------------------------
# Limits and vocabularies
# ---------------------------------------------------------------------------------------------

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
"""The cloud's limit for one document."""


def payload_limit(max_file_bytes: int) -> int:
    """The largest request payload: a base64 file of ``max_file_bytes`` plus the other fields."""
    return max_file_bytes * 4 // 3 + 64 * 1024


DEFAULT_MAX_PAYLOAD_BYTES = payload_limit(DEFAULT_MAX_FILE_BYTES)
MAX_URLS = 20
DEFAULT_PAPER_SIZE = 9
"""A4: dmPaperSize when neither the request nor the printer's defaults name a paper."""
DEFAULT_SCALE = "fit"
"""jpScale when the request does not say: the reference's recommended scaling."""
MAX_TEXT_FIELD = 200
"""Longest task id, model name, query, filename or title accepted."""

DEVICE_COMMANDS = frozenset(
    {
        "print",
        "cancel",
        "flush",
        "reboot",
        "reset_error_limit",
        "refresh",
        "refresh_network_printers",
        "job",
        "tasks",
        "printer_params",
        "paper_sizes",
        "page_count",
    }
)
BRIDGE_COMMANDS = frozenset({"republish", "health_check", "printer_models", "decode_qr", "refresh"})
NO_ARG_COMMANDS = frozenset(
    {"reboot", "refresh", "refresh_network_printers", "tasks", "republish", "health_check"}
)

STANDARD_PAPERS: Mapping[str, int] = {
    "letter": 1,
    "legal": 5,
    "executive": 7,
    "a3": 8,
    "a4": 9,
    "a5": 11,
    "b4": 12,
    "b5": 13,
    "a6": 70,
}
"""Windows ``DMPAPER_*`` numbers, used only when the printer's own list is unknown."""
STANDARD_PAPER_NAMES = ("A3", "A4", "A5", "A6", "B4", "B5", "Letter", "Legal", "Executive")

_TASK_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_TRANSACTION_SNIFF = re.compile(rb'"transaction"\s*:\s*("(?:[^"\\]|\\.){0,1000}"|-?\d+(?:\.\d+)?)')
_SNIFF_WINDOW = 4096
"""Bytes at each end of an unreadable payload searched for its transaction."""


# ---------------------------------------------------------------------------------------------
# Typed requests
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A parsed request; ``transaction`` is the requester's, echoed in the response."""

    COMMAND: ClassVar[str] = ""
    transaction: str | None = field(default=None, kw_only=True)

    @property
    def command(self) -> str:
        """The command's name as in the request topic."""
        return self.COMMAND


@dataclass(frozen=True)
class NoArgCommand(Request):
    """reboot, refresh, refresh_network_printers, tasks, republish, health_check."""

    name: str

    @property
    def command(self) -> str:
        """The command's name as in the request topic."""
        return self.name


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


@dataclass(frozen=True)
class CancelCommand(Request):
    """``cancel``: revoke a task."""

    COMMAND: ClassVar[str] = "cancel"
    task_id: str
    port: int | None = None


@dataclass(frozen=True)
class JobCommand(Request):
    """``job``: a task's state and result."""

    COMMAND: ClassVar[str] = "job"
    task_id: str
    port: int | None = None


@dataclass(frozen=True)
class FlushCommand(Request):
    """``flush``: drop queued jobs of one port, or of every port (``port`` None)."""

    COMMAND: ClassVar[str] = "flush"
    port: int | None = None


@dataclass(frozen=True)
class ResetErrorLimitCommand(Request):
    """``reset_error_limit``: lift the 11203 pause of one port, or of every port."""

    COMMAND: ClassVar[str] = "reset_error_limit"
    port: int | None = None


@dataclass(frozen=True)
class PortOrModelCommand(Request):
    """``printer_params`` / ``paper_sizes``: for a port's printer, a model, or the default port."""

    name: Literal["printer_params", "paper_sizes"]
    port: int | None = None
    model: str | None = None

    @property
    def command(self) -> str:
        """The command's name as in the request topic."""
        return self.name


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
class PrinterModelsCommand(Request):
    """``printer_models``: the cloud's supported models, searched or whole."""

    COMMAND: ClassVar[str] = "printer_models"
    query: str | None = None


@dataclass(frozen=True)
class DecodeQrCommand(Request):
    """``decode_qr``: a box's QR link or token (contains the device key: never echo it)."""

    COMMAND: ClassVar[str] = "decode_qr"
    text: str = field(repr=False)


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


_Invalid = errors.InvalidValueError
"""A payload problem, worded for the requester; becomes ``CommandError(invalid_payload)``."""


@dataclass(frozen=True)
class _Body:
    """A payload, decoded as far as it goes."""

    kind: Literal["object", "json", "text", "empty", "binary"]
    value: Any = None
    json_error: str | None = None


@dataclass(frozen=True)
class _Limits:
    max_file_bytes: int


def parse_request(
    command: str,
    payload: bytes,
    *,
    scope: Literal["device", "bridge"],
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Request:
    """Turn a request topic's last level and its payload into a typed request.

    Raises :class:`CommandError` only: ``unknown_command`` naming the valid ones, or
    ``invalid_payload`` naming the field and what it takes; the error carries the
    transaction whenever the payload lets it be read.
    """
    valid = DEVICE_COMMANDS if scope == "device" else BRIDGE_COMMANDS
    if command not in valid:
        raise CommandError(
            ErrorCode.UNKNOWN_COMMAND,
            _unknown_command_message(command, valid, scope),
            transaction=_sniff_transaction(payload),
        )
    if len(payload) > max_bytes:
        raise CommandError(
            ErrorCode.INVALID_PAYLOAD,
            f"the payload is {size_text(len(payload))}, "
            f"more than the limit of {size_text(max_bytes)}"
            + ("; send large documents as a URL" if command in ("print", "page_count") else ""),
            transaction=_sniff_transaction(payload),
        )
    body = _decode(payload)
    transaction: str | None = None
    try:
        if body.kind == "object":
            transaction = _transaction(body.value)
        elif body.kind != "json":
            transaction = _sniff_transaction(payload)
        if body.kind in ("object", "json"):
            _refuse_surrogates(body.value)
        return _PARSERS[command](command, body, transaction, _Limits(max_file_bytes))
    except _Invalid as err:
        raise CommandError(ErrorCode.INVALID_PAYLOAD, str(err), transaction=transaction) from None


def _unknown_command_message(command: str, valid: frozenset[str], scope: str) -> str:
    where = "the bridge" if scope == "bridge" else "a device"
    message = f"unknown command {show(command)}"
    close = difflib.get_close_matches(command, sorted(valid), n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    other = BRIDGE_COMMANDS if scope == "device" else DEVICE_COMMANDS
    if command in other - valid:
        message += f"; it is a {'bridge' if scope == 'device' else 'device'} command"
    return f"{message}; commands of {where}: {', '.join(sorted(valid))}"


def _decode(payload: bytes) -> _Body:
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _Body("binary")
    if not text.strip():
        return _Body("empty", "")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
        return _Body("text", text.strip(), json_error=reason)
    if isinstance(value, dict):
        return _Body("object", value)
    return _Body("json", value)


def _refuse_surrogates(value: object) -> None:
    """Refuse a lone surrogate (U+D800 from a JSON escape): it is no text the cloud takes.

    The top-level transaction is exempt: it is only echoed, and the answer escapes it again.
    Walks without recursion (a payload may be nested as deep as the JSON reader allows).
    """
    pending: list[tuple[object, str]] = [(value, "")]
    if isinstance(value, Mapping):
        pending = [(item, str(key)) for key, item in value.items() if key != "transaction"]
        pending += [(key, "a field name") for key in value]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if not _is_text(item):
                label = where if where == "a field name" else f"field {show(where)}"
                raise _Invalid(
                    f"{label if where else 'the payload'} holds a lone surrogate "
                    "(like \\ud800), which is not text"
                )
        elif isinstance(item, Mapping):
            pending += [(key, "a field name") for key in item]
            pending += [(child, where) for child in item.values()]
        elif isinstance(item, list):
            pending += [(child, where) for child in item]


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _transaction(data: Mapping[str, Any]) -> str | None:
    value = data.get("transaction")
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise _Invalid("transaction must be a string (or a number); got " + kind(value))


def peek_transaction(payload: bytes) -> str | None:
    """The transaction of any payload, as far as it can be read (never raises).

    For answering errors that happen before or outside :func:`parse_request`.
    """
    body = _decode(payload) if len(payload) <= DEFAULT_MAX_PAYLOAD_BYTES else _Body("binary")
    if body.kind == "object":
        try:
            return _transaction(body.value)
        except _Invalid:
            return None
    if body.kind == "json":
        return None
    return _sniff_transaction(payload)


def _sniff_transaction(payload: bytes) -> str | None:
    """Best effort: the transaction of a payload that cannot be parsed as a whole."""
    windows = (payload[:_SNIFF_WINDOW], payload[-_SNIFF_WINDOW:])
    for window in windows:
        match = _TRANSACTION_SNIFF.search(window)
        if match is None:
            continue
        try:
            value = json.loads(match.group(1).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        return value if isinstance(value, str) else json.dumps(value)
    return None


Parser = Callable[[str, _Body, str | None, _Limits], Request]


def _parse_no_arg(command: str, body: _Body, transaction: str | None, _: _Limits) -> Request:
    if body.kind == "object":
        _check_fields(command, body.value, ())
    return NoArgCommand(command, transaction=transaction)


def _parse_port_only(command: str, body: _Body, transaction: str | None, _: _Limits) -> Request:
    """Flush or reset_error_limit: ``{"port": 2}``, a bare port, or anything (every port)."""
    port: int | None = None
    if body.kind == "object":
        data = _check_fields(command, body.value, ("port",))
        port = readers.port(data.get("port"))
    else:
        port = _bare_port(body)
    if command == "flush":
        return FlushCommand(port, transaction=transaction)
    return ResetErrorLimitCommand(port, transaction=transaction)


def _parse_port_or_model(command: str, body: _Body, transaction: str | None, _: _Limits) -> Request:
    """printer_params / paper_sizes: ``{"port": 2}``, ``{"model": "…"}``, a bare port or model."""
    port: int | None = None
    model: str | None = None
    if body.kind == "object":
        data = _check_fields(command, body.value, ("port", "model"))
        port = readers.port(data.get("port"))
        model = readers.text("model", data.get("model"), max_len=MAX_TEXT_FIELD)
        if port is not None and model is not None:
            raise _Invalid("give port or model, not both")
    else:
        port = _bare_port(body)
        if port is None and body.kind in ("text", "json") and isinstance(body.value, str):
            model = body.value.strip()[:MAX_TEXT_FIELD] or None
    name: Literal["printer_params", "paper_sizes"] = (
        "printer_params" if command == "printer_params" else "paper_sizes"
    )
    return PortOrModelCommand(name, port, model, transaction=transaction)


def _parse_task(command: str, body: _Body, transaction: str | None, _: _Limits) -> Request:
    """Cancel or job: ``{"task_id": "…", "port": 1}``."""
    data = _require_object(command, body, example='{"task_id": "581decf2-…"}')
    data = _check_fields(command, data, ("task_id", "port"))
    task_id = readers.text("task_id", data.get("task_id"), max_len=MAX_TEXT_FIELD)
    if task_id is None:
        raise _Invalid(f"{command} needs task_id: the task id a print response returned")
    if not _TASK_ID.match(task_id):
        raise _Invalid(
            f"task_id {show(task_id)} is not a task id (letters, digits, '-', '_', '.', ':')"
        )
    port = readers.port(data.get("port"))
    if command == "cancel":
        return CancelCommand(task_id, port, transaction=transaction)
    return JobCommand(task_id, port, transaction=transaction)


_PRINT_SOURCES = ("url", "file", "text", "html")
_PRINT_FIELDS = (*_PRINT_SOURCES, "filename", "title", "port", *PRINT_OPTIONS)


def _parse_print(command: str, body: _Body, transaction: str | None, limits: _Limits) -> Request:
    """print: a JSON object, or a bare URL."""
    if body.kind != "object":
        url = _bare_url(command, body)
        return PrintCommand(urls=(url,), from_text_entity=True, transaction=transaction)
    data = _check_fields(command, body.value, _PRINT_FIELDS)
    sources = [name for name in _PRINT_SOURCES if data.get(name) is not None]
    if len(sources) != 1:
        found = f"; got {', '.join(sources)}" if sources else ""
        raise _Invalid(f"print needs exactly one of url, file (with filename), text or html{found}")
    settings = PrintOptions.parse(data)
    urls: tuple[str, ...] = ()
    file: JobFile | None = None
    text = html = None
    if sources[0] == "url":
        urls = _urls(data["url"])
    elif sources[0] == "file":
        file = _file(data, limits, settings.file_ext)
    elif sources[0] == "text":
        text = _document_text(data, "text")
    else:
        html = _document_text(data, "html")
    title = readers.text("title", data.get("title"), max_len=MAX_TEXT_FIELD)
    if title is not None and sources[0] in ("url", "file"):
        raise _Invalid("title only applies to text or html")
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


def _parse_page_count(
    command: str, body: _Body, transaction: str | None, limits: _Limits
) -> Request:
    """page_count: one URL or one file, optional port and paper."""
    if body.kind != "object":
        return PageCountCommand(urls=(_bare_url(command, body),), transaction=transaction)
    data = _check_fields(
        command, body.value, ("url", "file", "filename", "port", "paper", "file_ext")
    )
    has_url = data.get("url") is not None
    if has_url == (data.get("file") is not None):
        raise _Invalid("page_count needs exactly one of url or file (with filename)")
    file_ext = read_option("file_ext", data.get("file_ext"))
    urls: tuple[str, ...] = ()
    file: JobFile | None = None
    if has_url:
        urls = _urls(data["url"])
        if len(urls) != 1:
            raise _Invalid(f"page_count counts one document; got {len(urls)} URLs")
    else:
        file = _file(data, limits, file_ext)
    return PageCountCommand(
        urls=urls,
        file=file,
        port=readers.port(data.get("port")),
        paper=read_paper(data.get("paper")),
        file_ext=file_ext,
        transaction=transaction,
    )


def _parse_printer_models(
    command: str, body: _Body, transaction: str | None, _: _Limits
) -> Request:
    """printer_models: ``{"query": "HP 1020"}``, the query as bare text, or nothing (all)."""
    query: str | None
    if body.kind == "object":
        data = _check_fields(command, body.value, ("query",))
        query = readers.text("query", data.get("query"), max_len=MAX_TEXT_FIELD)
    elif body.kind in ("text", "json") and isinstance(body.value, str):
        query = body.value
    elif body.kind == "empty":
        query = None
    else:
        raise _Invalid('printer_models takes {"query": "HP 1020"}, the query as text, or nothing')
    if query is not None:
        query = query.strip()
        if len(query) > MAX_TEXT_FIELD:
            raise _Invalid(f"query is longer than {MAX_TEXT_FIELD} characters")
    return PrinterModelsCommand(query or None, transaction=transaction)


_QR_FIELDS = ("text", "link", "token")


def _parse_decode_qr(command: str, body: _Body, transaction: str | None, _: _Limits) -> Request:
    """decode_qr: the QR link or token, bare or as ``{"text": …}``. Never echoed in errors."""
    usage = 'decode_qr needs the QR link or token, as text or as {"text": "…"}'
    if body.kind == "object":
        data = _check_fields(command, body.value, _QR_FIELDS)
        given = [name for name in _QR_FIELDS if data.get(name) is not None]
        if len(given) != 1 or not isinstance(data[given[0]], str):
            raise _Invalid(usage)
        text = str(data[given[0]])
    elif body.kind in ("text", "json") and isinstance(body.value, str):
        text = body.value
    else:
        raise _Invalid(usage)
    text = text.strip()
    if not text:
        raise _Invalid(usage)
    return DecodeQrCommand(text, transaction=transaction)


_PARSERS: dict[str, Parser] = {
    **dict.fromkeys(NO_ARG_COMMANDS, _parse_no_arg),
    "flush": _parse_port_only,
    "reset_error_limit": _parse_port_only,
    "printer_params": _parse_port_or_model,
    "paper_sizes": _parse_port_or_model,
    "cancel": _parse_task,
    "job": _parse_task,
    "print": _parse_print,
    "page_count": _parse_page_count,
    "printer_models": _parse_printer_models,
    "decode_qr": _parse_decode_qr,
}


# ---------------------------------------------------------------------------------------------
# Field readers
# ---------------------------------------------------------------------------------------------


def _check_fields(command: str, data: Mapping[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    """Refuse unknown fields (a typo like ``copy`` must not silently print one copy)."""
    known = (*allowed, "transaction")
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            takes = ", ".join(allowed) if allowed else "no fields"
            raise _Invalid(
                f"unknown field {show(key)}{hint}; {command} takes {takes} (and transaction)"
            )
    return dict(data)


def _require_object(command: str, body: _Body, *, example: str) -> dict[str, Any]:
    if body.kind == "object":
        return dict(body.value)
    if body.kind == "text":
        got = f"the payload is not valid JSON ({body.json_error})"
    elif body.kind == "json":
        got = f"got {kind(body.value)}"
    elif body.kind == "empty":
        got = "the payload is empty"
    else:
        got = "the payload is not UTF-8 text"
    raise _Invalid(f"{command} needs a JSON object like {example}; {got}")


def _bare_port(body: _Body) -> int | None:
    """A bare payload that is a port number (``2``); anything else means no port."""
    number = readers.whole_number(body.value) if body.kind in ("json", "text") else None
    if number is None:
        if isinstance(body.value, str) and body.value.strip().isdecimal():  # digits, not 0-9
            return readers.port(body.value)  # refused, naming the value
        return None
    return readers.port(number)


def _urls(value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(u, str) for u in items):
        raise _Invalid(f"url must be a string or a list of strings; got {kind(value)}")
    if not items:
        raise _Invalid("url is an empty list; give at least one URL")
    if len(items) > MAX_URLS:
        raise _Invalid(f"url lists {len(items)} URLs; at most {MAX_URLS} per job")
    return tuple(_check_url(u) for u in items)


def _check_url(url: str) -> str:
    url = url.strip()
    if not url:
        raise _Invalid("url is empty")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):  # noqa: PLR2004 - control characters
        raise _Invalid(
            f"url {show(url)} contains spaces or line breaks; encode them (%20) or send a list"
        )
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _Invalid(f"url {show(url)} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"scheme {show(parts.scheme)}" if parts.scheme else "no scheme"
        raise _Invalid(
            f"url {show(url)} has {scheme}; only http:// and https:// links can be printed"
        )
    if not parts.hostname:
        raise _Invalid(f"url {show(url)} has no host name")
    return url


def _bare_url(command: str, body: _Body) -> str:
    """The bare-URL form of print / page_count."""
    usage = f"{command} takes a URL, or a JSON object with url, file (with filename)" + (
        ", text or html" if command == "print" else ""
    )
    if body.kind in ("text", "json") and isinstance(body.value, str):
        text = body.value.strip()
        if "://" not in text:
            raise _Invalid(f"{usage}; the payload is neither JSON nor a link ({show(text)})")
        return _check_url(text)
    if body.kind == "empty":
        raise _Invalid(f"{usage}; the payload is empty")
    if body.kind == "binary":
        raise _Invalid(f"{usage}; the payload is not UTF-8 text")
    raise _Invalid(f"{usage}; got {kind(body.value)}")


def _document_text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise _Invalid(f"{key} must be a string; got {kind(value)}")
    if not value.strip():
        raise _Invalid(f"{key} is empty; there is nothing to print")
    return value


def _file(data: Mapping[str, Any], limits: _Limits, file_ext: str | None) -> JobFile:
    encoded = data["file"]
    if not isinstance(encoded, str):
        raise _Invalid(f"file must be a base64 string; got {kind(encoded)}")
    filename = _filename(data, file_ext)
    if encoded.startswith("data:") and "," in encoded:  # a data: URL
        encoded = encoded.split(",", 1)[1]
    compact = "".join(encoded.split())
    estimate = len(compact) * 3 // 4 - compact[-2:].count("=")
    if estimate > limits.max_file_bytes:
        raise _Invalid(
            f"file is {size_text(estimate)}, "
            f"more than the limit of {size_text(limits.max_file_bytes)}; "
            "send large documents as a URL"
        )
    bad_base64 = "file is not valid base64 (standard alphabet A-Z a-z 0-9 + /, '=' padding)"
    if len(compact) % 4 or not _BASE64.match(compact):  # b64decode forgives stray padding
        raise _Invalid(bad_base64)
    try:
        content = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise _Invalid(bad_base64) from None
    if not content:
        raise _Invalid("file is empty")
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return JobFile(filename=filename, content=content, content_type=content_type)


def _filename(data: Mapping[str, Any], file_ext: str | None) -> str:
    name = readers.text("filename", data.get("filename"), max_len=MAX_TEXT_FIELD)
    if name is None:
        raise _Invalid(
            "file needs filename (like 'report.pdf'): its extension tells the cloud the type"
        )
    if any(ord(ch) < 0x20 for ch in name):  # noqa: PLR2004 - control characters
        raise _Invalid("filename contains control characters")
    base = PurePosixPath(name.replace("\\", "/")).name
    if not base or base in (".", ".."):
        raise _Invalid(f"filename {show(name)} has no file name")
    path = PurePosixPath(base)
    if file_ext is not None:
        return path.stem + file_ext if path.suffix else base + file_ext
    if not path.suffix:
        raise _Invalid(
            f"filename {show(base)} has no extension; name it like 'report.pdf' or give file_ext"
        )
    return base


# ---------------------------------------------------------------------------------------------
# Print requests for the cloud
# ---------------------------------------------------------------------------------------------

TEXT_FILENAME = "text.html"


def build_print_request(
    cmd: PrintCommand,
    *,
    port: int,
    printer: Printer | None,
    params: PrinterParams | None,
    paper_sizes: Sequence[PaperSize] = (),
    defaults: PrintOptions | None = None,
) -> PrintRequest:
    """The ``POST /api/print/job`` request for a print command on ``port``.

    ``defaults`` are the port's configured print options (same words as a request), applied
    where the request says nothing. Words become the API's numbers; a paper name is looked up in
    the printer's own list; what the printer's ``params`` do not offer is refused with the
    allowed values named. Without ``params`` (unknown model) only the words are checked.
    Raises :class:`CommandError` (``invalid_payload``), carrying the command's transaction.
    """
    try:
        merged = cmd.options.merged_over(defaults or PrintOptions())
        return _build(cmd, merged, port=port, printer=printer, params=params, sizes=paper_sizes)
    except _Invalid as err:
        raise CommandError(
            ErrorCode.INVALID_PAYLOAD, str(err), transaction=cmd.transaction
        ) from None


def _build(
    cmd: PrintCommand,
    opts: PrintOptions,
    *,
    port: int,
    printer: Printer | None,
    params: PrinterParams | None,
    sizes: Sequence[PaperSize],
) -> PrintRequest:
    who = _printer_label(printer, params)
    copies = opts.copies
    max_copies = params.max_copies if params is not None else None
    if copies is not None and max_copies and copies > max_copies:
        raise _Invalid(f"copies {copies} is more than {who} allows (at most {max_copies})")
    paper = _resolve_paper(opts.paper, params=params, sizes=sizes, who=who)
    file = cmd.file
    if cmd.text is not None or cmd.html is not None:
        page = render.render_page(text=cmd.text, html=cmd.html, title=cmd.title)
        file = JobFile(TEXT_FILENAME, page, "text/html")
    target_ip = None
    if printer is not None and printer.is_network and printer.ip_addr:
        target_ip = printer.ip_addr
    # dmPaperSize and the scale are required by the API (必填): the printer's own default
    # paper (DevMode) or A4, and "fit", the reference's recommended scaling.
    default_paper = params.default_paper if params is not None else None
    return PrintRequest(
        port=printer.device_port if printer is not None else port,
        urls=cmd.urls,
        file=file,
        url_file_ext=_url_file_ext(cmd.urls, opts.file_ext) if cmd.urls else None,
        printer_model=(printer.model or None) if printer is not None else None,
        paper_size=paper[0] if paper else (default_paper or DEFAULT_PAPER_SIZE),
        paper_width=paper[1] if paper else None,
        paper_length=paper[2] if paper else None,
        orientation=_capability(
            opts.orientation,
            "orientation",
            ORIENTATIONS,
            params.orientations if params else None,
            who,
        ),
        copies=copies,
        color=_capability(opts.color, "color", COLORS, params.colors if params else None, who),
        duplex=_capability(opts.duplex, "duplex", DUPLEX, params.duplex if params else None, who),
        scale=opts.scale or DEFAULT_SCALE,
        auto_align=opts.align,
        page_range=opts.pages,
        auto_rotate=opts.auto_rotate,
        pdf_rev=opts.reverse,
        target_ip=target_ip,
        extra=dict(opts.api_fields),
    )


def _url_file_ext(urls: Sequence[str], file_ext: str | None) -> str:
    """``urlFileExt``, required with links: never a guess.

    ``file_ext`` (the request's, then the port's default), else the type the links' paths end in.
    """
    supported = ", ".join(models.SUPPORTED_FILE_EXTS)
    if file_ext is not None:
        if not models.is_supported_file_ext(file_ext):
            raise _Invalid(
                f"file_ext {show(file_ext)} is not a type the cloud prints; one of {supported}"
            )
        return models.normalise_file_ext(file_ext)
    found = models.urls_file_ext(urls)
    if found is not None:
        return found
    types = sorted({ext for ext in map(models.url_path_ext, urls) if ext})
    if len(types) > 1:
        raise _Invalid(
            f"the links are of different types ({', '.join(types)}) but a job takes one "
            "file_ext: send them as separate jobs, or give file_ext"
        )
    raise _Invalid(
        "cannot tell the document type from the link (its path does not end in a supported "
        f"extension); give file_ext, one of {supported}"
    )


def build_page_count_request(
    cmd: PageCountCommand,
    *,
    port: int,
    printer: Printer | None,
    params: PrinterParams | None,
    paper_sizes: Sequence[PaperSize] = (),
) -> PrintRequest:
    """What ``file_pages`` needs, as a :class:`PrintRequest`: the document, port, model, paper.

    Use ``urls``, ``file``, ``port``, ``printer_model``, ``paper_size`` and ``url_file_ext``.
    """
    try:
        who = _printer_label(printer, params)
        paper = _resolve_paper(cmd.paper, params=params, sizes=paper_sizes, who=who)
    except _Invalid as err:
        raise CommandError(
            ErrorCode.INVALID_PAYLOAD, str(err), transaction=cmd.transaction
        ) from None
    return PrintRequest(
        port=printer.device_port if printer is not None else port,
        urls=cmd.urls,
        file=cmd.file,
        url_file_ext=(cmd.file_ext or models.urls_file_ext(cmd.urls)) if cmd.urls else None,
        printer_model=(printer.model or None) if printer is not None else None,
        paper_size=paper[0] if paper else None,
        paper_width=paper[1] if paper else None,
        paper_length=paper[2] if paper else None,
    )


def _printer_label(printer: Printer | None, params: PrinterParams | None) -> str:
    if printer is not None and printer.name:
        return printer.name
    if params is not None and params.model:
        return params.model
    return "this printer"


def _capability(
    word: str | None,
    key: str,
    numbers: Mapping[str, int],
    offered: Mapping[str, int] | None,
    who: str,
) -> int | None:
    """A word's API number, refused when the printer's capability table lacks it."""
    if word is None:
        return None
    number = numbers[word]
    if not offered or number in offered.values() or (key == "duplex" and word == "off"):
        return number
    allowed = [name for name, value in numbers.items() if value in offered.values()]
    raise _Invalid(f"{key} {word!r} is not offered by {who}; allowed: {', '.join(allowed)}")


def paper_key(name: str) -> str:
    """How paper names compare: case and whitespace ignored (``b5 (jis)`` = ``B5 (JIS)``)."""
    return "".join(name.split()).casefold()


def _resolve_paper(
    paper: Paper | None,
    *,
    params: PrinterParams | None,
    sizes: Sequence[PaperSize],
    who: str,
) -> tuple[int, int | None, int | None] | None:
    """``(dmPaperSize, width, length)``; width and length (0.1 mm) only for a custom size."""
    if paper is None:
        return None
    if isinstance(paper, CustomPaper):
        return 0, paper.width, paper.length
    offered: dict[str, int] = {}
    for name, number in (params.papers if params else {}).items():
        offered.setdefault(name.strip(), number)
    for size in sizes:
        offered.setdefault(size.name.strip(), size.paper_id)
    if isinstance(paper, int):
        if offered and paper not in offered.values():
            raise _Invalid(f"paper {paper} is not offered by {who}; allowed: {_papers(offered)}")
        return paper, None, None
    by_key = {paper_key(name): number for name, number in offered.items()}
    if paper_key(paper) in by_key:
        return by_key[paper_key(paper)], None, None
    if not offered and paper_key(paper) in STANDARD_PAPERS:
        return STANDARD_PAPERS[paper_key(paper)], None, None
    if offered:
        raise _Invalid(f"paper {show(paper)} is not offered by {who}; allowed: {_papers(offered)}")
    raise _Invalid(
        f"paper {show(paper)} is unknown and {who}'s paper list is not available; use "
        f"{', '.join(STANDARD_PAPER_NAMES)}, "
        'the API\'s paper number, or {"width_mm": …, "height_mm": …}'
    )


def _papers(offered: Mapping[str, int], limit: int = 40) -> str:
    names = list(offered)
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")
