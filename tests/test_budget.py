"""The call budget: a fleet's schedule stretched fairly to fit it, said once, shown on health."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from bridge_harness import RunningBridge, make_config
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.polling.budget import (
    IDLE_TASKS_FACTOR,
    MIN_SHARE,
    POLL_SHARE,
    TIERS,
    box_demand,
    calls_per_hour,
    plan,
)
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.cli import main
from lianke_bridge.config import DeviceConfig
from lianke_bridge.simulator import Simulator

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.yaml"


def _devices(count: int) -> list[DeviceConfig]:
    return [
        DeviceConfig(name=f"box{i}", device_id=f"lc01test{i:06d}", device_key="k")
        for i in range(count)
    ]


def test_a_schedule_that_fits_is_left_alone() -> None:
    """Two boxes on default intervals need well under a call per second: nothing stretches."""
    result = plan((box_demand(d) for d in _devices(2)), budget=5.0)
    assert not result.stretched
    assert all(result.factor(tier) == 1.0 for tier in TIERS)


def test_a_thousand_boxes_are_stretched_by_priority_within_the_budget() -> None:
    """device_info least, printers in use next, the rest most; the polls fit their share."""
    demands = [
        box_demand(d, status_printers=2, in_use=i % 10 == 0) for i, d in enumerate(_devices(1000))
    ]
    result = plan(demands, budget=10.0)
    assert result.stretched
    first, second, third = (result.factor(tier) for tier in TIERS)
    assert 1.0 <= first <= second <= third
    stretched = sum(sum(d.of(t) / result.factor(t) for t in TIERS) for d in demands)
    assert stretched <= 10.0 * POLL_SHARE * 1.001
    assert result.needed > 10.0


def test_no_tier_starves_when_device_info_alone_exceeds_the_budget() -> None:
    """Even then the printers and the queue keep a share of the budget."""
    demands = [box_demand(d) for d in _devices(5000)]
    result = plan(demands, budget=1.0)
    rest = sum(d.of("rest") for d in demands) / result.factor("rest")
    assert rest >= MIN_SHARE * POLL_SHARE * 0.999


def test_the_queue_of_an_idle_box_is_asked_less_often() -> None:
    """No job of the bridge in flight: the tasks poll costs IDLE_TASKS_FACTOR times less."""
    device = _devices(1)[0]
    busy = box_demand(device, busy=True).of("rest")
    idle = box_demand(device, busy=False).of("rest")
    tasks = 1 / device.poll.tasks
    assert busy - idle == pytest.approx(tasks - tasks / IDLE_TASKS_FACTOR)


def test_check_config_prints_the_calls_per_hour(capsys: pytest.CaptureFixture[str]) -> None:
    """An operator sees what the configuration costs before running it."""
    assert main(["check-config", "-c", str(EXAMPLE_CONFIG)]) == 0
    out = capsys.readouterr().out
    assert "calls/hour" in out
    assert "call budget: 5 calls/s" in out
    assert "does not fit" not in out


def test_calls_per_hour_says_when_a_fleet_does_not_fit() -> None:
    """A thousand boxes on one call per second cannot keep their intervals."""
    lines = calls_per_hour(_devices(1000), budget=1.0)
    assert any(line.startswith("does not fit") for line in lines)


async def test_a_bridge_over_budget_says_so_once_and_on_health(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fast polls on a tiny budget: one warning in the log, the stretch on bridge/health."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    config = replace(config, lianke=replace(config.lianke, rate_limit=2.0))
    caplog.set_level(logging.INFO, logger="lianke_bridge")
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config, health_interval=0.5), probe)
        await bridge.start()
        try:
            health = await bridge.wait_json(
                "bridge/health", lambda h: h.get("schedule", {}).get("stretched") is True
            )
            schedule = health["schedule"]
            assert schedule["budget_per_s"] == 2.0
            assert schedule["needed_per_s"] > 2.0 * POLL_SHARE
            assert schedule["stretch"]["rest"] >= schedule["stretch"]["device_info"] >= 1.0
            await bridge.wait_json(
                "bridge/health", lambda h: h["uptime_s"] >= 1 and h["schedule"]["stretched"]
            )
        finally:
            await bridge.stop()
    warnings = [r for r in caplog.records if "polling slower" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
