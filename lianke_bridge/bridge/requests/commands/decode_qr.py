"""``decode_qr`` (the bridge): the device id inside a box's QR link or token; the key stays in.

The QR text holds the box's device key: it is never echoed, in the answer or in an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from lianke_bridge.bridge.requests.command import BridgeCommand, CommandDoc
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import check_fields
from lianke_bridge.bridge.requests.model import Limits, Request
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.cloud.qr import parse_qr
from lianke_bridge.errors import InvalidValueError


@dataclass(frozen=True)
class DecodeQrCommand(Request):
    """``decode_qr``: a box's QR link or token (contains the device key: never echo it)."""

    COMMAND: ClassVar[str] = "decode_qr"
    text: str = field(repr=False)
    """The QR link or token, whichever field it came in."""


@dataclass(frozen=True)
class DecodeQrPayload:
    """The JSON form: the QR link or token in one of three fields."""

    SCHEMA_RULES: ClassVar[Mapping[str, Any]] = {
        "oneOf": [{"required": ["text"]}, {"required": ["link"]}, {"required": ["token"]}]
    }
    text: str | None = None
    """The QR code's text: a link or a token."""
    link: str | None = None
    """The same, named link."""
    token: str | None = None
    """The same, named token."""


@dataclass(frozen=True)
class DecodeQrData:
    """The answer: the box's device id (never its key)."""

    device_id: str
    """The box's device id, for the configuration's ``devices``."""


_FIELDS = tuple(f.name for f in fields(DecodeQrPayload))


def parse(command: str, body: Body, transaction: str | None, _: Limits) -> DecodeQrCommand:
    """decode_qr: the QR link or token, bare or as ``{"text": …}``. Never echoed in errors."""
    usage = 'decode_qr needs the QR link or token, as text or as {"text": "…"}'
    if body.kind == "object":
        data = check_fields(command, body.value, _FIELDS)
        given = [name for name in _FIELDS if data.get(name) is not None]
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


async def handle(_ctx: RequestContext, command: DecodeQrCommand) -> DecodeQrData:
    """The device id inside a QR link or token; the key is never echoed."""
    return DecodeQrData(parse_qr(command.text).device_id)


COMMAND = BridgeCommand(
    name="decode_qr",
    request=DecodeQrCommand,
    parse=parse,
    handle=handle,
    payload=DecodeQrPayload,
    doc=CommandDoc(
        does=(
            "the device id inside a box's QR link or token (the device key is never sent back, nor "
            "repeated in errors)"
        ),
        payload='the QR link or token as plain text, or `{"text": "…"}`',
        answer='`{"device_id": "lk…"}`',
        does_zh="云盒二维码链接或 token 中的设备编号（设备密钥绝不回传，错误信息中也不会出现）",
        payload_zh='纯文本的二维码链接或 token，或者 `{"text": "…"}`',
    ),
)
