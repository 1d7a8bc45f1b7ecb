"""The declarative lists of Home Assistant entities: the bridge, each box, each printer. Pure.

Each function describes one device of the model (:mod:`.model`) from the configuration and the
state the bridge holds; what an entity shows is a Jinja template over the contract's JSON topics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from lianke_bridge.bridge.discovery import names
from lianke_bridge.bridge.discovery.manufacturer import manufacturer_of
from lianke_bridge.bridge.discovery.model import (
    DEFAULT_BASE_TOPIC,
    MANUFACTURER,
    OFFLINE,
    ONLINE,
    ORIGIN_NAME,
    TEXT_MAX,
    DiscoveryContext,
    HaDevice,
    HaEntity,
    availability_topics,
    binary_sensor,
    box_node_id,
    bridge_node_id,
    button,
    clean,
    entity_slug,
    printer_node_id,
    sensor,
)
from lianke_bridge.bridge.discovery.triggers import box_triggers, printer_triggers
from lianke_bridge.bridge.records import freshness
from lianke_bridge.bridge.records.state import BoxState, PrinterState, PrinterStatusWord
from lianke_bridge.cloud import codes
from lianke_bridge.config import DeviceConfig

JOB_EVENT_TYPES = ("succeeded", "failed", "cancelled")
RIBBON_KINDS = frozenset(
    {codes.PrinterKind.LABEL, codes.PrinterKind.CARD, codes.PrinterKind.DYE_SUBLIMATION}
)
"""Printers that use a ribbon get an ``out_of_ribbon`` sensor too."""


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


def _port_payload(port: int) -> str:
    return json.dumps({"port": port})


# ---- devices ------------------------------------------------------------------------------------
def bridge_device(ctx: DiscoveryContext) -> HaDevice:
    """The bridge itself: its connection, version, cloud API health and a republish button."""
    topics = ctx.topics
    node = bridge_node_id(ctx.base_topic, ctx.instance)
    bridge_only = availability_topics(ctx, None)
    lang = ctx.language
    name = names.name(lang, "bridge_device")
    if ctx.instance:
        name = f"{name} {ctx.instance}"
    if ctx.base_topic != DEFAULT_BASE_TOPIC:
        name = f"{name} ({ctx.base_topic})"
    entities = (
        # No availability: when the bridge is gone this shows "Disconnected", not "Unavailable".
        binary_sensor(
            "connection_state",
            names.name(lang, "connection_state"),
            (),
            topics.bridge_state,
            payload_on=ONLINE,
            payload_off=OFFLINE,
            device_class="connectivity",
            entity_category="diagnostic",
        ),
        sensor(
            "version",
            names.name(lang, "version"),
            bridge_only,
            topics.bridge_info,
            _value("version"),
            entity_category="diagnostic",
            icon="mdi:tag-outline",
        ),
        binary_sensor(
            "api_problem",
            names.name(lang, "api_problem"),
            bridge_only,
            topics.bridge_health,
            _on_off(_get("api_problem")),
            device_class="problem",
            entity_category="diagnostic",
            json_attributes_topic=topics.bridge_health,
            json_attributes_template="{{ (value_json.get('api') or {}) | to_json }}",
        ),
        button(
            "republish",
            names.name(lang, "republish"),
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
        "model": names.name(lang, "bridge_model"),
        "sw_version": ctx.sw_version,
    }
    return HaDevice(node, entity_slug(node), info, entities)


def box_device(ctx: DiscoveryContext, device: DeviceConfig, box: BoxState) -> HaDevice:
    """One Lianke box: connection, queue, jobs, printing from HA, commands and diagnostics."""
    topics = ctx.topics
    dev = device.name
    bridge_only = availability_topics(ctx, None)
    with_box = availability_topics(ctx, dev)
    state = topics.state(dev)
    lang = ctx.language
    entities = (
        binary_sensor(
            "connectivity",
            names.name(lang, "connectivity"),
            bridge_only,
            topics.availability(dev),
            payload_on=ONLINE,
            payload_off=OFFLINE,
            device_class="connectivity",
            expire_after=ctx.expire_after(freshness.availability_period(device.poll)),
            json_attributes_topic=state,
            json_attributes_template=_pick(("online_state", "error", "last_update")),
        ),
        # The cloud not answering for the box (or refusing): unknown is not "Connected".
        binary_sensor(
            "cloud_error",
            names.name(lang, "cloud_error"),
            bridge_only,
            state,
            _on_off(f"{_get('error')} is not none"),
            device_class="problem",
            json_attributes_topic=state,
            json_attributes_template="{{ (value_json.get('error') or {}) | to_json }}",
        ),
        sensor(
            "queue",
            names.name(lang, "queue"),
            with_box,
            topics.queue(dev),
            state_class="measurement",
            unit_of_measurement="jobs",
            expire_after=ctx.expire_after(freshness.queue_period(device.poll)),
            icon="mdi:tray-full",
        ),
        sensor(
            "last_job",
            names.name(lang, "last_job"),
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
            names.name(lang, "job"),
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
            names.name(lang, "print_url"),
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
            names.name(lang, "print"),
            with_box,
            {
                "command_topic": topics.request(dev, "print"),
                "command_template": NOTIFY_TEMPLATE,
                "icon": "mdi:printer",
            },
        ),
        button(
            "reboot",
            names.name(lang, "reboot"),
            with_box,
            topics.request(dev, "reboot"),
            device_class="restart",
            entity_category="config",
        ),
        button(
            "flush_queue",
            names.name(lang, "flush_queue"),
            with_box,
            topics.request(dev, "flush"),
            icon="mdi:tray-remove",
        ),
        # Refresh stays usable while the box is offline: it is how one learns it is back.
        button(
            "refresh",
            names.name(lang, "refresh"),
            bridge_only,
            topics.request(dev, "refresh"),
            entity_category="diagnostic",
            icon="mdi:refresh",
        ),
        button(
            "rescan_printers",
            names.name(lang, "rescan_printers"),
            with_box,
            topics.request(dev, "refresh_network_printers"),
            entity_category="diagnostic",
            icon="mdi:printer-search",
        ),
        sensor(
            "firmware",
            names.name(lang, "firmware"),
            bridge_only,
            state,
            _value("firmware"),
            entity_category="diagnostic",
            icon="mdi:chip",
        ),
        sensor(
            "ip_address",
            names.name(lang, "ip_address"),
            bridge_only,
            state,
            _value("ip"),
            entity_category="diagnostic",
            icon="mdi:ip-network",
        ),
        sensor(
            "expire_date",
            names.name(lang, "expire_date"),
            bridge_only,
            state,
            EXPIRE_DATE_TEMPLATE,
            device_class="date",
            entity_category="diagnostic",
        ),
        binary_sensor(
            "subscription_expired",
            names.name(lang, "subscription_expired"),
            bridge_only,
            state,
            _on_off(_get("expired")),
            device_class="problem",
            entity_category="diagnostic",
        ),
    )
    info = clean(
        {
            "identifiers": [box_node_id(device.device_id)],
            "name": names.name(lang, "box_device", box=dev),
            "manufacturer": MANUFACTURER,
            "model": box.model or names.name(lang, "box_model"),
            "sw_version": box.firmware,
            "serial_number": device.device_id,
            "via_device": bridge_node_id(ctx.base_topic, ctx.instance),
        }
    )
    return HaDevice(
        box_node_id(device.device_id),
        f"lianke_{entity_slug(dev)}",
        info,
        entities,
        box_triggers(ctx, dev),
    )


def _is_network(printer: PrinterState) -> bool:
    return printer.ip is not None or printer.port == codes.NETWORK_PRINTER_PORT


def printer_display_name(
    device: DeviceConfig, printer: PrinterState, language: names.Language = "en"
) -> str:
    """``Kyocera MA2000w GX (office USB 1)``: the model, where it is plugged in."""
    model = printer.name or printer.model or names.name(language, "printer")
    if _is_network(printer):
        return names.name(language, "printer_network", model=model, box=device.name)
    return names.name(language, "printer_usb", model=model, box=device.name, port=printer.port)


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


PROBLEM_SENSORS: tuple[str, ...] = ("paper_out", "paper_jam", "cover_open", "out_of_ink")
"""The problem every printer can report (a binary sensor and a device trigger each)."""


def printer_device(ctx: DiscoveryContext, device: DeviceConfig, printer: PrinterState) -> HaDevice:
    """One printer on a box: status, problems, error limit, ink levels, flush and reset."""
    topics = ctx.topics
    dev = device.name
    port = printer.port
    state = topics.printer_state(dev, port)
    with_box = availability_topics(ctx, dev)
    expire = ctx.expire_after(freshness.printer_period(device.poll, printer))
    lang = ctx.language
    problems = PROBLEM_SENSORS
    if printer.kind in RIBBON_KINDS:
        problems = (*problems, "out_of_ribbon")
    entities: list[HaEntity] = [
        sensor(
            "status",
            names.name(lang, "status"),
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
        binary_sensor(
            key,
            names.name(lang, key),
            with_box,
            state,
            _on_off(f"(value_json.get('problems') or {{}}).get({key!r})"),
            device_class="problem",
            expire_after=expire,
        )
        for key in problems
    )
    entities.append(
        binary_sensor(
            "error_limit_reached",
            names.name(lang, "error_limit_reached"),
            with_box,
            state,
            _on_off(_get("error_limit_reached")),
            device_class="problem",
            expire_after=expire,
        )
    )
    entities.extend(
        sensor(
            key,
            names.ink_level_name(lang, name),
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
            button(
                "flush_queue",
                names.name(lang, "flush_queue"),
                with_box,
                topics.request(dev, "flush"),
                _port_payload(port),
                icon="mdi:tray-remove",
            ),
            button(
                "reset_error_limit",
                names.name(lang, "reset_error_limit"),
                with_box,
                topics.request(dev, "reset_error_limit"),
                _port_payload(port),
                icon="mdi:restart-alert",
            ),
            sensor(
                "model",
                names.name(lang, "model"),
                with_box,
                state,
                _value("model"),
                entity_category="diagnostic",
                icon="mdi:printer-settings",
            ),
        )
    )
    node = printer_node_id(device.device_id, port)
    info = clean(
        {
            "identifiers": [node],
            "name": printer_display_name(device, printer, lang),
            "manufacturer": manufacturer_of(printer.model, printer.name),
            "model": printer.model or printer.name or None,
            "via_device": box_node_id(device.device_id),
        }
    )
    return HaDevice(
        node,
        f"lianke_{entity_slug(dev)}_p{port}",
        info,
        tuple(entities),
        printer_triggers(ctx, dev, port, problems),
    )
