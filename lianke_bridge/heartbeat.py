"""The heartbeat file: the running bridge writes it (bridge/store.py), ``health`` reads it.

Standard library only, and nothing else of the package but its file reader and error tree (both
standard library only): a container health check runs this every minute (on a Raspberry Pi too),
so it must start fast and small. The file says who wrote it (pid,
the kernel's boot id, the process start time) so a bridge killed with SIGKILL, which cannot
remove it, is seen as gone at once instead of when the file grows old.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lianke_bridge import inputfile

HEARTBEAT_FILE = "health.json"
"""Rewritten every health interval while connected, in the state directory."""
HEALTH_INTERVAL = 60.0
"""Seconds between two heartbeats (and between two ``<base>/bridge/health`` messages)."""
HEARTBEAT_STALE = 3
"""A heartbeat older than this many health intervals means the bridge hangs or is gone."""
WRITER_KEY = "writer"
"""The key of the heartbeat that identifies the writing process."""
MONOTONIC_KEY = "written_monotonic"
"""The key of the heartbeat holding when it was made on the writer's monotonic clock (Linux:
``CLOCK_MONOTONIC``, one clock for every process of a boot): its age survives wall-clock steps."""
STATE_PROBLEM_KEY = "state_problem_reason"
"""The key of the heartbeat (and of ``bridge/health``) saying why the state cannot be written."""
PRIVATE_DIR = 0o700
"""The state directory's mode: job history, transactions and answers are nobody else's."""
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _boot_id() -> str | None:
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return None


def _start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (Linux); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after the last ")"
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def writer_identity() -> dict[str, Any]:
    """Who this process is: what a later reader needs to tell whether it still runs."""
    pid = os.getpid()
    return {"pid": pid, "boot_id": _boot_id(), "start_ticks": _start_ticks(pid)}


def writer_alive(writer: Any) -> bool:
    """Whether the process that wrote a heartbeat still runs (same boot, same pid, same start)."""
    if not isinstance(writer, dict) or not isinstance(writer.get("pid"), int):
        return False
    pid: int = writer["pid"]
    boot = writer.get("boot_id")
    if boot is not None and boot != _boot_id():
        return False  # written before the machine rebooted
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it runs, as another user
    ticks = writer.get("start_ticks")
    return ticks is None or ticks == _start_ticks(pid)  # else: the pid was reused


def signed(health: dict[str, Any]) -> dict[str, Any]:
    """The health snapshot as the heartbeat file holds it: with the writer's identity."""
    return {**health, WRITER_KEY: writer_identity(), MONOTONIC_KEY: time.monotonic()}


def writable_problem(directory: Path) -> str | None:
    """Why the bridge cannot keep its state in ``directory``, or None if it can.

    Tries for real (creates the folder, writes a byte to a new file and removes it): permission
    bits alone do not tell about read-only mounts, and an empty file fits on a full disk.
    """
    try:
        directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".probe-")
        try:
            os.write(fd, b"\n")
        finally:
            os.close(fd)
            Path(tmp).unlink()
    except OSError as err:
        return unwritable_reason(directory, err)
    return None


def unwritable_reason(directory: Path, err: OSError) -> str:
    """A sentence saying why the state directory cannot be written, and what to do about it."""
    reason = err.strerror or str(err)
    if err.errno in {errno.ENOSPC, errno.EDQUOT}:
        return f"the state directory {directory} is full ({reason}): free some space there"
    if err.errno == errno.EROFS:
        return (
            f"the state directory {directory} is on a read-only file system ({reason}): "
            "an SD card or disk mounted read-only after errors needs checking"
        )
    return (
        f"the state directory {directory} is not writable by uid {os.getuid()} "
        f"gid {os.getgid()} ({reason}): give that user write access "
        "(in Docker: chown the volume mounted at /data)"
    )


@dataclass(frozen=True)
class Verdict:
    """What ``lianke-bridge health`` says, and its exit code."""

    healthy: bool
    message: str

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 not."""
        return 0 if self.healthy else 1


def verdict(directory: Path) -> Verdict:
    """Judge the bridge by ``directory``: a fresh heartbeat of a live, connected bridge.

    Cloud trouble does not count: restarting the bridge would not fix the cloud. A state
    directory that cannot be written (full, read-only, not ours) does, whatever the heartbeat
    says: the bridge cannot rewrite its heartbeat there either, so it is tried here (one byte,
    removed at once); that reason comes first.
    """
    if (problem := writable_problem(directory)) is not None:
        return _unhealthy(problem)
    return _judge(directory)


def _unhealthy(reason: str) -> Verdict:
    return Verdict(healthy=False, message=f"unhealthy: {reason}")


def heartbeat_age(data: dict[str, Any], mtime: float) -> float:
    """Seconds since the heartbeat was written: on the monotonic clock when it is comparable.

    The writer's ``CLOCK_MONOTONIC`` reading is comparable when it ran since this boot; else (or
    if it makes no sense) the file's modification time, on the wall clock.
    """
    written = data.get(MONOTONIC_KEY)
    writer = data.get(WRITER_KEY)
    same_boot = isinstance(writer, dict) and writer.get("boot_id") == _boot_id()
    if same_boot and isinstance(written, int | float) and not isinstance(written, bool):
        age = time.monotonic() - written
        if age >= 0:
            return age
    return time.time() - mtime


def _judge(directory: Path) -> Verdict:
    path = directory / HEARTBEAT_FILE
    try:
        mtime = path.stat().st_mtime
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        return _unhealthy(f"no heartbeat in {path} (is the bridge running?)")
    if not writer_alive(data.get(WRITER_KEY)):
        return _unhealthy("the bridge that wrote the heartbeat is not running")
    age = heartbeat_age(data, mtime)
    max_age = HEARTBEAT_STALE * HEALTH_INTERVAL
    if age > max_age:
        return _unhealthy(
            f"the last heartbeat is {age:.0f} s old (more than "
            f"{max_age:.0f} s): the bridge hangs or lost the broker",
        )
    mqtt = data.get("mqtt")
    if not (isinstance(mqtt, dict) and mqtt.get("connected") is True):
        return _unhealthy("not connected to the MQTT broker")
    if isinstance(problem := data.get(STATE_PROBLEM_KEY), str):
        return _unhealthy(problem)
    cloud = "; the cloud reports problems" if data.get("api_problem") else ""
    return Verdict(
        healthy=True, message=f"healthy: connected to the broker, heartbeat {age:.0f} s old{cloud}"
    )


_TOP_LEVEL_STATE_DIR = re.compile(r"^state_dir[ \t]*:(.*)$", re.MULTILINE)
_PLAIN_VALUE = re.compile(r"""(?:"([^"\\]*)"|'([^']*)'|([^\s!&*{}\[\]|>'"#%@`][^#]*?))""")


def read_state_dir(config_path: Path) -> Path:
    """The ``state_dir`` a configuration file names, without validating the rest of it.

    Raises ``OSError`` (unreadable), ``InputFileError`` (not a regular file, too large) or
    ``ValueError`` (not YAML, or a bad ``state_dir``).
    A plain top-level ``state_dir: VALUE`` line (or none) is read without a YAML parser (the
    health check runs every minute, on a Raspberry Pi too); anything fancier goes through a
    safe YAML loader. Tags such as ``!secret`` are not resolved: ``state_dir`` needs none.
    """
    text = inputfile.read_text(config_path, inputfile.MAX_CONFIG_BYTES)  # never a hang
    value: object = _quick_state_dir(text)
    if value is None:
        value = _yaml_state_dir(text)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("state_dir must be a folder path")
    path = Path(value).expanduser()
    return path if path.is_absolute() else config_path.absolute().parent / path


def _quick_state_dir(text: str) -> str | None:
    """``state_dir`` from one plain top-level line; None when a YAML parser must decide."""
    found = _TOP_LEVEL_STATE_DIR.findall(text)
    if not found:
        starts = [line for line in text.splitlines() if line.strip() and line[0] not in "# "]
        flow = not starts or starts[0].startswith(("{", "%", "---", "<<", "?"))
        return None if flow or "<<" in text else DEFAULT_STATE_DIR
    if len(found) > 1:
        return None  # a duplicate key (or several documents): let YAML say
    value = found[0].split(" #", 1)[0].strip()
    match = _PLAIN_VALUE.fullmatch(value)
    if match is None:
        return None
    return next(group for group in match.groups() if group is not None)


def _yaml_state_dir(text: str) -> object:
    import yaml  # noqa: PLC0415 - only for configurations the quick reader leaves open

    class _Lenient(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        """A safe loader that reads any tag as nothing."""

    _Lenient.add_multi_constructor("!", lambda _loader, _suffix, _node: None)
    try:
        raw = yaml.load(text, Loader=_Lenient)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise ValueError(f"not valid YAML: {err}") from None
    value = raw.get("state_dir") if isinstance(raw, dict) else None
    return DEFAULT_STATE_DIR if value is None else value


DEFAULT_STATE_DIR = "data"
"""The configuration's default ``state_dir`` (relative to the configuration file)."""
