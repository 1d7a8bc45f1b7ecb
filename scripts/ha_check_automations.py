"""ha_check's tools for automations: make one from a blueprint, see what it did.

What an automation did is read where it shows: Home Assistant's notifications, the requests the
bridge received on MQTT (a ``mosquitto_sub`` started for the purpose), the prints the simulator
got. The user's own actions of a blueprint fire ``FIRED`` with what the blueprint handed them.
"""

# ruff: noqa: INP001  (part of a script, not a package)

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from ha_check_more import FIRED
from ha_check_stack import Stack
from ha_check_support import BOXES, wait_until
from ha_check_ws import HaWebSocket

READY = "lianke-check/watch"
WATCHED = ("-t", "lianke/+/request/#", "-t", READY)


class RequestWatch:
    """Every request published under ``lianke/+/request/`` from now on (mosquitto_sub -v)."""

    def __init__(self, stack: Stack) -> None:
        self.path = stack.work / "requests-seen.log"
        sub = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
        with self.path.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [sub, "-h", "127.0.0.1", "-p", str(stack.mqtt_port), "-v", *WATCHED],
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
        marker = {"topic": READY, "payload": json.dumps({"ready": True})}

        def subscribed() -> bool:
            """A message of our own came through (else send one, for the next look)."""
            if self.seen(lambda topic, _: topic == READY):
                return True
            stack.api("POST", "services/mqtt/publish", marker)
            return False

        wait_until(subscribed, 10, 0.3)

    def seen(self, match: Callable[[str, dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The JSON payloads seen so far that ``match`` (topic, payload) accepts."""
        found = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            topic, _, payload = line.partition(" ")
            try:
                data = json.loads(payload)
            except ValueError:
                continue
            if isinstance(data, dict) and match(topic, data):
                found.append(data)
        return found

    def close(self) -> None:
        """Stop the mosquitto_sub this started."""
        self.proc.terminate()
        self.proc.wait(10)


def tell(which: str, **values: str) -> list[dict[str, Any]]:
    """A user's own actions: fire FIRED with what the blueprint handed them."""
    return [{"event": FIRED, "event_data": {"which": which, **values}}]


def use_blueprint(stack: Stack, ident: str, name: str, inputs: dict[str, Any]) -> str:
    """An automation made from a blueprint (as the editor saves it); its entity id once on."""
    alias = ident.replace("_", " ")
    config = {
        "id": ident,
        "alias": alias,
        "use_blueprint": {"path": f"lianke_bridge/{name}.yaml", "input": inputs},
    }
    stack.api("POST", f"config/automation/config/{ident}", config)
    entity = f"automation.{ident}"
    wait_until(lambda: stack.states().get(entity, {}).get("state") == "on", 30)
    return entity


def notifications(ws: HaWebSocket) -> dict[str, dict[str, Any]]:
    """Home Assistant's notifications (the bell): id -> notification."""
    return {n["notification_id"]: n for n in ws.call({"type": "persistent_notification/get"})}


def printed_since(stack: Stack, since: int) -> list[dict[str, Any]]:
    """Print jobs the office box got at the simulator after request number ``since``."""
    return [
        r
        for r in stack.requests()[since:]
        if r["path"] == "/api/print/job"
        and r["method"] == "POST"
        and r.get("fields", {}).get("deviceId") == BOXES["office"]
    ]


def refresh(stack: Stack) -> None:
    """Poll the office box now."""
    stack.api("POST", "services/button/press", {"entity_id": "button.lianke_office_refresh"})


def status(stack: Stack, entity: str) -> str | None:
    """One entity's state."""
    value = stack.states().get(entity, {}).get("state")
    return None if value is None else str(value)


def printing_text(topic: str, payload: dict[str, Any]) -> bool:
    """A print request with text (what a notify entity sends)."""
    return topic.endswith("/request/print") and "text" in payload
