"""ha_check's check of the test and maintenance page buttons: each page reaches the simulator."""

# ruff: noqa: INP001  (part of a script, not a package)

from __future__ import annotations

from functools import partial
from typing import Any

from ha_check_checks import act
from ha_check_stack import Stack
from ha_check_support import BOXES, NETWORK_PORT, Report, wait_until


def page_printed(
    stack: Stack, since: int, *, box: str, device_id: str, port: int, page: str
) -> dict[str, Any] | None:
    """The print job of the bridge's ``page`` (naming ``box``) the simulator got after ``since``."""
    for request in stack.requests()[since:]:
        fields = request.get("fields", {})
        document = fields.get("jobFile")
        if (
            request["path"] == "/api/print/job"
            and request["method"] == "POST"
            and fields.get("deviceId") == device_id
            and str(fields.get("devicePort")) == str(port)
            and isinstance(document, dict)
            and document.get("filename") == f"{page}-page.html"
            and f"<td>{box}</td>" in document.get("text", "")
        ):
            return dict(request)
    return None


def check_page_buttons(stack: Stack, report: Report, fleet: dict[str, Any]) -> None:
    """Each printer's test and maintenance page buttons: the page reaches the simulator.

    Then the page jobs are seen to end in Home Assistant (every box's queue empty, its last job
    succeeded), so the checks after this one see no job still moving.
    """
    boxes = {box["device_id"]: box for box in fleet["boxes"]}
    for name, device_id in BOXES.items():
        for printer in boxes[device_id]["printers"]:
            port = printer["port"]
            api_port = 1 if port == NETWORK_PORT else port
            for page in ("test", "maintenance"):
                entity_id = f"button.lianke_{name}_p{port}_print_{page}_page"
                act(
                    stack,
                    report,
                    f"{entity_id}: press prints {page}-page.html",
                    service="button/press",
                    data={"entity_id": entity_id},
                    expect=partial(
                        page_printed,
                        stack,
                        box=name,
                        device_id=device_id,
                        port=api_port,
                        page=page,
                    ),
                )
    sensors = {f"sensor.lianke_{name}_{key}" for name in BOXES for key in ("queue", "last_job")}

    def ended() -> dict[str, str] | None:
        current = stack.states()
        states = {e: current.get(e, {}).get("state", "missing") for e in sorted(sensors)}
        done = all(
            value == ("0" if e.endswith("_queue") else "succeeded") for e, value in states.items()
        )
        return states if done else None

    finished = wait_until(ended, 120, 1)
    report.check(
        bool(finished),
        "the page jobs end: every queue empty, every last job succeeded",
        "" if finished else str({e: stack.states().get(e, {}).get("state") for e in sensors}),
    )
