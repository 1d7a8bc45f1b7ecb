"""Starting the bridge, knowing when it has published everything, and the start-up floor."""

from __future__ import annotations

import time
from pathlib import Path

from bench.measure import Process
from lianke_bridge.simulator import Fleet

DEPENDENCIES = ("aiomqtt", "aiohttp", "voluptuous", "yaml")


async def dependencies_floor(workdir: Path) -> tuple[int, float]:
    """RSS and wall time of an interpreter that only imports the four dependencies."""
    code = (
        f"import {', '.join(DEPENDENCIES)}, os; "
        "print(int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE'))"
    )
    started = time.monotonic()
    process = await Process.start("deps", "-c", code, log=workdir / "deps.log")
    assert process.process.stdout is not None  # noqa: S101 - started with a pipe
    out = await process.process.stdout.read()
    await process.process.wait()
    return int(out.strip()), time.monotonic() - started


async def start_bridge(config: Path, rate: float, log: Path) -> Process:
    """The bridge under test (bench.bridge) on ``config``, at ``rate`` cloud calls/s."""
    return await Process.start("bridge", "-m", "bench.bridge", str(config), str(rate), log=log)


def expected_topics(base: str, fleet: Fleet) -> set[str]:
    """The state of every box that boots, and of each of its printers."""
    topics: set[str] = set()
    for index, box in enumerate(fleet.boxes):
        if box.boot_state != "online":
            continue
        topics.add(f"{base}/box{index}/state")
        topics.update(f"{base}/box{index}/printer/{p.port}/state" for p in box.printers)
    return topics
