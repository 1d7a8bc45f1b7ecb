"""Check lianke-bridge against a real Home Assistant: every entity, its state, its commands.

Not part of CI (Home Assistant is too heavy); run it by hand after changing discovery:

    python3.13 -m venv /tmp/ha/venv
    /tmp/ha/venv/bin/pip install homeassistant home-assistant-frontend paho-mqtt
    .venv/bin/python scripts/ha_check.py --ha-venv /tmp/ha/venv [--mode entity]

In a temporary directory it starts Mosquitto, the simulator (demo fleet), the bridge (boxes
``office`` and ``warehouse``) and Home Assistant with a fresh configuration; it onboards an owner
through Home Assistant's onboarding API (which hands out an auth code, traded for a token) and
adds the MQTT integration through the config flow API. Then, through the REST API, it checks
every entity the README promises (id, state, device and ``via_device``), presses every button,
sets the text, sends a notification, sees the job event fire and the cloud calls reach the
simulator, restarts Home Assistant and sees the retained states come back, and finally reads
Home Assistant's log for warnings. It prints PASS/FAIL per check; exit code 1 on any failure.
Only the standard library: it runs with any Python 3.11+.
"""

# ruff: noqa: T201, INP001  (a script that reports on stdout, not a package)

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BOXES = {"office": "lc01demo000001", "warehouse": "lc01demo000002"}
RIBBON_KINDS = {"label", "card", "dye_sublimation"}
NETWORK_PORT = 631
PRINT_URL = "https://example.com/ha-check.pdf"
NOTIFY_TEXT = "Printed by Home Assistant's notify entity"
# Log lines that say something about this machine, not about our payloads.
LOG_NOISE = re.compile(
    r"zlib_ng|turbojpeg|ffmpeg|FFmpeg|We found a custom integration|"
    r"Unable to set up dependencies|Setup failed for|recovery mode|"
    r"bluetooth|dbus|usb|ssdp|zeroconf|network interface|cloud|go2rtc|"
    r"Error doing job: Unclosed|Detected blocking call"
)
WAIT = 60.0


# ---- small helpers ------------------------------------------------------------------------------
def bridge_cli() -> str:
    """The ``lianke-bridge`` command beside this Python, else the repository's venv."""
    beside = Path(sys.executable).with_name("lianke-bridge")
    return str(beside if beside.exists() else REPO / ".venv" / "bin" / "lianke-bridge")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], Any], timeout: float = WAIT, step: float = 0.5) -> Any:
    """Call ``check`` until it returns something truthy; the last result (falsy) on timeout."""
    deadline = time.monotonic() + timeout
    result = None
    while time.monotonic() < deadline:
        with suppress(OSError, ValueError, KeyError):
            result = check()
            if result:
                return result
        time.sleep(step)
    return result


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    form: dict[str, str] | None = None,
) -> Any:
    """One HTTP call; JSON in and out (or a form). Raises on HTTP errors."""
    headers = {}
    data = None
    if form is not None:
        data = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in form.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class Report:
    """PASS/FAIL lines, printed as they come."""

    results: list[tuple[bool, str, str]] = field(default_factory=list)

    def check(self, ok: bool, name: str, detail: str = "") -> bool:
        """Record one check."""
        self.results.append((ok, name, detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name}{'  -- ' + detail if detail else ''}", flush=True)
        return ok

    @property
    def failed(self) -> int:
        """How many checks failed."""
        return sum(1 for ok, _, _ in self.results if not ok)


# ---- processes ----------------------------------------------------------------------------------
@dataclass
class Stack:
    """Mosquitto, the simulator, the bridge and Home Assistant, in one work directory."""

    work: Path
    ha_venv: Path
    mode: str
    mqtt_port: int = field(default_factory=free_port)
    sim_port: int = field(default_factory=free_port)
    ha_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    token: str = ""

    @property
    def sim(self) -> str:
        """The simulator's URL."""
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def ha(self) -> str:
        """Home Assistant's URL."""
        return f"http://127.0.0.1:{self.ha_port}"

    def spawn(self, name: str, args: list[str]) -> None:
        """Start one process, its output in ``<name>.log``."""
        log = (self.work / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(  # noqa: S603
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.work, start_new_session=True
        )

    def stop(self, name: str) -> None:
        """Stop one process (SIGTERM, then SIGKILL)."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def start_broker_simulator_bridge(self) -> None:
        """Mosquitto, the simulator with the demo fleet, and the bridge on both."""
        conf = self.work / "mosquitto.conf"
        conf.write_text(
            f"listener {self.mqtt_port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.spawn("mosquitto", [mosquitto, "-c", str(conf)])
        cli = bridge_cli()
        self.spawn("simulator", [cli, "simulate", "--port", str(self.sim_port)])
        wait_until(lambda: http("GET", f"{self.sim}/_sim/state"), 20)
        devices = "".join(
            f"  - name: {name}\n    device_id: {device_id}\n"
            f"    device_key: demo-key-000{device_id[-1]}\n"
            for name, device_id in BOXES.items()
        )
        (self.work / "bridge.yaml").write_text(
            "lianke:\n  api_key: demo-api-key\n"
            f"  base_url: {self.sim}\n"
            f"devices:\n{devices}"
            f"mqtt:\n  host: 127.0.0.1\n  port: {self.mqtt_port}\n  client_id: lianke-ha-check\n"
            f"homeassistant:\n  enabled: true\n  discovery: {self.mode}\n"
            "jobs:\n  poll_interval: 5\n"
            f"state_dir: {self.work / 'bridge-data'}\n"
        )
        self.spawn("bridge", [cli, "run", "-c", str(self.work / "bridge.yaml")])

    def fleet(self) -> dict[str, Any]:
        """The simulator's demo fleet (ports, kinds, ink markers)."""
        out = subprocess.run(  # noqa: S603
            [bridge_cli(), "simulate", "--print-fleet"], check=True, capture_output=True
        ).stdout
        fleet: dict[str, Any] = json.loads(out)
        return fleet

    def write_ha_config(self) -> None:
        """A minimal Home Assistant configuration: no default_config, nothing from the internet."""
        config = self.work / "ha"
        config.mkdir(exist_ok=True)
        (config / "configuration.yaml").write_text(
            "homeassistant:\n  name: lianke-bridge check\n  latitude: 52.5\n  longitude: 13.4\n"
            "  elevation: 0\n  unit_system: metric\n  time_zone: UTC\n  country: DE\n"
            "  currency: EUR\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.ha_port}\n"
            "api:\nconfig:\nonboarding:\n"
            "logger:\n  default: warning\n"
        )

    def start_ha(self) -> None:
        """Start Home Assistant and wait for its API."""
        self.spawn("home-assistant", [str(self.ha_venv / "bin" / "hass"), "-c", "ha"])
        ready = wait_until(lambda: http("GET", f"{self.ha}/api/onboarding"), 240, 1)
        if not ready:
            msg = "Home Assistant did not start: see home-assistant.log"
            raise RuntimeError(msg)

    def onboard(self) -> None:
        """Create the owner through onboarding and trade its auth code for a token."""
        client_id = f"{self.ha}/"
        answer = http(
            "POST",
            f"{self.ha}/api/onboarding/users",
            {
                "client_id": client_id,
                "name": "Check",
                "username": "check",
                "password": "check-password",  # a throwaway local instance
                "language": "en",
            },
        )
        token = http(
            "POST",
            f"{self.ha}/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": answer["auth_code"],
                "client_id": client_id,
            },
        )
        self.token = token["access_token"]
        (self.work / "token").write_text(self.token)

    def add_mqtt(self) -> dict[str, Any]:
        """Add the MQTT integration through its config flow (broker step)."""
        flow = self.api("POST", "config/config_entries/flow", {"handler": "mqtt"})
        if flow.get("step_id") != "broker":
            return dict(flow)
        result: dict[str, Any] = self.api(
            "POST",
            f"config/config_entries/flow/{flow['flow_id']}",
            {"broker": "127.0.0.1", "port": self.mqtt_port},
        )
        return result

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Home Assistant's REST API with the token."""
        return http(method, f"{self.ha}/api/{path}", body, token=self.token)

    def states(self) -> dict[str, dict[str, Any]]:
        """entity_id -> state object."""
        return {s["entity_id"]: s for s in self.api("GET", "states")}

    def requests(self) -> list[dict[str, Any]]:
        """What the simulator received so far."""
        answer = http("GET", f"{self.sim}/_sim/requests")
        return list(answer.get("requests", answer) if isinstance(answer, dict) else answer)

    def close(self) -> None:
        """Stop everything, the bridge before the broker."""
        for name in ("home-assistant", "bridge", "simulator", "mosquitto"):
            self.stop(name)


@contextmanager
def running(work: Path, ha_venv: Path, mode: str) -> Iterator[Stack]:
    """The whole stack, stopped again whatever happens."""
    stack = Stack(work, ha_venv, mode)
    try:
        yield stack
    finally:
        stack.close()


# ---- what the README promises -------------------------------------------------------------------
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
    """Every entity of the README's tables for the demo fleet, as Home Assistant should show it."""
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


def main() -> int:
    """Set everything up, run every check, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ha-venv", type=Path, required=True, help="venv with homeassistant")
    parser.add_argument("--mode", choices=["device", "entity"], default="device")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--workdir", type=Path, help="work here instead of a temp directory")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lianke-ha-check-"))
    work.mkdir(parents=True, exist_ok=True)
    report = Report()
    ha_version = subprocess.run(  # noqa: S603
        [str(args.ha_venv / "bin" / "hass"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"Home Assistant {ha_version}, discovery mode {args.mode}, work directory {work}")
    with running(work, args.ha_venv, args.mode) as stack:
        fleet = stack.fleet()
        stack.start_broker_simulator_bridge()
        stack.write_ha_config()
        stack.start_ha()
        stack.onboard()
        entry = stack.add_mqtt()
        report.check(
            entry.get("type") == "create_entry",
            "MQTT integration added through the config flow",
            str(entry.get("result", entry))[:200] if entry.get("type") != "create_entry" else "",
        )
        version = (
            subprocess.run(  # noqa: S603
                [bridge_cli(), "--version"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.split()
            or ["?"]
        )[-1]
        expected = expected_entities(fleet, version)
        check_entities(stack, report, expected)
        check_commands(stack, report, fleet)
        check_restart(stack, report, expected)
        check_problems(stack, report)
        check_reboot(stack, report)
        check_log(stack, report)
    print(f"\n{len(report.results) - report.failed} passed, {report.failed} failed")
    if not args.keep and not args.workdir and report.failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"logs in {work}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
