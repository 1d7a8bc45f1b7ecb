"""Small validators of values, each raising ``vol.Invalid`` with a sentence a user understands.

Durations, numbers, sizes, words, names, hosts and URLs, a box's QR credentials, and the print
options (read by the ``print`` command's own reader). The topics a configuration names are
``mqtt_topics.py``'s, its files and folders ``paths.py``'s; the combinators that keep every
problem instead of stopping at the first are ``schema.py``'s.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import voluptuous as vol

from lianke_bridge.cloud.models import Credentials
from lianke_bridge.cloud.qr import parse_qr
from lianke_bridge.config.model import LOG_LEVELS, PRINTER_TYPES, RESERVED_NAMES
from lianke_bridge.errors import CredentialsError, PrintOptionsError
from lianke_bridge.hosts import normalise_host
from lianke_bridge.print_options import read_option
from lianke_bridge.print_options.readers import NO_WORDS, YES_WORDS, size_text


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
            raise vol.Invalid(f"must be from {size_text(minimum)} to {size_text(maximum)}")
        return int(size)

    return validate


def boolean(value: Any) -> bool:
    """``true`` or ``false`` (YAML's yes/no/on/off arrive here as booleans already)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in YES_WORDS | NO_WORDS:
        return value.strip().lower() in YES_WORDS
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


def host_list(value: Any) -> tuple[str, ...]:
    """A list of host names or IP addresses (``jobs.allowed_hosts``), each checked."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise vol.Invalid("must be a list of host names or IP addresses")
    hosts = []
    for item in items:
        host = normalise_host(text(item))
        if host is None:
            raise vol.Invalid(f"{str(item)[:60]!r} is neither a host name nor an IP address")
        hosts.append(host)
    return tuple(hosts)


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


def slugify(value: str, fallback: str = "box") -> str:
    """A value made a slug: lower case, runs of anything else ``_``, no ``_`` or ``-`` at the ends.

    The one rule for names made from ids: a box's default name, discovery node ids.
    """
    return re.sub(r"[^a-z0-9_-]+", "_", value.lower()).strip("_-") or fallback


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


_LANGUAGES: dict[str, Literal["en", "zh-Hans"]] = {
    "en": "en",
    "english": "en",
    "zh-hans": "zh-Hans",
    "zh_hans": "zh-Hans",
    "zh": "zh-Hans",
    "zh-cn": "zh-Hans",
    "zh_cn": "zh-Hans",
}


def language(value: Any) -> Literal["en", "zh-Hans"]:
    """``en`` or ``zh-Hans`` (Simplified Chinese), in any case; ``zh`` and ``zh-CN`` mean it too."""
    if isinstance(value, str) and (found := _LANGUAGES.get(value.strip().lower())):
        return found
    raise vol.Invalid("must be en (English) or zh-Hans (Simplified Chinese)")


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
