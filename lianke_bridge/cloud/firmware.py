"""Box firmware versions: which boxes still need ``async_refresh_device_info``."""

from __future__ import annotations

import re

from lianke_bridge.cloud import codes


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """``"2.1.113"`` (or ``"v2.1.113-beta"``) as ``(2, 1, 113)``; None if there are no numbers."""
    if not text:
        return None
    numbers: list[int] = []
    for part in text.strip().lstrip("vV").split("."):
        match = re.match(r"\d+", part)
        if match is None:
            break
        numbers.append(int(match.group()))
        if match.end() != len(part):
            break
    return tuple(numbers) if numbers else None


def refresh_needed(firmware: str | None) -> bool:
    """Whether async_refresh_device_info still has a purpose (firmware below 2.1.112)."""
    version = parse_version(firmware)
    return version is None or version < codes.REFRESH_UNNEEDED_FROM
