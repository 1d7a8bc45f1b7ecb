"""Home Assistant through transitions, watched on a real broker: mode switches and start-up.

Switching ``homeassistant.discovery`` must lose nothing and make Home Assistant log nothing: for
every entity the ``{"migrate_discovery": true}`` message on the old topic first, then the old
topic cleared (a device config after a placeholder trigger it can remove), and only then the new
config, which carries the same discovery id (``discovery/plan.py`` says why). A start must never
announce a box before its identity is known.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import RunningBridge
from mqtt_broker import MosquittoBroker, MqttProbe, ProbeMessage
from test_homeassistant_e2e import (
    bridge_running,
    device_topic,
    discovered,
    every_node,
    ha_config,
    probe_for,
    render_value,
)

from lianke_bridge.bridge import discovery
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config
from lianke_bridge.simulator import Simulator

Mode = str


@pytest.fixture
def config(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> Config:
    """Fast polling, Home Assistant discovery under ``<base>_ha``."""
    return ha_config(simulator, mosquitto, base_topic, tmp_path / "state")


def in_mode(config: Config, mode: Mode) -> Config:
    """The configuration with another discovery mode."""
    return replace(config, homeassistant=replace(config.homeassistant, discovery=mode))  # type: ignore[arg-type]


def unique_ids(message: ProbeMessage) -> set[str]:
    """The entities a discovery config announces (device-based or entity-based)."""
    if not message.payload:
        return set()
    payload = message.json()
    if "components" in payload:
        return {c["unique_id"] for c in payload["components"].values() if "unique_id" in c}
    return {payload["unique_id"]} if "unique_id" in payload else set()


async def run_until_discovered(probe: MqttProbe, config: Config, since: int = 0) -> dict[str, Any]:
    """Run the bridge until every node is announced and it has nothing left to announce."""
    async with bridge_running(config, probe) as bridge:
        if config.homeassistant.discovery == "device":
            return await discovered(bridge, config, every_node(config), since=since)
        for node in every_node(config):  # a sensor every node has, published per entity
            key = "version" if "bridge" in node else "model" if "_p" in node else "firmware"
            await probe.wait_for(
                f"{config.homeassistant.prefix}/sensor/{node}/{key}/config",
                lambda m: bool(m.payload),
                since=since,
            )
        return await discovered(bridge, config, [], since=since)


@pytest.mark.parametrize(("old", "new"), [("device", "entity"), ("entity", "device")])
async def test_mode_switch_migrates_then_clears_then_announces_every_entity(
    config: Config,
    mosquitto: MosquittoBroker,
    caplog: pytest.LogCaptureFixture,
    old: Mode,
    new: Mode,
) -> None:
    """For each entity: migrate on its old topic, the old topic cleared, then its new config."""
    prefix = config.homeassistant.prefix
    async with probe_for(mosquitto, config) as probe:
        before = await run_until_discovered(probe, in_mode(config, old))
        old_topic_of = {uid: t for t, p in before.items() for uid in unique_ids_of(p)}
        assert len(old_topic_of) > 80
        start = probe.mark()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            after = await run_until_discovered(probe, in_mode(config, new), since=start)
        run = [m for m in probe.messages()[start:] if m.topic.startswith(f"{prefix}/")]

    new_topic_of = {uid: t for t, p in after.items() for uid in unique_ids_of(p)}
    assert set(new_topic_of) == set(old_topic_of), "an entity was lost in the switch"
    for uid, old_topic in old_topic_of.items():
        new_topic = new_topic_of[uid]
        assert new_topic != old_topic
        migrate = first(run, lambda m, t=old_topic: m.topic == t and is_migrate(m))
        announce = first(run, lambda m, t=new_topic, u=uid: m.topic == t and u in unique_ids(m))
        clear = first(run, lambda m, t=old_topic: m.topic == t and not m.payload)
        assert migrate is not None, f"{uid}: no migrate message on {old_topic}"
        assert announce is not None, f"{uid}: never announced on {new_topic}"
        assert clear is not None, f"{uid}: {old_topic} never cleared"
        assert migrate < clear < announce, (
            f"{uid}: migrate {migrate}, clear {clear}, new {announce}"
        )
        if old == "device":  # a device config is cleared after a placeholder it can remove
            placeholder = first(run, lambda m, t=old_topic: m.topic == t and is_placeholder(m))
            assert placeholder is not None, f"{old_topic}: cleared without a placeholder"
            assert migrate < placeholder < clear
    left = {t for t, payload in after.items() if payload is not None}
    assert not left & set(old_topic_of.values()), "an old-mode config is still retained"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def unique_ids_of(payload: Any) -> set[str]:
    """The unique ids in a retained config payload (as ``config_payloads`` returns them)."""
    if not isinstance(payload, dict):
        return set()
    if "components" in payload:
        return {c["unique_id"] for c in payload["components"].values() if "unique_id" in c}
    return {payload["unique_id"]} if "unique_id" in payload else set()


def is_placeholder(message: ProbeMessage) -> bool:
    """The non-retained device config holding only the hand-over trigger."""
    if message.retain or not message.payload:
        return False
    components = message.json().get("components", {})
    return list(components) == [discovery.HANDOVER_KEY]


def is_migrate(message: ProbeMessage) -> bool:
    """The non-retained hand-over message."""
    return bool(message.payload) and message.json() == {"migrate_discovery": True}


def first(messages: list[ProbeMessage], predicate: Any) -> int | None:
    """The index of the first message matching, or None."""
    return next((i for i, m in enumerate(messages) if predicate(m)), None)


# ---- start-up, error limit, queue, freshness ----------------------------------------------------
OFFICE_ID = "lc01demo000001"
PLACEHOLDER_MODEL = "Cloud print box"


async def test_start_announces_each_box_once_its_identity_is_known(
    config: Config, mosquitto: MosquittoBroker
) -> None:
    """No placeholder: every box config ever sent names the real model and firmware."""
    prefix = config.homeassistant.prefix
    async with probe_for(mosquitto, config) as probe, bridge_running(config, probe) as bridge:
        await discovered(bridge, config, every_node(config))
        boxes = [
            m
            for m in probe.messages(f"{prefix}/device/+/config")
            if m.payload and "serial_number" in m.json()["device"]
        ]
    assert len({m.topic for m in boxes}) == 3
    for message in boxes:
        device = message.json()["device"]
        assert device["model"] != PLACEHOLDER_MODEL, message.topic
        assert device["sw_version"], message.topic


async def test_a_changed_config_is_followed_by_the_states_it_reads(
    config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """A box's config that changes (new firmware) is followed by its retained states again.

    Home Assistant takes an entity whose config changed as expired (``expire_after``) until
    its next state message; without one the box's connection and queue would show unavailable
    until the next refresh. An unchanged config is not followed by anything.
    """
    prefix = config.homeassistant.prefix
    async with probe_for(mosquitto, config) as probe, bridge_running(config, probe) as bridge:
        await discovered(bridge, config, every_node(config))
        topic = f"{prefix}/device/{discovery.box_node_id(OFFICE_ID)}/config"
        start = probe.mark()
        box = simulator.state.boxes[OFFICE_ID]
        box.spec = replace(box.spec, software="2.1.120")
        updated = await probe.wait_for(
            topic, lambda m: bool(m.payload) and '"2.1.120"' in m.text, since=start
        )
        position = probe.messages().index(updated)
        for state in ("office/availability", "office/queue", "office/state", "bridge/state"):
            again = await probe.wait_for(f"{bridge.base}/{state}", since=position + 1)
            assert again.retain, state
    assert discovery.read_topics([discovery.DiscoveryMessage(topic, updated.json())]) >= {
        f"{bridge.base}/office/availability",
        f"{bridge.base}/office/queue",
        f"{bridge.base}/office/state",
    }


async def test_error_limit_shows_on_every_printer_of_the_box(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """11203 pauses the whole box: every printer and the box say so; one reset clears all."""
    await running_bridge.wait_json("office/state", lambda s: s["printers"] == [1, 2, 631])
    for port in (1, 2, 631):
        await running_bridge.wait_json(f"office/printer/{port}/state")
    simulator.state.boxes[OFFICE_ID].failures = 30
    envelope = await running_bridge.request("office", "print", {"url": "https://x.test/a.pdf"})
    assert envelope["error"]["code"] == 11203
    await running_bridge.wait_json("office/state", lambda s: s["error_limit_reached"])
    for port in (1, 2, 631):
        await running_bridge.wait_json(
            f"office/printer/{port}/state", lambda s: s["error_limit_reached"]
        )
    reset = await running_bridge.request("office", "reset_error_limit", {"port": 2})
    assert reset["status"] == "ok", reset
    start = running_bridge.probe.mark()
    for port in (1, 2, 631):
        await running_bridge.probe.wait_for(
            f"{running_bridge.base}/office/printer/{port}/state",
            lambda m: not m.json()["error_limit_reached"],
            since=start,
        )
    await running_bridge.wait_json("office/state", lambda s: not s["error_limit_reached"])


@pytest.fixture
def slow_tasks_config(bridge_config: Config) -> Config:
    """The harness configuration with the tasks poll a minute apart."""
    devices = tuple(replace(d, poll=replace(d.poll, tasks=60)) for d in bridge_config.devices)
    return replace(bridge_config, devices=devices)


async def test_queue_drops_when_the_bridges_own_job_ends(
    slow_tasks_config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """The queue sensor does not wait for the next tasks poll to drop a job the bridge saw end."""
    base = slow_tasks_config.mqtt.base_topic
    timing = simulator.state.timing
    simulator.state.timing = replace(timing, ready=1.5)
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base}/#"]) as probe:
        bridge = RunningBridge(BridgeService(slow_tasks_config), probe)
        await bridge.start()
        try:
            await bridge.wait_json("office/state", lambda s: bool(s["printers"]))
            envelope = await bridge.request("office", "print", {"url": "https://x.test/a.pdf"})
            task_id = envelope["data"]["task_id"]
            refreshed = await bridge.request("office", "refresh")  # the cloud lists it waiting
            assert refreshed["data"]["state"]["queue"] == 1
            await bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "succeeded")
            start = probe.mark()
            drop = await probe.wait_for(
                f"{base}/office/queue", lambda m: m.text == "0", timeout=5, since=start
            )
            assert drop.retain
        finally:
            await bridge.stop()


async def test_unchanged_availability_and_network_printers_are_refreshed(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """Values with expire_after are re-sent while the cloud answers, also without a change.

    A network printer is never asked printer_status: its printer_list row refreshes it even
    when the cloud marks it ``support_status``.
    """
    runtime = simulator.state.boxes[OFFICE_ID].printers[631]
    runtime.spec = replace(runtime.spec, support_status=True)
    probe, base = running_bridge.probe, running_bridge.base
    for topic in ("office/availability", "office/printer/631/state"):
        await probe.wait_for(f"{base}/{topic}", timeout=5)
        for _ in range(2):
            start = probe.mark()
            await probe.wait_for(f"{base}/{topic}", timeout=5, since=start)


async def test_cloud_error_shows_a_box_the_cloud_does_not_answer_for(
    config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """While device_info fails the box's Cloud error is on, with the error; then off again."""
    async with probe_for(mosquitto, config) as probe, bridge_running(config, probe) as bridge:
        configs = await discovered(bridge, config, every_node(config))
        box = configs[device_topic(config, discovery.box_node_id(OFFICE_ID))]
        sensor = box["components"]["cloud_error"]
        assert sensor["device_class"] == "problem"
        state_topic = sensor["state_topic"]
        healthy = probe.last(state_topic)
        assert healthy is not None
        assert render_value(sensor["value_template"], healthy.text) == "OFF"
        simulator.faults.http_error(status=502, html=True, path="/api/device/device_info", count=99)
        failing = await probe.wait_for(state_topic, lambda m: m.json()["error"] is not None)
        assert render_value(sensor["value_template"], failing.text) == "ON"
        attributes = render_value(sensor["json_attributes_template"], failing.text)
        assert '"code": "api_error"' in attributes
        simulator.faults.clear()
        start = probe.mark()
        back = await probe.wait_for(
            state_topic, lambda m: m.json()["error"] is None, timeout=10, since=start
        )
        assert render_value(sensor["value_template"], back.text) == "OFF"
        assert bridge.service.boxes["office"].state.error is None
