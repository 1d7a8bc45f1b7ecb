"""The typed models and error codes against the reference's own example responses.

The examples are the Postman collection's ``response[].body``, kept verbatim in
``tests/data/reference_responses.json`` (checked against the collection when it is at hand).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from lianke_bridge import errors
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models import (
    DeviceInfo,
    DeviceTask,
    FilePages,
    InkMarker,
    JobFile,
    JobStatus,
    PaperSize,
    Printer,
    PrinterParams,
    PrinterStatus,
    PrintRequest,
)

DATA = Path(__file__).parent / "data" / "reference_responses.json"
EXAMPLES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["examples"]
COLLECTION_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared/lianke-api/lianke-api-v3.postman_collection.json",
    Path("/work/shared/lianke-api/lianke-api-v3.postman_collection.json"),
)


def example(method: str, path: str, index: int = 0) -> Mapping[str, Any]:
    """The reference's example answer for a call (``index`` picks among several)."""
    found = [e["body"] for e in EXAMPLES if e["method"] == method and e["path"] == path]
    body: Mapping[str, Any] = found[index]
    return body


def test_fixture_matches_the_reference_collection() -> None:
    """The extracted examples are exactly the collection's, so the tests test the reference."""
    collection = next((p for p in COLLECTION_CANDIDATES if p.exists()), None)
    if collection is None:
        pytest.skip("the shared reference collection is not beside this checkout")
    raw = json.loads(collection.read_text(encoding="utf-8"))
    bodies: list[Any] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if "item" in item:
                walk(item["item"])
            else:
                bodies.extend(json.loads(r["body"]) for r in item.get("response", []))

    walk(raw["item"])
    assert bodies == [e["body"] for e in EXAMPLES]


def test_every_example_has_the_envelope() -> None:
    """Every example answer is ``{"code": int, …}``: the client's envelope check fits them all."""
    assert len(EXAMPLES) == 17
    for entry in EXAMPLES:
        assert isinstance(entry["body"]["code"], int), entry["example"]


# ---------------------------------------------------------------------------- printer_list


def test_printer_list_example() -> None:
    """The three USB printers of the example, with species, driver and status support as words."""
    rows = example("GET", "/api/external_api/printer_list")["data"]["row"]
    printers = [Printer.from_api(row) for row in rows]
    assert [p.port for p in printers] == [1, 2, 3]
    laser, receipt, toshiba = printers
    assert laser.id == 611757
    assert laser.model == "Kyocera MA2000w GX"
    assert laser.name == "Kyocera MA2000w GX"
    assert laser.driver_type is codes.DriverType.SUPPORTED
    assert laser.kind is codes.PrinterKind.LASER
    assert laser.is_printer
    assert laser.support_status
    assert laser.printer_state == "outOfPaper"
    assert not laser.is_network
    assert laser.device_port == 1
    assert receipt.model == "ESC/POS通用驱动(203dpi) 模式2"
    assert receipt.kind is codes.PrinterKind.UNKNOWN
    assert not receipt.support_status
    assert toshiba.device_port == 3


def test_network_printer_row() -> None:
    """A network printer (port 631, ip_addr, markers) is sent jobs on devicePort 1."""
    printer = Printer.from_api(
        {
            "id": 7,
            "port": 631,
            "printer_name": "HP Smart Tank",
            "drivce_name": "HP Smart Tank 510",
            "driver_type": 0,
            "isPrinter": "1",
            "printer_species": 5,
            "ip_addr": "192.168.1.50",
            "printer_state": "idle",
            "markers": [{"name": "Black", "level": "40", "color": "#000000"}, "junk"],
        }
    )
    assert printer.is_network
    assert printer.device_port == 1
    assert printer.model == "HP Smart Tank 510"
    assert printer.driver_type is codes.DriverType.PENDING
    assert printer.kind is codes.PrinterKind.INKJET
    assert printer.markers == (InkMarker("Black", 40, "#000000"),)


@pytest.mark.parametrize(
    ("species", "kind"),
    [
        (0, codes.PrinterKind.UNKNOWN),
        (1, codes.PrinterKind.DOT_MATRIX),
        (2, codes.PrinterKind.RECEIPT),
        (3, codes.PrinterKind.LABEL),
        (4, codes.PrinterKind.LASER),
        (5, codes.PrinterKind.INKJET),
        (6, codes.PrinterKind.DYE_SUBLIMATION),
        (7, codes.PrinterKind.CARD),
        ("3", codes.PrinterKind.LABEL),
        (None, codes.PrinterKind.UNKNOWN),
        (42, codes.PrinterKind.UNKNOWN),
    ],
)
def test_species_words(species: object, kind: codes.PrinterKind) -> None:
    """The reference's species table 0-7, and junk, become words."""
    assert codes.printer_kind(species) is kind


@pytest.mark.parametrize(
    ("value", "word"),
    [(0, "pending"), (1, "supported"), (2, "unsupported"), (None, "pending")],
)
def test_driver_type_words(value: object, word: str) -> None:
    """driver_type 0/1/2 as pending/supported/unsupported."""
    assert codes.driver_type(value) == word


# ---------------------------------------------------------------------------- params, sizes


def test_printer_params_example() -> None:
    """Capabilities and DevMode of the HP example, with stray CR/LF stripped from paper names."""
    data = example("GET", "/api/print/printer_params")["data"]
    params = PrinterParams.from_api("HP LaserJet P1007", data)
    assert params.model == "HP LaserJet P1007"
    assert params.papers["A4"] == 9
    assert params.papers["A4连续纸(22.86x27.96)"] == 512
    assert not any(name != name.strip() for name in params.papers)
    assert params.bins == {"在纸盘 1 中手动进纸": 4, "纸盘 1": 1, "自动选择": 7}
    assert params.duplex == {"关闭": 1, "短边": 3, "长边": 2}
    assert params.orientations == {"横向": 2, "竖向": 1}
    assert params.media_types == {"默认": 0}
    assert params.max_copies == 999
    assert params.default_paper == 9
    assert params.default_color == 1
    assert params.default_duplex == 1
    assert params.default_orientation == 1
    assert params.default_source == 7
    assert not params.supports_color
    assert params.supports_duplex


def test_paper_sizes_example() -> None:
    """Each named size of the example, in 0.1 mm, with paper_id = dmPaperSize."""
    data = example("GET", "/api/print/paper_dimension_list")["data"]
    sizes = {name: PaperSize.from_api(name, entry) for name, entry in data.items()}
    assert len(sizes) == 17
    assert sizes["A4"] == PaperSize("A4", 9, 2100, 2970, 2000, 2890)
    assert sizes["明信片"].paper_id == 260


# ---------------------------------------------------------------------------- jobs


def test_submit_example_carries_a_task_id() -> None:
    """Both submit examples answer ``data.task_id`` (what ``submit_job`` returns)."""
    for index in (0, 1):
        body = example("POST", "/api/print/job", index)
        assert body["data"]["task_id"] == "581decf2-c6f6-4163-8646-5dcc0c3c1c05"


def test_job_status_example() -> None:
    """A SUCCESS with result code 200 is a printed job with its page count."""
    data = example("GET", "/api/print/job")["data"]
    status = JobStatus.from_api("t1", data)
    assert status.task_state is codes.TaskState.SUCCESS
    assert status.state is codes.JobState.SUCCEEDED
    assert status.result_code == 200
    assert status.total_pages == 2
    assert status.file_total == 108499
    assert status.send_total == 108499
    assert status.done_time == "Wed, 06 Dec 2023 02:06:12 GMT"


CONNECTION_ERROR_MSG = "设备连接异常\uff0c请检查设备网络"
"""The callback example's msg (with its full-width comma)."""


def test_job_success_with_failed_result_is_a_failure() -> None:
    """The reference: SUCCESS with a task_result code other than 200 means it did not print."""
    status = JobStatus.from_api(
        "t2",
        {
            "task_state": "SUCCESS",
            "task_result": {"code": 503, "msg": CONNECTION_ERROR_MSG},
        },
    )
    assert status.state is codes.JobState.FAILED
    assert status.result_message == CONNECTION_ERROR_MSG


@pytest.mark.parametrize(
    ("task_state", "word"),
    [
        ("READY", "queued"),
        ("PARSING", "parsing"),
        ("SENDING", "sending"),
        ("FAILURE", "failed"),
        ("SET_REVOKE", "cancelling"),
        ("REVOKED", "cancelled"),
        ("something new", "unknown"),
    ],
)
def test_task_states_become_words(task_state: str, word: str) -> None:
    """Every documented task_state maps to the contract's word; new ones stay visible."""
    assert JobStatus.from_api("t", {"task_state": task_state}).state == word


def test_query_device_task_example() -> None:
    """The day's task list: the rows with results 500 and 502 failed, the others printed."""
    rows = example("POST", "/api/print/query_device_task")["data"]["task_list"]
    tasks = [DeviceTask.from_api(row) for row in rows]
    assert tasks[0].task_id == "0241a927-a218-4ff6-894d-8fe427da794c"
    assert tasks[0].created_at == "2020-09-02 11:02:36"
    assert tasks[0].updated_at == "2020-09-02 11:02:39"
    failed = [t for t in tasks if t.state is codes.JobState.FAILED]
    assert len(tasks) == 39
    assert [(t.task_id, t.result_code) for t in failed] == [
        ("b98a3a4d-efe9-4195-a105-64617edd4036", 500),
        ("a0214c1b-a9da-4fd7-bde8-8871195623ea", 502),
    ]
    assert all(t.state is codes.JobState.SUCCEEDED for t in tasks if t not in failed)


def test_cancel_and_flush_examples() -> None:
    """Cancel answers a bare success; flush answers how many queued jobs it dropped."""
    assert example("DELETE", "/api/print/job") == {"code": 200, "msg": "success"}
    assert example("POST", "/api/print/flush_jobs")["data"]["queue_num"] == 3


def test_file_pages_task_or_count() -> None:
    """file_pages may answer a task to follow (the reference stores task_id) or a count."""
    assert FilePages.from_api({"task_id": "abc"}) == FilePages("abc", None)
    assert FilePages.from_api({"total_page": "5"}) == FilePages(None, 5)


# ---------------------------------------------------------------------------- the box


def test_device_info_example() -> None:
    """Online, subscription date as ISO, ports, firmware, and the non-link-local address."""
    info = DeviceInfo.from_api(
        example("GET", "/api/device/device_info")["data"],
    )
    assert info.online is codes.OnlineState.ONLINE
    assert info.is_online
    assert info.expire_date == "2024年8月25日"
    assert info.expire_iso == "2024-08-25"
    assert not info.is_expired
    assert info.usb_ports == 3
    assert info.device_type == 2
    assert info.hardware == "LK300EW_D2"
    assert info.firmware == "2.1.113"
    assert info.lan_ip == "169.254.1.188"
    assert info.ip == "192.168.7.156"


@pytest.mark.parametrize(
    ("online", "word"), [(None, "never_booted"), (1, "online"), (0, "offline")]
)
def test_online_words(online: object, word: str) -> None:
    """The reference's online table: null never booted, 1 online, 0 offline."""
    assert DeviceInfo.from_api({"info": {"online": online}}).online == word


def test_printer_status_example() -> None:
    """The out-of-paper example: flags, message and status code; missing flags are False."""
    status = PrinterStatus.from_api(example("GET", "/api/device/printer_status")["data"])
    assert status.out_of_paper
    assert status.paused
    assert not status.printing
    assert not status.head_opened
    assert not status.out_of_ribbon
    assert status.message == "Cannot feed paper."
    assert status.status_code == "41208"
    assert status.error_code is None


def test_supported_models_examples() -> None:
    """The model list and the search answer are plain lists of model names."""
    models = example("GET", "/api/print/printer_enum")["data"]
    assert "HP LaserJet P1007" in models
    found = example("POST", "/api/print/printer_enum")["data"]
    assert found[0] == "HP LaserJet 1020"


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("method", "path", "index", "error_class"),
    [
        ("GET", "/api/device/printer_status", 1, errors.NoPrinterError),
        ("POST", "/api/driver/uninstall_driver_event", 0, errors.InvalidPhoneError),
    ],
)
def test_error_examples_become_named_errors(
    method: str, path: str, index: int, error_class: type[errors.CloudApiError]
) -> None:
    """The reference's error answers map to named errors that keep the cloud's own msg."""
    body = example(method, path, index)
    error = codes.error_for_code(body["code"], body["msg"], call="x")
    assert type(error) is error_class
    assert error.api_message == body["msg"]
    assert error.code == body["code"]


DOCUMENTED = {
    401: errors.DeviceBusyError,
    403: errors.InvalidPhoneError,
    404: errors.DeviceAuthError,
    497: errors.NoPrinterError,
    500: errors.DeviceConnectionError,
    503: errors.DeviceConnectionError,
    5001: errors.DeviceNotNetworkedError,
    5002: errors.DeviceOfflineError,
    5011: errors.PortEmptyError,
    10001: errors.InvalidApiKeyError,
    10009: errors.TooFrequentError,
    11200: errors.ResetLimitReachedError,
    11201: errors.NothingToResetError,
    11203: errors.ErrorLimitReachedError,
}


@pytest.mark.parametrize(("code", "error_class"), sorted(DOCUMENTED.items()))
def test_every_documented_code_has_a_named_error(
    code: int, error_class: type[errors.CloudApiError]
) -> None:
    """Each code gets its own class, an English message naming the call, and the cloud's msg."""
    error = codes.error_for_code(code, "原文", call="device_info")
    assert type(error) is error_class
    assert isinstance(error, errors.CloudApiError)
    assert error.code == code
    assert error.api_message == "原文"
    assert str(error).startswith("device_info: ")
    assert error.message.isascii()


def test_unknown_code_names_the_number() -> None:
    """An undocumented code is an UnknownApiError whose message says which code it was."""
    error = codes.error_for_code(12345, "新错误", call="printer_list")
    assert type(error) is errors.UnknownApiError
    assert error.code == 12345
    assert "12345" in str(error)
    assert error.api_message == "新错误"


# ---------------------------------------------------------------------------- print request


def test_print_request_every_field() -> None:
    """Every documented print field reaches the form under the reference's name."""
    request = PrintRequest(
        port=2,
        urls=("https://a.example/1.pdf", "https://a.example/2.pdf"),
        url_file_ext=".pdf",
        printer_model="HP LaserJet P1007",
        paper_size=0,
        paper_width=800,
        paper_length=1000,
        orientation=2,
        copies=3,
        default_source=7,
        color=2,
        duplex=3,
        media_type=256,
        print_quality=-4,
        scale="fit",
        auto_scale="4",
        auto_align="z5",
        page_range="-1",
        auto_rotate=True,
        pdf_rev=False,
        is_preview=True,
        html_kernel="chrometopdf",
        target_ip="192.168.1.50",
        report_device_status=True,
        report_printer_status=True,
        callback_url="https://hook.example/done",
        task_ticket="ticket-1",
        err_limit_num=10,
        extra={"custom": "x"},
    )
    assert request.to_form() == {
        "devicePort": "2",
        "jobFile": "https://a.example/1.pdf\nhttps://a.example/2.pdf",
        "urlFileExt": ".pdf",
        "printerModel": "HP LaserJet P1007",
        "dmPaperSize": "0",
        "dmPaperWidth": "800",
        "dmPaperLength": "1000",
        "dmOrientation": "2",
        "dmCopies": "3",
        "dmDefaultSource": "7",
        "dmColor": "2",
        "dmDuplex": "3",
        "dmMediaType": "256",
        "dmPrintQuality": "-4",
        "jpScale": "fit",
        "jpAutoScale": "4",
        "jpAutoAlign": "z5",
        "jpPageRange": "-1",
        "jpAutoRotate": "1",
        "pdfRev": "0",
        "isPreview": "1",
        "htmlKernel": "chrometopdf",
        "targetIp": "192.168.1.50",
        "reportDeviceStatus": "1",
        "reportPrinterStatus": "1",
        "callbackUrl": "https://hook.example/done",
        "taskTicket": "ticket-1",
        "errLimitNum": "10",
        "custom": "x",
    }


def test_print_request_leaves_defaults_to_the_cloud() -> None:
    """Unset options are left out; custom sizes only go with dmPaperSize 0; file not in form."""
    request = PrintRequest(
        file=JobFile("a.pdf", b"%PDF"), paper_size=9, paper_width=1, auto_scale="4"
    )
    assert request.to_form() == {
        "devicePort": "1",
        "dmPaperSize": "9",
        "jpAutoScale": "4",
        "jpScale": "fit",
    }
    assert "%PDF" not in repr(request)


def test_print_request_always_sends_both_scalings() -> None:
    """JpScale and jpAutoScale always go together and agree, whichever one was given."""

    def scaling(**kwargs: Any) -> tuple[str | None, str | None]:
        form = PrintRequest(urls=("https://a.example/x.pdf",), **kwargs).to_form()
        return form.get("jpScale"), form.get("jpAutoScale")

    assert scaling() == ("fit", "4")
    assert scaling(scale="fill") == ("fill", "3")
    assert scaling(scale="cover") == ("cover", "4")
    assert scaling(scale="none") == ("none", "0")
    assert scaling(scale="55%") == ("55%", "55%")
    assert scaling(auto_scale="2") == ("fith", "2")
    assert scaling(auto_scale="70%") == ("70%", "70%")
    assert scaling(extra={"jpScale": "fitw"}) == ("fitw", "1")
    assert scaling(extra={"jpAutoScale": "3"}) == ("fill", "3")
    assert scaling(extra={"jpAutoScale": "9"}) == (None, "9")


def test_print_request_derives_url_file_ext_from_the_links() -> None:
    """URLs always carry urlFileExt: the given one, else the type their paths end in."""
    derived = PrintRequest(urls=("https://a.example/x.PDF?token=1",)).to_form()
    given = PrintRequest(urls=("https://a.example/get?id=1",), url_file_ext="PNG").to_form()
    unknown = PrintRequest(urls=("https://a.example/get?id=1",))
    assert derived["urlFileExt"] == ".pdf"
    assert given["urlFileExt"] == ".png"
    assert unknown.file_ext_for_urls is None
    assert "urlFileExt" not in unknown.to_form()
