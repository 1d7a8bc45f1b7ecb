"""Every MQTT topic of the contract, built in one place. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lianke_bridge.errors import TopicError

BRIDGE = "bridge"
"""The reserved ``<dev>`` of bridge-level topics."""
MAX_TOPIC_BYTES = 65_535
"""MQTT's limit for a topic name, in bytes of UTF-8."""
SHOWN_TOPIC_CHARS = 120
"""How much of a topic a log line or an error message shows."""


def shown_topic(topic: str, limit: int = SHOWN_TOPIC_CHARS) -> str:
    """A topic for a log line: quoted, cut short, with its length when cut."""
    if len(topic) <= limit:
        return repr(topic)
    return repr(topic[: limit - 1] + "…") + f" ({len(topic)} characters)"


def check_publish_topic(topic: str) -> str:
    """Refuse at the edge what MQTT cannot carry: wildcards, NUL, too long, not UTF-8."""
    if not topic or "+" in topic or "#" in topic or "\0" in topic:
        raise TopicError(f"refusing to publish to {shown_topic(topic)}: not a topic name")
    try:
        size = len(topic.encode("utf-8"))
    except UnicodeEncodeError:
        raise TopicError(f"refusing to publish to {shown_topic(topic)}: not UTF-8") from None
    if size > MAX_TOPIC_BYTES:
        raise TopicError(
            f"refusing to publish to {shown_topic(topic)}: {size} bytes, "
            f"more than MQTT's {MAX_TOPIC_BYTES}"
        )
    return topic


@dataclass(frozen=True)
class RequestTopic:
    """A parsed ``…/request/<command>`` topic."""

    scope: Literal["bridge", "device"]
    device: str | None
    command: str


@dataclass(frozen=True)
class Topics:
    """The contract's topics under ``base``."""

    base: str
    instance: int = 0
    """The shard index of a scaled-out bridge: instance 0 (and a single bridge) keeps
    ``<base>/bridge/state``, ``info`` and ``health``; instance ``i`` has ``<base>/bridge/<i>/…``."""

    # bridge
    @property
    def _own(self) -> str:
        """Where this instance's own retained bridge topics live."""
        if self.instance == 0:
            return f"{self.base}/{BRIDGE}"
        return f"{self.base}/{BRIDGE}/{self.instance}"

    @property
    def bridge_state(self) -> str:
        """``online``/``offline``; the MQTT will (this instance's)."""
        return f"{self._own}/state"

    @property
    def bridge_info(self) -> str:
        """Retained JSON: version, devices and more (this instance's)."""
        return f"{self._own}/info"

    @property
    def bridge_health(self) -> str:
        """Retained JSON refreshed every minute (this instance's)."""
        return f"{self._own}/health"

    def bridge_fanout(self, command: str) -> str:
        """Where the instance that answered a bridge-level request tells the others to act."""
        return f"{self.base}/{BRIDGE}/fanout/{command}"

    def parse_fanout(self, topic: str) -> str | None:
        """``<base>/bridge/fanout/<command>`` -> the command; None for anything else."""
        head = f"{self.base}/{BRIDGE}/fanout/"
        if not topic.startswith(head) or "/" in topic[len(head) :] or topic == head:
            return None
        return topic[len(head) :]

    @property
    def bridge_callback(self) -> str:
        """Where the cloud's pushes come in over MQTT (relayed by Home Assistant's webhook)."""
        return f"{self.base}/{BRIDGE}/callback"

    @property
    def bridge_event(self) -> str:
        """Bridge-level events."""
        return f"{self.base}/{BRIDGE}/event"

    @property
    def bridge_log(self) -> str:
        """Warnings and errors as JSON."""
        return f"{self.base}/{BRIDGE}/log"

    def bridge_response(self, command: str) -> str:
        """Where a bridge request is answered."""
        return f"{self.base}/{BRIDGE}/response/{command}"

    def response_to(self, where: RequestTopic) -> str:
        """Where the request on the topic ``where`` was parsed from is answered."""
        if where.scope == "bridge" or where.device is None:
            return self.bridge_response(where.command)
        return self.response(where.device, where.command)

    # devices
    def availability(self, device: str) -> str:
        """``online``/``offline``: the box's cloud connection."""
        return f"{self.base}/{device}/availability"

    def state(self, device: str) -> str:
        """The box snapshot."""
        return f"{self.base}/{device}/state"

    def printer_state(self, device: str, port: int) -> str:
        """One printer's snapshot."""
        return f"{self.base}/{device}/printer/{port}/state"

    def queue(self, device: str) -> str:
        """Jobs waiting or in progress (integer)."""
        return f"{self.base}/{device}/queue"

    def job(self, device: str, task_id: str) -> str:
        """A job's JSON, retained until 24 h after it ends."""
        return f"{self.base}/{device}/job/{task_id}"

    def last_job(self, device: str) -> str:
        """The box's most recent job (retained): Home Assistant's ``last_job`` sensor."""
        return f"{self.base}/{device}/last_job"

    def job_event(self, device: str) -> str:
        """``{"event_type": succeeded|failed|cancelled}`` for Home Assistant's event entity."""
        return f"{self.base}/{device}/job_event"

    def print_url_state(self, device: str) -> str:
        """The last URL typed into Home Assistant's ``print_url`` text entity."""
        return f"{self.base}/{device}/print_url/state"

    def event(self, device: str) -> str:
        """Device events."""
        return f"{self.base}/{device}/event"

    def response(self, device: str, command: str) -> str:
        """Where a device request is answered."""
        return f"{self.base}/{device}/response/{command}"

    def request(self, device: str, command: str) -> str:
        """Where a device request is sent (used by discovery and tests)."""
        return f"{self.base}/{device}/request/{command}"

    def bridge_request(self, command: str) -> str:
        """Where a bridge request is sent."""
        return f"{self.base}/{BRIDGE}/request/{command}"

    def bridge_sync(self, client: str) -> str:
        """The bridge's own echo topic (MQTT 3.1.1's retained-request check, see retained.py)."""
        return f"{self.base}/{BRIDGE}/sync/{client}"

    # subscriptions
    @property
    def request_filter(self) -> str:
        """The one filter the bridge subscribes to for requests, device and bridge alike.

        One filter, not two: overlapping filters (``<base>/bridge/request/+`` besides this one)
        make the broker deliver a bridge request once per match, so it would run twice.
        """
        return f"{self.base}/+/request/+"

    @property
    def fanout_filter(self) -> str:
        """What every instance of a scaled-out bridge subscribes to, besides the requests."""
        return f"{self.base}/{BRIDGE}/fanout/+"

    def parse_request(self, topic: str) -> RequestTopic | None:
        """``<base>/<dev>/request/<command>`` -> its parts; None for anything else."""
        prefix = f"{self.base}/"
        if not topic.startswith(prefix):
            return None
        parts = topic[len(prefix) :].split("/")
        if len(parts) != 3 or parts[1] != "request" or not parts[0] or not parts[2]:  # noqa: PLR2004
            return None
        device, _, command = parts
        if device == BRIDGE:
            return RequestTopic("bridge", None, command)
        return RequestTopic("device", device, command)
