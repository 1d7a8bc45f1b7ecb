"""The Jinja templates of discovery payloads: how an entity reads the contract's JSON topics.

Home Assistant renders these against a topic's JSON (``value_json``); a missing field reads as
None, never a template error. Pure: strings only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence


def json_field(key: str) -> str:
    """A Jinja expression reading one top-level JSON field, None when it is missing."""
    return f"value_json.get({key!r})"


def field_value(key: str) -> str:
    """A template showing one top-level JSON field."""
    return "{{ " + json_field(key) + " }}"


def on_off(expression: str) -> str:
    """A template saying ``ON`` when the expression holds, else ``OFF``."""
    return "{{ 'ON' if " + expression + " else 'OFF' }}"


def pick(keys: Sequence[str]) -> str:
    """A JSON attributes template keeping a few fields of a larger JSON state."""
    pairs = ", ".join(f"{key!r}: {json_field(key)}" for key in keys)
    return "{{ {" + pairs + "} | to_json }}"


def jinja_string(value: str) -> str:
    """A Jinja string literal for any text (JSON escaping is a valid Jinja literal)."""
    return json.dumps(value, ensure_ascii=False)


NOTIFY_TEMPLATE = "{{ {'text': value} | to_json }}"
"""Home Assistant's notify entity renders the message as ``value``: send ``{"text": ...}``."""

EXPIRE_DATE_TEMPLATE = (
    "{% set d = value_json.get('expire_date') %}"
    "{{ d if d is string and d | length == 10 and d[4] == '-' and d[7] == '-' else None }}"
)
"""Only an ISO date reaches the date sensor; anything else (the cloud's own text) is unknown."""

LAST_JOB_TEMPLATE = "{{ value_json.state if value_json is defined else None }}"
"""A cleared (empty) ``last_job`` topic shows unknown instead of a template error."""
