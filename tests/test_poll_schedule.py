"""The cloud's limits kept by construction: printer_status spaced per printer, polls on schedule.

The cloud answers 10009 to a printer asked printer_status again "within a short time" (the
simulator: 2 s after its last answer); a ``refresh`` right after a poll waits that out instead.
A fleet larger than the call budget keeps every poll within the interval the plan announces:
checked on a virtual clock (hours of polling in a moment, the same every time), never as a
speed of this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
from bridge_harness import SLOW_POLL, RunningBridge, make_config, until
from mqtt_broker import MosquittoBroker, MqttProbe
from virtual_time import run_virtual

from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.polling.budget import IDLE_TASKS_FACTOR
from lianke_bridge.bridge.polling.poller import BoxPoller
from lianke_bridge.bridge.polling.schedule import FleetSchedule
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.config import DeviceConfig, PollConfig
from lianke_bridge.simulator import Simulator, Timing, demo_fleet

STATUS = "/api/device/printer_status"


@pytest.fixture
async def cloud_window() -> AsyncIterator[Simulator]:
    """The simulator with the cloud's printer_status window (2 s); everything else fast."""
    timing = replace(Timing.fast(), status_window=Timing().status_window)
    async with Simulator(demo_fleet(), timing) as sim:
        yield sim


async def test_a_refresh_right_after_a_status_poll_gets_no_10009(
    cloud_window: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """The poller has just read the printer; a refresh asks it again: spaced, not refused."""
    config = make_config(cloud_window, mosquitto, base_topic, tmp_path / "state", poll=SLOW_POLL)
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            await until(lambda: cloud_window.count(STATUS) >= 1)
            await bridge.wait_json("office/printer/1/state", lambda s: s.get("live_status"))
            answer = await bridge.request("office", "refresh")
            assert answer["status"] == "ok", answer
            assert answer["data"]["state"]["error"] is None, answer
            assert cloud_window.count(STATUS) >= 2  # the refresh did ask the printer again
            stats = bridge.service.client.stats
            assert stats.rate_limited == 0, stats.errors
        finally:
            await bridge.stop()


# ---------------------------------------------------------------------------- the schedule

BASE_URL = "http://cloud.invalid"
LATENCY = 0.05
"""Seconds the fake cloud takes to answer (the virtual clock's)."""
TURNS = 10
"""Turns of the rate limit a poll may wait behind the polls due before it (device_info first)."""


CALLS = {
    "/api/device/device_info": "device_info",
    "/api/external_api/printer_list": "printer_list",
    "/api/device/printer_status": "printer_status",
    "/api/print/query_device_task": "query_device_task",
}


class _Answer:
    """What the client reads of an HTTP response."""

    status = 200
    reason = "OK"
    content_type = "application/json"

    def __init__(self, data: Any) -> None:
        self._body = json.dumps({"code": 200, "msg": "success", "data": data}).encode()

    async def read(self) -> bytes:
        return self._body


class FakeCloud:
    """The cloud in-process, standing in for the client's HTTP session.

    The client's own rate limit and answer handling run as with the real cloud, on the loop's
    clock.

    Boxes are online with a laser (live status) on port 1, a receipt printer (live status on
    every second box) on port 2 and a network printer: the benchmark's fleet.
    """

    closed = False

    def __init__(self) -> None:
        self.calls: list[tuple[float, str, str, str]] = []
        """(loop time, call, device id, port) of every call sent."""

    @contextlib.asynccontextmanager
    async def request(
        self,
        _method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        **_ignored: Any,
    ) -> AsyncIterator[_Answer]:
        """Answer one call, as aiohttp's ``session.request`` would."""
        fields = dict(params or json or {})
        call = CALLS[url.removeprefix(BASE_URL)]
        device = str(fields["deviceId"])
        self.calls.append(
            (asyncio.get_running_loop().time(), call, device, fields.get("usbPort", ""))
        )
        await asyncio.sleep(LATENCY)
        yield _Answer(_answer(call, int(device.removeprefix("lc01fake"))))


def _answer(call: str, index: int) -> Any:
    if call == "device_info":
        return {"info": {"online": 1, "usb_port_num": 2}, "version": {"software": "2.1.120"}}
    if call == "printer_list":
        return {
            "row": [
                {"port": 1, "driver_name": "Kyocera MA2000w GX", "support_status": True},
                {"port": 2, "driver_name": "ESC/POS", "support_status": index % 2 == 0},
                {"port": 631, "driver_name": "EPSON L6160 Series", "ip_addr": "10.0.0.60"},
            ]
        }
    if call == "printer_status":
        return {"msg": "Ready.", "statusCode": "10001", "printing": False}
    return {"task_list": []}


async def _poll_fleet(
    boxes: int, rate: float, hours: float
) -> tuple[FakeCloud, LiankeClient, FleetSchedule, float]:
    """Run the real pollers of ``boxes`` boxes on the fake cloud for ``hours`` (virtual)."""
    devices = [
        DeviceConfig(name=f"box{i}", device_id=f"lc01fake{i:06d}", device_key="k")
        for i in range(boxes)
    ]
    fleet = [Box(device) for device in devices]
    cloud = FakeCloud()
    session = cast("aiohttp.ClientSession", cloud)
    client = LiankeClient("fake-api-key", base_url=BASE_URL, session=session, rate_limit=rate)
    schedule = FleetSchedule(fleet, budget=rate, active_jobs=lambda _name: 0)
    topics = Topics("fake")

    async def emit(_device: str | None, _event: dict[str, Any]) -> None:
        pass

    async def identity(_box: Box) -> None:
        schedule.replan()

    pollers = [
        BoxPoller(
            box,
            client=client,
            publisher=Publisher(),
            topics=topics,
            emit=emit,
            own_jobs=lambda _name: {},
            on_identity_changed=identity,
            stretch=functools.partial(schedule.stretch, box),
        )
        for box in fleet
    ]
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(poller.run()) for poller in pollers]
        await asyncio.sleep(hours * 3600)
        for task in tasks:
            task.cancel()
    return cloud, client, schedule, asyncio.get_running_loop().time()


def test_a_fleet_over_budget_keeps_every_poll_within_its_stretched_interval() -> None:
    """100 boxes on 1 call/s (the benchmark's fleet, scaled): no poll later than its interval.

    On the loop's own (virtual) clock, for three hours from the first poll on: every box's polls
    come one announced interval apart (the plan's stretch applied), give or take a few turns of
    the rate limit; no wave of polls queued behind each other; nothing never asked.
    """
    rate = 1.0
    cloud, client, schedule, end = run_virtual(_poll_fleet(100, rate=rate, hours=3.0))
    plan = schedule.plan
    assert plan.stretched
    poll = PollConfig()
    intervals = {
        "device_info": poll.device_info * plan.factor("device_info"),
        "printer_list": poll.printer_list * plan.factor("rest"),
        "printer_status": poll.printer_status * plan.factor("rest"),
        "query_device_task": poll.tasks * plan.factor("rest") * IDLE_TASKS_FACTOR,
    }
    times: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for at, call, device, port in cloud.calls:
        times[call, device, port].append(at)
    assert len(times) == 100 * (1 + 1 + 1.5 + 1)  # every box, printer and queue asked
    late = {
        key: max(b - a for a, b in itertools.pairwise([*seen, end])) - intervals[key[0]]
        for key, seen in times.items()
    }
    worst = max(late.items(), key=lambda item: item[1])
    assert worst[1] <= TURNS / rate, worst
    assert client.stats.rate_limited == 0
