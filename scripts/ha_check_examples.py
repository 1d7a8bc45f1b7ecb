"""ha_check's examples: the packages of examples/homeassistant, loaded and run in Home Assistant.

They are copied into Home Assistant's ``packages`` folder (``!include_dir_named packages``, as
their README says) and loaded by ``automation.reload`` and ``script.reload``: every automation
must come with its id. The script and the night's flush run at once; the job failed example
stays on for the blueprint check's failed job, the shopping list example runs with the to-do
list's; the others (a phone to notify) are turned off.
"""

# ruff: noqa: INP001  (part of a script, not a package)

from __future__ import annotations

import re
import shutil

from ha_check_automations import printed_since
from ha_check_stack import Stack
from ha_check_support import BOXES, REPO, Report, wait_until

EXAMPLES = REPO / "examples" / "homeassistant"


def check_examples(stack: Stack, report: Report) -> dict[str, str]:
    """The example packages load with their ids, the script prints, the night's flush flushes.

    All but the job failed automation are turned off (they wait for a phone, a time, a list);
    the example's automation ids -> entity ids.
    """
    packages = stack.work / "ha" / "packages"
    ids: dict[str, str] = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"^(automation|script):", text, re.MULTILINE):  # a package, not the card
            shutil.copy(path, packages / path.name)
            ids |= dict.fromkeys(re.findall(r"^  - id: (\S+)$", text, re.MULTILINE), path.name)
    stack.api("POST", "services/automation/reload", {})
    stack.api("POST", "services/script/reload", {})

    def loaded() -> dict[str, str]:
        found = {
            s["attributes"].get("id"): e
            for e, s in stack.states().items()
            if e.startswith("automation.")
        }
        return {i: found[i] for i in ids if i in found} if set(ids) <= set(found) else {}

    entities = wait_until(loaded, 30) or {}
    report.check(
        bool(entities) and "script.print_menu_two_copies" in stack.states(),
        "examples: the packages load, every automation with its id, the script",
        f"{sorted(set(ids) - set(entities))}",
    )
    for ident, entity in entities.items():
        if ident != "lianke_office_job_failed":
            stack.api("POST", "services/automation/turn_off", {"entity_id": entity})
    since = len(stack.requests())
    flush = entities.get("lianke_office_flush_queue_at_night", "automation.none")
    stack.api("POST", "services/automation/trigger", {"entity_id": flush})
    flushed = wait_until(
        lambda: [
            r
            for r in stack.requests()[since:]
            if r["path"] == "/api/print/flush_jobs"
            and r.get("fields", {}).get("deviceId") == BOXES["office"]
        ],
        30,
    )
    report.check(bool(flushed), "examples: flush_queue_at_night.yaml flushes the office queue")
    since = len(stack.requests())
    stack.api("POST", "services/script/turn_on", {"entity_id": "script.print_menu_two_copies"})
    menu = wait_until(
        lambda: [
            r
            for r in printed_since(stack, since)
            if r["fields"].get("jobFile") == "https://example.com/menu.pdf"
        ],
        30,
    )
    report.check(bool(menu), "examples: print_with_options.yaml's script prints the menu")
    return entities
