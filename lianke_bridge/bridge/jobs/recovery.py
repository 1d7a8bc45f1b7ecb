"""A print interrupted on its way to the cloud: recorded before the call, found again after.

A print is recorded as a submission before its cloud call. If the call's outcome is unknown (the
bridge was killed, the connection dropped, the call timed out), ``reconcile`` looks in the box's
task list (``query_device_task``: it has no reference of ours, so tasks are matched by time: the
oldest task the bridge does not know, created from shortly before the submission on) and hands
the job it finds to the tracker. A submission with no such task never reached the cloud: it is
dropped with a warning, and its request may run again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from lianke_bridge import errors
from lianke_bridge.bridge.jobs.cloud_time import CloudClock, created_since
from lianke_bridge.bridge.memory.entries import Submission
from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.records.state import JobRecord
from lianke_bridge.clock import Clock
from lianke_bridge.clock import now as clock_now
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.models import Credentials
from lianke_bridge.config import JobsConfig

_LOGGER = logging.getLogger(__name__)

RECONCILE_SKEW = 120.0
"""Seconds a task may seem older than its submission (clocks differ) and still be matched."""


class PrintRecovery:
    """Prints recorded around their cloud call, and the ones a crash cut off, found again."""

    def __init__(
        self,
        *,
        client: LiankeClient,
        store: Store,
        config: JobsConfig,
        credentials: Callable[[str], Credentials | None],
        cloud_clock: CloudClock,
        track: Callable[[JobRecord, bool], Awaitable[None]],
        clock: Clock,
    ) -> None:
        self._client = client
        self._store = store
        self._config = config
        self._credentials = credentials
        self._cloud_clock = cloud_clock
        self._track = track
        """Follows a job from now on (the tracker's); True: its topics are published now."""
        self._clock = clock
        self._calling: set[str] = set()
        """Submissions whose cloud call is running in this process."""
        self._reconcile_lock = asyncio.Lock()

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

        A cloud answer with an error code means no job was made; any other way out (a timeout,
        a lost connection, cancellation, a kill) leaves the submission for ``reconcile``.
        """
        submission = Submission(
            id=uuid.uuid4().hex,
            device=device,
            port=port,
            source=source,
            transaction=transaction,
            recorded_at=self._clock.wall(),  # compared with the cloud's times: wall clock
        )
        self._calling.add(submission.id)  # before any await: reconcile must not take it
        try:
            await self._store.begin_submission(submission)
            task_id = await call()
        except errors.CloudApiError:
            self._store.end_submission(submission.id)
            raise
        finally:
            self._calling.discard(submission.id)
        job = JobRecord(
            task_id=task_id,
            device=device,
            port=port,
            source=source,
            transaction=transaction,
            created_at=clock_now(self._clock),
        )
        self._store.end_submission(submission.id, job)
        # not announced: its topics follow the answer, the caller's to publish
        await self._track(job, False)  # noqa: FBT003 - the tracker's track(job, announce)
        return job

    def unresolved(self, device: str | None = None) -> list[Submission]:
        """Submissions whose call ended without a task id (none of them is running)."""
        return sorted(
            (
                s
                for s in self._store.submissions.values()
                if s.id not in self._calling and (device is None or s.device == device)
            ),
            key=lambda s: s.recorded_at,
        )

    def find_print(self, device: str, transaction: str) -> JobRecord | None:
        """The job a print with this transaction made, if the bridge knows it."""
        for job in self._store.jobs.values():
            if job.device == device and job.transaction == transaction:
                return job
        return None

    async def recover_print(
        self, device: str, transaction: str
    ) -> tuple[JobRecord | None, list[JobRecord]]:
        """What became of an interrupted print: its job, or None if it never reached the cloud.

        With it, the jobs found on the way (that one and any other interrupted print of the
        box), whose topics are the caller's to publish, after its answer. While the box's task
        list cannot be read the answer is not known: it is asked again every ``poll_interval``
        (an answer "unreachable" would hide a print that may be done).
        """
        found: list[JobRecord] = []
        while True:
            job = self.find_print(device, transaction)
            if job is not None or not any(
                s.transaction == transaction for s in self.unresolved(device)
            ):
                return job, found
            try:
                found += await self.reconcile(device, raise_errors=True, announce=False)
            except errors.CloudError as err:
                _LOGGER.info(
                    "cannot look up the interrupted print %r on %s yet (%s); trying again",
                    transaction,
                    device,
                    err,
                )
                await asyncio.sleep(self._config.poll_interval)

    async def reconcile(
        self, device: str | None = None, *, raise_errors: bool = False, announce: bool = True
    ) -> list[JobRecord]:
        """Find the jobs of unresolved submissions in the boxes' task lists; the jobs found.

        ``announce``: their topics are published now; else the caller publishes them.
        """
        found: list[JobRecord] = []
        async with self._reconcile_lock:
            for name in sorted({s.device for s in self.unresolved(device)}):
                try:
                    found += await self._reconcile_box(name, announce=announce)
                except errors.CloudError as err:
                    if raise_errors:
                        raise
                    _LOGGER.debug("cannot look up interrupted prints on %s yet: %s", name, err)
        return found

    async def _reconcile_box(self, device: str, *, announce: bool) -> list[JobRecord]:
        submissions = self.unresolved(device)
        found: list[JobRecord] = []
        if not submissions:
            return found
        credentials = self._credentials(device)
        if credentials is None:
            for submission in submissions:
                _LOGGER.warning(
                    "an interrupted print for %s cannot be looked up: the box is no longer "
                    "configured",
                    device,
                )
                self._store.end_submission(submission.id)
            return found
        tasks = await self._client.device_tasks(credentials)
        offsets = self._cloud_clock.offsets(tasks, self._store.jobs)
        candidates = sorted(
            (t for t in tasks if t.task_id and t.task_id not in self._store.jobs),
            key=lambda t: t.created_at or "",
        )
        for submission in submissions:
            since = submission.recorded_at - RECONCILE_SKEW
            match = next((t for t in candidates if created_since(t, since, offsets)), None)
            if match is None:
                _LOGGER.warning(
                    "a print for %s%s was interrupted before it reached the cloud: "
                    "nothing was printed",
                    device,
                    f" (transaction {submission.transaction!r})" if submission.transaction else "",
                )
                self._store.end_submission(submission.id)
                continue
            candidates.remove(match)
            job = JobRecord(
                task_id=match.task_id,
                device=device,
                port=submission.port,
                source=submission.source,
                transaction=submission.transaction,
                created_at=clock_now(self._clock),
            )
            _LOGGER.info(
                "an interrupted print for %s reached the cloud as task %s: following it",
                device,
                match.task_id,
            )
            self._store.end_submission(submission.id, job)
            await self._track(job, announce)
            found.append(job)
        return found
