"""``health_check`` (the bridge): whether MQTT and the cloud work, and each box's last poll.

Its answer (``records/health.py``) is filled by the bridge's monitor (``monitoring/``), which
keeps the counters; the command only asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.records.health import HealthCheckData
from lianke_bridge.bridge.requests.command import BridgeCommand, CommandDoc
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import NoArgCommand


@dataclass(frozen=True)
class HealthCheckCommand(NoArgCommand):
    """``health_check``: no fields."""

    COMMAND: ClassVar[str] = "health_check"


async def handle(ctx: RequestContext, _command: HealthCheckCommand) -> HealthCheckData:
    """Whether MQTT and the cloud work, and each box's last poll."""
    return ctx.health_check()


COMMAND = BridgeCommand(
    name="health_check",
    request=HealthCheckCommand,
    parse=no_arg(HealthCheckCommand),
    handle=handle,
    doc=CommandDoc(
        does="whether MQTT and the cloud work, and each box's last poll",
        payload="any",
        answer='`{"healthy", "mqtt", "api", "devices": {"<dev>": {"online", "last_poll"}}}`',
        does_zh="MQTT 和链科云是否正常，以及每台云盒最近一次轮询的情况",
    ),
)
