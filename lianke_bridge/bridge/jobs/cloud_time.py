"""The cloud's clock: task times without a zone, read with the offset the cloud shows.

The cloud gives a task's times as ``2020-09-02 11:02:36``, no zone: China time, unless a task
the bridge submitted itself shows another offset (then remembered). Interrupted prints are
matched to tasks by these times (``recovery.py``) and the ``tasks`` answer shows them with
their zone. Pure but for the offset it remembers: no call, no publish.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone

from lianke_bridge.bridge.records.state import JobRecord, TaskRow, iso
from lianke_bridge.cloud.models import DeviceTask

CLOUD_UTC_OFFSET = timedelta(hours=8)
"""The cloud's task times are China time, unless a known task shows another offset."""


class CloudClock:
    """The cloud clock's UTC offset, learnt from the tasks of jobs the bridge knows."""

    def __init__(self) -> None:
        self._offset: timedelta | None = None

    def offsets(self, tasks: Sequence[DeviceTask], jobs: Mapping[str, JobRecord]) -> set[timedelta]:
        """The offsets the cloud clock may have: the one learnt, else China time and ours."""
        learnt = self.learn(tasks, jobs)
        if learnt is not None:
            return {learnt}
        local = datetime.now().astimezone().utcoffset() or timedelta(0)
        return {CLOUD_UTC_OFFSET, local}

    def learn(self, tasks: Sequence[DeviceTask], jobs: Mapping[str, JobRecord]) -> timedelta | None:
        """The offset shown by a task the bridge submitted itself (remembered once seen)."""
        for task in tasks:
            job = jobs.get(task.task_id)
            cloud = naive(task.created_at)
            if job is not None and cloud is not None:
                seconds = (
                    cloud - job.created_at.astimezone(UTC).replace(tzinfo=None)
                ).total_seconds()
                self._offset = timedelta(minutes=15 * round(seconds / 900))
                break
        return self._offset

    def task_rows(
        self, tasks: Sequence[DeviceTask], jobs: Mapping[str, JobRecord]
    ) -> list[TaskRow]:
        """The ``tasks`` answer: each task in the job topics' formats.

        Times are ISO 8601 with the cloud clock's zone (learnt from a task the bridge submitted,
        else China time); ``result`` is ``{code, message}`` when known, else ``null``.
        """
        learnt = self.learn(tasks, jobs)
        offset = CLOUD_UTC_OFFSET if learnt is None else learnt
        return [task_row(task, timezone(offset)) for task in tasks]


def task_row(task: DeviceTask, zone: timezone) -> TaskRow:
    """One task of the ``tasks`` answer, its times in ``zone``."""
    created, updated = naive(task.created_at), naive(task.updated_at)
    known = task.result_code is not None or task.result_message is not None
    return TaskRow(
        task_id=task.task_id,
        state=str(task.state),
        api_state=task.task_state.value,
        result={"code": task.result_code, "message": task.result_message} if known else None,
        created_at=iso(created.replace(tzinfo=zone)) if created else None,
        updated_at=iso(updated.replace(tzinfo=zone)) if updated else None,
    )


def naive(text: str | None) -> datetime | None:
    """A cloud time (``2020-09-02 11:02:36``) without its zone, or None."""
    try:
        return datetime.strptime(text or "", "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - zone unknown
    except ValueError:
        return None


def created_since(task: DeviceTask, since: float, offsets: set[timedelta]) -> bool:
    """Whether the task was created at or after ``since`` (epoch seconds) on a likely clock."""
    created = naive(task.created_at)
    if created is None:
        return True
    return any((created - offset).replace(tzinfo=UTC).timestamp() >= since for offset in offsets)
