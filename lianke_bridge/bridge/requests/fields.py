"""Readers of a request payload's fields, and the parsers several commands share.

Known fields only, ports, task ids, links, documents and files. Each raises
:class:`InvalidValueError` with a message a person can act on; the registry turns it into
``invalid_payload``. Values are echoed cut short.
"""

from __future__ import annotations

import binascii
import mimetypes
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any, TypeVar

from lianke_bridge.bridge.requests.links import canonical_link
from lianke_bridge.bridge.requests.model import (
    MAX_TEXT_FIELD,
    MAX_URLS,
    Limits,
    NoArgCommand,
    PortOrModelCommand,
)
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.cloud.models import JobFile
from lianke_bridge.errors import InvalidValueError
from lianke_bridge.print_options import readers
from lianke_bridge.print_options.readers import kind, show, size_text
from lianke_bridge.suggest import closest

N = TypeVar("N", bound=NoArgCommand)
P = TypeVar("P", bound=PortOrModelCommand)

_TASK_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_ASCII_SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
"""What ``str.split()`` takes for whitespace in ASCII (beyond ASCII, anything is compacted)."""


def check_fields(command: str, data: Mapping[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    """Refuse unknown fields (a typo like ``copy`` must not silently print one copy)."""
    known = (*allowed, "transaction")
    for key in data:
        if key not in known:
            close = closest(str(key), known)
            hint = f" (did you mean {close!r}?)" if close else ""
            takes = ", ".join(allowed) if allowed else "no fields"
            raise InvalidValueError(
                f"unknown field {show(key)}{hint}; {command} takes {takes} (and transaction)"
            )
    return dict(data)


def require_object(command: str, body: Body, *, example: str) -> dict[str, Any]:
    """The payload's JSON object, or an error saying what came instead."""
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
    raise InvalidValueError(f"{command} needs a JSON object like {example}; {got}")


def bare_port(body: Body) -> int | None:
    """A bare payload that is a port number (``2``); anything else means no port."""
    number = readers.whole_number(body.value) if body.kind in ("json", "text") else None
    if number is None:
        if isinstance(body.value, str) and body.value.strip().isdecimal():  # digits, not 0-9
            return readers.port(body.value)  # refused, naming the value
        return None
    return readers.port(number)


def read_urls(value: object, limits: Limits) -> tuple[str, ...]:
    """``url``: one link or a list of at most :data:`MAX_URLS`, each checked."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(u, str) for u in items):
        raise InvalidValueError(f"url must be a string or a list of strings; got {kind(value)}")
    if not items:
        raise InvalidValueError("url is an empty list; give at least one URL")
    if len(items) > MAX_URLS:
        raise InvalidValueError(f"url lists {len(items)} URLs; at most {MAX_URLS} per job")
    return tuple(check_url(u, limits) for u in items)


def check_url(url: str, limits: Limits) -> str:
    """One http(s) link the cloud can fetch, as it is forwarded (see :mod:`.links`).

    Judged the way the cloud's fetcher will read it; with ``allowed_hosts`` configured, its host
    must be on that list. The link returned is rebuilt from the parts judged, never the string
    received.
    """
    return canonical_link(url, limits.allowed_hosts)


def bare_url(command: str, body: Body, limits: Limits) -> str:
    """The bare-URL form of print / page_count."""
    usage = f"{command} takes a URL, or a JSON object with url, file (with filename)" + (
        ", text or html" if command == "print" else ""
    )
    if body.kind in ("text", "json") and isinstance(body.value, str):
        text = body.value.strip()
        if "://" not in text:
            raise InvalidValueError(
                f"{usage}; the payload is neither JSON nor a link ({show(text)})"
            )
        return check_url(text, limits)
    if body.kind == "empty":
        raise InvalidValueError(f"{usage}; the payload is empty")
    if body.kind == "binary":
        raise InvalidValueError(f"{usage}; the payload is not UTF-8 text")
    raise InvalidValueError(f"{usage}; got {kind(body.value)}")


def document_text(data: Mapping[str, Any], key: str) -> str:
    """``text`` or ``html``: a non-empty string to print."""
    value = data[key]
    if not isinstance(value, str):
        raise InvalidValueError(f"{key} must be a string; got {kind(value)}")
    if not value.strip():
        raise InvalidValueError(f"{key} is empty; there is nothing to print")
    return value


def job_file(data: Mapping[str, Any], limits: Limits, file_ext: str | None) -> JobFile:
    """``file`` (base64, a data: URL too) with its ``filename``, within the size limit.

    Decoded straight from the JSON string, with no copy of it on the way (a document's base64
    is the largest thing a Pi holds for a request): only a data: URL's prefix or line breaks
    inside the base64 cost one copy.
    """
    encoded = data["file"]
    if not isinstance(encoded, str):
        raise InvalidValueError(f"file must be a base64 string; got {kind(encoded)}")
    filename = read_filename(data, file_ext)
    if encoded.startswith("data:") and "," in encoded:  # a data: URL
        encoded = encoded[encoded.index(",") + 1 :]
    if not encoded.isascii() or any(space in encoded for space in _ASCII_SPACES):
        encoded = "".join(encoded.split())  # line breaks (MIME wraps base64 at 76 characters)
    estimate = len(encoded) * 3 // 4 - encoded[-2:].count("=")
    if estimate > limits.max_file_bytes:
        raise InvalidValueError(
            f"file is {size_text(estimate)}, "
            f"more than the limit of {size_text(limits.max_file_bytes)}; "
            "send large documents as a URL"
        )
    bad_base64 = "file is not valid base64 (standard alphabet A-Z a-z 0-9 + /, '=' padding)"
    if len(encoded) % 4 or not _BASE64.match(encoded):  # b64decode forgives stray padding
        raise InvalidValueError(bad_base64)
    try:
        # binascii reads an ASCII str in place; base64.b64decode would encode a copy first
        content = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        raise InvalidValueError(bad_base64) from None
    if not content:
        raise InvalidValueError("file is empty")
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return JobFile(filename=filename, content=content, content_type=content_type)


def read_filename(data: Mapping[str, Any], file_ext: str | None) -> str:
    """A file's name without its path; ``file_ext`` replaces the extension."""
    name = readers.text("filename", data.get("filename"), max_len=MAX_TEXT_FIELD)
    if name is None:
        raise InvalidValueError(
            "file needs filename (like 'report.pdf'): its extension tells the cloud the type"
        )
    if any(ord(ch) < 0x20 for ch in name):  # noqa: PLR2004 - control characters
        raise InvalidValueError("filename contains control characters")
    base = PurePosixPath(name.replace("\\", "/")).name
    if not base or base in (".", ".."):
        raise InvalidValueError(f"filename {show(name)} has no file name")
    path = PurePosixPath(base)
    if file_ext is not None:
        return path.stem + file_ext if path.suffix else base + file_ext
    if not path.suffix:
        raise InvalidValueError(
            f"filename {show(base)} has no extension; name it like 'report.pdf' or give file_ext"
        )
    return base


# ---- parsers shared by several commands -----------------------------------------------------
def no_arg(
    request: type[N],
) -> Callable[[str, Body, str | None, Limits], N]:
    """The parser of a command without fields: any payload (a JSON object: a transaction only)."""

    def parse(command: str, body: Body, transaction: str | None, _: Limits) -> N:
        if body.kind == "object":
            check_fields(command, body.value, ())
        return request(transaction=transaction)

    return parse


def port_only(command: str, body: Body) -> int | None:
    """``{"port": 2}``, a bare port, or anything (every port)."""
    if body.kind == "object":
        data = check_fields(command, body.value, ("port",))
        return readers.port(data.get("port"))
    return bare_port(body)


def task(command: str, body: Body) -> tuple[str, int | None]:
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


def port_or_model(
    request: type[P],
) -> Callable[[str, Body, str | None, Limits], P]:
    """printer_params / paper_sizes: ``{"port": 2}``, ``{"model": "…"}``, a bare port or model."""

    def parse(command: str, body: Body, transaction: str | None, _: Limits) -> P:
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
        return request(port, model, transaction=transaction)

    return parse
