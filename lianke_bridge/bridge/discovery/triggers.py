"""The device triggers of a box and a printer, on events the bridge already publishes. Pure.

Home Assistant's automation editor offers them under "When <device> ..." (``device_automation``
discovery). Each listens to a non-retained event topic, never to a retained state: a retained
message would fire the trigger again at every start of Home Assistant.

- A box: ``job`` ``submitted`` / ``succeeded`` / ``failed`` / ``cancelled`` and ``box``
  ``offline`` / ``online`` on ``<base>/<dev>/event`` (``job_submitted``, ``job_finished``,
  ``job_failed``, ``job_cancelled``, ``device_offline``, ``device_online``); ``box``
  ``error_limit_reached`` on ``<base>/bridge/event`` (``error_limit`` naming the box).
- A printer: ``printer`` ``paper_out`` / ``paper_jam`` / ``cover_open`` / ``out_of_ink`` (and
  ``out_of_ribbon`` where there is a ribbon) on ``<base>/<dev>/event`` (``printer_problem`` of
  its port with that status); ``printer`` ``error_limit_reached`` like the box's, since the cloud
  pauses every port of the box at once.

The trigger hands the event's JSON to the automation as ``trigger.payload_json``.
"""

from __future__ import annotations

import json

from lianke_bridge.bridge.discovery.model import DiscoveryContext, HaTrigger
from lianke_bridge.bridge.records.topics import Topics

EVENT_TEMPLATE = "{{ value_json.get('event') }}"
"""The event's name: ``job_failed``, ``device_offline``…"""

JOB_TRIGGERS: tuple[tuple[str, str], ...] = (
    ("submitted", "job_submitted"),
    ("succeeded", "job_finished"),
    ("failed", "job_failed"),
    ("cancelled", "job_cancelled"),
)
"""``job`` subtypes and the ``<base>/<dev>/event`` event each fires on."""
BOX_TRIGGERS: tuple[tuple[str, str], ...] = (
    ("offline", "device_offline"),
    ("online", "device_online"),
)
"""``box`` subtypes on ``<base>/<dev>/event``."""
ERROR_LIMIT_EVENT = "error_limit"
"""The ``<base>/bridge/event`` event of a job the cloud refused after too many failures."""


def _error_limit_template(device: str) -> str:
    return (
        "{{ value_json.get('event') if value_json.get('device') == "
        + json.dumps(device)  # a valid Jinja string literal
        + " else '' }}"
    )


def _problem_template(port: int) -> str:
    return (
        "{{ value_json.get('status') if value_json.get('event') == 'printer_problem'"
        f" and value_json.get('port') == {port:d} else '' }}}}"
    )


def box_triggers(ctx: DiscoveryContext, device: str) -> tuple[HaTrigger, ...]:
    """A box's triggers: its jobs, its cloud connection and the error limit."""
    topics: Topics = ctx.topics
    events = topics.event(device)
    found = [
        HaTrigger(f"job_{subtype}", "job", subtype, events, EVENT_TEMPLATE, event)
        for subtype, event in JOB_TRIGGERS
    ]
    found += [
        HaTrigger(f"box_{subtype}", "box", subtype, events, EVENT_TEMPLATE, event)
        for subtype, event in BOX_TRIGGERS
    ]
    found.append(
        HaTrigger(
            "box_error_limit_reached",
            "box",
            "error_limit_reached",
            topics.bridge_event,
            _error_limit_template(device),
            ERROR_LIMIT_EVENT,
        )
    )
    return tuple(found)


def printer_triggers(
    ctx: DiscoveryContext, device: str, port: int, problems: tuple[str, ...]
) -> tuple[HaTrigger, ...]:
    """A printer's triggers: each problem it can report, and the error limit of its box."""
    topics = ctx.topics
    found = [
        HaTrigger(
            f"printer_{problem}",
            "printer",
            problem,
            topics.event(device),
            _problem_template(port),
            problem,
        )
        for problem in problems
    ]
    found.append(
        HaTrigger(
            "printer_error_limit_reached",
            "printer",
            "error_limit_reached",
            topics.bridge_event,
            _error_limit_template(device),
            ERROR_LIMIT_EVENT,
        )
    )
    return tuple(found)
