"""Scale-out: three bridge processes share six boxes and a three-node NATS cluster.

Each instance runs as its own ``lianke-bridge run --shard i/3`` process against its own NATS node
(MQTT 3.1.1, retained messages in JetStream), all in front of one simulated cloud. Each instance
reaches the cloud through its own relay, so the test sees which instance asked about which box.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import pytest
import yaml
from mqtt_broker import MqttProbe, ProbeMessage, topic_matches
from nats_cluster import NatsCluster, stop_process
from test_schemas import SCALE_OUT_TOPICS, TrafficChecker

from lianke_bridge.config import shard_of
from lianke_bridge.simulator import BoxSpec, Fleet, PrinterSpec, Simulator, Timing

INSTANCES = 3
BOXES_PER_SHARD = 2
WAIT = 30.0
"""Seconds any one awaited event may take (a loaded 2-core machine): generous, never slept."""


def _fleet() -> Fleet:
    """Six boxes, two per shard of three (the ids are picked by the stable hash)."""
    chosen: dict[int, list[str]] = {i: [] for i in range(INSTANCES)}
    number = 0
    while any(len(ids) < BOXES_PER_SHARD for ids in chosen.values()):
        device_id = f"lc01scale{number:05d}"
        owners = chosen[shard_of(device_id, INSTANCES)]
        if len(owners) < BOXES_PER_SHARD:
            owners.append(device_id)
        number += 1
    ids = sorted(device_id for group in chosen.values() for device_id in group)
    boxes = tuple(
        BoxSpec(
            device_id=device_id,
            device_key=f"scale-key-{n}",
            printers=(PrinterSpec(port=1, driver_name="Kyocera MA2000w GX", printer_id=800 + n),),
        )
        for n, device_id in enumerate(ids)
    )
    return Fleet(api_key="scale-api-key", boxes=boxes)


class CountingRelay:
    """A TCP relay to the simulator that keeps every byte an instance sent the cloud."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self.sent = bytearray()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Listen on a free loopback port; the base URL for the instance."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        """Close every relayed connection and stop listening."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()

    def asked_about(self, device_id: str) -> bool:
        """Whether this instance ever named the box in a cloud call."""
        return device_id.encode() in self.sent

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer, record=True)),
            asyncio.create_task(self._pipe(up_reader, writer, record=False)),
        ]
        self._tasks.update(pipes)
        await asyncio.gather(*pipes, return_exceptions=True)
        self._tasks.difference_update(pipes)
        for end in (writer, up_writer):
            end.close()

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, record: bool
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                if record:
                    self.sent += data
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(OSError):
            sink.close()


class Instance:
    """One ``lianke-bridge run --shard i/3`` process with its own state directory."""

    def __init__(self, index: int, fleet: Fleet, base_topic: str, cloud: str, tmp: Path) -> None:
        self.index = index
        self.fleet = fleet
        self.base_topic = base_topic
        self.cloud = cloud
        self.state_dir = tmp / f"state-{index}"
        self.config = tmp / f"config-{index}.yaml"
        self.log = tmp / f"bridge-{index}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def state_topic(self) -> str:
        """Instance 0 keeps the single bridge's topic; the others have their own."""
        if self.index == 0:
            return f"{self.base_topic}/bridge/state"
        return f"{self.base_topic}/bridge/{self.index}/state"

    def start(self, mqtt_port: int) -> None:
        """Write the configuration (this node's port) and start the process."""
        raw: dict[str, Any] = {
            "lianke": {
                "api_key": self.fleet.api_key,
                "base_url": self.cloud,
                "timeout": 30,
                "rate_limit": 10,
            },
            "devices": [
                {"name": f"box{n}", "device_id": box.device_id, "device_key": box.device_key}
                for n, box in enumerate(self.fleet.boxes)
            ],
            "mqtt": {
                "host": "127.0.0.1",
                "port": mqtt_port,
                "protocol": "3.1.1",
                "base_topic": self.base_topic,
            },
            "homeassistant": {"enabled": False},
            "state_dir": str(self.state_dir),
            "logging": {"level": "DEBUG"},
        }
        self.config.write_text(yaml.safe_dump(raw), encoding="utf-8")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "lianke_bridge",
                    "run",
                    "-c",
                    str(self.config),
                    "--shard",
                    f"{self.index}/{INSTANCES}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def stop(self) -> None:
        """SIGTERM (the bridge says offline and leaves), SIGKILL if it lingers."""
        stop_process(self.process, grace=15)

    def log_tail(self) -> str:
        """The end of the process's log."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def _answers(probe: MqttProbe, topic: str) -> Counter[str]:
    """How many answers each transaction got on a response topic."""
    return Counter(str(m.json().get("transaction")) for m in probe.messages(topic) if m.payload)


def _answer_to(transaction: str) -> Callable[[ProbeMessage], bool]:
    return lambda m: bool(m.payload) and m.json().get("transaction") == transaction


def _says(text: str) -> Callable[[ProbeMessage], bool]:
    return lambda m: m.text == text


async def _wait_until(check: Callable[[], bool], what: str) -> None:
    """Wait for a condition on the simulator, which has no event to wait on."""
    try:
        async with asyncio.timeout(WAIT):
            while not check():  # noqa: ASYNC110 - the cloud's request log has no event
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {WAIT} s") from None


@contextlib.asynccontextmanager
async def _probe(cluster: NatsCluster, node: int, base_topic: str) -> AsyncIterator[MqttProbe]:
    async with MqttProbe(
        cluster.host,
        cluster.nodes[node].mqtt_port,
        subscribe=[f"{base_topic}/#"],
        protocol=aiomqtt.ProtocolVersion.V311,
    ) as probe:
        yield probe


@pytest.fixture
async def scale_simulator() -> AsyncIterator[Simulator]:
    """The simulated cloud with six boxes, two for each of three shards."""
    sim = Simulator(fleet=_fleet(), timing=Timing.fast())
    await sim.start(host="127.0.0.1", port=0)
    try:
        yield sim
    finally:
        await sim.stop()


def _assert_owners_only(relays: list[CountingRelay], owner: dict[str, int]) -> None:
    """Every box was named in cloud calls by its owner and by no other instance."""
    for device_id, shard in owner.items():
        asked = {i for i, relay in enumerate(relays) if relay.asked_about(device_id)}
        assert asked == {shard}, (device_id, asked)


async def _ask_everything_once(probe: MqttProbe, base: str, names: list[str]) -> None:
    """A device request to every box (every shard) and bridge-level requests: one answer each."""
    asked: dict[str, list[str]] = {}
    for n, name in enumerate(names):
        await probe.publish(f"{base}/{name}/request/tasks", {"transaction": f"t{n}"})
        asked.setdefault(f"{base}/{name}/response/tasks", []).append(f"t{n}")
    for command in ("health_check", "printer_models"):
        await probe.publish(f"{base}/bridge/request/{command}", {"transaction": f"b-{command}"})
        asked[f"{base}/bridge/response/{command}"] = [f"b-{command}"]
    for topic, transactions in asked.items():
        for transaction in transactions:
            answer = await probe.wait_for(topic, _answer_to(transaction), WAIT)
            assert answer.json()["status"] == "ok", answer.json()
    # a second round on the same topics: anything doubled has come by its answer
    for topic in asked:
        await probe.publish(topic.replace("/response/", "/request/"), {"transaction": "sentinel"})
        await probe.wait_for(topic, _answer_to("sentinel"), WAIT)
    for topic, transactions in asked.items():
        expected = Counter({**dict.fromkeys(transactions, 1), "sentinel": 1})
        assert _answers(probe, topic) == expected, topic


async def _bridge_refresh(probe: MqttProbe, base: str, simulator: Simulator) -> None:
    """A bridge-level refresh is answered once and every instance polls its own boxes."""
    before = Counter(_device_info_calls(simulator))
    await probe.publish(f"{base}/bridge/request/refresh", {"transaction": "r"})
    await probe.wait_for(f"{base}/bridge/response/refresh", _answer_to("r"), WAIT)
    boxes = [box.device_id for box in simulator.fleet.boxes]
    await _wait_until(
        lambda: all(Counter(_device_info_calls(simulator))[d] > before[d] for d in boxes),
        "every box polled again after the bridge-level refresh",
    )
    await probe.publish(f"{base}/bridge/request/refresh", {"transaction": "sentinel"})
    await probe.wait_for(f"{base}/bridge/response/refresh", _answer_to("sentinel"), WAIT)
    assert _answers(probe, f"{base}/bridge/response/refresh") == Counter(r=1, sentinel=1)


async def _restart_on_another_node(
    probe: MqttProbe, cluster: NatsCluster, moved: Instance, box: str
) -> None:
    """Stop an instance, send a request to its box meanwhile, start it on another node."""
    base = moved.base_topic
    moved.stop()
    await probe.wait_for(moved.state_topic, _says("offline"), WAIT)
    leader = probe.last(f"{base}/bridge/state")
    assert leader is not None
    assert leader.text == "online"
    request = f"{base}/{box}/request/refresh"
    response = f"{base}/{box}/response/refresh"
    mark = probe.mark()
    await probe.publish(request, {"transaction": "while-away"})
    moved.start(cluster.nodes[(moved.index + 1) % INSTANCES].mqtt_port)
    await probe.wait_for(moved.state_topic, _says("online"), WAIT, since=mark)
    reply = await probe.wait_for(response, _answer_to("while-away"), WAIT, since=mark)
    assert reply.json()["data"]["state"]["online"] is True
    await probe.publish(request, {"transaction": "after"})
    await probe.wait_for(response, _answer_to("after"), WAIT, since=mark)
    assert _answers(probe, response) == Counter({"while-away": 1, "after": 1})


async def test_three_instances_share_the_boxes_and_answer_everything_once(
    nats_cluster: NatsCluster, scale_simulator: Simulator, base_topic: str, tmp_path: Path
) -> None:
    """Each box is polled and answered by one instance; a restarted owner takes its boxes back.

    Device requests to boxes of every shard and bridge-level requests are each answered exactly
    once; a bridge-level ``refresh`` reaches the boxes of every instance; after the owner of two
    boxes restarts on another node, a request sent while it was away is answered once and every
    box's retained state is right, read on a node the instance does not use.
    """
    fleet = scale_simulator.fleet
    names = {box.device_id: f"box{n}" for n, box in enumerate(fleet.boxes)}
    owner = {box.device_id: shard_of(box.device_id, INSTANCES) for box in fleet.boxes}
    cloud = urlsplit(scale_simulator.url)
    relays = [
        CountingRelay(cloud.hostname or "127.0.0.1", cloud.port or 80) for _ in range(INSTANCES)
    ]
    instances = [
        Instance(i, fleet, base_topic, await relays[i].start(), tmp_path) for i in range(INSTANCES)
    ]
    moved = instances[1]
    try:
        async with _probe(nats_cluster, 0, base_topic) as probe:
            for instance in instances:
                instance.start(nats_cluster.nodes[instance.index].mqtt_port)
            for instance in instances:
                await probe.wait_for(instance.state_topic, _says("online"), WAIT)
            for name in names.values():
                await probe.wait_for(f"{base_topic}/{name}/state", _online, WAIT)
            _assert_owners_only(relays, owner)
            await _ask_everything_once(probe, base_topic, list(names.values()))
            await _bridge_refresh(probe, base_topic, scale_simulator)
            _assert_owners_only(relays, owner)
            its_box = next(names[d] for d, shard in owner.items() if shard == moved.index)
            await _restart_on_another_node(probe, nats_cluster, moved, its_box)
        _assert_traffic_follows_the_schemas(probe, base_topic)
        async with _probe(nats_cluster, 0, base_topic) as fresh:
            for name in names.values():
                state = await fresh.wait_for(f"{base_topic}/{name}/state", timeout=WAIT)
                assert state.json()["online"] is True, (name, state.json())
                assert state.json()["printers"] == [1]
            for instance in instances:
                await fresh.wait_for(instance.state_topic, _says("online"), WAIT)
        _assert_owners_only(relays, owner)
    except BaseException:
        for instance in instances:
            print(f"--- instance {instance.index}\n{instance.log_tail()}")  # noqa: T201
        print(nats_cluster.log_tails())  # noqa: T201
        raise
    finally:
        for instance in instances:
            instance.stop()
        for relay in relays:
            await relay.stop()


def _assert_traffic_follows_the_schemas(probe: MqttProbe, base: str) -> None:
    """The topics only several instances publish match their schemas (as every other one)."""
    checker = TrafficChecker(base, "homeassistant")
    for message in probe.messages():
        if not topic_matches(f"{base}/bridge/sync/+", message.topic):  # MQTT 3.1.1 internal
            checker.check(message)
    assert not checker.problems, "\n".join(checker.problems[:20])
    assert checker.used >= SCALE_OUT_TOPICS


def _online(message: ProbeMessage) -> bool:
    return bool(message.payload) and message.json().get("online") is True


def _device_info_calls(simulator: Simulator) -> list[str]:
    """The device id of every device_info call the cloud got, in order."""
    return [
        str(r.query.get("deviceId") or r.fields.get("deviceId"))
        for r in simulator.requests
        if r.path == "/api/device/device_info"
    ]
