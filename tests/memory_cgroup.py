"""A memory cgroup for one child process: a hard ceiling, as a 1 GB Raspberry Pi gives one.

Linux only, and only where this process may create a child of its own memory cgroup: cgroup v1
(``/sys/fs/cgroup/memory/…``, ``memory.limit_in_bytes``; the test machines run as root with it
writable) or v2 (``memory.max``, the memory controller enabled for the children of this
process's group). Elsewhere ``MemoryCgroup.create`` says why it cannot, and the test skips.

The process is put in the group before it executes anything (``sh`` writes its own pid, then
``exec``s the command), so everything it ever allocates counts against the limit; past it the
kernel's OOM killer ends it, as it would on the Pi.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class MemoryCgroup:
    """A child memory cgroup with a limit, and how to read what it saw."""

    path: Path
    version: int
    limit: int

    @classmethod
    def create(cls, limit: int) -> MemoryCgroup | str:
        """A new group limited to ``limit`` bytes, or the reason none can be made here."""
        own = _own_groups()
        problems: list[str] = []
        if "memory" in own:
            made = _try_make(CGROUP_ROOT / "memory" / own["memory"].lstrip("/"), 1, limit)
            if isinstance(made, cls):
                return made
            problems.append(f"cgroup v1: {made}")
        if "" in own and (CGROUP_ROOT / "cgroup.controllers").exists():
            made = _try_make(CGROUP_ROOT / own[""].lstrip("/"), 2, limit)
            if isinstance(made, cls):
                return made
            problems.append(f"cgroup v2: {made}")
        return "; ".join(problems) or "no cgroup memory controller on this system"

    def command(self, *argv: str) -> list[str]:
        """``argv`` run inside the group from its first instruction."""
        script = 'echo $$ > "$0/cgroup.procs" && exec "$@"'
        return ["/bin/sh", "-c", script, str(self.path), *argv]

    def peak(self) -> int | None:
        """The most memory the group was charged (its pages, page cache included)."""
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        return _read_int(self.path / name)

    def oom_kills(self) -> int:
        """Processes the OOM killer ended in the group."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        with contextlib.suppress(OSError):
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def remove(self) -> None:
        """Remove the group (its processes have ended)."""
        with contextlib.suppress(OSError):
            self.path.rmdir()


def _own_groups() -> dict[str, str]:
    """This process's group per controller (``""``: the v2 unified hierarchy)."""
    groups: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                groups[controller] = path
    return groups


def _try_make(parent: Path, version: int, limit: int) -> MemoryCgroup | str:
    limit_file = "memory.limit_in_bytes" if version == 1 else "memory.max"
    path = parent / f"lianke-test-{uuid.uuid4().hex[:12]}"
    try:
        path.mkdir()
    except OSError as err:
        return f"cannot create a group in {parent} ({err.strerror})"
    try:
        (path / limit_file).write_text(str(limit))
        if version == 1 and (path / "memory.memsw.limit_in_bytes").exists():
            # with swap on, the limit must hold for memory and swap together
            (path / "memory.memsw.limit_in_bytes").write_text(str(limit))
        if version == 2 and (path / "memory.swap.max").exists():
            (path / "memory.swap.max").write_text("0")
    except OSError as err:
        path.rmdir()
        return f"cannot set {limit_file} in {parent} ({err.strerror})"
    return MemoryCgroup(path, version, limit)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def process_memory(pid: int, field: str = "VmRSS") -> int:
    """A running process's resident memory now (``VmRSS``) or at its peak (``VmHWM``), bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no {field} for pid {pid}")
