"""The benchmark harness keeps working: a tiny run prints every figure (never a speed check)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "start-up until every box and printer is published",
    "idle RSS",
    "printer_params (cached; floor: raw MQTT round trip) p50",
    "printer_params (cached; floor: raw MQTT round trip) p99",
    "tasks (one cloud call; floor: MQTT round trip + raw aiohttp call) p50",
    "tasks (one cloud call; floor: MQTT round trip + raw aiohttp call) p99",
    "print, URL (floor: MQTT round trip + raw submission) p50",
    "print, URL (floor: MQTT round trip + raw submission) p99",
    "throughput, 20 printer_params at once",
    "RSS peak, 10 prints of 5 MB at once",
    "RSS 1 s after the flood",
    "start-up until all published",
    "CPU, share of one core",
    "RSS (peak)",
    "device_info calls per box-hour",
    "printer_list calls per box-hour",
    "printer_status calls per box-hour",
    "tasks calls per box-hour",
    "schedule lag p50",
    "schedule lag p99",
    "answers 10009",
)


def test_a_tiny_benchmark_prints_every_figure_with_its_floor_and_target() -> None:
    """`python -m bench --tiny` runs the whole harness and fills in every line of the table.

    The bridge runs with its bytecode compiled, as its dependencies (installed by pip) do.
    """
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ")]
    for figure in FIGURES:
        matching = [row for row in rows if figure in row]
        assert matching, f"missing figure {figure!r} in\n{run.stdout}"
        for row in matching:
            value = row.split("|")[2].strip()
            assert value not in {"", "-"}, f"no value for {figure!r}: {row}"
    assert "| PASS |" in run.stdout or "| FAIL |" in run.stdout
    assert "targets:" in run.stdout
    assert "machine:" in run.stdout
    assert "bytecode: lianke_bridge, bench compiled, as an install would" in run.stdout
    # the floor's dependencies come with bytecode (pip compiled them): so does the bridge
    for source in (ROOT / "lianke_bridge" / "bridge" / "service.py", ROOT / "bench" / "bridge.py"):
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.stat().st_mtime >= source.stat().st_mtime, f"no bytecode for {source}"
