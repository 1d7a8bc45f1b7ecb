"""ha_check's checks: entities, commands, restart, problems, reboot, Home Assistant's log."""

# ruff: noqa: T201, INP001  (part of a script that reports on stdout, not a package)

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from functools import partial
from typing import Any

from ha_check_expected import Expected
from ha_check_stack import Stack
from ha_check_support import (
    BOXES,
    LOG_NOISE,
    NETWORK_PORT,
    NOTIFY_TEXT,
    PRINT_URL,
    WAIT,
    Report,
    http,
    wait_until,
)

DEVICE_TEMPLATE = (
    "{% set ns = namespace(out={}) %}"
    "{% for e in entities %}{% set d = device_id(e) %}"
    "{% set v = device_attr(d, 'via_device_id') if d else None %}"
    "{% set ns.out = dict(ns.out, **{e: [device_attr(d, 'name') if d else None,"
    " device_attr(v, 'name') if v else None]}) %}"
    "{% endfor %}{{ ns.out | to_json }}"
)


# ---- the checks ---------------------------------------------------------------------------------
def check_entities(stack: Stack, report: Report, expected: list[Expected]) -> None:
    """Every promised entity exists, with a sensible state, on the right device."""
    wanted = {e.entity_id for e in expected}

    def all_there() -> bool:
        states = stack.states()
        return wanted <= set(states) and all(states[e]["state"] != "unavailable" for e in wanted)

    wait_until(all_there, WAIT)
    states = stack.states()
    template = "{% set entities = " + json.dumps(sorted(wanted)) + " %}" + DEVICE_TEMPLATE
    devices = stack.api("POST", "template", {"template": template})
    if isinstance(devices, str):
        devices = json.loads(devices)
    for item in expected:
        state = states.get(item.entity_id)
        if state is None:
            report.check(ok=False, name=item.entity_id, detail="missing")
            continue
        value = state["state"]
        problems = []
        if value == "unavailable" or (item.state is not None and not item.state(value)):
            problems.append(f"state {value!r}")
        name, via = devices.get(item.entity_id, [None, None])
        if not name or not (name == item.device or name.endswith(item.device)):
            problems.append(f"device {name!r}, expected {item.device!r}")
        if via != item.via:
            problems.append(f"via_device {via!r}, expected {item.via!r}")
        report.check(not problems, item.entity_id, "; ".join(problems) or f"{value!r} on {name}")
    ours = {
        s
        for s in states
        if s.split(".", 1)[1].startswith("lianke_") and s.split(".")[0] != "person"
    }
    extra = sorted(ours - wanted)
    report.check(not extra, "no unexpected lianke entities", ", ".join(extra))


def cloud_call(
    stack: Stack, since: int, *, path: str, device_id: str, port: int | None = None
) -> dict[str, Any] | None:
    """The first request to ``path`` for a box (and port) after ``since``."""
    for request in stack.requests()[since:]:
        values = {**request.get("query", {}), **request.get("fields", {})}
        if request["path"] != path or values.get("deviceId") != device_id:
            continue
        if port is not None and str(values.get("devicePort")) != str(port):
            continue
        return dict(request)
    return None


def act(
    stack: Stack,
    report: Report,
    name: str,
    *,
    service: str,
    data: dict[str, Any],
    expect: Callable[[int], Any],
) -> None:
    """Call a Home Assistant service and wait for its effect."""
    since = len(stack.requests())
    try:
        stack.api("POST", f"services/{service}", data)
    except urllib.error.HTTPError as error:
        report.check(ok=False, name=name, detail=f"{service}: HTTP {error.code} {error.read()!r}")
        return
    seen = wait_until(lambda: expect(since), 20)
    report.check(bool(seen), name, "" if seen else f"{service} had no effect")


def check_commands(stack: Stack, report: Report, fleet: dict[str, Any]) -> None:
    """Text, notify, the job event, and every button, seen at the simulator."""
    office = BOXES["office"]
    before = stack.states()["event.lianke_office_job"]["state"]

    def printed(since: int, url: str | None = None) -> Any:
        for request in stack.requests()[since:]:
            fields = request.get("fields", {})
            if (
                request["path"] == "/api/print/job"
                and request["method"] == "POST"
                and fields.get("deviceId") == office
                and (url is None or fields.get("jobFile") == url)
            ):
                return request
        return None

    act(
        stack,
        report,
        "text.lianke_office_print_url: set_value prints the URL",
        service="text/set_value",
        data={"entity_id": "text.lianke_office_print_url", "value": PRINT_URL},
        expect=lambda since: printed(since, PRINT_URL),
    )
    text_state = wait_until(
        lambda: stack.states()["text.lianke_office_print_url"]["state"] == PRINT_URL, 10
    )
    report.check(bool(text_state), "text.lianke_office_print_url shows the typed URL")
    act(
        stack,
        report,
        "notify.lianke_office_print: send_message prints the text",
        service="notify/send_message",
        data={"entity_id": "notify.lianke_office_print", "message": NOTIFY_TEXT, "title": "check"},
        expect=printed,
    )

    def fired() -> dict[str, Any] | None:
        state: dict[str, Any] = stack.states()["event.lianke_office_job"]
        return state if state["state"] not in (before, "unavailable") else None

    event = wait_until(fired, 90, 1)
    report.check(
        bool(event) and event["attributes"].get("event_type") == "succeeded",
        "event.lianke_office_job fires when a job ends",
        json.dumps(event["attributes"] if event else None)[:200],
    )
    # Two jobs went out: the event fired for the first, the sensor follows the latest.
    last = (
        wait_until(
            lambda: stack.states()["sensor.lianke_office_last_job"]["state"] == "succeeded", 90, 1
        )
        and stack.states()["sensor.lianke_office_last_job"]["state"]
    )
    report.check(last == "succeeded", "sensor.lianke_office_last_job after the job", repr(last))

    buttons: list[tuple[str, str, str, int | None]] = []
    boxes = {box["device_id"]: box for box in fleet["boxes"]}
    for name, device_id in BOXES.items():
        buttons += [
            (f"button.lianke_{name}_flush_queue", "/api/print/flush_jobs", device_id, None),
            (f"button.lianke_{name}_refresh", "/api/device/device_info", device_id, None),
            (
                f"button.lianke_{name}_rescan_printers",
                "/api/printer/refresh_network_printer",
                device_id,
                None,
            ),
        ]
        for printer in boxes[device_id]["printers"]:
            port = printer["port"]
            api_port = 1 if port == NETWORK_PORT else port  # the cloud's rule for port 631
            pre = f"button.lianke_{name}_p{port}"
            buttons += [
                (f"{pre}_flush_queue", "/api/print/flush_jobs", device_id, api_port),
                (
                    f"{pre}_reset_error_limit",
                    "/api/print/reset_printing_error_limit",
                    device_id,
                    api_port,
                ),
            ]
    for entity_id, path, device_id, port in buttons:
        act(
            stack,
            report,
            f"{entity_id}: press reaches {path}",
            service="button/press",
            data={"entity_id": entity_id},
            expect=partial(cloud_call, stack, path=path, device_id=device_id, port=port),
        )
    bridge_log = stack.work / "bridge.log"
    size = bridge_log.stat().st_size
    stack.api("POST", "services/button/press", {"entity_id": "button.lianke_bridge_republish"})
    republished = wait_until(
        lambda: "republish" in bridge_log.read_bytes()[size:].decode(errors="replace").lower(), 10
    )
    # The bridge may log nothing for a republish: fall back to its states staying valid.
    report.check(
        bool(republished)
        or stack.states()["sensor.lianke_bridge_version"]["state"] != "unavailable",
        "button.lianke_bridge_republish: press accepted",
    )


def check_restart(stack: Stack, report: Report, expected: list[Expected]) -> None:
    """Home Assistant restarts: every state comes back from the retained topics."""
    before = stack.states()
    stack.stop("home-assistant")
    started = time.monotonic()
    stack.start_ha()
    wanted = [e.entity_id for e in expected]

    def back() -> bool:
        states = stack.states()
        return all(states.get(e, {}).get("state", "unavailable") != "unavailable" for e in wanted)

    ok = wait_until(back, WAIT)
    took = time.monotonic() - started
    after = stack.states()
    changed = [
        f"{e}: {before[e]['state']!r} -> {after.get(e, {}).get('state')!r}"
        for e in wanted
        if e.startswith(("sensor.", "binary_sensor.", "text."))
        and e in before
        and not e.endswith("_queue")
        and after.get(e, {}).get("state") != before[e]["state"]
    ]
    report.check(bool(ok), "after a Home Assistant restart every entity is back", f"{took:.0f} s")
    report.check(not changed, "after a restart the states are the same", "; ".join(changed))


def check_problems(stack: Stack, report: Report) -> None:
    """Faults in the cloud show in Home Assistant: a paper jam, the error limit, a box offline."""
    office, warehouse = BOXES["office"], BOXES["warehouse"]

    def fault(body: dict[str, Any] | None) -> None:
        http("POST" if body else "DELETE", f"{stack.sim}/_sim/faults", body)

    def press(entity_id: str) -> None:
        stack.api("POST", "services/button/press", {"entity_id": entity_id})

    def shows(expected: dict[str, str], timeout: float = 30) -> str:
        """Wait for these states; '' when they came, else what HA shows instead."""

        def differing() -> dict[str, str]:
            states = stack.states()
            return {
                e: states.get(e, {}).get("state", "missing")
                for e, v in expected.items()
                if states.get(e, {}).get("state") != v
            }

        wait_until(lambda: not differing(), timeout)
        return ", ".join(f"{e} is {v!r}" for e, v in differing().items())

    p1 = "lianke_office_p1"
    fault({"fault": "printer_problem", "device_id": office, "port": 1, "paper_jam": True})
    press("button.lianke_office_refresh")
    wrong = shows(
        {
            f"sensor.{p1}_status": "paper_jam",
            f"binary_sensor.{p1}_paper_jam": "on",
            f"binary_sensor.{p1}_paper_out": "off",
        }
    )
    report.check(not wrong, "a paper jam shows as status paper_jam and Paper jam on", wrong)
    fault(None)
    press("button.lianke_office_refresh")
    wrong = shows({f"sensor.{p1}_status": "idle", f"binary_sensor.{p1}_paper_jam": "off"})
    report.check(not wrong, "the jam cleared shows idle again", wrong)

    # The cloud pauses a printer after failed jobs (errLimitNum 1: after one, not thirty).
    fault({"fault": "jobs_fail", "device_id": office})
    for name in ("a", "b"):
        payload = {"url": f"https://x.test/{name}.pdf", "options": {"errLimitNum": "1"}}
        stack.api(
            "POST",
            "services/mqtt/publish",
            {"topic": "lianke/office/request/print", "payload": json.dumps(payload), "qos": 1},
        )
        time.sleep(8 if name == "a" else 0)  # the first job has to fail first
    wrong = shows({f"binary_sensor.{p1}_error_limit_reached": "on"}, 60)
    report.check(not wrong, "failed jobs turn Error limit reached on", wrong)
    fault(None)
    press(f"button.{p1}_reset_error_limit")
    wrong = shows({f"binary_sensor.{p1}_error_limit_reached": "off"})
    report.check(not wrong, "Reset error limit turns it off", wrong)

    fault({"fault": "box_offline", "device_id": warehouse})
    press("button.lianke_warehouse_refresh")
    wrong = shows(
        {
            "binary_sensor.lianke_warehouse_connectivity": "off",
            "sensor.lianke_warehouse_queue": "unavailable",
            "sensor.lianke_warehouse_p1_status": "unavailable",
            "sensor.lianke_warehouse_firmware": stack.states()["sensor.lianke_warehouse_firmware"][
                "state"
            ],
        }
    )
    report.check(
        not wrong, "a box offline: connection off, its commands and printers unavailable", wrong
    )
    fault({"fault": "box_offline", "device_id": warehouse, "offline": False})
    press("button.lianke_warehouse_refresh")
    wrong = shows(
        {
            "binary_sensor.lianke_warehouse_connectivity": "on",
            "sensor.lianke_warehouse_p1_status": "idle",
        }
    )
    report.check(not wrong, "the box back online: everything available again", wrong)


def check_reboot(stack: Stack, report: Report) -> None:
    """Reboot buttons last: the box goes offline for a while."""
    for name, device_id in BOXES.items():
        act(
            stack,
            report,
            f"button.lianke_{name}_reboot: press reaches the reboot call",
            service="button/press",
            data={"entity_id": f"button.lianke_{name}_reboot"},
            expect=partial(
                cloud_call, stack, path="/api/device/async_device_reboot", device_id=device_id
            ),
        )


def check_log(stack: Stack, report: Report) -> None:
    """Home Assistant's log: no warning or error about MQTT, templates or our payloads."""
    # A restart moves the first run's log to home-assistant.log.1: read both.
    logs = sorted((stack.work / "ha").glob("home-assistant.log*"), reverse=True)
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    lines = [
        line
        for line in text.splitlines()
        if re.match(r"^\S+ \S+ (WARNING|ERROR|CRITICAL)", line) and not LOG_NOISE.search(line)
    ]
    for line in lines:
        print(f"      log: {line[:300]}")
    report.check(not lines, "home-assistant.log has no warnings about MQTT or our payloads")
