"""The add-on's options laid over its optional config.yaml: one raw configuration, one schema.

Home Assistant keeps what the user sets in the add-on's page in ``/data/options.json``: the
ApiKey, the boxes (a name and the link in the box's QR code), poll intervals, the discovery mode,
the language of the names, the cloud's push address, the log level and, when the Supervisor's
broker is not the one, a broker. Everything else keeps
the bridge's default or comes from ``config.yaml`` in the add-on's own folder, written like the
bridge's configuration file (``!secret`` included). This module only moves each option to its
configuration key and remembers where every value came from; the bridge's one schema
(:mod:`lianke_bridge.config`) validates the result, and a problem is reported under the name the
user knows (``boxes[1].qr``, ``config.yaml line 7: mqtt.keepalive``), not the key it became.

Which wins: an option over config.yaml (a warning says so); a box's own ``poll`` in config.yaml
over the options' poll intervals; for the broker, the options, then config.yaml, then (when
neither names a host) the Supervisor's MQTT service.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lianke_bridge import inputfile
from lianke_bridge.addon.supervisor import MqttService
from lianke_bridge.config.overrides import SECRET_FILE_KEYS
from lianke_bridge.config.report import Problem, format_path
from lianke_bridge.config.yaml_source import line_of
from lianke_bridge.errors import ConfigError, InputFileError

EACH = "*"
"""In a configuration key: every box (``devices[*]``)."""


@dataclass(frozen=True)
class Option:
    """One option of the add-on's page and the configuration key it sets."""

    name: tuple[str, ...]
    """As in the add-on's schema: ``("poll", "device_info")``; a box's field is under ``boxes``."""
    key: tuple[str, ...]
    """The configuration key; ``EACH`` stands for every box."""


OPTIONS: tuple[Option, ...] = (
    Option(("api_key",), ("lianke", "api_key")),
    Option(("boxes", "name"), ("devices", EACH, "name")),
    Option(("boxes", "qr"), ("devices", EACH, "qr")),
    Option(("poll", "device_info"), ("devices", EACH, "poll", "device_info")),
    Option(("poll", "printer_list"), ("devices", EACH, "poll", "printer_list")),
    Option(("poll", "printer_status"), ("devices", EACH, "poll", "printer_status")),
    Option(("poll", "tasks"), ("devices", EACH, "poll", "tasks")),
    Option(("poll", "job"), ("jobs", "poll_interval")),
    Option(("discovery",), ("homeassistant", "discovery")),
    Option(("language",), ("homeassistant", "language")),
    Option(("callback_url",), ("lianke", "callback_url")),
    Option(("log_level",), ("logging", "level")),
    Option(("mqtt", "host"), ("mqtt", "host")),
    Option(("mqtt", "port"), ("mqtt", "port")),
    Option(("mqtt", "username"), ("mqtt", "username")),
    Option(("mqtt", "password"), ("mqtt", "password")),
    Option(("mqtt", "tls"), ("mqtt", "tls")),
)
"""Every option of the add-on (``config.yaml``'s schema, the translations) and its key."""

BOXES = "boxes"
_DEVICE_REFERENCE = re.compile(r"\bdevices\[(\d+)\]")
"""How the bridge's messages name another box (``… is already the name of devices[0]``)."""
SUPERVISOR_LABEL = "the Supervisor's MQTT service"


def read_options(path: Path) -> dict[str, Any]:
    """``options.json`` as the Supervisor wrote it; ConfigError in one line when it cannot be."""
    try:
        data = json.loads(inputfile.read_text(path, inputfile.MAX_CONFIG_BYTES))
    except InputFileError as err:
        raise ConfigError(str(err)) from err
    except FileNotFoundError as err:
        raise ConfigError(f"there is no {path} (the Supervisor writes it)") from err
    except OSError as err:
        raise ConfigError(f"{path} cannot be read: {err.strerror or err}") from err
    except (UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"{path} is not JSON") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold the options as a JSON object")
    return data


def _given(value: Any) -> bool:
    """An option left empty in the page is absent, null or an empty text."""
    return value is not None and value != ""


def _lookup(data: Any, key: tuple[Any, ...]) -> Any:
    for part in key:
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def _section(data: dict[Any, Any], key: tuple[Any, ...]) -> dict[Any, Any] | None:
    """The mapping that holds ``key``'s last part, made when missing; None when not a mapping."""
    node: Any = data
    for part in key[:-1]:
        if isinstance(node, list) and isinstance(part, int):
            node = node[part]  # a box of devices: there, laid by _lay_boxes
        elif node.get(part) is None:
            node[part] = {}
            node = node[part]
        else:
            node = node[part]
        if not isinstance(node, dict | list):
            return None  # config.yaml put something else there: the schema says what
    return node if isinstance(node, dict) else None


@dataclass
class Layers:
    """The raw configuration under construction, and where each value came from."""

    data: dict[Any, Any]
    yaml_name: str
    yaml_raw: Any = None
    """config.yaml as read (with its line numbers), for problems in it."""
    boxes: int = 0
    """How many of ``devices`` are the options' boxes (config.yaml's come after them)."""
    labels: dict[tuple[Any, ...], str] = field(default_factory=dict)
    """Configuration key -> the option (or the Supervisor) its value came from."""
    notes: list[str] = field(default_factory=list)
    """Values of config.yaml that an option replaced, one sentence each."""

    def set(self, key: tuple[Any, ...], value: Any, label: str, *, default: bool = False) -> None:
        """Set a key (as a default only: not over a value already there) and remember why."""
        section = _section(self.data, key)
        if section is None:
            return
        there = section.get(key[-1])
        if default and there is not None:
            return
        replaced = [key[-1]] if there is not None and key not in self.labels else []
        secret_file = f"{key[-1]}_file"
        if key[-1] in SECRET_FILE_KEYS.get(str(key[0]), ()) and secret_file in section:
            del section[secret_file]
            replaced.append(secret_file)
        by = label if label.startswith(SUPERVISOR_LABEL) else f"the add-on's option {label}"
        for name in replaced:
            where = format_path((*self._yaml_key(key)[:-1], name))
            self.notes.append(f"{self.yaml_name}: {where} is replaced by {by}")
        section[key[-1]] = value
        self.labels[key] = label

    @property
    def needs_broker(self) -> bool:
        """Neither the options nor config.yaml name the broker: the Supervisor's it is."""
        return not _given(_lookup(self.data, ("mqtt", "host")))

    def with_service(self, service: MqttService) -> Layers:
        """A copy with the broker the Supervisor described, where nothing else set it."""
        out = copy.deepcopy(self)
        given: dict[str, Any] = {"host": service.host, "port": service.port}
        if not _given(_lookup(out.data, ("mqtt", "username"))) and service.username:
            given |= {"username": service.username, "password": service.password}
        if service.ssl:
            given["tls"] = True
        for name, value in given.items():
            if value is not None:
                label = f"{SUPERVISOR_LABEL} ({name})"
                out.set(("mqtt", name), value, label, default=name in {"port", "tls"})
        return out

    def _yaml_key(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        """A configuration key as config.yaml spells it (its boxes come after the options')."""
        if len(key) > 1 and key[0] == "devices" and isinstance(key[1], int):
            return ("devices", key[1] - self.boxes, *key[2:])
        return key

    def _box(self, match: re.Match[str]) -> str:
        """``devices[3]`` in a message as the user knows that box."""
        index = int(match[1])
        if index < self.boxes:
            return f"{BOXES}[{index}]"
        return f"{self.yaml_name}'s devices[{index - self.boxes}]"

    def relabel(self, problem: Problem) -> Problem:
        """A problem of the assembled configuration, named as the user wrote it."""
        problem = Problem(
            problem.path, _DEVICE_REFERENCE.sub(self._box, problem.message), problem.line
        )
        path = problem.path
        for cut in range(len(path), 0, -1):
            label = self.labels.get(path[:cut])
            if label is not None:
                rest = format_path(path[cut:])
                where = f"{label}.{rest}" if rest and not rest.startswith("[") else label + rest
                return Problem((), f"{where}: {problem.message}")
        if path == ("devices",):  # no box at all, in the options or in config.yaml
            return Problem((), f"{BOXES}: {problem.message}")
        if not path:
            line = f" line {problem.line}" if problem.line else ""
            return Problem((), f"{self.yaml_name}{line}: {problem.message}")
        key = self._yaml_key(path)
        line_no = line_of(self.yaml_raw, key) if self.yaml_raw is not None else None
        line = f" line {line_no}" if line_no else ""
        return Problem((), f"{self.yaml_name}{line}: {format_path(key)}: {problem.message}")


def overlay(
    options: Mapping[str, Any], yaml_raw: Any, *, yaml_name: str, state_dir: Path
) -> Layers:
    """The options over config.yaml's data (not validated: the bridge's schema does that)."""
    if yaml_raw is not None and not isinstance(yaml_raw, dict):
        raise ConfigError(f"{yaml_name} must hold a mapping of options (lianke:, mqtt: …)")
    data: dict[Any, Any] = copy.deepcopy(yaml_raw) if yaml_raw is not None else {}
    layers = Layers(data, yaml_name, yaml_raw)
    _lay_boxes(layers, options.get(BOXES))
    for option in OPTIONS:
        if option.name[0] == BOXES:
            continue  # laid above, box by box
        value = _lookup(options, option.name)
        if not _given(value):
            continue
        label = ".".join(option.name)
        if EACH in option.key:
            devices = layers.data.get("devices")
            devices = devices if isinstance(devices, list) else []
            for i, device in enumerate(devices):
                if isinstance(device, dict):
                    key = tuple(i if part == EACH else part for part in option.key)
                    layers.set(key, value, label, default=True)
        else:
            layers.set(option.key, value, label)
    if "state_dir" in layers.data:
        layers.notes.append(f"{yaml_name}: state_dir is not used (the add-on's state is in /data)")
    layers.data["state_dir"] = str(state_dir)
    return layers


def _lay_boxes(layers: Layers, boxes: Any) -> None:
    """The options' boxes first, then config.yaml's ``devices`` (their names must differ)."""
    if boxes is None:
        return
    theirs = layers.data.get("devices")
    if not isinstance(boxes, list):
        layers.data["devices"] = boxes  # the schema says what is wrong with it
        layers.labels["devices",] = BOXES
        return
    fields = {option.name[1]: option.key[-1] for option in OPTIONS if option.name[0] == BOXES}
    ours: list[Any] = []
    for i, box in enumerate(boxes):
        if isinstance(box, Mapping):
            ours.append({key: box[name] for name, key in fields.items() if _given(box.get(name))})
        else:
            ours.append(box)
        layers.labels["devices", i] = f"{BOXES}[{i}]"
    layers.boxes = len(ours)
    layers.data["devices"] = ours + (theirs if isinstance(theirs, list) else [])
    if theirs is not None and not isinstance(theirs, list):
        layers.notes.append(f"{layers.yaml_name}: devices is not a list and is not used")
