"""ha_check's checks of device triggers, discovery mode switches and Chinese names."""

# ruff: noqa: T201, INP001  (part of a script that reports on stdout, not a package)

from __future__ import annotations

import json
import re
import time
from functools import partial
from typing import Any

from ha_check_expected import Expected
from ha_check_stack import Stack
from ha_check_support import BOXES, LOG_NOISE, WAIT, Report, http, wait_until
from ha_check_ws import HaWebSocket

FIRED = "lianke_check_fired"
"""The event the check's automations fire (with which trigger, and what it carried)."""
BOX_TRIGGERS = {
    ("job", "submitted"),
    ("job", "succeeded"),
    ("job", "failed"),
    ("job", "cancelled"),
    ("box", "offline"),
    ("box", "online"),
    ("box", "error_limit_reached"),
}
PRINTER_TRIGGERS = {
    ("printer", p)
    for p in ("paper_out", "paper_jam", "cover_open", "out_of_ink", "error_limit_reached")
}
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---- helpers ------------------------------------------------------------------------------------
def device_id(stack: Stack, entity_id: str) -> str:
    """The Home Assistant device an entity belongs to."""
    return str(stack.api("POST", "template", {"template": f"{{{{ device_id('{entity_id}') }}}}"}))


def device_name(stack: Stack, entity_id: str) -> str:
    """The name of the device an entity belongs to."""
    template = f"{{{{ device_attr(device_id('{entity_id}'), 'name') }}}}"
    return str(stack.api("POST", "template", {"template": template}))


def entity_names(stack: Stack, entity_ids: set[str]) -> dict[str, str]:
    """Each entity's own name: its friendly name without its device's name in front."""
    template = (
        "{% set ns = namespace(out={}) %}{% for e in " + json.dumps(sorted(entity_ids)) + " %}"
        "{% set full = state_attr(e, 'friendly_name') or '' %}"
        "{% set device = device_attr(device_id(e), 'name') or '' %}"
        "{% set ns.out = dict(ns.out, **{e: full.replace(device, '', 1).strip()}) %}"
        "{% endfor %}{{ ns.out | to_json }}"
    )
    answer = stack.api("POST", "template", {"template": template})
    names: dict[str, str] = json.loads(answer) if isinstance(answer, str) else answer
    return names


def offered(ws: HaWebSocket, device: str) -> set[tuple[str, str]]:
    """The MQTT device triggers the automation editor offers for a device."""
    found = ws.call({"type": "device_automation/trigger/list", "device_id": device})
    return {(t["type"], t["subtype"]) for t in found if t.get("domain") == "mqtt"}


def fault(stack: Stack, body: dict[str, Any] | None) -> None:
    """Set (or, with None, clear) a fault in the simulator."""
    http("POST" if body else "DELETE", f"{stack.sim}/_sim/faults", body)


def print_url(stack: Stack, box: str, url: str) -> None:
    """A print request, sent as Home Assistant's mqtt.publish would."""
    payload = json.dumps({"url": url})
    stack.api(
        "POST",
        "services/mqtt/publish",
        {"topic": f"lianke/{box}/request/print", "payload": payload, "qos": 1},
    )


def log_offset(stack: Stack) -> int:
    """The current size of Home Assistant's log."""
    path = stack.work / "ha" / "home-assistant.log"
    return path.stat().st_size if path.exists() else 0


def log_warnings(stack: Stack, since: int) -> list[str]:
    """Warnings and errors Home Assistant logged since an offset (noise about the machine apart)."""
    path = stack.work / "ha" / "home-assistant.log"
    with path.open("rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    return [
        line
        for line in text.splitlines()
        if re.match(r"^\S+ \S+ (WARNING|ERROR|CRITICAL)", line) and not LOG_NOISE.search(line)
    ]


def lianke_entities(stack: Stack) -> dict[str, dict[str, Any]]:
    """The bridge's entities Home Assistant has: entity id -> state object."""
    return {e: s for e, s in stack.states().items() if e.split(".", 1)[1].startswith("lianke_")}


# ---- device triggers ----------------------------------------------------------------------------
def add_automation(stack: Stack, ident: str, device: str, kind: str, subtype: str) -> None:
    """An automation on a device trigger that fires FIRED with what the trigger carried."""
    config = {
        "id": ident,
        "alias": f"check {ident}",
        "triggers": [
            {"trigger": "device", "domain": "mqtt", "device_id": device}
            | {"type": kind, "subtype": subtype}
        ],
        "actions": [
            {
                "event": FIRED,
                "event_data": {
                    "which": ident,
                    "event": "{{ trigger.payload_json.event }}",
                    "task_id": "{{ (trigger.payload_json.get('job') or {}).get('task_id') }}",
                    "message": "{{ ((trigger.payload_json.get('job') or {}).get('result') or {})"
                    ".get('message') }}",
                },
            }
        ],
        "mode": "queued",
    }
    stack.api("POST", f"config/automation/config/{ident}", config)


def fired(ws: HaWebSocket, which: str, timeout: float = 60) -> dict[str, Any] | None:
    """The data of the next FIRED event of one automation, or None."""
    event = ws.wait_event(lambda e: e["data"].get("which") == which, timeout)
    return None if event is None else dict(event["data"])


def check_triggers(stack: Stack, report: Report) -> HaWebSocket:
    """The editor offers the triggers; automations on them run when the events happen."""
    ws = HaWebSocket(stack.ha, stack.token)
    office = device_id(stack, "sensor.lianke_office_queue")
    printer = device_id(stack, "sensor.lianke_office_p1_status")
    box_offered, printer_offered = offered(ws, office), offered(ws, printer)
    report.check(
        box_offered == BOX_TRIGGERS,
        "device triggers offered for the office box",
        str(sorted(box_offered ^ BOX_TRIGGERS)),
    )
    report.check(
        printer_offered == PRINTER_TRIGGERS,
        "device triggers offered for the office printer on USB 1",
        str(sorted(printer_offered ^ PRINTER_TRIGGERS)),
    )
    ws.subscribe(FIRED)
    add_automation(stack, "job_failed", office, "job", "failed")
    add_automation(stack, "paper_jam", printer, "printer", "paper_jam")
    wait_until(lambda: "automation.check_paper_jam" in stack.states(), 30)
    check_job_failed_fires(stack, report, ws, "a failed job runs the job failed automation")
    wait_until(lambda: stack.states()["sensor.lianke_office_p1_status"]["state"] == "idle", 30)
    body = {"fault": "printer_problem", "device_id": BOXES["office"], "port": 1}
    fault(stack, body | {"paper_jam": True})
    stack.api("POST", "services/button/press", {"entity_id": "button.lianke_office_refresh"})
    data = fired(ws, "paper_jam")
    report.check(
        data is not None and data["event"] == "printer_problem",
        "a paper jam runs the printer's paper jam automation",
        json.dumps(data),
    )
    fault(stack, None)
    stack.api("POST", "services/button/press", {"entity_id": "button.lianke_office_refresh"})
    return ws


def check_job_failed_fires(stack: Stack, report: Report, ws: HaWebSocket, name: str) -> None:
    """A job that fails fires the office box's job failed trigger, with the cloud's message."""
    fault(stack, {"fault": "jobs_fail", "device_id": BOXES["office"]})
    print_url(stack, "office", f"https://x.test/trigger-{time.monotonic_ns()}.pdf")
    data = fired(ws, "job_failed", 90)
    fault(stack, None)
    report.check(
        data is not None and data["event"] == "job_failed" and bool(data["message"]),
        name,
        json.dumps(data, ensure_ascii=False),
    )


# ---- discovery mode switch, language ------------------------------------------------------------
def restart_bridge(stack: Stack, mode: str, language: str = "en") -> None:
    """Stop the bridge and start it with another discovery mode or language."""
    stack.stop("bridge")
    stack.start_bridge(mode, language)


def settled(stack: Stack, expected: list[Expected], mode: str) -> bool:
    """The bridge's configs are all in ``mode`` and every entity is back and available."""
    configs = stack.retained_configs()
    ours = [t for t in configs if "lianke" in t]
    in_device = [t for t in ours if t.startswith("homeassistant/device/")]
    if not ours or (mode == "device") != (len(in_device) == len(ours)):
        return False
    states = stack.states()
    return all(
        states.get(e.entity_id, {}).get("state", "unavailable") != "unavailable" for e in expected
    )


def check_mode_switch(
    stack: Stack, report: Report, ws: HaWebSocket, expected: list[Expected]
) -> None:
    """To the other discovery mode and back: the same entity ids, the triggers, a clean log."""
    first = stack.mode
    wanted = {e.entity_id for e in expected}
    office = device_id(stack, "sensor.lianke_office_queue")
    for mode in ("entity" if first == "device" else "device", first):
        since = log_offset(stack)
        restart_bridge(stack, mode)
        ok = wait_until(partial(settled, stack, expected, mode), 120, 2)
        time.sleep(5)  # what Home Assistant still had to log about the switch
        report.check(bool(ok), f"switch to {mode} discovery: every entity back and available")
        have = set(lianke_entities(stack))
        report.check(
            have == wanted,
            f"switch to {mode} discovery: the same entity ids",
            f"new {sorted(have - wanted)}, missing {sorted(wanted - have)}",
        )
        report.check(
            offered(ws, office) == BOX_TRIGGERS,
            f"switch to {mode} discovery: the office box's device triggers still offered",
        )
        lines = log_warnings(stack, since)
        for line in lines:
            print(f"      log: {line[:300]}")
        report.check(not lines, f"switch to {mode} discovery: Home Assistant logged no warning")
    check_job_failed_fires(
        stack, report, ws, "after switching back and forth the job failed automation still runs"
    )


def check_language(stack: Stack, report: Report, expected: list[Expected]) -> None:
    """homeassistant.language: zh-Hans: Chinese names, the same entity ids, a clean log."""
    since = log_offset(stack)
    wanted = {e.entity_id for e in expected}
    restart_bridge(stack, stack.mode, "zh-Hans")
    queue = "sensor.lianke_office_queue"

    def chinese() -> bool:
        states = stack.states()
        names = entity_names(stack, wanted)
        return all(CJK.search(n) for n in names.values()) and all(
            states.get(e, {}).get("state", "unavailable") != "unavailable" for e in wanted
        )

    ok = wait_until(chinese, WAIT * 2, 2)
    names = entity_names(stack, wanted)
    states = stack.states()
    wrong = [f"{e}: {n!r}" for e, n in sorted(names.items()) if not CJK.search(n)]
    wrong += [
        f"{e} {states.get(e, {}).get('state', 'missing')}"
        for e in sorted(wanted)
        if states.get(e, {}).get("state", "unavailable") == "unavailable"
    ]
    report.check(
        bool(ok) and not wrong,
        "zh-Hans: every entity named in Chinese (its own name, the device's apart), available",
        ", ".join(wrong[:8]),
    )
    name = states.get(queue, {}).get("attributes", {}).get("friendly_name")
    report.check(
        name == "链科云盒 office 队列",
        f"zh-Hans: {queue} is called 链科云盒 office 队列",
        repr(name),
    )
    printer = device_name(stack, "sensor.lianke_office_p1_status")
    report.check("（office USB 1）" in printer, "zh-Hans: a printer's device name", printer)
    have = set(lianke_entities(stack))
    report.check(
        have == wanted,
        "zh-Hans: the same entity ids",
        f"new {sorted(have - wanted)}, missing {sorted(wanted - have)}",
    )
    time.sleep(3)
    lines = log_warnings(stack, since)
    for line in lines:
        print(f"      log: {line[:300]}")
    report.check(not lines, "zh-Hans: Home Assistant logged no warning")
