"""The simulator's stateful rules: job life, cancel, flush, reboot, limits, refusals, callbacks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sim_api import SimApi

from lianke_bridge.simulator import Simulator, Timing, demo_fleet
from lianke_bridge.simulator.documents import url_pages

SLOW_JOBS = Timing(
    ready=0.05,
    parsing=0.1,
    sending=0.1,
    revoke=0.05,
    reboot=0.2,
    refresh=0.2,
    printer_status=0.1,
    answer=0.1,
    pages=0.05,
    callback_retries=(0.0, 0.05, 0.1),
)


@pytest.fixture
async def slow_api() -> AsyncIterator[SimApi]:
    """A simulator whose stages last ~0.1 s, so every state can be seen by polling."""
    async with Simulator(demo_fleet(), SLOW_JOBS) as sim, aiohttp.ClientSession() as session:
        yield SimApi(sim, session)


async def _states(api: SimApi, task_id: str) -> list[str]:
    """Every task_state seen by polling quickly until the task ends."""
    seen: list[str] = []
    async with asyncio.timeout(3):
        while True:
            state = (await api.job(task_id))["data"]["task_state"]
            if not seen or seen[-1] != state:
                seen.append(state)
            if state in ("SUCCESS", "FAILURE", "REVOKED"):
                return seen
            await asyncio.sleep(0.005)


# ---------------------------------------------------------------------------- job life


async def test_job_moves_ready_parsing_sending_success(slow_api: SimApi) -> None:
    """A job goes READY -> PARSING -> SENDING -> SUCCESS, with result code 200."""
    task_id = await slow_api.submit_ok()
    assert await _states(slow_api, task_id) == ["READY", "PARSING", "SENDING", "SUCCESS"]
    data = (await slow_api.job(task_id))["data"]
    assert data["task_result"]["code"] == 200
    assert data["task_result"]["data"]["send_total"] == data["task_result"]["data"]["file_total"]


async def test_printer_reports_printing_while_sending(slow_api: SimApi) -> None:
    """While a job is SENDING, printer_status and printer_list say the printer is printing."""
    task_id = await slow_api.submit_ok()
    await slow_api.wait_state(task_id, "SENDING")
    listing = await slow_api.get("/api/external_api/printer_list", **slow_api.creds())
    assert listing["data"]["row"][0]["printer_state"] == "printing"


async def test_jobs_for_one_printer_run_one_after_another(slow_api: SimApi) -> None:
    """A second job waits in READY until the first has been sent."""
    first = await slow_api.submit_ok()
    second = await slow_api.submit_ok()
    await slow_api.wait_state(first, ("PARSING", "SENDING"))
    assert (await slow_api.job(second))["data"]["task_state"] == "READY"
    assert (await slow_api.wait_final(second))["task_state"] == "SUCCESS"


async def test_page_counts_from_pdf_image_and_urls(sim_api: SimApi) -> None:
    """Pages: a PDF's page objects, 1 for an image, the same number for the same URL."""
    pdf = b"%PDF-1.7 " + b"<< /Type /Page >> " * 4 + b"<< /Type /Pages /Count 4 >>"
    pdf_task = await sim_api.submit(file=("a.pdf", pdf))
    png_task = await sim_api.submit(file=("a.png", b"\x89PNG" + b"0" * 1000))
    url = "https://example.com/report.docx"
    url_tasks = [await sim_api.submit_ok(jobFile=url) for _ in range(2)]
    two_urls = await sim_api.submit_ok(jobFile=f"{url}\n{url}")
    pages = [
        (await sim_api.wait_final(t))["task_result"]["data"]["total_page"]
        for t in (pdf_task["data"]["task_id"], png_task["data"]["task_id"], *url_tasks, two_urls)
    ]
    assert pages[:2] == [4, 1]
    assert pages[2] == pages[3]
    assert pages[4] == 2 * pages[2]


async def test_form_urlencoded_and_multipart_text_are_both_accepted(sim_api: SimApi) -> None:
    """A URL job is accepted urlencoded (the Python SDK) and as multipart text (Postman)."""
    fields = {
        **sim_api.creds(),
        "devicePort": "1",
        "dmPaperSize": "9",
        "jpAutoScale": "4",
        "jobFile": "https://x/y.pdf",
        "urlFileExt": ".pdf",
    }
    urlencoded = await sim_api.post_form("/api/print/job", fields)
    multipart = aiohttp.FormData(fields)
    multipart._is_multipart = True  # force multipart for a text-only form
    answer = await sim_api.request("POST", "/api/print/job", data=multipart)
    assert urlencoded["code"] == 200
    assert answer["code"] == 200


async def test_parameters_are_read_only_where_the_reference_puts_them(sim_api: SimApi) -> None:
    """A print job sent as JSON, or flush_jobs sent as a form, lacks its credentials: 404."""
    job = await sim_api.post_json(
        "/api/print/job", {**sim_api.creds(), "dmPaperSize": 9, "jobFile": "https://x/y.pdf"}
    )
    flush = await sim_api.post_form("/api/print/flush_jobs", {**sim_api.creds(), "devicePort": 1})
    assert job["code"] == 404
    assert flush["code"] == 404


async def test_paper_size_is_required_unless_a_task_ticket_is_given(sim_api: SimApi) -> None:
    """The paper size (dmPaperSize) is required; a taskTicket stands for file and paper size."""
    fields = {**sim_api.creds(), "devicePort": 1, "jpAutoScale": 4}
    without = await sim_api.post_form(
        "/api/print/job", {**fields, "jobFile": "https://x/y.pdf", "urlFileExt": ".pdf"}
    )
    ticket = await sim_api.post_form("/api/print/job", {**fields, "taskTicket": "abc"})
    nothing = await sim_api.post_form("/api/print/job", {**fields, "dmPaperSize": 9})
    assert without["code"] == 400
    assert "dmPaperSize" in without["msg"]
    assert ticket["code"] == 200
    assert nothing["code"] == 400


async def test_device_port_must_exist_on_the_box(sim_api: SimApi) -> None:
    """Port 4 on a three-port box is refused; 631 (network printers) is accepted."""
    bad = await sim_api.submit(devicePort=4)
    network = await sim_api.submit(devicePort=631)
    assert bad["code"] == 400
    assert network["code"] == 200


async def test_network_printer_takes_jobs_on_port_1_with_target_ip(sim_api: SimApi) -> None:
    """A job on devicePort 1 with the inkjet's targetIp goes to the inkjet, not the USB laser."""
    sim_api.sim.faults.unplug_printer(sim_api.box.device_id, 1)
    via_ip = await sim_api.submit_ok(targetIp="192.168.7.60")
    to_usb = await sim_api.submit_ok()
    assert (await sim_api.wait_final(via_ip))["task_result"]["code"] == 200
    assert (await sim_api.wait_final(to_usb))["task_result"]["code"] == 497


async def test_task_of_another_box_is_not_found(sim_api: SimApi) -> None:
    """A task id is only visible with the credentials of the box it was sent to."""
    task_id = await sim_api.submit_ok()
    other = sim_api.sim.fleet.boxes[1]
    answer = await sim_api.job(task_id, other)
    assert answer["code"] == 400


# ---------------------------------------------------------------------------- cancel, flush


async def test_cancel_goes_set_revoke_then_revoked(slow_api: SimApi) -> None:
    """Cancelling a queued job shows SET_REVOKE, then REVOKED; it is never printed."""
    task_id = await slow_api.submit_ok()
    answer = await slow_api.request(
        "DELETE", "/api/print/job", query={**slow_api.creds(), "devicePort": 1, "task_id": task_id}
    )
    assert answer["code"] == 200
    assert await _states(slow_api, task_id) == ["SET_REVOKE", "REVOKED"]
    assert "task_result" not in (await slow_api.job(task_id))["data"]


async def test_cancel_of_a_finished_job_is_refused(sim_api: SimApi) -> None:
    """A job that has ended cannot be revoked."""
    task_id = await sim_api.submit_ok()
    await sim_api.wait_final(task_id)
    query = {**sim_api.creds(), "devicePort": 1, "task_id": task_id}
    answer = await sim_api.request("DELETE", "/api/print/job", query=query)
    assert answer["code"] != 200
    assert (await sim_api.job(task_id))["data"]["task_state"] == "SUCCESS"


async def test_flush_drops_queued_jobs_but_not_the_one_printing(slow_api: SimApi) -> None:
    """flush_jobs revokes the waiting jobs, returns how many, and lets the printing one finish."""
    first = await slow_api.submit_ok()
    await slow_api.wait_state(first, ("PARSING", "SENDING"))  # printing, no longer queued
    queued = [await slow_api.submit_ok() for _ in range(3)]
    answer = await slow_api.post_json(
        "/api/print/flush_jobs", {**slow_api.creds(), "devicePort": 1}
    )
    assert answer["data"]["queue_num"] == 3
    assert (await slow_api.wait_final(first))["task_state"] == "SUCCESS"
    for task_id in queued:
        assert (await slow_api.job(task_id))["data"]["task_state"] == "REVOKED"


async def test_flush_leaves_other_ports_alone(slow_api: SimApi) -> None:
    """Flushing port 2 keeps the jobs queued for port 1."""
    await slow_api.submit_ok()
    task_id = await slow_api.submit_ok()
    answer = await slow_api.post_json(
        "/api/print/flush_jobs", {**slow_api.creds(), "devicePort": 2}
    )
    assert answer["data"]["queue_num"] == 0
    assert (await slow_api.wait_final(task_id))["task_state"] == "SUCCESS"


# ---------------------------------------------------------------------------- query_device_task


async def test_query_device_task_lists_the_days_jobs_newest_first(sim_api: SimApi) -> None:
    """The day's jobs, newest first, with their result; jobs older than a day drop out."""
    first = await sim_api.submit_ok()
    await sim_api.wait_final(first)
    sim_api.sim.faults.jobs_fail(sim_api.box.device_id)
    second = await sim_api.submit_ok()
    await sim_api.wait_final(second)
    old = await sim_api.submit_ok()
    await sim_api.wait_final(old)
    sim_api.sim.state.jobs[old].created -= timedelta(days=2)
    rows = (await sim_api.post_json("/api/print/query_device_task", sim_api.creds()))["data"]
    assert [r["task_id"] for r in rows["task_list"]] == [second, first]
    assert [r["job_status"] for r in rows["task_list"]] == [0, 1]
    assert rows["task_list"][0]["result"]["code"] == 502


# ---------------------------------------------------------------------------- the box


async def test_reboot_takes_the_box_offline_for_a_while(slow_api: SimApi) -> None:
    """Reboot: online 0, a second reboot 401, jobs 5002; back online after Timing.reboot."""
    creds = slow_api.creds()
    assert (await slow_api.post_json("/api/device/async_device_reboot", creds))["code"] == 200
    info = await slow_api.get("/api/device/device_info", **creds)
    assert info["data"]["info"]["online"] == 0
    assert (await slow_api.post_json("/api/device/async_device_reboot", creds))["code"] == 401
    assert (await slow_api.submit())["code"] == 5002
    await slow_api.wait_answer(  # back once the reboot is over
        "/api/device/device_info", lambda a: a["data"]["info"]["online"] == 1, creds
    )
    assert (await slow_api.submit())["code"] == 200


async def test_reboot_of_an_offline_box_is_refused(sim_api: SimApi) -> None:
    """An offline box cannot be rebooted: 5002."""
    sim_api.sim.faults.box_offline(sim_api.box.device_id)
    answer = await sim_api.post_json("/api/device/async_device_reboot", sim_api.creds())
    assert answer["code"] == 5002


async def test_job_in_flight_during_reboot_fails(slow_api: SimApi) -> None:
    """A job being sent when the box reboots ends with the device connection error 503."""
    task_id = await slow_api.submit_ok()
    await slow_api.wait_state(task_id, "SENDING")
    await slow_api.post_json("/api/device/async_device_reboot", slow_api.creds())
    result = (await slow_api.wait_final(task_id))["task_result"]
    assert result["code"] == 503


async def test_device_info_online_states(sim_api: SimApi) -> None:
    """The online field is 1, 0 when the box is offline, and null for a box never switched on."""
    boxes = sim_api.sim.fleet.boxes
    sim_api.sim.faults.box_offline(boxes[1].device_id)
    online = [
        (await sim_api.get("/api/device/device_info", **sim_api.creds(b)))["data"]["info"]["online"]
        for b in boxes
    ]
    assert online == [1, 0, None]


async def test_report_device_status_refuses_offline_and_unnetworked_boxes(sim_api: SimApi) -> None:
    """Jobs to an offline box get 5002, to a never-booted box 5001 (reportDeviceStatus is on)."""
    spare = sim_api.sim.fleet.boxes[2]
    never = await sim_api.submit(spare)
    sim_api.sim.faults.box_offline(sim_api.box.device_id)
    offline = await sim_api.submit()
    assert never["code"] == 5001
    assert offline["code"] == 5002


async def test_report_device_status_off_accepts_and_the_job_fails(sim_api: SimApi) -> None:
    """With reportDeviceStatus=0 an offline box takes the job, which fails with 503."""
    sim_api.sim.faults.box_offline(sim_api.box.device_id)
    task_id = await sim_api.submit_ok(reportDeviceStatus=0)
    done = await sim_api.wait_final(task_id)
    assert done["task_state"] == "SUCCESS"
    assert done["task_result"]["code"] == 503


async def test_job_reaching_an_offline_box_fails(slow_api: SimApi) -> None:
    """A queued job whose box is offline when it is to be sent fails with 503."""
    task_id = await slow_api.submit_ok()
    slow_api.sim.faults.box_offline(slow_api.box.device_id)
    done = await slow_api.wait_final(task_id)  # it ends while the box is still offline
    slow_api.sim.faults.box_offline(slow_api.box.device_id, offline=False)
    assert done["task_result"]["code"] == 503


async def test_box_comes_back_online(sim_api: SimApi) -> None:
    """After box_offline(False) jobs are accepted again."""
    sim_api.sim.faults.box_offline(sim_api.box.device_id)
    sim_api.sim.faults.box_offline(sim_api.box.device_id, offline=False)
    assert (await sim_api.submit())["code"] == 200


async def test_refresh_network_printer_needs_the_box_online(sim_api: SimApi) -> None:
    """Rescanning the LAN needs an online box (5002 otherwise)."""
    sim_api.sim.faults.box_offline(sim_api.box.device_id)
    answer = await sim_api.get("/api/printer/refresh_network_printer", **sim_api.creds())
    assert answer["code"] == 5002


async def test_async_refresh_is_401_while_refreshing_and_10009_concurrently(
    slow_api: SimApi,
) -> None:
    """Two refreshes at once: one 10009; then 401 while the refresh runs; 200 afterwards."""
    creds = slow_api.creds()
    path = "/api/device/async_refresh_device_info"
    codes = sorted(
        a["code"]
        for a in await asyncio.gather(slow_api.get(path, **creds), slow_api.get(path, **creds))
    )
    assert codes == [200, 10009]
    assert (await slow_api.get(path, **creds))["code"] == 401
    # Asked again and again, it is 401 until the refresh is over, then a new one starts.
    answer = await slow_api.wait_answer(path, lambda a: a["code"] != 401, creds)
    assert answer["code"] == 200


# ---------------------------------------------------------------------------- printers


async def test_printer_status_is_slow_and_one_at_a_time(slow_api: SimApi) -> None:
    """printer_status takes Timing.printer_status; a second call for the box meanwhile is 10009."""
    query = {**slow_api.creds(), "usbPort": 1}
    started = time.monotonic()
    answers = await asyncio.gather(
        slow_api.get("/api/device/printer_status", **query),
        slow_api.get("/api/device/printer_status", **query),
    )
    assert time.monotonic() - started >= SLOW_JOBS.printer_status
    assert sorted(a["code"] for a in answers) == [200, 10009]


async def test_printer_status_of_an_offline_box_is_5002(sim_api: SimApi) -> None:
    """The printer cannot be asked through an offline box."""
    sim_api.sim.faults.box_offline(sim_api.box.device_id)
    answer = await sim_api.get("/api/device/printer_status", **sim_api.creds(), usbPort=1)
    assert answer["code"] == 5002


async def test_printer_without_status_support_reports_nothing(sim_api: SimApi) -> None:
    """The receipt printer has no support_status: printer_status has no problem to report."""
    answer = await sim_api.get("/api/device/printer_status", **sim_api.creds(), usbPort=2)
    assert answer["code"] == 200
    assert not any(v for k, v in answer["data"].items() if k != "msg")


@pytest.mark.parametrize(
    ("problem", "field", "list_state"),
    [
        ("paper_out", "outOfPaper", "outOfPaper"),
        ("paper_jam", "paperJam", "paperJam"),
        ("cover_open", "headOpened", "headOpened"),
        ("out_of_ink", "outOfInk", "outOfInk"),
        ("paused", "pause", "pause"),
    ],
)
async def test_printer_problems_show_in_status_list_and_jobs(
    sim_api: SimApi, problem: str, field: str, list_state: str
) -> None:
    """Each problem sets its printer_status flag and printer_state; a job then fails."""
    sim_api.sim.faults.printer_problem(sim_api.box.device_id, 1, **{problem: True})
    status = await sim_api.get("/api/device/printer_status", **sim_api.creds(), usbPort=1)
    listing = await sim_api.get("/api/external_api/printer_list", **sim_api.creds())
    done = await sim_api.wait_final(await sim_api.submit_ok())
    assert status["data"][field] is True
    assert status["data"]["pause"] is True
    assert listing["data"]["row"][0]["printer_state"] == list_state
    assert done["task_result"]["code"] == 500


async def test_label_printer_runs_out_of_ribbon(sim_api: SimApi) -> None:
    """The label printer reports outOfRibbon (the laser's answer has no such field)."""
    label_box = sim_api.sim.fleet.boxes[1]
    sim_api.sim.faults.printer_problem(label_box.device_id, 1, out_of_ribbon=True)
    label = await sim_api.get("/api/device/printer_status", **sim_api.creds(label_box), usbPort=1)
    laser = await sim_api.get("/api/device/printer_status", **sim_api.creds(), usbPort=1)
    assert label["data"]["outOfRibbon"] is True
    assert label["data"]["msg"] == "Ribbon end."
    assert "outOfRibbon" not in laser["data"]


async def test_network_printer_with_a_problem_is_stopped(sim_api: SimApi) -> None:
    """A network printer's printer_state is ``stopped`` when it has a problem."""
    sim_api.sim.faults.printer_problem(sim_api.box.device_id, 631, out_of_ink=True)
    listing = await sim_api.get("/api/external_api/printer_list", **sim_api.creds(), printerType=2)
    assert listing["data"]["row"][0]["printer_state"] == "stopped"


async def test_unplugged_printer_leaves_the_list_and_jobs_get_5011(sim_api: SimApi) -> None:
    """Unplugged: gone from printer_list, 5011 with reportPrinterStatus, 497 as job result."""
    sim_api.sim.faults.unplug_printer(sim_api.box.device_id, 1)
    listing = await sim_api.get("/api/external_api/printer_list", **sim_api.creds())
    refused = await sim_api.submit(reportPrinterStatus=1)
    done = await sim_api.wait_final(await sim_api.submit_ok())
    assert [r["port"] for r in listing["data"]["row"]] == [2]
    assert refused["code"] == 5011
    assert done["task_result"]["code"] == 497
    sim_api.sim.faults.plug_printer(sim_api.box.device_id, 1)
    assert (await sim_api.submit(reportPrinterStatus=1))["code"] == 200


async def test_empty_port_is_5011_with_report_printer_status(sim_api: SimApi) -> None:
    """Port 3 of the demo box is empty: reportPrinterStatus=1 refuses the job."""
    answer = await sim_api.submit(devicePort=3, reportPrinterStatus=1)
    assert answer["code"] == 5011


# ---------------------------------------------------------------------------- error limit


async def test_jobs_fail_fault_ends_jobs_badly(sim_api: SimApi) -> None:
    """jobs_fail: SUCCESS with a non-200 result, or FAILURE when asked."""
    box = sim_api.box.device_id
    sim_api.sim.faults.jobs_fail(box)
    bad_result = await sim_api.wait_final(await sim_api.submit_ok())
    sim_api.sim.faults.jobs_fail(box, task_state="FAILURE")
    failure = await sim_api.wait_final(await sim_api.submit_ok())
    sim_api.sim.faults.jobs_fail(box, fail=False)
    good = await sim_api.wait_final(await sim_api.submit_ok())
    assert (bad_result["task_state"], bad_result["task_result"]["code"]) == ("SUCCESS", 502)
    assert failure["task_state"] == "FAILURE"
    assert good["task_result"]["code"] == 200


async def test_thirty_failures_pause_the_box_until_reset(sim_api: SimApi) -> None:
    """After 30 consecutive failures jobs get 11203; a reset lets them through again."""
    runtime = sim_api.sim.state.boxes[sim_api.box.device_id]
    runtime.failures = 29
    sim_api.sim.faults.jobs_fail(sim_api.box.device_id)
    await sim_api.wait_final(await sim_api.submit_ok())
    paused = await sim_api.submit()
    assert paused["code"] == 11203
    assert "30" in paused["msg"]
    reset = await sim_api.post_json(
        "/api/print/reset_printing_error_limit", {**sim_api.creds(), "devicePort": "1"}
    )
    assert reset == {"code": 200, "msg": "success"}
    assert (await sim_api.submit())["code"] == 200


async def test_err_limit_num_lowers_the_limit(sim_api: SimApi) -> None:
    """errLimitNum=2: two consecutive failures are enough to pause the box for that job."""
    sim_api.sim.faults.jobs_fail(sim_api.box.device_id)
    for _ in range(2):
        await sim_api.wait_final(await sim_api.submit_ok())
    assert (await sim_api.submit(errLimitNum=2))["code"] == 11203
    assert (await sim_api.submit())["code"] == 200


async def test_success_resets_the_failure_count(sim_api: SimApi) -> None:
    """A successful job clears the run of failures: the limit counts consecutive ones."""
    runtime = sim_api.sim.state.boxes[sim_api.box.device_id]
    runtime.failures = 29
    await sim_api.wait_final(await sim_api.submit_ok())
    assert runtime.failures == 0


async def test_reset_with_nothing_to_reset_is_11201(sim_api: SimApi) -> None:
    """No failures recorded: 11201."""
    answer = await sim_api.post_json("/api/print/reset_printing_error_limit", sim_api.creds())
    assert answer["code"] == 11201


async def test_eleventh_reset_of_the_day_is_11200(sim_api: SimApi) -> None:
    """Ten resets a day per box; the eleventh is 11200."""
    runtime = sim_api.sim.state.boxes[sim_api.box.device_id]
    codes = []
    for _ in range(11):
        runtime.failures = 30
        answer = await sim_api.post_json("/api/print/reset_printing_error_limit", sim_api.creds())
        codes.append(answer["code"])
    assert codes == [200] * 10 + [11200]


async def test_concurrent_resets_are_10009(slow_api: SimApi) -> None:
    """Two resets for one box at once: the second is 10009."""
    slow_api.sim.state.boxes[slow_api.box.device_id].failures = 30
    path = "/api/print/reset_printing_error_limit"
    answers = await asyncio.gather(
        slow_api.post_json(path, slow_api.creds()), slow_api.post_json(path, slow_api.creds())
    )
    assert sorted(a["code"] for a in answers) == [200, 10009]


# ---------------------------------------------------------------------------- refusals


async def test_missing_or_wrong_api_key_is_refused(sim_api: SimApi) -> None:
    """No ApiKey, or a wrong one: code 10001, on every call."""
    path = "/api/device/device_info"
    query = sim_api.creds()
    missing = await sim_api.request("GET", path, query=query, headers={})
    wrong = await sim_api.request("GET", path, query=query, headers={"ApiKey": "nope"})
    assert missing == {"code": 10001, "msg": "ApiKey无效"}
    assert wrong == missing


async def test_wrong_device_credentials_are_404(sim_api: SimApi) -> None:
    """A wrong deviceKey or an unknown deviceId: 404 设备id或密码错误."""
    wrong_key = await sim_api.get(
        "/api/device/device_info", deviceId=sim_api.box.device_id, deviceKey="x"
    )
    unknown = await sim_api.get("/api/device/device_info", deviceId="lc00nothing", deviceKey="x")
    assert wrong_key == {"code": 404, "msg": "设备id或密码错误"}
    assert unknown == wrong_key


async def test_adaptation_request_needs_a_printer_id(sim_api: SimApi) -> None:
    """uninstall_driver_event without a printerId, or with one that is no id, is refused."""
    body = {**sim_api.creds(), "phone": "13912345678"}
    missing = await sim_api.post_json("/api/driver/uninstall_driver_event", body)
    bad = await sim_api.post_json(
        "/api/driver/uninstall_driver_event", {**body, "printerId": "first"}
    )
    assert (missing["code"], bad["code"]) == (400, 400)
    assert "printerId" in missing["msg"]


async def test_file_pages_refuses_files_over_20_mb(sim_api: SimApi) -> None:
    """file_pages takes one file of at most 20 MB."""
    big = b"0" * (20 * 1024 * 1024 + 1)
    answer = await sim_api.post_form("/api/print/file_pages", sim_api.creds(), ("big.pdf", big))
    two = await sim_api.post_form(
        "/api/print/file_pages", {**sim_api.creds(), "jobFile": "https://a/1.pdf\nhttps://a/2.pdf"}
    )
    assert answer["code"] == 400
    assert two["code"] == 400


async def test_file_pages_of_a_url_is_deterministic(sim_api: SimApi) -> None:
    """Counting the same URL twice gives the same number of pages."""
    fields = {**sim_api.creds(), "jobFile": "https://example.com/a.pdf"}
    pages = [(await sim_api.post_form("/api/print/file_pages", fields))["data"] for _ in "ab"]
    assert pages[0] == pages[1] == {"pages": url_pages("https://example.com/a.pdf")}


# ---------------------------------------------------------------------------- callbacks


Receiver = tuple[str, "asyncio.Queue[dict[str, Any]]", list[int]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A callback receiver: its URL, the bodies it gets, and the statuses it will answer."""
    bodies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    statuses: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        bodies.put_nowait(await request.json())
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/hook?x=1", bodies, statuses
    finally:
        await runner.cleanup()


async def test_callback_receives_the_documented_json(sim_api: SimApi, receiver: Receiver) -> None:
    """When a job ends, callbackUrl gets {device_id, task_id, task_state, times, task_result}."""
    url, bodies, _ = receiver
    task_id = await sim_api.submit_ok(callbackUrl=url)
    await sim_api.wait_final(task_id)
    async with asyncio.timeout(2):
        body = await bodies.get()
    assert set(body) == {
        "device_id",
        "task_id",
        "task_state",
        "create_time",
        "finish_time",
        "task_result",
    }
    assert (body["device_id"], body["task_id"], body["task_state"]) == (
        sim_api.box.device_id,
        task_id,
        "SUCCESS",
    )
    assert body["task_result"] == {"code": 200, "msg": "success"}


async def test_callback_is_retried_until_answered_200(sim_api: SimApi, receiver: Receiver) -> None:
    """A receiver answering 500 gets the callback again (the reference: 3 tries)."""
    url, bodies, statuses = receiver
    statuses.extend([500, 500])
    await sim_api.wait_final(await sim_api.submit_ok(callbackUrl=url))
    async with asyncio.timeout(2):
        got = [await bodies.get() for _ in range(3)]
    await sim_api.sim.state.wait_idle()
    assert got[0] == got[2]
    assert bodies.empty()


async def test_unreachable_callback_does_not_disturb_the_job(sim_api: SimApi) -> None:
    """A callback URL nobody listens on is given up quietly; the job still succeeds."""
    task_id = await sim_api.submit_ok(callbackUrl="http://127.0.0.1:9/nothing")
    assert (await sim_api.wait_final(task_id))["task_result"]["code"] == 200
    async with asyncio.timeout(2):
        await sim_api.sim.state.wait_idle()
    assert len(sim_api.sim.state.callbacks) == 3
    assert all("error" in attempt for attempt in sim_api.sim.state.callbacks)
