"""Home Assistant end to end: simulator -> bridge -> a real Mosquitto -> a probe acting as HA.

The probe reads the discovery configs the bridge publishes and uses them as Home Assistant
would: it presses buttons by publishing ``payload_press`` to ``command_topic``, renders
``command_template`` and ``value_template`` with Jinja (HA's ``to_json`` semantics), subscribes
late to see retained states as HA does after a restart, and sends HA's birth message. Nothing in
the bridge is mocked; the simulator records which cloud call each press reached.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import FAST_POLL, SLOW_POLL, RunningBridge, make_config, until
from jinja2.sandbox import ImmutableSandboxedEnvironment
from mqtt_broker import (
    MosquittoBroker,
    MqttProbe,
    ProbeMessage,
    sentinel_round_trip,
    topic_matches,
)

from lianke_bridge.bridge import discovery
from lianke_bridge.bridge.requests.render import render_page
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config, PollConfig
from lianke_bridge.simulator import Simulator

OFFICE_ID = "lc01demo000001"
WAREHOUSE_ID = "lc01demo000002"
SPARE_ID = "lc01demo000003"
PRINTERS = {OFFICE_ID: (1, 2, 631), WAREHOUSE_ID: (1,)}
"""The demo fleet's printers, by box."""
ANNOUNCE_DELAY = (0.1, 0.2)
REANNOUNCE_TIMEOUT = 15.0
"""Seconds a full re-announce may take on a loaded machine (it comes at once when idle)."""
"""Home Assistant's 5-15 s re-announce delay, shortened for tests."""
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRIGGER = "device_automation"


# ---- Home Assistant's side ------------------------------------------------------------------
def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


JINJA = ImmutableSandboxedEnvironment()
JINJA.filters["to_json"] = _to_json
JINJA.filters["tojson"] = _to_json


def render_value(template: str | None, payload: str) -> str:
    """A value template rendered as HA does: ``value``, and ``value_json`` when it is JSON."""
    if template is None:
        return payload
    variables: dict[str, Any] = {"value": payload}
    with contextlib.suppress(ValueError):
        variables["value_json"] = json.loads(payload)
    return JINJA.from_string(template).render(**variables).strip()


def render_command(template: str | None, value: str) -> str:
    """What HA publishes for a value: the command template rendered, or the value itself."""
    if template is None:
        return value
    return JINJA.from_string(template).render(value=value)


@dataclass(frozen=True)
class Entity:
    """One entity as Home Assistant sees it, from either discovery mode."""

    platform: str
    node: str
    key: str
    config: dict[str, Any]

    @property
    def unique_id(self) -> str:
        """The entity's unique id."""
        return str(self.config["unique_id"])

    def topics(self) -> set[str]:
        """Every topic this entity reads (state, attributes, availability)."""
        found = {
            self.config[k] for k in ("state_topic", "json_attributes_topic") if k in self.config
        }
        found |= {a["topic"] for a in self.config.get("availability", [])}
        return found


def config_payloads(probe: MqttProbe, prefix: str) -> dict[str, Any]:
    """Topic -> the latest retained discovery config (None once cleared), as a broker holds it."""
    configs: dict[str, Any] = {}
    for message in probe.messages(f"{prefix}/#"):
        if message.topic.endswith("/config") and message.retain:
            configs[message.topic] = message.json() if message.payload else None
    return configs


def entities(configs: dict[str, Any], prefix: str) -> list[Entity]:
    """Every entity the configs describe (a bare ``{"platform": p}`` component is a removal).

    Device triggers (``device_automation``) are not entities: ``test_discovery_triggers``.
    """
    found: list[Entity] = []
    for topic, payload in sorted(configs.items()):
        if payload is None:
            continue
        parts = topic[len(prefix) + 1 : -len("/config")].split("/")
        if parts[0] == "device":
            for key, component in payload["components"].items():
                if len(component) > 1 and component["platform"] != TRIGGER:
                    config = {**component, "device": payload["device"]}
                    found.append(Entity(component["platform"], parts[1], key, config))
        elif parts[0] != TRIGGER:
            found.append(Entity(parts[0], parts[1], parts[2], payload))
    return found


def find(all_entities: list[Entity], node: str, key: str) -> Entity:
    """One entity by node id and component key."""
    for entity in all_entities:
        if (entity.node, entity.key) == (node, key):
            return entity
    raise AssertionError(f"no entity {key!r} on {node!r}")


def assert_valid_state(entity: Entity, payload: str) -> None:
    """The state HA derives from a payload is one the entity accepts."""
    config = entity.config
    if entity.platform == "event":
        data = json.loads(payload)
        assert data["event_type"] in config["event_types"], (entity.unique_id, data)
        return
    state = render_value(config.get("value_template"), payload)
    where = (entity.unique_id, payload[:200], state)
    if entity.platform == "binary_sensor":
        assert state in (config.get("payload_on", "ON"), config.get("payload_off", "OFF")), where
    elif entity.platform == "text":
        assert len(state) <= config["max"], where
        assert re.fullmatch(config["pattern"], state), where
    elif config.get("device_class") == "enum":
        assert state in [*config["options"], "None"], where
    elif config.get("device_class") == "date":
        assert state == "None" or ISO_DATE.match(state), where
    elif "unit_of_measurement" in config or "state_class" in config:
        assert state == "None" or float(state) >= 0, where
    else:
        assert state != "", where  # "None" is fine: HA shows unknown


def assert_valid_attributes(entity: Entity, payload: str) -> None:
    """HA's attributes from a payload of ``json_attributes_topic`` are a JSON object."""
    attributes = json.loads(render_value(entity.config.get("json_attributes_template"), payload))
    assert isinstance(attributes, dict), (entity.unique_id, payload[:200])


def printer_nodes(box_id: str) -> list[str]:
    """Node ids of a box's printers."""
    return [discovery.printer_node_id(box_id, port) for port in PRINTERS.get(box_id, ())]


def device_topic(config: Config, node: str) -> str:
    """A device-based discovery topic."""
    return f"{config.homeassistant.prefix}/device/{node}/config"


# ---- running bridges ------------------------------------------------------------------------
def ha_config(
    simulator: Simulator,
    broker: MosquittoBroker,
    base_topic: str,
    state_dir: Path,
    *,
    poll: PollConfig = FAST_POLL,
    **homeassistant: Any,
) -> Config:
    """The harness configuration with Home Assistant discovery on (status topic per test)."""
    config = make_config(simulator, broker, base_topic, state_dir, poll=poll, homeassistant=True)
    ha = replace(config.homeassistant, status_topic=f"{base_topic}_ha/status", **homeassistant)
    return replace(config, homeassistant=ha)


@contextlib.asynccontextmanager
async def probe_for(broker: MosquittoBroker, config: Config) -> AsyncIterator[MqttProbe]:
    """A probe recording the bridge's topics and the discovery prefix."""
    filters = [f"{config.mqtt.base_topic}/#", f"{config.homeassistant.prefix}/#"]
    async with MqttProbe(broker.host, broker.port, subscribe=filters) as probe:
        yield probe


@contextlib.asynccontextmanager
async def bridge_running(config: Config, probe: MqttProbe) -> AsyncIterator[RunningBridge]:
    """A bridge with a shortened HA announce delay, stopped (as by SIGTERM) afterwards."""
    bridge = RunningBridge(BridgeService(config, ha_announce_delay=ANNOUNCE_DELAY), probe)
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop()


async def discovered(
    bridge: RunningBridge,
    config: Config,
    nodes: list[str],
    *,
    since: int = 0,
    probe: MqttProbe | None = None,
) -> dict[str, Any]:
    """Wait until every node's device config is retained (from ``since``) and announcing ended.

    ``probe`` is the bridge's own unless another one is given.
    """
    probe = probe or bridge.probe
    for node in nodes:
        await probe.wait_for(
            device_topic(config, node), lambda m: bool(m.payload) and m.retain, since=since
        )
    await announced(bridge, probe)
    return config_payloads(probe, config.homeassistant.prefix)


async def announced(bridge: RunningBridge, probe: MqttProbe | None = None) -> None:
    """Wait until the bridge has nothing left to announce, and the probe has all it sent.

    A box is announced once device_info told its identity and again once its first printer
    list is read, so: every box answered device_info, every online box listed its printers, no
    poller holds identity news it has yet to announce, and the announce those started (it takes
    the discovery lock before its poller yields) is over.
    """
    service = bridge.service
    await until(
        lambda: (
            all(
                box.known and (box.printers_listed or not box.state.online)
                for box in service.boxes.values()
            )
            and not any(poller._identity_news for poller in service.pollers.values())
        )
    )
    await (probe or bridge.probe).sync()


def every_node(config: Config) -> list[str]:
    """The bridge, the three boxes and the four printers of the demo fleet."""
    boxes = [discovery.box_node_id(i) for i in (OFFICE_ID, WAREHOUSE_ID, SPARE_ID)]
    return [
        discovery.bridge_node_id(config.mqtt.base_topic),
        *boxes,
        *printer_nodes(OFFICE_ID),
        *printer_nodes(WAREHOUSE_ID),
    ]


@pytest.fixture
def config(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> Config:
    """Fast polling, device-based discovery under ``<base>_ha``."""
    return ha_config(simulator, mosquitto, base_topic, tmp_path / "state")


@pytest.fixture
async def ha(config: Config, mosquitto: MosquittoBroker) -> AsyncIterator[RunningBridge]:
    """The bridge running with HA discovery, its probe subscribed to base and prefix."""
    async with probe_for(mosquitto, config) as probe, bridge_running(config, probe) as bridge:
        yield bridge


def ok(message: ProbeMessage) -> Any:
    """The data of an ok response (fails with the error otherwise)."""
    envelope = message.json()
    assert envelope["status"] == "ok", envelope
    return envelope["data"]


def response_topic(command_topic: str) -> str:
    """Where the bridge answers a command topic."""
    return command_topic.replace("/request/", "/response/")


async def send(bridge: RunningBridge, topic: str, payload: str) -> ProbeMessage:
    """Publish as HA does (plain QoS 1, no response topic); return the bridge's ONE answer."""
    probe = bridge.probe
    start = probe.mark()
    await probe.publish(topic, payload)
    answer = await probe.wait_for(response_topic(topic), since=start)
    await bridge.settle()
    probe.assert_one(response_topic(topic), since=start)
    return answer


def calls(simulator: Simulator, path: str, method: str | None = None) -> list[dict[str, Any]]:
    """The fields of every recorded call to a path (form, JSON body or query)."""
    return [
        {**r.query, **r.fields}
        for r in simulator.requests
        if r.path == path and method in (None, r.method)
    ]


def submitted(simulator: Simulator) -> list[dict[str, Any]]:
    """The print jobs the simulator received."""
    return calls(simulator, "/api/print/job", "POST")


def after(probe: MqttProbe, start: int, topic_filter: str = "#") -> list[ProbeMessage]:
    """Messages on a filter that arrived after the mark ``start``."""
    return [m for m in probe.messages()[start:] if topic_matches(topic_filter, m.topic)]


# ---- discovery ------------------------------------------------------------------------------
async def test_device_discovery_for_bridge_boxes_and_printers(
    ha: RunningBridge, config: Config
) -> None:
    """One retained device config each for the bridge, every box and every printer found."""
    prefix = config.homeassistant.prefix
    configs = await discovered(ha, config, every_node(config))
    for message in ha.probe.messages(f"{prefix}/#"):
        assert message.retain, message.topic
    assert all(topic.startswith(f"{prefix}/device/") for topic in configs)
    office = configs[device_topic(config, discovery.box_node_id(OFFICE_ID))]
    assert office["origin"]["name"] == "lianke-bridge"
    assert office["device"]["identifiers"] == [f"lianke_{OFFICE_ID}"]
    assert office["device"]["sw_version"] == "2.1.113"
    assert {"print_url", "print", "job", "reboot", "flush_queue", "queue"} <= set(
        office["components"]
    )
    label = configs[device_topic(config, discovery.printer_node_id(WAREHOUSE_ID, 1))]
    assert label["device"]["via_device"] == discovery.box_node_id(WAREHOUSE_ID)
    assert "out_of_ribbon" in label["components"]
    inkjet = configs[device_topic(config, discovery.printer_node_id(OFFICE_ID, 631))]
    assert "ink_yellow" in inkjet["components"]
    spare_printers = [t for t in configs if f"lianke_{SPARE_ID}_p" in t]
    assert spare_printers == []
    unique_ids = [e.unique_id for e in entities(configs, prefix)]
    assert len(unique_ids) == len(set(unique_ids))


async def test_entity_discovery_has_the_same_entities_one_config_each(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """``discovery: entity`` publishes one retained config per entity, and no device configs."""
    config = ha_config(simulator, mosquitto, base_topic, tmp_path / "state", discovery="entity")
    prefix = config.homeassistant.prefix
    async with probe_for(mosquitto, config) as probe, bridge_running(config, probe) as bridge:
        for node in printer_nodes(OFFICE_ID) + printer_nodes(WAREHOUSE_ID):
            # A printer's model sensor is its last config.
            await probe.wait_for(f"{prefix}/sensor/{node}/model/config", lambda m: m.retain)
        configs = config_payloads(probe, prefix)
        wanted = discovery.full_discovery(
            replace(bridge.service.announcer.context(), mode="device"),
            [(b.config, b.state, b.printers.values()) for b in bridge.service.boxes.values()],
        )
    assert not [t for t in configs if t.startswith(f"{prefix}/device/")]
    found = entities(configs, prefix)
    expected = entities({m.topic: m.payload for m in wanted}, prefix)
    assert {(e.platform, e.unique_id) for e in found} == {
        (e.platform, e.unique_id) for e in expected
    }
    reboot = configs[f"{prefix}/button/{discovery.box_node_id(OFFICE_ID)}/reboot/config"]
    assert reboot["device"]["identifiers"] == [discovery.box_node_id(OFFICE_ID)]
    assert reboot["command_topic"] == f"{base_topic}/office/request/reboot"


# ---- commands from Home Assistant -------------------------------------------------------------
@pytest.fixture
def quiet_config(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> Config:
    """Slow polling: after the first poll, every cloud call comes from a command."""
    return ha_config(simulator, mosquitto, base_topic, tmp_path / "state", poll=SLOW_POLL)


async def test_every_button_reaches_its_cloud_call(
    quiet_config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """Each discovered button, pressed as HA presses it, reaches the API call it is named for."""
    config = quiet_config
    async with probe_for(mosquitto, config) as probe, bridge_running(config, probe) as bridge:
        found = entities(
            await discovered(bridge, config, every_node(config)), config.homeassistant.prefix
        )
        buttons = {(e.node, e.key): e for e in found if e.platform == "button"}
        office = discovery.box_node_id(OFFICE_ID)
        warehouse = discovery.box_node_id(WAREHOUSE_ID)
        spare = discovery.box_node_id(SPARE_ID)

        pressed: set[tuple[str, str]] = set()

        async def press(node: str, key: str) -> ProbeMessage:
            button = buttons[node, key]
            pressed.add((node, key))
            simulator.clear_requests()
            config = button.config
            return await send(bridge, config["command_topic"], config["payload_press"])

        # Box buttons.
        flushed = ok(await press(office, "flush_queue"))
        assert sorted(str(c["devicePort"]) for c in calls(simulator, "/api/print/flush_jobs")) == [
            "1",
            "2",
        ]
        assert set(flushed["ports"]) == {"1", "2"}
        ok(await press(warehouse, "flush_queue"))
        assert [str(c["devicePort"]) for c in calls(simulator, "/api/print/flush_jobs")] == ["1"]
        for node, box_id in ((office, OFFICE_ID), (warehouse, WAREHOUSE_ID)):
            ok(await press(node, "rescan_printers"))
            rescans = calls(simulator, "/api/printer/refresh_network_printer")
            assert [c["deviceId"] for c in rescans] == [box_id]
        for node in (office, warehouse):
            refreshed = ok(await press(node, "refresh"))
            assert refreshed["state"]["online"] is True
            for path in (
                "/api/device/device_info",
                "/api/external_api/printer_list",
                "/api/print/query_device_task",
            ):
                assert calls(simulator, path), path
        assert ok(await press(office, "refresh"))["printers"]["1"]["live_status"] is True
        assert calls(simulator, "/api/device/printer_status")
        offline = ok(await press(spare, "refresh"))
        assert offline["state"]["online"] is False
        # The spare box's own calls: the office's refresh may still be reading its printers.
        spare_calls = {
            r.path
            for r in simulator.requests
            if SPARE_ID in (r.fields.get("deviceId"), r.query.get("deviceId"))
        }
        assert spare_calls == {"/api/device/device_info"}

        # Printer buttons: each reaches its own port (a network printer is devicePort 1).
        for box_id, port, device_port in (
            (OFFICE_ID, 1, "1"),
            (OFFICE_ID, 2, "2"),
            (OFFICE_ID, 631, "1"),
            (WAREHOUSE_ID, 1, "1"),
        ):
            node = discovery.printer_node_id(box_id, port)
            ok(await press(node, "flush_queue"))
            flush = calls(simulator, "/api/print/flush_jobs")
            assert [(c["deviceId"], str(c["devicePort"])) for c in flush] == [
                (box_id, device_port)
            ], (node, flush)
            answer = (await press(node, "reset_error_limit")).json()
            # No failures yet: the cloud's own refusal proves the call reached it.
            assert answer["error"]["code"] == 11201, answer
            reset = calls(simulator, "/api/print/reset_printing_error_limit")
            assert [(c["deviceId"], str(c["devicePort"])) for c in reset] == [
                (box_id, device_port)
            ], (node, reset)
            for key, filename in (
                ("print_test_page", "test-page.html"),
                ("print_maintenance_page", "maintenance-page.html"),
            ):
                assert ok(await press(node, key))["task_id"]
                jobs = calls(simulator, "/api/print/job", "POST")
                assert [
                    (c["deviceId"], str(c["devicePort"]), c["jobFile"]["filename"]) for c in jobs
                ] == [(box_id, device_port, filename)], (node, jobs)

        bridge_node = discovery.bridge_node_id(config.mqtt.base_topic)
        start = probe.mark()
        assert ok(await press(bridge_node, "republish")) == {"republished": True}
        await probe.wait_for(device_topic(config, office), since=start)

        # Last: the reboot takes the boxes offline for a moment.
        for node, box_id in ((office, OFFICE_ID), (warehouse, WAREHOUSE_ID)):
            assert ok(await press(node, "reboot")) == {"rebooting": True}
            assert [c["deviceId"] for c in calls(simulator, "/api/device/async_device_reboot")] == [
                box_id
            ]
        # The offline spare box's other buttons are unavailable in HA (availability offline).
        not_pressed = set(buttons) - pressed
        assert not_pressed == {(spare, k) for k in ("reboot", "flush_queue", "rescan_printers")}


async def test_network_printer_flush_drops_its_waiting_job(
    ha: RunningBridge, config: Config, simulator: Simulator
) -> None:
    """Flush queue on the network printer's device cancels the job waiting for that printer."""
    configs = await discovered(ha, config, every_node(config))
    node = discovery.printer_node_id(OFFICE_ID, 631)
    flush = find(entities(configs, config.homeassistant.prefix), node, "flush_queue")
    simulator.state.timing = replace(simulator.state.timing, ready=5.0)
    job = {"url": "https://x.test/photo.jpg", "port": 631}
    data = ok(await send(ha, f"{ha.base}/office/request/print", json.dumps(job)))
    flushed = ok(await send(ha, flush.config["command_topic"], flush.config["payload_press"]))
    assert flushed["flushed"] == 1
    await ha.wait_json(f"office/job/{data['task_id']}", lambda j: j["state"] == "cancelled")


async def test_print_url_text_prints_what_is_typed(
    ha: RunningBridge, config: Config, simulator: Simulator
) -> None:
    """A URL typed into the text entity is printed on the default port and shown as its state."""
    configs = await discovered(ha, config, every_node(config))
    text = find(
        entities(configs, config.homeassistant.prefix),
        discovery.box_node_id(OFFICE_ID),
        "print_url",
    )
    url = "https://example.com/menu.pdf?week=12"
    data = ok(await send(ha, text.config["command_topic"], render_command(None, url)))
    jobs = submitted(simulator)
    assert [(j["jobFile"], j["devicePort"]) for j in jobs] == [(url, "1")]
    state = await ha.probe.wait_for(text.config["state_topic"], lambda m: m.text == url)
    assert state.retain
    assert_valid_state(text, state.text)
    await ha.wait_json(f"office/job/{data['task_id']}", lambda j: j["state"] == "succeeded")


async def test_notify_prints_the_message_as_a_page(
    ha: RunningBridge, config: Config, simulator: Simulator
) -> None:
    """``notify.send_message`` to the print entity uploads an HTML page of the message."""
    configs = await discovered(ha, config, every_node(config))
    notify = find(
        entities(configs, config.homeassistant.prefix), discovery.box_node_id(OFFICE_ID), "print"
    )
    message = 'Shopping list\n- milk\n- "bread" & jam\n- 牛奶'
    payload = render_command(notify.config["command_template"], message)
    ok(await send(ha, notify.config["command_topic"], payload))
    (job,) = submitted(simulator)
    assert job["jobFile"]["filename"].endswith(".html")
    assert job["jobFile"]["size"] == len(render_page(text=message))


async def test_finished_jobs_fire_the_event_entity(
    ha: RunningBridge, config: Config, simulator: Simulator
) -> None:
    """Succeeded, failed and cancelled jobs each fire the job event (not retained)."""
    configs = await discovered(ha, config, every_node(config))
    found = entities(configs, config.homeassistant.prefix)
    event = find(found, discovery.box_node_id(OFFICE_ID), "job")
    last_job = find(found, discovery.box_node_id(OFFICE_ID), "last_job")
    topic = event.config["state_topic"]

    async def fired(job_payload: dict[str, Any], expected: str) -> None:
        data = ok(await send(ha, f"{ha.base}/office/request/print", json.dumps(job_payload)))
        message = await ha.probe.wait_for(topic, lambda m: m.json()["task_id"] == data["task_id"])
        assert message.json()["event_type"] == expected
        assert not message.retain
        assert_valid_state(event, message.text)
        last = await ha.probe.wait_for(
            last_job.config["state_topic"], lambda m: m.json()["task_id"] == data["task_id"]
        )
        assert render_value(last_job.config["value_template"], last.text) == last.json()["state"]

    await fired({"url": "https://x.test/ok.pdf"}, "succeeded")
    simulator.faults.jobs_fail(OFFICE_ID)
    await fired({"url": "https://x.test/bad.pdf"}, "failed")
    simulator.faults.jobs_fail(OFFICE_ID, fail=False)
    simulator.state.timing = replace(simulator.state.timing, ready=5.0)
    data = ok(await send(ha, f"{ha.base}/office/request/print", '{"url": "https://x.test/c.pdf"}'))
    cancel = json.dumps({"task_id": data["task_id"]})
    ok(await send(ha, f"{ha.base}/office/request/cancel", cancel))
    message = await ha.probe.wait_for(topic, lambda m: m.json()["task_id"] == data["task_id"])
    assert message.json()["event_type"] == "cancelled"


# ---- states ---------------------------------------------------------------------------------
async def test_every_discovered_topic_has_a_valid_retained_state(
    ha: RunningBridge, config: Config, mosquitto: MosquittoBroker
) -> None:
    """After an HA restart (a late subscriber), every topic an entity reads holds a valid state.

    Catches a discovery config pointing at a topic the bridge never fills, and a template that
    renders something the entity rejects (a status outside the enum options, say).
    """
    prefix = config.homeassistant.prefix
    configs = await discovered(ha, config, every_node(config))
    found = entities(configs, prefix)
    for box_id, name in ((OFFICE_ID, "office"), (WAREHOUSE_ID, "warehouse")):
        text = find(found, discovery.box_node_id(box_id), "print_url")
        ok(await send(ha, text.config["command_topic"], "https://x.test/a.pdf"))
        await ha.probe.wait_for(f"{ha.base}/{name}/job_event")
    await ha.probe.wait_for(f"{ha.base}/office/printer/1/state", lambda m: m.json()["live_status"])
    async with probe_for(mosquitto, config) as late:
        for name in ("office", "warehouse"):
            await late.wait_for(f"{ha.base}/{name}/last_job", lambda m: "succeeded" in m.text)
        await late.wait_for(f"{ha.base}/bridge/health")
        await late.sync()  # every retained message is here
        retained = {m.topic: m for m in late.messages() if m.retain}
    assert config_payloads(late, prefix) == {t: p for t, p in configs.items() if p is not None}
    # The spare box never booted, so it never printed: its last job stays unknown.
    never_filled = {f"{ha.base}/spare/last_job", f"{ha.base}/spare/job_event"}
    checked = 0
    for entity in found:
        available = all(
            retained[a["topic"]].text == "online" for a in entity.config.get("availability", [])
        )
        for topic in entity.topics() - never_filled:
            if not available and topic == entity.config.get("state_topic"):
                continue  # unavailable in HA whatever its state (the spare box's queue)
            if entity.platform == "event" and topic == entity.config["state_topic"]:
                assert topic not in retained  # an event must not fire again at HA's restart
                fired = ha.probe.last(topic)
                assert fired is not None, (entity.unique_id, topic)
                assert_valid_state(entity, fired.text)
                continue
            assert topic in retained, (entity.unique_id, topic)
            payload = retained[topic].text
            if any(a["topic"] == topic for a in entity.config.get("availability", [])):
                assert payload in ("online", "offline"), (entity.unique_id, topic, payload)
            if topic == entity.config.get("state_topic"):
                assert_valid_state(entity, payload)
                checked += 1
            if topic == entity.config.get("json_attributes_topic"):
                assert_valid_attributes(entity, payload)
    assert checked >= 50


async def test_printer_states_render_valid_problem_states(
    ha: RunningBridge, config: Config, simulator: Simulator
) -> None:
    """A paper jam shows as status paper_jam and the jam sensor ON, from the real payload."""
    configs = await discovered(ha, config, every_node(config))
    found = entities(configs, config.homeassistant.prefix)
    node = discovery.printer_node_id(OFFICE_ID, 1)
    status, jam, out = (find(found, node, k) for k in ("status", "paper_jam", "paper_out"))
    simulator.faults.printer_problem(OFFICE_ID, 1, paper_jam=True)
    message = await ha.probe.wait_for(
        status.config["state_topic"], lambda m: m.json()["status"] == "paper_jam"
    )
    for entity in (status, jam, out):
        assert_valid_state(entity, message.text)
    assert render_value(status.config["value_template"], message.text) == "paper_jam"
    assert render_value(jam.config["value_template"], message.text) == "ON"
    assert render_value(out.config["value_template"], message.text) == "OFF"


async def test_error_limit_sensor_turns_on_and_the_reset_button_clears_it(
    ha: RunningBridge, config: Config, simulator: Simulator
) -> None:
    """The cloud pausing a printer (11203) turns its sensor ON; the reset button turns it OFF."""
    configs = await discovered(ha, config, every_node(config))
    found = entities(configs, config.homeassistant.prefix)
    node = discovery.printer_node_id(OFFICE_ID, 1)
    sensor, reset = find(found, node, "error_limit_reached"), find(found, node, "reset_error_limit")
    state_topic = sensor.config["state_topic"]

    def limit_is(expected: str) -> Callable[[ProbeMessage], bool]:
        return lambda m: render_value(sensor.config["value_template"], m.text) == expected

    simulator.faults.jobs_fail(OFFICE_ID)
    failed = ok(
        await send(ha, f"{ha.base}/office/request/print", '{"url": "https://x.test/a.pdf"}')
    )
    await ha.wait_json(f"office/job/{failed['task_id']}", lambda j: j["state"] == "failed")
    # errLimitNum 1: the cloud's pause after one failure instead of thirty.
    paused = {"url": "https://x.test/b.pdf", "options": {"errLimitNum": "1"}}
    answer = await send(ha, f"{ha.base}/office/request/print", json.dumps(paused))
    assert answer.json()["error"]["code"] == 11203
    await ha.probe.wait_for(state_topic, limit_is("ON"))
    start = ha.probe.mark()
    ok(await send(ha, reset.config["command_topic"], reset.config["payload_press"]))
    await ha.probe.wait_for(state_topic, limit_is("OFF"), since=start)


# ---- lifecycle --------------------------------------------------------------------------------
async def test_ha_birth_reannounces_discovery_and_states_after_a_delay(
    ha: RunningBridge, config: Config
) -> None:
    """HA's ``online`` on its status topic brings every config and state again, a bit later."""
    prefix = config.homeassistant.prefix
    configs = await discovered(ha, config, every_node(config))
    status_topic = config.homeassistant.status_topic
    start = ha.probe.mark()
    await ha.probe.publish(status_topic, "offline")
    await ha.probe.expect_silence(f"{prefix}/device/#", 0.4, since=start)
    start = ha.probe.mark()
    await ha.probe.publish(status_topic, "online")
    await ha.probe.expect_silence(f"{prefix}/device/#", ANNOUNCE_DELAY[0] / 2, since=start)
    for topic in configs:  # the whole fleet again: give a loaded machine time
        message = await ha.probe.wait_for(topic, since=start, timeout=REANNOUNCE_TIMEOUT)
        assert message.retain
    for topic in (
        "bridge/state",
        "office/availability",
        "office/state",
        "office/queue",
        "office/printer/631/state",
        "spare/availability",
    ):
        message = await ha.probe.wait_for(
            f"{ha.base}/{topic}", since=start, timeout=REANNOUNCE_TIMEOUT
        )
        assert message.retain, topic
    # A second birth while one announce waits does not double it.
    start = ha.probe.mark()
    await ha.probe.publish(status_topic, "online")
    await ha.probe.publish(status_topic, "online")
    await sentinel_round_trip(ha.probe, ha.base)  # both births were read
    announce = ha.service.announcer.reannounce
    assert announce is not None
    await announce  # the re-announce and its republish are over
    assert ha.service.announcer.reannounce is announce  # and the second birth scheduled none
    await ha.probe.sync()
    bridge_topic = device_topic(config, discovery.bridge_node_id(config.mqtt.base_topic))
    assert len(after(ha.probe, start, bridge_topic)) == 1


async def test_unplugged_printer_is_removed_and_comes_back(
    ha: RunningBridge, config: Config, simulator: Simulator
) -> None:
    """A printer leaving printer_list has its config cleared (HA removes it); plugged back, back."""
    await discovered(ha, config, every_node(config))
    topic = device_topic(config, discovery.printer_node_id(OFFICE_ID, 2))
    start = ha.probe.mark()
    simulator.faults.unplug_printer(OFFICE_ID, 2)
    cleared = await ha.probe.wait_for(topic, lambda m: not m.payload, since=start)
    assert cleared.retain
    state = await ha.probe.wait_for(
        f"{ha.base}/office/printer/2/state", lambda m: not m.payload, since=start
    )
    assert state.retain
    # Home Assistant removes the entities before their state topic empties (no template errors).
    order = [m.topic for m in ha.probe.messages()[start:]]
    assert order.index(topic) < order.index(f"{ha.base}/office/printer/2/state")
    simulator.faults.plug_printer(OFFICE_ID, 2)
    back = await ha.probe.wait_for(topic, lambda m: bool(m.payload), since=start)
    assert back.retain


def removed_or_absent(probe: MqttProbe, topic: str, since: int) -> bool:
    """Whether a config was cleared after ``since`` (or never existed)."""
    after = probe.messages(topic)
    return not after or not after[-1].payload


async def test_restart_keeps_every_config(
    config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """Restarting the bridge never clears a printer's config, not even for a moment.

    Clearing a config makes HA delete the entity with its name, area and history; at start-up
    the printers are not known yet, so those published before must be kept until printer_list
    says otherwise.
    """
    prefix = config.homeassistant.prefix
    async with probe_for(mosquitto, config) as probe:
        async with bridge_running(config, probe) as bridge:
            await discovered(bridge, config, every_node(config))
        start = probe.mark()
        async with bridge_running(config, probe) as bridge:
            # announced: every printer list read, and what each list started published
            await discovered(bridge, config, every_node(config), since=start)
        cleared = [m.topic for m in after(probe, start, f"{prefix}/#") if not m.payload]
        assert cleared == []


async def test_printer_unplugged_while_stopped_is_cleared_at_next_start(
    config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """A printer gone while the bridge was stopped is removed once the box's list is read."""
    topic = device_topic(config, discovery.printer_node_id(OFFICE_ID, 2))
    async with probe_for(mosquitto, config) as probe:
        async with bridge_running(config, probe) as bridge:
            await discovered(bridge, config, every_node(config))
        simulator.faults.unplug_printer(OFFICE_ID, 2)
        start = probe.mark()
        async with bridge_running(config, probe):
            cleared = await probe.wait_for(topic, lambda m: not m.payload, since=start)
            assert cleared.retain
        kept = [p for p in printer_nodes(OFFICE_ID) if not p.endswith("_p2")]
        for node in kept:
            assert not removed_or_absent(probe, device_topic(config, node), start)


async def test_box_removed_from_config_is_cleared_across_a_restart(
    config: Config, mosquitto: MosquittoBroker
) -> None:
    """A box taken out of the configuration loses its HA device and its printers at next start."""
    prefix = config.homeassistant.prefix
    async with probe_for(mosquitto, config) as probe:
        async with bridge_running(config, probe) as bridge:
            await discovered(bridge, config, every_node(config))
        smaller = replace(config, devices=tuple(d for d in config.devices if d.name != "warehouse"))
        start = probe.mark()
        async with bridge_running(smaller, probe) as bridge:
            for node in [discovery.box_node_id(WAREHOUSE_ID), *printer_nodes(WAREHOUSE_ID)]:
                cleared = await probe.wait_for(
                    device_topic(config, node), lambda m: not m.payload, since=start
                )
                assert cleared.retain
            await discovered(bridge, config, printer_nodes(OFFICE_ID), since=start)
    async with probe_for(mosquitto, config) as late:
        await late.sync()  # every retained message is here
        left = config_payloads(late, prefix)
    assert not [t for t in left if WAREHOUSE_ID in t]
    assert len(left) == len(every_node(config)) - 2


async def test_switching_to_entity_mode_migrates_and_clears_device_configs(
    config: Config, mosquitto: MosquittoBroker
) -> None:
    """Device -> entity across a restart: migrate, old topics cleared, new per-entity configs."""
    prefix = config.homeassistant.prefix
    async with probe_for(mosquitto, config) as probe:
        async with bridge_running(config, probe) as bridge:
            await discovered(bridge, config, every_node(config))
        entity_mode = replace(
            config, homeassistant=replace(config.homeassistant, discovery="entity")
        )
        start = probe.mark()
        async with bridge_running(entity_mode, probe):
            for node in every_node(config):
                topic = device_topic(config, node)
                await probe.wait_for(topic, lambda m: not m.payload and m.retain, since=start)
                migrate, placeholder = probe.messages(topic)[-3:-1]
                assert migrate.json() == {"migrate_discovery": True}, node
                assert not migrate.retain
                assert list(placeholder.json()["components"]) == [discovery.HANDOVER_KEY]
                assert not placeholder.retain
            node = discovery.printer_node_id(OFFICE_ID, 631)
            await probe.wait_for(f"{prefix}/sensor/{node}/ink_black/config", since=start)
    async with probe_for(mosquitto, config) as late:
        await late.sync()  # every retained message is here
        left = config_payloads(late, prefix)
    assert not [t for t in left if t.startswith(f"{prefix}/device/")]
    assert f"{prefix}/text/{discovery.box_node_id(OFFICE_ID)}/print_url/config" in left


async def test_disabled_discovery_publishes_nothing_under_the_prefix(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """``homeassistant.enabled: false``: no config, no removal, no reaction to HA's birth."""
    config = ha_config(simulator, mosquitto, base_topic, tmp_path / "state")
    config = replace(config, homeassistant=replace(config.homeassistant, enabled=False))
    prefix = config.homeassistant.prefix
    async with probe_for(mosquitto, config) as probe, bridge_running(config, probe) as bridge:
        await bridge.wait_json("office/state", lambda s: s["printers"] == [1, 2, 631])
        await probe.publish(config.homeassistant.status_topic, "online")
        await sentinel_round_trip(probe, bridge.base)  # the birth was read (if delivered)
        assert bridge.service.announcer.reannounce is None
        simulator.faults.unplug_printer(OFFICE_ID, 2)
        await bridge.wait_json("office/state", lambda s: s["printers"] == [1, 631])
        info = await bridge.wait_json("bridge/info")
    assert info["homeassistant"] is False
    assert probe.messages(f"{prefix}/#") == [
        m for m in probe.messages(f"{prefix}/#") if m.topic == config.homeassistant.status_topic
    ]


# ---- the plan, without a broker ------------------------------------------------------------------
def test_plan_keeps_printers_of_boxes_whose_list_is_unknown() -> None:
    """Printers published before survive a plan made before their box's list was read."""
    ctx = discovery.DiscoveryContext(prefix="ha")
    p1 = f"ha/device/{discovery.printer_node_id(OFFICE_ID, 1)}/config"
    gone_box = f"ha/device/{discovery.box_node_id(WAREHOUSE_ID)}/config"
    gone_printer = f"ha/device/{discovery.printer_node_id(WAREHOUSE_ID, 1)}/config"
    previous = {p1: ["sensor/status"], gone_box: [], gone_printer: []}
    wanted = discovery.bridge_discovery(ctx)
    plan = discovery.plan_discovery(ctx, previous, wanted, unknown_printers=[OFFICE_ID])
    assert {m.topic for m in plan.clear} == {gone_box, gone_printer}
    assert plan.published[p1] == ["sensor/status"]
    later = discovery.plan_discovery(ctx, plan.published, wanted)
    assert {m.topic for m in later.clear} == {p1}
    assert p1 not in later.published


async def test_broker_restart_brings_back_every_config_and_state(
    ha: RunningBridge, config: Config, mosquitto: MosquittoBroker
) -> None:
    """A broker that lost its retained messages gets every config and state again, once each."""
    configs = await discovered(ha, config, every_node(config))
    boxes = ha.service.boxes.values()
    await until(lambda: all(box.last_poll for box in boxes if box.state.online))
    mosquitto.restart()
    await mosquitto.wait_ready()
    async with probe_for(mosquitto, config) as fresh:
        for node in every_node(config):
            await fresh.wait_for(device_topic(config, node), lambda m: m.retain and bool(m.payload))
        await fresh.sync()
        for topic in ("bridge/state", "office/state", "office/printer/631/state", "spare/state"):
            await fresh.wait_for(f"{ha.base}/{topic}", lambda m: m.retain and bool(m.payload))
    assert config_payloads(fresh, config.homeassistant.prefix) == configs
    for topic in configs:
        assert len(fresh.messages(topic)) == 1, topic


async def test_firmware_update_is_announced(
    ha: RunningBridge, config: Config, simulator: Simulator
) -> None:
    """A box whose firmware changes is re-announced, so Home Assistant shows the new version."""
    await discovered(ha, config, every_node(config))
    topic = device_topic(config, discovery.box_node_id(OFFICE_ID))
    start = ha.probe.mark()
    box = simulator.state.boxes[OFFICE_ID]
    box.spec = replace(box.spec, software="2.1.120")
    updated = await ha.probe.wait_for(
        topic, lambda m: bool(m.payload) and '"2.1.120"' in m.text, since=start
    )
    assert updated.retain
    assert updated.json()["device"]["sw_version"] == "2.1.120"


async def test_another_printer_on_the_same_port_is_announced(
    ha: RunningBridge, config: Config, simulator: Simulator
) -> None:
    """Swapping the printer on a port updates its Home Assistant device (name and model)."""
    await discovered(ha, config, every_node(config))
    topic = device_topic(config, discovery.printer_node_id(OFFICE_ID, 2))
    start = ha.probe.mark()
    printer = simulator.state.boxes[OFFICE_ID].printers[2]
    printer.spec = replace(printer.spec, driver_name="XP-80", printer_name="XP-80")
    updated = await ha.probe.wait_for(
        topic, lambda m: bool(m.payload) and "XP-80" in m.text, since=start
    )
    assert "XP-80" in updated.json()["device"]["model"]
