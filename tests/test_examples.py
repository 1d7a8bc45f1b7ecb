"""The examples a user imports (Node-RED flows, Home Assistant YAML) speak the bridge's language.

Node-RED: every flow file imports (ids unique, wires and broker links resolve); every ``mqtt out``
topic and payload is a request the bridge's own parser accepts; every ``mqtt in`` topic is one the
bridge publishes. Home Assistant: every entity id the automations and the card use is one the
bridge's discovery really announces for the demo fleet (a running bridge, the simulator, a real
broker).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from bridge_harness import DEVICE_NAMES, RunningBridge, make_config
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.bridge.requests.registry import BRIDGE_COMMANDS, DEVICE_COMMANDS, parse_request
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
NODE_RED = ROOT / "examples/node-red"
HOME_ASSISTANT = ROOT / "examples/homeassistant"
FLOWS = sorted(NODE_RED.glob("*.json"))
BASE = "lianke"
"""The flows use the default base topic."""
TOPICS = Topics(BASE)
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def load_flow(path: Path) -> list[dict[str, Any]]:
    """A flow file as Node-RED's import reads it: a list of node objects."""
    nodes = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(nodes, list)
    return nodes


def published_topics() -> set[str]:
    """Concrete topics the bridge publishes for the demo boxes (job ids and ports sampled)."""
    topics = {
        TOPICS.bridge_state,
        TOPICS.bridge_info,
        TOPICS.bridge_health,
        TOPICS.bridge_event,
        TOPICS.bridge_log,
    }
    topics |= {TOPICS.bridge_response(command) for command in BRIDGE_COMMANDS}
    for device in DEVICE_NAMES:
        topics |= {
            TOPICS.availability(device),
            TOPICS.state(device),
            TOPICS.queue(device),
            TOPICS.event(device),
            TOPICS.job(device, "581decf2-c6f6-4163-8646-5dcc0c3c1c05"),
            *(TOPICS.printer_state(device, port) for port in (1, 2)),
            *(TOPICS.response(device, command) for command in DEVICE_COMMANDS),
        }
    return topics


def matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic filter matching (``+`` one level, ``#`` the rest)."""
    levels, parts = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(levels):
        if level == "#":
            return True
        if index >= len(parts) or level not in ("+", parts[index]):
            return False
    return len(levels) == len(parts)


def upstream(nodes: list[dict[str, Any]], target: str) -> Iterator[dict[str, Any]]:
    """Every node whose wires lead (directly or through others) to ``target``."""
    feeding = [n for n in nodes if any(target in out for out in n.get("wires", []))]
    for node in feeding:
        yield node
        yield from upstream(nodes, node["id"])


def response_topics(nodes: list[dict[str, Any]]) -> set[str]:
    """The MQTT 5 response topics a flow asks for (in function code or mqtt out options)."""
    found = {n["respTopic"] for n in nodes if n["type"] == "mqtt out" and n.get("respTopic")}
    for node in nodes:
        if node["type"] == "function":
            found |= set(re.findall(r'msg\.responseTopic\s*=\s*"([^"]+)"', node["func"]))
    return found


def test_there_are_the_promised_flows() -> None:
    """Print, follow a job, MQTT 5 request/response, a status board, buttons."""
    assert {path.stem for path in FLOWS} == {
        "print-url",
        "follow-job",
        "mqtt5-request",
        "status-dashboard",
        "buttons",
    }
    for page in (NODE_RED / "README.md", ROOT / "docs" / "node-red.md"):
        text = page.read_text(encoding="utf-8")
        for path in FLOWS:
            assert path.name in text, f"{path.name} is not described in {page.name}"


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_a_flow_imports(path: Path) -> None:
    """Unique ids, one tab, wires and broker references that resolve, core node types only."""
    nodes = load_flow(path)
    ids = [node["id"] for node in nodes]
    assert len(ids) == len(set(ids))
    tabs = [node for node in nodes if node["type"] == "tab"]
    assert len(tabs) == 1
    brokers = {node["id"] for node in nodes if node["type"] == "mqtt-broker"}
    assert len(brokers) == 1
    core = {"tab", "mqtt-broker", "mqtt in", "mqtt out", "inject", "debug", "function"}
    core |= {"switch", "template", "comment", "change"}
    for node in nodes:
        assert node["type"] in core, f"{node['type']} needs an extra Node-RED package"
        if node["type"] not in ("tab", "mqtt-broker"):
            assert node["z"] == tabs[0]["id"]
        for out in node.get("wires", []):
            assert set(out) <= set(ids)
        if node["type"].startswith("mqtt "):
            assert node["broker"] in brokers


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_every_request_of_a_flow_is_accepted(path: Path) -> None:
    """Each mqtt out: a request topic, QoS 1, not retained, fed payloads the parser accepts."""
    nodes = load_flow(path)
    outs = [node for node in nodes if node["type"] == "mqtt out"]
    for out in outs:
        where = TOPICS.parse_request(out["topic"])
        assert where is not None, f"{out['topic']} is not a request topic"
        assert (out["qos"], out["retain"]) == ("1", "false")  # retained requests are ignored
        injects = [n for n in upstream(nodes, out["id"]) if n["type"] == "inject"]
        assert injects, f"nothing feeds {out['topic']}"
        for inject in injects:
            assert inject["payloadType"] == "json"
            payload = json.loads(inject["payload"])
            if any(n["type"] == "function" and "transaction" in n["func"] for n in nodes):
                payload = {**payload, "transaction": "node-red-1"}  # what the function adds
            parse_request(where.command, json.dumps(payload).encode(), scope=where.scope)


@pytest.mark.parametrize("path", FLOWS, ids=[p.stem for p in FLOWS])
def test_every_subscription_of_a_flow_gets_messages(path: Path) -> None:
    """Each mqtt in listens to a topic the bridge publishes (or to the flow's response topic)."""
    nodes = load_flow(path)
    published = published_topics() | response_topics(nodes)
    for node in (n for n in nodes if n["type"] == "mqtt in"):
        topic_filter = node["topic"]
        assert any(matches(topic_filter, t) for t in published), f"nothing on {topic_filter}"
        # retain-as-published off: a live job update is not flagged retained, a replayed one is
        assert node["rap"] is False


def test_following_a_job_ignores_the_retained_replay() -> None:
    """The job follower drops retained job/+ messages and knows the final states."""
    nodes = load_flow(NODE_RED / "follow-job.json")
    (job_in,) = [n for n in nodes if n["type"] == "mqtt in" and n["topic"].endswith("/job/+")]
    (follower,) = [n for n in nodes if job_in["wires"][0][0] == n["id"]]
    assert "if (msg.retain) { return null; }" in follower["func"]
    assert all(f'"{state}"' in follower["func"] for state in TERMINAL)


def test_the_mqtt5_flow_reads_correlation_data_as_a_buffer() -> None:
    """MQTT 5 on the broker node; correlation data sent and read back as a Buffer."""
    nodes = load_flow(NODE_RED / "mqtt5-request.json")
    (broker,) = [n for n in nodes if n["type"] == "mqtt-broker"]
    assert broker["protocolVersion"] == "5"
    code = "\n".join(n["func"] for n in nodes if n["type"] == "function")
    assert "msg.correlationData = Buffer.from(" in code
    assert "Buffer.isBuffer(msg.correlationData)" in code


# ---- Home Assistant ---------------------------------------------------------------------------
ENTITY_ID = re.compile(
    r"\b(?:sensor|binary_sensor|button|notify|event|text|image|update)\.lianke_[a-z0-9_]+\b"
)


def example_entity_ids() -> dict[str, set[str]]:
    """Entity ids of the bridge used by each Home Assistant example file (YAML, parsed)."""
    found: dict[str, set[str]] = {}
    for path in sorted(HOME_ASSISTANT.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # it must be valid YAML
        assert data, path
        found[path.name] = set(ENTITY_ID.findall(json.dumps(data)))
    return found


def test_the_home_assistant_examples_are_the_pages() -> None:
    """Each automation of docs/home-assistant.md has its file, the card too; all use the bridge."""
    found = example_entity_ids()
    assert "dashboard_card.yaml" in found
    assert len(found) >= 5
    page = (ROOT / "docs" / "home-assistant.md").read_text(encoding="utf-8")
    for name, ids in found.items():
        assert name in page, f"docs/home-assistant.md does not point to {name}"
        if name != "print_with_options.yaml":
            assert ids, f"{name} uses no entity of the bridge"


async def test_home_assistant_examples_use_entities_the_bridge_announces(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """Discovery of the demo fleet, from a running bridge, holds every entity the examples use."""
    used = set().union(*example_entity_ids().values())
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state", homeassistant=True)
    config = replace(config, mqtt=replace(config.mqtt, base_topic=BASE))  # the bridge's own ids
    prefix = config.homeassistant.prefix
    announced: set[str] = set()

    def collect(message: Any) -> bool:
        if message.payload:
            components = message.json().get("components", {"single": message.json()})
            announced.update(c.get("default_entity_id", "") for c in components.values())
        return used <= announced

    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{prefix}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            try:
                await probe.wait_for(f"{prefix}/#", collect, timeout=20)
            except TimeoutError:
                pytest.fail(f"not announced: {sorted(used - announced)}")
        finally:
            await bridge.stop()
