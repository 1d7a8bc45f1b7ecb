"""Sharding: which instance owns a box, how an instance is named, what it never touches."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
from bridge_harness import RunningBridge, make_config
from config_files import MINIMAL, load, problems, write
from mqtt_broker import MosquittoBroker, MqttProbe
from test_discovery import LASER

from lianke_bridge.bridge import discovery
from lianke_bridge.bridge.discovery import (
    DiscoveryContext,
    box_discovery,
    bridge_discovery,
    discovery_topics,
    plan_discovery,
    printer_discovery,
)
from lianke_bridge.bridge.records.state import BoxState
from lianke_bridge.bridge.records.topics import RequestTopic, Topics
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.cli import main
from lianke_bridge.config import DeviceConfig, Shard, shard_of
from lianke_bridge.config.shard import hostname_ordinal
from lianke_bridge.simulator import Simulator

IDS = [f"LC01FLEET{n:04d}" for n in range(300)]


def test_the_owner_of_a_box_is_the_same_everywhere_and_ignores_case() -> None:
    """First 8 bytes of SHA-256 of the upper-cased id, mod n: no per-process salt."""
    for device_id in IDS[:20]:
        digest = hashlib.sha256(device_id.upper().encode()).digest()
        assert shard_of(device_id, 3) == int.from_bytes(digest[:8], "big") % 3
        assert shard_of(device_id.lower(), 3) == shard_of(device_id, 3)
        assert shard_of(f" {device_id} ", 3) == shard_of(device_id, 3)


def test_every_box_has_exactly_one_owner_and_the_load_is_spread() -> None:
    """Three instances split 300 boxes with none left over and none twice."""
    shards = [Shard(i, 3) for i in range(3)]
    owners = [[s.index for s in shards if s.owns(device_id)] for device_id in IDS]
    assert all(len(found) == 1 for found in owners)
    counts = [sum(1 for found in owners if found == [i]) for i in range(3)]
    assert min(counts) > 70, counts  # 300 boxes: about 100 each
    assert all(Shard().owns(device_id) for device_id in IDS)  # a single bridge owns all


@pytest.mark.parametrize(
    ("spec", "hostname", "expected"),
    [
        ("0/1", "pi", Shard(0, 1)),
        ("2/3", "pi", Shard(2, 3)),
        (" 1 / 4 ", "pi", Shard(1, 4)),
        ("auto/3", "lianke-bridge-2", Shard(2, 3)),
        ("auto/3", "lianke-bridge-0.lianke-bridge.default.svc.cluster.local", Shard(0, 3)),
    ],
)
def test_shard_specs(spec: str, hostname: str, expected: Shard) -> None:
    """``i/n``, and ``auto/n`` from a StatefulSet pod name (short or fully qualified)."""
    assert Shard.parse(spec, hostname=hostname) == expected


@pytest.mark.parametrize(
    ("spec", "hostname", "says"),
    [
        ("3/3", "pi", "below the count"),
        ("1/0", "pi", "count must be 1"),
        ("two/3", "pi", "INDEX/COUNT"),
        ("auto/3", "raspberrypi", "auto needs a host name ending in -<ordinal>"),
        ("auto/3", "lianke-bridge-5", "below the count"),
    ],
)
def test_bad_shard_specs_say_why(spec: str, hostname: str, says: str) -> None:
    """A wrong spec is refused in words, never guessed."""
    with pytest.raises(ValueError, match=says.replace("(", r"\(")):
        Shard.parse(spec, hostname=hostname)


def test_hostname_ordinal() -> None:
    """The number after the last dash of the first label."""
    assert hostname_ordinal("lianke-bridge-12") == 12
    assert hostname_ordinal("web-1.example") == 1
    assert hostname_ordinal("pi") is None


def test_each_instance_has_its_own_client_id() -> None:
    """Persistent sessions are keyed on the client id: one per instance."""
    assert Shard().client_id("lianke-bridge") == "lianke-bridge"
    assert {Shard(i, 3).client_id("lianke-bridge") for i in range(3)} == {
        "lianke-bridge-0",
        "lianke-bridge-1",
        "lianke-bridge-2",
    }


def test_the_config_key_and_its_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``shard:`` in the file, ``auto`` read from the host name, a bad one reported."""
    assert load(tmp_path, MINIMAL).shard == Shard(0, 1)
    assert load(tmp_path, MINIMAL + "shard: 1/2\n").shard == Shard(1, 2)
    monkeypatch.setattr(socket, "gethostname", lambda: "lianke-bridge-2")
    assert load(tmp_path, MINIMAL + "shard: auto/3\n").shard == Shard(2, 3)
    [line] = problems(tmp_path, MINIMAL + "shard: 5/3\n")
    assert "shard" in line
    assert "below the count" in line


def test_instance_zero_keeps_the_bridge_topics_the_others_get_their_own() -> None:
    """The contract only grows: instance 0 keeps ``<base>/bridge/state``, others add theirs."""
    assert Topics("lianke").bridge_state == "lianke/bridge/state"
    assert Topics("lianke", 0).bridge_health == "lianke/bridge/health"
    two = Topics("lianke", 2)
    assert (two.bridge_state, two.bridge_info, two.bridge_health) == (
        "lianke/bridge/2/state",
        "lianke/bridge/2/info",
        "lianke/bridge/2/health",
    )
    # requests, answers, events and the log stay shared
    assert two.bridge_response("refresh") == "lianke/bridge/response/refresh"
    assert two.bridge_event == "lianke/bridge/event"
    assert two.parse_request("lianke/bridge/request/refresh") == RequestTopic(
        "bridge", None, "refresh"
    )
    assert two.parse_request("lianke/bridge/2/state") is None
    assert two.parse_fanout("lianke/bridge/fanout/refresh") == "refresh"
    assert two.parse_fanout("lianke/bridge/fanout/a/b") is None
    assert two.parse_fanout("lianke/bridge/fanout/") is None


OFFICE = DeviceConfig(name="office", device_id="lc01demo000001", device_key="k1")
ATTIC = DeviceConfig(name="attic", device_id="lc01demo000002", device_key="k2")


def test_each_instance_is_its_own_bridge_device_and_its_boxes_hang_off_it() -> None:
    """Home Assistant: one bridge device per instance, available by its own state topic."""
    one = DiscoveryContext(instance=1)
    [bridge] = bridge_discovery(one)
    assert bridge.payload is not None
    assert bridge.payload["device"]["identifiers"] == ["lianke_bridge_1"]
    assert bridge.payload["device"]["name"] == "Lianke Bridge 1"
    text = bridge.encode().decode()
    assert "lianke/bridge/1/state" in text
    assert '"lianke/bridge/state"' not in text
    [box] = box_discovery(one, OFFICE, BoxState(online=True))
    assert box.payload is not None
    assert box.payload["device"]["via_device"] == "lianke_bridge_1"
    assert "lianke/bridge/1/state" in box.encode().decode()
    assert discovery.bridge_node_id("lianke") == "lianke_bridge"


def test_discovery_of_boxes_another_instance_owns_is_forgotten_not_cleared() -> None:
    """After the shard count changes, a box that moved away keeps its Home Assistant device."""
    ctx = DiscoveryContext()
    office = box_discovery(ctx, OFFICE, BoxState()) + printer_discovery(ctx, OFFICE, LASER)
    attic = box_discovery(ctx, ATTIC, BoxState()) + printer_discovery(ctx, ATTIC, LASER)
    before = discovery_topics([*office, *attic])
    plan = plan_discovery(ctx, before, office, elsewhere=[ATTIC.device_id])
    assert plan.clear == ()
    assert set(plan.published) == discovery_topics(office)
    without = plan_discovery(ctx, before, office)  # a box gone from the configuration
    assert {m.topic for m in without.clear} == discovery_topics(attic)


def test_check_config_counts_this_instances_boxes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check-config`` of one instance says how many boxes are its own and costs only those."""
    devices = "".join(
        f"  - device_id: {device_id}\n    device_key: key-{n}\n"
        for n, device_id in enumerate(IDS[:30])
    )
    path = write(tmp_path, f"lianke:\n  api_key: k\nshard: 1/3\ndevices:\n{devices}")
    assert main(["check-config", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    mine = sum(1 for device_id in IDS[:30] if shard_of(device_id, 3) == 1)
    assert f"shard 1/3: {mine} of the 30 boxes are this instance's" in out
    assert f"{mine * 144:,} calls/hour" in out  # idle: 144 calls per box-hour


async def test_one_instance_answers_its_boxes_and_leaves_the_others_alone(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """Instance 0 of 2: its box answered, another instance's box not, an unknown one refused.

    Instance 0 answers for devices no instance has, naming every configured box; it never polls
    or publishes a box it does not own, and publishes on the single bridge's topics.
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state", shard=Shard(0, 2))
    owned = {d.name for d in config.devices if shard_of(d.device_id, 2) == 0}
    others = {d.name for d in config.devices} - owned
    assert owned == {"warehouse"}  # lc01demo000002; office and spare are instance 1's
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            answer = await bridge.request("warehouse", "tasks", {"transaction": "mine"})
            assert answer["status"] == "ok"
            unknown = await bridge.request("attic", "tasks", {"transaction": "nobody"})
            assert unknown["error"]["code"] == "unknown_device"
            assert "office, warehouse, spare" in unknown["error"]["message"]
            mark = probe.mark()
            for name in sorted(others):
                await probe.publish(f"{base_topic}/{name}/request/tasks", {"transaction": "x"})
            await bridge.settle()
            info = await bridge.wait_json("bridge/info")
        finally:
            await bridge.stop()
    answered = [m.topic for m in probe.messages()[mark:] if "/response/" in m.topic]
    assert [t for t in answered if t.split("/")[1] in others] == []
    assert info["devices"] == ["warehouse"]
    assert info["shard"] == "0/2"
    published = {m.topic.split("/")[1] for m in probe.messages(f"{base_topic}/+/state")}
    assert published == {"bridge", "warehouse"}
    asked = {
        str(r.query.get("deviceId") or r.fields.get("deviceId"))
        for r in simulator.requests
        if r.query.get("deviceId") or r.fields.get("deviceId")
    }
    assert asked == {"lc01demo000002"}
