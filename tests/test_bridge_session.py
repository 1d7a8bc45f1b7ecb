"""The persistent MQTT session: requests sent while the bridge is away run once when it returns."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

import aiomqtt
import pytest
from bridge_harness import RunningBridge, make_config
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.simulator import Simulator

PRINT_PATH = "/api/print/job"
PROBE_PROTOCOL = {"5": aiomqtt.ProtocolVersion.V5, "3.1.1": aiomqtt.ProtocolVersion.V311}


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_print_sent_while_the_bridge_is_down_runs_once_on_return(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    protocol: Literal["5", "3.1.1"],
) -> None:
    """QoS 1 buys something: the broker keeps the print for the bridge's session.

    The bridge runs once (the broker learns its session), stops, a print is sent, the bridge
    starts again: the print is answered once and printed once.
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    config = replace(config, mqtt=replace(config.mqtt, protocol=protocol))
    response = f"{base_topic}/office/response/print"
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        MqttProbe(
            mosquitto.host, mosquitto.port, protocol=PROBE_PROTOCOL[protocol], subscribe=[]
        ) as requester,
    ):
        first = RunningBridge(BridgeService(config), probe)
        await first.start()
        await first.stop()
        await requester.publish(
            f"{base_topic}/office/request/print",
            {"url": "https://x.test/away.pdf", "transaction": "while-away"},
        )
        assert simulator.count(PRINT_PATH, "POST") == 0
        second = RunningBridge(BridgeService(config), probe)
        await second.start()
        try:
            answer = (await probe.wait_for(response, lambda m: bool(m.payload))).json()
            assert answer["status"] == "ok", answer
            assert answer["transaction"] == "while-away"
            task_id = answer["data"]["task_id"]
            await second.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "succeeded")
            sentinel = await requester.request(
                f"{base_topic}/bridge/request/health_check", {"transaction": "after"}
            )
            assert sentinel.json()["transaction"] == "after"
        finally:
            await second.stop()
    assert len(probe.messages(response)) == 1
    assert simulator.count(PRINT_PATH, "POST") == 1


async def test_a_stale_subscription_left_in_the_session_is_dropped(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """An overlapping filter an earlier version left in the session would answer requests twice.

    The session is prepared as an earlier version left it (``<base>/bridge/request/+`` beside
    today's filter); the bridge drops it, so a bridge request is answered exactly once.
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    async with MqttProbe(
        mosquitto.host,
        mosquitto.port,
        identifier=config.mqtt.client_id,
        session_expiry=3600,
        subscribe=[f"{base_topic}/bridge/request/+"],
    ):
        pass
    response = f"{base_topic}/bridge/response/health_check"
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        MqttProbe(
            mosquitto.host, mosquitto.port, protocol=aiomqtt.ProtocolVersion.V311, subscribe=[]
        ) as requester,
    ):
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            await requester.publish(
                f"{base_topic}/bridge/request/health_check", {"transaction": "once"}
            )
            await probe.wait_for(response, lambda m: m.json()["transaction"] == "once")
            sentinel = await requester.request(
                f"{base_topic}/office/request/tasks", {"transaction": "sentinel"}
            )
            assert sentinel.json()["transaction"] == "sentinel"
        finally:
            await bridge.stop()
    answers = [m.json() for m in probe.messages(response)]
    assert [a["status"] for a in answers] == ["ok"]
