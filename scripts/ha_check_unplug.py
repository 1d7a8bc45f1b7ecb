"""ha_check's removals: a printer unplugged, a box dropped from the configuration, both back.

Home Assistant is to remove the printer's (then the box's) entities, device and device triggers
and log nothing about them, in either discovery mode, also after a switch of discovery mode
(the entities and triggers it handed over must not come back to haunt the removal). Then the
printer is plugged in again and the box put back: every entity returns with its old id.
"""

# ruff: noqa: T201, INP001  (part of a script that reports on stdout, not a package)

from __future__ import annotations

import re
import time
from functools import partial
from typing import Any

from ha_check_expected import Expected
from ha_check_more import device_id, fault, log_offset, log_warnings, restart_bridge
from ha_check_stack import Stack
from ha_check_support import BOXES, Report, wait_until
from ha_check_ws import HaWebSocket

UNPLUGGED = ("office", 2)
"""The box and USB port of the printer the check unplugs (not the one automations listen to)."""
DROPPED = "warehouse"
"""The box the check removes from the bridge's configuration."""


def gone(stack: Stack, ws: HaWebSocket, prefix: str, node: str, devices: set[str]) -> bool:
    """Nothing of these is left: entity, registry entry, device, device trigger, retained config.

    ``prefix`` starts their entities' object ids; ``node`` is the discovery node id (a box's
    also covers its printers'). A device trigger lives on its device: with the device gone
    (Home Assistant keeps it while one is left), so are they.
    """
    if any(e.split(".", 1)[1].startswith(prefix) for e in [*stack.states(), *registry(ws)]):
        return False
    if devices & {d["id"] for d in ws.call({"type": "config/device_registry/list"})}:
        return False
    mine = re.compile(rf"/{node}(_p\d+)?/")
    return not [t for t in stack.retained_configs() if mine.search(t)]


def registry(ws: HaWebSocket) -> list[str]:
    """Entity ids in Home Assistant's entity registry."""
    entries: list[dict[str, Any]] = ws.call({"type": "config/entity_registry/list"})
    return [e["entity_id"] for e in entries]


def back(stack: Stack, expected: list[Expected]) -> bool:
    """Every expected entity is there again and available."""
    states = stack.states()
    return all(
        states.get(e.entity_id, {}).get("state", "unavailable") != "unavailable" for e in expected
    )


def quiet(stack: Stack, report: Report, since: int, name: str) -> None:
    """Home Assistant logged no warning or error since ``since``."""
    time.sleep(5)  # what Home Assistant still had to log about it
    lines = log_warnings(stack, since)
    for line in lines:
        print(f"      log: {line[:300]}")
    report.check(not lines, f"{name}: Home Assistant logged no warning")


def check_unplug(stack: Stack, report: Report, ws: HaWebSocket, expected: list[Expected]) -> None:
    """Unplug a printer, drop a box: all of theirs leaves Home Assistant, quietly; then back."""
    box, port = UNPLUGGED
    printer = f"lianke_{box}_p{port}_"
    printer_device = device_id(stack, f"sensor.{printer}status")
    since = log_offset(stack)
    fault(stack, {"fault": "unplug_printer", "device_id": BOXES[box], "port": port})
    stack.api("POST", "services/button/press", {"entity_id": f"button.lianke_{box}_refresh"})
    node = f"lianke_{BOXES[box]}_p{port}"
    ok = wait_until(partial(gone, stack, ws, printer, node, {printer_device}), 90, 2)
    report.check(
        bool(ok),
        f"{stack.mode} discovery: an unplugged printer's entities, device and triggers are gone",
    )
    quiet(stack, report, since, f"{stack.mode} discovery: printer unplugged")

    dropped = f"lianke_{DROPPED}_"
    dropped_devices = {
        device_id(stack, f"sensor.{dropped}queue"),
        device_id(stack, f"sensor.{dropped}p1_status"),
    }
    since = log_offset(stack)
    stack.boxes = {k: v for k, v in BOXES.items() if k != DROPPED}
    restart_bridge(stack, stack.mode, stack.language)
    node = f"lianke_{BOXES[DROPPED]}"
    ok = wait_until(partial(gone, stack, ws, dropped, node, dropped_devices), 120, 2)
    report.check(
        bool(ok),
        f"{stack.mode} discovery: a box left out of the configuration is gone with its printers",
    )
    quiet(stack, report, since, f"{stack.mode} discovery: box removed")

    since = log_offset(stack)
    fault(stack, {"fault": "plug_printer", "device_id": BOXES[box], "port": port})
    stack.boxes = dict(BOXES)
    restart_bridge(stack, stack.mode, stack.language)
    ok = wait_until(partial(back, stack, expected), 120, 2)
    report.check(bool(ok), f"{stack.mode} discovery: the printer and the box are back")
    quiet(stack, report, since, f"{stack.mode} discovery: printer and box back")
