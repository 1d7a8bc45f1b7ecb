"""The state directory on disk: private to the bridge's user, and whether it takes writes.

Job history, transactions and their answers are nobody else's business: the folder is 0700 and
every file in it 0600, made so from the start (a file is created with its mode, never created
wide and narrowed afterwards). SQLite creates its ``-wal`` and ``-shm`` files later, when it needs
them, with the mode of the database file: so the database file is created here, 0600, before
SQLite opens it (a process-wide umask around the open would also narrow what other threads
create meanwhile). A folder or file of an earlier version, created wider, is narrowed at start
with one INFO line.

``StateTrouble`` says when writes stop going through (a full disk, a read-only file system, the
folder gone or not the bridge's): one ERROR line when it starts, whatever the number of failed
writes, and one INFO line when writes go through again; ``bridge/health`` shows it meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lianke_bridge.heartbeat import PRIVATE_DIR

_LOGGER = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
"""Every state file's mode."""
CONSEQUENCE = (
    "until it can be written again, commands that act (print, cancel, flush, reboot…) are "
    "answered state_unavailable and nothing new is remembered across a restart; queries are "
    "answered"
)
"""What the bridge does while its state cannot be written (the ERROR line says it)."""


def make_private(directory: Path, names: Iterable[str]) -> None:
    """Create ``directory`` 0700 (its parents as usual), and narrow it and ``names`` in it.

    A folder or file left wider by an earlier version is narrowed with one INFO line; one that
    cannot be (not the bridge's, a read-only mount) is left as it is with a WARNING. A folder with
    the sticky bit (``/tmp``-like: shared by design) is never changed.
    """
    directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    narrowed: list[str] = []
    try:
        mode = stat.S_IMODE(directory.stat().st_mode)
        if mode & stat.S_ISVTX:
            _LOGGER.warning(
                "state_dir %s is a shared folder (sticky bit): give the bridge a folder of its own",
                directory,
            )
            return
        if mode & 0o077:
            directory.chmod(PRIVATE_DIR)
            narrowed.append(f"{directory} from {mode:04o} to {PRIVATE_DIR:04o}")
        for name in names:
            path = directory / name
            with contextlib.suppress(FileNotFoundError):
                mode = stat.S_IMODE(path.lstat().st_mode)
                if stat.S_ISREG(path.lstat().st_mode) and mode & 0o077:
                    path.chmod(PRIVATE_FILE)
                    narrowed.append(f"{name} from {mode:04o} to {PRIVATE_FILE:04o}")
    except OSError as err:
        _LOGGER.warning("could not make the state in %s private to its owner: %s", directory, err)
    if narrowed:
        _LOGGER.info("made the state private to its owner: %s", ", ".join(narrowed))


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (SQLite then opens it)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    os.close(fd)


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    """Temp file (0600), fsync, rename: a crash leaves the old file or the new one, never half.

    Raises ``OSError`` (the temp file is removed): the caller says what it means.
    """
    tmp: str | None = None
    try:
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
        raise


class StateTrouble:
    """Whether the state can be written, by part (``database``, ``folder``); thread-safe.

    ``fail`` and ``ok`` come from the writer thread, many times; a line is logged only when the
    whole changes: from fine to failing (ERROR) and back (INFO). Until ``announce`` (the service
    calls it once the log reaches ``bridge/log``) a failure is held, then logged.
    """

    def __init__(self, directory: Path, *, announce: bool = True) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._failing: dict[str, str] = {}
        self._reported: str | None = None
        """The problem the log was last told of (None: fine)."""
        self._announced = announce
        self.on_change: Callable[[], object] | None = None
        """Called (from any thread) when the problem starts or ends: health is published."""

    @property
    def problem(self) -> str | None:
        """Why the state cannot be written now, or None."""
        failing = self._failing
        return next(iter(failing.values()), None)

    def fail(self, part: str, reason: str) -> None:
        """A write of ``part`` failed, for ``reason`` (a sentence naming the folder or file)."""
        with self._lock:
            self._failing = {**self._failing, part: reason}
        self._changed()

    def ok(self, part: str) -> None:
        """A write of ``part`` went through."""
        if part not in self._failing:
            return
        with self._lock:
            self._failing = {k: v for k, v in self._failing.items() if k != part}
        self._changed()

    def announce(self) -> None:
        """Log from now on, starting with a problem held until now."""
        self._announced = True
        self._changed()

    def _changed(self) -> None:
        with self._lock:
            problem = self.problem
            if not self._announced or (problem is None) == (self._reported is None):
                if problem is not None and problem != self._reported:
                    _LOGGER.debug("state still cannot be written: %s", problem)
                return
            self._reported = problem
        if problem is not None:
            _LOGGER.error("%s. %s", problem, CONSEQUENCE[0].upper() + CONSEQUENCE[1:])
        else:
            _LOGGER.info("the state in %s can be written again", self._directory)
        if self.on_change is not None:
            self.on_change()
