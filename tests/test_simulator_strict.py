# ruff: noqa: RUF002 - the cloud's messages are Chinese, with full-width commas
"""The simulator refuses what the reference says the real cloud refuses (issue #8).

Each test is a rule of the reference the simulator used to let through, or a behaviour of the
real cloud it did not have; the messages are Chinese like the cloud's own.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from sim_api import SimApi

from lianke_bridge import errors
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.models import Credentials
from lianke_bridge.simulator import Simulator, Timing, demo_fleet

CHINESE = re.compile(r"[\u4e00-\u9fff]")
RESET = "/api/print/reset_printing_error_limit"
STATUS = "/api/device/printer_status"


def refused(answer: dict[str, Any], code: int, mentions: str = "") -> None:
    """The cloud's error envelope: exactly code and a Chinese msg (naming ``mentions``)."""
    assert set(answer) == {"code", "msg"}, answer
    assert answer["code"] == code, answer
    assert CHINESE.search(answer["msg"]), answer
    assert mentions in answer["msg"]


@pytest.fixture
async def windowed_api() -> AsyncIterator[SimApi]:
    """A simulator whose printer_status refuses a port asked again within 5 s."""
    timing = replace(Timing.fast(), status_window=5.0)
    async with Simulator(demo_fleet(), timing) as sim, aiohttp.ClientSession() as session:
        yield SimApi(sim, session)


# ---------------------------------------------------------------------------- print jobs


async def test_link_job_without_url_file_ext_is_refused(sim_api: SimApi) -> None:
    """若使用链接，需要额外传 urlFileExt参数: a link without urlFileExt is refused, 400."""
    without = await sim_api.submit(urlFileExt="")
    unsupported = await sim_api.submit(urlFileExt=".zip")
    refused(without, 400, "urlFileExt")
    refused(unsupported, 400, "urlFileExt")
    assert sim_api.sim.state.jobs == {}
    assert (await sim_api.submit(urlFileExt="PDF"))["code"] == 200


async def test_uploaded_file_needs_no_url_file_ext(sim_api: SimApi) -> None:
    """UrlFileExt is for links only: an uploaded file carries its own name."""
    answer = await sim_api.submit(file=("a.pdf", b"%PDF-1.4 << /Type /Page >>"))
    assert answer["code"] == 200


async def test_job_without_any_scaling_is_refused(sim_api: SimApi) -> None:
    """JpAutoScale is 必填; jpScale stands in for it; neither is 400, a bad value too."""
    neither = await sim_api.submit(jpAutoScale="")
    scale_only = await sim_api.submit(jpAutoScale="", jpScale="cover")
    auto_only = await sim_api.submit(jpAutoScale="80%")
    bad_scale = await sim_api.submit(jpScale="huge")
    bad_auto = await sim_api.submit(jpAutoScale="7")
    refused(neither, 400, "jpAutoScale")
    refused(bad_scale, 400, "jpScale")
    refused(bad_auto, 400, "jpAutoScale")
    assert (scale_only["code"], auto_only["code"]) == (200, 200)


@pytest.mark.parametrize("value", ["0", "-1", "31", "many", "2.5"])
async def test_err_limit_num_outside_1_to_30_is_refused(sim_api: SimApi, value: str) -> None:
    """ErrLimitNum: 默认为30，最大不超过30; 0 and -1 are not silently 30 or "always paused"."""
    refused(await sim_api.submit(errLimitNum=value), 400, "errLimitNum")


@pytest.mark.parametrize("value", ["1", "30"])
async def test_err_limit_num_from_1_to_30_is_taken(sim_api: SimApi, value: str) -> None:
    """The bounds themselves are fine."""
    assert (await sim_api.submit(errLimitNum=value))["code"] == 200


async def _fail_once(api: SimApi) -> None:
    api.sim.faults.jobs_fail(api.box.device_id)
    await api.wait_final(await api.submit_ok())
    api.sim.faults.jobs_fail(api.box.device_id, fail=False)


async def test_error_limit_pause_lifts_after_30_minutes(sim_api: SimApi) -> None:
    """11203 says 请30分钟后再试: half an hour after the last failure jobs go through again."""
    await _fail_once(sim_api)
    paused = await sim_api.submit(errLimitNum=1)
    refused(paused, 11203, "30分钟")
    sim_api.sim.state.clock.advance(29 * 60)
    assert (await sim_api.submit(errLimitNum=1))["code"] == 11203
    sim_api.sim.state.clock.advance(60)
    assert (await sim_api.submit(errLimitNum=1))["code"] == 200


async def test_error_pause_length_is_configurable() -> None:
    """Timing.error_pause sets the pause; the admin endpoint can move the clock."""
    timing = replace(Timing.fast(), error_pause=60.0)
    async with Simulator(demo_fleet(), timing) as sim, aiohttp.ClientSession() as session:
        api = SimApi(sim, session)
        await _fail_once(api)
        assert (await api.submit(errLimitNum=1))["code"] == 11203
        async with session.post(
            sim.url + "/_sim/faults", json={"fault": "advance_clock", "seconds": 60}
        ) as response:
            assert response.status == 200
        assert (await api.submit(errLimitNum=1))["code"] == 200


# ---------------------------------------------------------------------------- the error limit


async def test_every_reset_call_counts_toward_ten_a_day(sim_api: SimApi) -> None:
    """11201 answers count too: the eleventh call of the day is 11200, the next day is free."""
    body = {**sim_api.creds(), "devicePort": "1"}
    answers = [(await sim_api.post_json(RESET, body))["code"] for _ in range(11)]
    assert answers == [11201] * 10 + [11200]
    sim_api.sim.state.clock.advance(24 * 3600)
    assert (await sim_api.post_json(RESET, body))["code"] == 11201


# ---------------------------------------------------------------------------- printer_status


async def test_printer_status_can_answer_device_not_responding(sim_api: SimApi) -> None:
    """The real cloud also answers 500 设备无响应; the printer_unresponsive fault does it."""
    sim_api.sim.faults.printer_unresponsive(sim_api.box.device_id, 1)
    answer = await sim_api.get(STATUS, **sim_api.creds(), usbPort=1)
    assert answer == {"code": 500, "msg": "设备无响应"}
    sim_api.sim.faults.clear()
    assert (await sim_api.get(STATUS, **sim_api.creds(), usbPort=1))["code"] == 200


async def test_client_reads_device_not_responding_as_a_connection_error(
    simulator: Simulator,
) -> None:
    """The client turns the 500 into DeviceConnectionError, keeping the cloud's msg."""
    simulator.faults.printer_unresponsive(simulator.fleet.boxes[0].device_id, 1)
    spec = simulator.fleet.boxes[0]
    async with LiankeClient(simulator.fleet.api_key, base_url=simulator.url) as client:
        with pytest.raises(errors.DeviceConnectionError) as caught:
            await client.printer_status(Credentials(spec.device_id, spec.device_key), 1)
    assert caught.value.api_message == "设备无响应"


async def test_printer_status_again_too_soon_is_10009(windowed_api: SimApi) -> None:
    """同设备相同usb口短时间内多次请求将返回请求繁忙: a port asked again within the window."""
    creds = windowed_api.creds()
    first = await windowed_api.get(STATUS, **creds, usbPort=1)
    again = await windowed_api.get(STATUS, **creds, usbPort=1)
    other_port = await windowed_api.get(STATUS, **creds, usbPort=2)
    assert first["code"] == 200
    refused(again, 10009, "请求频繁")
    assert other_port["code"] == 200
    windowed_api.sim.state.clock.advance(5)
    assert (await windowed_api.get(STATUS, **creds, usbPort=1))["code"] == 200


# ---------------------------------------------------------------------------- models


async def test_every_listed_model_has_params_and_paper_sizes(sim_api: SimApi) -> None:
    """Whatever printer_enum lists, printer_params and paper_dimension_list answer 200."""
    listed = (await sim_api.get("/api/print/printer_enum"))["data"]
    searched = (await sim_api.post_json("/api/print/printer_enum", {"query": "HP 1020"}))["data"]
    assert len(listed) > 30
    for model in {*listed, *searched}:
        params = await sim_api.get("/api/print/printer_params", printerModel=model)
        papers = await sim_api.get("/api/print/paper_dimension_list", printerModel=model)
        assert params["code"] == 200, model
        assert params["data"]["Capabilities"]["Papers"], model
        assert papers["code"] == 200, model
        assert papers["data"], model


async def test_unlisted_model_is_still_refused(sim_api: SimApi) -> None:
    """A model neither printer_enum nor the fleet knows stays 'not supported'."""
    answer = await sim_api.get("/api/print/printer_params", printerModel="Nobody Printer 9")
    refused(answer, 400)


# ---------------------------------------------------------------------------- adaptation


async def test_uninstall_driver_event_answers_the_reference_example(sim_api: SimApi) -> None:
    """The reference's own body (printerId "1", phone 13512345678) is a success (200)."""
    body = {**sim_api.creds(), "printerId": "1", "phone": "13512345678"}
    answer = await sim_api.post_json("/api/driver/uninstall_driver_event", body)
    assert answer == {"code": 200, "msg": "success"}
