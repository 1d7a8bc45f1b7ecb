"""The schemas of the file, section by section, and the combinators that keep every problem.

Defaults come from the dataclasses of :mod:`.model`; the checks across fields from
:mod:`.checks`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import voluptuous as vol

from lianke_bridge.config.checks import (
    check_credentials,
    check_devices_unique,
    check_mqtt_login,
    check_packet_size,
    check_tls,
    file_size,
    finish_device,
    finish_mqtt,
    packet_size,
)
from lianke_bridge.config.model import (
    JOBS_POLL_FLOOR,
    MAX_RATE_LIMIT,
    MAX_RECEIVE_MAXIMUM,
    MAX_SESSION_EXPIRY,
    POLL_CEILING,
    POLL_FLOORS,
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
    field_default,
)
from lianke_bridge.config.mqtt_topics import valid_base_topic, valid_own_topic
from lianke_bridge.config.overrides import SECRET_FILE_KEYS
from lianke_bridge.config.paths import directory, existing_file
from lianke_bridge.config.push import callback_path, callback_url, check_push
from lianke_bridge.config.shard import Shard
from lianke_bridge.config.validators import (
    boolean,
    device_id,
    device_name,
    host,
    host_list,
    http_url,
    integer,
    language,
    log_level,
    mqtt_protocol,
    one_of,
    optional,
    port_number,
    positive_number,
    print_option,
    printer_type,
    qr_credentials,
    seconds,
    secret,
    text,
)
from lianke_bridge.print_options import PRINT_OPTIONS, PrintOptions
from lianke_bridge.suggest import closest


# ---- combinators that keep every problem ------------------------------------------------------
def flatten_invalid(err: vol.Invalid) -> Iterator[vol.Invalid]:
    """The single problems inside a (nested) MultipleInvalid."""
    if isinstance(err, vol.MultipleInvalid):
        for inner in err.errors:
            yield from flatten_invalid(inner)
    else:
        yield err


def _prefixed(err: vol.Invalid, prefix: list[Any]) -> list[vol.Invalid]:
    problems = list(flatten_invalid(err))
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
            problems.extend(flatten_invalid(err))
        if isinstance(value, Mapping):
            for check in checks:
                try:
                    check(value)
                except vol.Invalid as err:
                    problems.extend(flatten_invalid(err))
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


def _optional(cls: type[Any], name: str) -> vol.Optional:
    return vol.Optional(name, default=field_default(cls, name))


# ---- schemas -------------------------------------------------------------------------------
_POLL_WHY = " (the cloud bans clients that poll faster)"

LIANKE_SCHEMA = vol.Schema(
    {
        vol.Required("api_key"): secret,
        _optional(LiankeConfig, "base_url"): http_url,
        _optional(LiankeConfig, "timeout"): seconds(1, 300),
        _optional(LiankeConfig, "rate_limit"): positive_number(MAX_RATE_LIMIT, "calls per second"),
        _optional(LiankeConfig, "max_retries"): integer(0, 10),
        _optional(LiankeConfig, "refusal_retry"): seconds(
            60, 24 * 3600, " (a refused key tried often gets banned)"
        ),
        _optional(LiankeConfig, "status_spacing"): seconds(0, 60),
        _optional(LiankeConfig, "callback_url"): optional(callback_url),
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
        vol.Optional(
            "qr",
            description="The link inside the box's QR code (``https://…?token=…``), or just its "
            "token, in place of ``device_id`` + ``device_key``: it holds the key, keep it secret.",
        ): qr_credentials,  # no field of its own: finish_device makes it device_id + device_key
        _optional(DeviceConfig, "poll"): section(POLL_SCHEMA),
        _optional(DeviceConfig, "default_port"): port_number,
        _optional(DeviceConfig, "printer_type"): printer_type,
        _optional(DeviceConfig, "print_defaults"): port_map(PRINT_DEFAULTS),
    }
)


DEVICE_SCHEMA = vol.All(every(DEVICE_BASE_SCHEMA, check_credentials), finish_device)

TLS_SCHEMA = vol.Schema(
    {
        vol.Optional("ca_certs"): optional(existing_file),
        vol.Optional("certfile"): optional(existing_file),
        vol.Optional("keyfile"): optional(existing_file),
        _optional(TlsConfig, "insecure"): boolean,
    }
)


TLS = every(TLS_SCHEMA, check_tls)


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
        _optional(MqttConfig, "receive_maximum"): integer(
            1, MAX_RECEIVE_MAXIMUM, "a number of requests"
        ),
        _optional(MqttConfig, "max_packet_size"): optional(packet_size),
    }
)


MQTT_SCHEMA = vol.All(every(MQTT_BASE_SCHEMA, check_mqtt_login), finish_mqtt)

HOMEASSISTANT_SCHEMA = vol.Schema(
    {
        _optional(HomeAssistantConfig, "enabled"): boolean,
        _optional(HomeAssistantConfig, "prefix"): valid_base_topic,
        _optional(HomeAssistantConfig, "discovery"): one_of("device", "entity"),
        _optional(HomeAssistantConfig, "status_topic"): valid_own_topic,
        _optional(HomeAssistantConfig, "language"): language,
    }
)

JOBS_SCHEMA = vol.Schema(
    {
        _optional(JobsConfig, "poll_interval"): seconds(JOBS_POLL_FLOOR, 3600, _POLL_WHY),
        _optional(JobsConfig, "push_poll_interval"): seconds(JOBS_POLL_FLOOR, 3600, _POLL_WHY),
        _optional(JobsConfig, "retention"): seconds(0, 30 * 86400),
        _optional(JobsConfig, "max_file_bytes"): file_size,
        _optional(JobsConfig, "allowed_hosts"): host_list,
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
        _optional(HttpConfig, "callback_path"): callback_path,
    }
)


def shard_spec(value: Any) -> Shard:
    """``shard: 2/3`` or ``shard: auto/3`` (the index from a StatefulSet host name)."""
    if not isinstance(value, str):
        raise vol.Invalid("must be INDEX/COUNT like 0/3 or auto/3, as text")
    try:
        return Shard.parse(value, hostname=socket.gethostname())
    except ValueError as err:
        raise vol.Invalid(str(err)) from None


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
        vol.Optional("shard", default=str(Shard())): shard_spec,  # the model's default, as text
    }
)

CONFIG_SCHEMA = every(CONFIG_BASE_SCHEMA, check_devices_unique, check_packet_size, check_push)
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


def describe_invalid(err: vol.Invalid) -> str:
    """Voluptuous's own messages, in words a user understands."""
    message = str(err.msg)
    if isinstance(err, vol.RequiredFieldInvalid):
        return "is required"
    if message == "extra keys not allowed":
        key = str(err.path[-1]) if err.path else ""
        close = closest(key, sorted(_ALL_KEYS), cutoff=0.7)
        return f"is not an option (did you mean {close}?)" if close else "is not an option"
    if isinstance(err, vol.DictInvalid) or message.startswith("expected a dictionary"):
        return "must be a mapping (indented 'key: value' lines)"
    if isinstance(err, vol.SequenceTypeInvalid) or message.startswith("expected a list"):
        return "must be a list (one '- ' entry per item)"
    if isinstance(err, vol.LengthInvalid):
        return "is too long" if "at most" in message else "is too short"
    return message
