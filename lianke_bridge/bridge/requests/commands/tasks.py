"""``tasks``: the box's tasks of the last day, in the job topics' formats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import JsonObject, NoArgCommand


@dataclass(frozen=True)
class TasksCommand(NoArgCommand):
    """``tasks``: no fields."""

    COMMAND: ClassVar[str] = "tasks"


async def handle(ctx: RequestContext, box: Box, _command: TasksCommand) -> JsonObject:
    """The box's tasks of the last day."""
    tasks = await ctx.client.device_tasks(box.credentials)
    return {"tasks": ctx.jobs.tasks_json(tasks)}


COMMAND = DeviceCommand(
    name="tasks", request=TasksCommand, parse=no_arg(TasksCommand), handle=handle
)
