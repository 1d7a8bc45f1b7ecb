"""The clean-up of raw API values that every model shares: numbers, strings, objects, dates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def int_or_none(value: object) -> int | None:
    """An API number (the cloud sends some as strings), or None when it is not one."""
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


def str_or_none(value: object) -> str | None:
    """An API string, or None for null and the empty string (the cloud sends both for nothing)."""
    if value is None or value == "":
        return None
    return str(value)


def as_mapping(value: object) -> Mapping[str, Any]:
    """An API object, or an empty one when the cloud sent something else (null, a list)."""
    return value if isinstance(value, Mapping) else {}


def parse_cloud_date(value: str | None) -> str | None:
    """Turn ``2024年8月25日`` or ``2024-8-25`` into ``2024-08-25``."""
    if not value:
        return None
    cleaned = value.replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-")
    parts = cleaned.strip().split(" ")[0].split("-")
    try:
        year, month, day = (int(p) for p in parts[:3])
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"
