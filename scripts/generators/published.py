"""The topics the bridge publishes besides its answers, and the ones it listens to besides requests.

Hand-kept (their payloads are the contract's snapshots of ``schemas/*.json``, not a command's
types); the commands' request and response topics come from the registry. Read by the
generators of ``schemas/index.json`` and the AsyncAPI document; ``tests/test_schemas.py`` checks
every message of an end-to-end run against the index, so an entry that is wrong fails there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    """One topic (or family of topics) the bridge publishes on."""

    address: str
    """The topic, its variable levels in braces: ``{base}/{device}/job/{task_id}``."""
    schema: str
    """Its payload's schema, a file under ``schemas/``."""
    summary: str
    """What it carries (one sentence, for the AsyncAPI document)."""
    retained: bool = False
    """Published retained (an empty retained payload clears it)."""
    text: bool = False
    """A plain-text payload (``online``, a number, a URL), not JSON."""
    index_topic: str | None = None
    """Its filter in ``schemas/index.json`` when not the address with ``+`` for each level."""

    @property
    def topic_filter(self) -> str:
        """``schemas/index.json``'s form: ``<base>/+/job/+``."""
        if self.index_topic is not None:
            return self.index_topic
        return index_filter(self.address)


def index_filter(address: str) -> str:
    """An address in ``schemas/index.json``'s form: ``<base>``, ``<prefix>``, ``+`` levels."""
    named = address.replace("{base}", "<base>").replace("{prefix}", "<prefix>")
    return re.sub(r"\{\w+\}", "+", named)


BRIDGE_TOPICS = (
    Published(
        "{base}/bridge/state",
        "online-offline.json",
        "online or offline: the bridge's MQTT last will, also published on a clean stop.",
        retained=True,
        text=True,
    ),
    Published(
        "{base}/bridge/info",
        "bridge-info.json",
        "The bridge's version, base topic, boxes, Home Assistant switch and start time.",
        retained=True,
    ),
    Published(
        "{base}/bridge/health",
        "bridge-health.json",
        "Uptime, memory, MQTT and cloud API counters, refreshed every minute.",
        retained=True,
    ),
    Published(
        "{base}/bridge/{instance}/state",
        "online-offline.json",
        "Like bridge/state, for instance i > 0 of a scaled-out bridge.",
        retained=True,
        text=True,
    ),
    Published(
        "{base}/bridge/{instance}/info",
        "bridge-info.json",
        "Like bridge/info, for instance i > 0 of a scaled-out bridge.",
        retained=True,
    ),
    Published(
        "{base}/bridge/{instance}/health",
        "bridge-health.json",
        "Like bridge/health, for instance i > 0 of a scaled-out bridge.",
        retained=True,
    ),
    Published(
        "{base}/bridge/fanout/{command}",
        "bridge-fanout.json",
        "A scaled-out bridge's instance asks the others to run a bridge-level command too.",
    ),
    Published(
        "{base}/bridge/event",
        "bridge-event.json",
        "Bridge events: a box online or offline, printers added or removed, rate limits.",
    ),
    Published(
        "{base}/bridge/log",
        "bridge-log.json",
        "The bridge's warnings and errors (repeats dropped).",
    ),
)
"""The bridge's own topics, in the order the index lists them."""

DEVICE_TOPICS = (
    Published(
        "{base}/{device}/availability",
        "online-offline.json",
        "online or offline: the box's connection to the cloud.",
        retained=True,
        text=True,
    ),
    Published(
        "{base}/{device}/state",
        "box-state.json",
        "The box's snapshot: online, queue, model, firmware, printers, last error.",
        retained=True,
    ),
    Published(
        "{base}/{device}/printer/{port}/state",
        "printer-state.json",
        "One printer's snapshot: status, problems, model, live status.",
        retained=True,
    ),
    Published(
        "{base}/{device}/queue",
        "queue.json",
        "The number of jobs waiting or in progress on the box.",
        retained=True,
        text=True,
    ),
    Published(
        "{base}/{device}/job/{task_id}",
        "job.json",
        "A job the bridge submitted, republished on every change; cleared 24 h after its end.",
        retained=True,
    ),
    Published(
        "{base}/{device}/last_job",
        "job.json",
        "The box's most recent job.",
        retained=True,
    ),
    Published(
        "{base}/{device}/job_event",
        "job-event.json",
        "A job's end (succeeded, failed or cancelled), for Home Assistant's event entity.",
    ),
    Published(
        "{base}/{device}/print_url/state",
        "print-url-state.json",
        "The last URL printed through Home Assistant's print_url text entity.",
        retained=True,
        text=True,
    ),
    Published(
        "{base}/{device}/event",
        "device-event.json",
        "Box events: a job's end, a printer's problem or recovery, the box online or offline.",
    ),
)
"""Each box's topics, in the order the index lists them."""

HOME_ASSISTANT_TOPICS = (
    Published(
        "{prefix}/{component}/{node_id}/{object_id}/config",
        "discovery.json",
        "Home Assistant discovery, one entity per topic (homeassistant.discovery: entity).",
        retained=True,
        index_topic="<prefix>/#",
    ),
    Published(
        "{prefix}/device/{node_id}/config",
        "discovery.json",
        "Home Assistant device discovery (the default): a box, a printer or the bridge.",
        retained=True,
        index_topic="<prefix>/#",
    ),
)
"""Home Assistant discovery (one filter in the index: everything under the prefix)."""


@dataclass(frozen=True)
class Received:
    """A topic the bridge listens to that is not a request: nothing is answered on it."""

    address: str
    """The topic, its variable levels in braces."""
    schema: str
    """What may come, a file under ``schemas/``."""
    summary: str
    """What comes on it (one sentence)."""
    does: str
    """What the bridge does with it (one sentence, the receive operation's summary)."""

    @property
    def topic_filter(self) -> str:
        """``schemas/index.json``'s form."""
        return index_filter(self.address)


RECEIVED_TOPICS = (
    Received(
        "{base}/bridge/callback",
        "bridge-callback.json",
        "The cloud's pushes, relayed as the cloud POSTed them (Home Assistant's webhook, the "
        "blueprint lianke_bridge/cloud_push_relay.yaml): a job's result, or the console's message "
        "about a box.",
        "A job's result counts only for a job the bridge submitted on that box: its end is "
        "confirmed with one job query, then published on the job's topics; a message about a box "
        "gets its device_info and printer_list asked at once (at most every 30 s). Nothing is "
        "answered.",
    ),
)
"""What the bridge listens to besides the requests, Home Assistant's status and the fan-outs."""
