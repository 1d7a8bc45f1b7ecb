"""``job``: a task's state and result; a job the bridge follows is updated and published too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.state import JobRecord
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import task
from lianke_bridge.bridge.requests.model import Limits, Request
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.bridge.requests.ports import job_port
from lianke_bridge.wire import ApiState, JobStateWord, Port, Result, TaskId, extra


@dataclass(frozen=True)
class JobCommand(Request):
    """``job``: a task's state and result."""

    COMMAND: ClassVar[str] = "job"
    task_id: Annotated[str, extra(minLength=1)]
    """The id a print answer returned."""
    port: Port | None = None
    """The job's port (known for the jobs this bridge submitted)."""


@dataclass(frozen=True)
class UntrackedJobData:
    """The answer for a job this bridge does not follow: what the cloud says of it."""

    task_id: TaskId
    state: JobStateWord
    api_state: ApiState
    result: Result
    pages: int | None
    """Pages printed, once the cloud says."""


JobData = Annotated[
    JobRecord | UntrackedJobData,
    extra(
        description=(
            "The job JSON for a job this bridge follows; a smaller object for one it does not."
        )
    ),
]
"""The answer: the job JSON for a job this bridge follows; a smaller one for one it does not."""


def parse(command: str, body: Body, transaction: str | None, _: Limits) -> JobCommand:
    """job: a task id, and its port when the bridge does not follow the job."""
    return JobCommand(*task(command, body), transaction=transaction)


async def handle(ctx: RequestContext, box: Box, command: JobCommand) -> JobData:
    """A job's status (a tracked job is updated and published too)."""
    port = job_port(ctx, box, command.task_id, command.port)
    status = await ctx.client.job_status(box.credentials, command.task_id, port)
    tracked = ctx.jobs.jobs.get(command.task_id)
    if tracked is not None:
        return await ctx.jobs.apply(tracked, status)
    result = None
    if status.result_code is not None:
        result = {"code": status.result_code, "message": status.result_message}
    return UntrackedJobData(
        task_id=status.task_id,
        state=str(status.state),
        api_state=status.task_state.value,
        result=result,
        pages=status.total_pages,
    )


COMMAND = DeviceCommand(
    name="job",
    request=JobCommand,
    parse=parse,
    handle=handle,
    doc=CommandDoc(
        does="a job's status",
        payload="`task_id`",
        calls="`GET /api/print/job`",
        answer="the job JSON (a smaller object for a job this bridge does not follow)",
        does_zh="查询一个打印任务的状态",
    ),
)
