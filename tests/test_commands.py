"""MQTT requests: what a user sends, what the bridge understands, and the errors they see."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest

from lianke_bridge import errors
from lianke_bridge.bridge.records.envelope import (
    duplicate_error,
    error_envelope,
    ok_envelope,
    rate_limited_error,
    unknown_port_error,
)
from lianke_bridge.bridge.requests.answer import to_json
from lianke_bridge.bridge.requests.build import build_page_count_request, build_print_request
from lianke_bridge.bridge.requests.commands.cancel import CancelCommand
from lianke_bridge.bridge.requests.commands.decode_qr import DecodeQrCommand
from lianke_bridge.bridge.requests.commands.flush import FlushCommand
from lianke_bridge.bridge.requests.commands.job import JobCommand, UntrackedJobData
from lianke_bridge.bridge.requests.commands.page_count import PageCountCommand
from lianke_bridge.bridge.requests.commands.paper_sizes import PaperSizesCommand, PaperSizesData
from lianke_bridge.bridge.requests.commands.print import PrintCommand, PrintPayload
from lianke_bridge.bridge.requests.commands.print_test_page import PrintTestPageCommand
from lianke_bridge.bridge.requests.commands.printer_models import PrinterModelsCommand
from lianke_bridge.bridge.requests.commands.printer_params import PrinterParamsCommand
from lianke_bridge.bridge.requests.commands.reset_error_limit import ResetErrorLimitCommand
from lianke_bridge.bridge.requests.model import NoArgCommand, Request
from lianke_bridge.bridge.requests.payload import peek_transaction
from lianke_bridge.bridge.requests.registry import BRIDGE_COMMANDS, parse_request
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models import PaperSize, Printer, PrinterParams
from lianke_bridge.errors import CommandError
from lianke_bridge.print_options import PRINT_OPTIONS, CustomPaper, PrintOptions

# ------------------------------------------------------------------------------------ fixtures

HP = "HP LaserJet P1007"
"""The reference's example printer: mono, simplex, many papers."""

HP_PARAMS = PrinterParams.from_api(
    HP,
    {
        "Capabilities": {
            "Color": {"黑白": 1},
            "Copies": 99,
            "Duplex": {"关闭": 1},
            "Orientation": {"竖向": 1, "横向": 2},
            "Papers": {
                "A4": 9,
                "A5": 11,
                "Letter": 1,
                "B5 (JIS)": 13,
                "A4连续纸(22.86x27.96)\r\n": 512,
            },
        },
        "DevMode": {"PaperSize": 9, "Color": 1, "Duplex": 1, "Orientation": 1},
    },
)
COLOR_PARAMS = PrinterParams.from_api(
    "Canon G3800",
    {
        "Capabilities": {
            "Color": {"黑白": 1, "彩色": 2},
            "Copies": 10,
            "Duplex": {"关闭": 1, "长边": 2, "短边": 3},
            "Orientation": {"竖向": 1, "横向": 2},
            "Papers": {"A4": 9, "A6": 70},
        },
    },
)
SIZES = (
    PaperSize.from_api("16K", {"paper_id": 257, "physical_width": 1968}),
    PaperSize.from_api("明信片", {"paper_id": 260}),
)
USB_PRINTER = Printer.from_api(
    {"port": 2, "printer_name": HP, "driver_name": HP, "driver_type": 1, "species": 4}
)
NET_PRINTER = Printer.from_api(
    {
        "port": 631,
        "printer_name": "Brother HL-L2350DW",
        "driver_name": "Brother HL-L2350DW series",
        "ip_addr": "192.168.1.50",
        "driver_type": 1,
    }
)


def parse(command: str, payload: bytes | str | dict[str, Any], **kwargs: Any) -> Request:
    """Parse like the service does: JSON for dicts, UTF-8 for strings."""
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    kwargs.setdefault("scope", "bridge" if command in BRIDGE_COMMANDS - {"refresh"} else "device")
    return parse_request(command, payload, **kwargs)


def refused(command: str, payload: bytes | str | dict[str, Any], **kwargs: Any) -> CommandError:
    """The error a request gets (and check it is JSON-serialisable as an envelope)."""
    with pytest.raises(CommandError) as info:
        parse(command, payload, **kwargs)
    json.dumps(error_envelope(info.value))
    return info.value


def print_cmd(payload: dict[str, Any]) -> PrintCommand:
    """Parse a print request that must succeed."""
    cmd = parse("print", payload)
    assert isinstance(cmd, PrintCommand)
    return cmd


def b64(data: bytes) -> str:
    """Base64 as a requester would send it."""
    return base64.b64encode(data).decode("ascii")


PDF = b"%PDF-1.4\n%fake\n"

# ------------------------------------------------------------------------------------ envelopes


def test_a_typed_answer_becomes_the_json_of_the_contract() -> None:
    """Fields in order, nested records as objects, enums as their words, None as null."""
    papers = PaperSizesData(HP, [SIZES[0]])
    assert json.dumps(to_json(papers)) == (
        '{"model": "HP LaserJet P1007", "papers": [{"name": "16K", "paper_id": 257, '
        '"physical_width": 1968, "physical_height": 0, "printable_width": 0, '
        '"printable_height": 0}]}'
    )
    untracked = UntrackedJobData("t-1", "queued", codes.TaskState.READY, None, None)
    assert to_json(untracked)["api_state"] == "READY"
    assert type(to_json(untracked)["api_state"]) is str
    assert to_json(HP_PARAMS)["papers"]["A4"] == 9
    with pytest.raises(TypeError, match="no JSON for object"):
        to_json(object())


def test_print_takes_every_print_option() -> None:
    """Each option a port's print_defaults take is a field of print's JSON form: asked for too.

    The form's fields are what print accepts and what its schema describes.
    """
    payload = {f.name for f in dataclasses.fields(PrintPayload)}
    assert set(PRINT_OPTIONS) <= payload
    for option in PRINT_OPTIONS:
        assert (
            "unknown field"
            not in refused("print", {"url": "https://a.org/x.pdf", option: []}).message
        )


def test_ok_envelope_echoes_transaction() -> None:
    """A success answer carries the data and the requester's transaction."""
    assert ok_envelope({"task_id": "t-1"}, "abc") == {
        "status": "ok",
        "data": {"task_id": "t-1"},
        "transaction": "abc",
    }
    assert ok_envelope(None, None) == {"status": "ok", "data": {}, "transaction": None}


def test_error_envelope_of_a_bridge_error() -> None:
    """A bridge error has a string code, an English message and no api_message."""
    err = CommandError("invalid_payload", "copies must be a number", transaction="tx")
    envelope = error_envelope(err)
    assert envelope == {
        "status": "error",
        "error": {
            "code": "invalid_payload",
            "message": "copies must be a number",
            "api_message": None,
        },
        "transaction": "tx",
    }
    assert json.loads(json.dumps(envelope)) == envelope


def test_error_envelope_prefers_explicit_transaction() -> None:
    """The service's transaction wins over the one an error carries."""
    err = CommandError("invalid_payload", "bad", transaction="from-error")
    assert error_envelope(err, "from-service")["transaction"] == "from-service"


def test_cloud_error_keeps_numeric_code_and_cloud_message() -> None:
    """A cloud refusal shows the API's code, an English sentence and the cloud's own msg."""
    err = errors.DeviceOfflineError(api_message="设备已离线", call="print_job")
    envelope = error_envelope(err, "t")
    assert envelope["error"]["code"] == 5002
    assert "offline" in envelope["error"]["message"]
    assert envelope["error"]["api_message"] == "设备已离线"
    assert envelope["transaction"] == "t"


def test_cloud_rate_limit_stays_10009() -> None:
    """The cloud's 10009 stays numeric; rate_limited is only the bridge's own limiter."""
    envelope = error_envelope(errors.TooFrequentError(api_message="请求过于频繁"))
    assert envelope["error"]["code"] == 10009
    own = error_envelope(rate_limited_error(2.2, transaction="x"))
    assert own["error"]["code"] == "rate_limited"
    assert "3 s" in own["error"]["message"]
    assert own["transaction"] == "x"


def test_timeout_and_unreachable_codes() -> None:
    """Timeouts read 'timeout'; an unreachable cloud reads 'api_unreachable'."""
    timeout = error_envelope(errors.CloudTimeoutError("no answer in 15 s", call="device_info"))
    assert timeout["error"]["code"] == "timeout"
    assert "15 s" in timeout["error"]["message"]
    assert error_envelope(TimeoutError())["error"]["code"] == "timeout"
    down = error_envelope(errors.CloudConnectionError("connection refused", call="device_info"))
    assert down["error"]["code"] == "api_unreachable"
    assert "connection refused" in down["error"]["message"]


def test_non_json_answer_is_api_error_with_http_status() -> None:
    """An HTML error page from the cloud is reported with its HTTP status."""
    err = errors.CloudResponseError("not JSON", call="print_job", http_status=502)
    envelope = error_envelope(err)
    assert envelope["error"]["code"] == "api_error"
    assert "HTTP 502" in envelope["error"]["message"]


def test_unexpected_exception_leaks_no_details() -> None:
    """A bug answers internal_error, naming the type but not the text (it may hold secrets)."""
    envelope = error_envelope(ValueError("deviceKey=hunter2"), "t")
    assert envelope["error"]["code"] == "internal_error"
    assert "hunter2" not in json.dumps(envelope)
    assert "ValueError" in envelope["error"]["message"]


def test_bad_qr_is_invalid_payload() -> None:
    """A QR text that decodes to nothing is the requester's mistake."""
    envelope = error_envelope(errors.CredentialsError("the QR link has no token"))
    assert envelope["error"]["code"] == "invalid_payload"


def test_unknown_port_names_existing_ports() -> None:
    """unknown_port tells which ports do have printers."""
    err = unknown_port_error(3, [2, 1], device="office", transaction="t")
    assert err.code == "unknown_port"
    assert err.message == "office has no printer on port 3; its printers are on: 1, 2"
    assert unknown_port_error(1, [], device="office").message.endswith(
        "none (no printer found yet)"
    )


def test_duplicate_error() -> None:
    """A redelivered transaction is answered 'duplicate' and echoed."""
    err = duplicate_error("abc")
    assert err.code == "duplicate"
    assert error_envelope(err)["transaction"] == "abc"


# ------------------------------------------------------------------------------------ commands


def test_unknown_command_lists_valid_ones() -> None:
    """A typo in the topic is answered with a suggestion and the full list."""
    err = refused("prnt", b"{}")
    assert err.code == "unknown_command"
    assert "unknown command 'prnt' (did you mean 'print'?)" in err.message
    assert "cancel, flush, job, page_count" in err.message


def test_bridge_command_sent_to_a_device() -> None:
    """printer_models on a device topic says it belongs to the bridge."""
    err = refused("printer_models", b"", scope="device")
    assert err.code == "unknown_command"
    assert "it is a bridge command" in err.message
    err = refused("print", b"https://x.org/a.pdf", scope="bridge")
    assert "it is a device command" in err.message


def test_unknown_command_still_echoes_transaction() -> None:
    """Even an unknown command echoes the transaction it carried."""
    assert refused("nope", {"transaction": "t-9"}).transaction == "t-9"


@pytest.mark.parametrize("payload", [b"PRESS", b"", b"  ", b"{}", b"1", b"null", b"\xff\xfe"])
@pytest.mark.parametrize("command", ["reboot", "refresh", "refresh_network_printers", "tasks"])
def test_no_arg_commands_accept_any_payload(command: str, payload: bytes) -> None:
    """Home Assistant buttons send PRESS; anything else without fields is fine too."""
    request = parse(command, payload)
    assert isinstance(request, NoArgCommand)
    assert request.command == command
    assert request.transaction is None


@pytest.mark.parametrize("command", ["republish", "health_check", "refresh"])
def test_bridge_no_arg_commands(command: str) -> None:
    """Bridge buttons work the same way."""
    request = parse(command, b"PRESS", scope="bridge")
    assert isinstance(request, NoArgCommand)
    assert request.command == command


def test_no_arg_command_with_transaction() -> None:
    """A JSON object may carry just the transaction."""
    request = parse("reboot", {"transaction": "r1"})
    assert request.transaction == "r1"


def test_no_arg_command_refuses_fields() -> None:
    """Fields a command does not take are refused rather than ignored."""
    err = refused("reboot", {"port": 1, "transaction": "r2"})
    assert err.code == "invalid_payload"
    assert "unknown field 'port'" in err.message
    assert "reboot takes no fields" in err.message
    assert err.transaction == "r2"


# ------------------------------------------------------------------------------------ transaction


@pytest.mark.parametrize(
    ("value", "expected"), [("abc", "abc"), (42, "42"), (1.5, "1.5"), (True, "true"), (None, None)]
)
def test_transaction_scalars_become_strings(value: Any, expected: str | None) -> None:
    """Any JSON scalar is accepted as a transaction and echoed as a string."""
    assert parse("tasks", {"transaction": value}).transaction == expected


def test_transaction_must_be_scalar() -> None:
    """An object as transaction is refused with a clear message."""
    err = refused("tasks", {"transaction": {"id": 1}})
    assert err.code == "invalid_payload"
    assert "transaction must be a string" in err.message


def test_transaction_echoed_on_field_errors() -> None:
    """A request refused for one field still echoes its transaction."""
    err = refused("print", {"url": "https://x.org/a.pdf", "copies": "two", "transaction": "t2"})
    assert err.transaction == "t2"
    assert error_envelope(err)["transaction"] == "t2"


def test_transaction_read_from_broken_json() -> None:
    """A payload that is not valid JSON still has its transaction read where possible."""
    err = refused("cancel", b'{"transaction": "t3", "task_id": ')
    assert err.transaction == "t3"
    assert "not valid JSON" in err.message


def test_peek_transaction() -> None:
    """The service can read a transaction before parsing, from good or broken payloads."""
    assert peek_transaction(b'{"transaction": 7}') == "7"
    assert peek_transaction(b'{"transaction": "x", oops') == "x"
    assert peek_transaction(b"PRESS") is None
    assert peek_transaction(b'{"transaction": []}') is None
    assert peek_transaction(b"[1]") is None


# ------------------------------------------------------------------------------------ payload size


def test_oversized_payload_names_the_limit() -> None:
    """Too big a payload is refused, the limit named, the transaction echoed."""
    payload = json.dumps({"transaction": "big", "text": "x" * 5000}).encode()
    err = refused("print", payload, max_bytes=4096)
    assert err.code == "invalid_payload"
    assert "more than the limit of 4 KiB" in err.message
    assert "send large documents as a URL" in err.message
    assert err.transaction == "big"


def test_transaction_at_the_end_of_an_oversized_payload() -> None:
    """The transaction is found even after a large base64 file."""
    payload = b'{"file": "' + b"A" * 100_000 + b'", "transaction": "late"}'
    assert refused("print", payload, max_bytes=50_000).transaction == "late"


def test_deeply_nested_json_is_refused_not_crashing() -> None:
    """Pathological JSON ends in invalid_payload, never an exception."""
    err = refused("cancel", b"[" * 100_000 + b"]" * 100_000)
    assert err.code == "invalid_payload"


# ------------------------------------------------------------------------------------ print: source


def test_bare_url_prints() -> None:
    """A Home Assistant text entity sends the URL as it is."""
    cmd = parse("print", b"  https://example.com/menu.pdf\n")
    assert isinstance(cmd, PrintCommand)
    assert cmd.urls == ("https://example.com/menu.pdf",)
    assert cmd.from_text_entity
    assert cmd.source == "url"


def test_json_string_url_prints() -> None:
    """A JSON string holding a URL is the same as the bare URL."""
    cmd = parse("print", b'"https://example.com/a.pdf"')
    assert isinstance(cmd, PrintCommand)
    assert cmd.urls == ("https://example.com/a.pdf",)


def test_bare_text_that_is_not_a_url() -> None:
    """Plain words are not printed by accident: the error says what print takes."""
    err = refused("print", b"PRESS")
    assert err.code == "invalid_payload"
    assert "print takes a URL, or a JSON object with url, file" in err.message
    assert "neither JSON nor a link" in err.message


@pytest.mark.parametrize(
    ("payload", "scheme"),
    [
        (b"ftp://example.com/a.pdf", "scheme 'ftp'"),
        ({"url": "file:///etc/passwd"}, "scheme 'file'"),
        ({"url": ["https://ok.org/a.pdf", "javascript://x"]}, "scheme 'javascript'"),
    ],
)
def test_bad_scheme_is_named(payload: bytes | dict[str, Any], scheme: str) -> None:
    """Only http and https links print; the offending URL and scheme are named."""
    err = refused("print", payload)
    assert err.code == "invalid_payload"
    assert scheme in err.message
    assert "only http:// and https://" in err.message


def test_url_list() -> None:
    """Several URLs print as one job, in order."""
    cmd = print_cmd({"url": ["https://a.org/1.pdf", "http://b.org/2.png"]})
    assert cmd.urls == ("https://a.org/1.pdf", "http://b.org/2.png")


def test_too_many_urls() -> None:
    """More than 20 URLs in one job is refused."""
    err = refused("print", {"url": [f"https://a.org/{n}.pdf" for n in range(21)]})
    assert "url lists 21 URLs; at most 20 per job" in err.message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://a.org/my file.pdf", "contains spaces or line breaks"),
        ("https://a.org/1.pdf\nhttps://b.org/2.pdf", "contains spaces or line breaks"),
        ("https:///nohost.pdf", "has no host name"),
        ("", "url is empty"),
    ],
)
def test_malformed_urls(url: str, message: str) -> None:
    """URLs that would break the job (the cloud joins them with newlines) are refused."""
    assert message in refused("print", {"url": url}).message


def test_url_of_wrong_type() -> None:
    """Url must be a string or list of strings."""
    err = refused("print", {"url": 5})
    assert err.message == "url must be a string or a list of strings; got the number 5"
    assert "empty list" in refused("print", {"url": []}).message


def test_print_needs_exactly_one_source() -> None:
    """No source, or two, is refused naming the choices."""
    none = refused("print", {"copies": 2})
    assert none.message == "print needs exactly one of url, file (with filename), text or html"
    two = refused("print", {"url": "https://a.org/x.pdf", "text": "hi"})
    assert two.message.endswith("; got url, text")


def test_print_refuses_json_non_object() -> None:
    """A JSON array or number is not a print request."""
    assert "got a JSON array" in refused("print", b'["https://a.org/x.pdf"]').message
    assert "got the number 3" in refused("print", b"3").message
    assert "the payload is empty" in refused("print", b"").message


def test_print_refuses_binary_payload() -> None:
    """Bytes that are not UTF-8 are refused for print."""
    assert "not UTF-8" in refused("print", b"\xff\xfe\x00").message


def test_unknown_field_suggests_the_right_one() -> None:
    """A typo like 'copy' is refused (it must not print one copy silently)."""
    err = refused("print", {"url": "https://a.org/x.pdf", "copy": 2})
    assert err.message.startswith("unknown field 'copy' (did you mean 'copies'?); print takes url")


def test_file_upload() -> None:
    """A base64 file with a filename is decoded and typed by its extension."""
    cmd = print_cmd({"file": b64(PDF), "filename": "report.pdf"})
    assert cmd.file is not None
    assert cmd.file.content == PDF
    assert cmd.file.filename == "report.pdf"
    assert cmd.file.content_type == "application/pdf"
    assert cmd.source == "file"


def test_file_as_data_url_and_wrapped_base64() -> None:
    """A data: URL and base64 wrapped at 76 columns (the base64 tool's output) both work."""
    content = bytes(range(256)) * 4
    wrapped = "\n".join(b64(content)[i : i + 76] for i in range(0, len(b64(content)), 76))
    assert print_cmd({"file": wrapped, "filename": "a.bin"}).file.content == content  # type: ignore[union-attr]
    data_url = "data:image/png;base64," + b64(content)
    assert print_cmd({"file": data_url, "filename": "a.png"}).file.content == content  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["not base64!", "QUJD=", "QUJDRA=x"])
def test_bad_base64(bad: str) -> None:
    """Invalid base64 is refused with what base64 is expected."""
    err = refused("print", {"file": bad, "filename": "a.pdf"})
    assert err.message.startswith("file is not valid base64")


def test_file_needs_filename_with_extension() -> None:
    """The filename's extension tells the cloud the type, so it is required."""
    assert "file needs filename" in refused("print", {"file": b64(PDF)}).message
    err = refused("print", {"file": b64(PDF), "filename": "report"})
    assert "has no extension" in err.message


def test_file_ext_names_an_upload() -> None:
    """file_ext gives (or replaces) the uploaded file's extension."""
    cmd = print_cmd({"file": b64(PDF), "filename": "report", "file_ext": "pdf"})
    assert cmd.file is not None
    assert cmd.file.filename == "report.pdf"
    cmd = print_cmd({"file": b64(PDF), "filename": "scan.bin", "file_ext": ".pdf"})
    assert cmd.file is not None
    assert cmd.file.filename == "scan.pdf"


def test_filename_loses_its_directories() -> None:
    """Only the base name is sent to the cloud."""
    cmd = print_cmd({"file": b64(PDF), "filename": "C:\\Users\\me\\../secret/report.pdf"})
    assert cmd.file is not None
    assert cmd.file.filename == "report.pdf"


def test_file_too_large() -> None:
    """A file over the limit is refused, the sizes named."""
    err = refused("print", {"file": b64(b"x" * 3000), "filename": "a.pdf"}, max_file_bytes=2048)
    assert "file is 2.9 KiB, more than the limit of 2 KiB" in err.message


def test_file_empty_or_wrong_type() -> None:
    """An empty file or a non-string file is refused."""
    assert refused("print", {"file": "", "filename": "a.pdf"}).message == "file is empty"
    assert (
        "file must be a base64 string" in refused("print", {"file": [1], "filename": "a"}).message
    )


def test_text_and_html() -> None:
    """Text and HTML print as a page; both count as source 'text'."""
    text = print_cmd({"text": "- milk\n- eggs", "title": "Shopping"})
    assert text.text == "- milk\n- eggs"
    assert text.title == "Shopping"
    assert text.source == "text"
    assert print_cmd({"html": "<p>Hi</p>"}).source == "text"


def test_empty_text_and_title_with_url() -> None:
    """Nothing to print, or a title where it cannot apply, is refused."""
    assert "there is nothing to print" in refused("print", {"text": "  \n"}).message
    err = refused("print", {"url": "https://a.org/x.pdf", "title": "T"})
    assert err.message == "title only applies to text or html"


# --------------------------------------------------------------------------- print: options


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("3", 3), (2.0, 2), (999, 999)])
def test_copies_accepted(value: Any, expected: int) -> None:
    """Copies may be a number or a string of digits (Home Assistant sends strings)."""
    assert print_cmd({"url": "https://a.org/x.pdf", "copies": value}).options.copies == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [("two", "the string 'two'"), (0, "the number 0"), (1000, "the number 1000"), (True, "true")],
)
def test_copies_refused(value: Any, shown: str) -> None:
    """Wrong copies are refused naming the range and the value given."""
    err = refused("print", {"url": "https://a.org/x.pdf", "copies": value})
    assert err.message == f"copies must be a whole number from 1 to 999; got {shown}"


def test_port_must_be_a_number() -> None:
    """The port is a number (631 for network printers is fine)."""
    assert print_cmd({"url": "https://a.org/x.pdf", "port": "631"}).port == 631
    err = refused("print", {"url": "https://a.org/x.pdf", "port": "usb1"})
    assert err.message == "port must be a whole number from 1 to 65535; got the string 'usb1'"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A4", "A4"),
        (" b5 (jis) ", "b5 (jis)"),
        (9, 9),
        ("11", 11),
        ({"width_mm": 100, "height_mm": 150}, CustomPaper(100, 150)),
        ("62 x 29 mm", CustomPaper(62, 29)),
        ({"width_mm": "57.5", "height_mm": 30}, CustomPaper(57.5, 30)),
    ],
)
def test_paper_forms(value: Any, expected: Any) -> None:
    """Paper by name, by the API's number, or a custom size in millimetres."""
    assert print_cmd({"url": "https://a.org/x.pdf", "paper": value}).options.paper == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "paper 0 is the API's custom size"),
        (-3, "paper must be a name like 'A4'"),
        ({"width_mm": 100}, "a custom size takes exactly width_mm and height_mm"),
        ({"width_mm": -5, "height_mm": 10}, "paper width_mm must be a number of millimetres"),
        ({"width_mm": 10, "height_mm": "tall"}, "paper height_mm must be a number"),
        ([9], "paper must be a name like 'A4'"),
    ],
)
def test_paper_refused(value: Any, message: str) -> None:
    """Impossible papers are refused with the accepted forms."""
    assert message in refused("print", {"url": "https://a.org/x.pdf", "paper": value}).message


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("color", "mono", "mono"),
        ("color", "Colour", "color"),
        ("color", "black and white", "mono"),
        ("duplex", "long", "long"),
        ("duplex", "Short-Edge", "short"),
        ("duplex", True, "long"),
        ("duplex", False, "off"),
        ("orientation", "Landscape", "landscape"),
        ("scale", "fit", "fit"),
        ("scale", "FitW", "fitw"),
        ("scale", "80 %", "80%"),
        ("scale", "400%", "400%"),
        ("align", "z5", "z5"),
        ("align", "bottom right", "z9"),
        ("align", "top-left", "z1"),
        ("align", "center", "z5"),
        ("pages", "1,3,5-10", "1,3,5-10"),
        ("pages", " 1, 2 - 4 ", "1,2-4"),
        ("pages", "odd", "-1"),
        ("pages", "Even", "-2"),
        ("pages", -1, "-1"),
        ("pages", -2, "-2"),
        ("pages", 3, "3"),
        ("pages", "all", None),
        ("reverse", True, True),
        ("reverse", "yes", True),
        ("auto_rotate", 0, False),
        ("auto_rotate", "off", False),
        ("file_ext", "PDF", ".pdf"),
        ("file_ext", ".png", ".png"),
    ],
)
def test_option_words(field: str, value: Any, expected: Any) -> None:
    """Option words are normalised (case, spaces, hyphens) to the documented values."""
    cmd = print_cmd({"url": "https://a.org/x.pdf", field: value})
    assert getattr(cmd.options, field) == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("color", "rainbow", "color must be one of mono, color; got the string 'rainbow'"),
        ("duplex", "both", "duplex must be one of off, long, short; got the string 'both'"),
        ("orientation", 1, "orientation must be one of portrait, landscape; got the number 1"),
        ("scale", "0%", "scale must be one of fit, fitw, fith, fill, cover, none or a percentage"),
        ("scale", "500%", "from 1% to 400%"),
        ("scale", 80, "like '80%'; got the number 80"),
        ("align", "somewhere", "align must be one of z1, …, z9, top_left, top, top_right"),
        ("pages", "1-x", "pages must be a page range like '1,3,5-10' (pages 1 to 9999)"),
        ("pages", "5-3", "pages: '5-3' is not a valid range"),
        ("pages", "0", "pages must be a page range"),
        ("pages", -3, "pages must be a page range"),
        ("reverse", 2, "reverse must be true or false; got the number 2"),
        ("auto_rotate", "maybe", "auto_rotate must be true or false"),
        ("file_ext", ".p-df", "file_ext must be a dot and letters or digits like '.pdf'"),
        ("file_ext", 5, "file_ext must be a string; got the number 5"),
    ],
)
def test_option_errors(field: str, value: Any, message: str) -> None:
    """Each wrong option is refused naming the field, the allowed values and the value given."""
    err = refused("print", {"url": "https://a.org/x.pdf", field: value, "transaction": "o"})
    assert err.code == "invalid_payload"
    assert message in err.message
    assert err.transaction == "o"


def test_raw_options_pass_through_as_strings() -> None:
    """Raw API fields are passed on as strings (booleans as 1/0)."""
    cmd = print_cmd(
        {
            "url": "https://a.org/x.pdf",
            "options": {"dmPrintQuality": -4, "isPreview": True, "htmlKernel": "chrometopdf"},
        }
    )
    assert cmd.options.api_fields == {
        "dmPrintQuality": "-4",
        "isPreview": "1",
        "htmlKernel": "chrometopdf",
    }


@pytest.mark.parametrize("name", ["deviceId", "deviceKey", "DEVICEKEY", "jobFile", "callbackUrl"])
def test_raw_options_cannot_touch_credentials_or_document(name: str) -> None:
    """Options may not set credentials, the document, the port or the callback."""
    err = refused("print", {"url": "https://a.org/x.pdf", "options": {name: "x"}})
    assert f"options may not set {name}" in err.message


def test_raw_options_shape() -> None:
    """Options must be an object of scalars with API-like names."""
    url = "https://a.org/x.pdf"
    assert "options must be a JSON object" in refused("print", {"url": url, "options": "x"}).message
    nested = refused("print", {"url": url, "options": {"dmColor": [2]}})
    assert nested.message == "options.dmColor must be a string, number or boolean; got a JSON array"
    assert (
        "is not an API field name"
        in refused("print", {"url": url, "options": {"dm Color": 2}}).message
    )


# --------------------------------------------------------------------------- other commands


def test_cancel_and_job() -> None:
    """Cancel and job take a task id and an optional port."""
    cancel = parse("cancel", {"task_id": "581decf2-c6f6-4163-8646-5dcc0c3c1c05", "port": 2})
    assert cancel == CancelCommand("581decf2-c6f6-4163-8646-5dcc0c3c1c05", 2)
    job = parse("job", {"task_id": "abc", "transaction": "j"})
    assert job == JobCommand("abc", None, transaction="j")


def test_cancel_needs_task_id() -> None:
    """A missing or wrong task_id is named."""
    assert refused("cancel", {}).message.startswith("cancel needs task_id")
    assert refused("job", {"task_id": 5}).message == "task_id must be a string; got the number 5"
    assert "is not a task id" in refused("job", {"task_id": "a/b#"}).message


def test_cancel_needs_json() -> None:
    """Cancel has a required field, so a button's PRESS is not enough."""
    err = refused("cancel", b"PRESS")
    assert err.message.startswith('cancel needs a JSON object like {"task_id"')
    assert "not valid JSON" in err.message
    assert "got a JSON array" in refused("job", b"[]").message


@pytest.mark.parametrize("command", ["flush", "reset_error_limit"])
def test_port_commands(command: str) -> None:
    """Flush and reset_error_limit: a button means every port; a port may be given."""
    assert parse(command, b"PRESS").port is None  # type: ignore[attr-defined]
    assert parse(command, b"2").port == 2  # type: ignore[attr-defined]
    assert parse(command, {"port": 3}).port == 3  # type: ignore[attr-defined]
    assert "port must be a whole number" in refused(command, {"port": 0}).message
    assert "port must be a whole number" in refused(command, b"70000").message


def test_flush_and_reset_types() -> None:
    """Each command gets its own typed request."""
    assert isinstance(parse("flush", b""), FlushCommand)
    assert isinstance(parse("reset_error_limit", b""), ResetErrorLimitCommand)


def test_print_test_page_payloads() -> None:
    """print_test_page: a printer and a page; PRESS or a bare port prints the test page.

    A page it does not know is refused naming the two it does.
    """
    pressed = parse("print_test_page", b"PRESS")
    assert isinstance(pressed, PrintTestPageCommand)
    assert (pressed.port, pressed.page) == (None, "test")
    assert parse("print_test_page", b"2") == PrintTestPageCommand(2)
    assert parse("print_test_page", {"port": "631", "page": "maintenance"}) == (
        PrintTestPageCommand(631, "maintenance")
    )
    assert parse("print_test_page", {"page": None}) == PrintTestPageCommand(None, "test")
    assert refused("print_test_page", {"page": "Test"}).message == (
        "page 'Test' is not a page the bridge prints; use test or maintenance"
    )
    assert "port must be a whole number" in refused("print_test_page", {"port": 0}).message
    assert "unknown field 'paper'" in refused("print_test_page", {"paper": "A4"}).message


@pytest.mark.parametrize("command", ["printer_params", "paper_sizes"])
def test_port_or_model(command: str) -> None:
    """printer_params and paper_sizes take a port or a model, not both."""
    typed = PrinterParamsCommand if command == "printer_params" else PaperSizesCommand
    by_port = parse(command, {"port": 2})
    assert by_port == typed(2, None)
    assert by_port.command == command
    assert parse(command, {"model": HP}) == typed(None, HP)
    assert parse(command, HP) == typed(None, HP)
    assert parse(command, b"1") == typed(1, None)
    assert parse(command, b"") == typed(None, None)
    assert refused(command, {"port": 1, "model": HP}).message == "give port or model, not both"


def test_page_count() -> None:
    """page_count takes one URL or one file, and an optional paper."""
    bare = parse("page_count", b"https://a.org/x.pdf")
    assert bare == PageCountCommand(urls=("https://a.org/x.pdf",))
    by_file = parse("page_count", {"file": b64(PDF), "filename": "a.pdf", "paper": "A5"})
    assert isinstance(by_file, PageCountCommand)
    assert by_file.file is not None
    assert by_file.paper == "A5"
    two = refused("page_count", {"url": ["https://a.org/1.pdf", "https://a.org/2.pdf"]})
    assert two.message == "page_count counts one document; got 2 URLs"
    both = refused("page_count", {"url": "https://a.org/1.pdf", "file": b64(PDF)})
    assert both.message == "page_count needs exactly one of url or file (with filename)"
    assert "page_count takes a URL" in refused("page_count", b"PRESS").message


def test_printer_models() -> None:
    """printer_models: a query as JSON or text; empty lists every model."""
    assert parse("printer_models", {"query": " HP 1020 "}) == PrinterModelsCommand("HP 1020")
    assert parse("printer_models", b"Brother") == PrinterModelsCommand("Brother")
    assert parse("printer_models", b"") == PrinterModelsCommand(None)
    assert parse("printer_models", {"query": ""}) == PrinterModelsCommand(None)
    assert "query must be a string" in refused("printer_models", {"query": 5}).message
    assert "printer_models takes" in refused("printer_models", b"[1]").message


def test_decode_qr_never_echoes_the_key() -> None:
    """The QR text holds the device key: it is parsed but never shown back."""
    secret = "https://cloud.liankenet.com/?token=bGsxMjM6c2VjcmV0a2V5"
    request = parse("decode_qr", secret)
    assert request == DecodeQrCommand(secret)
    assert secret not in repr(request)
    assert parse("decode_qr", {"text": secret, "transaction": "q"}).transaction == "q"
    assert parse("decode_qr", {"token": "bGsxMjM6c2VjcmV0a2V5"}) == DecodeQrCommand(
        "bGsxMjM6c2VjcmV0a2V5"
    )
    err = refused("decode_qr", {"text": secret, "link": secret})
    assert secret not in err.message
    assert "decode_qr needs the QR link or token" in refused("decode_qr", b"").message


# ------------------------------------------------------------------------------------ build


def build(payload: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    """The form fields the cloud would receive."""
    kwargs.setdefault("port", 2)
    kwargs.setdefault("printer", USB_PRINTER)
    kwargs.setdefault("params", HP_PARAMS)
    return build_print_request(print_cmd(payload), **kwargs).to_form()


def build_refused(payload: dict[str, Any], **kwargs: Any) -> CommandError:
    """The error building a print request gets; always invalid_payload."""
    with pytest.raises(CommandError) as info:
        build(payload, **kwargs)
    assert info.value.code == "invalid_payload"
    return info.value


URL = "https://a.org/x.pdf"


def test_words_become_api_numbers() -> None:
    """Each option word reaches the cloud as the API's field and number."""
    form = build(
        {
            "url": URL,
            "copies": 2,
            "color": "color",
            "duplex": "short",
            "orientation": "landscape",
            "scale": "fitw",
            "align": "center",
            "pages": "odd",
            "reverse": True,
            "auto_rotate": False,
            "file_ext": "pdf",
            "paper": "a6",
        },
        params=COLOR_PARAMS,
    )
    assert form == {
        "devicePort": "2",
        "jobFile": URL,
        "urlFileExt": ".pdf",
        "printerModel": HP,
        "dmPaperSize": "70",
        "dmOrientation": "2",
        "dmCopies": "2",
        "dmColor": "2",
        "dmDuplex": "3",
        "jpScale": "fitw",
        "jpAutoScale": "1",
        "jpAutoAlign": "z5",
        "jpPageRange": "-1",
        "jpAutoRotate": "0",
        "pdfRev": "1",
    }


def test_nothing_asked_sends_only_the_required_fields() -> None:
    """Options not asked for are left out, but the API's required fields are filled.

    dmPaperSize comes from the printer's own default (DevMode, A4 = 9 for the HP), jpScale is
    "fit" with its jpAutoScale 4 (both marked required), and urlFileExt is the link's own type,
    so the cloud never refuses a plain URL for a missing required field.
    """
    assert build({"url": URL}) == {
        "devicePort": "2",
        "jobFile": URL,
        "urlFileExt": ".pdf",
        "printerModel": HP,
        "dmPaperSize": "9",
        "jpScale": "fit",
        "jpAutoScale": "4",
    }


def test_network_printer_goes_to_port_1_with_its_ip() -> None:
    """A network printer (port 631) is sent to devicePort 1 with targetIp."""
    form = build({"url": URL}, port=631, printer=NET_PRINTER, params=None)
    assert form["devicePort"] == "1"
    assert form["targetIp"] == "192.168.1.50"
    assert form["printerModel"] == "Brother HL-L2350DW series"


def test_unknown_printer_uses_the_given_port() -> None:
    """Without a printer row the requested port is used and no model is sent."""
    form = build({"url": URL}, port=3, printer=None, params=None)
    assert form == {
        "devicePort": "3",
        "jobFile": URL,
        "urlFileExt": ".pdf",
        "dmPaperSize": "9",
        "jpScale": "fit",
        "jpAutoScale": "4",
    }


@pytest.mark.parametrize(
    ("paper", "number"),
    [
        ("A4", "9"),
        (" a4 ", "9"),
        ("b5 (JIS)", "13"),
        ("B5(JIS)", "13"),
        ("letter", "1"),
        (11, "11"),
    ],
)
def test_paper_resolved_against_the_printer(paper: Any, number: str) -> None:
    """Paper names match the printer's list ignoring case and spaces; numbers are checked."""
    assert build({"url": URL, "paper": paper})["dmPaperSize"] == number


def test_paper_name_with_stray_newline_in_the_api() -> None:
    """Names the API sends with a stray CR LF still match."""
    assert build({"url": URL, "paper": "A4连续纸(22.86x27.96)"})["dmPaperSize"] == "512"


def test_paper_from_the_size_list() -> None:
    """Names from paper_dimension_list also resolve (the printer's own list may lack them)."""
    assert build({"url": URL, "paper": "16k"}, paper_sizes=SIZES)["dmPaperSize"] == "257"
    assert build({"url": URL, "paper": "明信片"}, paper_sizes=SIZES)["dmPaperSize"] == "260"


def test_paper_not_offered_lists_allowed() -> None:
    """A paper the printer lacks is refused, naming the printer and what it offers."""
    err = build_refused({"url": URL, "paper": "A3", "transaction": "p"})
    assert err.message == (
        f"paper 'A3' is not offered by {HP}; allowed: A4, A5, Letter, B5 (JIS), "
        "A4连续纸(22.86x27.96)"
    )
    assert err.transaction == "p"
    number = build_refused({"url": URL, "paper": 8})
    assert number.message.startswith(f"paper 8 is not offered by {HP}; allowed: A4")


def test_custom_paper_size_in_tenths_of_mm() -> None:
    """A custom size is dmPaperSize 0 with width and length in 0.1 mm."""
    form = build({"url": URL, "paper": {"width_mm": 62, "height_mm": 29.5}})
    assert form["dmPaperSize"] == "0"
    assert form["dmPaperWidth"] == "620"
    assert form["dmPaperLength"] == "295"


def test_copies_over_the_printer_maximum() -> None:
    """Copies beyond Capabilities.Copies are refused with the maximum."""
    err = build_refused({"url": URL, "copies": 11}, params=COLOR_PARAMS)
    assert err.message == "copies 11 is more than HP LaserJet P1007 allows (at most 10)"
    assert build({"url": URL, "copies": 10}, params=COLOR_PARAMS)["dmCopies"] == "10"


def test_color_on_a_mono_printer() -> None:
    """Colour is refused on a printer that only offers black and white."""
    err = build_refused({"url": URL, "color": "color"})
    assert err.message == f"color 'color' is not offered by {HP}; allowed: mono"
    assert build({"url": URL, "color": "mono"})["dmColor"] == "1"


def test_duplex_on_a_simplex_printer() -> None:
    """Two-sided printing is refused where the printer lacks it; 'off' is always fine."""
    err = build_refused({"url": URL, "duplex": "long"})
    assert err.message == f"duplex 'long' is not offered by {HP}; allowed: off"
    assert build({"url": URL, "duplex": "off"})["dmDuplex"] == "1"


def test_unknown_model_checks_words_only() -> None:
    """Without printer_params only the words are checked; common paper names still resolve."""
    form = build(
        {"url": URL, "color": "color", "duplex": "long", "copies": 500, "paper": "Letter"},
        params=None,
    )
    assert (form["dmColor"], form["dmDuplex"], form["dmCopies"], form["dmPaperSize"]) == (
        "2",
        "2",
        "500",
        "1",
    )
    err = build_refused({"url": URL, "paper": "Tabloid"}, params=None)
    assert "paper 'Tabloid' is unknown" in err.message
    assert "the API's paper number" in err.message


UNREAD = CommandError(
    "timeout", "the capabilities of HP (printer_params) could not be read: no answer in time"
)
"""Why the printer's lists are missing: the cloud did not answer (ports.capabilities)."""


def test_unread_lists_answer_the_clouds_error_for_what_only_they_settle() -> None:
    """Unread lists: what only they settle is answered with the cloud's error.

    A paper name only they hold, or the printer's default paper: nothing guessed, nothing
    called unknown.
    """
    for payload, params, subject in (
        ({"url": URL, "paper": "16K"}, None, "paper '16K'"),  # no list at all
        ({"url": URL, "paper": "16K"}, HP_PARAMS, "paper '16K'"),  # not the paper list
        ({"url": URL, "transaction": "t1"}, None, f"{HP}'s default paper"),  # in the params
    ):
        with pytest.raises(CommandError) as info:
            build(payload, params=params, missing=UNREAD)
        assert info.value.code == "timeout"
        assert info.value.message == (
            f"{subject} cannot be looked up, so nothing was sent: {UNREAD.message}"
        )
    assert info.value.transaction == "t1"


def test_unread_lists_still_take_what_the_cloud_understands() -> None:
    """Unread lists: what the cloud understands without them still prints.

    Standard names, the API's numbers and custom sizes; what the lists that were read hold
    resolves as usual.
    """
    assert build({"url": URL, "paper": "A5"}, params=None, missing=UNREAD)["dmPaperSize"] == "11"
    assert build({"url": URL, "paper": 257}, params=None, missing=UNREAD)["dmPaperSize"] == "257"
    assert build({"url": URL, "paper": 260}, missing=UNREAD)["dmPaperSize"] == "260"
    assert build({"url": URL, "paper": "b5 (jis)"}, missing=UNREAD)["dmPaperSize"] == "13"
    custom = build({"url": URL, "paper": "62x29 mm"}, params=None, missing=UNREAD)
    assert (custom["dmPaperSize"], custom["dmPaperWidth"]) == ("0", "620")


def test_defaults_apply_under_the_request() -> None:
    """A port's configured defaults fill in what the request does not say."""
    defaults = PrintOptions.parse(
        {"color": "mono", "duplex": "long", "paper": "A6", "options": {"htmlKernel": "wk"}}
    )
    form = build(
        {"url": URL, "duplex": "off", "options": {"dmPrintQuality": -4}},
        params=COLOR_PARAMS,
        defaults=defaults,
    )
    assert form["dmColor"] == "1"
    assert form["dmDuplex"] == "1"
    assert form["dmPaperSize"] == "70"
    assert form["htmlKernel"] == "wk"
    assert form["dmPrintQuality"] == "-4"


def test_default_file_ext_only_for_urls() -> None:
    """A default file_ext becomes urlFileExt for links and does not rename uploads."""
    assert build({"url": URL}, defaults=PrintOptions(file_ext=".pdf"))["urlFileExt"] == ".pdf"
    cmd = print_cmd({"file": b64(PDF), "filename": "a.docx"})
    request = build_print_request(
        cmd, port=2, printer=USB_PRINTER, params=HP_PARAMS, defaults=PrintOptions(file_ext=".pdf")
    )
    assert request.file is not None
    assert request.file.filename == "a.docx"
    assert "urlFileExt" not in request.to_form()


def test_defaults_are_checked_against_the_printer_too() -> None:
    """A default the printer cannot do is refused like a request would be."""
    err = build_refused({"url": URL}, defaults=PrintOptions(color="color"))
    assert "color 'color' is not offered" in err.message


def test_raw_options_win_over_words() -> None:
    """Raw API fields are sent as given, after the words."""
    form = build({"url": URL, "copies": 2, "options": {"dmCopies": "3"}})
    assert form["dmCopies"] == "3"


def test_text_prints_as_an_html_file() -> None:
    """Text is uploaded as text.html (a plain string jobFile would be taken for a URL)."""
    request = build_print_request(
        print_cmd({"text": "- milk\n- <eggs>", "title": "Shopping"}),
        port=2,
        printer=USB_PRINTER,
        params=HP_PARAMS,
    )
    assert request.file is not None
    assert request.file.filename == "text.html"
    assert request.file.content_type == "text/html"
    page = request.file.content.decode("utf-8")
    assert "<li>milk</li>" in page
    assert "&lt;eggs&gt;" in page
    assert "<h1>Shopping</h1>" in page
    assert "jobFile" not in request.to_form()


def test_html_prints_as_an_html_file() -> None:
    """HTML is uploaded the same way, kept as markup."""
    request = build_print_request(
        print_cmd({"html": "<p><b>Hi</b></p>"}), port=1, printer=None, params=None
    )
    assert request.file is not None
    assert b"<p><b>Hi</b></p>" in request.file.content


def test_file_job_keeps_the_upload() -> None:
    """An uploaded file goes to the cloud as it came."""
    request = build_print_request(
        print_cmd({"file": b64(PDF), "filename": "a.pdf"}),
        port=2,
        printer=USB_PRINTER,
        params=HP_PARAMS,
    )
    assert request.file is not None
    assert request.file.content == PDF
    assert request.urls == ()


def test_needs_paper_sizes() -> None:
    """The service fetches paper sizes only when a paper name or number must be resolved."""
    assert print_cmd({"url": URL, "paper": "A4"}).needs_paper_sizes
    assert print_cmd({"url": URL, "paper": 9}).needs_paper_sizes
    assert not print_cmd({"url": URL, "paper": "10x20mm"}).needs_paper_sizes
    assert not print_cmd({"url": URL}).needs_paper_sizes


def test_page_count_request() -> None:
    """page_count resolves the paper like print and targets the printer's port and model."""
    cmd = parse("page_count", {"url": URL, "paper": "a5", "file_ext": "pdf"})
    assert isinstance(cmd, PageCountCommand)
    request = build_page_count_request(cmd, port=631, printer=NET_PRINTER, params=HP_PARAMS)
    assert (request.port, request.urls, request.paper_size, request.url_file_ext) == (
        1,
        (URL,),
        11,
        ".pdf",
    )
    assert request.printer_model == "Brother HL-L2350DW series"
    bad = parse("page_count", {"url": URL, "paper": "A0", "transaction": "pc"})
    assert isinstance(bad, PageCountCommand)
    with pytest.raises(CommandError, match="paper 'A0' is not offered") as info:
        build_page_count_request(bad, port=1, printer=None, params=HP_PARAMS)
    assert info.value.transaction == "pc"


@pytest.mark.parametrize(
    ("command", "payload", "message"),
    [
        ("cancel", b"null", "cancel needs a JSON object like"),
        ("job", b'"abc"', "got the string 'abc'"),
        ("cancel", b"", "the payload is empty"),
        ("cancel", b"\xff", "the payload is not UTF-8 text"),
        ("printer_models", {"query": "x" * 201}, "query is longer than 200 characters"),
        ("printer_params", {"model": "x" * 201}, "model is longer than 200 characters"),
        ("decode_qr", {"text": "   "}, "decode_qr needs the QR link or token"),
        ("print", {"html": 5}, "html must be a string; got the number 5"),
        ("print", {"url": URL, "paper": "x" * 201}, "paper is longer than 200 characters"),
        ("print", {"url": "http://[::1/x.pdf"}, "is not a valid URL"),
        ("print", {"file": b64(PDF), "filename": "a\x00.pdf"}, "control characters"),
        ("print", {"file": b64(PDF), "filename": "docs/.."}, "has no file name"),
        ("print", {"url": "x" * 80}, "…'"),
    ],
)
def test_more_payload_errors(command: str, payload: bytes | dict[str, Any], message: str) -> None:
    """Other malformed payloads get an invalid_payload naming what is wrong."""
    err = refused(command, payload)
    assert err.code == "invalid_payload"
    assert message in err.message


@pytest.mark.parametrize(
    ("command", "payload"),
    [
        ("print", b"https://a.org/x.pdf"),
        ("cancel", b'{"task_id": "t"}'),
        ("job", b'{"task_id": "t"}'),
        ("flush", b""),
        ("reset_error_limit", b""),
        ("page_count", b"https://a.org/x.pdf"),
        ("print_test_page", b""),
        ("printer_params", b""),
        ("tasks", b""),
    ],
)
def test_request_knows_its_command(command: str, payload: bytes) -> None:
    """Every typed request names its command (the service answers on response/<command>)."""
    assert parse(command, payload).command == command


def test_other_bridge_errors_are_internal() -> None:
    """A configuration error surfacing in a request reads internal_error with its message."""
    envelope = error_envelope(errors.ConfigError("state_dir is not writable"))
    assert envelope["error"] == {
        "code": "internal_error",
        "message": "state_dir is not writable",
        "api_message": None,
    }


# ------------------------------------------------------------------- strict, bounded input


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("copies", "\u0663"),  # ARABIC-INDIC DIGIT THREE: int() reads it as 3
        ("copies", "\uff12"),  # FULLWIDTH DIGIT TWO
        ("port", "\u0661"),
        ("pages", "\u0661-\u0663"),
        ("pages", "\u0665"),
        ("scale", "\u0668\u0660%"),
        ("paper", {"width_mm": "\u0661\u0660\u0660", "height_mm": 150}),
    ],
)
def test_numbers_are_ascii_digits_only(field: str, value: Any) -> None:
    """Digits of other scripts are refused, not read as numbers the requester did not type."""
    err = refused("print", {"url": URL, field: value})
    assert err.code == "invalid_payload"
    assert err.message.startswith((field, "paper"))


def test_bare_port_in_other_digits_is_refused_not_every_port() -> None:
    """A flush of port "\u0661" is refused; it neither flushes port 1 nor every port."""
    err = refused("flush", "\u0661")
    assert err.message.startswith("port must be a whole number from 1 to 65535")


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        (9999999999, "pages must be a page range like '1,3,5-10' (pages 1 to 9999)"),
        (10000, "pages must be a page range"),
        ("1-10000", "pages: '1-10000' goes beyond page 9999"),
        ("9999999999", "pages must be a page range"),
        (",".join(["1"] * 101), "pages lists 101 ranges; at most 100"),
    ],
)
def test_page_ranges_are_bounded(pages: Any, message: str) -> None:
    """Page numbers stop at 9999 and a range has at most 100 items; the cloud never sees more."""
    assert message in refused("print", {"url": URL, "pages": pages}).message


def test_page_range_limits_themselves_are_accepted() -> None:
    """The bounds are inclusive."""
    assert print_cmd({"url": URL, "pages": 9999}).options.pages == "9999"
    assert print_cmd({"url": URL, "pages": ",".join(["1-9999"] * 100)}).options.pages


def test_echoed_values_are_cut_short() -> None:
    """A huge value is echoed cut short, never whole."""
    huge = int("9" * 4000)
    for payload in (
        {"url": URL, "copies": huge},
        {"url": URL, "pages": "1-" + "9" * 3000},
        {"url": "x" * 3000 + "://a.org/x.pdf"},
    ):
        assert len(refused("print", payload).message) < 300


# ------------------------------------------------------------------- required cloud fields


@pytest.mark.parametrize(
    ("scale", "auto_scale"),
    [
        ("fit", "4"),
        ("fitw", "1"),
        ("fith", "2"),
        ("fill", "3"),
        ("none", "0"),
        ("cover", "4"),
        ("80%", "80%"),
    ],
)
def test_every_scale_goes_with_its_auto_scale(scale: str, auto_scale: str) -> None:
    """JpAutoScale is marked required: it always goes along, meaning what jpScale means."""
    form = build({"url": URL, "scale": scale})
    assert (form["jpScale"], form["jpAutoScale"]) == (scale, auto_scale)


@pytest.mark.parametrize(
    ("url", "ext"),
    [
        ("https://a.org/x.pdf", ".pdf"),
        ("https://a.org/x.PDF?sig=abc&exp=1", ".pdf"),
        ("https://a.org/x.pdf#page=2", ".pdf"),
        ("https://a.org/%E6%8A%A5%E5%91%8A.docx", ".docx"),
        ("https://a.org/report%2Epng", ".png"),
        ("https://a.org/dir.v2/photo.jpeg?x=1.pdf", ".jpeg"),
    ],
)
def test_url_file_ext_comes_from_the_links_path(url: str, ext: str) -> None:
    """Without file_ext, urlFileExt is the type the link's path ends in (query ignored)."""
    assert build({"url": url})["urlFileExt"] == ext


def test_url_file_ext_prefers_the_request_then_the_port_defaults() -> None:
    """The request's file_ext wins over the port's default, which wins over the path."""
    assert (
        build({"url": URL, "file_ext": "docx"}, defaults=PrintOptions(file_ext=".png"))[
            "urlFileExt"
        ]
        == ".docx"
    )
    assert build({"url": URL}, defaults=PrintOptions(file_ext=".png"))["urlFileExt"] == ".png"


@pytest.mark.parametrize(
    "url",
    [
        "https://a.org/download?id=7",
        "https://a.org/get?file=a.pdf",
        "https://a.org/archive.zip",
        "https://a.org/",
    ],
)
def test_link_of_unknown_type_is_refused_naming_file_ext(url: str) -> None:
    """No silent guess: a link whose type cannot be told is refused, naming file_ext."""
    err = build_refused({"url": url})
    assert "file_ext" in err.message
    assert ".pdf" in err.message


def test_unsupported_file_ext_is_refused() -> None:
    """A file_ext the cloud does not print (not in the reference's list) is refused."""
    err = build_refused({"url": "https://a.org/download?id=7", "file_ext": "zip"})
    assert "file_ext '.zip'" in err.message


def test_links_of_different_types_need_file_ext() -> None:
    """One job carries one urlFileExt: a PDF and a PNG link together are refused."""
    err = build_refused({"url": ["https://a.org/a.pdf", "https://a.org/b.png"]})
    assert "different types (.pdf, .png)" in err.message
    assert "file_ext" in err.message
    form = build({"url": ["https://a.org/a.pdf", "https://a.org/b.png"], "file_ext": ".pdf"})
    assert form["urlFileExt"] == ".pdf"
