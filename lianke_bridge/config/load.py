"""From a file or raw data to :class:`~lianke_bridge.config.model.Config`: the pipeline.

Read (:mod:`.yaml_source`), override (:mod:`.overrides`), validate (:mod:`.schema`), then one
``ConfigError`` listing every problem with its line (:mod:`.report`), or the dataclasses.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import voluptuous as vol

from lianke_bridge.config.model import (
    Config,
    DeviceConfig,
    HomeAssistantConfig,
    HttpConfig,
    JobsConfig,
    LiankeConfig,
    LoggingConfig,
    MqttConfig,
    PollConfig,
    TlsConfig,
)
from lianke_bridge.config.overrides import apply_environment, apply_secret_files, unresolved
from lianke_bridge.config.paths import BASE_DIR
from lianke_bridge.config.report import Problem, format_problems, summary
from lianke_bridge.config.schema import CONFIG_SCHEMA, describe_invalid, flatten_invalid
from lianke_bridge.config.yaml_source import LineDict, line_of, read_yaml
from lianke_bridge.errors import ConfigError


def _plain(value: Any) -> Any:
    """Plain dicts and lists again (the loader's line-remembering ones stay at the edge)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _build(validated: Mapping[str, Any]) -> Config:
    """Validated data (every key present, every value the right type) to dataclasses."""
    data = _plain(validated)
    mqtt = dict(data["mqtt"])
    tls = mqtt.pop("tls")
    devices = tuple(
        DeviceConfig(**{**device, "poll": PollConfig(**device["poll"])})
        for device in data["devices"]
    )
    return Config(
        lianke=LiankeConfig(**data["lianke"]),
        devices=devices,
        mqtt=MqttConfig(**mqtt, tls=None if tls is None else TlsConfig(**tls)),
        homeassistant=HomeAssistantConfig(**data["homeassistant"]),
        jobs=JobsConfig(**data["jobs"]),
        logging=LoggingConfig(**data["logging"]),
        http=HttpConfig(**data["http"]),
        state_dir=data["state_dir"],
        shard=data["shard"],
    )


def _validate(
    raw: Any,
    *,
    base_dir: Path | None,
    environ: Mapping[str, str],
    problems: list[Problem],
    relabel: Callable[[Problem], Problem] | None = None,
) -> Config:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "the file must hold a mapping of options (lianke:, devices:, mqtt: …), "
            f"not {'a list' if isinstance(raw, list) else 'a single value'}"
        )
    data = copy.deepcopy(dict(raw)) if not isinstance(raw, LineDict) else copy.deepcopy(raw)
    token = BASE_DIR.set(base_dir)
    try:
        sources: dict[tuple[Any, ...], str] = {}
        apply_secret_files(data, problems)
        apply_environment(data, environ, problems, sources)
        holes = list(unresolved(data))
        problems.extend(
            Problem(path, hole.message, hole.line) for path, hole in holes if hole.message
        )
        validated: Mapping[str, Any] | None = None
        try:
            validated = CONFIG_SCHEMA(data)
        except vol.Invalid as err:
            for problem in flatten_invalid(err):
                path = tuple(problem.path)
                if any(path[: len(hole)] == hole for hole, _ in holes):
                    continue  # its !secret / !env problem says it already
                problems.append(
                    Problem(
                        path,
                        describe_invalid(problem),
                        None if path in sources else line_of(data, path),
                        sources.get(path),
                    )
                )
    finally:
        BASE_DIR.reset(token)
    if problems or validated is None:
        if relabel is not None:
            problems = [relabel(problem) for problem in problems]
        raise ConfigError(format_problems(problems))
    return _build(validated)


# ---- public API ------------------------------------------------------------------------------
def validate_config(
    raw: Mapping[str, Any] | None,
    *,
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    problems: Iterable[Problem] = (),
    relabel: Callable[[Problem], Problem] | None = None,
) -> Config:
    """Validate already-parsed data (``*_file`` secrets and environment overrides included).

    ``base_dir`` anchors relative paths (TLS files, ``*_file``, ``state_dir``); ``environ``
    defaults to ``os.environ``. Raises ``ConfigError`` listing every problem, one per line:
    ``problems`` found before (while reading the data) among them. Data assembled from several
    sources (the Home Assistant add-on's options over its config.yaml) passes ``relabel``,
    which names each problem after the source its value came from.
    """
    return _validate(
        raw,
        base_dir=base_dir,
        environ=os.environ if environ is None else environ,
        problems=list(problems),
        relabel=relabel,
    )


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read, resolve and validate one YAML configuration file.

    Raises ``ConfigError`` (never a YAML or voluptuous traceback) listing every problem, one per
    line, as ``line 14: devices[1].poll.device_info: must be at least 15 seconds (…)``.
    """
    env = os.environ if environ is None else environ
    path = Path(path)
    raw, problems = read_yaml(path, env)
    return _validate(raw, base_dir=path.absolute().parent, environ=env, problems=problems)


def check_config(path: Path, *, environ: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """For ``lianke-bridge check-config``: ``(True, summary)`` or ``(False, every problem)``.

    Connects to nothing.
    """
    try:
        config = load_config(path, environ=environ)
    except ConfigError as err:
        count = len(str(err).splitlines())
        heading = f"{path}: {count} {'problem' if count == 1 else 'problems'}"
        return False, f"{heading}\n" + "\n".join(f"  {line}" for line in str(err).splitlines())
    return True, summary(config)
