"""ha_check's processes: Mosquitto, the simulator, the bridge, Home Assistant, in one work dir."""

# ruff: noqa: INP001  (part of a script, not a package)

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ha_check_support import BOXES, bridge_cli, free_port, http, wait_until


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
    callback_url: str = ""
    """The bridge's ``lianke.callback_url`` once the push check set one (empty: none)."""
    boxes: dict[str, str] = field(default_factory=lambda: dict(BOXES))
    """The boxes in the bridge's configuration (name -> device id): the demo fleet's two."""
    language: str = "en"
    """The bridge's ``homeassistant.language`` (as last started)."""

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
        self.start_bridge()

    def start_bridge(self, mode: str | None = None, language: str = "en") -> None:
        """(Re)write the bridge's configuration (a discovery mode, a language) and start it."""
        self.mode = mode or self.mode
        self.language = language
        devices = "".join(
            f"  - name: {name}\n    device_id: {device_id}\n"
            f"    device_key: demo-key-000{device_id[-1]}\n"
            for name, device_id in self.boxes.items()
        )
        # English is the default: left out, the file suits a bridge without the option too.
        names = f"  language: {language}\n" if language != "en" else ""
        pushes = f"  callback_url: {self.callback_url}\n" if self.callback_url else ""
        (self.work / "bridge.yaml").write_text(
            "lianke:\n  api_key: demo-api-key\n"
            f"  base_url: {self.sim}\n{pushes}"
            f"devices:\n{devices}"
            f"mqtt:\n  host: 127.0.0.1\n  port: {self.mqtt_port}\n  client_id: lianke-ha-check\n"
            f"homeassistant:\n  enabled: true\n  discovery: {self.mode}\n{names}"
            "jobs:\n  poll_interval: 5\n"
            f"state_dir: {self.work / 'bridge-data'}\n"
        )
        self.spawn("bridge", [bridge_cli(), "run", "-c", str(self.work / "bridge.yaml")])

    def retained_configs(self) -> dict[str, str]:
        """The discovery configs the broker holds now (topic -> payload), through mosquitto_sub."""
        sub = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
        out = subprocess.run(  # noqa: S603
            [
                *(sub, "-h", "127.0.0.1", "-p", str(self.mqtt_port), "-t", "homeassistant/#"),
                *("-v", "--retained-only", "-W", "2"),
            ],
            capture_output=True,
            check=False,
            text=True,
        ).stdout
        found = {}
        for line in out.splitlines():
            topic, _, payload = line.partition(" ")
            if topic.endswith("/config") and payload:
                found[topic] = payload
        return found

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
            "  currency: EUR\n  packages: !include_dir_named packages\n"  # the examples
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.ha_port}\n"
            "api:\nconfig:\nonboarding:\nwebsocket_api:\n"
            "webhook:\n"  # (default_config has it) the push relay blueprint's trigger
            "automation: !include automations.yaml\n"
            "logger:\n  default: warning\n"
        )
        (config / "automations.yaml").write_text("[]\n")
        (config / "packages").mkdir(exist_ok=True)

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
