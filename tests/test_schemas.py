"""Every message the bridge publishes in an end-to-end run validates against its JSON Schema.

The run exercises every command (ok and refused), every event and the Home Assistant discovery;
a probe records ``<base>/#`` and the discovery prefix. Each message is then checked against the
schema that ``schemas/index.json`` maps its topic to: a topic that maps to nothing fails, and so
does a schema that the run never used (the run would have stopped covering it). The requests the
test sent (as JSON objects) are checked against the request schemas too.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import RunningBridge, make_config
from jsonschema import Draft202012Validator
from mqtt_broker import MosquittoBroker, MqttProbe, ProbeMessage, topic_matches
from referencing import Registry, Resource

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.cli.process import MqttLogHandler
from lianke_bridge.simulator import Simulator

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
INDEX = json.loads((SCHEMAS / "index.json").read_text(encoding="utf-8"))
OFFICE_ID = "lc01demo000001"
SCALE_OUT_TOPICS = frozenset(
    {
        "<base>/bridge/+/state",
        "<base>/bridge/+/info",
        "<base>/bridge/+/health",
        "<base>/bridge/fanout/+",
    }
)
"""Only several instances publish these: tests/test_scale_out.py checks them on its traffic."""


def schema_files() -> Iterator[Path]:
    """Every schema (the index is not one)."""
    return (p for p in sorted(SCHEMAS.rglob("*.json")) if p.name != "index.json")


def registry() -> Registry[Any]:
    """Every schema under its ``$id``, so the files' relative ``$ref`` resolve."""
    resources = []
    for path in schema_files():
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = registry()


def validator(name: str) -> Draft202012Validator:
    """The validator of one schema file (a path under schemas/)."""
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=REGISTRY)


def decode(message: ProbeMessage, fmt: str) -> Any:
    """JSON, or for text topics the text itself (a number as a number)."""
    if fmt == "text":
        try:
            value = json.loads(message.payload)
        except ValueError:
            return message.text
        return value if isinstance(value, int) else message.text
    return message.json()


@pytest.mark.parametrize("path", list(schema_files()), ids=lambda p: p.stem)
def test_schemas_are_valid_draft_2020_12(path: Path) -> None:
    """Each file is a valid 2020-12 schema with an ``$id`` matching its place."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/schemas/" + path.relative_to(SCHEMAS).as_posix())
    Draft202012Validator.check_schema(schema)


def test_index_names_existing_schemas() -> None:
    """Every schema the index names exists; every schema is named by the index or used by one."""
    named = (
        {entry["schema"] for entry in INDEX["topics"]}
        | set(INDEX["requests"].values())
        | set(INDEX["received"].values())
    )
    for name in named:
        assert (SCHEMAS / name).is_file(), name
    files = {p.relative_to(SCHEMAS).as_posix() for p in schema_files()}
    shared = {"common.json", "envelope.json"} | {f for f in files if f.startswith("data/")}
    assert files - named == shared


class TrafficChecker:
    """Maps topics to schemas as the index says and collects what fails."""

    def __init__(self, base: str, prefix: str) -> None:
        self.topics = [
            {**entry, "filter": entry["topic"].replace("<base>", base).replace("<prefix>", prefix)}
            for entry in INDEX["topics"]
        ]
        self.requests = {
            pattern.replace("<base>", base): name for pattern, name in INDEX["requests"].items()
        }
        self.request_filters = (f"{base}/bridge/request/+", f"{base}/+/request/+")
        self.used: set[str] = set()
        self.problems: list[str] = []
        self.checked = 0

    def check(self, message: ProbeMessage) -> None:
        """Validate one recorded message."""
        if any(topic_matches(f, message.topic) for f in self.request_filters):
            self._check_request(message)
            return
        entry = next((e for e in self.topics if topic_matches(e["filter"], message.topic)), None)
        if entry is None:
            self.problems.append(f"{message.topic}: no schema for this topic")
            return
        self.checked += 1
        if not message.payload:
            if not (entry.get("retained") and message.retain):
                self.problems.append(f"{message.topic}: an empty payload on a non-retained topic")
            return
        self.used.add(entry["topic"])
        try:
            value = decode(message, entry.get("format", "json"))
        except ValueError as err:
            self.problems.append(f"{message.topic}: not JSON ({err})")
            return
        name = entry["schema"]
        for error in validator(name).iter_errors(value):
            where = "/".join(str(p) for p in error.absolute_path)
            self.problems.append(f"{message.topic} [{name}] at /{where}: {error.message}")

    def _check_request(self, message: ProbeMessage) -> None:
        try:
            value = message.json()
        except ValueError:
            return  # a bare form (PRESS, a URL): the schemas describe the JSON object form
        if not isinstance(value, dict):
            return
        name = next((n for p, n in self.requests.items() if topic_matches(p, message.topic)), None)
        if name is None:
            return  # a command that does not exist: refused by the bridge, checked above
        if "copy" in value:
            return  # the deliberately bad request
        for error in validator(name).iter_errors(value):
            self.problems.append(f"request {message.topic} [{name}]: {error.message}")


@pytest.fixture
async def recorded_bridge(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> AsyncIterator[RunningBridge]:
    """A bridge with Home Assistant on, health every 0.2 s and warnings forwarded to MQTT."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state", homeassistant=True)
    prefix = config.homeassistant.prefix
    subscribe = [f"{base_topic}/#", f"{prefix}/#"]
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=subscribe) as probe:
        service = BridgeService(config, health_interval=0.2, ha_announce_delay=(0.0, 0.0))
        handler = MqttLogHandler(service.forward_log)
        logging.getLogger("lianke_bridge").addHandler(handler)
        bridge = RunningBridge(service, probe)
        try:
            await bridge.start()
            yield bridge
        finally:
            await bridge.stop()
            logging.getLogger("lianke_bridge").removeHandler(handler)


def ok(envelope: dict[str, Any]) -> Any:
    """The data of an ok envelope."""
    assert envelope["status"] == "ok", envelope
    return envelope["data"]


def refused(envelope: dict[str, Any]) -> Any:
    """The error code of an error envelope."""
    assert envelope["status"] == "error", envelope
    return envelope["error"]["code"]


async def exercise(bridge: RunningBridge, simulator: Simulator) -> None:  # noqa: PLR0915
    """Every command, ok and refused, and every event the simulator can cause."""
    await bridge.wait_json("office/printer/1/state", lambda s: s["live_status"])
    # prints, followed to their ends
    printed = ok(
        await bridge.request(
            "office",
            "print",
            {"url": "https://x.test/a.pdf", "copies": 2, "paper": "A4", "transaction": "s-1"},
        )
    )
    await bridge.wait_json(f"office/job/{printed['task_id']}", lambda j: j["state"] == "succeeded")
    again = await bridge.request(
        "office", "print", {"url": "https://x.test/a.pdf", "transaction": "s-1"}
    )
    assert refused(again) == "duplicate"
    assert again["error"]["original"]["data"] == printed
    ok(await bridge.request("office", "print", {"title": "Shopping", "text": "- [ ] milk"}))
    pdf = base64.b64encode(b"%PDF-1.4\n<</Type /Page>>\n").decode()
    ok(await bridge.request("office", "print", {"file": pdf, "filename": "a.pdf"}))
    ok(await bridge.request("office", "print", "https://x.test/typed.png"))
    await bridge.probe.wait_for(f"{bridge.base}/office/print_url/state", timeout=8)
    simulator.faults.jobs_fail(OFFICE_ID)
    failed = ok(await bridge.request("office", "print", {"url": "https://x.test/f.pdf"}))
    await bridge.wait_json("office/event", lambda e: e["event"] == "job_failed")
    simulator.faults.jobs_fail(OFFICE_ID, fail=False)
    timing = simulator.state.timing
    simulator.state.timing = replace(timing, ready=5.0)
    slow = ok(await bridge.request("office", "print", {"url": "https://x.test/slow.pdf"}))
    ok(await bridge.request("office", "cancel", {"task_id": slow["task_id"]}))
    await bridge.wait_json(f"office/job/{slow['task_id']}", lambda j: j["state"] == "cancelled")
    simulator.state.timing = timing
    # the other box commands
    ok(await bridge.request("office", "flush", "PRESS"))
    ok(await bridge.request("office", "flush", {"port": 1}))
    simulator.state.boxes[OFFICE_ID].failures = 1  # whatever the jobs above left
    ok(await bridge.request("office", "reset_error_limit", {"port": 1}))
    ok(await bridge.request("office", "refresh"))
    ok(await bridge.request("office", "refresh_network_printers"))
    ok(await bridge.request("office", "job", {"task_id": failed["task_id"]}))
    assert refused(await bridge.request("office", "job", {"task_id": "no-such-task"})) == 400
    assert ok(await bridge.request("office", "tasks", {"transaction": 7}))["tasks"]
    ok(await bridge.request("office", "printer_params", {"port": 1}))
    ok(await bridge.request("office", "paper_sizes", {"port": 1}))
    ok(await bridge.request("office", "page_count", {"file": pdf, "filename": "a.pdf"}))
    ok(await bridge.request("office", "print_test_page", {"port": 1, "page": "maintenance"}))
    # the bridge's commands
    ok(await bridge.request("bridge", "republish", "PRESS"))
    ok(await bridge.request("bridge", "health_check"))
    ok(await bridge.request("bridge", "printer_models", {"query": "HP"}))
    token = base64.b64encode(f"{OFFICE_ID}:secret-key".encode()).decode()
    ok(await bridge.request("bridge", "decode_qr", {"text": f"https://x.test/qr?token={token}"}))
    ok(await bridge.request("bridge", "refresh"))
    # refused requests
    assert refused(await bridge.request("office", "prnt", {})) == "unknown_command"
    assert refused(await bridge.request("bridge", "nope")) == "unknown_command"
    assert refused(await bridge.request("office", "print", {"copy": 2})) == "invalid_payload"
    assert refused(await bridge.request("office", "cancel", "PRESS")) == "invalid_payload"
    assert refused(await bridge.request("kitchen", "print", "https://x.test/a")) == (
        "unknown_device"
    )
    # events: a printer problem and back, a printer unplugged and back, the error limit
    simulator.faults.printer_problem(OFFICE_ID, 1, paper_out=True)
    await bridge.wait_json("office/event", lambda e: e["event"] == "printer_problem")
    simulator.faults.printer_problem(OFFICE_ID, 1)
    await bridge.wait_json("office/event", lambda e: e["event"] == "printer_ok")
    simulator.faults.unplug_printer(OFFICE_ID, 2)
    await bridge.wait_json("bridge/event", lambda e: e["event"] == "printer_removed")
    simulator.faults.plug_printer(OFFICE_ID, 2)
    await bridge.wait_json("bridge/event", lambda e: e["event"] == "printer_added")
    simulator.state.boxes[OFFICE_ID].failures = 30
    paused = await bridge.request("office", "print", {"url": "https://x.test/a.pdf"})
    assert refused(paused) == 11203
    await bridge.wait_json("bridge/event", lambda e: e["event"] == "error_limit")
    ok(await bridge.request("office", "reset_error_limit", 1))
    # the cloud rate-limiting (a warning on bridge/log), the box offline and back
    simulator.faults.rate_limit(path="/api/device/device_info", count=6)
    await bridge.wait_json("bridge/event", lambda e: e["event"] == "rate_limited")
    await bridge.wait_json("bridge/log", lambda r: r["level"] == "warning")
    simulator.faults.box_offline(OFFICE_ID)
    await bridge.wait_json("office/event", lambda e: e["event"] == "device_offline")
    assert refused(await bridge.request("office", "print", {"url": "https://x.test/a.pdf"})) == 5002
    simulator.faults.box_offline(OFFICE_ID, offline=False)
    await bridge.wait_json("office/event", lambda e: e["event"] == "device_online")
    assert ok(await bridge.request("office", "reboot", "PRESS")) == {"rebooting": True}
    await bridge.wait_json("bridge/health", lambda h: h["jobs_active"] >= 0)


async def test_live_traffic_validates_against_the_schemas(
    recorded_bridge: RunningBridge, simulator: Simulator
) -> None:
    """Every message of a full run matches the schema of its topic; every schema was used."""
    await exercise(recorded_bridge, simulator)
    await recorded_bridge.stop()  # the retained offline and the end of the run
    config = recorded_bridge.service.config
    checker = TrafficChecker(config.mqtt.base_topic, config.homeassistant.prefix)
    for message in recorded_bridge.probe.messages():
        checker.check(message)
    assert not checker.problems, "\n".join(checker.problems[:40])
    assert checker.checked > 100
    unused = {entry["topic"] for entry in INDEX["topics"]} - checker.used - SCALE_OUT_TOPICS
    assert not unused, f"the run published nothing on {sorted(unused)}"
    events = {
        json.loads(m.payload)["event"]
        for m in recorded_bridge.probe.messages(f"{config.mqtt.base_topic}/+/event")
    }
    assert events >= {
        "job_submitted",
        "job_finished",
        "job_failed",
        "job_cancelled",
        "printer_problem",
        "printer_ok",
        "device_offline",
        "device_online",
        "printer_added",
        "printer_removed",
        "error_limit",
        "rate_limited",
    }


def test_a_topic_without_a_schema_is_a_failure() -> None:
    """The checker refuses what the index does not map, and empty payloads on live topics."""
    checker = TrafficChecker("lianke", "homeassistant")
    checker.check(ProbeMessage(topic="lianke/office/surprise", payload=b"{}", retain=False, qos=1))
    checker.check(ProbeMessage(topic="lianke/office/event", payload=b"", retain=False, qos=1))
    checker.check(ProbeMessage(topic="lianke/office/queue", payload=b"-1", retain=True, qos=1))
    checker.check(ProbeMessage(topic="lianke/office/queue", payload=b"", retain=True, qos=1))
    assert len(checker.problems) == 3, checker.problems
    assert "no schema" in checker.problems[0]
    assert "empty payload" in checker.problems[1]
    assert "queue.json" in checker.problems[2]
