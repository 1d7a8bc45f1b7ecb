"""Starting the bridge, knowing when it has published everything, and the start-up floor."""

from __future__ import annotations

import compileall
import time
from pathlib import Path

import bench
import lianke_bridge
from bench.measure import Process
from lianke_bridge.simulator import Fleet

DEPENDENCIES = ("aiomqtt", "aiohttp", "voluptuous", "yaml")


def compile_bytecode() -> str:
    """Byte-compile the bridge's own packages, as installing them does; say so for the header.

    The floor's four dependencies were installed by pip, which compiles every module it installs.
    The bridge runs from the source tree, where nothing may have written bytecode: with
    ``PYTHONDONTWRITEBYTECODE`` set (the Docker image sets it, so may a shell) every start would
    compile each module from source again, ~130 ms and ~1 MiB that no installed bridge pays.
    """
    packages = [Path(lianke_bridge.__file__).parent, Path(bench.__file__).parent]
    ok = all(compileall.compile_dir(package, quiet=1) for package in packages)
    state = "compiled" if ok else "NOT all compiled (figures include compiling from source)"
    return f"bytecode: {', '.join(p.name for p in packages)} {state}, as an install would"


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
