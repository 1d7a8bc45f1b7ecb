"""The request path under hostile input: nothing a client sends can end the service.

Each test sends what a fuzzer or a broken client sent in the chaos run of issue #7, against the
real bridge on a real Mosquitto, and checks the bridge answers (or drops with one log line) and
goes on answering.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiomqtt import ProtocolVersion
from bridge_harness import RunningBridge
from mqtt_broker import MosquittoBroker, MqttProbe, sentinel_round_trip

from lianke_bridge.bridge.records.topics import RequestTopic, Topics
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config
from lianke_bridge.simulator import Simulator

MAX_TOPIC_BYTES = 65_535
"""MQTT's limit for a topic, in bytes of UTF-8."""


def ok(envelope: dict[str, Any]) -> Any:
    """The data of an ok envelope (fails the test with the error otherwise)."""
    assert envelope["status"] == "ok", envelope
    return envelope["data"]


async def still_answers(bridge: RunningBridge) -> None:
    """The bridge is alive and answering."""
    assert ok(await bridge.request("bridge", "health_check"))["mqtt"]["connected"] is True


async def test_lone_surrogate_transaction_is_answered_and_echoed(
    running_bridge: RunningBridge,
) -> None:
    """A transaction holding a lone surrogate (a JSON escape) is echoed, escaped, not fatal."""
    envelope = await running_bridge.request("office", "tasks", b'{"transaction":"\\ud800"}')
    assert envelope["status"] == "ok"
    assert envelope["transaction"] == "\ud800"
    await still_answers(running_bridge)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"url": "https://x.test/\\udfff", "transaction": "t1"}',
        b'{"\\ud800": 1, "transaction": "t2"}',
        b'{"url": "https://x.test/a.pdf", "paper": "\\udbff\\udbff"}',
    ],
)
async def test_lone_surrogates_anywhere_get_an_error_answer(
    running_bridge: RunningBridge, payload: bytes
) -> None:
    """Surrogates echoed in an error message never make the answer unencodable."""
    envelope = await running_bridge.request("office", "print", payload)
    assert envelope["status"] == "error"
    assert envelope["error"]["code"] == "invalid_payload"
    await still_answers(running_bridge)


async def test_request_topic_beyond_mqtt_limit_is_refused_with_one_log_line(
    running_bridge: RunningBridge, caplog: pytest.LogCaptureFixture
) -> None:
    """A 65,535-byte request topic has no valid response topic: one log line, no crash."""
    head = f"{running_bridge.base}/"
    tail = "/request/tasks"
    topic = head + "d" * (MAX_TOPIC_BYTES - len(head) - len(tail)) + tail
    assert len(topic.encode()) == MAX_TOPIC_BYTES
    caplog.set_level(logging.INFO, logger="lianke_bridge")
    mark = running_bridge.probe.mark()
    await running_bridge.probe.publish(topic, b"{}")
    await still_answers(running_bridge)
    refused = [r for r in caplog.records if "not answering" in r.getMessage()]
    assert len(refused) == 1, [r.getMessage() for r in caplog.records]
    assert len(refused[0].getMessage()) < 500
    answers = running_bridge.probe.messages(f"{running_bridge.base}/+/response/tasks")
    assert not [m for m in answers if len(m.topic) > 1000]
    assert running_bridge.probe.mark() > mark


class FailingService(BridgeService):
    """The bridge with a bug switched on at will: its health report raises."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.broken = False

    def health(self) -> dict[str, Any]:
        """Fail once ``broken`` is set, as an unforeseen bug inside the session would."""
        if self.broken:
            raise RuntimeError("a bug inside the session")
        return super().health()


async def test_a_bridge_that_dies_leaves_offline_retained(
    bridge_config: Config, mosquitto: MosquittoBroker
) -> None:
    """An unexpected exception ends the service, and bridge/state is retained offline."""
    base = bridge_config.mqtt.base_topic
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base}/#"]) as probe:
        service = FailingService(bridge_config, health_interval=0.05)
        bridge = RunningBridge(service, probe)
        await bridge.start()
        await probe.wait_for(f"{base}/bridge/state", lambda m: m.text == "online")
        service.broken = True
        assert bridge.task is not None
        with pytest.raises(BaseExceptionGroup):
            await asyncio.wait_for(bridge.task, 10)
    async with MqttProbe(
        mosquitto.host, mosquitto.port, subscribe=[f"{base}/bridge/state"]
    ) as late:
        state = await late.wait_for(f"{base}/bridge/state")
    assert (state.text, state.retain) == ("offline", True)


# ---- exactly once ---------------------------------------------------------------------------
async def test_bridge_request_is_answered_once_on_mqtt5(running_bridge: RunningBridge) -> None:
    """A bridge-level request runs once: one ``ok``, no ``duplicate`` after it."""
    envelope = await running_bridge.request("bridge", "refresh", {"transaction": "r-1"})
    assert ok(envelope)["devices"]["office"]["online"] is True
    assert envelope["transaction"] == "r-1"


async def test_response_topic_equal_to_the_contract_topic_gets_one_answer(
    running_bridge: RunningBridge,
) -> None:
    """MQTT 5: a response topic that is the contract's own topic is answered there once."""
    topic = f"{running_bridge.base}/office/request/tasks"
    contract = f"{running_bridge.base}/office/response/tasks"
    start = running_bridge.probe.mark()
    message = await running_bridge.probe.request(
        topic, {}, response_topic=contract, settle=running_bridge.settle
    )
    assert running_bridge.probe.assert_one(contract, since=start) == message
    assert message.correlation_data is not None
    assert message.json()["status"] == "ok"


async def check_retained_request_is_ignored_and_cleared(
    bridge: RunningBridge, simulator: Simulator, mosquitto: MosquittoBroker
) -> None:
    """Publish a retained print while the bridge runs: never printed, never answered, cleared."""
    topic = f"{bridge.base}/office/request/print"
    await bridge.probe.publish(topic, {"url": "https://x.test/retained.pdf"}, retain=True)
    await bridge.settle()
    assert not bridge.probe.messages(f"{bridge.base}/office/response/#")
    assert simulator.count("/api/print/job", method="POST") == 0
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[]) as late:
        await late.subscribe(topic)
        await sentinel_round_trip(late, bridge.base)
        assert not [m for m in late.messages(topic) if m.payload], "the retained request stayed"
    # a live request on the same topic still prints
    assert ok(await bridge.request("office", "print", {"url": "https://x.test/live.pdf"}))
    assert simulator.count("/api/print/job", method="POST") == 1


async def test_retained_request_is_ignored_and_cleared_on_mqtt5(
    running_bridge: RunningBridge, simulator: Simulator, mosquitto: MosquittoBroker
) -> None:
    """MQTT 5 shows the retain flag as published: the request is dropped and cleared."""
    await check_retained_request_is_ignored_and_cleared(running_bridge, simulator, mosquitto)


@pytest.fixture
async def bridge_311(
    bridge_config: Config, mosquitto: MosquittoBroker
) -> AsyncIterator[RunningBridge]:
    """The bridge and its probe, both speaking MQTT 3.1.1."""
    config = replace(bridge_config, mqtt=replace(bridge_config.mqtt, protocol="3.1.1"))
    base = config.mqtt.base_topic
    async with MqttProbe(
        mosquitto.host, mosquitto.port, subscribe=[f"{base}/#"], protocol=ProtocolVersion.V311
    ) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            yield bridge
        finally:
            await bridge.stop()


async def test_retained_request_is_ignored_and_cleared_on_mqtt311(
    bridge_311: RunningBridge, simulator: Simulator, mosquitto: MosquittoBroker
) -> None:
    """MQTT 3.1.1 forwards it with retain=0: the re-subscribe check still recognises it."""
    await check_retained_request_is_ignored_and_cleared(bridge_311, simulator, mosquitto)


async def test_requests_are_answered_once_on_mqtt311(
    bridge_311: RunningBridge, simulator: Simulator
) -> None:
    """Device and bridge requests over 3.1.1: each answered exactly once, a print printed once."""
    assert ok(await bridge_311.request("bridge", "refresh", {"transaction": "b-1"}))
    assert ok(await bridge_311.request("office", "print", {"url": "https://x.test/a.pdf"}))
    assert ok(await bridge_311.request("office", "print", "https://x.test/b.pdf"))
    assert simulator.count("/api/print/job", method="POST") == 2


def count_topic_parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each topic is parsed as a request topic, from now on."""
    parsed: Counter[str] = Counter()
    parse = Topics.parse_request

    def counting(topics: Topics, topic: str) -> RequestTopic | None:
        parsed[topic] += 1
        return parse(topics, topic)

    monkeypatch.setattr(Topics, "parse_request", counting)
    return parsed


async def test_a_request_topic_is_parsed_once_on_mqtt5(
    running_bridge: RunningBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The topic is read as the request arrives and carried with it to its answer."""
    parsed = count_topic_parses(monkeypatch)
    assert ok(await running_bridge.request("office", "tasks", {"transaction": "p-5"}))
    assert parsed[f"{running_bridge.base}/office/request/tasks"] == 1


async def test_a_request_topic_is_parsed_once_on_mqtt311(
    bridge_311: RunningBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held for the 3.1.1 retained check and released, a request keeps its parsed topic."""
    parsed = count_topic_parses(monkeypatch)
    assert ok(await bridge_311.request("office", "tasks", {"transaction": "p-311"}))
    assert parsed[f"{bridge_311.base}/office/request/tasks"] == 1


async def test_an_empty_payload_is_not_acted_on_over_mqtt311(
    bridge_311: RunningBridge, simulator: Simulator
) -> None:
    """3.1.1 cannot tell an empty request from a retained message being deleted: refused."""
    topic = f"{bridge_311.base}/office/request/reboot"
    await bridge_311.probe.publish(topic, {"x": 1}, retain=True)
    await bridge_311.probe.publish(topic, b"", retain=True)  # deleting it
    await bridge_311.settle()
    envelope = await bridge_311.request("office", "reboot", b"")
    assert envelope["error"]["code"] == "invalid_payload"
    assert "PRESS" in envelope["error"]["message"]
    assert simulator.count("/api/device/async_device_reboot") == 0
    assert ok(await bridge_311.request("office", "reboot", "PRESS")) == {"rebooting": True}
