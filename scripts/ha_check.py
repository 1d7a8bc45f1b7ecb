"""Check lianke-bridge against a real Home Assistant: every entity, its state, its commands.

Not part of CI (Home Assistant is too heavy); run it by hand after changing discovery:

    python3.13 -m venv /tmp/ha/venv
    /tmp/ha/venv/bin/pip install homeassistant home-assistant-frontend paho-mqtt
    .venv/bin/python scripts/ha_check.py --ha-venv /tmp/ha/venv [--mode entity]

In a temporary directory it starts Mosquitto, the simulator (demo fleet), the bridge (boxes
``office`` and ``warehouse``) and Home Assistant with a fresh configuration; it onboards an owner
through Home Assistant's onboarding API (which hands out an auth code, traded for a token) and
adds the MQTT integration through the config flow API. Then, through the REST API, it checks
every entity docs/home-assistant.md promises (id, state, device and ``via_device``), presses
every button, sets the text, sends a notification, sees the job event fire and the cloud calls
reach the simulator, restarts Home Assistant and sees the retained states come back. Through the
websocket API it reads the device triggers offered for a box and a printer, and runs automations
on them (a failed job, a paper jam). It switches the bridge to the other discovery mode and back
(the same entity ids, the triggers still offered and firing, no warning logged), then to Chinese
names (``homeassistant.language: zh-Hans``: Chinese names, the same entity ids). It unplugs a
printer and drops a box from the bridge's configuration (their entities, devices and triggers
leave Home Assistant, which logs nothing about it), then puts both back, and finally reads
Home Assistant's log for warnings. Before the reboot it imports the blueprint
``cloud_push_relay.yaml``, points the bridge's ``lianke.callback_url`` at its webhook and sees a
job's push and a message push reach the bridge through it. Then it makes automations from the
other blueprints and loads the example packages, and runs each (a failed job, paper out, a time a
few seconds ahead, a to-do list) with what it did checked. It prints PASS/FAIL per check; exit
code 1 on any failure.
Only the standard library (and ``mosquitto_sub``): it runs with any Python 3.11+.
"""

# ruff: noqa: T201, INP001  (a script that reports on stdout, not a package)

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ha_check_blueprints import check_blueprints
from ha_check_checks import (
    check_commands,
    check_entities,
    check_log,
    check_problems,
    check_reboot,
    check_restart,
)
from ha_check_expected import expected_entities
from ha_check_more import check_language, check_mode_switch, check_triggers
from ha_check_pages import check_page_buttons
from ha_check_pushes import check_push_relay
from ha_check_stack import running
from ha_check_support import Report, bridge_cli
from ha_check_unplug import check_unplug


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
        check_page_buttons(stack, report, fleet)
        check_restart(stack, report, expected)
        check_problems(stack, report)
        ws = check_triggers(stack, report)
        check_mode_switch(stack, report, ws, expected)
        check_language(stack, report, expected)
        check_unplug(stack, report, ws, expected)
        ws.close()
        check_push_relay(stack, report)
        check_blueprints(stack, report)
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
