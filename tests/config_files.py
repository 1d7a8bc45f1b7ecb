"""Configuration files for tests: the smallest valid one, written to a folder and loaded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from lianke_bridge.config import Config, load_config
from lianke_bridge.errors import ConfigError

MINIMAL = """\
lianke:
  api_key: test-api-key-123
devices:
  - device_id: LC01TEST0001
    device_key: test-device-key-1
"""


def write(folder: Path, text: str, name: str = "config.yaml") -> Path:
    """Write a file and return its path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(folder: Path, text: str, environ: Mapping[str, str] | None = None) -> Config:
    """Load ``text`` as config.yaml in ``folder`` with an explicit environment."""
    return load_config(write(folder, text), environ=environ or {})


def problems(folder: Path, text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The lines of the ConfigError that loading ``text`` must raise."""
    with pytest.raises(ConfigError) as caught:
        load(folder, text, environ)
    return str(caught.value).splitlines()
