"""The whole benchmark, in order: the demo-fleet runs (bench.commands), then the fleet run.

Each figure is measured beside its floor in the same run, on the same broker and simulator:
requests to the bridge and to the floor alternate, so both see the same noise.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.broker import start_broker
from bench.commands import run_commands
from bench.fleet_run import run_fleet
from bench.memory import run_flood
from bench.options import Options
from bench.report import Report
from bench.startup import compile_bytecode, dependencies_floor


def machine_header(options: Options) -> list[str]:
    """Where and how the figures were taken (the machine is shared: say how loaded it was)."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"# lianke-bridge benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        (
            f"machine: {os.cpu_count()} CPUs, {cpu}, load average {load} at start; "
            f"Python {platform.python_version()}"
        ),
        f"options: {options}",
    ]


async def run(options: Options) -> Report:
    """Every run, in order; returns the table."""
    report = Report(header=[*machine_header(options), compile_bytecode()])
    workdir = Path(tempfile.mkdtemp(prefix="lianke-bench-"))
    broker = await start_broker()
    try:
        deps_rss, deps_seconds = await dependencies_floor(workdir)
        await run_commands(
            report, options, broker, workdir, deps_rss=deps_rss, deps_seconds=deps_seconds
        )
        if options.flood > 0:
            await run_flood(report, options, broker, workdir)
        if options.boxes > 0:
            await run_fleet(report, options, broker, workdir)
    finally:
        await broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report.header.append(
        f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    return report


def main_sync(options: Options) -> Report:
    """Run the benchmark on a fresh event loop."""
    if sys.platform != "linux":
        raise SystemExit("the benchmark reads /proc: Linux only")
    return asyncio.run(run(options))
