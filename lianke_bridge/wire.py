"""What a value is on the wire beyond its Python type: JSON Schema hints on annotations.

The typed requests and answers say their shape with Python types; ``scripts/generators`` turn
those into the published JSON Schemas. Where a type alone says too little (a number that may
not be negative, a string that is a timestamp, a payload field that takes a number or its
digits), ``Annotated[T, hint]`` says the rest. Nothing here acts at runtime: the hints are
read by the generators only. Pure declarations; imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any


@dataclass(frozen=True, eq=False)  # hashed by identity: ``X | None`` hashes its hints
class Schema:
    """The value's whole JSON Schema, in place of the one its Python type gives."""

    schema: Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Extra:
    """Keywords added to the schema its Python type gives (``minimum``, ``pattern``…)."""

    keywords: Mapping[str, Any] = field(default_factory=dict)


def ref(name: str) -> Schema:
    """A definition of the shared ``schemas/common.json`` (``job``, ``timestamp``…)."""
    return Schema({"$ref": f"../common.json#/$defs/{name}"})


def extra(**keywords: Any) -> Extra:
    """:class:`Extra` with these keywords."""
    return Extra(keywords)


Count = Annotated[int, extra(minimum=0)]
"""A whole number, never negative."""
Timestamp = Annotated[str, ref("timestamp")]
"""ISO 8601 with seconds and a UTC offset."""
TaskId = Annotated[str, ref("task_id")]
"""A task id as the cloud gives it."""
Port = Annotated[int, ref("port")]
"""A printer's port as in printer_list."""
DeviceName = Annotated[str, ref("device")]
"""A configured box's name (``<dev>``)."""
JobStateWord = Annotated[str, ref("job_state")]
"""``queued``, ``parsing``, ``sending``, ``succeeded``, ``failed``, ``cancelling``…"""
ApiState = Annotated[str, ref("api_state")]
"""The cloud's own ``task_state`` word (``READY``, ``SUCCESS``…)."""
ErrorObject = Annotated[dict[str, Any], ref("error")]
"""``{code, message, api_message}``, as in an error answer."""
Result = Annotated[dict[str, Any] | None, ref("result")]
"""``{code, message}`` once the cloud says how a task ended; null until then."""
PORT_KEYS = extra(propertyNames={"pattern": "^\\d+$"})
"""On a mapping keyed by port: its keys are digits."""
DEVICE_KEYS = extra(propertyNames=ref("device").schema)
"""On a mapping keyed by box: its keys are configured boxes' names."""
