"""Stopping the real process: a signal with a print in flight -> offline, exit 0, within 5 s."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import RunningBridge
from mqtt_broker import MosquittoBroker, MqttProbe
from test_cli import START_TIMEOUT, cli, run_config

from lianke_bridge.simulator import Simulator

STOP_BOUND = 5.0
"""Seconds a stop may take, whatever the cloud is doing (a service manager kills after ~10)."""


class WatchedCalls(list[Any]):
    """The simulator's call record, which also tells a waiting test when a call arrives."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.arrived = asyncio.Event()

    def append(self, item: Any) -> None:
        """Record the call and wake the test."""
        super().append(item)
        self.arrived.set()

    async def wait_for(self, path: str, timeout: float = 10.0) -> None:
        """Return once a call to ``path`` was made."""
        async with asyncio.timeout(timeout):
            while not any(call.path == path for call in self):
                self.arrived.clear()
                await self.arrived.wait()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
async def test_a_signal_with_a_print_in_flight_stops_within_five_seconds(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    stop: signal.Signals,
) -> None:
    """The cloud holds a print's call for an hour: the signal still ends the bridge at once.

    The call is abandoned (the print's outcome is looked up at the next start), ``offline`` is
    retained, and the exit code is 0.
    """
    calls = WatchedCalls(simulator.requests)
    simulator.requests = calls
    path = tmp_path / "config.yaml"
    path.write_text(run_config(simulator, mosquitto, base_topic, tmp_path / "state"), "utf-8")
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        cli("run", "-c", str(path)) as process,
    ):
        await probe.wait_for(
            f"{base_topic}/office/state", lambda m: bool(m.json()["printers"]), START_TIMEOUT
        )
        simulator.faults.slow(3600, "/api/print/job")
        await probe.publish(
            f"{base_topic}/office/request/print",
            {"url": "https://x.test/slow.pdf", "transaction": "in-flight"},
        )
        await calls.wait_for("/api/print/job")
        mark = probe.mark()
        asked = time.monotonic()
        process.send(stop)
        code = await process.wait(timeout=STOP_BOUND + 5)
        took = time.monotonic() - asked
        offline = await probe.wait_for(f"{base_topic}/bridge/state", since=mark)
    simulator.faults.slow(0, "/api/print/job")
    assert code == 0, process.err
    assert took < STOP_BOUND
    assert (offline.text, offline.retain) == ("offline", True)
    assert "Traceback" not in process.err


async def test_a_signal_while_the_broker_hangs_still_stops_within_five_seconds(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """A broker that stopped answering (frozen, half-open) cannot hold the goodbye for long.

    Saying ``offline`` waits for the broker's acknowledgement; that wait is bounded, so the
    bridge exits 0 within the bound and the broker's will speaks for it.
    """
    path = tmp_path / "config.yaml"
    path.write_text(run_config(simulator, mosquitto, base_topic, tmp_path / "state"), "utf-8")
    assert mosquitto.pid is not None
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        cli("run", "-c", str(path)) as process,
    ):
        await probe.wait_for(
            f"{base_topic}/bridge/state", lambda m: m.text == "online", START_TIMEOUT
        )
        os.kill(mosquitto.pid, signal.SIGSTOP)
        try:
            asked = time.monotonic()
            process.send(signal.SIGTERM)
            code = await process.wait(timeout=STOP_BOUND + 15)
            took = time.monotonic() - asked
        finally:
            os.kill(mosquitto.pid, signal.SIGCONT)
    assert code == 0, process.err
    assert took < STOP_BOUND


async def test_a_stop_while_the_broker_hangs_with_a_full_send_buffer_stops_within_the_bound(
    running_bridge: RunningBridge, mosquitto: MosquittoBroker, base_topic: str
) -> None:
    """Unsent data queued before the freeze cannot hold the stop past the goodbye's bound.

    The DISCONNECT would queue behind it and aiomqtt would wait another 10 s for it to leave:
    the connection is abandoned instead, and the broker's will says ``offline``.
    """
    assert mosquitto.pid is not None
    mqtt = running_bridge.service.publisher._client
    assert mqtt is not None
    os.kill(mosquitto.pid, signal.SIGSTOP)
    try:
        for _ in range(64):  # far more than the kernel's socket buffers hold
            mqtt._client.publish(f"{base_topic}/test/flood", b"x" * 1_000_000)
        asked = time.monotonic()
        await running_bridge.stop()
        took = time.monotonic() - asked
    finally:
        os.kill(mosquitto.pid, signal.SIGCONT)
    assert running_bridge.task is not None
    assert running_bridge.task.cancelled()
    assert took < STOP_BOUND
