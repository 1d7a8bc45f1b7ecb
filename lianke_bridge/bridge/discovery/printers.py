"""The declarative list of one printer's Home Assistant entities, and how the printer is named.

Status, problems, the box's error limit, ink levels, flush, reset and the test and maintenance
pages, on the printer's own JSON topic; its device triggers are ``triggers.py``'s. Pure.
"""

from __future__ import annotations

import json
import re

from lianke_bridge.bridge.discovery import names
from lianke_bridge.bridge.discovery.manufacturer import manufacturer_of
from lianke_bridge.bridge.discovery.model import (
    DiscoveryContext,
    HaDevice,
    HaEntity,
    availability_topics,
    binary_sensor,
    box_node_id,
    button,
    clean,
    entity_slug,
    printer_node_id,
    sensor,
)
from lianke_bridge.bridge.discovery.templates import (
    field_value,
    jinja_string,
    json_field,
    on_off,
    pick,
)
from lianke_bridge.bridge.discovery.triggers import printer_triggers
from lianke_bridge.bridge.records import freshness
from lianke_bridge.bridge.records.state import PrinterState, PrinterStatusWord
from lianke_bridge.cloud import codes
from lianke_bridge.config import DeviceConfig

RIBBON_KINDS = frozenset(
    {codes.PrinterKind.LABEL, codes.PrinterKind.CARD, codes.PrinterKind.DYE_SUBLIMATION}
)
"""Printers that use a ribbon get an ``out_of_ribbon`` sensor too."""


def _port_payload(port: int) -> str:
    return json.dumps({"port": port})


def _page_payload(port: int, page: str) -> str:
    return json.dumps({"port": port, "page": page})


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
    """One printer on a box: status, problems, error limit, ink levels, flush, reset, pages."""
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
            field_value("status"),
            device_class="enum",
            options=[str(word) for word in PrinterStatusWord],
            expire_after=expire,
            json_attributes_topic=state,
            json_attributes_template=pick(
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
            on_off(f"(value_json.get('problems') or {{}}).get({key!r})"),
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
            on_off(json_field("error_limit_reached")),
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
            button(
                "print_test_page",
                names.name(lang, "print_test_page"),
                with_box,
                topics.request(dev, "print_test_page"),
                _page_payload(port, "test"),
                icon="mdi:printer-check",
            ),
            button(
                "print_maintenance_page",
                names.name(lang, "print_maintenance_page"),
                with_box,
                topics.request(dev, "print_test_page"),
                _page_payload(port, "maintenance"),
                icon="mdi:palette",
            ),
            sensor(
                "model",
                names.name(lang, "model"),
                with_box,
                state,
                field_value("model"),
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
