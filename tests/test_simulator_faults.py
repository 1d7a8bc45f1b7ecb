"""Request faults, the admin endpoint and the request log of the simulator."""

from __future__ import annotations

import time

import aiohttp
import pytest
from sim_api import SimApi

INFO = "/api/device/device_info"
ENUM = "/api/print/printer_enum"


async def test_rate_limit_answers_10009_for_the_next_calls(sim_api: SimApi) -> None:
    """rate_limit(path, count=2): two 10009 answers on that path, other paths unaffected."""
    sim_api.sim.faults.rate_limit("device_info", count=2)
    other = await sim_api.get(ENUM)
    answers = [(await sim_api.get(INFO, **sim_api.creds()))["code"] for _ in range(3)]
    assert other["code"] == 200
    assert answers == [10009, 10009, 200]


async def test_rate_limit_without_path_hits_any_call(sim_api: SimApi) -> None:
    """rate_limit() with no path limits whatever call comes next."""
    sim_api.sim.faults.rate_limit()
    assert (await sim_api.get(ENUM))["code"] == 10009
    assert (await sim_api.get(ENUM))["code"] == 200


async def test_api_error_answers_any_code_with_its_message(sim_api: SimApi) -> None:
    """api_error(code, msg, path): that answer once on that path, HTTP 200 like the cloud."""
    sim_api.sim.faults.api_error(503, "设备连接异常", path=INFO)
    answer = await sim_api.get(INFO, **sim_api.creds())
    assert answer == {"code": 503, "msg": "设备连接异常"}
    assert (await sim_api.get(INFO, **sim_api.creds()))["code"] == 200


async def test_slow_delays_answers_until_cleared(sim_api: SimApi) -> None:
    """slow(seconds, path) delays every matching answer; slow(0) ends it."""
    sim_api.sim.faults.slow(0.2, path=INFO)
    started = time.monotonic()
    await sim_api.get(INFO, **sim_api.creds())
    await sim_api.get(INFO, **sim_api.creds())
    slow_elapsed = time.monotonic() - started
    sim_api.sim.faults.slow(0, path=INFO)
    started = time.monotonic()
    await sim_api.get(INFO, **sim_api.creds())
    assert slow_elapsed >= 0.4
    assert time.monotonic() - started < 0.2


async def test_http_error_sends_an_html_page(sim_api: SimApi) -> None:
    """http_error(502): HTTP 502 with an nginx-like HTML page, once."""
    sim_api.sim.faults.http_error(502)
    async with sim_api.session.get(sim_api.sim.url + ENUM, headers=sim_api.headers) as response:
        assert response.status == 502
        assert response.content_type == "text/html"
        assert "<h1>502 Bad Gateway</h1>" in await response.text()
    assert (await sim_api.get(ENUM))["code"] == 200


async def test_http_error_can_be_plain_text(sim_api: SimApi) -> None:
    """http_error(503, html=False): a plain text body."""
    sim_api.sim.faults.http_error(503, html=False)
    async with sim_api.session.get(sim_api.sim.url + ENUM, headers=sim_api.headers) as response:
        assert response.status == 503
        assert await response.text() == "503 Service Unavailable"


async def test_drop_connection_closes_without_an_answer(sim_api: SimApi) -> None:
    """drop_connection: the client sees the server disconnect; the call was still recorded."""
    sim_api.sim.faults.drop_connection(path="flush_jobs")
    with pytest.raises(aiohttp.ClientConnectionError):
        await sim_api.post_json("/api/print/flush_jobs", sim_api.creds())
    assert sim_api.sim.count("/api/print/flush_jobs") == 1
    assert (await sim_api.post_json("/api/print/flush_jobs", sim_api.creds()))["code"] == 200


async def test_faults_come_before_the_api_key_check(sim_api: SimApi) -> None:
    """A 10009 is answered even to a caller with a wrong key (the gateway limits first)."""
    sim_api.sim.faults.rate_limit()
    answer = await sim_api.request("GET", ENUM, headers={"ApiKey": "wrong"})
    assert answer["code"] == 10009


async def test_clear_restores_the_fleet(sim_api: SimApi) -> None:
    """faults.clear(): boxes online, printers plugged and fine, no request faults."""
    faults = sim_api.sim.faults
    device_id = sim_api.box.device_id
    faults.box_offline(device_id)
    faults.unplug_printer(device_id, 2)
    faults.printer_problem(device_id, 1, paper_jam=True)
    faults.rate_limit(count=5)
    faults.clear()
    info = await sim_api.get(INFO, **sim_api.creds())
    status = await sim_api.get("/api/device/printer_status", **sim_api.creds(), usbPort=1)
    listing = await sim_api.get("/api/external_api/printer_list", **sim_api.creds())
    assert info["data"]["info"]["online"] == 1
    assert status["data"]["paperJam"] is False
    assert len(listing["data"]["row"]) == 2


async def test_unknown_box_or_port_is_a_clear_error(sim_api: SimApi) -> None:
    """Faults name boxes and ports that exist; a typo raises ValueError at once."""
    with pytest.raises(ValueError, match="no box"):
        sim_api.sim.faults.box_offline("lc01nothing")
    with pytest.raises(ValueError, match="no printer on port 3"):
        sim_api.sim.faults.unplug_printer(sim_api.box.device_id, 3)


# ---------------------------------------------------------------------------- admin HTTP


async def _admin(api: SimApi, method: str, path: str, body: object = None) -> tuple[int, object]:
    async with api.session.request(method, api.sim.url + path, json=body) as response:
        return response.status, await response.json()


async def test_admin_endpoint_injects_box_and_printer_faults(sim_api: SimApi) -> None:
    """POST /_sim/faults takes the same faults as the Python API."""
    device_id = sim_api.box.device_id
    status, answer = await _admin(
        sim_api, "POST", "/_sim/faults", {"fault": "box_offline", "device_id": device_id}
    )
    problem = {"fault": "printer_problem", "device_id": device_id, "port": 1, "paper_out": True}
    await _admin(sim_api, "POST", "/_sim/faults", problem)
    info = await sim_api.get(INFO, **sim_api.creds())
    assert (status, answer) == (200, {"ok": True})
    assert info["data"]["info"]["online"] == 0
    assert sim_api.sim.state.boxes[device_id].printers[1].paper_out


async def test_admin_endpoint_injects_request_faults(sim_api: SimApi) -> None:
    """Request faults over HTTP: rate limiting of the next call."""
    await _admin(sim_api, "POST", "/_sim/faults", {"fault": "rate_limit", "count": 1})
    await _admin(sim_api, "POST", "/_sim/faults", {"fault": "api_error", "code": 5001})
    assert (await sim_api.get(ENUM))["code"] == 10009
    assert (await sim_api.get(ENUM))["code"] == 5001


@pytest.mark.parametrize(
    "body",
    [
        {"fault": "meteor_strike"},
        {"fault": "box_offline"},
        {"fault": "box_offline", "device_id": "lc01nothing"},
        {"fault": "slow", "seconds": 1, "colour": "red"},
        ["not", "an", "object"],
    ],
)
async def test_admin_endpoint_refuses_bad_faults(sim_api: SimApi, body: object) -> None:
    """Unknown faults, missing or unknown arguments and unknown boxes: HTTP 400 with a reason."""
    status, answer = await _admin(sim_api, "POST", "/_sim/faults", body)
    assert status == 400
    assert isinstance(answer, dict)
    assert answer["ok"] is False
    assert answer["error"]


async def test_admin_delete_clears_faults(sim_api: SimApi) -> None:
    """DELETE /_sim/faults removes every fault."""
    sim_api.sim.faults.rate_limit(count=10)
    status, _ = await _admin(sim_api, "DELETE", "/_sim/faults")
    assert status == 200
    assert (await sim_api.get(ENUM))["code"] == 200


async def test_admin_requests_and_state(sim_api: SimApi) -> None:
    """GET /_sim/requests lists API calls (not admin ones); GET /_sim/state shows boxes and jobs."""
    task_id = await sim_api.submit_ok()
    await sim_api.sim.state.wait_idle()
    _, requests = await _admin(sim_api, "GET", "/_sim/requests")
    _, state = await _admin(sim_api, "GET", "/_sim/state")
    assert isinstance(requests, list)
    assert [r["path"] for r in requests] == ["/api/print/job"]
    assert isinstance(state, dict)
    assert state["jobs"][task_id]["task_state"] == "SUCCESS"
    assert state["boxes"]["lc01demo000003"]["online"] is None


# ---------------------------------------------------------------------------- request log


async def test_requests_are_recorded_with_fields_and_key(sim_api: SimApi) -> None:
    """Each call is recorded: method, path, query, form or JSON fields, file size, ApiKey."""
    await sim_api.submit(file=("scan.pdf", b"%PDF-1.4 tiny"), dmCopies=2)
    await sim_api.post_json("/api/print/flush_jobs", {**sim_api.creds(), "devicePort": 1})
    await sim_api.request("GET", INFO, query=sim_api.creds(), headers={})
    job, flush, info = sim_api.sim.requests
    assert (job.method, job.path) == ("POST", "/api/print/job")
    assert job.fields["jobFile"] == {"filename": "scan.pdf", "size": 13}
    assert job.fields["dmCopies"] == "2"
    assert flush.fields["devicePort"] == 1
    assert info.query["deviceId"] == sim_api.box.device_id
    assert (job.api_key, info.api_key) == (sim_api.sim.fleet.api_key, None)


async def test_count_and_clear_requests(sim_api: SimApi) -> None:
    """count(path, method) counts calls; clear_requests() forgets them."""
    task_id = await sim_api.submit_ok()
    await sim_api.job(task_id)
    await sim_api.job(task_id)
    sim = sim_api.sim
    assert (sim.count("/api/print/job"), sim.count("/api/print/job", "get")) == (3, 2)
    sim.clear_requests()
    assert sim.count("/api/print/job") == 0
