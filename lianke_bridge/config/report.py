"""Problems as the lines of one ``ConfigError``, the one-line summary, the redacted view."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lianke_bridge.config.model import Config

REDACTED = "**REDACTED**"
"""What ``redacted()`` shows instead of a secret."""


@dataclass(frozen=True)
class Problem:
    """One line of a ConfigError."""

    path: tuple[Any, ...]
    message: str
    line: int | None = None
    source: str | None = None
    """The environment variable a value came from, if it did."""

    def __str__(self) -> str:
        where = format_path(self.path)
        if self.source:
            where = f"{where} (from {self.source})" if where else self.source
        text = f"{where}: {self.message}" if where else self.message
        return f"line {self.line}: {text}" if self.line else text


def format_path(path: Iterable[Any]) -> str:
    """``("devices", 1, "poll", "tasks")`` as ``devices[1].poll.tasks``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def format_problems(problems: list[Problem]) -> str:
    """Every problem on its own line, in the order of the file (then alphabetical: stable)."""
    ordered = sorted(problems, key=lambda p: (p.line is None, p.line or 0, str(p)))
    return "\n".join(str(problem) for problem in ordered)


def summary(config: Config) -> str:
    """One line saying what a configuration will do."""
    names = ", ".join(device.name for device in config.devices)
    count = len(config.devices)
    broker = config.mqtt.host if ":" not in config.mqtt.host else f"[{config.mqtt.host}]"
    return (
        f"OK: {count} {'device' if count == 1 else 'devices'} ({names}), "
        f"broker {broker}:{config.mqtt.port}, base topic {config.mqtt.base_topic}"
    )


def redacted(config: Config) -> dict[str, Any]:
    """The effective configuration as plain data for a log line, with every secret masked.

    Secrets are the fields declared with ``repr=False``.
    """
    result = _redact(config)
    assert isinstance(result, dict)  # noqa: S101 - a Config is a dataclass
    return result


def _redact(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: REDACTED
            if not item.repr and getattr(value, item.name) is not None
            else _redact(getattr(value, item.name))
            for item in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {key: _redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value
