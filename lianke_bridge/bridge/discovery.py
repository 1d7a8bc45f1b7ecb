"""Home Assistant MQTT discovery, built from the bridge's model. Pure: no I/O.

One small model (:class:`HaDevice` holding :class:`HaEntity` objects) describes every Home
Assistant device and entity the bridge offers; one renderer turns it into discovery messages,
either one device-based config per device (``<prefix>/device/<node>/config`` with
``components``, Home Assistant 2024.12+) or one config per entity
(``<prefix>/<platform>/<node>/<key>/config``, older installations). The service publishes what
these functions return; :func:`plan_discovery` tells it what to clear or migrate.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lianke_bridge import PROJECT_URL, __version__
from lianke_bridge.bridge.state import BoxState, PrinterState, PrinterStatusWord
from lianke_bridge.bridge.topics import Topics
from lianke_bridge.cloud import codes
from lianke_bridge.config import Config, DeviceConfig

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

Mode = Literal["device", "entity"]
Platform = Literal["binary_sensor", "button", "event", "notify", "sensor", "text"]

JOB_EVENT_TYPES = ("succeeded", "failed", "cancelled")
RIBBON_KINDS = frozenset(
    {codes.PrinterKind.LABEL, codes.PrinterKind.CARD, codes.PrinterKind.DYE_SUBLIMATION}
)
"""Printers that use a ribbon get an ``out_of_ribbon`` sensor too."""

MIGRATE_PAYLOAD: dict[str, Any] = {"migrate_discovery": True}


# ---- the model --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiscoveryContext:
    """What every payload needs besides the model: prefix, base topic, mode, version."""

    prefix: str = "homeassistant"
    base_topic: str = DEFAULT_BASE_TOPIC
    mode: Mode = "device"
    sw_version: str = __version__
    expire_factor: float = 3.0
    """``expire_after`` = this many poll periods; 0 leaves ``expire_after`` out."""

    @classmethod
    def from_config(cls, config: Config, *, sw_version: str = __version__) -> DiscoveryContext:
        """The context of a running bridge."""
        return cls(
            prefix=config.homeassistant.prefix,
            base_topic=config.mqtt.base_topic,
            mode=config.homeassistant.discovery,
            sw_version=sw_version,
        )

    @property
    def topics(self) -> Topics:
        """The contract's topics under the base topic."""
        return Topics(self.base_topic)

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
class HaDevice:
    """One Home Assistant device and its entities."""

    node_id: str
    """Node id in topics and the device identifier (``[a-zA-Z0-9_-]``)."""
    entity_prefix: str
    """Start of every default entity id (``lianke_office`` -> ``sensor.lianke_office_queue``)."""
    info: Mapping[str, Any]
    """The ``device`` block."""
    entities: tuple[HaEntity, ...]


# ---- ids --------------------------------------------------------------------------------------
def topic_id(value: str) -> str:
    """A value made safe for a discovery topic segment and a unique id (lower case)."""
    cleaned = re.sub(r"[^a-z0-9_-]+", "_", value.lower()).strip("_-")
    return cleaned or "x"


def entity_slug(value: str) -> str:
    """A value made safe for an entity id: ``[a-z0-9_]``, no double or edge underscores."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")
    return cleaned or "x"


def bridge_node_id(base_topic: str) -> str:
    """``lianke_bridge``; another base topic gets its own (two bridges on one HA)."""
    if base_topic == DEFAULT_BASE_TOPIC:
        return "lianke_bridge"
    return f"lianke_bridge_{topic_id(base_topic)}"


def box_node_id(device_id: str) -> str:
    """``lianke_<device_id>``: stable across renames of the configured name."""
    return f"lianke_{topic_id(device_id)}"


def printer_node_id(device_id: str, port: int) -> str:
    """``lianke_<device_id>_p<port>``."""
    return f"{box_node_id(device_id)}_p{port}"


# ---- templates ----------------------------------------------------------------------------------
def _get(key: str) -> str:
    """A Jinja expression reading one top-level JSON field, None when it is missing."""
    return f"value_json.get({key!r})"


def _value(key: str) -> str:
    return "{{ " + _get(key) + " }}"


def _on_off(expression: str) -> str:
    return "{{ 'ON' if " + expression + " else 'OFF' }}"


def _pick(keys: Sequence[str]) -> str:
    """A JSON attributes template keeping a few fields of a larger JSON state."""
    pairs = ", ".join(f"{key!r}: {_get(key)}" for key in keys)
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


# ---- entity kinds -------------------------------------------------------------------------------
def _availability(ctx: DiscoveryContext, box: str | None) -> tuple[str, ...]:
    topics = ctx.topics
    if box is None:
        return (topics.bridge_state,)
    return (topics.bridge_state, topics.availability(box))


def _clean(options: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value is not None}


def _sensor(
    key: str,
    name: str,
    availability: tuple[str, ...],
    state_topic: str,
    value_template: str | None = None,
    **options: Any,
) -> HaEntity:
    return HaEntity(
        "sensor",
        key,
        name,
        availability,
        _clean({"state_topic": state_topic, "value_template": value_template, **options}),
    )


def _binary_sensor(
    key: str,
    name: str,
    availability: tuple[str, ...],
    state_topic: str,
    value_template: str | None = None,
    **options: Any,
) -> HaEntity:
    payloads = {"payload_on": "ON", "payload_off": "OFF"} if value_template else {}
    return HaEntity(
        "binary_sensor",
        key,
        name,
        availability,
        _clean(
            {
                "state_topic": state_topic,
                "value_template": value_template,
                **payloads,
                **options,
            }
        ),
    )


def _button(
    key: str,
    name: str,
    availability: tuple[str, ...],
    command_topic: str,
    payload_press: str = PRESS,
    **options: Any,
) -> HaEntity:
    return HaEntity(
        "button",
        key,
        name,
        availability,
        _clean({"command_topic": command_topic, "payload_press": payload_press, **options}),
    )


def _port_payload(port: int) -> str:
    return json.dumps({"port": port})


# ---- devices ------------------------------------------------------------------------------------
def bridge_device(ctx: DiscoveryContext) -> HaDevice:
    """The bridge itself: its connection, version, cloud API health and a republish button."""
    topics = ctx.topics
    node = bridge_node_id(ctx.base_topic)
    bridge_only = _availability(ctx, None)
    name = "Lianke Bridge"
    if ctx.base_topic != DEFAULT_BASE_TOPIC:
        name = f"Lianke Bridge ({ctx.base_topic})"
    entities = (
        # No availability: when the bridge is gone this shows "Disconnected", not "Unavailable".
        _binary_sensor(
            "connection_state",
            "Connection state",
            (),
            topics.bridge_state,
            payload_on=ONLINE,
            payload_off=OFFLINE,
            device_class="connectivity",
            entity_category="diagnostic",
        ),
        _sensor(
            "version",
            "Version",
            bridge_only,
            topics.bridge_info,
            _value("version"),
            entity_category="diagnostic",
            icon="mdi:tag-outline",
        ),
        _binary_sensor(
            "api_problem",
            "Cloud API problem",
            bridge_only,
            topics.bridge_health,
            _on_off(_get("api_problem")),
            device_class="problem",
            entity_category="diagnostic",
            json_attributes_topic=topics.bridge_health,
            json_attributes_template="{{ (value_json.get('api') or {}) | to_json }}",
        ),
        _button(
            "republish",
            "Republish",
            bridge_only,
            topics.bridge_request("republish"),
            entity_category="diagnostic",
            icon="mdi:broadcast",
        ),
    )
    info = {
        "identifiers": [node],
        "name": name,
        "manufacturer": ORIGIN_NAME,
        "model": "Lianke cloud to MQTT bridge",
        "sw_version": ctx.sw_version,
    }
    return HaDevice(node, entity_slug(node), info, entities)


def box_device(ctx: DiscoveryContext, device: DeviceConfig, box: BoxState) -> HaDevice:
    """One Lianke box: connection, queue, jobs, printing from HA, commands and diagnostics."""
    topics = ctx.topics
    dev = device.name
    bridge_only = _availability(ctx, None)
    with_box = _availability(ctx, dev)
    state = topics.state(dev)
    entities = (
        _binary_sensor(
            "connectivity",
            "Cloud connection",
            bridge_only,
            topics.availability(dev),
            payload_on=ONLINE,
            payload_off=OFFLINE,
            device_class="connectivity",
            json_attributes_topic=state,
            json_attributes_template=_pick(("online_state", "error", "last_update")),
        ),
        _sensor(
            "queue",
            "Queue",
            with_box,
            topics.queue(dev),
            state_class="measurement",
            unit_of_measurement="jobs",
            expire_after=ctx.expire_after(device.poll.tasks),
            icon="mdi:tray-full",
        ),
        _sensor(
            "last_job",
            "Last job",
            bridge_only,
            topics.last_job(dev),
            LAST_JOB_TEMPLATE,
            device_class="enum",
            options=[str(s) for s in codes.JobState],
            json_attributes_topic=topics.last_job(dev),
            icon="mdi:file-document-check-outline",
        ),
        HaEntity(
            "event",
            "job",
            "Job",
            bridge_only,
            {
                "state_topic": topics.job_event(dev),
                "event_types": list(JOB_EVENT_TYPES),
                "icon": "mdi:printer-check",
            },
        ),
        HaEntity(
            "text",
            "print_url",
            "Print URL",
            with_box,
            {
                "command_topic": topics.request(dev, "print"),
                "state_topic": topics.print_url_state(dev),
                "min": 0,
                "max": TEXT_MAX,
                "mode": "text",
                "pattern": r"^(https?://\S+)?$",
                "icon": "mdi:link-variant",
            },
        ),
        HaEntity(
            "notify",
            "print",
            "Print",
            with_box,
            {
                "command_topic": topics.request(dev, "print"),
                "command_template": NOTIFY_TEMPLATE,
                "icon": "mdi:printer",
            },
        ),
        _button(
            "reboot",
            "Reboot",
            with_box,
            topics.request(dev, "reboot"),
            device_class="restart",
            entity_category="config",
        ),
        _button(
            "flush_queue",
            "Flush queue",
            with_box,
            topics.request(dev, "flush"),
            icon="mdi:tray-remove",
        ),
        # Refresh stays usable while the box is offline: it is how one learns it is back.
        _button(
            "refresh",
            "Refresh",
            bridge_only,
            topics.request(dev, "refresh"),
            entity_category="diagnostic",
            icon="mdi:refresh",
        ),
        _button(
            "rescan_printers",
            "Rescan network printers",
            with_box,
            topics.request(dev, "refresh_network_printers"),
            entity_category="diagnostic",
            icon="mdi:printer-search",
        ),
        _sensor(
            "firmware",
            "Firmware",
            bridge_only,
            state,
            _value("firmware"),
            entity_category="diagnostic",
            icon="mdi:chip",
        ),
        _sensor(
            "ip_address",
            "IP address",
            bridge_only,
            state,
            _value("ip"),
            entity_category="diagnostic",
            icon="mdi:ip-network",
        ),
        _sensor(
            "expire_date",
            "Subscription expires",
            bridge_only,
            state,
            EXPIRE_DATE_TEMPLATE,
            device_class="date",
            entity_category="diagnostic",
        ),
        _binary_sensor(
            "subscription_expired",
            "Subscription expired",
            bridge_only,
            state,
            _on_off(_get("expired")),
            device_class="problem",
            entity_category="diagnostic",
        ),
    )
    info = _clean(
        {
            "identifiers": [box_node_id(device.device_id)],
            "name": f"Lianke {dev}",
            "manufacturer": MANUFACTURER,
            "model": box.model or "Cloud print box",
            "sw_version": box.firmware,
            "serial_number": device.device_id,
            "via_device": bridge_node_id(ctx.base_topic),
        }
    )
    return HaDevice(box_node_id(device.device_id), f"lianke_{entity_slug(dev)}", info, entities)


def _is_network(printer: PrinterState) -> bool:
    return printer.ip is not None or printer.port == codes.NETWORK_PRINTER_PORT


def printer_display_name(device: DeviceConfig, printer: PrinterState) -> str:
    """``Kyocera MA2000w GX (office USB 1)``: the model, where it is plugged in."""
    model = printer.name or printer.model or "Printer"
    where = "network" if _is_network(printer) else f"USB {printer.port}"
    return f"{model} ({device.name} {where})"


def ink_keys(printer: PrinterState) -> list[tuple[str, str]]:
    """``(component key, marker name)`` per marker: ``ink_black``; ``ink_<n>`` when unspellable."""
    keys: list[tuple[str, str]] = []
    seen_names: set[str] = set()
    used: set[str] = set()
    for index, marker in enumerate(printer.markers, start=1):
        if marker.name in seen_names:
            continue
        seen_names.add(marker.name)
        slug = re.sub(r"[^a-z0-9]+", "_", marker.name.lower()).strip("_")
        key = f"ink_{slug}" if slug else f"ink_{index}"
        if key in used:
            key = f"ink_{index}"
        used.add(key)
        keys.append((key, marker.name))
    return keys


PROBLEM_SENSORS: tuple[tuple[str, str], ...] = (
    ("paper_out", "Paper out"),
    ("paper_jam", "Paper jam"),
    ("cover_open", "Cover open"),
    ("out_of_ink", "Out of ink"),
)


def printer_device(ctx: DiscoveryContext, device: DeviceConfig, printer: PrinterState) -> HaDevice:
    """One printer on a box: status, problems, error limit, ink levels, flush and reset."""
    topics = ctx.topics
    dev = device.name
    port = printer.port
    state = topics.printer_state(dev, port)
    with_box = _availability(ctx, dev)
    expire = ctx.expire_after(max(device.poll.printer_status, device.poll.printer_list))
    problems = list(PROBLEM_SENSORS)
    if printer.kind in RIBBON_KINDS:
        problems.append(("out_of_ribbon", "Out of ribbon"))
    entities: list[HaEntity] = [
        _sensor(
            "status",
            "Status",
            with_box,
            state,
            _value("status"),
            device_class="enum",
            options=[str(word) for word in PrinterStatusWord],
            expire_after=expire,
            json_attributes_topic=state,
            json_attributes_template=_pick(
                (
                    "message",
                    "status_code",
                    "error_code",
                    "live_status",
                    "kind",
                    "supported",
                    "last_update",
                )
            ),
            icon="mdi:printer",
        ),
    ]
    entities.extend(
        _binary_sensor(
            key,
            name,
            with_box,
            state,
            _on_off(f"(value_json.get('problems') or {{}}).get({key!r})"),
            device_class="problem",
            expire_after=expire,
        )
        for key, name in problems
    )
    entities.append(
        _binary_sensor(
            "error_limit_reached",
            "Error limit reached",
            with_box,
            state,
            _on_off(_get("error_limit_reached")),
            device_class="problem",
            expire_after=expire,
        )
    )
    entities.extend(
        _sensor(
            key,
            f"{name} level",
            with_box,
            state,
            "{{ (value_json.get('markers') or {}).get(" + jinja_string(name) + ") }}",
            unit_of_measurement="%",
            state_class="measurement",
            expire_after=expire,
            icon="mdi:water-percent",
        )
        for key, name in ink_keys(printer)
    )
    entities.extend(
        (
            _button(
                "flush_queue",
                "Flush queue",
                with_box,
                topics.request(dev, "flush"),
                _port_payload(port),
                icon="mdi:tray-remove",
            ),
            _button(
                "reset_error_limit",
                "Reset error limit",
                with_box,
                topics.request(dev, "reset_error_limit"),
                _port_payload(port),
                icon="mdi:restart-alert",
            ),
            _sensor(
                "model",
                "Model",
                with_box,
                state,
                _value("model"),
                entity_category="diagnostic",
                icon="mdi:printer-settings",
            ),
        )
    )
    node = printer_node_id(device.device_id, port)
    info = _clean(
        {
            "identifiers": [node],
            "name": printer_display_name(device, printer),
            "manufacturer": MANUFACTURER,
            "model": printer.model or printer.name or None,
            "via_device": box_node_id(device.device_id),
        }
    )
    return HaDevice(node, f"lianke_{entity_slug(dev)}_p{port}", info, tuple(entities))


# ---- rendering ----------------------------------------------------------------------------------
def origin(ctx: DiscoveryContext) -> dict[str, Any]:
    """The ``origin`` block: who published this config."""
    return {"name": ORIGIN_NAME, "sw_version": ctx.sw_version, "support_url": PROJECT_URL}


def component_config(device: HaDevice, entity: HaEntity) -> dict[str, Any]:
    """An entity's options shared by both modes (no platform, device or origin)."""
    object_id = f"{device.entity_prefix}_{entity.key}"
    config: dict[str, Any] = {
        "name": entity.name,
        "unique_id": f"{device.node_id}_{entity.key}",
        "default_entity_id": f"{entity.platform}.{object_id}",
        # Home Assistant before 2025.10 knows only object_id; later ones prefer
        # default_entity_id without a warning, and from 2026.4 drop object_id unread.
        "object_id": object_id,
    }
    if entity.availability:
        config["availability"] = [
            {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}
            for topic in entity.availability
        ]
        config["availability_mode"] = "all"
    config.update(entity.options)
    return config


def device_topic(ctx: DiscoveryContext, node_id: str) -> str:
    """``<prefix>/device/<node>/config``."""
    return f"{ctx.prefix}/device/{node_id}/config"


def entity_topic(ctx: DiscoveryContext, platform: str, node_id: str, key: str) -> str:
    """``<prefix>/<platform>/<node>/<key>/config``."""
    return f"{ctx.prefix}/{platform}/{node_id}/{key}/config"


def render(ctx: DiscoveryContext, device: HaDevice) -> list[DiscoveryMessage]:
    """A device's discovery messages in the context's mode."""
    if ctx.mode == "device":
        components = {
            entity.key: {"platform": entity.platform, **component_config(device, entity)}
            for entity in device.entities
        }
        payload = {"device": dict(device.info), "origin": origin(ctx), "components": components}
        return [DiscoveryMessage(device_topic(ctx, device.node_id), payload)]
    return [
        DiscoveryMessage(
            entity_topic(ctx, entity.platform, device.node_id, entity.key),
            {
                **component_config(device, entity),
                "device": dict(device.info),
                "origin": origin(ctx),
            },
        )
        for entity in device.entities
    ]


def bridge_discovery(ctx: DiscoveryContext) -> list[DiscoveryMessage]:
    """Discovery for the bridge device."""
    return render(ctx, bridge_device(ctx))


def box_discovery(
    ctx: DiscoveryContext, device: DeviceConfig, box: BoxState
) -> list[DiscoveryMessage]:
    """Discovery for one box (its printers are separate devices)."""
    return render(ctx, box_device(ctx, device, box))


def printer_discovery(
    ctx: DiscoveryContext, device: DeviceConfig, printer: PrinterState
) -> list[DiscoveryMessage]:
    """Discovery for one printer of a box."""
    return render(ctx, printer_device(ctx, device, printer))


def full_discovery(
    ctx: DiscoveryContext,
    boxes: Iterable[tuple[DeviceConfig, BoxState, Iterable[PrinterState]]],
) -> list[DiscoveryMessage]:
    """Everything: the bridge, then each box followed by its printers."""
    messages = bridge_discovery(ctx)
    for device, box, printers in boxes:
        messages.extend(box_discovery(ctx, device, box))
        for printer in sorted(printers, key=lambda p: p.port):
            messages.extend(printer_discovery(ctx, device, printer))
    return messages


# ---- lifecycle helpers --------------------------------------------------------------------------
def discovery_topics(messages: Iterable[DiscoveryMessage]) -> set[str]:
    """The config topics these messages fill (what to remember as published)."""
    return {m.topic for m in messages if m.payload is not None and m.retain}


def removal_messages(topics: Iterable[str]) -> list[DiscoveryMessage]:
    """Empty retained payloads: Home Assistant removes what these topics configured."""
    return [DiscoveryMessage(topic, None) for topic in sorted(set(topics))]


def published_index(messages: Iterable[DiscoveryMessage]) -> dict[str, list[str]]:
    """Topic -> its component keys (``platform/key``; empty for per-entity topics).

    JSON-friendly: persist it, and give it back to :func:`plan_discovery` after a restart so
    components that vanished from a device config (an ink cartridge, say) are removed too.
    """
    index: dict[str, list[str]] = {}
    for message in messages:
        if message.payload is None or not message.retain:
            continue
        components = message.payload.get("components")
        refs: list[str] = []
        if isinstance(components, dict):
            refs = sorted(
                f"{config['platform']}/{key}"
                for key, config in components.items()
                if len(config) > 1  # a bare {"platform": ...} is a removal, not a component
            )
        index[message.topic] = refs
    return index


@dataclass(frozen=True)
class _ConfigTopic:
    platform: str
    node_id: str
    key: str | None


def _parse_topic(prefix: str, topic: str) -> _ConfigTopic | None:
    head = f"{prefix}/"
    if not topic.startswith(head) or not topic.endswith("/config"):
        return None
    parts = topic[len(head) : -len("/config")].split("/")
    if len(parts) == 2 and parts[0] == "device":  # noqa: PLR2004
        return _ConfigTopic("device", parts[1], None)
    if len(parts) == 3:  # noqa: PLR2004
        return _ConfigTopic(parts[0], parts[1], parts[2])
    return None


@dataclass(frozen=True)
class DiscoveryPlan:
    """What to send, in order: ``migrate``, then ``publish``, then ``clear``.

    ``migrate`` (not retained) hands entities over when the discovery mode changed, keeping
    their registry entries (names, areas); Home Assistant wants the new configs next and the
    old topics cleared after that. Leave a second or so after ``migrate`` before ``publish``.
    """

    migrate: tuple[DiscoveryMessage, ...]
    publish: tuple[DiscoveryMessage, ...]
    clear: tuple[DiscoveryMessage, ...]
    published: dict[str, list[str]]
    """The index to persist once the plan went out."""

    def messages(self) -> list[DiscoveryMessage]:
        """Every message in order."""
        return [*self.migrate, *self.publish, *self.clear]


def is_printer_of(node_id: str, device_id: str) -> bool:
    """Whether a node id is one of a box's printers (``lianke_<device_id>_p<port>``)."""
    head = f"{box_node_id(device_id)}_p"
    return node_id.startswith(head) and node_id[len(head) :].isdigit()


def plan_discovery(
    ctx: DiscoveryContext,
    previous: Mapping[str, Sequence[str]] | Iterable[str],
    wanted: Sequence[DiscoveryMessage],
    *,
    unknown_printers: Iterable[str] = (),
) -> DiscoveryPlan:
    """Compare what was published before (index or bare topics) with what is wanted now.

    ``unknown_printers`` names boxes (device ids) whose printer list has not been read yet, at
    start-up or while the box is offline: their printers published before are left alone
    (neither cleared nor forgotten), since clearing makes Home Assistant delete the entities
    with their names, areas and history. The next plan, once the list is known, decides.
    """
    before: dict[str, list[str]] = (
        {topic: list(refs) for topic, refs in previous.items()}
        if isinstance(previous, Mapping)
        else {topic: [] for topic in previous}
    )
    pending = tuple(unknown_printers)
    kept: dict[str, list[str]] = {}
    for topic in set(before) - {m.topic for m in wanted}:
        parsed = _parse_topic(ctx.prefix, topic)
        if parsed is not None and any(is_printer_of(parsed.node_id, box) for box in pending):
            kept[topic] = before.pop(topic)
    wanted_topics = {m.topic for m in wanted}
    device_keys: dict[str, set[str]] = {}
    entity_nodes: set[str] = set()
    for message in wanted:
        parsed = _parse_topic(ctx.prefix, message.topic)
        if parsed is None or message.payload is None:
            continue
        if parsed.key is None:
            device_keys[parsed.node_id] = set(message.payload.get("components", {}))
        else:
            entity_nodes.add(parsed.node_id)

    migrate: list[DiscoveryMessage] = []
    clear: list[DiscoveryMessage] = []
    for topic in sorted(set(before) - wanted_topics):
        parsed = _parse_topic(ctx.prefix, topic)
        moved = parsed is not None and (
            (parsed.key is None and parsed.node_id in entity_nodes)
            or (parsed.key is not None and parsed.key in device_keys.get(parsed.node_id, ()))
        )
        if moved:
            migrate.append(DiscoveryMessage(topic, dict(MIGRATE_PAYLOAD), retain=False))
        clear.append(DiscoveryMessage(topic, None))

    publish = [_with_removed_components(m, before.get(m.topic, [])) for m in wanted]
    published = {**kept, **published_index(wanted)}
    return DiscoveryPlan(tuple(migrate), tuple(publish), tuple(clear), published)


def _with_removed_components(message: DiscoveryMessage, refs: Sequence[str]) -> DiscoveryMessage:
    """Add ``{"platform": p}`` for components published before but gone now (HA removes them)."""
    if message.payload is None or not refs:
        return message
    components = message.payload.get("components")
    if not isinstance(components, dict):
        return message
    removed: dict[str, dict[str, str]] = {}
    for ref in refs:
        platform, _, key = ref.partition("/")
        if key and key not in components:
            removed[key] = {"platform": platform}
    if not removed:
        return message
    payload = {**message.payload, "components": {**components, **removed}}
    return DiscoveryMessage(message.topic, payload, message.retain)
