"""What the bridge remembers across restarts: discovery it published, jobs it follows.

One small JSON file under ``state_dir``, written atomically (temp file + rename) so a crash
leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from lianke_bridge.bridge.state import JobRecord

_LOGGER = logging.getLogger(__name__)

STATE_FILE = "bridge-state.json"
HEARTBEAT_FILE = "health.json"
"""Rewritten every health interval while connected: the container health check reads it."""


class Store:
    """Persisted bridge state; every mutation is saved at once (the file stays small)."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / STATE_FILE
        self.discovery: dict[str, list[str]] = {}
        """Discovery topic -> the component keys published in it (what to remove later)."""
        self.jobs: dict[str, JobRecord] = {}
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as err:
            _LOGGER.warning("ignoring unreadable state file %s: %s", self._path, err)
            return
        if not isinstance(raw, dict):
            return
        index = raw.get("discovery", {})
        if isinstance(index, dict):
            self.discovery = {
                str(topic): [str(ref) for ref in refs]
                for topic, refs in index.items()
                if isinstance(refs, list)
            }
        for item in raw.get("jobs", []):
            try:
                job = JobRecord.from_json(item)
            except (KeyError, TypeError, ValueError) as err:
                _LOGGER.warning("ignoring a stored job that cannot be read: %s", err)
                continue
            self.jobs[job.task_id] = job

    def write_heartbeat(self, health: dict[str, Any]) -> None:
        """Leave the latest health snapshot where ``lianke-bridge health`` finds it."""
        _write_atomically(self._path.parent / HEARTBEAT_FILE, health)

    def clear_heartbeat(self) -> None:
        """The bridge stops: a health check must not find it healthy a minute later."""
        with contextlib.suppress(OSError):
            (self._path.parent / HEARTBEAT_FILE).unlink()

    def save(self) -> None:
        """Write the state atomically; a failure is logged, never fatal."""
        data: dict[str, Any] = {
            "discovery": dict(sorted(self.discovery.items())),
            "jobs": [job.to_json() for job in self.jobs.values()],
        }
        _write_atomically(self._path, data)

    def put_job(self, job: JobRecord) -> None:
        """Remember a job (new or changed)."""
        self.jobs[job.task_id] = job
        self.save()

    def drop_job(self, task_id: str) -> None:
        """Forget a job whose retained topic was cleared."""
        if self.jobs.pop(task_id, None) is not None:
            self.save()

    def set_discovery(self, index: dict[str, list[str]]) -> None:
        """Remember exactly which discovery configs (and components) are published now."""
        if index != self.discovery:
            self.discovery = dict(index)
            self.save()


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    """Temp file, fsync, rename: a crash leaves the old file or the new one, never half."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except OSError as err:
        _LOGGER.warning("could not save %s: %s", path, err)


def read_heartbeat(directory: Path) -> tuple[float, dict[str, Any]] | None:
    """The last health snapshot and its age in seconds, or None if there is none."""
    path = directory / HEARTBEAT_FILE
    try:
        age = time.time() - path.stat().st_mtime
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (age, data) if isinstance(data, dict) else None
