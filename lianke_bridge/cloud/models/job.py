"""Print jobs after submission: a job's status, a box's task list, a page count."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models.values import as_mapping, int_or_none, str_or_none


@dataclass(frozen=True)
class JobStatus:
    """``GET /api/print/job``: where a task is, and its result once done."""

    task_id: str
    task_state: codes.TaskState
    result_code: int | None
    result_message: str | None
    total_pages: int | None
    file_total: int | None
    send_total: int | None
    done_time: str | None
    preview_url: str | None = None

    @property
    def state(self) -> codes.JobState:
        """The contract's word for it (SUCCESS with a non-200 result is a failure)."""
        return codes.job_state(self.task_state, self.result_code)

    @classmethod
    def from_api(cls, task_id: str, data: Mapping[str, Any]) -> JobStatus:
        """Parse task_state and task_result."""
        result = as_mapping(data.get("task_result"))
        result_data = as_mapping(result.get("data"))
        preview = result_data.get("preview") or result_data.get("preview_url")
        return cls(
            task_id=task_id,
            task_state=codes.TaskState.parse(data.get("task_state")),
            result_code=int_or_none(result.get("code")),
            result_message=str_or_none(result.get("msg")),
            total_pages=int_or_none(result_data.get("total_page")),
            file_total=int_or_none(result_data.get("file_total")),
            send_total=int_or_none(result_data.get("send_total")),
            done_time=str_or_none(data.get("task_done_time")),
            preview_url=str_or_none(preview),
        )


@dataclass(frozen=True)
class DeviceTask:
    """One row of ``query_device_task``: a task of the box's last day."""

    task_id: str
    task_state: codes.TaskState
    result_code: int | None
    result_message: str | None
    created_at: str | None
    updated_at: str | None

    @property
    def state(self) -> codes.JobState:
        """The contract's word for it."""
        return codes.job_state(self.task_state, self.result_code)

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> DeviceTask:
        """Parse a task_list row."""
        result = as_mapping(row.get("result"))
        return cls(
            task_id=str(row.get("task_id", "")),
            task_state=codes.TaskState.parse(row.get("status")),
            result_code=int_or_none(result.get("code")),
            result_message=str_or_none(result.get("msg")),
            created_at=str_or_none(row.get("create_at")),
            updated_at=str_or_none(row.get("updated_at")),
        )


@dataclass(frozen=True)
class FilePages:
    """``file_pages``: the page count of a document.

    The cloud answers the count itself, ``{"code": 200, "data": {"pages": 3}}`` (what public
    code calling the real cloud reads). The reference's example script stores a ``task_id``
    instead, copied from the print job's: should an answer ever carry only that, the count is
    the task's ``task_result.data.total_page`` (see ``LiankeClient.count_pages``).
    """

    task_id: str | None
    pages: int | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> FilePages:
        """Parse ``task_id`` and whichever page field the answer carries."""
        pages = data.get("pages", data.get("total_page", data.get("page_num")))
        return cls(task_id=str_or_none(data.get("task_id")), pages=int_or_none(pages))
