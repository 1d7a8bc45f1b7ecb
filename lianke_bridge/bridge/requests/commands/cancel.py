"""``cancel``: revoke a task; its job shows ``cancelling`` until the cloud says it is revoked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.command import CommandDoc, DeviceCommand
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.fields import task
from lianke_bridge.bridge.requests.model import Limits, Request
from lianke_bridge.bridge.requests.payload import Body
from lianke_bridge.bridge.requests.ports import job_port
from lianke_bridge.wire import Port, TaskId, extra


@dataclass(frozen=True)
class CancelCommand(Request):
    """``cancel``: revoke a task."""

    COMMAND: ClassVar[str] = "cancel"
    task_id: Annotated[str, extra(minLength=1)]
    """The id a print answer returned."""
    port: Port | None = None
    """The job's port (known for the jobs this bridge submitted)."""


@dataclass(frozen=True)
class CancelData:
    """The answer: the cancel was accepted; the job says ``cancelled`` once the cloud does."""

    task_id: TaskId
    """The task being cancelled."""
    state: Literal["cancelling"] = "cancelling"
    """Always ``cancelling`` (the cloud's SET_REVOKE)."""


def parse(command: str, body: Body, transaction: str | None, _: Limits) -> CancelCommand:
    """cancel: a task id, and its port when the bridge does not follow the job."""
    return CancelCommand(*task(command, body), transaction=transaction)


async def handle(ctx: RequestContext, box: Box, command: CancelCommand) -> CancelData:
    """Cancel a job: SET_REVOKE now, REVOKED when the cloud says so."""
    port = job_port(ctx, box, command.task_id, command.port)
    await ctx.client.cancel_job(box.credentials, command.task_id, port)
    await ctx.jobs.mark_cancelling(command.task_id)
    return CancelData(command.task_id)


COMMAND = DeviceCommand(
    name="cancel",
    request=CancelCommand,
    parse=parse,
    handle=handle,
    doc=CommandDoc(
        does="cancels a job",
        payload="`task_id`",
        calls="`DELETE /api/print/job`",
        answer='`{"task_id", "state": "cancelling"}`',
        does_zh="取消一个打印任务",
    ),
    synced=True,
)
