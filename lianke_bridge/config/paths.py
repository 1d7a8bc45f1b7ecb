"""The files and folders a configuration names: relative to the configuration file's folder.

``BASE_DIR`` holds that folder while a schema runs (``load.py`` sets it); a path read from the
file, or from the environment (``overrides.py``), is resolved against it. A file must exist and
be a regular file (a named pipe or a device would hang or flood its reader); a folder may not
exist yet (the bridge makes it). Each check raises ``vol.Invalid`` with a sentence a user
understands.
"""

from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any

import voluptuous as vol

from lianke_bridge import inputfile
from lianke_bridge.errors import InputFileError

BASE_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "lianke_config_base_dir", default=None
)
"""The configuration file's folder while a schema runs: relative paths are relative to it."""


def resolve_path(path: Path) -> Path:
    """A path from the file, relative to the file's folder (or the working directory)."""
    path = path.expanduser()
    base = BASE_DIR.get()
    return path if path.is_absolute() or base is None else base / path


def existing_file(value: Any) -> Path:
    """A regular file that exists (relative paths are relative to the configuration file).

    Not opened here (the TLS library reads it at connect), but a named pipe or a device, which
    would hang or flood that read, is refused now.
    """
    if not isinstance(value, str | Path) or not str(value).strip():
        raise vol.Invalid("must be the path of a file")
    path = resolve_path(Path(str(value).strip()))
    try:
        inputfile.check_regular_file(path, inputfile.MAX_TLS_FILE_BYTES)
    except FileNotFoundError:
        raise vol.Invalid(f"there is no file {path}") from None
    except InputFileError as err:
        raise vol.Invalid(str(err)) from None
    return path


def directory(value: Any) -> Path:
    """A folder the bridge may create (relative paths are relative to the configuration file)."""
    if not isinstance(value, str | Path) or not str(value).strip():
        raise vol.Invalid("must be the path of a folder")
    path = resolve_path(Path(str(value).strip()))
    if path.exists() and not path.is_dir():
        raise vol.Invalid(f"{path} exists and is not a folder")
    return path
