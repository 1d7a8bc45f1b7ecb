"""The cloud's pushes as the bridge reads them, and what it counted of them.

Two kinds of push reach the bridge, on its HTTP endpoint or on ``<base>/bridge/callback``, and
neither is signed:

- a job's result, POSTed to the print's ``callbackUrl`` when the job ends (the reference:
  ``{device_id, task_id, task_state, create_time, finish_time, task_result: {code, msg}}``,
  tried at 0, 5 and 10 s until answered HTTP 200);
- the console's message push (a box gone offline, a printer plugged or unplugged: the
  2023-02-01 changelog), whose payload the reference never shows.

They are told apart by their shape: an object with a ``task_id`` is a job's result; another
that names a box (``device_id`` or ``deviceId``, at its top or in its ``data``) is a message.
Reading one trusts nothing: ``jobs/pushes.py`` decides what a push may do (a job's end is
always confirmed with the cloud first). Pure: no I/O.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from lianke_bridge.bridge.records.state import iso
from lianke_bridge.cloud.codes import TaskState

MAX_PUSH_BYTES = 16 * 1024
"""The largest push read (the reference's job result is about 250 bytes)."""
SHOWN_BYTES = 300
"""How much of a push of unknown shape the DEBUG log shows."""
DEVICE_KEYS = ("device_id", "deviceId")
"""Where a push names its box (the job result says ``device_id``; the API's calls
``deviceId``)."""

Way = Literal["http", "mqtt"]
"""How a push came in: the bridge's HTTP endpoint, or ``<base>/bridge/callback``."""
Mode = Literal["off", "http", "relay"]
"""Where prints ask the cloud to push their results: nowhere (``lianke.callback_url`` unset),
the bridge's own HTTP endpoint (the URL has ``{token}``), or an address that relays them to
``<base>/bridge/callback`` (Home Assistant's webhook)."""

Reason = Literal[
    "bad_token",
    "too_large",
    "bad_json",
    "unknown_shape",
    "bad_job",
    "unknown_device",
    "other_instance",
    "unknown_task",
    "not_final",
    "unconfirmed",
    "too_soon",
]
"""Why a push was not acted on: a wrong token in the path, more than ``MAX_PUSH_BYTES``, not
JSON, neither kind, a job result without its fields, a box not configured, a box another
instance of a scaled-out bridge owns, a task the bridge did not submit on that box, a state that
is not an end (the cloud pushes only ends), an end the cloud's own answer did not confirm, an
end claimed again before ``jobs.poll_interval`` passed since the last confirmation."""


@dataclass(frozen=True)
class JobPush:
    """A job's result, as the push claims it."""

    device_id: str
    task_id: str
    task_state: TaskState

    @property
    def claims_end(self) -> bool:
        """Whether the push says the job ended (the cloud pushes nothing else)."""
        return self.task_state.is_final


@dataclass(frozen=True)
class MessagePush:
    """The console's message about a box (offline, a printer plugged or unplugged)."""

    device_id: str


@dataclass(frozen=True)
class Unreadable:
    """A push that is neither kind: why, and what of it a DEBUG line may show."""

    reason: Reason
    shown: str


Push = JobPush | MessagePush | Unreadable


def read_push(body: bytes) -> Push:
    """The push in ``body``, by its shape; never raises."""
    if len(body) > MAX_PUSH_BYTES:
        return Unreadable("too_large", f"{len(body)} bytes")
    shown = body[:SHOWN_BYTES].decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return Unreadable("bad_json", shown)
    if not isinstance(data, dict):
        return Unreadable("unknown_shape", shown)
    if "task_id" in data:
        return _job(data, shown)
    device = _device_id(data)
    if device is None:
        inner = data.get("data")
        device = _device_id(inner) if isinstance(inner, dict) else None
    if device is None:
        return Unreadable("unknown_shape", shown)
    return MessagePush(device)


def _job(data: dict[str, Any], shown: str) -> Push:
    task_id, state, device = data.get("task_id"), data.get("task_state"), _device_id(data)
    if not isinstance(task_id, str) or not task_id or not isinstance(state, str) or not device:
        return Unreadable("bad_job", shown)
    return JobPush(device, task_id, TaskState.parse(state))


def _device_id(data: dict[str, Any]) -> str | None:
    for key in DEVICE_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def same_device(pushed: str, configured: str) -> bool:
    """Whether a pushed device id names the configured box (ids are compared in upper case)."""
    return pushed.upper() == configured.upper()


@dataclass
class PushLedger:
    """What the bridge knows of the cloud's pushes: where they go, whether they arrive, counts.

    Made by the service; the receiver counts, the job tracker says whether pushes arrive, the
    monitor and ``/metrics`` read it.
    """

    mode: Mode = "off"
    arriving: bool = True
    """Whether pushes are trusted to tell a job's end: until a job ends without one (then jobs
    are polled every ``jobs.poll_interval`` again) and again from the next one."""
    received: Counter[str] = field(default_factory=Counter)
    """Pushes received, by way (``http``, ``mqtt``)."""
    rejected: Counter[str] = field(default_factory=Counter)
    """Pushes not acted on, by reason."""
    confirmed: int = 0
    """Job ends a push told and the cloud's answer confirmed."""
    missed: int = 0
    """Jobs of this run a poll saw end before their push came."""
    duplicates: int = 0
    """Pushes for a job already ended or being confirmed (the cloud's retries)."""
    messages: int = 0
    """Message pushes about a box of this instance."""
    refreshes: int = 0
    """Box refreshes the message pushes started (the rest waited for one already due)."""
    last_at: datetime | None = None
    """When the last push was received."""

    @property
    def expected(self) -> bool:
        """Whether a job's end is expected by push (so jobs are polled rarely)."""
        return self.mode != "off" and self.arriving

    def to_json(self) -> dict[str, Any]:
        """``bridge/health``'s ``pushes``."""
        return {
            "mode": self.mode,
            "arriving": self.arriving,
            "received": dict(sorted(self.received.items())),
            "rejected": dict(sorted(self.rejected.items())),
            "confirmed": self.confirmed,
            "duplicates": self.duplicates,
            "missed": self.missed,
            "messages": self.messages,
            "refreshes": self.refreshes,
            "last_at": iso(self.last_at),
        }
