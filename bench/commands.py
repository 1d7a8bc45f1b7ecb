"""The demo-fleet runs: start-up, idle RSS, command latency and throughput beside their floors."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.broker import Broker
from bench.fleet import write_config
from bench.measure import MIB, Process, Requester, percentile, record_calls
from bench.options import Options
from bench.report import Figure, Report
from bench.startup import expected_topics, start_bridge
from lianke_bridge.simulator import Simulator, demo_fleet

LATENCY_RATE_LIMIT = 1000.0
"""Calls/s ceiling of the latency runs: high enough never to be what is measured."""
PRINT_URL = "https://files.invalid/bench/{}.pdf"


async def run_commands(
    report: Report,
    options: Options,
    broker: Broker,
    workdir: Path,
    *,
    deps_rss: int,
    deps_seconds: float,
) -> None:
    """Demo fleet: start-up, idle RSS, latency of three commands, throughput."""
    fleet = demo_fleet()
    office = fleet.boxes[0]
    sim = Simulator(fleet=fleet)
    record_calls(sim)
    await sim.start()
    base = "benchdemo"
    config = workdir / "demo.yaml"
    write_config(
        config,
        fleet,
        sim_url=sim.url,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        base_topic=base,
        state_dir=workdir / "demo-state",
        rate_limit=10,
    )
    floor = await Process.start(
        "floor",
        "-m",
        "bench.floor",
        broker.host,
        str(broker.port),
        sim.url,
        fleet.api_key,
        office.device_id,
        office.device_key,
        log=workdir / "floor.log",
    )
    bridge: Process | None = None
    try:
        await floor.wait_line("ready")
        async with Requester(broker.host, broker.port) as requester:
            await requester.subscribe(f"{base}/#", "floor/response/+")
            expected = expected_topics(base, fleet)
            spawned = time.monotonic()
            bridge = await start_bridge(config, LATENCY_RATE_LIMIT, workdir / "bridge-demo.log")
            ready = await requester.wait_until(
                lambda: expected <= requester.first_seen.keys(), timeout=60
            )
            startup = max(requester.first_seen[t] for t in expected) - spawned if ready else None
            report.add(
                Figure(
                    "start-up until every box and printer is published (demo fleet)",
                    None if startup is None else startup * 1000,
                    "ms",
                    floor=deps_seconds * 1000,
                    note="floor: interpreter + the four dependencies imported",
                )
            )
            await asyncio.sleep(options.idle_seconds)
            rss = bridge.rss_bytes()
            report.add(
                Figure(
                    "idle RSS (demo fleet)",
                    rss / MIB,
                    "MiB",
                    floor=deps_rss / MIB,
                    target="<= 1.2x floor",
                    passed=rss <= 1.2 * deps_rss,
                    note="floor: interpreter + the four dependencies imported",
                )
            )
            await _latencies(report, options, requester, base)
            await _throughput(report, options, requester, base)
            if requester.errors:
                report.header.append(f"error answers during the command runs: {requester.errors}")
    finally:
        if bridge is not None:
            await bridge.stop()
        await floor.stop()
        await sim.stop()


async def _pairs(
    requester: Requester,
    count: int,
    bridge: tuple[str, dict[str, object]],
    floor: tuple[str, dict[str, object]],
    *,
    numbered: bool = False,
) -> tuple[list[float], list[float]]:
    """``count`` requests to each, alternating; the first few of each are a warm-up."""
    ours: list[float] = []
    theirs: list[float] = []
    warm_up = min(5, count)
    for index in range(count + warm_up):
        extra: dict[str, object] = {"url": PRINT_URL.format(index)} if numbered else {}
        a = await requester.request(bridge[0], {**bridge[1], **extra})
        b = await requester.request(floor[0], {**floor[1], **extra})
        if index >= warm_up:
            ours.append(a)
            theirs.append(b)
    return ours, theirs


def _latency_figures(
    report: Report,
    name: str,
    ours: list[float],
    theirs: list[float],
    *,
    allowance: tuple[float, float] | None = None,
) -> None:
    """p50 and p99 beside the floor's; targets by ratio, or by an allowance in seconds."""
    for label, share, limit in (("p50", 0.5, 1.5), ("p99", 0.99, 2.0)):
        value, floor = percentile(ours, share), percentile(theirs, share)
        if allowance is None:
            target, passed = f"<= {limit}x floor", value <= limit * floor
        else:
            extra = allowance[0 if label == "p50" else 1]
            target = f"<= floor + one cloud round trip ({extra * 1000:.2f} ms)"
            passed = value <= floor + extra
        report.add(Figure(f"{name} {label}", value * 1000, "ms", floor * 1000, target, passed))


async def _latencies(report: Report, options: Options, requester: Requester, base: str) -> None:
    n = options.requests
    box = f"{base}/box0/request"
    ours, mqtt_floor = await _pairs(
        requester, n, (f"{box}/printer_params", {}), ("floor/request/mqtt", {})
    )
    _latency_figures(
        report, "printer_params (cached; floor: raw MQTT round trip)", ours, mqtt_floor
    )
    ours, cloud_floor = await _pairs(
        requester, n, (f"{box}/tasks", {}), ("floor/request/cloud", {})
    )
    _latency_figures(
        report,
        "tasks (one cloud call; floor: MQTT round trip + raw aiohttp call)",
        ours,
        cloud_floor,
    )
    rtt = (
        max(0.0, percentile(cloud_floor, 0.5) - percentile(mqtt_floor, 0.5)),
        max(0.0, percentile(cloud_floor, 0.99) - percentile(mqtt_floor, 0.99)),
    )
    ours, print_floor = await _pairs(
        requester, n, (f"{box}/print", {}), ("floor/request/print", {}), numbered=True
    )
    _latency_figures(
        report,
        "print, URL (floor: MQTT round trip + raw submission)",
        ours,
        print_floor,
        allowance=rtt,
    )


async def _throughput(report: Report, options: Options, requester: Requester, base: str) -> None:
    """``burst`` requests at once, bridge then floor: answers per second."""
    rates = []
    unanswered = 0
    for topic in (f"{base}/box0/request/printer_params", "floor/request/mqtt"):
        started = time.perf_counter()
        results = await asyncio.gather(
            *(requester.request(topic, {}, timeout=120) for _ in range(options.burst)),
            return_exceptions=True,
        )
        lost = sum(1 for r in results if isinstance(r, BaseException))
        unanswered = unanswered or lost
        rates.append((options.burst - lost) / (time.perf_counter() - started))
    report.add(
        Figure(
            f"throughput, {options.burst} printer_params at once",
            rates[0],
            "req/s",
            rates[1],
            note="floor: the echo"
            + (f"; {unanswered} of the bridge's not answered within 120 s" if unanswered else ""),
        )
    )
