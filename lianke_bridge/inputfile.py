"""Reading the small files the configuration names, so that a wrong path cannot hang or flood us.

The configuration, ``secrets.yaml``, ``*_file`` and ``<VAR>_FILE`` secrets are read at start
(and the configuration by every ``health`` check). A named pipe with no writer there would block
the open forever; ``/dev/zero`` or ``/dev/urandom`` would be read until memory runs out. So every
one is read here: opened without blocking, checked on the opened descriptor (no race between a
look and the open) to be a regular file, and read up to a cap. A path that fails gets one
sentence (:class:`InputFileError`); a missing one raises ``FileNotFoundError`` for its caller.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lianke_bridge.errors import InputFileError

MAX_CONFIG_BYTES = 2 * 1024 * 1024
"""The configuration and ``secrets.yaml``: a fleet of a thousand boxes with comments is ~0.5 MiB."""
MAX_SECRET_BYTES = 64 * 1024
"""One secret in a file (an ApiKey, a device key, a QR link, a password): a few hundred bytes."""
MAX_TLS_FILE_BYTES = 4 * 1024 * 1024
"""A CA bundle, certificate or key for the broker (Debian's whole CA bundle is ~0.2 MiB)."""

_KINDS = (
    (stat.S_ISDIR, "is a folder, not a file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file"),
    (stat.S_ISCHR, "is a device, not a regular file"),
    (stat.S_ISBLK, "is a disk device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)
_CHUNK = 64 * 1024


def _size_text(size: int) -> str:
    return f"{size // 1024 // 1024} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


def _too_large(limit: int) -> str:
    return f"is larger than {_size_text(limit)}, the limit for this file (is it the right one?)"


def _kind_problem(mode: int) -> str | None:
    """Why a file of this mode cannot be read as a configuration file, or None (a regular file)."""
    if stat.S_ISREG(mode):
        return None
    return next((why for test, why in _KINDS if test(mode)), "is not a regular file")


def check_regular_file(path: Path, limit: int) -> None:
    """Refuse ``path`` unless it is a regular file of at most ``limit`` bytes (symlinks followed).

    For files a library opens later (the broker's TLS files): a look without opening them.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise
    except OSError as err:
        raise InputFileError(path, f"cannot be read ({err.strerror or err})") from None
    _refuse(path, info, limit)


def _refuse(path: Path, info: os.stat_result, limit: int) -> None:
    problem = _kind_problem(info.st_mode)
    if problem is None and info.st_size > limit:
        problem = _too_large(limit)
    if problem is not None:
        raise InputFileError(path, problem)


def read_bytes(path: Path, limit: int) -> bytes:
    """The content of a regular file of at most ``limit`` bytes; never blocks, never floods.

    Raises ``FileNotFoundError`` when nothing is there, :class:`InputFileError` for anything
    else (a folder, a named pipe, a device, a socket, too large, no permission).
    """
    try:
        check_regular_file(path, limit)  # a device is not even opened (a tape would rewind)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as err:
        raise InputFileError(path, f"cannot be read ({err.strerror or err})") from None
    try:
        _refuse(path, os.fstat(fd), limit)  # what was opened, if it changed since the look
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise InputFileError(path, f"cannot be read ({err.strerror or err})") from None
    finally:
        os.close(fd)
    if size > limit:  # it grew after the look (or /proc says 0 and holds more)
        raise InputFileError(path, _too_large(limit))
    return b"".join(chunks)


def read_text(path: Path, limit: int) -> str:
    """Like :func:`read_bytes`, decoded as UTF-8 (a byte-order mark is dropped)."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(path, "is not UTF-8 text") from None
