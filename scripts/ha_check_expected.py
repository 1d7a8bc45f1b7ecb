"""What docs/home-assistant.md promises: every entity Home Assistant shows for the demo fleet."""

# ruff: noqa: INP001  (part of a script, not a package)

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ha_check_support import BOXES, NETWORK_PORT, RIBBON_KINDS


# ---- what the page promises ---------------------------------------------------------------------
@dataclass(frozen=True)
class Expected:
    """One entity: its id, the state it should show (None: any but unavailable), its device."""

    entity_id: str
    state: Callable[[str], object] | None
    device: str
    via: str | None
    """Name of the device it hangs under (``via_device``); None for the bridge."""


def is_number(value: str) -> bool:
    """A numeric state."""
    try:
        float(value)
    except ValueError:
        return False
    return True


def known(value: str) -> bool:
    """A state with a value."""
    return value not in ("unknown", "unavailable", "")


def expected_entities(fleet: dict[str, Any], version: str) -> list[Expected]:
    """Every entity of the page's tables for the demo fleet, as Home Assistant should show it."""
    off = "off".__eq__
    bridge = "Lianke Bridge"
    items = [
        Expected("binary_sensor.lianke_bridge_connection_state", "on".__eq__, bridge, None),
        Expected("sensor.lianke_bridge_version", lambda v: v == version, bridge, None),
        Expected("binary_sensor.lianke_bridge_api_problem", off, bridge, None),
        Expected("button.lianke_bridge_republish", None, bridge, None),
    ]
    boxes = {box["device_id"]: box for box in fleet["boxes"]}
    for name, device_id in BOXES.items():
        box = boxes[device_id]
        device = f"Lianke {name}"
        prefix = f"lianke_{name}"
        items += [
            Expected(f"binary_sensor.{prefix}_connectivity", "on".__eq__, device, bridge),
            Expected(f"binary_sensor.{prefix}_cloud_error", off, device, bridge),
            Expected(f"sensor.{prefix}_queue", is_number, device, bridge),
            Expected(f"sensor.{prefix}_last_job", None, device, bridge),
            Expected(f"event.{prefix}_job", None, device, bridge),
            Expected(f"text.{prefix}_print_url", None, device, bridge),
            Expected(f"notify.{prefix}_print", None, device, bridge),
            Expected(f"button.{prefix}_reboot", None, device, bridge),
            Expected(f"button.{prefix}_flush_queue", None, device, bridge),
            Expected(f"button.{prefix}_refresh", None, device, bridge),
            Expected(f"button.{prefix}_rescan_printers", None, device, bridge),
            Expected(f"sensor.{prefix}_firmware", box["software"].__eq__, device, bridge),
            Expected(f"sensor.{prefix}_ip_address", known, device, bridge),
            Expected(
                f"sensor.{prefix}_expire_date",
                re.compile(r"^\d{4}-\d\d-\d\d$").match,
                device,
                bridge,
            ),
            Expected(f"binary_sensor.{prefix}_subscription_expired", off, device, bridge),
        ]
        for printer in box["printers"]:
            port = printer["port"]
            where = "network" if port == NETWORK_PORT else f"USB {port}"
            pdev = f"({name} {where})"  # the printer's device name ends like this
            pre = f"{prefix}_p{port}"
            items += [
                Expected(f"sensor.{pre}_status", "idle".__eq__, pdev, device),
                Expected(f"sensor.{pre}_model", printer["driver_name"].__eq__, pdev, device),
                Expected(f"binary_sensor.{pre}_error_limit_reached", off, pdev, device),
                Expected(f"button.{pre}_flush_queue", None, pdev, device),
                Expected(f"button.{pre}_reset_error_limit", None, pdev, device),
                Expected(f"button.{pre}_print_test_page", None, pdev, device),
                Expected(f"button.{pre}_print_maintenance_page", None, pdev, device),
            ]
            problems = ["paper_out", "paper_jam", "cover_open", "out_of_ink"]
            if printer.get("kind") in RIBBON_KINDS:
                problems.append("out_of_ribbon")
            items += [Expected(f"binary_sensor.{pre}_{p}", off, pdev, device) for p in problems]
            for marker in printer.get("markers") or []:
                slug = re.sub(r"[^a-z0-9]+", "_", marker["name"].lower()).strip("_")
                level = str(marker["level"])
                items.append(Expected(f"sensor.{pre}_ink_{slug}", level.__eq__, pdev, device))
    return items
