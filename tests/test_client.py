"""The cloud client against the running simulator: every call, every error, every politeness rule.

Nothing is mocked: the client talks HTTP to the simulator on a loopback port, and the tests
assert on what the simulator received (``simulator.requests`` / ``simulator.count``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from lianke_bridge import errors
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.firmware import parse_version, refresh_needed
from lianke_bridge.cloud.models import Credentials, JobFile, JobStatus, PrintRequest
from lianke_bridge.cloud.stats import ApiStats
from lianke_bridge.simulator import Simulator, Timing, demo_fleet
from lianke_bridge.simulator.documents import url_pages

OFFICE, WAREHOUSE, SPARE = 0, 1, 2
"""The demo fleet's boxes: office (laser on 1, receipt on 2, network inkjet), warehouse (label
printer, firmware 2.1.98), spare (never switched on)."""

PDF_3_PAGES = b"%PDF-1.4\n" + b"1 0 obj << /Type /Page >> endobj\n" * 3 + b"%%EOF\n"

URL_JOB = PrintRequest(urls=("https://a.example/x.pdf",), paper_size=9)
"""A minimal job: one URL on A4 (the reference requires dmPaperSize)."""

JOB = "/api/print/job"
DEVICE_INFO = "/api/device/device_info"
PRINTER_STATUS = "/api/device/printer_status"


def box(simulator: Simulator, index: int) -> Credentials:
    """A box of the simulator's fleet as the client's credentials."""
    spec = simulator.fleet.boxes[index]
    return Credentials(spec.device_id, spec.device_key)


def make_client(simulator: Simulator, **options: float | None) -> LiankeClient:
    """A client for the simulator: no rate limit and tiny backoff unless a test asks."""
    settings: dict[str, float | None] = {"rate_limit": 0, "retry_backoff": 0.001, "timeout": 5.0}
    settings.update(options)
    return LiankeClient(
        simulator.fleet.api_key,
        base_url=simulator.url,
        timeout=float(settings["timeout"] or 5.0),
        rate_limit=float(settings["rate_limit"] or 0),
        retry_backoff=float(settings["retry_backoff"] or 0),
        max_retries=int(settings.get("max_retries", 2) or 0),
        cache_ttl=settings.get("cache_ttl", 3600.0),
    )


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[LiankeClient]:
    """A client of the shared simulator fixture."""
    async with make_client(simulator) as lianke:
        yield lianke


@pytest.fixture
async def slow_queue() -> AsyncIterator[Simulator]:
    """A simulator whose jobs wait in READY for 2 s: time to cancel or flush them."""
    async with Simulator(fleet=demo_fleet(), timing=replace(Timing.fast(), ready=2.0)) as sim:
        yield sim


async def wait_final(client: LiankeClient, creds: Credentials, task_id: str) -> JobStatus:
    """Poll a task until it ends (the simulator's fast timing makes that tens of ms)."""
    async with asyncio.timeout(5):
        while True:
            status = await client.job_status(creds, task_id)
            if status.task_state.is_final:
                return status
            await asyncio.sleep(0.01)


# ---------------------------------------------------------------------------- every endpoint


async def test_printer_list_types(client: LiankeClient, simulator: Simulator) -> None:
    """PrinterType 3 lists USB and network printers, 1 only USB, 2 only network."""
    office = box(simulator, OFFICE)
    everything = await client.printer_list(office)
    usb = await client.printer_list(office, codes.PrinterType.USB)
    network = await client.printer_list(office, codes.PrinterType.NETWORK)
    assert [p.port for p in everything] == [1, 2, 631]
    assert [p.port for p in usb] == [1, 2]
    assert [p.port for p in network] == [631]
    assert network[0].is_network
    assert network[0].device_port == 1
    assert network[0].markers
    assert everything[0].model == "Kyocera MA2000w GX"
    assert everything[0].support_status
    sent = [r.query["printerType"] for r in simulator.requests]
    assert sent == ["3", "1", "2"]


async def test_printer_params_and_paper_sizes(client: LiankeClient, simulator: Simulator) -> None:
    """A model's capabilities and paper sizes come back typed, with A4 as dmPaperSize 9."""
    model = (await client.printer_list(box(simulator, OFFICE)))[0].model
    params = await client.printer_params(model)
    sizes = await client.paper_sizes(model)
    assert params.model == model
    assert params.papers
    assert params.max_copies
    assert {s.name: s.paper_id for s in sizes}.get("A4") == 9
    assert simulator.requests[-1].query == {"printerModel": model}


async def test_printer_models_list_and_search(client: LiankeClient, simulator: Simulator) -> None:
    """GET lists every supported model; POST with a query searches them."""
    everything = await client.printer_models()
    found = await client.printer_models("HP 1020")
    assert len(everything) > len(found) > 0
    assert all(isinstance(name, str) for name in everything)
    get, post = simulator.requests
    assert (get.method, get.path) == ("GET", "/api/print/printer_enum")
    assert (post.method, post.path, post.fields) == (
        "POST",
        "/api/print/printer_enum",
        {"query": "HP 1020"},
    )


async def test_submit_urls_with_every_field(client: LiankeClient, simulator: Simulator) -> None:
    """A URL job sends every documented field under its API name, and it prints."""
    office = box(simulator, OFFICE)
    request = PrintRequest(
        port=1,
        urls=("https://docs.example/a.pdf", "https://docs.example/b.pdf"),
        url_file_ext=".pdf",
        printer_model="EPSON L6160 Series",
        paper_size=0,
        paper_width=800,
        paper_length=1200,
        orientation=2,
        copies=2,
        default_source=7,
        color=2,
        duplex=2,
        media_type=0,
        print_quality=-4,
        scale="fit",
        auto_scale="4",
        auto_align="z5",
        page_range="-2",
        auto_rotate=True,
        pdf_rev=True,
        is_preview=False,
        html_kernel="chrometopdf",
        target_ip="192.168.7.60",
        report_device_status=True,
        report_printer_status=True,
        callback_url="https://hooks.example/lianke",
        err_limit_num=30,
    )
    task_id = await client.submit_job(office, request)
    sent = simulator.requests[-1]
    assert (sent.method, sent.path) == ("POST", JOB)
    assert sent.fields["deviceId"] == office.device_id
    assert sent.fields["jobFile"] == "https://docs.example/a.pdf\nhttps://docs.example/b.pdf"
    expected = {
        "urlFileExt": ".pdf",
        "devicePort": "1",
        "dmPaperSize": "0",
        "dmPaperWidth": "800",
        "dmPaperLength": "1200",
        "dmCopies": "2",
        "dmDuplex": "2",
        "dmPrintQuality": "-4",
        "jpScale": "fit",
        "jpAutoScale": "4",
        "jpAutoAlign": "z5",
        "jpPageRange": "-2",
        "jpAutoRotate": "1",
        "pdfRev": "1",
        "isPreview": "0",
        "targetIp": "192.168.7.60",
        "reportDeviceStatus": "1",
        "reportPrinterStatus": "1",
        "callbackUrl": "https://hooks.example/lianke",
        "errLimitNum": "30",
    }
    assert {k: sent.fields.get(k) for k in expected} == expected
    status = await wait_final(client, office, task_id)
    assert status.state is codes.JobState.SUCCEEDED


async def test_submit_file_upload(client: LiankeClient, simulator: Simulator) -> None:
    """A file goes up as multipart jobFile; the finished job reports its pages."""
    office = box(simulator, OFFICE)
    task_id = await client.submit_job(
        office,
        PrintRequest(file=JobFile("report.pdf", PDF_3_PAGES, "application/pdf"), paper_size=9),
    )
    sent = simulator.requests[-1]
    assert sent.fields["jobFile"] == {"filename": "report.pdf", "size": len(PDF_3_PAGES)}
    status = await wait_final(client, office, task_id)
    assert status.state is codes.JobState.SUCCEEDED
    assert status.total_pages == 3
    assert status.result_code == 200


async def test_submit_large_file_streams_it(client: LiankeClient, simulator: Simulator) -> None:
    """A document of several MiB goes up whole, streamed (raw bytes would block the loop)."""
    office = box(simulator, OFFICE)
    content = PDF_3_PAGES + b"\0" * (3 * 1024 * 1024)
    await client.submit_job(
        office, PrintRequest(file=JobFile("big.pdf", content, "application/pdf"), paper_size=9)
    )
    assert simulator.requests[-1].fields["jobFile"] == {"filename": "big.pdf", "size": len(content)}


async def test_submit_task_ticket(client: LiankeClient, simulator: Simulator) -> None:
    """A preview's task ticket alone is a valid job (the cloud reuses its converted file)."""
    await client.submit_job(box(simulator, OFFICE), PrintRequest(task_ticket="ticket-1"))
    assert simulator.requests[-1].fields["taskTicket"] == "ticket-1"


@pytest.mark.parametrize(
    "request_",
    [
        PrintRequest(),
        PrintRequest(urls=("https://a.example/x.pdf",), file=JobFile("x.pdf", b"%PDF")),
        PrintRequest(urls=("https://a.example/x.pdf",), callback_url="http://insecure.example/"),
    ],
    ids=["no-document", "file-and-urls", "http-callback"],
)
async def test_submit_refuses_bad_requests_locally(
    client: LiankeClient, simulator: Simulator, request_: PrintRequest
) -> None:
    """A job the cloud would refuse is refused before anything is sent."""
    with pytest.raises(ValueError, match=r"job|callbackUrl"):
        await client.submit_job(box(simulator, OFFICE), request_)
    assert simulator.requests == []


async def test_job_status_follows_a_job(client: LiankeClient, simulator: Simulator) -> None:
    """job_status sends task_id and devicePort and sees the job end succeeded."""
    office = box(simulator, OFFICE)
    task_id = await client.submit_job(office, URL_JOB)
    status = await wait_final(client, office, task_id)
    assert status.task_id == task_id
    assert status.state is codes.JobState.SUCCEEDED
    query = simulator.requests[-1].query
    assert (query["task_id"], query["devicePort"]) == (task_id, "1")


async def test_failed_job_reads_as_failed(client: LiankeClient, simulator: Simulator) -> None:
    """A job the printer could not print ends SUCCESS with a non-200 result: a failure."""
    office = box(simulator, OFFICE)
    simulator.faults.jobs_fail(office.device_id)
    task_id = await client.submit_job(office, URL_JOB)
    status = await wait_final(client, office, task_id)
    assert status.task_state is codes.TaskState.SUCCESS
    assert status.state is codes.JobState.FAILED
    assert status.result_message


async def test_cancel_job(slow_queue: Simulator) -> None:
    """A queued job cancelled goes SET_REVOKE then REVOKED."""
    office = box(slow_queue, OFFICE)
    async with make_client(slow_queue) as client:
        task_id = await client.submit_job(office, URL_JOB)
        await client.cancel_job(office, task_id)
        status = await wait_final(client, office, task_id)
    assert status.state is codes.JobState.CANCELLED
    assert slow_queue.count(JOB, method="DELETE") == 1


async def test_flush_jobs(slow_queue: Simulator) -> None:
    """flush_jobs drops the queued jobs of a port and says how many there were."""
    office = box(slow_queue, OFFICE)
    async with make_client(slow_queue) as client:
        tasks = [
            await client.submit_job(
                office, PrintRequest(urls=(f"https://a.example/{i}.pdf",), paper_size=9)
            )
            for i in range(3)
        ]
        assert await client.flush_jobs(office, 1) == 3
        states = [(await client.job_status(office, t)).state for t in tasks]
    assert states == [codes.JobState.CANCELLED] * 3
    assert slow_queue.requests[3].fields["devicePort"] == 1


async def test_device_info(client: LiankeClient, simulator: Simulator) -> None:
    """device_info reads online state, firmware and ports; the spare box never booted."""
    office = await client.device_info(box(simulator, OFFICE))
    spare = await client.device_info(box(simulator, SPARE))
    assert office.is_online
    assert office.firmware == "2.1.113"
    assert office.usb_ports == 3
    assert spare.online is codes.OnlineState.NEVER_BOOTED
    simulator.faults.box_offline(simulator.fleet.boxes[OFFICE].device_id)
    assert (await client.device_info(box(simulator, OFFICE))).online is codes.OnlineState.OFFLINE


async def test_printer_status(client: LiankeClient, simulator: Simulator) -> None:
    """printer_status asks by usbPort and reports the printer's sensors."""
    office = box(simulator, OFFICE)
    assert not (await client.printer_status(office, 1)).out_of_paper
    simulator.faults.printer_problem(office.device_id, 1, paper_out=True)
    status = await client.printer_status(office, 1)
    assert status.out_of_paper
    assert simulator.requests[-1].query["usbPort"] == "1"


async def test_device_tasks(client: LiankeClient, simulator: Simulator) -> None:
    """query_device_task lists the day's jobs, the one just sent included."""
    office = box(simulator, OFFICE)
    task_id = await client.submit_job(office, URL_JOB)
    await wait_final(client, office, task_id)
    tasks = await client.device_tasks(office)
    assert task_id in [t.task_id for t in tasks]
    sent = simulator.requests[-1]
    assert sent.fields == {"deviceId": office.device_id, "deviceKey": office.device_key}


async def test_request_adaptation(client: LiankeClient, simulator: Simulator) -> None:
    """An adaptation request sends printerId and phone; a bad phone is InvalidPhoneError."""
    office = box(simulator, OFFICE)
    await client.request_adaptation(office, 611809, "13512345678")
    assert simulator.requests[-1].fields["printerId"] == "611809"
    assert simulator.requests[-1].fields["phone"] == "13512345678"
    with pytest.raises(errors.InvalidPhoneError) as caught:
        await client.request_adaptation(office, 611809, "12")
    assert caught.value.code == 403
    assert caught.value.api_message


async def test_refresh_device_info_skips_new_firmware(
    client: LiankeClient, simulator: Simulator
) -> None:
    """On firmware 2.1.113 the deprecated refresh is not called; on 2.1.98 it is."""
    refresh = "/api/device/async_refresh_device_info"
    assert await client.refresh_device_info(box(simulator, OFFICE)) is False
    assert await client.refresh_device_info(box(simulator, OFFICE), "2.1.112") is False
    assert simulator.count(refresh) == 0
    assert simulator.count(DEVICE_INFO) == 1
    assert await client.refresh_device_info(box(simulator, WAREHOUSE)) is True
    assert simulator.count(refresh) == 1


async def test_refresh_while_refreshing_is_busy(client: LiankeClient, simulator: Simulator) -> None:
    """A second refresh while the first runs is 401 DeviceBusyError, and it is not retried."""
    warehouse = box(simulator, WAREHOUSE)
    assert await client.refresh_device_info(warehouse, "2.1.98")
    with pytest.raises(errors.DeviceBusyError):
        await client.refresh_device_info(warehouse, "2.1.98")
    assert simulator.count("/api/device/async_refresh_device_info") == 2


async def test_refresh_network_printers(client: LiankeClient, simulator: Simulator) -> None:
    """The LAN rescan answers how many network printers the box found."""
    assert await client.refresh_network_printers(box(simulator, OFFICE)) == 1
    assert simulator.requests[-1].path == "/api/printer/refresh_network_printer"


async def test_count_pages_of_a_file(client: LiankeClient, simulator: Simulator) -> None:
    """file_pages answers data.pages: count_pages returns it, with no task to follow."""
    office = box(simulator, OFFICE)
    started = await client.file_pages(office, file=JobFile("a.pdf", PDF_3_PAGES))
    assert (started.pages, started.task_id) == (3, None)
    pages = await client.count_pages(
        office,
        file=JobFile("a.pdf", PDF_3_PAGES),
        printer_model="Kyocera MA2000w GX",
        paper_size=9,
        poll_interval=0.01,
    )
    assert pages == 3
    assert simulator.count(JOB) == 0
    sent = [r for r in simulator.requests if r.path == "/api/print/file_pages"]
    assert len(sent) == 2
    assert sent[1].fields["dmPaperSize"] == "9"
    assert sent[1].fields["printerModel"] == "Kyocera MA2000w GX"
    assert sent[1].fields["jobFile"] == {"filename": "a.pdf", "size": len(PDF_3_PAGES)}


async def test_count_pages_of_a_url(client: LiankeClient, simulator: Simulator) -> None:
    """A URL is counted too, with its urlFileExt sent."""
    url = "https://docs.example/contract"
    pages = await client.count_pages(
        box(simulator, OFFICE), urls=[url], url_file_ext=".pdf", poll_interval=0.01
    )
    assert pages == url_pages(url)
    sent = simulator.requests[0]
    assert (sent.fields["jobFile"], sent.fields["urlFileExt"]) == (url, ".pdf")


async def test_count_pages_follows_a_task_id_answer(
    client: LiankeClient, simulator: Simulator
) -> None:
    """Should file_pages answer only a task_id (the reference's script), the task is followed."""
    simulator.faults.pages_as_task()
    url = "https://docs.example/contract.pdf"
    pages = await client.count_pages(box(simulator, OFFICE), urls=[url], poll_interval=0.01)
    assert pages == url_pages(url)
    assert simulator.count(JOB, "GET") >= 1


async def test_count_pages_gives_up_in_time(slow_queue: Simulator) -> None:
    """A count that does not finish within its timeout is a CloudTimeoutError, not a hang."""
    slow_queue.faults.pages_as_task()
    async with make_client(slow_queue) as client:
        with pytest.raises(errors.CloudTimeoutError, match="file_pages"):
            await client.count_pages(
                box(slow_queue, OFFICE),
                urls=["https://a.example/x"],
                timeout=0.1,
                poll_interval=0.02,
            )


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"urls": ["https://a.example/1", "https://a.example/2"]},
        {"urls": ["https://a.example/1"], "file": JobFile("a.pdf", b"%PDF")},
        {"file": JobFile("big.pdf", b"0" * (20 * 1024 * 1024 + 1))},
    ],
    ids=["nothing", "two-urls", "url-and-file", "over-20-MB"],
)
async def test_file_pages_takes_one_small_document(
    client: LiankeClient, simulator: Simulator, arguments: dict[str, object]
) -> None:
    """file_pages takes exactly one document up to 20 MB; anything else is refused unsent."""
    with pytest.raises(ValueError, match="file_pages"):
        await client.file_pages(box(simulator, OFFICE), **arguments)  # type: ignore[arg-type]
    assert simulator.requests == []


async def test_reboot(client: LiankeClient, simulator: Simulator) -> None:
    """A reboot is accepted; a second one meanwhile is 401; the box is offline while it runs."""
    office = box(simulator, OFFICE)
    await client.reboot(office)
    with pytest.raises(errors.DeviceBusyError):
        await client.reboot(office)
    assert (await client.device_info(office)).online is codes.OnlineState.OFFLINE
    assert simulator.count("/api/device/async_device_reboot") == 2


async def test_reset_error_limit(client: LiankeClient, simulator: Simulator) -> None:
    """Nothing to reset is 11201; after failed jobs the reset works."""
    office = box(simulator, OFFICE)
    with pytest.raises(errors.NothingToResetError) as caught:
        await client.reset_error_limit(office)
    assert caught.value.code == 11201
    simulator.faults.jobs_fail(office.device_id)
    task_id = await client.submit_job(office, URL_JOB)
    await wait_final(client, office, task_id)
    await client.reset_error_limit(office, 1)
    assert simulator.requests[-1].fields["devicePort"] == "1"


# ---------------------------------------------------------------------------- every error code


async def test_wrong_device_key(client: LiankeClient, simulator: Simulator) -> None:
    """404: wrong id or key is DeviceAuthError; the key never appears in the message."""
    wrong = Credentials(simulator.fleet.boxes[OFFICE].device_id, "not-the-key-xyz")
    with pytest.raises(errors.DeviceAuthError) as caught:
        await client.device_info(wrong)
    assert caught.value.code == 404
    assert caught.value.call == "device_info"
    assert caught.value.api_message
    assert "not-the-key-xyz" not in str(caught.value)
    assert simulator.count(DEVICE_INFO) == 1


async def test_wrong_api_key(simulator: Simulator) -> None:
    """A refused ApiKey is InvalidApiKeyError (the simulator's 10001) and is not echoed."""
    async with LiankeClient("wrong-api-key-123", base_url=simulator.url, rate_limit=0) as client:
        with pytest.raises(errors.InvalidApiKeyError) as caught:
            await client.device_info(box(simulator, OFFICE))
    assert "wrong-api-key-123" not in str(caught.value)
    assert simulator.requests[-1].api_key == "wrong-api-key-123"


async def test_no_printer(client: LiankeClient, simulator: Simulator) -> None:
    """497: printer_status of an unplugged printer is NoPrinterError."""
    office = box(simulator, OFFICE)
    simulator.faults.unplug_printer(office.device_id, 1)
    with pytest.raises(errors.NoPrinterError):
        await client.printer_status(office, 1)


async def test_box_never_networked(client: LiankeClient, simulator: Simulator) -> None:
    """5001: a job for a box that never came online is DeviceNotNetworkedError."""
    with pytest.raises(errors.DeviceNotNetworkedError):
        await client.submit_job(box(simulator, SPARE), URL_JOB)


async def test_box_offline(client: LiankeClient, simulator: Simulator) -> None:
    """5002: jobs and reboots of an offline box are DeviceOfflineError, sent once each."""
    office = box(simulator, OFFICE)
    simulator.faults.box_offline(office.device_id)
    with pytest.raises(errors.DeviceOfflineError):
        await client.submit_job(office, URL_JOB)
    with pytest.raises(errors.DeviceOfflineError):
        await client.reboot(office)
    assert simulator.count(JOB) == 1
    assert simulator.count("/api/device/async_device_reboot") == 1


async def test_port_empty(client: LiankeClient, simulator: Simulator) -> None:
    """5011: with reportPrinterStatus, a job for an empty port is PortEmptyError."""
    office = box(simulator, OFFICE)
    simulator.faults.unplug_printer(office.device_id, 2)
    with pytest.raises(errors.PortEmptyError):
        await client.submit_job(
            office,
            replace(URL_JOB, port=2, report_printer_status=True),
        )


async def test_error_limit_reached(client: LiankeClient, simulator: Simulator) -> None:
    """11203: after errLimitNum failed jobs in a row the box is paused; a reset lifts it."""
    office = box(simulator, OFFICE)
    simulator.faults.jobs_fail(office.device_id)
    request = replace(URL_JOB, err_limit_num=2)
    for _ in range(2):
        await wait_final(client, office, await client.submit_job(office, request))
    with pytest.raises(errors.ErrorLimitReachedError) as caught:
        await client.submit_job(office, request)
    assert caught.value.code == 11203
    await client.reset_error_limit(office)
    simulator.faults.jobs_fail(office.device_id, fail=False)
    await client.submit_job(office, request)


async def test_reset_limit_per_day(client: LiankeClient, simulator: Simulator) -> None:
    """11200: the eleventh reset of a day is ResetLimitReachedError."""
    office = box(simulator, OFFICE)
    simulator.faults.jobs_fail(office.device_id)
    request = URL_JOB
    for _ in range(10):
        await wait_final(client, office, await client.submit_job(office, request))
        await client.reset_error_limit(office)
    await wait_final(client, office, await client.submit_job(office, request))
    with pytest.raises(errors.ResetLimitReachedError):
        await client.reset_error_limit(office)


async def test_too_frequent_is_not_retried_for_jobs(
    client: LiankeClient, simulator: Simulator
) -> None:
    """10009 on a print job is raised as TooFrequentError after one request: never resent."""
    simulator.faults.rate_limit(path=JOB, count=1)
    with pytest.raises(errors.TooFrequentError):
        await client.submit_job(box(simulator, OFFICE), URL_JOB)
    assert simulator.count(JOB) == 1
    assert client.stats.rate_limited == 1


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (500, errors.DeviceConnectionError),
        (503, errors.DeviceConnectionError),
        (401, errors.DeviceBusyError),
        (5001, errors.DeviceNotNetworkedError),
        (12345, errors.UnknownApiError),
    ],
)
async def test_injected_codes(
    client: LiankeClient,
    simulator: Simulator,
    code: int,
    error_class: type[errors.CloudApiError],
) -> None:
    """Codes the healthy simulator rarely gives map to their named errors, msg kept, unretried."""
    simulator.faults.api_error(code, "云端原文", path=DEVICE_INFO)
    with pytest.raises(error_class) as caught:
        await client.device_info(box(simulator, OFFICE))
    assert caught.value.code == code
    assert caught.value.api_message == "云端原文"
    assert simulator.count(DEVICE_INFO) == 1


async def test_api_errors_on_writes_are_not_retried(
    client: LiankeClient, simulator: Simulator
) -> None:
    """A write refused with any code but 10009 (here 503) was sent once and is raised."""
    reboot = "/api/device/async_device_reboot"
    simulator.faults.api_error(503, "设备连接异常，请检查设备网络", path=reboot)  # noqa: RUF001
    with pytest.raises(errors.DeviceConnectionError):
        await client.reboot(box(simulator, OFFICE))
    assert simulator.count(reboot) == 1


# ---------------------------------------------------------------------------- transport errors


async def test_http_error_is_a_response_error(client: LiankeClient, simulator: Simulator) -> None:
    """An HTTP 502 page (after the retries of a read) is CloudResponseError with the status."""
    simulator.faults.http_error(502, path=DEVICE_INFO, count=5)
    with pytest.raises(errors.CloudResponseError) as caught:
        await client.device_info(box(simulator, OFFICE))
    assert caught.value.http_status == 502
    assert simulator.count(DEVICE_INFO) == 3
    assert client.stats.errors["device_info", "http_502"] == 3


async def test_non_json_body(client: LiankeClient, simulator: Simulator) -> None:
    """An HTML page with HTTP 200 is a CloudResponseError saying it is not JSON."""
    simulator.faults.http_error(200, html=True, path=DEVICE_INFO)
    with pytest.raises(errors.CloudResponseError, match="not JSON") as caught:
        await client.device_info(box(simulator, OFFICE))
    assert caught.value.http_status == 200
    assert simulator.count(DEVICE_INFO) == 1


async def test_timeout(simulator: Simulator) -> None:
    """A call slower than the timeout is CloudTimeoutError naming the call, after its retries."""
    simulator.faults.slow(0.4, path=DEVICE_INFO)
    async with make_client(simulator, timeout=0.1, max_retries=1) as client:
        with pytest.raises(errors.CloudTimeoutError, match="device_info") as caught:
            await client.device_info(box(simulator, OFFICE))
    assert isinstance(caught.value, errors.CloudConnectionError)
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert simulator.count(DEVICE_INFO) == 2


async def test_printer_status_gets_a_longer_timeout(simulator: Simulator) -> None:
    """printer_status is live and slow: it gets twice the timeout other calls get."""
    # 1.3 s is past the 1 s other calls get and well inside printer_status's 2 s, also when loaded
    simulator.faults.slow(1.3, path=PRINTER_STATUS)
    async with make_client(simulator, timeout=1.0, max_retries=0) as client:
        status = await client.printer_status(box(simulator, OFFICE), 1)
    assert not status.paper_jam


async def test_dropped_connection(client: LiankeClient, simulator: Simulator) -> None:
    """A dropped connection is resent for a GET (by aiohttp itself), never for a print job."""
    simulator.faults.drop_connection(path=DEVICE_INFO, count=1)
    info = await client.device_info(box(simulator, OFFICE))
    assert info.is_online
    assert simulator.count(DEVICE_INFO) == 2
    simulator.faults.drop_connection(path=JOB, count=1)
    with pytest.raises(errors.CloudConnectionError, match="print_job"):
        await client.submit_job(box(simulator, OFFICE), URL_JOB)
    assert simulator.count(JOB) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_refused() -> None:
    """Nothing listening is CloudConnectionError naming the call and host, never the key."""
    creds = Credentials("lc-x", "device-secret-key")
    url = f"http://127.0.0.1:{_closed_port()}"
    async with LiankeClient("api-secret", base_url=url, max_retries=1, retry_backoff=0) as client:
        with pytest.raises(errors.CloudConnectionError) as caught:
            await client.printer_list(creds)
        assert client.stats.errors["printer_list", "connection"] == 2
    message = str(caught.value)
    assert message.startswith("printer_list: cannot reach 127.0.0.1:")
    assert "device-secret-key" not in message
    assert "api-secret" not in message
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectionError)


# ---------------------------------------------------------------------------- retry rules


@pytest.mark.parametrize("inject", ["rate_limit", "http_error", "drop_connection"])
async def test_reads_are_retried(client: LiankeClient, simulator: Simulator, inject: str) -> None:
    """A read that meets 10009, an HTTP 5xx or a dropped connection is sent again and works.

    query_device_task is a POST, so aiohttp's own resend of idempotent methods stays out of it.
    """
    path = "/api/print/query_device_task"
    getattr(simulator.faults, inject)(path=path, count=1)
    await client.device_tasks(box(simulator, OFFICE))
    assert simulator.count(path) == 2
    assert client.stats.retries == 1


async def test_read_only_posts_are_retried(client: LiankeClient, simulator: Simulator) -> None:
    """query_device_task and the model search are POSTs, but reads: retried on HTTP 5xx."""
    simulator.faults.http_error(503, path="/api/print/query_device_task")
    simulator.faults.http_error(503, path="/api/print/printer_enum")
    await client.device_tasks(box(simulator, OFFICE))
    await client.printer_models("HP")
    assert simulator.count("/api/print/query_device_task") == 2
    assert simulator.count("/api/print/printer_enum") == 2


async def test_reads_give_up_after_max_retries(simulator: Simulator) -> None:
    """max_retries bounds the attempts: 1 + max_retries requests, then the error."""
    simulator.faults.rate_limit(path=DEVICE_INFO, count=10)
    async with make_client(simulator, max_retries=3) as client:
        with pytest.raises(errors.TooFrequentError):
            await client.device_info(box(simulator, OFFICE))
        assert client.stats.rate_limited == 4
    assert simulator.count(DEVICE_INFO) == 4


async def test_writes_retry_only_on_too_frequent(
    client: LiankeClient, simulator: Simulator
) -> None:
    """A reboot refused with 10009 is sent again; one that met an HTTP 502 is not."""
    reboot = "/api/device/async_device_reboot"
    office, warehouse = box(simulator, OFFICE), box(simulator, WAREHOUSE)
    simulator.faults.rate_limit(path=reboot, count=1)
    await client.reboot(office)
    assert simulator.count(reboot) == 2
    simulator.faults.http_error(502, path=reboot)
    with pytest.raises(errors.CloudResponseError):
        await client.reboot(warehouse)
    assert simulator.count(reboot) == 3


@pytest.mark.parametrize("inject", ["rate_limit", "http_error", "drop_connection"])
async def test_jobs_and_page_counts_are_never_retried(
    client: LiankeClient, simulator: Simulator, inject: str
) -> None:
    """A print job or page count that failed in any way was sent exactly once."""
    getattr(simulator.faults, inject)(path=JOB, count=1)
    getattr(simulator.faults, inject)(path="/api/print/file_pages", count=1)
    office = box(simulator, OFFICE)
    with pytest.raises(errors.CloudError):
        await client.submit_job(office, URL_JOB)
    with pytest.raises(errors.CloudError):
        await client.file_pages(office, urls=["https://a/x"])
    assert simulator.count(JOB) == 1
    assert simulator.count("/api/print/file_pages") == 1
    assert client.stats.retries == 0


async def test_offline_box_is_not_hammered(client: LiankeClient, simulator: Simulator) -> None:
    """An API error other than 10009 is never retried, even on a read."""
    office = box(simulator, OFFICE)
    simulator.faults.unplug_printer(office.device_id, 1)
    with pytest.raises(errors.NoPrinterError):
        await client.printer_status(office, 1)
    assert simulator.count(PRINTER_STATUS) == 1


# ---------------------------------------------------------------------------- politeness


async def test_printer_status_one_at_a_time_per_box(
    client: LiankeClient, simulator: Simulator
) -> None:
    """Concurrent printer_status calls for one box queue in the client: no 10009 ever."""
    office = box(simulator, OFFICE)
    results = await asyncio.gather(*(client.printer_status(office, 1) for _ in range(4)))
    assert len(results) == 4
    assert simulator.count(PRINTER_STATUS) == 4
    assert client.stats.rate_limited == 0


async def test_without_the_lock_the_cloud_says_busy(simulator: Simulator) -> None:
    """Two separate clients asking at once earn a 10009: the rule the lock keeps."""
    office = box(simulator, OFFICE)
    async with (
        make_client(simulator, max_retries=0) as first,
        make_client(simulator, max_retries=0) as second,
    ):
        outcomes = await asyncio.gather(
            first.printer_status(office, 1),
            second.printer_status(office, 1),
            return_exceptions=True,
        )
    assert any(isinstance(o, errors.TooFrequentError) for o in outcomes)


async def test_printer_status_of_different_boxes_runs_in_parallel() -> None:
    """The lock is per box: two boxes are asked at the same time."""
    timing = replace(Timing.fast(), printer_status=0.3)
    async with Simulator(fleet=demo_fleet(), timing=timing) as sim, make_client(sim) as client:
        started = time.monotonic()
        await asyncio.gather(
            client.printer_status(box(sim, OFFICE), 1),
            client.printer_status(box(sim, WAREHOUSE), 1),
        )
        elapsed = time.monotonic() - started
    assert elapsed < 0.55
    assert sim.count(PRINTER_STATUS) == 2


async def test_params_and_sizes_cached_per_model(
    client: LiankeClient, simulator: Simulator
) -> None:
    """A model's params and paper sizes are fetched once, however often and concurrently asked."""
    models = [p.model for p in await client.printer_list(box(simulator, OFFICE))]
    first = await asyncio.gather(*(client.printer_params(models[0]) for _ in range(5)))
    await client.printer_params(models[0])
    await client.printer_params(models[1])
    for _ in range(3):
        await client.paper_sizes(models[0])
    assert all(p is first[0] for p in first)
    assert simulator.count("/api/print/printer_params") == 2
    assert simulator.count("/api/print/paper_dimension_list") == 1
    client.clear_cache()
    await client.printer_params(models[0])
    assert simulator.count("/api/print/printer_params") == 3


async def test_cache_expires(simulator: Simulator) -> None:
    """With a TTL of zero every call goes to the cloud again."""
    async with make_client(simulator, cache_ttl=0) as client:
        await client.printer_params("HP LaserJet P1007")
        await client.printer_params("HP LaserJet P1007")
    assert simulator.count("/api/print/printer_params") == 2


async def test_errors_are_not_cached(client: LiankeClient, simulator: Simulator) -> None:
    """A failed params fetch is asked again next time."""
    simulator.faults.http_error(502, path="/api/print/printer_params", count=3)
    with pytest.raises(errors.CloudResponseError):
        await client.printer_params("HP LaserJet P1007")
    params = await client.printer_params("HP LaserJet P1007")
    assert params.model == "HP LaserJet P1007"
    assert simulator.count("/api/print/printer_params") == 4


async def test_client_wide_rate_limit(simulator: Simulator) -> None:
    """With rate_limit=10, fifteen calls take at least half a second: the last few waited.

    Ten go at once (the burst); how many of the other five find a token refilled meanwhile
    depends on how fast this machine issues them, so the count of waiters is a range.
    """
    async with make_client(simulator, rate_limit=10) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.device_info(box(simulator, OFFICE)) for _ in range(15)))
        elapsed = time.monotonic() - started
        assert 1 <= client.stats.throttled <= 5
    assert elapsed >= 0.45
    assert simulator.count(DEVICE_INFO) == 15


async def test_api_key_on_every_call(client: LiankeClient, simulator: Simulator) -> None:
    """All 18 method/path pairs are covered, and every request carried the ApiKey."""
    office, warehouse = box(simulator, OFFICE), box(simulator, WAREHOUSE)
    await client.printer_list(office)
    await client.printer_params("HP LaserJet P1007")
    await client.paper_sizes("HP LaserJet P1007")
    await client.printer_models()
    await client.printer_models("HP")
    task_id = await client.submit_job(office, URL_JOB)
    await client.job_status(office, task_id)
    await client.cancel_job(office, task_id)
    await client.device_info(office)
    await client.printer_status(office, 1)
    await client.device_tasks(office)
    await client.request_adaptation(office, 611809, "13512345678")
    await client.refresh_device_info(warehouse, "2.1.98")
    await client.refresh_network_printers(office)
    await client.file_pages(office, urls=["https://a/x.pdf"])
    with pytest.raises(errors.NothingToResetError):
        await client.reset_error_limit(office)
    await client.flush_jobs(office)
    await client.reboot(office)
    pairs = {(r.method, r.path) for r in simulator.requests}
    assert len(pairs) == 18
    assert {r.api_key for r in simulator.requests} == {simulator.fleet.api_key}


# ---------------------------------------------------------------------------- stats and secrets


async def test_stats_for_the_health_topic(client: LiankeClient, simulator: Simulator) -> None:
    """Stats counts calls by name and errors by call and code, as JSON-ready numbers."""
    office = box(simulator, OFFICE)
    await client.device_info(office)
    simulator.faults.unplug_printer(office.device_id, 1)
    with pytest.raises(errors.NoPrinterError):
        await client.printer_status(office, 1)
    stats = client.stats.to_json()
    assert stats["calls"] == {"device_info": 1, "printer_status": 1}
    assert stats["errors"] == {"printer_status": {"497": 1}}
    assert stats["rate_limited"] == 0
    assert stats["last_latency_ms"] > 0
    assert stats["last_call"] == "printer_status"


def test_empty_stats() -> None:
    """A fresh client's stats are zeros, not missing keys."""
    assert ApiStats().to_json() == {
        "calls": {},
        "errors": {},
        "rate_limited": 0,
        "throttled": 0,
        "retries": 0,
        "cache_hits": 0,
        "refused_unsent": 0,
        "last_latency_ms": None,
        "last_call": None,
    }


async def test_no_secrets_in_logs(
    client: LiankeClient, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logs of calls, retries and failures never show the ApiKey or a deviceKey."""
    caplog.set_level(logging.DEBUG, logger="lianke_bridge")
    office = box(simulator, OFFICE)
    simulator.faults.rate_limit(path=DEVICE_INFO, count=1)
    await client.device_info(office)
    await client.printer_list(office)
    with pytest.raises(errors.DeviceAuthError):
        await client.device_info(Credentials(office.device_id, "wrong-key"))
    assert caplog.records
    assert office.device_key not in caplog.text
    assert simulator.fleet.api_key not in caplog.text
    assert "wrong-key" not in caplog.text
    assert office.device_key not in repr(client)


async def test_borrowed_session_stays_open(simulator: Simulator) -> None:
    """A session passed in is used and left open; the client's own is closed on exit."""
    async with aiohttp.ClientSession() as session:
        async with LiankeClient(
            simulator.fleet.api_key, base_url=simulator.url, session=session
        ) as client:
            await client.device_info(box(simulator, OFFICE))
        assert not session.closed
    own = make_client(simulator)
    await own.device_info(box(simulator, OFFICE))
    await own.close()
    assert own._session is None


async def test_closed_borrowed_session_is_a_clear_error(simulator: Simulator) -> None:
    """Using a client whose borrowed session was closed says so instead of crashing."""
    async with aiohttp.ClientSession() as session:
        client = LiankeClient(simulator.fleet.api_key, base_url=simulator.url, session=session)
    with pytest.raises(errors.CloudConnectionError, match="session is closed"):
        await client.device_info(box(simulator, OFFICE))
    assert simulator.requests == []


def test_an_api_key_is_required() -> None:
    """An empty ApiKey is a programming error caught at construction."""
    with pytest.raises(ValueError, match="ApiKey"):
        LiankeClient("")


@pytest.mark.parametrize(
    ("text", "version", "needed"),
    [
        ("2.1.113", (2, 1, 113), False),
        ("2.1.112", (2, 1, 112), False),
        ("2.1.111", (2, 1, 111), True),
        ("2.1.98", (2, 1, 98), True),
        ("v2.2.0-beta", (2, 2, 0), False),
        ("2.10", (2, 10), False),
        (None, None, True),
        ("unknown", None, True),
    ],
)
def test_firmware_compare(text: str | None, version: tuple[int, ...] | None, needed: bool) -> None:
    """Firmware versions compare as numbers (2.1.98 < 2.1.112), not as strings."""
    assert parse_version(text) == version
    assert refresh_needed(text) is needed


async def test_url_job_without_a_known_type_is_refused_unsent(
    client: LiankeClient, simulator: Simulator
) -> None:
    """A URL whose type neither url_file_ext nor its path gives is not sent (urlFileExt)."""
    request = PrintRequest(urls=("https://a.example/download?id=7",), paper_size=9)
    with pytest.raises(ValueError, match="urlFileExt"):
        await client.submit_job(box(simulator, OFFICE), request)
    assert simulator.requests == []


async def test_url_job_sends_the_type_of_its_path(
    client: LiankeClient, simulator: Simulator
) -> None:
    """A link ending in .pdf before its ?query goes with urlFileExt .pdf and both scalings."""
    request = PrintRequest(urls=("https://a.example/x.pdf?sig=1",), paper_size=9)
    await client.submit_job(box(simulator, OFFICE), request)
    sent = simulator.requests[-1].fields
    assert (sent["urlFileExt"], sent["jpScale"], sent["jpAutoScale"]) == (".pdf", "fit", "4")


# ---------------------------------------------------------------------------- refused keys


async def test_refused_api_key_stops_every_call_at_once(
    simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """After one 10001 no call reaches the cloud; each is refused at once, saying why."""
    caplog.set_level(logging.INFO)
    async with LiankeClient("wrong-api-key-123", base_url=simulator.url, rate_limit=0) as client:
        with pytest.raises(errors.InvalidApiKeyError):
            await client.device_info(box(simulator, OFFICE))
        for call in (
            client.device_info(box(simulator, WAREHOUSE)),
            client.printer_models(),
            client.submit_job(box(simulator, OFFICE), URL_JOB),
        ):
            with pytest.raises(errors.InvalidApiKeyError, match="not sent") as caught:
                await call
            assert caught.value.code == 10001
        assert client.key_refusal is not None
        assert client.stats.unsent == 3
    assert len(simulator.requests) == 1
    refused = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(refused) == 1
    assert "wrong-api-key-123" not in refused[0].getMessage()


async def test_refused_api_key_is_tried_again_and_lifted(simulator: Simulator) -> None:
    """retry_refused (SIGHUP) lets one call through; once the key is accepted, all calls pass."""
    async with LiankeClient("new-key", base_url=simulator.url, rate_limit=0) as client:
        with pytest.raises(errors.InvalidApiKeyError):
            await client.device_info(box(simulator, OFFICE))
        client.retry_refused()
        with pytest.raises(errors.InvalidApiKeyError):  # still refused: sent, refused again
            await client.device_info(box(simulator, OFFICE))
        assert len(simulator.requests) == 2
        simulator.fleet = replace(simulator.fleet, api_key="new-key")
        client.retry_refused()
        await client.device_info(box(simulator, OFFICE))
        assert client.key_refusal is None
        await client.device_info(box(simulator, WAREHOUSE))
    assert len(simulator.requests) == 4


async def test_refused_key_is_tried_again_after_the_interval(simulator: Simulator) -> None:
    """refusal_retry is the interval: with 0 every call is a new try (the default is 15 min)."""
    async with LiankeClient(
        "wrong", base_url=simulator.url, rate_limit=0, refusal_retry=0.0
    ) as eager:
        for _ in range(2):
            with pytest.raises(errors.InvalidApiKeyError):
                await eager.device_info(box(simulator, OFFICE))
    assert len(simulator.requests) == 2


async def test_refused_device_key_stops_only_that_box(simulator: Simulator) -> None:
    """A 404 box is answered locally from then on; other boxes go on; retry_refused tries it."""
    office = box(simulator, OFFICE)
    wrong = Credentials(office.device_id, "not-its-key")
    async with make_client(simulator) as client:
        with pytest.raises(errors.DeviceAuthError):
            await client.device_info(wrong)
        with pytest.raises(errors.DeviceAuthError, match="not sent"):
            await client.printer_list(wrong)
        await client.device_info(box(simulator, WAREHOUSE))
        assert client.device_refusal(office.device_id) is not None
        client.retry_refused()
        await client.device_info(office)  # the right key now: accepted, refusal lifted
        assert client.device_refusal(office.device_id) is None
    assert [r.path for r in simulator.requests] == [DEVICE_INFO] * 3


async def test_probe_without_an_answer_decides_nothing(simulator: Simulator) -> None:
    """A probe that never gets an API answer (HTTP 502) leaves the key refused, tried again."""
    async with LiankeClient("k", base_url=simulator.url, rate_limit=0, max_retries=0) as client:
        with pytest.raises(errors.InvalidApiKeyError):
            await client.device_info(box(simulator, OFFICE))
        simulator.faults.http_error(502, path=DEVICE_INFO)
        client.retry_refused()
        with pytest.raises(errors.CloudResponseError):
            await client.device_info(box(simulator, OFFICE))
        assert client.key_refusal is not None
        with pytest.raises(errors.InvalidApiKeyError):  # no verdict yet: this one is sent
            await client.device_info(box(simulator, OFFICE))
    assert len(simulator.requests) == 3
