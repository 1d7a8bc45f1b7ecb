"""``republish`` (the bridge): re-announce Home Assistant discovery and every retained state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from lianke_bridge.bridge.requests.command import BridgeCommand, CommandDoc
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import NoArgCommand


@dataclass(frozen=True)
class RepublishCommand(NoArgCommand):
    """``republish``: no fields."""

    COMMAND: ClassVar[str] = "republish"


@dataclass(frozen=True)
class RepublishData:
    """The answer: discovery and every retained state were published again."""

    republished: Literal[True] = True


async def handle(ctx: RequestContext, _command: RepublishCommand) -> RepublishData:
    """Re-announce discovery and every retained state."""
    await ctx.republish()
    return RepublishData()


COMMAND = BridgeCommand(
    name="republish",
    request=RepublishCommand,
    parse=no_arg(RepublishCommand),
    handle=handle,
    doc=CommandDoc(
        does="re-announces discovery and every retained state",
        payload="any",
        answer='`{"republished": true}`',
        does_zh="重新发布自动发现消息和每一个保留的状态",
    ),
)
