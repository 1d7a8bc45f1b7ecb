"""The reference's own requests and Lianke's Python SDK's requests still run on the simulator.

A simulator stricter than the reference would refuse what real clients send. Two seeds keep it
honest: every request of the reference's Postman collection (``data/reference_requests.json``,
in its order, variables filled in), and the requests Lianke's Python SDK
(``liankenet/cloud_printer_demo``, ``lianke_printing``) sends, rebuilt here byte for byte in
shape: the SDK's code is not used.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from lianke_bridge.simulator import Simulator, Timing, demo_fleet

REQUESTS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "reference_requests.json").read_text(encoding="utf-8")
)["requests"]
REFERENCE_HOST = "https://cloud.liankenet.com"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
async def queue_sim() -> AsyncIterator[Simulator]:
    """Jobs wait in READY for a while, so the collection's cancel finds its job unfinished."""
    async with Simulator(demo_fleet(), replace(Timing.fast(), ready=5.0)) as sim:
        yield sim


def fill(text: str, variables: dict[str, str]) -> str:
    """The collection's ``{{name}}`` placeholders, filled in."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: variables[m.group(1)], text)


def form_of(entry: dict[str, Any], variables: dict[str, str]) -> aiohttp.FormData:
    """The enabled form fields as multipart (as Postman sends form-data), files as small files."""
    form = aiohttp.FormData(default_to_multipart=True)
    for field in entry["form"]:
        if field.get("disabled"):
            continue
        if field["type"] == "file":
            name = Path(field["value"]).name
            content = PNG if name.endswith((".png", ".jpg")) else PDF
            form.add_field(field["key"], io.BytesIO(content), filename=name)
        else:
            form.add_field(field["key"], fill(field["value"], variables))
    return form


EXPECTED = {
    "/api/print/reset_printing_error_limit": 11201,  # nothing to reset: a documented answer
}


async def test_the_reference_collection_runs_in_order(queue_sim: Simulator) -> None:
    """Every request of the Postman collection, as written, is answered 200 (11201 for reset).

    Each carries the ApiKey header, as the reference's API约定 requires of every request (the
    collection's reset request lists no headers); ``{{task_id}}`` is the first job's.
    """
    box = queue_sim.fleet.boxes[0]
    variables = {
        "deviceId": box.device_id,
        "deviceKey": box.device_key,
        "devicePort": "1",
        "printerModel": "Kyocera MA2000w GX",
        "ApiKey": queue_sim.fleet.api_key,
        "task_id": "",
    }
    codes: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:
        for entry in REQUESTS:
            url = fill(entry["url"], variables).replace(REFERENCE_HOST, queue_sim.url)
            kwargs: dict[str, Any] = {"headers": {"ApiKey": queue_sim.fleet.api_key}}
            if "form" in entry:
                kwargs["data"] = form_of(entry, variables)
            elif "raw" in entry:
                kwargs["json"] = json.loads(fill(entry["raw"], variables))
            async with session.request(entry["method"], url, **kwargs) as response:
                assert response.status == 200, entry["name"]
                answer = await response.json()
            path = url.removeprefix(queue_sim.url).split("?")[0]
            codes[entry["name"]] = answer["code"]
            assert answer["code"] == EXPECTED.get(path, 200), (entry["name"], answer)
            if path == "/api/print/job" and entry["method"] == "POST" and not variables["task_id"]:
                variables["task_id"] = answer["data"]["task_id"]
    assert len(codes) == len(REQUESTS) == 19


# ---------------------------------------------------------------------------- the Python SDK


class SdkWire:
    """What ``lianke_printing.LiankePrinting`` puts on the wire (requests, ApiKey header)."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        box = sim.fleet.boxes[0]
        self.base = sim.url + "/api"
        self.session = session
        self.device = {"deviceId": box.device_id, "deviceKey": box.device_key}
        self.headers = {"ApiKey": sim.fleet.api_key}

    async def call(self, method: str, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        """One SDK call: ``raise_for_status``, then the JSON (the SDK raises on code != 200)."""
        async with self.session.request(
            method, self.base + endpoint, headers=self.headers, **kwargs
        ) as response:
            assert response.status < 400
            answer: dict[str, Any] = await response.json()
            return answer

    async def add_job(self, files: list[tuple[str, bytes]], **kwargs: Any) -> dict[str, Any]:
        """``add_job(job_files, device_port=1, paper_size=9, **kwargs)``: form plus files."""
        data = {**self.device, "devicePort": 1, "dmPaperSize": 9, **kwargs}
        if not files:  # requests sends data alone urlencoded
            return await self.call("POST", "/print/job", data={k: str(v) for k, v in data.items()})
        form = aiohttp.FormData()
        for name, value in data.items():
            form.add_field(name, str(value))
        for filename, content in files:
            form.add_field("jobFile", io.BytesIO(content), filename=filename)
        return await self.call("POST", "/print/job", data=form)

    def job_params(self, task_id: str) -> dict[str, str]:
        """The query of job_result and cancel_job."""
        return {**self.device, "devicePort": "1", "task_id": task_id}


async def test_the_python_sdks_requests_are_answered(simulator: Simulator) -> None:
    """Every SDK call, with the fields a job needs passed as the SDK's kwargs, is code 200.

    The SDK's printer_status sends DELETE (the reference says GET): the simulator answers both.
    """
    async with aiohttp.ClientSession() as session:
        sdk = SdkWire(simulator, session)
        answers = {
            "device_info": await sdk.call("GET", "/device/device_info", params=sdk.device),
            "printer_enum": await sdk.call("GET", "/print/printer_enum"),
            "printer_list": await sdk.call(
                "GET", "/external_api/printer_list", params={**sdk.device, "printerType": "1"}
            ),
            "printer_params": await sdk.call(
                "GET", "/print/printer_params", params={"printerModel": "Kyocera MA2000w GX"}
            ),
            "add_job file": await sdk.add_job([("a.pdf", PDF)], jpAutoScale=4),
            "add_job url": await sdk.add_job(
                [], jobFile="https://example.com/a", urlFileExt=".pdf", jpScale="fit"
            ),
            "printer_status": await sdk.call(
                "DELETE", "/device/printer_status", params={**sdk.device, "usbPort": "1"}
            ),
        }
        task_id = answers["add_job file"]["data"]["task_id"]
        answers["job_result"] = await sdk.call("GET", "/print/job", params=sdk.job_params(task_id))
        second = (await sdk.add_job([("b.png", PNG)], jpAutoScale=4))["data"]["task_id"]
        answers["cancel_job"] = await sdk.call(
            "DELETE", "/print/job", params=sdk.job_params(second)
        )
        bare = await sdk.add_job([("a.pdf", PDF)])
    assert {name: answer["code"] for name, answer in answers.items()} == dict.fromkeys(answers, 200)
    assert bare["code"] == 400  # add_job's defaults alone lack jpAutoScale (必填)
