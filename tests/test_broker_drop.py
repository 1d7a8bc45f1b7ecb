"""A broker that freezes or dies under requests, as its log shows it to the person running it.

A drop is one WARNING naming the cause, then one INFO when the bridge is back; nothing at ERROR
(an operator cannot act on a broker that came back by itself) and no "Future exception was
never retrieved" from connections the bridge gave up on. The bridge runs in this process so
that a garbage collection can be forced: asyncio reports an unretrieved exception only when
its future is collected.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from bridge_harness import SLOW_POLL, make_config, until
from mqtt_broker import (
    PROBE_LOGGER,
    MosquittoBroker,
    MqttProbe,
    ProbeMessage,
    sentinel_round_trip,
)

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config
from lianke_bridge.simulator import Simulator

TASKS_PATH = "/api/print/query_device_task"
CLOUD_DELAY = 2.0
"""Seconds the cloud holds a ``tasks`` request: its answer goes out into the frozen broker."""
WAIT = 40.0
"""Seconds any one awaited event may take: aiomqtt waits 10 s for an acknowledgement, a
connect into a frozen broker another 10 s (a slow, shared machine on top)."""


@contextlib.asynccontextmanager
async def _bridge(config: Config) -> AsyncIterator[BridgeService]:
    service = BridgeService(config)
    task = asyncio.create_task(service.run(), name="bridge-under-test")
    try:
        await until(service.connected.is_set, WAIT)
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _answer_to(transaction: str) -> Callable[[ProbeMessage], bool]:
    return lambda m: bool(m.payload) and m.json().get("transaction") == transaction


async def _in_flight(probe: MqttProbe, simulator: Simulator, base: str, transaction: str) -> None:
    """Send a ``tasks`` request and return once the cloud holds it (answer still to come)."""
    asked = sum(1 for r in simulator.requests if r.path == TASKS_PATH)
    await probe.publish(f"{base}/office/request/tasks", {"transaction": transaction})
    await until(lambda: sum(1 for r in simulator.requests if r.path == TASKS_PATH) > asked, WAIT)


def _noise(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the bridge logged at WARNING or above, one line each (not the test's probes)."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name != PROBE_LOGGER.name
    ]


async def _ask(probe: MqttProbe, base: str, transaction: str) -> None:
    """A new ``tasks`` request, answered ``ok`` exactly once."""
    answer = await probe.request(
        f"{base}/office/request/tasks",
        {"transaction": transaction},
        timeout=WAIT,
        settle=lambda: sentinel_round_trip(probe, base, WAIT),
    )
    assert answer.json()["status"] == "ok"


async def _freeze(
    service: BridgeService, broker: MosquittoBroker, probe: MqttProbe, simulator: Simulator
) -> None:
    """SIGSTOP with an answer on its way: no PUBACK for it, no CONNACK for one reconnect."""
    assert broker.pid is not None
    base = service.config.mqtt.base_topic
    simulator.faults.slow(CLOUD_DELAY, TASKS_PATH)
    await _in_flight(probe, simulator, base, "frozen")
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        await until(lambda: service.counters.reconnects >= 2, WAIT)  # a failed attempt too
    finally:
        os.kill(broker.pid, signal.SIGCONT)
    simulator.faults.slow(0, TASKS_PATH)
    await until(service.connected.is_set, WAIT)
    await probe.wait_for(f"{base}/office/response/tasks", _answer_to("frozen"), WAIT)
    await _ask(probe, base, "after-freeze")


async def _kill(
    service: BridgeService, broker: MosquittoBroker, probe: MqttProbe, simulator: Simulator
) -> None:
    """SIGKILL with a request in the cloud, then a restart: gone at once, refused meanwhile."""
    base = service.config.mqtt.base_topic
    simulator.faults.slow(CLOUD_DELAY, TASKS_PATH)
    await _in_flight(probe, simulator, base, "killed")
    broker.kill()
    await until(lambda: not service.connected.is_set(), WAIT)
    simulator.faults.slow(0, TASKS_PATH)
    broker.start()
    await probe.reconnect()
    await until(service.connected.is_set, WAIT)
    await _ask(probe, base, "after-kill")


async def test_a_frozen_and_a_killed_broker_log_one_warning_each_and_nothing_at_error(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGSTOP past the bridge's timeouts, then SIGKILL and a restart, with requests in flight.

    Each drop logs exactly one WARNING (with its cause) and an INFO on the reconnect; nothing
    at ERROR, no unretrieved future exception. The request in flight in the freeze is answered
    once after it (the broker hands it to the new session); after each drop a new request gets
    exactly one answer. While frozen the bridge's attempts to connect reach the broker's
    backlog only: when it thaws none of them may come alive and knock the live connection off.
    """
    caplog.set_level(logging.INFO)
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state", poll=SLOW_POLL)
    assert config.mqtt.keepalive > 2 * 10, "attempts must outlive aiomqtt's 10 s connect wait"
    response = f"{base_topic}/office/response/tasks"
    probe = MqttProbe(
        mosquitto.host,
        mosquitto.port,
        identifier=f"{base_topic}-requester-{uuid.uuid4().hex[:6]}",
        session_expiry=3600,
        subscribe=[response],
    )
    await probe.connect()
    try:
        async with _bridge(config) as service:
            await _freeze(service, mosquitto, probe, simulator)
            await _kill(service, mosquitto, probe, simulator)
    finally:
        await probe.close()
    gc.collect()  # an unretrieved exception is reported when its future is collected
    answers = [m.json()["transaction"] for m in probe.messages(response) if m.payload]
    assert [answers.count(t) for t in ("frozen", "after-freeze", "after-kill")] == [1, 1, 1]
    assert answers.count("killed") <= 1, answers  # the killed broker forgot it, or took it
    noise = _noise(caplog)
    assert not [line for line in noise if "never retrieved" in line], noise
    assert [line for line in noise if line.startswith("ERROR")] == [], noise
    drops = [line for line in noise if "unreachable" in line]
    assert len(drops) == 2, noise  # the freeze and the kill
    assert noise == drops, noise
    back = [r.getMessage() for r in caplog.records if "reconnected to broker" in r.getMessage()]
    assert len(back) == 2, back
