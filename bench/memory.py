"""The memory run: the bridge's resident memory through a flood of large prints, and after it.

The issue's scene: one client sends 200 prints of 5 MB (base64 files) at once, and the Pi has
1 GB. The bridge runs as ``lianke-bridge run`` does, with the operator's call ceiling; its RSS
is read idle, at its peak (``VmHWM``: the kernel's own high-water mark), and a minute after the
last answer (what it keeps for good). Targets: a peak of at most 150 MiB, and afterwards at most
1.2x the idle figure (the floor).
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections import Counter
from pathlib import Path

from bench.broker import Broker
from bench.fleet import write_config
from bench.measure import MIB, Process, Requester
from bench.options import Options
from bench.report import Figure, Report
from bench.startup import start_bridge
from lianke_bridge.simulator import Simulator, demo_fleet

DOCUMENT = 5 * 1000 * 1000
"""Bytes of base64 in each print's payload (a 3.75 MB document)."""
CEILING = 150 * MIB
AFTER = 1.2
RATE_LIMIT = 10.0
"""The configuration's highest call ceiling, as an operator would run it."""
PUBLISHING = 16
"""Prints on their way to the broker at once (the benchmark's own memory)."""


def peak_rss(process: Process) -> int:
    """The process's resident memory at its highest so far (``VmHWM``)."""
    for line in Path(f"/proc/{process.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return process.rss_bytes()


async def run_flood(report: Report, options: Options, broker: Broker, workdir: Path) -> None:
    """``options.flood`` prints of 5 MB at once: RSS idle, at the peak, and a while after."""
    fleet = demo_fleet()
    sim = Simulator(fleet=fleet)
    await sim.start()
    base = "benchflood"
    config = workdir / "flood.yaml"
    write_config(
        config,
        fleet,
        sim_url=sim.url,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        base_topic=base,
        state_dir=workdir / "flood-state",
        rate_limit=RATE_LIMIT,
        homeassistant=False,
    )
    document = base64.b64encode(random.Random(1).randbytes(DOCUMENT * 3 // 4)).decode()  # noqa: S311
    bridge: Process | None = None
    try:
        async with Requester(broker.host, broker.port) as requester:
            await requester.subscribe(f"{base}/+/response/+", f"{base}/box0/printer/1/state")
            bridge = await start_bridge(config, RATE_LIMIT, workdir / "bridge-flood.log")
            ready = f"{base}/box0/printer/1/state"
            await requester.wait_until(lambda: ready in requester.first_seen, timeout=60)
            await asyncio.sleep(options.idle_seconds)
            idle = bridge.rss_bytes()
            gate = asyncio.Semaphore(PUBLISHING)

            async def send(number: int) -> asyncio.Future[dict[str, object]]:
                payload = {"file": document, "filename": f"flood-{number}.pdf"}
                async with gate:
                    return await requester.send(f"{base}/box0/request/print", payload)

            started = time.monotonic()
            sent = await asyncio.gather(*(send(n) for n in range(options.flood)))
            answers = await asyncio.gather(*sent)
            took = time.monotonic() - started
            peak = peak_rss(bridge)
            await asyncio.sleep(options.flood_after)
            after = bridge.rss_bytes()
    finally:
        if bridge is not None:
            await bridge.stop()
        await sim.stop()
    codes = Counter(
        str(a["status"]) if a["status"] == "ok" else str(a["error"]["code"])  # type: ignore[index]
        for a in answers
    )
    report.header.append(
        f"flood: {options.flood} prints of {DOCUMENT / 1e6:.0f} MB answered in {took:.1f} s "
        f"({', '.join(f'{n} {code}' for code, n in codes.most_common())})"
    )
    floor_note = "floor: the bridge idle, before the flood"
    report.add(
        Figure(
            f"RSS peak, {options.flood} prints of 5 MB at once",
            peak / MIB,
            "MiB",
            floor=idle / MIB,
            target=f"<= {CEILING // MIB} MiB",
            passed=peak <= CEILING,
            note=floor_note,
        )
    )
    report.add(
        Figure(
            f"RSS {options.flood_after:.0f} s after the flood",
            after / MIB,
            "MiB",
            floor=idle / MIB,
            target=f"<= {AFTER}x floor",
            passed=after <= AFTER * idle,
            note=floor_note,
        )
    )
