"""Jobs in the contract's formats: the ``tasks`` answer and the events that end a job."""

from __future__ import annotations

from datetime import timezone

from lianke_bridge.bridge.jobs import cloud_time
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models import DeviceTask


def task(**changes: object) -> DeviceTask:
    """A task row as query_device_task gives it (the cloud's times carry no zone)."""
    fields: dict[str, object] = {
        "task_id": "581decf2-0001",
        "task_state": codes.TaskState.SUCCESS,
        "result_code": 200,
        "result_message": "ok",
        "created_at": "2026-12-01 20:19:44",
        "updated_at": "2026-12-01 20:20:01",
    }
    fields.update(changes)
    return DeviceTask(**fields)  # type: ignore[arg-type]


def test_task_times_get_the_cloud_clock_zone() -> None:
    """Without a task of its own to learn from, the cloud's times are read as China time."""
    row = cloud_time.task_row(task(), timezone(cloud_time.CLOUD_UTC_OFFSET))
    assert (row.created_at, row.updated_at) == (
        "2026-12-01T20:19:44+08:00",
        "2026-12-01T20:20:01+08:00",
    )
    assert row.result == {"code": 200, "message": "ok"}
    assert (row.state, row.api_state) == ("succeeded", "SUCCESS")


def test_an_unknown_result_or_time_is_null() -> None:
    """Like the job topics: ``result`` null while unknown, a missing time null."""
    row = cloud_time.task_row(
        task(
            task_state=codes.TaskState.READY,
            result_code=None,
            result_message=None,
            updated_at=None,
        ),
        timezone(cloud_time.CLOUD_UTC_OFFSET),
    )
    assert (row.result, row.updated_at, row.state) == (None, None, "queued")
