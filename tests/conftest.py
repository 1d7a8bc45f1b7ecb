"""Shared fixtures: a running simulator of the Lianke cloud with fast timings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sim_api import SimApi

from lianke_bridge.simulator import Simulator, Timing, demo_fleet

# The Mosquitto fixtures and probe, and the running-bridge fixtures for end-to-end tests.
pytest_plugins = ["mqtt_broker", "bridge_harness", "nats_cluster"]


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A started simulator on a free loopback port: the demo fleet, jobs done in ~50 ms."""
    sim = Simulator(fleet=demo_fleet(), timing=Timing.fast())
    await sim.start(host="127.0.0.1", port=0)
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def sim_api(simulator: Simulator) -> AsyncIterator[SimApi]:
    """Raw HTTP calls to the ``simulator`` (its ApiKey, its first box by default)."""
    async with aiohttp.ClientSession() as session:
        yield SimApi(simulator, session)
