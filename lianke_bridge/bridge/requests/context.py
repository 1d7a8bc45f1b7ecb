"""What a request's handler may use of the running bridge: a narrow, explicit context.

Handlers get this instead of the service, so the request package never imports the service
(which imports it): the boxes' pollers, the cloud client, the job tracker, the publisher and
topics, and the three bridge-wide actions the service performs itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lianke_bridge.bridge.jobs.tracker import JobTracker
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.polling.poller import BoxPoller
from lianke_bridge.bridge.records.health import HealthCheckData
from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.cloud.client import LiankeClient


@dataclass(frozen=True)
class RequestContext:
    """The running bridge as the request handlers see it."""

    client: LiankeClient
    jobs: JobTracker
    pollers: Mapping[str, BoxPoller]
    """One per configured box, by its name."""
    publisher: Publisher
    topics: Topics
    emit: Callable[[str | None, dict[str, Any]], Awaitable[None]]
    """Publish an event on a device's (a name) or the bridge's (None) event topic."""
    republish: Callable[[], Awaitable[None]]
    """Re-announce discovery and every retained state."""
    health_check: Callable[[], HealthCheckData]
    """The ``health_check`` answer."""
