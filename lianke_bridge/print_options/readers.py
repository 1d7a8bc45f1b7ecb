"""Strict readers of single values from outside: numbers, ports, yes/no, words, short text.

Shared by the print options, the request parsers and the configuration, so that a value is
accepted in one place exactly when it is in another. Each reader takes the field's name (for the
message) and the raw JSON or YAML value, returns the typed value or ``None`` when the value is
absent, and raises :class:`~lianke_bridge.errors.InvalidValueError` worded for the person who
sent it. Numbers are ASCII digits only (an Arabic-Indic one is no 1); echoed values are cut short.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence

from lianke_bridge.errors import InvalidValueError

SHOW_LIMIT = 60
"""The most characters of a user's value an error message repeats."""

MIN_PORT = 1
MAX_PORT = 65535

YES_WORDS = frozenset({"true", "on", "yes", "1"})
NO_WORDS = frozenset({"false", "off", "no", "0"})
"""The words a yes/no field takes as text (JSON and YAML booleans are taken as they are)."""

_WHOLE_NUMBER = re.compile(r"\s*-?[0-9]{1,9}\s*")
"""A whole number written as text: ASCII digits only, at most nine of them."""


def show(value: object, limit: int = SHOW_LIMIT) -> str:
    """A user's value in a message: quoted and cut short."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def kind(value: object) -> str:
    """How a JSON value reads in a message (``the string 'x'``, ``the number 3``, ``null``…)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"the number {_number_text(value)}"
    if isinstance(value, str):
        return f"the string {show(value)}"
    if isinstance(value, list):
        return "a JSON array"
    return "a JSON object"


def _number_text(value: float) -> str:
    if isinstance(value, int) and value.bit_length() > 3 * SHOW_LIMIT:
        return f"of about {int(value.bit_length() * math.log10(2))} digits"  # str() may refuse
    text = json.dumps(value)
    return text if len(text) <= SHOW_LIMIT else text[: SHOW_LIMIT - 1] + "…"


def size_text(n: int) -> str:
    """A size in a message, in binary units as the limits are set: ``20 MiB``, ``1.5 KiB``."""
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def whole_number(value: object) -> int | None:
    """An int from a JSON integer, an integral float or a string of ASCII digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        return int(value)
    return None


def number_in(key: str, value: object, low: int, high: int) -> int | None:
    """A whole number from ``low`` to ``high``; ``None`` when absent."""
    if value is None:
        return None
    number = whole_number(value)
    if number is None or not low <= number <= high:
        raise InvalidValueError(
            f"{key} must be a whole number from {low} to {high}; got {kind(value)}"
        )
    return number


def port(value: object, key: str = "port") -> int | None:
    """A box's port number (1, 2… for USB, 631 for a network printer); ``None`` when absent."""
    return number_in(key, value, MIN_PORT, MAX_PORT)


def yes_no(key: str, value: object) -> bool | None:
    """``true``/``false``, ``1``/``0`` or one of the yes/no words; ``None`` when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in YES_WORDS | NO_WORDS:
        return value.strip().lower() in YES_WORDS
    raise InvalidValueError(f"{key} must be true or false; got {kind(value)}")


def word_key(value: str) -> str:
    """How a word compares: ``Top Left`` / ``top-left`` -> ``top_left``."""
    return re.sub(r"[\s-]+", "_", value.strip().lower())


def word(key: str, value: object, words: Mapping[str, str], shown: Sequence[str]) -> str | None:
    """One of ``words`` (compared by :func:`word_key`), as the word it maps to."""
    if value is None:
        return None
    if isinstance(value, str) and word_key(value) in words:
        return words[word_key(value)]
    raise InvalidValueError(f"{key} must be one of {', '.join(shown)}; got {kind(value)}")


def text(key: str, value: object, *, max_len: int | None = None) -> str | None:
    """A string, stripped; ``None`` when absent or blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError(f"{key} must be a string; got {kind(value)}")
    value = value.strip()
    if max_len is not None and len(value) > max_len:
        raise InvalidValueError(f"{key} is longer than {max_len} characters")
    return value or None
