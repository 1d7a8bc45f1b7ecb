"""Wall-clock steps, as NTP makes them on a Raspberry Pi without a real-time clock.

The bridge runs with a clock whose wall time the test steps (its monotonic time is the
machine's): the machine's own clock is never touched. A step forward must not end the duplicate
window or clear retained jobs early; a step back must not make uptime negative.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bridge_harness import RunningBridge, make_config
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import JobsConfig
from lianke_bridge.simulator import Simulator

PRINT_PATH = "/api/print/job"
DAY = 86400.0


class SteppedClock:
    """The machine's clocks, the wall clock set off by ``offset`` seconds (NTP stepping it)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def wall(self) -> float:
        """The stepped wall clock."""
        return time.time() + self.offset

    def monotonic(self) -> float:
        """The machine's monotonic clock: a step does not move it."""
        return time.monotonic()


async def test_a_day_forward_keeps_duplicates_and_retained_jobs(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """After +1 day, a re-sent transaction is still ``duplicate`` and the job stays retained.

    The job ended seconds ago (retention 1 hour): the tracker's expiry pass after the step
    clears nothing.
    """
    clock = SteppedClock()
    config = make_config(
        simulator,
        mosquitto,
        base_topic,
        tmp_path / "state",
        jobs=JobsConfig(poll_interval=0.1, retention=3600),
    )
    payload = {"url": "https://x.test/once.pdf", "transaction": "order-1"}
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config, clock=clock), probe)
        await bridge.start()
        try:
            first = await bridge.request("office", "print", payload)
            task_id = first["data"]["task_id"]
            await bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "succeeded")
            clock.offset += DAY
            again = await bridge.request("office", "print", payload)
            await bridge.service.jobs.expire()
            await bridge.settle()
            cleared = [m for m in probe.messages(f"{base_topic}/office/job/+") if not m.payload]
            kept = task_id in bridge.service.jobs.jobs
        finally:
            await bridge.stop()
    assert first["status"] == "ok", first
    assert again["error"]["code"] == "duplicate", again
    assert again["error"]["original"] == first
    assert simulator.count(PRINT_PATH, "POST") == 1
    assert cleared == []
    assert kept


async def test_a_step_back_of_25_hours_keeps_uptime_growing(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """``uptime_s`` on ``bridge/health`` never goes negative or back when the clock is set back."""
    clock = SteppedClock()
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    health = f"{base_topic}/bridge/health"
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        service = BridgeService(config, clock=clock, health_interval=0.2)
        bridge = RunningBridge(service, probe)
        await bridge.start()
        try:
            before = (await probe.wait_for(health)).json()["uptime_s"]
            mark = probe.mark()
            clock.offset -= 25 * 3600
            await probe.wait_for(
                health, lambda m: m.json()["uptime_s"] >= before + 1, timeout=5, since=mark
            )
        finally:
            await bridge.stop()
    uptimes: list[Any] = [m.json()["uptime_s"] for m in probe.messages(health) if m.payload]
    assert min(uptimes) >= 0, uptimes
    assert uptimes == sorted(uptimes), uptimes
