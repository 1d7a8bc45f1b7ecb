"""The typed answers' JSON: one function turns any command's answer into what is published.

Each command answers a frozen dataclass of its own (``FlushData``…): its fields are the ``data``
object's keys, in order; a nested record is an object, a mapping an object, a tuple or list an
array, an enum its value, ``None`` null. A record that already has its contract JSON (a job,
a box's or a printer's snapshot) gives it through its own ``to_json()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any


def to_json(value: object) -> Any:
    """``value`` as JSON-ready Python (dicts, lists, strings, numbers, booleans, None)."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | bool | int | float):
        return value
    own = getattr(value, "to_json", None)
    if callable(own):
        return own()
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_json(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, Mapping):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    raise TypeError(f"no JSON for {type(value).__name__}")
