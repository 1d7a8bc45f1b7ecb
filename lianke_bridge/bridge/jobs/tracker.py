"""Following every job the bridge submitted to its end.

The reference advises polling a job every 10 s. Each change is published retained on
``<base>/<dev>/job/<task_id>``; the end fires events; 24 h after the end the retained topic is
cleared. Jobs are persisted, so a restart goes on following them.

How long ago a job ended is measured on the monotonic clock (a wall-clock step does not clear a
topic early or keep it for ever); a job that ended before this start is as old as its
``finished_at`` says on the wall clock, never less than 0 (``clock.py``). Which job is a box's
last one is, among the jobs of this run, the order they were made in (a clock set back must not
make an older job the last).

A print is recorded as a submission around its cloud call, and one a crash cut off is found
again in the box's task list: ``recovery.py``. The cloud's times are read by ``cloud_time.py``.

With ``lianke.callback_url`` set the cloud pushes each job's end (``pushes.py`` receives it): a
pushed end is confirmed with one ``job_status`` before it is published (``confirm``), and jobs
are polled rarely while pushes arrive (when each job is asked: ``polls.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import aiomqtt

from lianke_bridge import errors
from lianke_bridge.asyncutil import checkpoint, sleep_until_woken
from lianke_bridge.bridge.jobs.cloud_time import CloudClock
from lianke_bridge.bridge.jobs.polls import JobPolls
from lianke_bridge.bridge.jobs.recovery import PrintRecovery
from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.records.answer import Work
from lianke_bridge.bridge.records.push import PushLedger
from lianke_bridge.bridge.records.state import JobRecord, TaskRow
from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.clock import SYSTEM_CLOCK, Clock, monotonic_of
from lianke_bridge.clock import now as clock_now
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.limiter import Priority, background_calls, call_priority
from lianke_bridge.cloud.models import Credentials, DeviceTask, JobStatus
from lianke_bridge.config import JobsConfig

_LOGGER = logging.getLogger(__name__)

EventSink = Callable[[str | None, dict[str, Any]], Awaitable[None]]


FINISH_EVENTS: Mapping[codes.JobState, str] = {
    codes.JobState.SUCCEEDED: "job_finished",
    codes.JobState.FAILED: "job_failed",
    codes.JobState.CANCELLED: "job_cancelled",
}
"""The ``<dev>/event`` announcing each way a job can end."""


PUSHED_STATES = frozenset({codes.TaskState.SUCCESS, codes.TaskState.FAILURE})
"""The ends the cloud pushes (a revoked job gets no push)."""


class JobTracker:
    """Owns the bridge's jobs: publishes them, polls them, expires them."""

    def __init__(
        self,
        *,
        client: LiankeClient,
        publisher: Publisher,
        topics: Topics,
        store: Store,
        config: JobsConfig,
        credentials: Callable[[str], Credentials | None],
        emit: EventSink,
        on_change: Callable[[str], Awaitable[None]],
        pushes: PushLedger | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._client = client
        self._clock = clock
        self._publisher = publisher
        self._topics = topics
        self._store = store
        self._config = config
        self._credentials = credentials
        self._emit = emit
        self._on_change = on_change
        self._wake = asyncio.Event()
        self._cloud_clock = CloudClock()
        self.recovery = PrintRecovery(
            client=client,
            store=store,
            config=config,
            credentials=credentials,
            cloud_clock=self._cloud_clock,
            track=self.track,
            clock=clock,
        )
        """Prints recorded around their cloud call; interrupted ones found again."""
        self._ended: dict[str, float] = {}
        """When each ended job ended, on the monotonic clock (known from its first expiry pass)."""
        self._made = itertools.count(1)
        self._order: dict[str, int] = {}
        """The order the jobs of this run were made in (later: higher); earlier ones are 0."""
        self.polls = JobPolls(config, pushes if pushes is not None else PushLedger())
        """When each job is next asked about (rarely while the cloud's pushes arrive)."""

    @property
    def clock(self) -> Clock:
        """Where the bridge reads the time (a page it prints says when; tests step it)."""
        return self._clock

    @property
    def jobs(self) -> dict[str, JobRecord]:
        """Every job known, by task id (finished ones until they expire)."""
        return self._store.jobs

    def active_count(self, device: str) -> int:
        """Jobs of a box that have not ended."""
        return sum(1 for j in self.jobs.values() if j.device == device and not j.state.is_final)

    def own_jobs(self, device: str) -> dict[str, bool]:
        """A box's jobs known to the bridge: task id -> whether it is still waiting or running."""
        return {j.task_id: not j.state.is_final for j in self.jobs.values() if j.device == device}

    def last_job(self, device: str) -> JobRecord | None:
        """The box's most recently created job: of this run by order, earlier ones by time."""
        mine = [j for j in self.jobs.values() if j.device == device]
        return (
            max(mine, key=lambda j: (self._order.get(j.task_id, 0), j.created_at)) if mine else None
        )

    async def track(self, job: JobRecord, announce: bool = True) -> None:
        """Start following a freshly submitted (and stored) job, first asked one poll from now.

        The submission's answer already said where the job is: waking the tracker here would
        cost a cloud call per print (and re-ask every other active job with it). ``announce``:
        its topics are published now; else the caller publishes them (:meth:`announcer`), a
        print once its answer is out (the answer carries the job too).
        """
        self.polls.later(job.task_id, asyncio.get_running_loop().time())
        self._order.setdefault(job.task_id, next(self._made))
        if announce:
            await self.announce(job.task_id)

    def announcer(self, task_id: str) -> Work:
        """The publication of a new job's topics, for after the answer that carries it."""
        return lambda: self.announce(task_id)

    async def announce(self, task_id: str) -> None:
        """Publish a new job's topics (as it is now: a poll may have moved it) and its event."""
        job = self.jobs.get(task_id)
        if job is None:
            return
        try:
            await self._publish(job)
            await self._emit(
                job.device, {"event": "job_submitted", "device": job.device, "job": job.to_json()}
            )
        except aiomqtt.MqttError as err:
            # The job is stored and the print was made: the reconnect publishes every job, so
            # the broker going away now must not turn a printed job into an error answer.
            _LOGGER.info(
                "job %s is stored; publishing it waits for the broker (%s)", job.task_id, err
            )

    async def submit(
        self,
        call: Callable[[], Awaitable[str]],
        *,
        device: str,
        port: int,
        source: str,
        transaction: str | None,
    ) -> JobRecord:
        """Run ``call`` (the cloud's submit) with the print recorded around it; follow the job.

        The job's topics are the caller's to publish (:meth:`announcer`), after its answer.
        """
        return await self.recovery.submit(
            call, device=device, port=port, source=source, transaction=transaction
        )

    async def recover_print(
        self, device: str, transaction: str
    ) -> tuple[JobRecord | None, tuple[Work, ...]]:
        """What became of an interrupted print: its job, or None if it never reached the cloud.

        With it, the publication of the jobs found on the way (that one and any other of the
        box's interrupted prints), for after the answer that carries it.
        """
        job, found = await self.recovery.recover_print(device, transaction)
        return job, tuple(self.announcer(f.task_id) for f in found)

    def task_rows(self, tasks: Sequence[DeviceTask]) -> list[TaskRow]:
        """The ``tasks`` answer: each task in the job topics' formats, times in the cloud's zone."""
        return self._cloud_clock.task_rows(tasks, self.jobs)

    async def republish(self) -> None:
        """Publish every known job and each box's last job (after a reconnect)."""
        for job in list(self.jobs.values()):
            await self._publisher.publish(
                self._topics.job(job.device, job.task_id), job.to_json(), retain=True
            )
        for device in {j.device for j in self.jobs.values()}:
            last = self.last_job(device)
            if last is not None:
                await self._publisher.publish(
                    self._topics.last_job(device), last.to_json(), retain=True
                )

    async def run(self) -> None:
        """Poll each active job on its own schedule, expire ended ones, find interrupted prints."""
        background_calls()  # requests' calls go first
        loop = asyncio.get_running_loop()
        while True:
            checkpoint()
            if self.recovery.unresolved():
                await self.recovery.reconcile()
            await self.poll_once()
            await self.expire()
            active = [j.task_id for j in self.jobs.values() if not j.state.is_final]
            next_due = self.polls.next_due(active)
            interval = self.polls.interval
            wait = interval if next_due is None else next_due - loop.time()
            await sleep_until_woken(self._wake, max(0.05, min(wait, interval)))

    async def poll_once(self) -> None:
        """Ask the cloud about each job that has not ended and is due.

        Jobs known from before a restart are due at once.
        """
        now = asyncio.get_running_loop().time()
        for job in [j for j in self.jobs.values() if not j.state.is_final]:
            credentials = self._credentials(job.device)
            if credentials is None or not self.polls.due(job.task_id, now):
                continue
            self.polls.later(job.task_id, now)
            try:
                status = await self._client.job_status(credentials, job.task_id, job.port)
            except errors.CloudError as err:
                _LOGGER.debug("job %s: %s", job.task_id, err)
                continue
            current = self.jobs.get(job.task_id, job)
            if current.state.is_final:
                continue  # a push's confirmation published its end meanwhile
            ours = job.task_id in self._order  # submitted in this run: its push was awaited
            if ours and status.task_state in PUSHED_STATES and status.state.is_final:
                self.polls.missed(job.task_id, asyncio.get_running_loop().time())
            await self.apply(current, status)

    async def confirm(self, task_id: str) -> str:
        """A push says this job ended: ask the cloud once, publish what it answers.

        Returns ``confirmed`` (the cloud says it ended, now published), ``duplicate`` (it had
        ended, or is being confirmed), ``too_soon`` (confirmed less than ``poll_interval`` ago)
        or ``unconfirmed`` (the cloud says it goes on, or could not be asked: polled soon).
        """
        job = self.jobs.get(task_id)
        credentials = None if job is None else self._credentials(job.device)
        if job is None or credentials is None or job.state.is_final:
            return "duplicate"
        loop = asyncio.get_running_loop()
        refused = self.polls.may_confirm(task_id, loop.time())
        if refused is not None:
            return refused
        status: JobStatus | None = None
        try:
            with call_priority(Priority.POLL_FIRST):  # someone waits; commands still go first
                status = await self._client.job_status(credentials, task_id, job.port)
        except errors.CloudError as err:
            _LOGGER.debug("job %s: its push could not be confirmed: %s", task_id, err)
        finally:
            self.polls.confirmed(task_id, loop.time())
        current = self.jobs.get(task_id)
        if current is None or current.state.is_final:
            return "duplicate"
        if status is None:
            return "unconfirmed"
        try:
            current = await self.apply(current, status)
        except aiomqtt.MqttError as err:  # stored: the reconnect publishes it
            _LOGGER.info("job %s ended; publishing it waits for the broker (%s)", task_id, err)
            current = self.jobs.get(task_id, current)
        return "confirmed" if current.state.is_final else "unconfirmed"

    async def apply(self, job: JobRecord, status: JobStatus) -> JobRecord:
        """Fold a job_status answer in; publish and fire events if it moved."""
        state = status.state
        if state is codes.JobState.UNKNOWN:
            return job
        if job.state is codes.JobState.CANCELLING and not state.is_final:
            state = codes.JobState.CANCELLING
        result = job.result
        if status.result_code is not None:
            result = {"code": status.result_code, "message": status.result_message}
        updated = replace(
            job,
            state=state,
            api_state=status.task_state.value,
            result=result,
            pages=status.total_pages if status.total_pages is not None else job.pages,
        )
        if state.is_final and job.finished_at is None:
            updated = replace(updated, finished_at=clock_now(self._clock))
            self._ended[job.task_id] = self._clock.monotonic()
        if updated == job:
            return job
        await self._save_and_publish(updated)
        if state.is_final and not job.state.is_final:
            await self._finished(updated)
        return updated

    async def mark_cancelling(self, task_id: str) -> JobRecord | None:
        """A cancel was accepted: SET_REVOKE until the cloud says REVOKED."""
        job = self.jobs.get(task_id)
        if job is None or job.state.is_final:
            return job
        updated = replace(job, state=codes.JobState.CANCELLING, api_state="SET_REVOKE")
        await self._save_and_publish(updated)
        self.polls.now(task_id)  # the cancel's outcome is worth one call now
        self._wake.set()
        return updated

    async def expire(self) -> None:
        """Clear retained job topics ``retention`` seconds after the job ended.

        Measured on the monotonic clock; a job that ended before this start (or whose end was
        not seen here) is as old as its ``finished_at`` says, never less than 0.
        """
        now = self._clock.monotonic()
        for job in list(self.jobs.values()):
            if job.finished_at is None:
                continue
            ended = self._ended.get(job.task_id)
            if ended is None:
                ended = monotonic_of(self._clock, job.finished_at.timestamp())
                self._ended[job.task_id] = ended
            if now - ended >= self._config.retention:
                await self._publisher.clear(self._topics.job(job.device, job.task_id))
                self._store.drop_job(job.task_id)
                self.polls.forget(job.task_id)
                self._ended.pop(job.task_id, None)
                self._order.pop(job.task_id, None)

    async def _save_and_publish(self, job: JobRecord) -> None:
        self._store.put_job(job)
        await self._publish(job)

    async def _publish(self, job: JobRecord) -> None:
        payload = job.to_json()
        await self._publisher.publish(
            self._topics.job(job.device, job.task_id), payload, retain=True
        )
        last = self.last_job(job.device)
        if last is not None and last.task_id == job.task_id:
            await self._publisher.publish(self._topics.last_job(job.device), payload, retain=True)
        await self._on_change(job.device)

    async def _finished(self, job: JobRecord) -> None:
        payload = job.to_json()
        word = FINISH_EVENTS.get(job.state, "job_finished")
        _LOGGER.info("job %s on %s %s", job.task_id, job.device, job.state)
        await self._emit(job.device, {"event": word, "device": job.device, "job": payload})
        await self._publisher.publish(
            self._topics.job_event(job.device),
            {"event_type": job.state.value, **payload},  # succeeded, failed or cancelled
        )
