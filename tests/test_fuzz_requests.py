"""Fuzzing the request parser: whatever arrives on a request topic, the answer is a clear error.

The bridge must never die of a bad message: parsing either gives a typed request or raises
``CommandError`` (which becomes the error envelope), never anything else.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lianke_bridge.bridge.records.envelope import error_envelope
from lianke_bridge.bridge.requests.build import build_print_request
from lianke_bridge.bridge.requests.commands.print import PrintCommand
from lianke_bridge.bridge.requests.model import Request
from lianke_bridge.bridge.requests.payload import peek_transaction
from lianke_bridge.bridge.requests.registry import BRIDGE_COMMANDS, DEVICE_COMMANDS, parse_request
from lianke_bridge.cloud.models import Printer, PrinterParams, PrintRequest
from lianke_bridge.errors import CommandError
from lianke_bridge.print_options import PRINT_OPTIONS

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
PRINT_KEYS = (*PRINT_OPTIONS, "url", "file", "filename", "text", "html", "port", "transaction")
print_payloads = st.dictionaries(st.sampled_from(PRINT_KEYS), json_values, max_size=6)

LASER = Printer.from_api(
    {"port": 1, "driver_name": "HP LaserJet P1007", "driver_type": 1, "species": 4}
)
PARAMS = PrinterParams.from_api(
    "HP LaserJet P1007",
    {
        "Capabilities": {
            "Papers": {"A4": 9, "Letter": 1},
            "Color": {"黑白": 1},
            "Duplex": {"关闭": 1},
            "Orientation": {"竖向": 1, "横向": 2},
            "Copies": 99,
        },
        "DevMode": {"PaperSize": 9},
    },
)


def parse(command: str, payload: bytes, scope: Any = "device") -> Request | CommandError:
    """Parse, turning the one allowed failure into a value."""
    try:
        return parse_request(command, payload, scope=scope, max_bytes=64 * 1024)
    except CommandError as err:
        return err


@FUZZ
@given(
    command=st.sampled_from(sorted(DEVICE_COMMANDS | {"nope", ""})),
    payload=st.binary(max_size=300),
)
def test_any_bytes_give_a_request_or_a_clear_error(command: str, payload: bytes) -> None:
    """Random bytes on any device command never raise anything but a CommandError."""
    result = parse(command, payload)
    if isinstance(result, CommandError):
        assert result.message
        envelope = error_envelope(result)
        json.dumps(envelope)  # always publishable


@FUZZ
@given(
    command=st.sampled_from(sorted(DEVICE_COMMANDS | BRIDGE_COMMANDS)),
    payload=json_values,
)
def test_any_json_gives_a_request_or_a_clear_error(command: str, payload: Any) -> None:
    """Any JSON value on any command is parsed or refused with a message."""
    scope = "bridge" if command in BRIDGE_COMMANDS - DEVICE_COMMANDS else "device"
    result = parse(command, json.dumps(payload).encode(), scope)
    if isinstance(result, CommandError):
        assert result.message


@FUZZ
@given(payload=print_payloads)
def test_print_payloads_map_to_a_request_or_a_clear_error(payload: dict[str, Any]) -> None:
    """A parsed print command maps onto the API's form, or is refused naming what is wrong."""
    result = parse("print", json.dumps(payload).encode())
    if isinstance(result, CommandError):
        assert result.message
        return
    assert isinstance(result, PrintCommand)
    mapped = build(result)
    if isinstance(mapped, CommandError):
        assert mapped.message
        return
    form = mapped.to_form()
    assert form["devicePort"] == "1"
    assert "deviceKey" not in form
    assert int(form["dmPaperSize"]) >= 0  # a number the API takes, never a word


def build(command: PrintCommand) -> PrintRequest | CommandError:
    """Map onto the API's fields, turning the one allowed failure into a value."""
    try:
        return build_print_request(command, port=1, printer=LASER, params=PARAMS, paper_sizes=())
    except CommandError as err:
        return err


@FUZZ
@given(payload=st.binary(max_size=200))
def test_peek_transaction_never_raises(payload: bytes) -> None:
    """The transaction is sniffed even from broken payloads, and never raises."""
    result = peek_transaction(payload)
    assert result is None or isinstance(result, str)
