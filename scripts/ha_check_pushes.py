"""ha_check's pushes: the relay blueprint, imported into Home Assistant, carries the cloud's pushes.

The blueprint ``blueprints/automation/lianke_bridge/cloud_push_relay.yaml`` is copied into Home
Assistant's blueprint folder and instantiated through the automation config API; the bridge is
started with ``lianke.callback_url`` on that automation's webhook, and the simulator sends its
pushes there (its ``callback_proxy`` standing for Home Assistant's public https address). Jobs
are polled every 60 s meanwhile, so a job that ends within seconds ended by its push.
"""

# ruff: noqa: INP001  (part of a script, not a package)

from __future__ import annotations

import secrets
import shutil
from typing import Any

from ha_check_more import fault, print_url, restart_bridge
from ha_check_stack import Stack
from ha_check_support import REPO, Report, http, wait_until

BLUEPRINT = REPO / "blueprints" / "automation" / "lianke_bridge" / "cloud_push_relay.yaml"
PUBLIC = "https://ha.check.example"
"""Home Assistant's public address as the cloud knows it (the simulator forwards it)."""
OFFICE = "lc01demo000001"
PUSH_URL = "https://example.com/ha-check-push.pdf"
HTTP_OK = 200


def sim_state(stack: Stack) -> dict[str, Any]:
    """The simulator's state: boxes, jobs, the pushes it sent."""
    state: dict[str, Any] = http("GET", f"{stack.sim}/_sim/state")
    return state


def pushes_to(stack: Stack, url: str) -> list[dict[str, Any]]:
    """The push attempts the simulator made to ``url``."""
    return [c for c in sim_state(stack)["callbacks"] if c["url"] == url]


def job_queries(stack: Stack, task_id: str) -> int:
    """How many GET /api/print/job asked about the task."""
    return sum(
        1
        for r in stack.requests()
        if r["method"] == "GET"
        and r["path"] == "/api/print/job"
        and r["query"].get("task_id") == task_id
    )


def box_calls(stack: Stack) -> int:
    """How many device_info calls the office box had."""
    return sum(
        1
        for r in stack.requests()
        if r["path"].endswith("device_info") and r["query"].get("deviceId") == OFFICE
    )


def connectivity(stack: Stack) -> str | None:
    """The office box's connectivity in Home Assistant."""
    state = stack.states().get("binary_sensor.lianke_office_connectivity", {}).get("state")
    return None if state is None else str(state)


def check_push_relay(stack: Stack, report: Report) -> None:
    """Import the blueprint, relay a job's push and a message push through its webhook."""
    webhook = f"lianke-check-{secrets.token_hex(8)}"
    folder = stack.work / "ha" / "blueprints" / "automation" / "lianke_bridge"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BLUEPRINT, folder / BLUEPRINT.name)
    automation = {
        "id": "lianke_push_relay",
        "alias": "lianke push relay",
        "use_blueprint": {
            "path": f"lianke_bridge/{BLUEPRINT.name}",
            "input": {"webhook_id": webhook, "base_topic": "lianke"},
        },
    }
    stack.api("POST", "config/automation/config/lianke_push_relay", automation)
    relay = wait_until(
        lambda: stack.states().get("automation.lianke_push_relay", {}).get("state") == "on", 30
    )
    report.check(bool(relay), "blueprint cloud_push_relay.yaml imported and its automation on")
    url = f"{PUBLIC}/api/webhook/{webhook}"
    stack.callback_url = url
    restart_bridge(stack, stack.mode)
    fault(stack, {"fault": "callback_proxy", "target": stack.ha})
    wait_until(
        lambda: (
            stack.states().get("binary_sensor.lianke_office_connectivity", {}).get("state") == "on"
        ),
        60,
        1,
    )
    print_url(stack, "office", PUSH_URL)

    def pushed_job() -> str | None:
        attempts = pushes_to(stack, url)
        last = stack.states().get("sensor.lianke_office_last_job", {})
        task = last.get("attributes", {}).get("task_id")
        done = last.get("state") == "succeeded" and any(
            a["body"].get("task_id") == task and a.get("status") == HTTP_OK for a in attempts
        )
        return str(task) if done else None

    task_id = wait_until(pushed_job, 40, 1)  # polls come every 60 s: only the push explains it
    report.check(
        bool(task_id),
        "relay: the job's push reaches the webhook (200) and last_job says succeeded",
        repr(pushes_to(stack, url))[:300],
    )
    if task_id:
        queries = job_queries(stack, task_id)
        report.check(queries == 1, "relay: one confirming job query, no poll", f"{queries}")
    fault(stack, {"fault": "message_push", "url": url})
    before = box_calls(stack)
    fault(stack, {"fault": "box_offline", "device_id": OFFICE})
    refreshed = wait_until(lambda: box_calls(stack) > before and connectivity(stack) == "off", 40)
    report.check(
        bool(refreshed),
        "relay: the console's message push (box offline) makes the box asked at once",
        f"{[a.get('status') for a in pushes_to(stack, url)]}",
    )
    fault(stack, {"fault": "box_offline", "device_id": OFFICE, "offline": False})
    wait_until(lambda: connectivity(stack) == "on", 120, 1)  # the reboot check needs it
    fault(stack, {"fault": "message_push"})
