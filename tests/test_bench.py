"""The benchmark harness keeps working: a tiny run prints every figure (never a speed check)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ beside tests/

from bench.record import ENTRIES, RESULTS, record

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


def test_a_tiny_benchmark_prints_every_figure_with_its_floor_and_target(tmp_path: Path) -> None:
    """`python -m bench --tiny` runs the whole harness and fills in every line of the table.

    The bridge runs with its bytecode compiled, as its dependencies (installed by pip) do.
    With ``--record FILE`` the run goes on top of the file's entries (a copy of
    bench/RESULTS.md here), saying when, on which commit and machine, with the table as printed.
    """
    results = tmp_path / "RESULTS.md"
    shutil.copy(RESULTS, results)
    run = subprocess.run(  # noqa: S603 - the bench with a path of the test's own
        [sys.executable, "-m", "bench", "--tiny", "--record", str(results)],
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
    recorded = results.read_text(encoding="utf-8")
    _, _, entries = recorded.partition(ENTRIES)
    newest = entries.strip().split("\n## ")[0]
    assert re.match(r"## \d{4}-\d\d-\d\d \d\d:\d\d UTC\n", newest), newest[:200]
    assert "- commit: " in newest
    assert re.search(r"- system: Linux .*, \d+ cores, [\d.]+ GiB RAM", newest)
    table = [line for line in run.stdout.splitlines() if line.startswith("| ")]
    assert all(line in newest.splitlines() for line in table)
    assert recorded.endswith(RESULTS.read_text(encoding="utf-8").partition(ENTRIES)[2].lstrip())


def test_recorded_runs_are_newest_first(tmp_path: Path) -> None:
    """A second recorded run goes above the first; the introduction stays on top."""
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# Results\n\nintro\n\n{ENTRIES}\n", encoding="utf-8")
    record("# title\nmachine: one\n\n| a | b |\n", results, when=datetime(2030, 1, 1, tzinfo=UTC))
    record("# title\nmachine: two\n\n| c | d |\n", results, when=datetime(2030, 1, 2, tzinfo=UTC))
    text = results.read_text(encoding="utf-8")
    assert text.startswith(f"# Results\n\nintro\n\n{ENTRIES}\n\n## 2030-01-02 00:00 UTC\n")
    assert text.index("| c | d |") < text.index("## 2030-01-01 00:00 UTC") < text.index("| a | b |")
    assert "- machine: two" in text
    assert "# title" not in text
