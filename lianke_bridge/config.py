"""Configuration: voluptuous schemas at the edge, frozen dataclasses inside.

YAML keys are snake_case and equal to the dataclass field names. ``load_config`` reads one YAML
file (with ``!secret`` and ``!env``), reads ``<key>_file`` secrets, applies the environment
overrides, validates everything and raises one ``ConfigError`` listing every problem with its
line. Secrets are ``field(repr=False)``: ``repr()`` leaves them out and ``redacted()`` masks them.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import difflib
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import voluptuous as vol
import yaml

from lianke_bridge.cloud.models import Credentials
from lianke_bridge.cloud.qr import parse_qr
from lianke_bridge.errors import ConfigError, CredentialsError, PrintOptionsError
from lianke_bridge.print_options import PRINT_OPTIONS, PrintOptions, read_option

DEFAULT_BASE_URL = "https://cloud.liankenet.com"
DEFAULT_SESSION_EXPIRY = 86400.0
"""A day: requests sent while the bridge is down for an update or a night still run."""
MAX_SESSION_EXPIRY = 0xFFFFFFFE
"""MQTT 5's largest expiry short of "never" (0xFFFFFFFF), in seconds (about 136 years)."""
DEFAULT_CLIENT_ID = "lianke-bridge"


@dataclass(frozen=True)
class LiankeConfig:
    """The developer account and how politely to use the cloud."""

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 15.0
    """Seconds per API call (printer_status is live and slow: it gets twice this)."""
    rate_limit: float = 5.0
    """Client-wide ceiling, calls per second."""
    max_retries: int = 2
    """Retries of safe calls (reads, and 10009) with backoff."""


@dataclass(frozen=True)
class TlsConfig:
    """TLS towards the broker."""

    ca_certs: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    insecure: bool = False


@dataclass(frozen=True)
class MqttConfig:
    """The broker and the topic root."""

    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str = "lianke-bridge"
    """Stable across restarts, so the broker keeps the session: derived from ``base_topic``."""
    keepalive: int = 60
    session_expiry: float = DEFAULT_SESSION_EXPIRY
    """Seconds the broker keeps the session (subscriptions, queued QoS 1 requests) while the
    bridge is away; 0 starts clean every time (requests sent meanwhile are then lost)."""
    protocol: Literal["5", "3.1.1"] = "5"
    base_topic: str = "lianke"
    tls: TlsConfig | None = None


@dataclass(frozen=True)
class HomeAssistantConfig:
    """MQTT discovery for Home Assistant."""

    enabled: bool = True
    prefix: str = "homeassistant"
    discovery: Literal["device", "entity"] = "device"
    status_topic: str = "homeassistant/status"


@dataclass(frozen=True)
class PollConfig:
    """Seconds between polls of one box; the schema enforces floors that keep within limits."""

    device_info: float = 60.0
    printer_list: float = 300.0
    printer_status: float = 60.0
    tasks: float = 60.0


@dataclass(frozen=True)
class DeviceConfig:
    """One Lianke box."""

    name: str
    """Slug used in topics (``[a-z0-9_-]+``; ``bridge`` is reserved)."""
    device_id: str
    device_key: str = field(repr=False)
    poll: PollConfig = field(default_factory=PollConfig)
    default_port: int = 1
    printer_type: int = 3
    """printer_list's printerType: 1 USB, 2 network, 3 both."""
    print_defaults: Mapping[int, PrintOptions] = field(default_factory=dict)
    """Per port: print options (as in the ``print`` command) applied unless a request says."""


@dataclass(frozen=True)
class JobsConfig:
    """Following submitted jobs."""

    poll_interval: float = 10.0
    """The reference advises polling a job every 10 s."""
    retention: float = 24 * 3600.0
    """Seconds a finished job's retained topic is kept before it is cleared."""
    max_file_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class LoggingConfig:
    """Log level and format."""

    level: str = "INFO"
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True)
class HttpConfig:
    """The optional HTTP endpoint: ``/healthz`` and Prometheus ``/metrics``."""

    enabled: bool = False
    host: str = "127.0.0.1"
    """Loopback by default; ``0.0.0.0`` to be scraped from elsewhere (or from outside Docker)."""
    port: int = 9108


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    lianke: LiankeConfig
    devices: tuple[DeviceConfig, ...]
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    state_dir: Path = Path("data")
    """Where the bridge remembers what it published (discovery, jobs) across restarts."""


# ---- limits and names ------------------------------------------------------------------------
REDACTED = "**REDACTED**"
"""What ``redacted()`` shows instead of a secret."""

SECRETS_FILE = "secrets.yaml"
"""``!secret name`` looks ``name`` up in this file, beside the configuration file."""

RESERVED_NAMES = frozenset({"bridge"})
"""Device names taken by the bridge's own topics (``<base>/bridge/…``)."""

POLL_FLOORS: Mapping[str, float] = {
    "device_info": 15.0,
    "printer_list": 60.0,
    "printer_status": 30.0,
    "tasks": 20.0,
}
"""Seconds: the fastest each per-box poll may run. Lianke bans keys and IPs that hammer it."""

POLL_CEILING = 24 * 3600.0
JOBS_POLL_FLOOR = 5.0
MAX_RATE_LIMIT = 10.0
"""Calls per second, client-wide: more would be load on a service that forbids load tests."""

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

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PRINTER_TYPES: Mapping[str, int] = {"usb": 1, "network": 2, "all": 3, "both": 3}
TLS_PORT = 8883
"""mqtt.port when TLS is on and no port is given."""

_BASE_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "lianke_config_base_dir", default=None
)
"""The configuration file's folder while a schema runs: relative paths are relative to it."""


def _resolve(path: Path) -> Path:
    """A path from the file, relative to the file's folder (or the working directory)."""
    path = path.expanduser()
    base = _BASE_DIR.get()
    return path if path.is_absolute() or base is None else base / path


# ---- small validators: each raises vol.Invalid with a sentence a user understands ------------
def _plural(number: float, unit: str) -> str:
    return f"{number:g} {unit}" if number == 1 else f"{number:g} {unit}s"


_DURATION = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,12})?)\s*([a-z]*)", re.IGNORECASE)
_DURATION_UNITS = {
    **dict.fromkeys(("", "s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}


def seconds(minimum: float, maximum: float, why: str = "") -> Callable[[Any], float]:
    """A duration in seconds: a number, or text like ``90s``, ``5m``, ``1h``, ``1d``."""

    def validate(value: Any) -> float:
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str) and (match := _DURATION.fullmatch(value.strip())):
            unit = _DURATION_UNITS.get(match[2].lower())
            number = None if unit is None else float(match[1]) * unit
        if number is None or not math.isfinite(number):
            raise vol.Invalid("must be a number of seconds, or a duration like 90s, 5m or 1h")
        if number < minimum:
            raise vol.Invalid(f"must be at least {_plural(minimum, 'second')}{why}")
        if number > maximum:
            raise vol.Invalid(f"must be at most {_plural(maximum, 'second')}")
        return number

    return validate


def integer(minimum: int, maximum: int, what: str = "a whole number") -> Callable[[Any], int]:
    """A whole number in a range (``"1883"`` from an environment variable is fine too).

    Text is ASCII digits only: other scripts' digits (which ``int()`` would take) are refused.
    """
    message = f"must be {what} from {minimum} to {maximum}"

    def validate(value: Any) -> int:
        if isinstance(value, bool):
            raise vol.Invalid(message)
        if (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,18}\s*", value)
        ):
            value = int(value)
        if not isinstance(value, int) or not minimum <= value <= maximum:
            raise vol.Invalid(message)
        return value

    return validate


port_number = integer(1, 65535, "a port number")


def positive_number(maximum: float, unit: str) -> Callable[[Any], float]:
    """A number above zero, at most ``maximum``."""

    def validate(value: Any) -> float:
        number = math.nan
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            with contextlib.suppress(ValueError):
                number = float(value)
        if not math.isfinite(number) or number <= 0:
            raise vol.Invalid(f"must be a number of {unit} above 0")
        if number > maximum:
            raise vol.Invalid(f"must be at most {maximum:g} {unit}")
        return number

    return validate


_SIZE = re.compile(r"([0-9]{1,12}(?:\.[0-9]{1,12})?)\s*(b|k|kb|kib|m|mb|mib)?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024}
_SIZE_UNITS |= {"m": 1024**2, "mb": 1024**2, "mib": 1024**2}


def _size(size: int) -> str:
    for unit, name in ((1024**2, "MB"), (1024, "KB")):
        if size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


def byte_size(minimum: int, maximum: int) -> Callable[[Any], int]:
    """A size in bytes: a number, or text like ``512KB`` or ``20MB`` (MB = 1024 * 1024 bytes)."""

    def validate(value: Any) -> int:
        size: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            size = float(value)
        elif isinstance(value, str) and (match := _SIZE.fullmatch(value.strip())):
            size = float(match[1]) * _SIZE_UNITS[(match[2] or "").lower()]
        if size is None or not math.isfinite(size):
            raise vol.Invalid("must be a size in bytes, or like 512KB or 20MB")
        if not minimum <= size <= maximum:
            raise vol.Invalid(f"must be from {_size(minimum)} to {_size(maximum)}")
        return int(size)

    return validate


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def boolean(value: Any) -> bool:
    """``true`` or ``false`` (YAML's yes/no/on/off arrive here as booleans already)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise vol.Invalid("must be true or false")


def text(value: Any) -> str:
    """Non-empty text; numbers are taken as text (quote them to keep leading zeros)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if value is None:
        raise vol.Invalid("must not be empty")
    if not isinstance(value, str):
        raise vol.Invalid("must be text")
    stripped = value.strip()
    if not stripped:
        raise vol.Invalid("must not be empty")
    return stripped


def secret(value: Any) -> str:
    """Like ``text``; a separate name so the schema shows which values are secrets."""
    return text(value)


def optional(validator: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``None`` (an empty YAML value) means "not set"; anything else must pass ``validator``."""

    def validate(value: Any) -> Any:
        return None if value is None else validator(value)

    return validate


def one_of(*words: str, aliases: Mapping[str, str] | None = None) -> Callable[[Any], str]:
    """One word of a fixed list, in any case."""
    choices = ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]

    def validate(value: Any) -> str:
        if isinstance(value, str):
            word = value.strip().lower()
            word = (aliases or {}).get(word, word)
            if word in words:
                return word
        raise vol.Invalid(f"must be {choices}")

    return validate


_SLUG = re.compile(r"[a-z0-9_-]+")


def slug(value: Any) -> str:
    """``[a-z0-9_-]+``: safe in MQTT topics and Home Assistant ids."""
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise vol.Invalid(
            "must use only lower-case letters, digits, '_' and '-' (it becomes part of MQTT topics)"
        )
    return value


def slugify(value: str) -> str:
    """A device id turned into a slug: lower case, anything else becomes ``_``."""
    return re.sub(r"[^a-z0-9_-]+", "_", value.lower()).strip("_") or "box"


def device_name(value: Any) -> str:
    """A device's ``<dev>`` in topics: a slug that is not reserved."""
    name = slug(value)
    if name in RESERVED_NAMES:
        raise vol.Invalid(f"'{name}' is reserved for the bridge's own topics; choose another name")
    return name


def device_id(value: Any) -> str:
    """A box's id as on its label or inside its QR token."""
    box_id = text(value)
    if any(c.isspace() for c in box_id) or ":" in box_id:
        raise vol.Invalid("must be the box's device id, without spaces or ':'")
    return box_id


def qr_credentials(value: Any) -> Credentials:
    """The link inside a box's QR code, or its bare token, decoded to device id and key."""
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid("must be the link from the box's QR code, or the token inside it")
    try:
        return parse_qr(value)
    except CredentialsError as err:  # its messages never repeat the token
        raise vol.Invalid(str(err)) from err


def _control_characters(value: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)  # noqa: PLR2004 - C0/C1


def valid_topic(value: Any) -> str:
    """Any MQTT topic or filter (MQTT 5 §4.7): not empty, at most 65535 bytes, no control chars."""
    if not isinstance(value, str):
        raise vol.Invalid("must be an MQTT topic (text)")
    if not value:
        raise vol.Invalid("must not be empty")
    if len(value.encode("utf-8")) > 65535:  # noqa: PLR2004 - MQTT's length field
        raise vol.Invalid("is longer than MQTT allows (65535 bytes)")
    if "\0" in value or _control_characters(value):
        raise vol.Invalid("must not contain control characters")
    return value


def valid_subscribe_topic(value: Any) -> str:
    """A topic filter: ``+`` and ``#`` only as whole levels, ``#`` only last."""
    topic = valid_topic(value)
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if ("+" in level or "#" in level) and len(level) > 1:
            raise vol.Invalid("wildcards + and # must fill a whole topic level")
        if level == "#" and i != len(levels) - 1:
            raise vol.Invalid("the wildcard # may only come last")
    return topic


def valid_publish_topic(value: Any) -> str:
    """A topic a message can be published to: no wildcards."""
    topic = valid_topic(value)
    if "+" in topic or "#" in topic:
        raise vol.Invalid("must not contain the wildcards + or # (nothing can be published there)")
    return topic


def valid_base_topic(value: Any) -> str:
    """A topic root: a publish topic without a leading or trailing ``/`` or empty levels."""
    topic = valid_publish_topic(value)
    if topic.startswith("/") or topic.endswith("/"):
        raise vol.Invalid("must not start or end with '/'")
    if "//" in topic:
        raise vol.Invalid("must not contain an empty level ('//')")
    return topic


def host(value: Any) -> str:
    """A host name or IP address, nothing more."""
    name = text(value)
    if "://" in name:
        raise vol.Invalid("must be a host name or IP address, without a scheme like mqtt://")
    before, colon, maybe_port = name.rpartition(":")
    if colon and maybe_port.isdigit() and ":" not in before:
        raise vol.Invalid("must be a host name or IP address; put the port under port")
    if any(c.isspace() for c in name) or "/" in name:
        raise vol.Invalid("must be a host name or IP address")
    return name


def http_url(value: Any) -> str:
    """An ``http://`` or ``https://`` base URL; a trailing ``/`` is dropped."""
    message = "must be an http:// or https:// URL, like https://cloud.liankenet.com"
    if not isinstance(value, str):
        raise vol.Invalid(message)
    try:
        parts = urlsplit(value.strip())
        hostname = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise vol.Invalid(message) from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise vol.Invalid(message)
    return value.strip().rstrip("/")


def mqtt_protocol(value: Any) -> Literal["5", "3.1.1"]:
    """``5`` (the default) or ``3.1.1``; ``311`` and ``v5`` are understood too."""
    if not isinstance(value, bool) and isinstance(value, int | float | str):
        word = str(value).strip().lower().removeprefix("mqtt").removeprefix("v")
        if word in ("5", "5.0"):
            return "5"
        if word in ("3.1.1", "311"):
            return "3.1.1"
    raise vol.Invalid("must be 5 (MQTT 5, the default) or 3.1.1 (MQTT 3.1.1)")


def log_level(value: Any) -> str:
    """A level name in any case, returned in upper case."""
    if isinstance(value, str):
        level = value.strip().upper()
        level = "WARNING" if level == "WARN" else level
        if level in LOG_LEVELS:
            return level
    raise vol.Invalid("must be DEBUG, INFO, WARNING or ERROR")


def printer_type(value: Any) -> int:
    """printer_list's ``printerType``: 1 USB, 2 network, 3 both (or those words)."""
    if isinstance(value, str) and value.strip().lower() in PRINTER_TYPES:
        return PRINTER_TYPES[value.strip().lower()]
    if isinstance(value, int) and not isinstance(value, bool) and value in (1, 2, 3):
        return value
    raise vol.Invalid("must be 1 (USB printers), 2 (network printers) or 3 (both)")


def existing_file(value: Any) -> Path:
    """A file that exists (relative paths are relative to the configuration file)."""
    if not isinstance(value, str | Path) or not str(value).strip():
        raise vol.Invalid("must be the path of a file")
    path = _resolve(Path(str(value).strip()))
    if not path.is_file():
        raise vol.Invalid(f"there is no file {path}")
    return path


def directory(value: Any) -> Path:
    """A folder the bridge may create (relative paths are relative to the configuration file)."""
    if not isinstance(value, str | Path) or not str(value).strip():
        raise vol.Invalid("must be the path of a folder")
    path = _resolve(Path(str(value).strip()))
    if path.exists() and not path.is_dir():
        raise vol.Invalid(f"{path} exists and is not a folder")
    return path


# ---- print options: the words of the contract's `print` command, read by its own reader -------


def print_option(key: str) -> Callable[[Any], Any]:
    """One print option, read by the reader of the MQTT ``print`` command's options.

    One reader means a default is accepted exactly when the same word in a request would be. The
    typed value is kept; :data:`PRINT_OPTIONS_SCHEMA` makes a :class:`PrintOptions` of them.
    """

    def validate(value: Any) -> Any:
        try:
            return read_option(key, value)
        except PrintOptionsError as err:
            raise vol.Invalid(str(err).removeprefix(f"{key} ").removeprefix(f"{key}: ")) from None

    return validate


# ---- combinators that keep every problem ------------------------------------------------------
def _flatten(err: vol.Invalid) -> Iterator[vol.Invalid]:
    """The single problems inside a (nested) MultipleInvalid."""
    if isinstance(err, vol.MultipleInvalid):
        for inner in err.errors:
            yield from _flatten(inner)
    else:
        yield err


def _prefixed(err: vol.Invalid, prefix: list[Any]) -> list[vol.Invalid]:
    problems = list(_flatten(err))
    for problem in problems:
        problem.prepend(prefix)
    return problems


def every(schema: Any, *checks: Callable[[Mapping[str, Any]], None]) -> Callable[[Any], Any]:
    """``vol.All(schema, check…)`` that reports the schema's problems *and* the checks' together.

    ``vol.All`` stops at the first failing step, which would hide a cross-field problem until the
    user fixed every other one. Checks look at the raw mapping (they must tolerate bad values, the
    schema reports those) and raise ``vol.Invalid`` with a path relative to it.
    """
    compiled = vol.Schema(schema)

    def validate(value: Any) -> Any:
        problems: list[vol.Invalid] = []
        result = None
        try:
            result = compiled(value)
        except vol.Invalid as err:
            problems.extend(_flatten(err))
        if isinstance(value, Mapping):
            for check in checks:
                try:
                    check(value)
                except vol.Invalid as err:
                    problems.extend(_flatten(err))
        if problems:
            raise vol.MultipleInvalid(problems)
        return result

    return validate


def each(schema: Any, *, at_least: int = 0, what: str = "item") -> Callable[[Any], list[Any]]:
    """A list whose every item is validated, reporting the problems of every item.

    (voluptuous's own ``[schema]`` stops at the first item with a nested problem.)
    """
    compiled = vol.Schema(schema)

    def validate(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise vol.Invalid("must be a list (one '- ' entry per item)")
        if len(value) < at_least:
            raise vol.Invalid(f"needs at least {at_least} {what}")
        out: list[Any] = []
        problems: list[vol.Invalid] = []
        for i, item in enumerate(value):
            try:
                out.append(compiled(item))
            except vol.Invalid as err:
                problems.extend(_prefixed(err, [i]))
        if problems:
            raise vol.MultipleInvalid(problems)
        return out

    return validate


def port_map(schema: Any) -> Callable[[Any], dict[int, Any]]:
    """A mapping of port number to ``schema``, reporting bad ports and bad values together."""
    compiled = vol.Schema(schema)

    def validate(value: Any) -> dict[int, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise vol.Invalid("must map port numbers to options, like '1: {paper: A4}'")
        out: dict[int, Any] = {}
        problems: list[vol.Invalid] = []
        for key, item in value.items():
            try:
                port = port_number(key)
            except vol.Invalid:
                problems.append(vol.Invalid("is not a port number (1, 2, … as the box reports)"))
                problems[-1].prepend([str(key)])
                continue
            try:
                out[port] = compiled(item)
            except vol.Invalid as err:
                problems.extend(_prefixed(err, [str(key)]))
        if problems:
            raise vol.MultipleInvalid(problems)
        return out

    return validate


def section(schema: Any) -> Callable[[Any], Any]:
    """A nested mapping; an empty one (``mqtt:`` with nothing under it) means all defaults."""
    compiled = vol.Schema(schema)

    def validate(value: Any) -> Any:
        return compiled({} if value is None else value)

    return validate


def _default(cls: type[Any], name: str) -> Any:
    """A dataclass field's default: the dataclasses stay the one source of defaults.

    A nested section (a ``default_factory``) defaults to an empty mapping, which its own schema
    then fills with its defaults.
    """
    for item in dataclasses.fields(cls):
        if item.name == name:
            if item.default is not dataclasses.MISSING:
                return str(item.default) if isinstance(item.default, Path) else item.default
            if item.default_factory is not dataclasses.MISSING:
                return dict
    raise KeyError(name)


def _optional(cls: type[Any], name: str) -> vol.Optional:
    return vol.Optional(name, default=_default(cls, name))


# ---- cross-field checks (on the raw mapping, so they run even when other values are bad) -------
def _present(raw: Mapping[str, Any], key: str) -> bool:
    return raw.get(key) is not None


def _check_credentials(raw: Mapping[str, Any]) -> None:
    """A box needs device_id + device_key, or its QR link: one form, not both."""
    # Presence, not value: an empty `device_key:` is the schema's "must not be empty".
    has_qr, has_id, has_key = (k in raw for k in ("qr", "device_id", "device_key"))
    if has_qr and (has_id or has_key):
        raise vol.Invalid("give either qr or device_id + device_key, not both", path=["qr"])
    if has_qr:
        return
    if not has_id and not has_key:
        raise vol.Invalid(
            "needs credentials: device_id + device_key, or qr (the link from the box's QR code)"
        )
    if not has_id:
        raise vol.Invalid("is required with device_key (or give qr instead)", path=["device_id"])
    if not has_key:
        raise vol.Invalid("is required with device_id (or give qr instead)", path=["device_key"])


def _finish_device(data: dict[str, Any]) -> dict[str, Any]:
    """Credentials from the QR link, and the default name from the device id."""
    credentials: Credentials | None = data.pop("qr", None)
    if credentials is not None:
        data["device_id"] = credentials.device_id
        data["device_key"] = credentials.device_key
    if "name" not in data:
        try:
            data["name"] = device_name(slugify(data["device_id"]))
        except vol.Invalid as err:
            raise vol.Invalid(f"needs a name: the default one is reserved ({err})") from err
    return data


def _check_tls(raw: Mapping[str, Any]) -> None:
    """A client certificate needs its key, and the key its certificate."""
    if _present(raw, "certfile") and not _present(raw, "keyfile"):
        raise vol.Invalid("is required with certfile", path=["keyfile"])
    if _present(raw, "keyfile") and not _present(raw, "certfile"):
        raise vol.Invalid("is required with keyfile", path=["certfile"])


def _check_mqtt_login(raw: Mapping[str, Any]) -> None:
    """MQTT 3.1.1 sends no password without a user name; keep one rule for both protocols."""
    if _present(raw, "password") and not _present(raw, "username"):
        raise vol.Invalid("needs username too (MQTT sends no password without one)", ["password"])


def default_client_id(base_topic: str) -> str:
    """A client id that is the same at every start (the broker keys the session on it).

    ``lianke-bridge`` for the default base topic; another base topic gets its own id, so two
    bridges on one broker never take each other's session.
    """
    if base_topic == _default(MqttConfig, "base_topic"):
        return DEFAULT_CLIENT_ID
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", base_topic).strip("-")[:64]
    return f"{DEFAULT_CLIENT_ID}-{slug}" if slug else DEFAULT_CLIENT_ID


def _finish_mqtt(data: dict[str, Any]) -> dict[str, Any]:
    """The port defaults to 8883 with TLS, 1883 without; the client id to one of the base topic."""
    data.setdefault("tls", None)
    if "client_id" not in data:
        data["client_id"] = default_client_id(
            data.get("base_topic", _default(MqttConfig, "base_topic"))
        )
    if "port" not in data:
        data["port"] = TLS_PORT if data["tls"] is not None else _default(MqttConfig, "port")
    return data


def _raw_device_id(raw: Mapping[str, Any]) -> str | None:
    """A device's id before validation, as far as it can be known."""
    value = raw.get("device_id")
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip()
    qr = raw.get("qr")
    if isinstance(qr, str):
        try:
            return parse_qr(qr).device_id
        except CredentialsError:
            return None
    return None


def _check_devices_unique(raw: Mapping[str, Any]) -> None:
    """Two boxes cannot share a name (their topics would collide) or be the same box twice."""
    devices = raw.get("devices")
    if not isinstance(devices, list):
        return
    names: dict[str, int] = {}
    ids: dict[str, int] = {}
    problems: list[vol.Invalid] = []
    for i, device in enumerate(devices):
        if not isinstance(device, Mapping):
            continue
        box_id = _raw_device_id(device)
        given = device.get("name")
        name = given if isinstance(given, str) else slugify(box_id) if box_id else None
        if name is not None and name in names:
            if isinstance(given, str):
                message, where = f"'{name}' is already the name of devices[{names[name]}]", "name"
            else:
                message = (
                    f"this box's default name '{name}' is already the name of "
                    f"devices[{names[name]}]; give it a name"
                )
                where = "device_id" if "device_id" in device else "qr"
            problems.append(vol.Invalid(message, path=["devices", i, where]))
        elif name is not None:
            names[name] = i
        if box_id is not None and box_id in ids:
            problems.append(
                vol.Invalid(
                    f"this box is already devices[{ids[box_id]}]",
                    path=["devices", i, "device_id" if "device_id" in device else "qr"],
                )
            )
        elif box_id is not None:
            ids[box_id] = i
    if problems:
        raise vol.MultipleInvalid(problems)


# ---- schemas -------------------------------------------------------------------------------
_POLL_WHY = " (the cloud bans clients that poll faster)"

LIANKE_SCHEMA = vol.Schema(
    {
        vol.Required("api_key"): secret,
        _optional(LiankeConfig, "base_url"): http_url,
        _optional(LiankeConfig, "timeout"): seconds(1, 300),
        _optional(LiankeConfig, "rate_limit"): positive_number(MAX_RATE_LIMIT, "calls per second"),
        _optional(LiankeConfig, "max_retries"): integer(0, 10),
    }
)

POLL_SCHEMA = vol.Schema(
    {
        _optional(PollConfig, name): seconds(floor, POLL_CEILING, _POLL_WHY)
        for name, floor in POLL_FLOORS.items()
    }
)

PRINT_OPTIONS_SCHEMA = vol.Schema({vol.Optional(key): print_option(key) for key in PRINT_OPTIONS})
"""Per-port defaults: the options of the ``print`` command, applied unless a request says."""
PRINT_DEFAULTS = vol.All(section(PRINT_OPTIONS_SCHEMA), PrintOptions.of)
"""One port's defaults, read once into :class:`PrintOptions`."""

DEVICE_BASE_SCHEMA = vol.Schema(
    {
        vol.Optional("name"): device_name,
        vol.Optional("device_id"): device_id,
        vol.Optional("device_key"): secret,
        vol.Optional("qr"): qr_credentials,
        _optional(DeviceConfig, "poll"): section(POLL_SCHEMA),
        _optional(DeviceConfig, "default_port"): port_number,
        _optional(DeviceConfig, "printer_type"): printer_type,
        _optional(DeviceConfig, "print_defaults"): port_map(PRINT_DEFAULTS),
    }
)


DEVICE_SCHEMA = vol.All(every(DEVICE_BASE_SCHEMA, _check_credentials), _finish_device)

TLS_SCHEMA = vol.Schema(
    {
        vol.Optional("ca_certs"): optional(existing_file),
        vol.Optional("certfile"): optional(existing_file),
        vol.Optional("keyfile"): optional(existing_file),
        _optional(TlsConfig, "insecure"): boolean,
    }
)


TLS = every(TLS_SCHEMA, _check_tls)


def tls(value: Any) -> dict[str, Any] | None:
    """``tls: true`` is TLS with the system's CA certificates; a mapping gives the files."""
    if value is None or value is False:
        return None
    if value is True:
        return cast("dict[str, Any]", TLS({}))  # voluptuous is untyped at this point
    if not isinstance(value, Mapping):
        raise vol.Invalid("must be true, false, or a mapping with ca_certs, certfile, keyfile")
    return cast("dict[str, Any]", TLS(value))


MQTT_BASE_SCHEMA = vol.Schema(
    {
        _optional(MqttConfig, "host"): host,
        vol.Optional("port"): port_number,  # default 1883, or 8883 with TLS
        vol.Optional("username"): optional(text),
        vol.Optional("password"): optional(secret),
        vol.Optional("client_id"): vol.All(text, vol.Length(min=1, max=256)),
        _optional(MqttConfig, "keepalive"): integer(5, 65535, "a number of seconds"),
        _optional(MqttConfig, "session_expiry"): seconds(0, MAX_SESSION_EXPIRY),
        _optional(MqttConfig, "protocol"): mqtt_protocol,
        _optional(MqttConfig, "base_topic"): valid_base_topic,
        vol.Optional("tls"): tls,
    }
)


MQTT_SCHEMA = vol.All(every(MQTT_BASE_SCHEMA, _check_mqtt_login), _finish_mqtt)

HOMEASSISTANT_SCHEMA = vol.Schema(
    {
        _optional(HomeAssistantConfig, "enabled"): boolean,
        _optional(HomeAssistantConfig, "prefix"): valid_base_topic,
        _optional(HomeAssistantConfig, "discovery"): one_of("device", "entity"),
        _optional(HomeAssistantConfig, "status_topic"): valid_publish_topic,
    }
)

JOBS_SCHEMA = vol.Schema(
    {
        _optional(JobsConfig, "poll_interval"): seconds(JOBS_POLL_FLOOR, 3600, _POLL_WHY),
        _optional(JobsConfig, "retention"): seconds(0, 30 * 86400),
        _optional(JobsConfig, "max_file_bytes"): byte_size(1024, 100 * 1024**2),
    }
)

LOGGING_SCHEMA = vol.Schema(
    {
        _optional(LoggingConfig, "level"): log_level,
        _optional(LoggingConfig, "format"): one_of("text", "json"),
    }
)

HTTP_SCHEMA = vol.Schema(
    {
        _optional(HttpConfig, "enabled"): boolean,
        _optional(HttpConfig, "host"): host,
        _optional(HttpConfig, "port"): integer(0, 65535, "a TCP port (0: any free one)"),
    }
)


CONFIG_BASE_SCHEMA = vol.Schema(
    {
        vol.Required("lianke"): section(LIANKE_SCHEMA),
        vol.Required("devices"): each(DEVICE_SCHEMA, at_least=1, what="box"),
        _optional(Config, "mqtt"): section(MQTT_SCHEMA),
        _optional(Config, "homeassistant"): section(HOMEASSISTANT_SCHEMA),
        _optional(Config, "jobs"): section(JOBS_SCHEMA),
        _optional(Config, "logging"): section(LOGGING_SCHEMA),
        _optional(Config, "http"): section(HTTP_SCHEMA),
        _optional(Config, "state_dir"): directory,
    }
)

CONFIG_SCHEMA = every(CONFIG_BASE_SCHEMA, _check_devices_unique)
"""The whole file. Defaults come from the dataclasses above."""

_ALL_KEYS = frozenset(
    str(key)
    for schema in (
        CONFIG_BASE_SCHEMA,
        LIANKE_SCHEMA,
        POLL_SCHEMA,
        PRINT_OPTIONS_SCHEMA,
        DEVICE_BASE_SCHEMA,
        TLS_SCHEMA,
        MQTT_BASE_SCHEMA,
        HOMEASSISTANT_SCHEMA,
        JOBS_SCHEMA,
        LOGGING_SCHEMA,
        HTTP_SCHEMA,
    )
    for key in schema.schema
) | {f"{key}_file" for keys in SECRET_FILE_KEYS.values() for key in keys}
"""Every option name, for "did you mean" hints."""


# ---- YAML: !secret, !env, line numbers, duplicate keys ---------------------------------------
@dataclass(frozen=True)
class _Problem:
    """One line of a ConfigError."""

    path: tuple[Any, ...]
    message: str
    line: int | None = None
    source: str | None = None
    """The environment variable a value came from, if it did."""

    def __str__(self) -> str:
        where = _format_path(self.path)
        if self.source:
            where = f"{where} (from {self.source})" if where else self.source
        text = f"{where}: {self.message}" if where else self.message
        return f"line {self.line}: {text}" if self.line else text


def _format_path(path: Iterable[Any]) -> str:
    """``("devices", 1, "poll", "tasks")`` as ``devices[1].poll.tasks``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Unresolved:
    """A ``!secret`` or ``!env`` (or ``*_file``) that could not be resolved.

    It stands in for the value so the rest of the file is still checked; its own problem is
    reported once, and schema complaints about its place are dropped.
    """

    def __init__(self, message: str | None, line: int | None) -> None:
        self.message = message
        self.line = line

    def __repr__(self) -> str:
        return "<unresolved>"


class _LineDict(dict[Any, Any]):
    """A YAML mapping that remembers the line of each key."""

    line: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}


class _LineList(list[Any]):
    """A YAML sequence that remembers the line of each item."""

    line: int | None = None

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(items)
        self.lines: list[int] = []


MAX_YAML_NODES = 20_000
"""Nodes a configuration may hold with every alias expanded: a large fleet needs a few
thousand, an "alias bomb" (a kilobyte of nested ``*alias`` lists) billions."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses a document growing past ``MAX_YAML_NODES`` through aliases.

    Aliases stay allowed (``<<: *defaults`` is a fine habit); each one is counted as the size
    of what it expands to, so the check costs one visit per distinct node.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._expanded_nodes = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Count every node, an alias as all the nodes it stands for."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark = cast("yaml.Mark | None", event.start_mark)
        grows = 1
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise yaml.composer.ComposerError(
                    None, None, f"the alias *{event.anchor} is inside its own anchor", mark
                )
            grows = self._size(target) if target is not None else 1
        self._expanded_nodes += grows
        if self._expanded_nodes > MAX_YAML_NODES:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"too many aliases: with every alias expanded the file would hold more than "
                f"{MAX_YAML_NODES:,} values",
                mark,
            )
        node = super().compose_node(parent, index)
        if node is not None:
            self._size(node)  # complete now: an alias may refer to it
        return node

    def _size(self, node: yaml.Node) -> int:
        """Nodes in ``node`` with aliases expanded (memoised: a node is measured once)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._size(key) + self._size(value) for key, value in node.value)
        self._sizes[id(node)] = size
        return size


def _safe_load(content: str) -> Any:
    """``yaml.safe_load`` with the alias limit (for secrets.yaml)."""
    loader = _BoundedLoader(content)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class _Loader(_BoundedLoader):
    """SafeLoader with ``!secret`` and ``!env``, line numbers and duplicate-key detection."""

    def __init__(self, stream: str, *, path: Path | None, environ: Mapping[str, str]) -> None:
        super().__init__(stream)
        self.config_path = path
        self.environ = environ
        self.problems: list[_Problem] = []
        self._secrets: dict[Any, Any] | str | None = None

    def secrets(self) -> dict[Any, Any] | str:
        """The secrets file beside the configuration, or why it cannot be used."""
        if self._secrets is None:
            self._secrets = _read_secrets(self.config_path)
        return self._secrets


def _read_secrets(config_path: Path | None) -> dict[Any, Any] | str:  # noqa: PLR0911 - one reason each
    """The secrets file, or a sentence saying why it cannot be used."""
    if config_path is None:
        return f"!secret needs a configuration file (with a {SECRETS_FILE} beside it)"
    path = config_path.parent / SECRETS_FILE
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"there is no {SECRETS_FILE} beside {config_path.name} (looked for {path})"
    except (OSError, UnicodeDecodeError) as err:
        return f"{path} cannot be read ({getattr(err, 'strerror', None) or err.__class__.__name__})"
    try:
        data = _safe_load(content)
    except yaml.MarkedYAMLError as err:
        return f"{path} is not valid YAML: {_yaml_problem(err)}"
    except yaml.YAMLError:
        return f"{path} is not valid YAML"
    if data is None:
        return f"{path} is empty"
    if not isinstance(data, dict):
        return f"{path} must be a mapping of 'name: value' lines"
    return data


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    own_keys = {id(key) for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"}
    loader.flatten_mapping(node)
    data = _LineDict()
    data.line = node.start_mark.line + 1
    first_seen: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                "found a key that is not text",
                key_node.start_mark,
            ) from None
        if id(key_node) in own_keys:
            if key in first_seen:
                loader.problems.append(
                    _Problem(
                        (),
                        f"'{key}' is given twice in the same section (first on line "
                        f"{first_seen[key]}); remove one",
                        line,
                    )
                )
            first_seen[key] = line
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = line
    return data


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    data = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    data.line = node.start_mark.line + 1
    data.lines = [child.start_mark.line + 1 for child in node.value]
    return data


def _construct_secret(loader: _Loader, node: yaml.Node) -> Any:
    """``!secret name``: the entry ``name`` of secrets.yaml beside the configuration file."""
    line = node.start_mark.line + 1
    name = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else ""
    name = str(name).strip()
    if not name:
        return _Unresolved("!secret needs the name of an entry in secrets.yaml", line)
    secrets = loader.secrets()
    if isinstance(secrets, str):
        return _Unresolved(f"!secret {name}: {secrets}", line)
    if name not in secrets:
        return _Unresolved(f"!secret {name}: {SECRETS_FILE} has no entry '{name}'", line)
    return secrets[name]


def _construct_env(loader: _Loader, node: yaml.Node) -> Any:
    """``!env VAR`` or ``!env VAR default``: an environment variable (empty counts as unset)."""
    line = node.start_mark.line + 1
    spec = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else ""
    parts = str(spec).split(maxsplit=1)
    if not parts:
        return _Unresolved("!env needs the name of an environment variable", line)
    value = loader.environ.get(parts[0])
    if value:
        return value
    if len(parts) == 2:  # noqa: PLR2004 - name and default
        return parts[1]
    return _Unresolved(f"!env {parts[0]}: the environment variable is not set", line)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_Loader.add_constructor("!secret", _construct_secret)
_Loader.add_constructor("!env", _construct_env)


def _yaml_problem(err: yaml.MarkedYAMLError) -> str:
    """A YAML error without its snippet of the file (the line might hold a secret)."""
    mark = err.problem_mark or err.context_mark
    what = err.problem or err.context or "not valid YAML"
    if mark is None:
        return what
    return f"line {mark.line + 1}, column {mark.column + 1}: {what}"


def _read_yaml(path: Path, environ: Mapping[str, str]) -> tuple[Any, list[_Problem]]:
    """The file's data and the problems found while reading it (a bad file raises at once)."""
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"there is no file {path} (start from config.example.yaml)") from err
    except IsADirectoryError as err:
        raise ConfigError(f"{path} is a folder, not a configuration file") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path} is not UTF-8 text") from err
    except OSError as err:
        raise ConfigError(f"{path} cannot be read: {err.strerror or err}") from err
    loader = _Loader(content, path=path.absolute(), environ=environ)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {_yaml_problem(err)}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML") from err
    finally:
        loader.dispose()
    return data, loader.problems


# ---- from raw data to Config ------------------------------------------------------------------
def _line_of(raw: Any, path: Iterable[Any]) -> int | None:
    """The line of the deepest part of ``path`` that is in the file."""
    node, line = raw, getattr(raw, "line", None)
    for part in path:
        if isinstance(node, _LineDict):
            key = part
            if key not in node and isinstance(part, str) and part.isdigit():
                key = int(part)
            if key not in node:
                break
            line, node = node.lines.get(key, line), node[key]
        elif isinstance(node, _LineList) and isinstance(part, int) and 0 <= part < len(node):
            line, node = node.lines[part], node[part]
        else:
            break
    return line


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
    path = _resolve(Path(str(value).strip()))
    try:
        content = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"there is no file {path}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    except OSError as err:
        raise ValueError(f"{path} cannot be read ({err.strerror or err})") from None
    if not content:
        raise ValueError(f"{path} is empty")
    return content


def _apply_secret_files(data: dict[Any, Any], problems: list[_Problem]) -> None:
    """``<key>_file: /run/secrets/x`` becomes ``<key>: <the file's content>``."""
    for path, mapping in _secret_sections(data):
        for key in SECRET_FILE_KEYS[path[0]]:
            file_key = f"{key}_file"
            if file_key not in mapping:
                continue
            line = _line_of(data, (*path, file_key))
            value = mapping.pop(file_key)
            if key in mapping:
                problems.append(
                    _Problem((*path, file_key), f"give {key} or {file_key}, not both", line)
                )
                continue
            if isinstance(value, _Unresolved):  # a !secret or !env naming the file failed
                if value.message:
                    problems.append(_Problem((*path, file_key), value.message, line))
                resolved: Any = _Unresolved(None, line)
            else:
                try:
                    resolved = _read_secret_file(value)
                except ValueError as err:
                    problems.append(_Problem((*path, file_key), str(err), line))
                    resolved = _Unresolved(None, line)
            mapping[key] = resolved
            if isinstance(mapping, _LineDict) and line is not None:
                mapping.lines[key] = line


def _apply_environment(
    data: dict[Any, Any],
    environ: Mapping[str, str],
    problems: list[_Problem],
    sources: dict[tuple[Any, ...], str],
) -> None:
    """LIANKE_API_KEY, MQTT_HOST… (or ``<VAR>_FILE``) override the file; empty means unset."""
    for var, (name, key) in ENV_OVERRIDES.items():
        value, file_var = environ.get(var), f"{var}_FILE"
        file_name = environ.get(file_var)
        if value and file_name:
            problems.append(_Problem((), f"set {var} or {file_var}, not both", source=var))
            continue
        source = var
        if file_name:
            source = file_var
            try:
                value = _read_secret_file(file_name)
            except ValueError as err:
                problems.append(_Problem((), str(err), source=file_var))
                continue
        if not value:
            continue
        mapping = data.setdefault(name, {})
        if mapping is None:
            mapping = data[name] = {}
        if isinstance(mapping, dict):
            mapping[key] = value
            sources[(name, key)] = source


def _unresolved(
    data: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], _Unresolved]]:
    """Every ``_Unresolved`` left in the data, with its path."""
    if isinstance(data, _Unresolved):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _unresolved(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _unresolved(value, (*path, i))


def _describe(err: vol.Invalid) -> str:
    """Voluptuous's own messages, in words a user understands."""
    message = str(err.msg)
    if isinstance(err, vol.RequiredFieldInvalid):
        return "is required"
    if message == "extra keys not allowed":
        key = str(err.path[-1]) if err.path else ""
        close = difflib.get_close_matches(key, sorted(_ALL_KEYS), n=1, cutoff=0.7)
        return f"is not an option (did you mean {close[0]}?)" if close else "is not an option"
    if isinstance(err, vol.DictInvalid) or message.startswith("expected a dictionary"):
        return "must be a mapping (indented 'key: value' lines)"
    if isinstance(err, vol.SequenceTypeInvalid) or message.startswith("expected a list"):
        return "must be a list (one '- ' entry per item)"
    if isinstance(err, vol.LengthInvalid):
        return "is too long" if "at most" in message else "is too short"
    return message


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
    )


def _validate(
    raw: Any,
    *,
    base_dir: Path | None,
    environ: Mapping[str, str],
    problems: list[_Problem],
) -> Config:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "the file must hold a mapping of options (lianke:, devices:, mqtt: …), "
            f"not {'a list' if isinstance(raw, list) else 'a single value'}"
        )
    data = copy.deepcopy(dict(raw)) if not isinstance(raw, _LineDict) else copy.deepcopy(raw)
    token = _BASE_DIR.set(base_dir)
    try:
        sources: dict[tuple[Any, ...], str] = {}
        _apply_secret_files(data, problems)
        _apply_environment(data, environ, problems, sources)
        holes = list(_unresolved(data))
        problems.extend(
            _Problem(path, hole.message, hole.line) for path, hole in holes if hole.message
        )
        validated: Mapping[str, Any] | None = None
        try:
            validated = CONFIG_SCHEMA(data)
        except vol.Invalid as err:
            for problem in _flatten(err):
                path = tuple(problem.path)
                if any(path[: len(hole)] == hole for hole, _ in holes):
                    continue  # its !secret / !env problem says it already
                problems.append(
                    _Problem(
                        path,
                        _describe(problem),
                        None if path in sources else _line_of(data, path),
                        sources.get(path),
                    )
                )
    finally:
        _BASE_DIR.reset(token)
    if problems or validated is None:
        raise ConfigError(_report(problems))
    return _build(validated)


def _report(problems: list[_Problem]) -> str:
    """Every problem on its own line, in the order of the file (then alphabetical: stable)."""
    ordered = sorted(problems, key=lambda p: (p.line is None, p.line or 0, str(p)))
    return "\n".join(str(problem) for problem in ordered)


# ---- public API ------------------------------------------------------------------------------
def validate_config(
    raw: Mapping[str, Any] | None,
    *,
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate already-parsed data (``*_file`` secrets and environment overrides included).

    ``base_dir`` anchors relative paths (TLS files, ``*_file``, ``state_dir``); ``environ``
    defaults to ``os.environ``. Raises ``ConfigError`` listing every problem, one per line.
    """
    return _validate(
        raw,
        base_dir=base_dir,
        environ=os.environ if environ is None else environ,
        problems=[],
    )


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read, resolve and validate one YAML configuration file.

    Raises ``ConfigError`` (never a YAML or voluptuous traceback) listing every problem, one per
    line, as ``line 14: devices[1].poll.device_info: must be at least 15 seconds (…)``.
    """
    env = os.environ if environ is None else environ
    path = Path(path)
    raw, problems = _read_yaml(path, env)
    return _validate(raw, base_dir=path.absolute().parent, environ=env, problems=problems)


def summary(config: Config) -> str:
    """One line saying what a configuration will do."""
    names = ", ".join(device.name for device in config.devices)
    count = len(config.devices)
    broker = config.mqtt.host if ":" not in config.mqtt.host else f"[{config.mqtt.host}]"
    return (
        f"OK: {count} {'device' if count == 1 else 'devices'} ({names}), "
        f"broker {broker}:{config.mqtt.port}, base topic {config.mqtt.base_topic}"
    )


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
