"""Fixtures that run the real bridge between the simulator and a real Mosquitto.

``bridge_config`` builds a configuration for the demo fleet (fast polling, a unique base topic and
a fresh state directory); ``running_bridge`` starts a ``BridgeService`` with it and stops it after
the test, so every end-to-end test sees simulator -> bridge -> broker -> probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import pytest
from mqtt_broker import MosquittoBroker, MqttProbe, sentinel_round_trip

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import (
    Config,
    DeviceConfig,
    HomeAssistantConfig,
    JobsConfig,
    LiankeConfig,
    MqttConfig,
    PollConfig,
)
from lianke_bridge.simulator import Simulator

FAST_POLL = PollConfig(device_info=0.3, printer_list=0.6, printer_status=0.3, tasks=0.3)
SLOW_POLL = PollConfig(device_info=60, printer_list=60, printer_status=60, tasks=60)
DEVICE_NAMES = ("office", "warehouse", "spare")


class Broker(Protocol):
    """Where a broker listens for MQTT: a Mosquitto fixture, a NATS node."""

    @property
    def host(self) -> str:
        """The address clients connect to."""

    @property
    def port(self) -> int:
        """The MQTT port."""


def make_config(
    simulator: Simulator,
    broker: Broker,
    base_topic: str,
    state_dir: Path,
    *,
    poll: PollConfig = FAST_POLL,
    homeassistant: bool = False,
    **changes: Any,
) -> Config:
    """A bridge configuration for the simulator's fleet and the test's broker."""
    windowed = simulator.state.timing.status_window > 0
    devices = tuple(
        DeviceConfig(
            name=DEVICE_NAMES[i],
            device_id=box.device_id,
            device_key=box.device_key,
            poll=poll,
        )
        for i, box in enumerate(simulator.fleet.boxes)
    )
    config = Config(
        lianke=LiankeConfig(
            api_key=simulator.fleet.api_key,
            base_url=simulator.url,
            timeout=5.0,
            rate_limit=200.0,
            max_retries=1,
            # the fast simulator refuses no printer_status as too soon: no need to space them
            status_spacing=LiankeConfig.status_spacing if windowed else 0.0,
        ),
        devices=devices,
        mqtt=MqttConfig(
            host=broker.host, port=broker.port, base_topic=base_topic, client_id=base_topic
        ),
        homeassistant=HomeAssistantConfig(enabled=homeassistant, prefix=f"{base_topic}_ha"),
        jobs=JobsConfig(poll_interval=0.1),
        state_dir=state_dir,
    )
    return replace(config, **changes)


class RunningBridge:
    """A BridgeService running in a task, with helpers to talk to it."""

    def __init__(self, service: BridgeService, probe: MqttProbe) -> None:
        self.service = service
        self.probe = probe
        self.base = service.config.mqtt.base_topic
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Run the service and wait until it is connected."""
        self.task = asyncio.create_task(self.service.run(), name="bridge-under-test")
        async with asyncio.timeout(10):
            while not self.service.connected.is_set():
                if self.task.done():
                    self.task.result()
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Cancel the service as SIGTERM would."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def request(
        self, device: str, command: str, payload: Any = None, timeout: float = 8.0
    ) -> Any:
        """Send a request and return the decoded response envelope: EXACTLY one must come."""
        topic = f"{self.base}/{device}/request/{command}"
        message = await self.probe.request(topic, payload, timeout=timeout, settle=self.settle)
        return message.json()

    async def settle(self) -> None:
        """Return once anything the bridge had to say about earlier requests has arrived.

        A sentinel request (read after every earlier message), then the bridge idle (its
        requests run concurrently: an earlier one may finish after the sentinel), then a
        second sentinel (its answer comes after any answer published before it).
        """
        await sentinel_round_trip(self.probe, self.base)
        await self.service.wait_idle()
        await sentinel_round_trip(self.probe, self.base)

    async def wait_json(
        self,
        topic: str,
        predicate: Callable[[Any], bool] = lambda _data: True,
        timeout: float = 8.0,
    ) -> Any:
        """Wait for a JSON message on ``<base>/<topic>`` matching a predicate."""
        message = await self.probe.wait_for(
            f"{self.base}/{topic}",
            lambda m: bool(m.payload) and predicate(m.json()),
            timeout,
        )
        return message.json()


async def until(condition: Callable[[], bool], timeout: float = 8.0) -> None:
    """Wait for a condition the simulator's request log will meet (it changes as calls come)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the simulator's log has no event to wait on
            await asyncio.sleep(0.01)


def calls_for(simulator: Simulator, device_id: str, path: str) -> int:
    """How many calls of ``path`` the simulator received for one box."""
    return sum(
        1
        for r in simulator.requests
        if r.path == path and device_id in (r.fields.get("deviceId"), r.query.get("deviceId"))
    )


@pytest.fixture
def bridge_config(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> Config:
    """Fast-polling configuration for the demo fleet on the test's broker."""
    return make_config(simulator, mosquitto, base_topic, tmp_path / "state")


@pytest.fixture
async def running_bridge(
    bridge_config: Config, mosquitto: MosquittoBroker
) -> AsyncIterator[RunningBridge]:
    """The bridge, connected, with a probe subscribed to its whole topic tree."""
    base = bridge_config.mqtt.base_topic
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base}/#"]) as probe:
        bridge = RunningBridge(BridgeService(bridge_config), probe)
        await bridge.start()
        try:
            yield bridge
        finally:
            await bridge.stop()


class StalledDisk:
    """The state database on a disk that finishes no commit until ``released`` is set."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.released = threading.Event()

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        """Run a statement; a COMMIT waits until released."""
        if sql == "COMMIT":
            self.released.wait()
        return self.db.execute(sql, *args)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        """Run a statement for many rows."""
        return self.db.executemany(sql, rows)

    def close(self) -> None:
        """Close the database."""
        self.db.close()
