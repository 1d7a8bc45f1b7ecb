"""The request path under hostile input: nothing a client sends can end the service.

Each test sends what a fuzzer or a broken client sent in the chaos run of issue #7, against the
real bridge on a real Mosquitto, and checks the bridge answers (or drops with one log line) and
goes on answering.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from bridge_harness import RunningBridge
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config

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
        b'{"url": "https://x.test/a", "paper": "\\udbff\\udbff"}',
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
