"""The bridge on one NATS node: what NATS's MQTT layer does that Mosquitto does not.

NATS keeps QoS 1 messages in JetStream and sends one again (DUP) to a session that has not
acknowledged it within ``mqtt { ack_wait }``, on the same live connection; EMQX does the same
after its ``retry_interval``. Mosquitto resends only to a client that reconnects. And NATS
answers a SUBACK with a refusal when it cannot make the subscription (its permissions, or
JetStream too busy to make the subscription's consumer in time); Mosquitto 2.0 grants them all.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import aiomqtt
import pytest
from bridge_harness import SLOW_POLL, RunningBridge, make_config, until
from mqtt_broker import MqttProbe
from nats_cluster import NatsNode, SingleNode

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.simulator import Simulator

TASKS = "/api/print/query_device_task"
SLOW_CLOUD = 3.0
"""Seconds the cloud takes to answer: three times the node's ``ack_wait`` (1 s)."""
WAIT = 30.0
"""Seconds the answer may take on a loaded machine: generous, never slept."""
REFUSED = "refused the subscription"


async def test_a_request_resent_while_it_is_answered_gets_one_answer(
    nats_server: NatsNode,
    simulator: Simulator,
    base_topic: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A request whose cloud call outlasts NATS's ``ack_wait`` is sent again while answered.

    The resend is the same request (its packet id, DUP), not the requester's second one: it
    gets no answer of its own. The requester gets exactly one answer, ``ok``.
    """
    config = make_config(simulator, nats_server, base_topic, tmp_path / "state", poll=SLOW_POLL)
    config = replace(config, mqtt=replace(config.mqtt, protocol="3.1.1"))
    caplog.set_level(logging.DEBUG, logger="lianke_bridge.bridge.mqtt.session")
    async with MqttProbe(
        nats_server.host,
        nats_server.port,
        subscribe=[f"{base_topic}/#"],
        protocol=aiomqtt.ProtocolVersion.V311,
    ) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            simulator.faults.slow(SLOW_CLOUD, TASKS)
            answer = await bridge.request("office", "tasks", {"transaction": "slow"}, WAIT)
            # the resends were dropped before they counted against the payload budget
            assert bridge.service.listener._arrivals.queued == 0
        finally:
            simulator.faults.slow(0, TASKS)
            await bridge.stop()
    assert answer["status"] == "ok", answer
    assert any("again while it is being answered" in r.getMessage() for r in caplog.records)


def _users(base: str, *, refuse_requests: bool) -> str:
    """The broker's users: the bridge's may not subscribe to requests while ``refuse_requests``.

    Anonymous clients (the probes) may do anything.
    """
    denied = f"{base}.*.request.*" if refuse_requests else "nothing.denied"
    # publish stated too: nats-server 2.9.10 dereferences it when reloading with retained messages
    bridge = f'permissions: {{ publish: ">", subscribe: {{ deny: ["{denied}"] }} }}'
    return (
        "authorization { users: [ { user: probe, password: probe-password }, "
        f"{{ user: bridge, password: bridge-password, {bridge} }} ] }}\n"
        "no_auth_user: probe"
    )


async def test_a_refused_subscription_is_asked_for_again(
    simulator: Simulator, base_topic: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker refuses the bridge's subscription to requests: asked again until granted.

    One WARNING says what was refused; the bridge connects again (its backoff) and, once the
    broker grants the subscription, answers requests. Before, it did not read the SUBACK and
    went on ``online``, deaf to every request.
    """
    server = SingleNode(tmp_path)
    caplog.set_level(logging.INFO, logger="lianke_bridge")
    async with server.running(_users(base_topic, refuse_requests=True)) as node:
        config = make_config(simulator, node, base_topic, tmp_path / "state", poll=SLOW_POLL)
        mqtt = replace(config.mqtt, protocol="3.1.1", username="bridge", password="bridge-password")
        async with MqttProbe(
            node.host,
            node.port,
            subscribe=[f"{base_topic}/#"],
            protocol=aiomqtt.ProtocolVersion.V311,
        ) as probe:
            bridge = RunningBridge(BridgeService(replace(config, mqtt=mqtt)), probe)
            bridge.task = asyncio.create_task(bridge.service.run())
            try:
                await until(lambda: any(REFUSED in r.getMessage() for r in caplog.records), WAIT)
                node.reload(server.config(_users(base_topic, refuse_requests=False)))
                async with asyncio.timeout(WAIT):
                    await bridge.service.connected.wait()
                answer = await bridge.request("office", "tasks", {"transaction": "t"}, WAIT)
            finally:
                await bridge.stop()
    assert answer["status"] == "ok", answer
    refusals = [r for r in caplog.records if REFUSED in r.getMessage()]
    assert [r.levelno for r in refusals] == [logging.WARNING], refusals
