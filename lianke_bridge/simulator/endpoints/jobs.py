# ruff: noqa: RUF001 - the cloud's messages are Chinese, with full-width commas
"""The handlers of the print job calls: submit, status, cancel, the day's tasks, flush, pages."""

from __future__ import annotations

import asyncio

from aiohttp import web

from lianke_bridge.simulator.answers import BAD_PARAMETER, ApiRefusalError, ok
from lianke_bridge.simulator.boxes import RESETS_PER_DAY
from lianke_bridge.simulator.documents import MAX_FILE_BYTES, count_pages, url_bytes, url_pages
from lianke_bridge.simulator.endpoints.base import Endpoints
from lianke_bridge.simulator.params import (
    check_job_fields,
    document,
    form_fields,
    json_fields,
    param_text,
    query_params,
)


class JobEndpoints(Endpoints):
    """print job (POST, GET, DELETE), query_device_task, flush_jobs, file_pages, the error limit."""

    async def submit_job(self, request: web.Request) -> web.Response:
        """POST /api/print/job: validate like the cloud, then queue the job."""
        form = form_fields(request)
        box = self.box(form)
        port = self.port(box, form, "devicePort")
        file, urls = document(request)
        self.check_error_pause(box, check_job_fields(form, file, urls))
        if param_text(form, "reportDeviceStatus") != "0":
            if box.online is None:
                raise ApiRefusalError(5001, "设备未配网")
            if box.online == 0:
                raise ApiRefusalError(5002, "设备已离线，请检查云指示灯")
        printer = box.printer_for(port, param_text(form, "targetIp") or None)
        if param_text(form, "reportPrinterStatus") == "1" and (
            printer is None or not printer.plugged
        ):
            raise ApiRefusalError(5011, "该USB接口未插入打印机")
        if file is not None:
            pages, size = count_pages(*file), len(file[1])
        elif urls:
            pages, size = sum(map(url_pages, urls)), sum(map(url_bytes, urls))
        else:
            pages, size = 1, 0
        job = self.state.submit(
            box,
            port,
            printer,
            total_page=pages,
            file_total=size,
            callback_url=param_text(form, "callbackUrl") or None,
        )
        return ok({"task_id": job.task_id})

    async def job_status(self, request: web.Request) -> web.Response:
        """GET /api/print/job: the task's state, and its result once done."""
        params = query_params(request)
        return ok(self.job(self.box(params), params).status_data())

    async def cancel_job(self, request: web.Request) -> web.Response:
        """DELETE /api/print/job: revoke a task that has not ended."""
        params = query_params(request)
        job = self.job(self.box(params), params)
        if job.final:
            raise ApiRefusalError(BAD_PARAMETER, "任务已结束，无法撤回")
        self.state.cancel(job)
        return ok()

    async def query_device_task(self, request: web.Request) -> web.Response:
        """POST query_device_task: the box's tasks of the last day."""
        box = self.box(json_fields(request))
        return ok({"task_list": [job.task_row() for job in self.state.day_tasks(box)]})

    async def flush_jobs(self, request: web.Request) -> web.Response:
        """POST flush_jobs: drop the waiting jobs (of one port, or all), not the one printing."""
        body = json_fields(request)
        box = self.box(body)
        port = self.port(box, body, "devicePort") if param_text(body, "devicePort") else None
        return ok({"queue_num": self.state.flush(box, port)})

    async def file_pages(self, request: web.Request) -> web.Response:
        """POST file_pages: a document's page count, ``data.pages`` (slow: Timing.pages)."""
        form = form_fields(request)
        box = self.box(form)
        file, urls = document(request)
        if file is not None:
            if len(file[1]) > MAX_FILE_BYTES:
                raise ApiRefusalError(BAD_PARAMETER, "传入文件不得大于20M")
            pages, size = count_pages(*file), len(file[1])
        elif len(urls) == 1:
            pages, size = url_pages(urls[0]), url_bytes(urls[0])
        elif urls:
            raise ApiRefusalError(BAD_PARAMETER, "每次仅支持单个文件")
        else:
            raise ApiRefusalError(BAD_PARAMETER, "jobFile参数不能为空")
        port = self.port(box, form, "devicePort")
        if self.state.pages_as_task:
            job = self.state.submit(
                box, port, None, total_page=pages, file_total=size, pages_only=True
            )
            return ok({"task_id": job.task_id})
        await asyncio.sleep(self.state.timing.pages)
        return ok({"pages": pages})

    async def reset_error_limit(self, request: web.Request) -> web.Response:
        """POST reset_printing_error_limit: 10 calls a day; clears only when there are failures."""
        box = self.box(json_fields(request))
        await self.one_at_a_time(box, "reset", self.state.timing.answer)
        day = self.state.clock.today()
        if box.resets_on(day) >= RESETS_PER_DAY:
            raise ApiRefusalError(11200, "重置打印失败限制失败，当天重置次数超过限制")
        box.resets[day] = box.resets_on(day) + 1  # every call counts, 11201 too
        if box.failures == 0:
            raise ApiRefusalError(11201, "暂无打印失败记录，无法重置")
        box.failures = 0
        return ok()
