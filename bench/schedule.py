"""What the poll schedule asks for, and how late the bridge's polls came against it."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from bench.measure import Call
from lianke_bridge.bridge.polling.budget import IDLE_TASKS_FACTOR
from lianke_bridge.config import PollConfig
from lianke_bridge.simulator import Fleet

ENDPOINTS = {
    "device_info": "/api/device/device_info",
    "printer_list": "/api/external_api/printer_list",
    "printer_status": "/api/device/printer_status",
    "tasks": "/api/print/query_device_task",
    "job_status": "/api/print/job",
}
PATH_NAMES = {path: name for name, path in ENDPOINTS.items()}


def default_schedule(fleet: Fleet) -> dict[str, float]:
    """Calls per box-hour the default poll intervals ask for."""
    poll = PollConfig()
    status_printers = sum(
        1 for box in fleet.boxes for p in box.printers if p.support_status and not p.is_network
    )
    boxes = max(1, len(fleet.boxes))
    return {
        "device_info": 3600 / poll.device_info,
        "printer_list": 3600 / poll.printer_list,
        "printer_status": 3600 / poll.printer_status * status_printers / boxes,
        "tasks": 3600 / poll.tasks,
    }


def planned_intervals(health: dict[str, Any]) -> dict[str, float]:
    """The intervals the bridge planned for an idle box (its call budget's stretch applied)."""
    poll = PollConfig()
    stretch = health.get("schedule", {}).get("stretch", {})
    first = float(stretch.get("device_info", 1.0))
    rest = float(stretch.get("rest", 1.0))
    return {
        "device_info": poll.device_info * first,
        "printer_list": poll.printer_list * rest,
        "printer_status": poll.printer_status * rest,
        "tasks": poll.tasks * rest * IDLE_TASKS_FACTOR,
    }


def _poll_items(fleet: Fleet, intervals: dict[str, float]) -> dict[tuple[str, str, str], float]:
    """Every (endpoint, device id, port) the schedule polls, with its interval in seconds."""
    items: dict[tuple[str, str, str], float] = {}
    for box in fleet.boxes:
        items["device_info", box.device_id, ""] = intervals["device_info"]
        items["printer_list", box.device_id, ""] = intervals["printer_list"]
        items["tasks", box.device_id, ""] = intervals["tasks"]
        for printer in box.printers:
            if printer.support_status and not printer.is_network:
                port = str(printer.port)
                items["printer_status", box.device_id, port] = intervals["printer_status"]
    return items


def schedule_lags(
    calls: list[Call],
    fleet: Fleet,
    *,
    since: float,
    until: float,
    started: float,
    intervals: dict[str, float],
) -> tuple[list[float], int]:
    """How late each poll came in [since, until] beyond its planned interval.

    The bridge announces its plan (the intervals stretched for the call budget) and keeps each
    box's polls one interval apart; a poll later than that after the previous one is late by the
    difference. Also returns how many polled items were never asked at all.
    """
    items = _poll_items(fleet, intervals)
    times: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for call in calls:
        name = PATH_NAMES.get(call.path)
        if name is None or call.at >= until:
            continue
        port = call.port if name == "printer_status" else ""
        times[name, call.device_id, port].append(call.at)
    lags: list[float] = []
    never = 0
    for key, interval in items.items():
        allowed = interval
        seen = times.get(key, [])
        if not seen:
            never += 1
            lags.append(max(0.0, until - started - allowed))
            continue
        for previous, current in itertools.pairwise(seen):
            if current >= since:
                lags.append(max(0.0, current - previous - allowed))
        lags.append(max(0.0, until - seen[-1] - allowed))
    return lags, never
