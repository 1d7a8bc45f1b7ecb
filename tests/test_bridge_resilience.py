"""The bridge under trouble: cloud hiccups, rate limits, the error limit, restarts, expiry."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge_harness import RunningBridge, calls_for, make_config, until
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.memory.store import Store, read_heartbeat
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config, JobsConfig
from lianke_bridge.simulator import Simulator

OFFICE_ID = "lc01demo000001"


def ok(envelope: dict[str, Any]) -> Any:
    """The data of an ok envelope."""
    assert envelope["status"] == "ok", envelope
    return envelope["data"]


async def test_health_topic_counts_api_calls_and_mqtt(
    bridge_config: Config, mosquitto: MosquittoBroker
) -> None:
    """bridge/health has uptime, memory, MQTT and API counters; a heartbeat file mirrors it.

    The heartbeat (what the container health check reads) is removed on a clean stop.
    """
    base = bridge_config.mqtt.base_topic
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base}/#"]) as probe:
        bridge = RunningBridge(BridgeService(bridge_config, health_interval=0.2), probe)
        await bridge.start()
        try:
            health = await bridge.wait_json(
                "bridge/health", lambda h: h["api"]["calls"].get("device_info", 0) > 0
            )
            heartbeat = read_heartbeat(bridge_config.state_dir)
        finally:
            await bridge.stop()
    assert heartbeat is not None
    age, written = heartbeat
    assert age < 5
    assert written["mqtt"]["connected"] is True
    assert read_heartbeat(bridge_config.state_dir) is None  # a stopped bridge is not healthy
    assert health["rss_bytes"] > 1_000_000
    assert health["mqtt"]["messages_out"] > 0
    assert health["api_problem"] is False
    assert "demo-api-key" not in json.dumps(health)


async def test_cloud_outage_is_published_and_polling_goes_on(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """HTML 502 pages from the cloud mark the box's error; the next good poll clears it."""
    await running_bridge.wait_json("office/state", lambda s: s["online"])
    simulator.faults.http_error(status=502, html=True, path="/api/device/device_info", count=1000)
    state = await running_bridge.wait_json("office/state", lambda s: s["error"] is not None)
    assert state["error"]["code"] == "api_error"
    health = ok(await running_bridge.request("bridge", "health_check"))
    assert health["devices"]["office"]["error"] is not None
    assert health["healthy"] is False
    simulator.faults.clear()
    await running_bridge.wait_json("office/state", lambda s: s["error"] is None, timeout=15)


async def test_too_many_requests_backs_the_box_off(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """10009 from the cloud fires a rate_limited event and slows that box's polling."""
    await running_bridge.wait_json("office/state", lambda s: s["online"])
    simulator.faults.rate_limit(path="/api/device/device_info", count=4)
    event = await running_bridge.wait_json("bridge/event", lambda e: e["event"] == "rate_limited")
    assert event["device"] in {"office", "warehouse", "spare"}
    assert event["backoff"] >= 2


async def test_error_limit_is_shown_and_reset(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """After 30 failed jobs a print gets 11203, the printer shows it, and a reset clears it."""
    await running_bridge.wait_json("office/printer/1/state")
    simulator.state.boxes[OFFICE_ID].failures = 30
    envelope = await running_bridge.request("office", "print", {"url": "https://x.test/a.pdf"})
    assert envelope["status"] == "error"
    assert envelope["error"]["code"] == 11203
    await running_bridge.wait_json("bridge/event", lambda e: e["event"] == "error_limit")
    await running_bridge.wait_json("office/printer/1/state", lambda s: s["error_limit_reached"])
    assert ok(await running_bridge.request("office", "reset_error_limit", {"port": 1}))["reset"]
    await running_bridge.wait_json("office/printer/1/state", lambda s: not s["error_limit_reached"])


async def test_warnings_are_forwarded_to_the_log_topic(running_bridge: RunningBridge) -> None:
    """A warning logged by the bridge appears once on bridge/log; an identical repeat does not."""
    service = running_bridge.service
    record = {"level": "warning", "message": "printer office/1 is out of paper"}
    service.forward_log(dict(record))
    service.forward_log(dict(record))
    service.forward_log({"level": "error", "message": "another line"})
    await running_bridge.wait_json("bridge/log", lambda r: r["message"] == "another line")
    same = [
        m
        for m in running_bridge.probe.messages(f"{running_bridge.base}/bridge/log")
        if m.json()["message"] == record["message"]
    ]
    assert len(same) == 1


async def test_jobs_survive_a_bridge_restart(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """A job submitted before a restart is still followed to its end after it."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    simulator.state.timing = replace(simulator.state.timing, ready=1.0)
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        first = RunningBridge(BridgeService(config), probe)
        await first.start()
        try:
            task_id = ok(await first.request("office", "print", {"url": "https://x.test/a.pdf"}))[
                "task_id"
            ]
        finally:
            await first.stop()
        assert list(Store(tmp_path / "state").jobs) == [task_id]
        second = RunningBridge(BridgeService(config), probe)
        await second.start()
        try:
            job = await second.wait_json(
                f"office/job/{task_id}", lambda j: j["state"] == "succeeded"
            )
        finally:
            await second.stop()
    assert job["task_id"] == task_id


async def test_finished_jobs_are_cleared_after_retention(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """A finished job's retained topic is emptied once the retention time has passed."""
    config = make_config(
        simulator,
        mosquitto,
        base_topic,
        tmp_path / "state",
        jobs=JobsConfig(poll_interval=0.05, retention=0.3),
    )
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            task_id = ok(await bridge.request("office", "print", {"url": "https://x.test/a.pdf"}))[
                "task_id"
            ]
            await bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "succeeded")
            cleared = await probe.wait_for(
                f"{base_topic}/office/job/{task_id}", lambda m: m.payload == b"", timeout=5
            )
            # The store forgets the job right after the clear; it has no event to wait on.
            async with asyncio.timeout(2):
                while task_id in bridge.service.store.jobs:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        finally:
            await bridge.stop()
    assert cleared.retain
    assert task_id not in Store(tmp_path / "state").jobs


async def test_a_request_during_a_cloud_timeout_gets_a_timeout_error(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """A cloud call that never answers in time is answered `timeout`, and the bridge goes on."""
    running_bridge.service.client.timeout = 0.3
    running_bridge.service.client.max_retries = 0
    simulator.faults.slow(2.0, path="/api/print/query_device_task")
    envelope = await running_bridge.request("office", "tasks")
    assert envelope["status"] == "error"
    assert envelope["error"]["code"] == "timeout"
    simulator.faults.clear()
    await asyncio.sleep(0)
    ok(await running_bridge.request("office", "tasks"))


async def test_network_printer_is_never_asked_printer_status(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """printer_status takes a USB port: a network printer keeps its printer_list state.

    Asked on its devicePort (1), the cloud would answer for the USB printer there, so the
    network printer would show the laser's paper-out as its own.
    """
    network = simulator.state.boxes[OFFICE_ID].printers[631]
    network.spec = replace(network.spec, support_status=True)
    simulator.faults.printer_problem(OFFICE_ID, 1, paper_out=True)
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            await bridge.wait_json("office/printer/1/state", lambda s: s["status"] == "paper_out")
            target = calls_for(simulator, OFFICE_ID, "/api/device/printer_status") + 3
            await until(  # three more printer_status rounds
                lambda: calls_for(simulator, OFFICE_ID, "/api/device/printer_status") >= target
            )
            await bridge.probe.sync()
            inkjet = bridge.probe.last(f"{base_topic}/office/printer/631/state")
            assert inkjet is not None
        finally:
            await bridge.stop()
    assert inkjet.json()["status"] != "paper_out"
    assert inkjet.json()["live_status"] is False
    asked = {
        r.query.get("usbPort") for r in simulator.requests if r.path.endswith("printer_status")
    }
    assert asked == {"1"}


async def test_clear_on_stop_leaves_nothing_retained_but_offline(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """The demo's mode: a clean stop leaves only bridge/state offline retained.

    Every other retained topic is emptied, discovery included, so Home Assistant forgets the
    demo's boxes when the demo ends.
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state", homeassistant=True)
    prefix = config.homeassistant.prefix
    async with MqttProbe(
        mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#", f"{prefix}/#"]
    ) as probe:
        bridge = RunningBridge(BridgeService(config, clear_on_stop=True), probe)
        await bridge.start()
        try:
            await bridge.wait_json("office/printer/1/state")
            ok(await bridge.request("office", "print", {"url": "https://x.test/a.pdf"}))
            await probe.wait_for(f"{prefix}/device/#")
        finally:
            await bridge.stop()
    async with MqttProbe(
        mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#", f"{prefix}/#"]
    ) as late:
        await late.expect_silence(f"{prefix}/#", 0.5)
        left = {m.topic: m.text for m in late.messages() if m.payload}
    assert left == {f"{base_topic}/bridge/state": "offline"}
