"""Fuzzing the running bridge: whatever arrives on any request topic, it survives and answers once.

Hypothesis sends hostile requests (lone surrogates, topics at and beyond MQTT's limits, huge and
deeply nested JSON, wrong types, binary) to every request topic of a bridge running between the
simulator and a real Mosquitto, over MQTT 5 and 3.1.1. After each one a sentinel round trip
settles the bridge; then the bridge must still run and the request must have had at most one
answer (none only where none can be given: a response topic beyond MQTT's limits).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiomqtt import ProtocolVersion
from bridge_harness import RunningBridge
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mqtt_broker import MosquittoBroker, MqttProbe, default_response_topic

from lianke_bridge.bridge.requests.registry import BRIDGE_COMMANDS, DEVICE_COMMANDS
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config

MAX_TOPIC_BYTES = 65_535
EXAMPLES = int(os.environ.get("LIANKE_FUZZ_EXAMPLES", "60"))
"""Per protocol: enough to meet every kind of input, few enough to keep the suite fast.

``LIANKE_FUZZ_EXAMPLES=5000`` makes a chaos run of it (the issue's 10,000 hostile payloads).
"""
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_TOPIC_TEXT = st.text(
    # What a broker accepts in a topic: no surrogates, control or unassigned characters.
    st.characters(exclude_categories=["Cs", "Cc", "Cn"], exclude_characters="/+#"),
    min_size=1,
    max_size=20,
)
devices = st.sampled_from(["office", "bridge", "warehouse", "kitchen"]) | _TOPIC_TEXT
commands = st.sampled_from(sorted(DEVICE_COMMANDS | BRIDGE_COMMANDS | {"nope"})) | _TOPIC_TEXT
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
)
FIELDS = ("url", "file", "filename", "text", "port", "copies", "paper", "task_id", "transaction")


def _surrogate_json(value: str) -> bytes:
    """JSON text holding lone surrogates as escapes (as a hostile client can send them)."""
    return json.dumps({"transaction": value, "url": f"https://x.test/{value}.pdf"}).encode()


payloads = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5).map(
        lambda v: json.dumps(v).encode()
    ),
    st.sampled_from(["\ud800", "\udfff", "a\udbffb", "\ud83d"]).map(_surrogate_json),
    st.integers(min_value=1, max_value=200_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=1, max_value=3).map(
        lambda n: json.dumps({"text": "x" * (n * 400_000)}).encode()
    ),
    st.just(b""),
    st.just(b"PRESS"),
)


@pytest.fixture(params=["5", "3.1.1"], ids=["mqtt5", "mqtt311"])
async def fuzzed_bridge(
    request: pytest.FixtureRequest, bridge_config: Config, mosquitto: MosquittoBroker
) -> AsyncIterator[RunningBridge]:
    """One bridge (and a probe of the same protocol) for every example of the test."""
    protocol = request.param
    config = replace(bridge_config, mqtt=replace(bridge_config.mqtt, protocol=protocol))
    version = ProtocolVersion.V5 if protocol == "5" else ProtocolVersion.V311
    base = config.mqtt.base_topic
    async with MqttProbe(
        mosquitto.host, mosquitto.port, subscribe=[f"{base}/#"], protocol=version
    ) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            yield bridge
        finally:
            await bridge.stop()


def _topic(base: str, device: str, command: str) -> str | None:
    """The request topic, or None when MQTT cannot even carry it (then nothing is sent)."""
    topic = f"{base}/{device}/request/{command}"
    return topic if len(topic.encode()) <= MAX_TOPIC_BYTES else None


async def _send_and_check(bridge: RunningBridge, topic: str, payload: bytes) -> None:
    probe = bridge.probe
    answer_topic = default_response_topic(topic)
    mark = probe.mark()
    await probe.publish(topic, payload)
    await bridge.settle()
    assert bridge.task is not None
    assert not bridge.task.done(), "the bridge stopped"
    answers = [
        m
        for m in probe.messages()[mark:]
        if m.topic == answer_topic and b'"transaction":"sentinel-' not in m.payload
    ]
    assert len(answers) <= 1, [a.payload[:200] for a in answers]
    if len(answer_topic.encode()) <= MAX_TOPIC_BYTES:
        assert len(answers) == 1, f"no answer on {answer_topic[:120]!r}"
        envelope = answers[0].json()
        assert envelope["status"] in ("ok", "error")


@FUZZ
@given(device=devices, command=commands, payload=payloads)
async def test_any_request_is_survived_and_answered_at_most_once(
    fuzzed_bridge: RunningBridge, device: str, command: str, payload: bytes
) -> None:
    """Any topic, any payload: the bridge runs on; one answer (or none past MQTT's limits)."""
    topic = _topic(fuzzed_bridge.base, device, command)
    if topic is not None:
        await _send_and_check(fuzzed_bridge, topic, payload)


@settings(FUZZ, max_examples=10)
@given(
    size=st.integers(min_value=MAX_TOPIC_BYTES - 100, max_value=MAX_TOPIC_BYTES),
    payload=st.sampled_from([b"{}", b"PRESS", b'{"transaction":"t"}']),
)
async def test_topics_at_mqtts_limit_are_survived(
    fuzzed_bridge: RunningBridge, size: int, payload: bytes
) -> None:
    """Request topics of up to 65,535 bytes: answered if the answer fits, never fatal."""
    filler = size - len(f"{fuzzed_bridge.base}//request/tasks".encode())
    topic = _topic(fuzzed_bridge.base, "d" * filler, "tasks")
    assert topic is not None
    await _send_and_check(fuzzed_bridge, topic, payload)
