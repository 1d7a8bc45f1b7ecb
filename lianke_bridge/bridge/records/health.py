"""The ``health_check`` answer's records: filled by the monitor, answered by the command.

Shared here, on the bottom floor, because two floors meet on them: ``monitoring/`` fills them
from the counters it keeps, ``requests/`` answers them (its context hands them over). Pure data;
its types say the answer's JSON Schema (``schemas/data/bridge-health_check.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from lianke_bridge.wire import DEVICE_KEYS, Count, ErrorObject, Timestamp, extra


@dataclass(frozen=True)
class MqttHealth:
    """The broker connection."""

    connected: bool
    reconnects: Count
    """Sessions lost and made again since the start."""


@dataclass(frozen=True)
class ApiHealth:
    """The cloud API, as the client counted it since the start."""

    ok: bool
    """False while the cloud fails or rate-limits (``api_problem``)."""
    calls: dict[str, Count]
    """Calls by endpoint."""
    errors: dict[str, dict[str, Count]]
    """By call, then by code."""
    rate_limited: Count
    throttled: Count
    retries: Count
    cache_hits: Count
    refused_unsent: Count
    last_latency_ms: Annotated[float, extra(minimum=0)] | None
    last_call: str | None


@dataclass(frozen=True)
class DeviceHealth:
    """One box, as its last poll left it."""

    online: bool
    last_poll: Timestamp | None
    error: ErrorObject | None
    """The last poll's error, null once a poll succeeds."""


@dataclass(frozen=True)
class HealthCheckData:
    """The answer: the bridge's health, as ``bridge/health`` tells it, and each box's."""

    healthy: bool
    """Connected to the broker, the cloud not failing and the state written."""
    mqtt: MqttHealth
    api: ApiHealth
    state_problem: bool
    """The state directory does not take writes (full, read-only, gone); healthy is false
    meanwhile."""
    state_problem_reason: str | None
    """Why state_problem is on; null otherwise."""
    devices: Annotated[dict[str, DeviceHealth], DEVICE_KEYS]
    """Each box (of this instance), by name."""
