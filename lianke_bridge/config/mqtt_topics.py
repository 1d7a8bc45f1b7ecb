"""The MQTT topics a configuration names: what MQTT allows, and what the bridge may publish to.

A topic or filter as MQTT 5 (section 4.7) allows it; a filter's wildcards; a topic a message can
be published to, and one an application may use (not the broker's ``$`` topics); a topic root.
Each raises ``vol.Invalid`` with a sentence a user understands.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol


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


def valid_own_topic(value: Any) -> str:
    """A publish topic an application may use: not one starting with ``$``.

    MQTT keeps ``$`` topics for the broker (``$SYS/…``, ``$share/…``): a broker drops what a
    client publishes there, so a bridge publishing under one would look connected and say nothing.
    """
    topic = valid_publish_topic(value)
    if topic.startswith("$"):
        raise vol.Invalid(
            f"must not start with '$' ({topic[:40]!r}): MQTT keeps $ topics for the broker, "
            "which drops what clients publish there"
        )
    return topic


def valid_base_topic(value: Any) -> str:
    """A topic root: an own topic without a leading or trailing ``/`` or empty levels."""
    topic = valid_own_topic(value)
    if topic.startswith("/") or topic.endswith("/"):
        raise vol.Invalid("must not start or end with '/'")
    if "//" in topic:
        raise vol.Invalid("must not contain an empty level ('//')")
    return topic
