"""The model of Home Assistant discovery: context, messages, devices, entities and ids. Pure.

One small model (:class:`HaDevice` holding :class:`HaEntity` objects) describes every Home
Assistant device and entity the bridge offers; :mod:`.entities` fills it from the bridge's
state, :mod:`.render` turns it into messages and :mod:`.plan` decides what to clear or migrate.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lianke_bridge import __version__
from lianke_bridge.bridge.discovery.names import Language
from lianke_bridge.bridge.records import freshness
from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.config import Config, slugify

ORIGIN_NAME = "lianke-bridge"
MANUFACTURER = "Lianke"
DEFAULT_BASE_TOPIC = "lianke"

ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")
"""Home Assistant's rule for node ids, object ids and component keys in discovery topics."""

ONLINE = "online"
OFFLINE = "offline"
PRESS = "PRESS"
TEXT_MAX = 255
"""Home Assistant caps a text entity's value at 255 characters."""
TRIGGER_PLATFORM = "device_automation"
"""The ``platform`` of a device trigger, in a device config's components or its own topic."""

Mode = Literal["device", "entity"]
Platform = Literal["binary_sensor", "button", "event", "notify", "sensor", "text"]


@dataclass(frozen=True)
class DiscoveryContext:
    """What every payload needs besides the model: prefix, base topic, mode, version."""

    prefix: str = "homeassistant"
    base_topic: str = DEFAULT_BASE_TOPIC
    mode: Mode = "device"
    sw_version: str = __version__
    expire_factor: float = freshness.EXPIRE_FACTOR
    """``expire_after`` = this many periods of the feeding poll; 0 leaves it out."""
    instance: int = 0
    """The shard index: each instance of a scaled-out bridge is its own ``bridge`` device."""
    language: Language = "en"
    """The language of the names (``homeassistant.language``); ids never depend on it."""

    @classmethod
    def from_config(cls, config: Config, *, sw_version: str = __version__) -> DiscoveryContext:
        """The context of a running bridge."""
        return cls(
            prefix=config.homeassistant.prefix,
            base_topic=config.mqtt.base_topic,
            mode=config.homeassistant.discovery,
            sw_version=sw_version,
            instance=config.shard.index,
            language=config.homeassistant.language,
        )

    @property
    def topics(self) -> Topics:
        """The contract's topics under the base topic (this instance's bridge topics)."""
        return Topics(self.base_topic, self.instance)

    def expire_after(self, period: float) -> int | None:
        """Seconds after which Home Assistant marks a polled value unavailable."""
        if self.expire_factor <= 0 or period <= 0:
            return None
        return math.ceil(self.expire_factor * period)


@dataclass(frozen=True)
class DiscoveryMessage:
    """One message to publish: a config (dict), or None to clear the retained topic."""

    topic: str
    payload: dict[str, Any] | None
    retain: bool = True

    def encode(self) -> bytes:
        """The wire form: compact JSON, or empty to clear."""
        if self.payload is None:
            return b""
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class HaEntity:
    """One Home Assistant entity: the single source of truth for both discovery modes."""

    platform: Platform
    key: str
    """Component key and object id, unique within its device (``[a-z0-9_]``)."""
    name: str | None
    availability: tuple[str, ...]
    """Topics that must all say ``online`` (mode ``all``); empty: always available."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Platform options (state_topic, value_template, device_class…)."""


@dataclass(frozen=True)
class HaTrigger:
    """One device trigger (``device_automation``): "When <device> ..." in the automation editor.

    Home Assistant subscribes to ``topic`` and fires the trigger when ``value_template``,
    rendered over the message, equals ``payload``; automations name it by device, ``type`` and
    ``subtype``, so those are ids that never change (not with the language either).
    """

    key: str
    """Component key and object id, unique within its device (``[a-z0-9_]``)."""
    type: str
    subtype: str
    topic: str
    value_template: str
    payload: str


@dataclass(frozen=True)
class HaDevice:
    """One Home Assistant device, its entities and its device triggers."""

    node_id: str
    """Node id in topics and the device identifier (``[a-zA-Z0-9_-]``)."""
    entity_prefix: str
    """Start of every default entity id (``lianke_office`` -> ``sensor.lianke_office_queue``)."""
    info: Mapping[str, Any]
    """The ``device`` block."""
    entities: tuple[HaEntity, ...]
    triggers: tuple[HaTrigger, ...] = ()


# ---- ids --------------------------------------------------------------------------------------
def entity_slug(value: str) -> str:
    """A value made safe for an entity id: ``[a-z0-9_]``, no double or edge underscores."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
    return cleaned or "x"


def bridge_node_id(base_topic: str, instance: int = 0) -> str:
    """``lianke_bridge``; another base topic gets its own (two bridges on one HA).

    Instance ``i`` > 0 of a scaled-out bridge is its own device, ``lianke_bridge_<i>``.
    """
    node = "lianke_bridge"
    if base_topic != DEFAULT_BASE_TOPIC:
        node = f"lianke_bridge_{slugify(base_topic, fallback='x')}"
    return node if instance == 0 else f"{node}_{instance}"


def box_node_id(device_id: str) -> str:
    """``lianke_<device_id>``: stable across renames of the configured name."""
    return f"lianke_{slugify(device_id, fallback='x')}"


def printer_node_id(device_id: str, port: int) -> str:
    """``lianke_<device_id>_p<port>``."""
    return f"{box_node_id(device_id)}_p{port}"


# ---- entity kinds -------------------------------------------------------------------------------
def availability_topics(ctx: DiscoveryContext, box: str | None) -> tuple[str, ...]:
    """The topics an entity needs ``online``: the bridge's, and the box's when it has one."""
    topics = ctx.topics
    if box is None:
        return (topics.bridge_state,)
    return (topics.bridge_state, topics.availability(box))


def clean(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that are set (Home Assistant wants absent keys, not nulls)."""
    return {key: value for key, value in options.items() if value is not None}


def sensor(
    key: str,
    name: str,
    availability: tuple[str, ...],
    state_topic: str,
    value_template: str | None = None,
    **options: Any,
) -> HaEntity:
    """A sensor showing ``state_topic`` (through ``value_template`` when given)."""
    return HaEntity(
        "sensor",
        key,
        name,
        availability,
        clean({"state_topic": state_topic, "value_template": value_template, **options}),
    )


def binary_sensor(
    key: str,
    name: str,
    availability: tuple[str, ...],
    state_topic: str,
    value_template: str | None = None,
    **options: Any,
) -> HaEntity:
    """A binary sensor; with a template, the template renders ``ON`` / ``OFF``."""
    payloads = {"payload_on": "ON", "payload_off": "OFF"} if value_template else {}
    return HaEntity(
        "binary_sensor",
        key,
        name,
        availability,
        clean(
            {
                "state_topic": state_topic,
                "value_template": value_template,
                **payloads,
                **options,
            }
        ),
    )


def button(
    key: str,
    name: str,
    availability: tuple[str, ...],
    command_topic: str,
    payload_press: str = PRESS,
    **options: Any,
) -> HaEntity:
    """A button sending ``payload_press`` to ``command_topic``."""
    return HaEntity(
        "button",
        key,
        name,
        availability,
        clean({"command_topic": command_topic, "payload_press": payload_press, **options}),
    )
