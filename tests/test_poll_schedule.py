"""The cloud's limits kept by construction: printer_status spaced per printer, polls on schedule.

The cloud answers 10009 to a printer asked printer_status again "within a short time" (the
simulator: 2 s after its last answer); a ``refresh`` right after a poll waits that out instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from bridge_harness import SLOW_POLL, RunningBridge, make_config, until
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.service import BridgeService
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
