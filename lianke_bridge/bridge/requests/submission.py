"""What every command that submits a print job shares: the submission, its answer, its recovery.

``print`` submits the requester's document; a command printing a page the bridge renders (a
test page) submits that page the same way: the job recorded around its cloud call and followed
to its end (``jobs.py``), its answer the new job (its topics published after it), the cloud's
error limit (11203) marked on the box, and, after a crash between the call and the answer, the
job found again (:func:`recover`, the command's ``recover`` hook).
"""

from __future__ import annotations

from dataclasses import dataclass

from lianke_bridge import errors
from lianke_bridge.bridge.records.answer import Answer
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.state import JobRecord
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.cloud.models import PrintRequest
from lianke_bridge.wire import Port, TaskId


@dataclass(frozen=True)
class SubmittedJob:
    """The answer: the new job, as its ``job/<task_id>`` topic will show it."""

    task_id: TaskId
    """The cloud's id of the job: for cancel, job and the job/<task_id> topic."""
    port: Port
    """The port the job was sent to."""
    job: JobRecord
    """The job JSON (the contract's), as first published."""

    @classmethod
    def of(cls, job: JobRecord) -> SubmittedJob:
        """The answer for a submitted (or recovered) job."""
        return cls(job.task_id, job.port, job)


async def submit(
    ctx: RequestContext,
    box: Box,
    api_request: PrintRequest,
    *,
    port: int,
    source: str,
    transaction: str | None,
) -> Answer[SubmittedJob]:
    """Submit ``api_request`` and follow its job; its topics are published after the answer.

    ``port`` is the request's (named in the ``error_limit`` event); ``source`` the job record's
    (``url``, ``file`` or ``text``).
    """
    try:
        job = await ctx.jobs.submit(
            lambda: ctx.client.submit_job(box.credentials, api_request),
            device=box.name,
            port=api_request.port,
            source=source,
            transaction=transaction,
        )
    except errors.ErrorLimitReachedError:
        await ctx.pollers[box.name].set_error_limit(reached=True)
        await ctx.emit(None, {"event": "error_limit", "device": box.name, "port": port})
        raise
    return Answer(SubmittedJob.of(job), after=(ctx.jobs.announcer(job.task_id),))


async def recover(
    ctx: RequestContext, device: str, transaction: str
) -> Answer[SubmittedJob] | None:
    """A submission an earlier run began and never answered: its job, or None (run it again).

    The submission was recorded before the cloud call: the job is known, or looked for in the
    box's task list (``jobs.recover_print``); None when it never reached the cloud.
    """
    job, announce = await ctx.jobs.recover_print(device, transaction)
    if job is None:
        for work in announce:  # other prints of the box found on the way: no answer to wait for
            await work()
        return None
    return Answer(SubmittedJob.of(job), after=announce)
