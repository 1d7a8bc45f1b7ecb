"""ha_check's blueprints: each one instantiated in Home Assistant, run, what it did seen.

The blueprints of ``blueprints/automation/lianke_bridge`` are copied into Home Assistant's
blueprint folder and instantiated through the automation config API (what "Create automation"
does), beside the example packages (ha_check_examples.py). Each is then made to run by what it
waits for (a failed job in the simulator, paper out, a time a few seconds ahead,
``automation.trigger``) and what it did is read back: the notification Home Assistant shows (its
words), the user's own actions it ran, the request the bridge received on MQTT, the print the
simulator got, the printer it skipped and why.
"""

# ruff: noqa: INP001  (part of a script, not a package)

from __future__ import annotations

import json
import re
import shutil
from typing import Any

from ha_check_automations import (
    RequestWatch,
    notifications,
    printed_since,
    printing_text,
    refresh,
    status,
    tell,
    use_blueprint,
)
from ha_check_examples import check_examples
from ha_check_more import FIRED, device_name, fault, fired, print_url
from ha_check_stack import Stack
from ha_check_support import BOXES, REPO, Report, wait_until
from ha_check_ws import HaWebSocket

BLUEPRINTS = REPO / "blueprints" / "automation" / "lianke_bridge"
P1 = "lianke_office_p1"
NETWORK = "lianke_office_p631"
MAINTENANCE = "_print_maintenance_page"
JOB_FAILED = re.compile(r"^Job (\S+) on (.+) failed: (.+) \(code (\d+)\)\.$")


# ---- job failed ---------------------------------------------------------------------------------
def check_job_failed(stack: Stack, report: Report, ws: HaWebSocket) -> None:
    """A failed job: the blueprint's notification and the example's say the reason in words."""
    boxes = ["event.lianke_office_job"]
    use_blueprint(
        stack,
        "lianke_bp_job_failed",
        "job_failed",
        {"boxes": boxes, "more_actions": tell("bp_job_failed", message="{{ message }}")},
    )
    use_blueprint(
        stack,
        "lianke_bp_job_failed_zh",
        "job_failed",
        {
            "boxes": boxes,
            "language": "zh-Hans",
            "persistent": False,
            "more_actions": tell("bp_job_failed_zh", message="{{ message }}"),
        },
    )
    fault(stack, {"fault": "jobs_fail", "device_id": BOXES["office"]})
    print_url(stack, "office", "https://x.test/blueprint-job-failed.pdf")
    english, chinese = fired(ws, "bp_job_failed", 90), fired(ws, "bp_job_failed_zh", 10)
    fault(stack, None)
    message = (english or {}).get("message", "")
    words = JOB_FAILED.match(message)
    port = stack.states()["event.lianke_office_job"]["attributes"].get("port")
    printer = device_name(stack, f"sensor.lianke_office_p{port}_status")
    report.check(
        words is not None
        and words[2] == printer
        and "转换文件格式失败" in words[3]
        and words[4] == "502",
        "blueprint job_failed.yaml: the job, the printer and the cloud's reason in words",
        message,
    )
    task_id = words[1] if words else "?"
    shown = wait_until(lambda: notifications(ws).get(f"lianke_job_{task_id}"), 10) or {}
    report.check(
        shown.get("message") == message and shown.get("title") == "Printing failed",
        "blueprint job_failed.yaml: the same words in Home Assistant's notifications",
        json.dumps(shown, ensure_ascii=False)[:300],
    )
    zh = (chinese or {}).get("message", "")
    report.check(
        zh.startswith(f"{printer}上的打印任务 {task_id} 失败：转换文件格式失败")
        and zh.endswith("（代码 502）。"),
        "blueprint job_failed.yaml in Chinese",
        zh,
    )
    example = [
        n["message"]
        for n in notifications(ws).values()
        if n.get("title") == "Printing failed" and not n["notification_id"].startswith("lianke_")
    ]
    report.check(
        any(
            m.startswith(f"Job {task_id} on port {port} failed: 转换文件格式失败")
            and m.endswith("(code 502)")
            for m in example
        ),
        "examples: job_failed.yaml says the reason in words, not a dict",
        json.dumps(example, ensure_ascii=False)[:300],
    )


# ---- printer needs attention, maintenance page --------------------------------------------------
def check_attention_and_maintenance(stack: Stack, report: Report, ws: HaWebSocket) -> None:
    """Paper out: told in words; the maintenance page skips that printer, prints on the other."""
    use_blueprint(
        stack,
        "lianke_bp_attention",
        "printer_needs_attention",
        {
            "printers": [f"sensor.{P1}_status", f"sensor.{NETWORK}_status"],
            "for": {"hours": 0, "minutes": 0, "seconds": 2},
            "more_actions": tell("bp_attention", message="{{ message }}"),
        },
    )
    wait_until(lambda: status(stack, f"sensor.{P1}_status") == "idle", 30)
    fault(
        stack,
        {"fault": "printer_problem", "device_id": BOXES["office"], "port": 1} | {"paper_out": True},
    )
    refresh(stack)
    told = (fired(ws, "bp_attention", 60) or {}).get("message", "")
    printer = device_name(stack, f"sensor.{P1}_status")
    says = stack.states()[f"sensor.{P1}_status"]["attributes"].get("message")
    expected = f"{printer} is out of paper." + (f" The printer says: {says}" if says else "")
    report.check(
        told == expected, "blueprint printer_needs_attention.yaml: paper out, in words", told
    )
    notification = f"lianke_attention_sensor_{P1}_status"
    shown = notifications(ws).get(notification, {})
    report.check(
        shown.get("message") == expected,
        "blueprint printer_needs_attention.yaml: the notification in Home Assistant",
        json.dumps(shown, ensure_ascii=False)[:300],
    )
    check_maintenance(stack, report, ws, printer)
    fault(stack, None)
    refresh(stack)
    gone = wait_until(lambda: notification not in notifications(ws), 60)
    report.check(
        bool(gone), "blueprint printer_needs_attention.yaml: paper back, the notification goes"
    )


def check_maintenance(stack: Stack, report: Report, ws: HaWebSocket, jammed: str) -> None:
    """At a time a few seconds ahead: USB 1 (paper out) skipped with its reason, 631 printed."""
    buttons = [f"button.{P1}{MAINTENANCE}", f"button.{NETWORK}{MAINTENANCE}"]
    missing = [b for b in buttons if b not in stack.states()]
    if missing:
        report.check(ok=False, name="blueprint maintenance_page.yaml", detail=f"no {missing}")
        return
    when = stack.api(
        "POST",
        "template",
        {"template": "{{ (now() + timedelta(seconds=25)).strftime('%H:%M:%S %a') }}"},
    ).split()
    watch = RequestWatch(stack)
    since = len(stack.requests())
    try:
        use_blueprint(
            stack,
            "lianke_bp_maintenance",
            "maintenance_page",
            {
                "printers": buttons,
                "at": when[0],
                "weekdays": [when[1].lower()],
                "when_skipped": tell(
                    "bp_maintenance_skipped", printer="{{ printer }}", reason="{{ reason }}"
                ),
            },
        )
        skipped = fired(ws, "bp_maintenance_skipped", 60)
        report.check(
            skipped
            == {
                "which": "bp_maintenance_skipped",
                "printer": jammed,
                "reason": "it is out of paper",
            },
            "blueprint maintenance_page.yaml: at its time, the printer out of paper skipped, why",
            json.dumps(skipped, ensure_ascii=False),
        )

        def pages() -> list[dict[str, Any]]:
            return watch.seen(lambda _t, p: p.get("page") == "maintenance")

        def page_printed() -> list[dict[str, Any]]:
            return [
                r
                for r in printed_since(stack, since)
                if isinstance(document := r["fields"].get("jobFile"), dict)
                and document.get("filename") == "maintenance-page.html"
            ]

        pressed = wait_until(pages, 20)
        ports = sorted(str(p.get("port")) for p in pressed or [])
        printed = wait_until(page_printed, 30) or []
        report.check(
            ports == ["631"] and len(printed) == 1,
            "blueprint maintenance_page.yaml: the idle printer's button pressed, its page printed",
            f"maintenance requests for printers {ports}, {len(printed)} maintenance pages printed",
        )
    finally:
        watch.close()
    stack.api(
        "POST", "services/automation/turn_off", {"entity_id": "automation.lianke_bp_maintenance"}
    )


# ---- a to-do list -------------------------------------------------------------------------------
def check_todo(stack: Stack, report: Report, examples: dict[str, str]) -> None:
    """The shopping list's open items, printed through the office box's Print entity.

    By the blueprint (its title, the date, the items) and by the example (its own title).
    """
    todo = "todo.shopping_list"
    flow = stack.api("POST", "config/config_entries/flow", {"handler": "shopping_list"})
    stack.api("POST", f"config/config_entries/flow/{flow['flow_id']}", {})  # its one empty form
    if not wait_until(lambda: todo in stack.states(), 30):
        report.check(ok=False, name="blueprint print_todo_list.yaml", detail=f"no {todo}")
        return
    for item in ("Milk", "Eggs", "Bread"):
        stack.api("POST", "services/todo/add_item", {"entity_id": todo, "item": item})
    stack.api(
        "POST",
        "services/todo/update_item",
        {"entity_id": todo, "item": "Bread", "status": "completed"},
    )
    entity = use_blueprint(
        stack,
        "lianke_bp_todo",
        "print_todo_list",
        {"todo_list": todo, "printer": "notify.lianke_office_print", "title": "Shopping"},
    )
    today = stack.api("POST", "template", {"template": "{{ now().strftime('%Y-%m-%d') }}"})
    watch = RequestWatch(stack)
    since = len(stack.requests())
    try:
        stack.api("POST", "services/automation/trigger", {"entity_id": entity})
        example = examples.get("lianke_office_print_shopping_list", "automation.none")
        stack.api("POST", "services/automation/trigger", {"entity_id": example})

        def texts_printed() -> list[str]:
            return [p["text"] for p in watch.seen(printing_text)]

        wait_until(lambda: texts_printed()[1:], 30)  # the blueprint's and the example's
        texts = texts_printed()
    finally:
        watch.close()
    expected = f"Shopping\n{today}\n\n[ ] Milk\n[ ] Eggs"
    report.check(
        expected in texts and bool(wait_until(lambda: printed_since(stack, since), 30)),
        "blueprint print_todo_list.yaml: the open items printed through notify.lianke_office_print",
        json.dumps(texts, ensure_ascii=False),
    )
    shopping = [t for t in texts if t.startswith("Shopping list, ")]
    report.check(
        len(shopping) == 1 and shopping[0].endswith("\n\n[ ] Milk\n[ ] Eggs"),
        "examples: print_shopping_list.yaml prints the open items",
        json.dumps(shopping, ensure_ascii=False),
    )


def check_blueprints(stack: Stack, report: Report) -> None:
    """Every blueprint and example, run in Home Assistant, with what it did."""
    folder = stack.work / "ha" / "blueprints" / "automation" / "lianke_bridge"
    folder.mkdir(parents=True, exist_ok=True)
    for path in BLUEPRINTS.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    ws = HaWebSocket(stack.ha, stack.token)
    try:
        ws.subscribe(FIRED)
        examples = check_examples(stack, report)
        check_job_failed(stack, report, ws)
        check_attention_and_maintenance(stack, report, ws)
        check_todo(stack, report, examples)
    finally:
        ws.close()
