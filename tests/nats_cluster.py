"""A real three-node NATS cluster with JetStream and its MQTT 3.1.1 listener, for scale-out tests.

``nats_cluster`` starts three ``nats-server`` processes clustered on loopback (free ports, a
JetStream store each under the test's temporary directory) and waits until a retained message
published on one node is seen on every other: retained messages live in JetStream, so that is
the moment the cluster is usable. ``nats_server`` is one such node alone, for what one broker
shows. The tests are skipped with a reason when ``nats-server`` is not installed (CI installs
it). NATS speaks MQTT 3.1.1 only and wants a client id on every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import pytest
from mqtt_broker import LOOPBACK, MqttProbe, free_ports

__all__ = [
    "NatsCluster",
    "NatsNode",
    "SingleNode",
    "find_nats_server",
    "nats_cluster",
    "nats_server",
]

NODES = 3
READY_TIMEOUT = 60.0
"""Seconds the cluster gets to elect its JetStream leader and carry a retained message."""
_FALLBACK_PATHS = ("/usr/sbin/nats-server", "/usr/local/bin/nats-server", "/usr/bin/nats-server")
LOG_TAIL_CHARS = 3000
ACK_WAIT = "5s"
"""How long the cluster waits for a session's acknowledgement before sending the message again."""
SERVER_ACK_WAIT = "1s"
"""The same for ``nats_server``: short, so a request answered slowly is resent while in hand."""


def find_nats_server() -> str | None:
    """The nats-server binary: on PATH, else in the usual directories, else None."""
    found = shutil.which("nats-server")
    if found:
        return found
    return next((path for path in _FALLBACK_PATHS if os.access(path, os.X_OK)), None)


@dataclass
class NatsNode:
    """One node: its MQTT port (what bridges and probes connect to) and its process."""

    name: str
    mqtt_port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = LOOPBACK

    @property
    def port(self) -> int:
        """The MQTT port (clients' address is ``host``:``port``, as a Mosquitto fixture's)."""
        return self.mqtt_port

    def start(self, binary: str) -> None:
        """Start the node (its config names its routes to the other nodes)."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - the installed nats-server
                [binary, "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        stop_process(self.process, grace=10)

    def reload(self, config: str) -> None:
        """Write a new configuration and have the running node read it again (SIGHUP)."""
        self.config.write_text(config, encoding="utf-8")
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)

    def log_tail(self) -> str:
        """The end of the node's log, for failure reports."""
        try:
            return self.log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            return ""


@dataclass
class NatsCluster:
    """Three clustered nodes on loopback."""

    nodes: list[NatsNode]
    host: str = LOOPBACK

    def log_tails(self) -> str:
        """Every node's log tail."""
        return "\n".join(f"--- {node.name}\n{node.log_tail()}" for node in self.nodes)


def _node_config(
    name: str,
    *,
    client: int,
    mqtt: int,
    store: Path,
    ack_wait: str,
    cluster: int | None = None,
    routes: list[int] | None = None,
    extra: str = "",
) -> str:
    lines = [
        f"server_name: {name}",
        f"listen: {LOOPBACK}:{client}",
        f'jetstream {{ store_dir: "{store}" }}',
    ]
    if extra:
        lines.append(extra)
    if cluster is not None:
        route_urls = ", ".join(f'"nats-route://{LOOPBACK}:{port}"' for port in routes or [])
        lines.append(
            f"cluster {{ name: lianke_test, listen: {LOOPBACK}:{cluster}, routes: [{route_urls}] }}"
        )
    # ack_wait: a QoS 1 message handed to a session whose client has not acknowledged it (an
    # instance moving to another node, a request answered slowly) is sent again after it.
    # stream_replicas 1: the MQTT streams (QoS 1 messages, sessions, retained messages) on one
    # node, which every node serves. Replicated (three copies, the default in a cluster),
    # nats-server 2.9.10 (Debian 12's, which CI installs) loses QoS 1 messages under load: a
    # copy that sees one session's acknowledgement of a message before the message itself
    # asks the whole cluster to delete it (stream.go ``ackMsg``, its "ack reached us before the
    # actual msg" branch), so a session that had not been sent it yet (an instance away, or
    # one slower than another) never gets it. nats-server 2.9.16 reworked that ("Improvements
    # to preAcks": "so as to not delete too early"). See docs/scaling-out.md.
    lines.append(
        f'mqtt {{ listen: {LOOPBACK}:{mqtt}, ack_wait: "{ack_wait}", stream_replicas: 1 }}'
    )
    return "\n".join(lines) + "\n"


async def _carries_retained(cluster: NatsCluster, topic: str) -> None:
    """Publish a retained message on the first node and read it on every other, once."""
    nodes = cluster.nodes
    probes = [
        MqttProbe(
            cluster.host,
            node.mqtt_port,
            subscribe=[topic],
            protocol=aiomqtt.ProtocolVersion.V311,
            identifier=f"ready-{uuid.uuid4().hex[:8]}",
            timeout=10.0,
        )
        for node in nodes
    ]
    try:
        await probes[0].connect()
        await probes[0].publish(topic, "ready", retain=True)
        for probe in probes[1:]:
            await probe.connect()
            await probe.wait_for(topic, timeout=5.0)
        await probes[0].publish(topic, b"", retain=True)
    finally:
        for probe in probes:
            await probe.close()


async def wait_until_ready(cluster: NatsCluster, timeout: float = READY_TIMEOUT) -> None:
    """Until a retained message published on the first node is seen on every node.

    Right after start the nodes elect a JetStream leader and create the MQTT streams; until
    then connects and publishes fail or time out, so each try starts over.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            await _carries_retained(cluster, f"ready/{uuid.uuid4().hex[:8]}")
        except (aiomqtt.MqttError, OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)  # between tries of a cluster still setting up
        else:
            return


@contextlib.asynccontextmanager
async def _started(nodes: list[NatsNode]) -> AsyncIterator[NatsCluster]:
    """Start the nodes, wait until they carry a retained message, stop them afterwards."""
    binary = find_nats_server()
    if binary is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server; CI installs it)")
    cluster = NatsCluster(nodes)
    try:
        for node in nodes:
            node.start(binary)
        try:
            await wait_until_ready(cluster)
        except (TimeoutError, aiomqtt.MqttError, OSError) as err:
            raise AssertionError(
                f"the NATS cluster did not come up: {err}\n{cluster.log_tails()}"
            ) from err
        yield cluster
    finally:
        for node in nodes:
            with contextlib.suppress(OSError):
                node.stop()


@pytest.fixture
async def nats_cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    """Three started, clustered NATS nodes with JetStream and MQTT (skipped without NATS)."""
    ports = free_ports(3 * NODES)
    cluster_ports = ports[:NODES]
    nodes = []
    for i in range(NODES):
        name = f"n{i}"
        config = tmp_path / f"nats-{name}.conf"
        config.write_text(
            _node_config(
                name,
                client=ports[NODES + 2 * i],
                mqtt=(mqtt := ports[NODES + 2 * i + 1]),
                store=tmp_path / f"jetstream-{name}",
                ack_wait=ACK_WAIT,
                cluster=cluster_ports[i],
                routes=cluster_ports,
            ),
            encoding="utf-8",
        )
        nodes.append(NatsNode(name, mqtt, config, tmp_path / f"nats-{name}.log"))
    async with _started(nodes) as cluster:
        yield cluster


class SingleNode:
    """One NATS node's configuration, kept so a test can change it while the node runs."""

    def __init__(self, tmp_path: Path, *, ack_wait: str = SERVER_ACK_WAIT) -> None:
        client, mqtt = free_ports(2)
        self.ports = (client, mqtt)
        self.store = tmp_path / "jetstream"
        self.ack_wait = ack_wait
        self.node = NatsNode("single", self.ports[1], tmp_path / "nats.conf", tmp_path / "nats.log")

    def config(self, extra: str = "") -> str:
        """The node's configuration, with ``extra`` lines (an ``authorization`` block...)."""
        client, mqtt = self.ports
        return _node_config(
            "single",
            client=client,
            mqtt=mqtt,
            store=self.store,
            ack_wait=self.ack_wait,
            extra=extra,
        )

    @contextlib.asynccontextmanager
    async def running(self, extra: str = "") -> AsyncIterator[NatsNode]:
        """The node started with ``extra`` (skipped without NATS), stopped afterwards."""
        self.node.config.write_text(self.config(extra), encoding="utf-8")
        async with _started([self.node]):
            yield self.node


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[NatsNode]:
    """One started NATS node with JetStream and MQTT, resending after ``SERVER_ACK_WAIT``."""
    async with SingleNode(tmp_path).running() as node:
        yield node


def stop_process(process: subprocess.Popen[bytes] | None, *, grace: float) -> None:
    """SIGTERM a child that still runs, then SIGKILL it if it lingers past ``grace`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
