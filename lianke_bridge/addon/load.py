"""From options.json, config.yaml and the Supervisor to the validated configuration."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lianke_bridge.addon.options import Layers, overlay, read_options
from lianke_bridge.addon.supervisor import MqttService, fetch_mqtt_service, wait_for_mqtt_service
from lianke_bridge.config import Config, validate_config
from lianke_bridge.config.report import Problem
from lianke_bridge.config.yaml_source import read_yaml
from lianke_bridge.errors import LiankeError
from lianke_bridge.heartbeat import DEFAULT_STATE_DIR

_LOGGER = logging.getLogger(__name__)

_PLACEHOLDER_BROKER = MqttService(host="localhost", port=1883)
"""Stands in for the Supervisor's broker while the rest is checked before waiting for it."""


@dataclass(frozen=True)
class AddonPaths:
    """Where the Supervisor puts the add-on's files inside its container."""

    options: Path = Path("/data/options.json")
    """What the user set in the add-on's page, written by the Supervisor."""
    config: Path = Path("/config/config.yaml")
    """Optional: the add-on's folder (``addon_config``) holds it, for what the page leaves out."""

    @property
    def state_dir(self) -> Path:
        """``data`` beside options.json, where ``health -c /data/options.json`` looks for it.

        That is the image's HEALTHCHECK: options.json names no ``state_dir``, so ``health``
        reads the default one, relative to the file.
        """
        return self.options.parent / DEFAULT_STATE_DIR


async def load_addon_config(
    paths: AddonPaths,
    environ: Mapping[str, str],
    *,
    ask: Callable[[], Awaitable[MqttService]] | None = None,
) -> Config:
    """The configuration the add-on runs with.

    Waits while the broker is to come from the Supervisor and it has none yet (at boot the
    Mosquitto add-on registers a little after it starts). Raises ConfigError listing every
    problem under the name the user knows, SupervisorError when the Supervisor refuses.
    ``ask`` replaces the question to the Supervisor (tests).
    """
    options = read_options(paths.options)
    yaml_raw: Any = None
    problems: list[Problem] = []
    if paths.config.exists():
        _LOGGER.info("reading %s for what the options leave out", paths.config)
        yaml_raw, problems = read_yaml(paths.config, environ)
    layers = overlay(options, yaml_raw, yaml_name=paths.config.name, state_dir=paths.state_dir)
    for note in layers.notes:
        _LOGGER.warning("%s", note)
    if layers.needs_broker:
        # a bad option is said now, not once the broker is there
        _validate(layers.with_service(_PLACEHOLDER_BROKER), paths, problems)
        service = await wait_for_mqtt_service(ask or (lambda: fetch_mqtt_service(environ)))
        _LOGGER.info("MQTT broker from the Supervisor: %s", service.describe())
        layers = layers.with_service(service)
    return _validate(layers, paths, problems)


def _validate(layers: Layers, paths: AddonPaths, problems: list[Problem]) -> Config:
    """The bridge's own validation; no environment overrides (the options are the way)."""
    return validate_config(
        layers.data,
        base_dir=paths.config.parent,
        environ={},
        problems=problems,
        relabel=layers.relabel,
    )


def one_line(err: LiankeError) -> str:
    """Every problem of an error on one line of the add-on's log (each said once)."""
    lines = dict.fromkeys(line.strip() for line in str(err).splitlines() if line.strip())
    return "; ".join(lines)
