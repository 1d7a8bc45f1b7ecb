"""``tasks``: the box's tasks of the last day, in the job topics' formats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.state import TaskRow
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import no_arg
from lianke_bridge.bridge.requests.model import NoArgCommand


@dataclass(frozen=True)
class TasksCommand(NoArgCommand):
    """``tasks``: no fields."""

    COMMAND: ClassVar[str] = "tasks"


@dataclass(frozen=True)
class TasksData:
    """The answer: the box's tasks of the last day."""

    tasks: list[TaskRow]
    """Each task in the job topics' formats, as the cloud lists them."""


async def handle(ctx: RequestContext, box: Box, _command: TasksCommand) -> TasksData:
    """The box's tasks of the last day."""
    tasks = await ctx.client.device_tasks(box.credentials)
    return TasksData(ctx.jobs.task_rows(tasks))


COMMAND = DeviceCommand(
    name="tasks",
    request=TasksCommand,
    parse=no_arg(TasksCommand),
    handle=handle,
    doc=CommandDoc(
        does=(
            "the box's tasks of the last day, in the job's formats (`created_at`/`updated_at` ISO "
            "8601 with the cloud clock's offset, `result` null while unknown)"
        ),
        calls=(
            "`POST /api/print/query_device_task`; `data.tasks` lists `task_id`, `state`, "
            "`api_state`, `result` and `created_at` / `updated_at` in the job JSON's formats (the "
            "cloud's times with the cloud clock's offset)"
        ),
        answer=(
            '`{"tasks": [{"task_id", "state", "api_state", "result", "created_at", "updated_at"}]}`'
        ),
        does_zh=(
            "云盒最近一天的任务，格式与打印任务相同（`created_at`/`updated_at` 为 ISO 8601，"
            "带链科云时钟的时区偏移；结果未知时 `result` 为 null）"
        ),
    ),
)
