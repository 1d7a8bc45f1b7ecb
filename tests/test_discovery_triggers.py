"""Device triggers: each fires on exactly the event it names, from what the bridge publishes.

Home Assistant fires a device trigger when a message on its ``topic``, rendered through its
``value_template``, equals its ``payload``. The pure tests render every trigger of the sample
fleet over every kind of event the contract defines; the end-to-end tests run the bridge
against the simulator and a real Mosquitto and read the events as Home Assistant would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_broker import MosquittoBroker, MqttProbe
from test_discovery import CTX, ENTITY_CTX, TRIGGER, check_message, fleet, render_value
from test_homeassistant_e2e import (
    OFFICE_ID,
    WAREHOUSE_ID,
    bridge_running,
    discovered,
    every_node,
    ha_config,
    ok,
    probe_for,
    send,
)

from lianke_bridge.bridge import discovery
from lianke_bridge.bridge.discovery import DiscoveryContext
from lianke_bridge.config import Config
from lianke_bridge.simulator import Simulator

Trigger = dict[str, Any]


def triggers_of(ctx: DiscoveryContext) -> list[Trigger]:
    """Every device trigger of the sample fleet, with its node, each checked."""
    return [
        {**config, "node": config["device"]["identifiers"][0]}
        for message in fleet(ctx)
        for config in check_message(ctx, message)
        if config["platform"] == TRIGGER
    ]


def fires(trigger: Trigger, topic: str, payload: str) -> bool:
    """Whether Home Assistant fires this trigger for a message."""
    if topic != trigger["topic"]:
        return False
    return bool(render_value(trigger["value_template"], payload) == trigger["payload"])


# ---- pure: the templates over the contract's events ---------------------------------------------
OFFICE_NODE = discovery.box_node_id(OFFICE_ID)
WAREHOUSE_NODE = discovery.box_node_id(WAREHOUSE_ID)
JOB = {"task_id": "t1", "device": "office", "port": 1, "state": "failed"}


def events() -> Iterator[tuple[str, dict[str, Any], set[tuple[str, str, str]]]]:
    """(topic, event, the triggers it must fire as (node, type, subtype)) for every kind."""
    payload: dict[str, Any]
    for event, subtype in (
        ("job_submitted", "submitted"),
        ("job_finished", "succeeded"),
        ("job_failed", "failed"),
        ("job_cancelled", "cancelled"),
    ):
        payload = {"event": event, "device": "office", "time": "t", "job": JOB}
        yield "lianke/office/event", payload, {(OFFICE_NODE, "job", subtype)}
    for event, subtype in (("device_offline", "offline"), ("device_online", "online")):
        payload = {"event": event, "device": "warehouse", "time": "t"}
        yield "lianke/warehouse/event", payload, {(WAREHOUSE_NODE, "box", subtype)}
        yield "lianke/bridge/event", payload, set()  # the bridge-wide copy fires nothing
    for port in (1, 631):
        for status in ("paper_out", "paper_jam", "cover_open", "out_of_ink"):
            payload = {
                "event": "printer_problem",
                "device": "office",
                "port": port,
                "status": status,
                "message": None,
                "time": "t",
            }
            node = discovery.printer_node_id(OFFICE_ID, port)
            yield "lianke/office/event", payload, {(node, "printer", status)}
        ok_event = {"event": "printer_ok", "device": "office", "port": port, "time": "t"}
        yield "lianke/office/event", ok_event, set()
    label = {
        "event": "printer_problem",
        "device": "warehouse",
        "port": 1,
        "status": "out_of_ribbon",
        "message": "Ribbon end",
        "time": "t",
    }
    yield (
        "lianke/warehouse/event",
        label,
        {(discovery.printer_node_id(WAREHOUSE_ID, 1), "printer", "out_of_ribbon")},
    )
    error = {"event": "error", "device": "office", "port": 1, "status": "error", "time": "t"}
    yield "lianke/office/event", {**error, "event": "printer_problem", "message": None}, set()
    limit = {"event": "error_limit", "device": "office", "port": 1, "time": "t"}
    yield (
        "lianke/bridge/event",
        limit,
        {
            (OFFICE_NODE, "box", "error_limit_reached"),
            *(
                (discovery.printer_node_id(OFFICE_ID, p), "printer", "error_limit_reached")
                for p in (1, 631)
            ),
        },
    )
    for other in ("printer_added", "printer_removed", "rate_limited"):
        yield "lianke/bridge/event", {"event": other, "device": "office", "time": "t"}, set()


@pytest.mark.parametrize("ctx", [CTX, ENTITY_CTX], ids=["device", "entity"])
def test_each_event_fires_exactly_its_triggers(ctx: DiscoveryContext) -> None:
    """Every event of the contract fires the triggers named for it, on its device, and no other."""
    triggers = triggers_of(ctx)
    for topic, event, expected in events():
        payload = json.dumps(event)
        fired = {(t["node"], t["type"], t["subtype"]) for t in triggers if fires(t, topic, payload)}
        assert fired == expected, (topic, event["event"])


def test_every_box_and_printer_offers_its_triggers() -> None:
    """Boxes: jobs, connection, error limit; printers: their problems and the error limit."""
    by_node: dict[str, set[tuple[str, str]]] = {}
    for trigger in triggers_of(CTX):
        by_node.setdefault(trigger["node"], set()).add((trigger["type"], trigger["subtype"]))
    box = {
        ("job", "submitted"),
        ("job", "succeeded"),
        ("job", "failed"),
        ("job", "cancelled"),
        ("box", "offline"),
        ("box", "online"),
        ("box", "error_limit_reached"),
    }
    problems = {"paper_out", "paper_jam", "cover_open", "out_of_ink", "error_limit_reached"}
    printer = {("printer", p) for p in problems}
    assert by_node[OFFICE_NODE] == box
    assert by_node[WAREHOUSE_NODE] == box
    assert by_node[discovery.printer_node_id(OFFICE_ID, 1)] == printer
    assert by_node[discovery.printer_node_id(WAREHOUSE_ID, 1)] == printer | {
        ("printer", "out_of_ribbon")
    }
    assert discovery.bridge_node_id("lianke") not in by_node
    assert {k: sorted(v) for k, v in by_node.items()} == {
        k: sorted(v) for k, v in _by_node(triggers_of(ENTITY_CTX)).items()
    }, "the same triggers in both modes"


def _by_node(triggers: list[Trigger]) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for trigger in triggers:
        found.setdefault(trigger["node"], set()).add((trigger["type"], trigger["subtype"]))
    return found


# ---- end to end: what the bridge publishes fires them -------------------------------------------
@pytest.fixture
def config(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> Config:
    """Fast polling, Home Assistant discovery under ``<base>_ha``."""
    return ha_config(simulator, mosquitto, base_topic, tmp_path / "state")


def announced_triggers(configs: dict[str, Any]) -> list[Trigger]:
    """The device triggers in the retained device configs, with their node."""
    found = []
    for payload in configs.values():
        if not payload:
            continue
        node = payload["device"]["identifiers"][0]
        found += [
            {**c, "node": node}
            for c in payload["components"].values()
            if c.get("platform") == TRIGGER
        ]
    return found


def fired_since(
    probe: MqttProbe, triggers: list[Trigger], since: int
) -> list[tuple[str, str, str]]:
    """The triggers Home Assistant would have fired for the messages after ``since``."""
    return [
        (t["node"], t["type"], t["subtype"])
        for message in probe.messages()[since:]
        if message.payload and not message.retain
        for t in triggers
        if fires(t, message.topic, message.text)
    ]


async def test_a_failed_job_and_the_error_limit_fire_their_triggers(
    config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """A failing job fires job submitted, then failed; the cloud's pause, the error limit.

    Each once, on the office box; the error limit on the box and each of its printers.
    """
    async with probe_for(mosquitto, config) as probe, bridge_running(config, probe) as bridge:
        triggers = announced_triggers(await discovered(bridge, config, every_node(config)))
        simulator.faults.jobs_fail(OFFICE_ID)
        start = probe.mark()
        data = ok(
            await send(
                bridge, f"{bridge.base}/office/request/print", '{"url": "https://x.test/a.pdf"}'
            )
        )
        await bridge.wait_json("office/event", lambda e: e["event"] == "job_failed")
        await probe.sync()
        assert fired_since(probe, triggers, start) == [
            (OFFICE_NODE, "job", "submitted"),
            (OFFICE_NODE, "job", "failed"),
        ]
        failed = probe.messages(f"{bridge.base}/office/event")[-1].json()
        assert failed["job"]["task_id"] == data["task_id"]  # trigger.payload_json.job

        start = probe.mark()
        paused = {"url": "https://x.test/b.pdf", "options": {"errLimitNum": "1"}}
        answer = await send(bridge, f"{bridge.base}/office/request/print", json.dumps(paused))
        assert answer.json()["error"]["code"] == 11203
        await probe.sync()
        assert sorted(fired_since(probe, triggers, start)) == sorted(
            [
                (OFFICE_NODE, "box", "error_limit_reached"),
                *(
                    (discovery.printer_node_id(OFFICE_ID, p), "printer", "error_limit_reached")
                    for p in (1, 2, 631)
                ),
            ]
        )


async def test_a_paper_jam_and_a_box_going_offline_fire_their_triggers(
    config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """A jam fires its printer's paper_jam only; a box offline and back fires offline, online."""
    async with probe_for(mosquitto, config) as probe, bridge_running(config, probe) as bridge:
        triggers = announced_triggers(await discovered(bridge, config, every_node(config)))
        start = probe.mark()
        simulator.faults.printer_problem(OFFICE_ID, 1, paper_jam=True)
        await bridge.wait_json("office/event", lambda e: e["event"] == "printer_problem")
        await probe.sync()
        assert fired_since(probe, triggers, start) == [
            (discovery.printer_node_id(OFFICE_ID, 1), "printer", "paper_jam")
        ]
        start = probe.mark()
        simulator.faults.box_offline(WAREHOUSE_ID)
        await bridge.wait_json("warehouse/event", lambda e: e["event"] == "device_offline")
        simulator.faults.box_offline(WAREHOUSE_ID, offline=False)
        await bridge.wait_json("warehouse/event", lambda e: e["event"] == "device_online")
        await probe.sync()
        assert fired_since(probe, triggers, start) == [
            (WAREHOUSE_NODE, "box", "offline"),
            (WAREHOUSE_NODE, "box", "online"),
        ]
