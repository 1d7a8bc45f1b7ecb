"""Following every job the bridge submitted to its end.

The reference advises polling a job every 10 s. Each change is published retained on
``<base>/<dev>/job/<task_id>``; the end fires events; 24 h after the end the retained topic is
cleared. Jobs are persisted, so a restart goes on following them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from lianke_bridge import errors
from lianke_bridge.asyncutil import checkpoint, sleep_until_woken
from lianke_bridge.bridge.publisher import Publisher
from lianke_bridge.bridge.state import JobRecord, utc_now
from lianke_bridge.bridge.store import Store
from lianke_bridge.bridge.topics import Topics
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.models import Credentials, JobStatus
from lianke_bridge.config import JobsConfig

_LOGGER = logging.getLogger(__name__)

EventSink = Callable[[str | None, dict[str, Any]], Awaitable[None]]


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
    ) -> None:
        self._client = client
        self._publisher = publisher
        self._topics = topics
        self._store = store
        self._config = config
        self._credentials = credentials
        self._emit = emit
        self._on_change = on_change
        self._wake = asyncio.Event()

    @property
    def jobs(self) -> dict[str, JobRecord]:
        """Every job known, by task id (finished ones until they expire)."""
        return self._store.jobs

    def active_count(self, device: str) -> int:
        """Jobs of a box that have not ended."""
        return sum(1 for j in self.jobs.values() if j.device == device and not j.state.is_final)

    def last_job(self, device: str) -> JobRecord | None:
        """The box's most recently created job."""
        mine = [j for j in self.jobs.values() if j.device == device]
        return max(mine, key=lambda j: j.created_at) if mine else None

    async def track(self, job: JobRecord) -> None:
        """Start following a freshly submitted job."""
        await self._save_and_publish(job)
        self._wake.set()

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
        """Poll active jobs every ``poll_interval``; expire finished ones."""
        while True:
            checkpoint()
            await self.poll_once()
            await self.expire()
            await sleep_until_woken(self._wake, self._config.poll_interval)

    async def poll_once(self) -> None:
        """Ask the cloud about every job that has not ended."""
        for job in [j for j in self.jobs.values() if not j.state.is_final]:
            credentials = self._credentials(job.device)
            if credentials is None:
                continue
            try:
                status = await self._client.job_status(credentials, job.task_id, job.port)
            except errors.CloudError as err:
                _LOGGER.debug("job %s: %s", job.task_id, err)
                continue
            await self.apply(job, status)

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
            updated = replace(updated, finished_at=utc_now())
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
        self._wake.set()
        return updated

    async def expire(self) -> None:
        """Clear retained job topics ``retention`` seconds after the job ended."""
        cutoff = utc_now() - timedelta(seconds=self._config.retention)
        for job in list(self.jobs.values()):
            if job.finished_at is not None and job.finished_at <= cutoff:
                await self._publisher.clear(self._topics.job(job.device, job.task_id))
                self._store.drop_job(job.task_id)

    async def _save_and_publish(self, job: JobRecord) -> None:
        self._store.put_job(job)
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
        word = "job_failed" if job.state is codes.JobState.FAILED else "job_finished"
        _LOGGER.info("job %s on %s %s", job.task_id, job.device, job.state)
        await self._emit(job.device, {"event": word, "device": job.device, "job": payload})
        await self._publisher.publish(
            self._topics.job_event(job.device),
            {"event_type": job.state.value, **payload},  # succeeded, failed or cancelled
        )
