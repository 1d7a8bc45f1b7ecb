"""A request's payload, decoded once: its body as far as it goes, and its transaction.

Payload rules (the contract's "Commands" section): every command takes a JSON object; commands
without arguments take any payload (Home Assistant buttons send ``PRESS``); ``print`` and
``page_count`` also take a bare URL (Home Assistant text entities send the text as it is); any
JSON object may carry ``"transaction"``, echoed in the response, even an error response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lianke_bridge.bridge.requests.model import DEFAULT_MAX_PAYLOAD_BYTES
from lianke_bridge.errors import InvalidValueError
from lianke_bridge.print_options.readers import kind, show

_TRANSACTION_SNIFF = re.compile(rb'"transaction"\s*:\s*("(?:[^"\\]|\\.){0,1000}"|-?\d+(?:\.\d+)?)')
_SNIFF_WINDOW = 4096
"""Bytes at each end of an unreadable payload searched for its transaction."""
MAX_VALUES = 10_000
"""JSON values (objects, lists, items) a large payload may hold outside its strings."""
COUNT_FROM = 64 * 1024
"""Smaller payloads are decoded without counting (they cannot grow much)."""
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{,]')
"""A JSON string (skipped whole) or a character that starts or separates values."""
TOO_MANY_VALUES = (
    f"the payload holds more than {MAX_VALUES:,} JSON values (objects, lists, items); "
    "a request has a few fields"
)


@dataclass(frozen=True)
class Body:
    """A payload, decoded as far as it goes."""

    kind: Literal["object", "json", "text", "empty", "binary"]
    value: Any = None
    json_error: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A request's payload as received: decoded once, here, and never again.

    ``body`` is None for a payload that is not decoded at all: over the size limit, or (the
    ``problem``) one that would grow in memory far beyond its size; ``transaction`` is read
    leniently (never raises) for answering any error, even one found before the payload is
    parsed. The payload itself is not kept: once decoded it is only memory (a document's base64
    is its largest part).
    """

    size: int
    body: Body | None
    transaction: str | None
    problem: str | None = None
    """Why a payload within the size limit was not decoded."""

    @classmethod
    def read(cls, payload: bytes, max_bytes: int) -> Incoming:
        """Decode a payload of at most ``max_bytes`` (a larger one is only sniffed).

        The payload is let go once its text is decoded: given straight from ``take_payload``,
        a document is then in memory twice at most while it is read (its text and its value),
        not three times.
        """
        size = len(payload)
        if size > max_bytes:
            return cls(size, None, sniff_transaction(payload))
        if too_many_values(payload):
            return cls(size, None, sniff_transaction(payload), TOO_MANY_VALUES)
        ends = _sniff_windows(payload)
        owned = [payload]
        del payload
        body = _decode(owned)
        transaction: str | None
        if body.kind == "object":
            try:
                transaction = read_transaction(body.value)
            except InvalidValueError:
                transaction = None
        elif body.kind == "json":
            transaction = None
        else:
            transaction = _sniff(ends)
        return cls(size, body, transaction)

    def checked_transaction(self) -> str | None:
        """The transaction, strictly: a JSON object's must be a string or a number.

        Raises :class:`InvalidValueError` for any other type.
        """
        if self.body is not None and self.body.kind == "object":
            return read_transaction(self.body.value)
        if self.body is not None and self.body.kind == "json":
            return None
        return self.transaction


def too_many_values(payload: bytes) -> bool:
    """Whether a large payload holds more than ``MAX_VALUES`` JSON values outside its strings.

    Decoded, each value costs 50-100 bytes: 5 MB of ``[],`` would take 100 MB. A document's
    base64 has no comma or bracket, so counting those (at memory speed) settles most payloads;
    only a payload with many of them (a CSV or HTML text) is scanned, its strings skipped whole.
    Values are at most one more than the commas and brackets: every other one follows a comma.
    """
    if len(payload) < COUNT_FROM:
        return False
    if sum(payload.count(mark) for mark in (b",", b"[", b"{")) <= MAX_VALUES:
        return False
    count = 0
    for match in _STRUCTURE.finditer(payload):
        if match.end() - match.start() == 1:  # a bracket or a comma; a string is 2 or more
            count += 1
            if count > MAX_VALUES:
                return True
    return False


def decode(payload: bytes) -> Body:
    """Decode as far as the payload goes: a JSON object or other JSON value, text, binary."""
    return _decode([payload])


def _decode(owned: list[bytes]) -> Body:
    """``decode``, taking the payload out of ``owned``: its bytes are freed once it is text.

    (A list hands the only reference over: a parameter would keep the bytes until the end.)
    """
    payload = owned.pop()
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Body("binary")
    del payload
    if not text or text.isspace():  # (not strip(): it copies a text that ends in a newline)
        return Body("empty", "")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
        return Body("text", text.strip(), json_error=reason)
    if isinstance(value, dict):
        return Body("object", value)
    return Body("json", value)


def refuse_surrogates(value: object) -> None:
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
                raise InvalidValueError(
                    f"{label if where else 'the payload'} holds a lone surrogate "
                    "(like \\ud800), which is not text"
                )
        elif isinstance(item, Mapping):
            pending += [(key, "a field name") for key in item]
            pending += [(child, where) for child in item.values()]
        elif isinstance(item, list):
            pending += [(child, where) for child in item]


def _is_text(value: str) -> bool:
    """Whether a string is encodable as UTF-8 (no lone surrogates).

    ASCII is known at once (a document's base64 is: encoding it would copy it).
    """
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_transaction(data: Mapping[str, Any]) -> str | None:
    """A JSON object's transaction: a string, or a number or boolean read as text."""
    value = data.get("transaction")
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise InvalidValueError("transaction must be a string (or a number); got " + kind(value))


def sniff_transaction(payload: bytes) -> str | None:
    """Best effort: the transaction of a payload that cannot be parsed as a whole."""
    return _sniff(_sniff_windows(payload))


def _sniff_windows(payload: bytes) -> tuple[bytes, bytes]:
    """The two ends of a payload where a transaction is searched for."""
    return payload[:_SNIFF_WINDOW], payload[-_SNIFF_WINDOW:]


def _sniff(windows: tuple[bytes, bytes]) -> str | None:
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


def peek_transaction(payload: bytes) -> str | None:
    """The transaction of any payload, as far as it can be read (never raises)."""
    return Incoming.read(payload, DEFAULT_MAX_PAYLOAD_BYTES).transaction
