"""``--record``: a run's table added to bench/RESULTS.md, newest first, saying where it was taken.

A figure means little without the machine it was measured on and the code it measured, so each
entry names the date, the commit (and whether the tree had changes on top of it), the machine
(``uname``, cores, memory, CPU) and the load, then the table exactly as the bench printed it.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
"""Where ``make bench BENCH_ARGS=--record`` writes."""
ENTRIES = "<!-- entries: newest first -->"
"""The line below which entries go; everything above it is the file's introduction."""
ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    """One line of git's output in the repository, or None outside a checkout."""
    try:
        run = subprocess.run(  # noqa: S603 - a fixed git command
            ["git", *args],  # noqa: S607 - git from the PATH, as a developer runs it
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return run.stdout.strip() if run.returncode == 0 else None


def commit() -> str:
    """The commit measured: its short hash and date, and whether the tree had changes."""
    head = _git("log", "-1", "--format=%h (%cs)")
    if head is None:
        return "unknown (not a git checkout)"
    changed = _git("status", "--porcelain", "--untracked-files=no")
    return f"{head}{' (with uncommitted changes)' if changed else ''}"


def _memory() -> str:
    """The machine's memory, from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown RAM"


def machine() -> str:
    """``uname``, cores and memory (the CPU's model and the load are in the bench's header)."""
    uname = platform.uname()
    return f"{uname.system} {uname.release} {uname.machine}, {os.cpu_count()} cores, {_memory()}"


def _body(printed: str) -> str:
    """The bench's output under an entry: its header lines as a list, then its table as is."""
    lines = []
    for line in printed.strip().splitlines():
        if line.startswith("# "):
            continue  # the bench's title: the entry's heading says when
        is_text = line and not line.startswith("|") and not line.startswith("targets:")
        lines.append(f"- {line}" if is_text else line)
    return "\n".join(lines)


def entry(printed: str, *, when: datetime | None = None) -> str:
    """One entry: a heading with the date, the commit, the machine, then the bench's output."""
    taken = when or datetime.now(UTC)
    return (
        f"## {taken:%Y-%m-%d %H:%M} UTC\n\n"
        f"- commit: {commit()}\n"
        f"- system: {machine()}\n"
        f"{_body(printed)}\n"
    )


def record(printed: str, results: Path = RESULTS, *, when: datetime | None = None) -> None:
    """Put the run (the bench's output) at the top of the entries of ``results``, newest first."""
    text = results.read_text(encoding="utf-8")
    intro, marker, older = text.partition(ENTRIES)
    if not marker:
        raise SystemExit(f"{results} has no line {ENTRIES!r}: put it back above the entries")
    results.write_text(
        f"{intro}{marker}\n\n{entry(printed, when=when)}\n{older.lstrip()}", encoding="utf-8"
    )
