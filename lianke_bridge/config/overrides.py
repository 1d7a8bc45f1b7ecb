"""What overrides the file: ``<key>_file`` secrets and the environment (``LIANKE_API_KEY``…)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lianke_bridge import inputfile
from lianke_bridge.config.paths import resolve_path
from lianke_bridge.config.report import Problem
from lianke_bridge.config.yaml_source import LineDict, Unresolved, line_of
from lianke_bridge.errors import InputFileError

SECRET_FILE_KEYS: Mapping[str, tuple[str, ...]] = {
    "lianke": ("api_key",),
    "mqtt": ("password",),
    "devices": ("device_key", "qr"),
}
"""Secret-bearing keys; each may instead be given as ``<key>_file: /run/secrets/…``."""

ENV_OVERRIDES: Mapping[str, tuple[str, str]] = {
    "LIANKE_API_KEY": ("lianke", "api_key"),
    "MQTT_HOST": ("mqtt", "host"),
    "MQTT_PORT": ("mqtt", "port"),
    "MQTT_USERNAME": ("mqtt", "username"),
    "MQTT_PASSWORD": ("mqtt", "password"),
    "MQTT_BASE_TOPIC": ("mqtt", "base_topic"),
    "LOG_LEVEL": ("logging", "level"),
}
"""Environment variables that override the file (each also as ``<VAR>_FILE``, Docker secrets)."""


def _secret_sections(data: dict[Any, Any]) -> Iterator[tuple[tuple[Any, ...], dict[Any, Any]]]:
    """Every mapping that may hold a ``<key>_file`` secret, with its path."""
    for name in ("lianke", "mqtt"):
        if isinstance(data.get(name), dict):
            yield (name,), data[name]
    devices = data.get("devices")
    if isinstance(devices, list):
        for i, device in enumerate(devices):
            if isinstance(device, dict):
                yield ("devices", i), device


def _read_secret_file(value: Any) -> str:
    """The stripped content of a ``*_file`` secret; ValueError says why not."""
    if not isinstance(value, str | Path) or not str(value).strip():
        raise ValueError("must be the path of a file holding the secret")
    path = resolve_path(Path(str(value).strip()))
    try:
        content = inputfile.read_text(path, inputfile.MAX_SECRET_BYTES).strip()
    except FileNotFoundError:
        raise ValueError(f"there is no file {path}") from None
    except InputFileError as err:
        raise ValueError(str(err)) from None
    if not content:
        raise ValueError(f"{path} is empty")
    return content


def apply_secret_files(data: dict[Any, Any], problems: list[Problem]) -> None:
    """``<key>_file: /run/secrets/x`` becomes ``<key>: <the file's content>``."""
    for path, mapping in _secret_sections(data):
        for key in SECRET_FILE_KEYS[path[0]]:
            file_key = f"{key}_file"
            if file_key not in mapping:
                continue
            line = line_of(data, (*path, file_key))
            value = mapping.pop(file_key)
            if key in mapping:
                problems.append(
                    Problem((*path, file_key), f"give {key} or {file_key}, not both", line)
                )
                continue
            if isinstance(value, Unresolved):  # a !secret or !env naming the file failed
                if value.message:
                    problems.append(Problem((*path, file_key), value.message, line))
                resolved: Any = Unresolved(None, line)
            else:
                try:
                    resolved = _read_secret_file(value)
                except ValueError as err:
                    problems.append(Problem((*path, file_key), str(err), line))
                    resolved = Unresolved(None, line)
            mapping[key] = resolved
            if isinstance(mapping, LineDict) and line is not None:
                mapping.lines[key] = line


def apply_environment(
    data: dict[Any, Any],
    environ: Mapping[str, str],
    problems: list[Problem],
    sources: dict[tuple[Any, ...], str],
) -> None:
    """LIANKE_API_KEY, MQTT_HOST… (or ``<VAR>_FILE``) override the file; empty means unset."""
    for var, (name, key) in ENV_OVERRIDES.items():
        value, file_var = environ.get(var), f"{var}_FILE"
        file_name = environ.get(file_var)
        if value and file_name:
            problems.append(Problem((), f"set {var} or {file_var}, not both", source=var))
            continue
        source = var
        if file_name:
            source = file_var
            try:
                value = _read_secret_file(file_name)
            except ValueError as err:
                problems.append(Problem((), str(err), source=file_var))
                continue
        if not value:
            continue
        mapping = data.setdefault(name, {})
        if mapping is None:
            mapping = data[name] = {}
        if isinstance(mapping, dict):
            mapping[key] = value
            sources[(name, key)] = source


def unresolved(
    data: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Unresolved]]:
    """Every ``Unresolved`` left in the data, with its path."""
    if isinstance(data, Unresolved):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from unresolved(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from unresolved(value, (*path, i))
