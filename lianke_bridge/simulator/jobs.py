"""A print job as the simulated cloud keeps it, and as its answers and callbacks show it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from lianke_bridge.cloud.codes import TaskState


@dataclass
class Job:
    """A print job, or a file_pages counting task (``pages_only``)."""

    task_id: str
    device_id: str
    port: int
    printer_port: int | None
    """The port of the printer it goes to (631 for a network printer), if there is one."""
    created: datetime
    file_total: int
    total_page: int
    pages_only: bool = False
    callback_url: str | None = None
    state: TaskState = TaskState.READY
    result_code: int | None = None
    result_msg: str = ""
    send_total: int = 0
    done: datetime | None = None
    updated: datetime | None = None
    runner: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def final(self) -> bool:
        """Whether the job has ended."""
        return self.state.is_final

    def status_data(self) -> dict[str, Any]:
        """GET /api/print/job ``data``: the state, and the result once done."""
        data: dict[str, Any] = {"task_state": str(self.state)}
        if self.done is not None:
            data["task_done_time"] = _http_date(self.done)
            data["task_done_timestamp"] = int(self.done.timestamp() * 1000)
        if self.result_code is not None:
            data["task_result"] = {
                "code": self.result_code,
                "data": {
                    "file_total": self.file_total,
                    "send_total": self.send_total,
                    "total_page": self.total_page,
                },
                "msg": self.result_msg,
            }
        return data

    def task_row(self) -> dict[str, Any]:
        """A query_device_task row, shaped like the reference's example."""
        result: dict[str, Any] = {}
        if self.result_code is not None:
            result = {"code": self.result_code, "msg": self.result_msg}
        return {
            "task_id": self.task_id,
            "result": result,
            "job_id": "",
            "job_status": 1 if self.result_code == 200 else 0,  # noqa: PLR2004 - success
            "status": str(self.state),
            "create_at": _local(self.created),
            "updated_at": _local(self.updated or self.created),
        }

    def callback_body(self) -> dict[str, Any]:
        """The JSON POSTed to callbackUrl (the reference's documented shape)."""
        return {
            "device_id": self.device_id,
            "task_id": self.task_id,
            "task_state": str(self.state),
            "create_time": _local(self.created),
            "finish_time": _local(self.done or self.created),
            "task_result": {"code": self.result_code, "msg": self.result_msg},
        }


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _http_date(moment: datetime) -> str:
    """``Wed, 06 Dec 2023 02:06:12 GMT`` as in the reference."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)
