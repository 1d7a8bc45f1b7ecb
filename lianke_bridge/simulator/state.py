# ruff: noqa: RUF001 - the cloud's messages are Chinese, with full-width commas
"""The simulated cloud's live state: boxes and jobs, and the work behind them.

Job runners, reboot and refresh timers, job callbacks and message pushes run as background tasks
of ``SimState``. Its parts live beside it: ``clock`` (Timing, SimClock), ``boxes``, ``jobs``,
``documents``.

The console's message push (a box offline or back, a printer plugged or unplugged: the
2023-02-01 changelog) has no documented payload: the shape sent here (:func:`message_body`) is
invented, so that a receiver can be tested at all.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from lianke_bridge.cloud.codes import TaskState
from lianke_bridge.simulator.boxes import BoxRuntime, PrinterRuntime
from lianke_bridge.simulator.clock import SimClock, Timing
from lianke_bridge.simulator.fleet import Fleet
from lianke_bridge.simulator.jobs import Job

_LOGGER = logging.getLogger(__name__)


class SimState:
    """Boxes and jobs, and the background work (job runners, timers, callbacks)."""

    def __init__(self, fleet: Fleet, timing: Timing) -> None:
        self.fleet = fleet
        self.timing = timing
        self.pages_as_task = False
        """Fault: file_pages answers a ``task_id`` to follow, as the reference's script expects."""
        self.clock = SimClock()
        self.boxes = {b.device_id: BoxRuntime(b, self.clock) for b in fleet.boxes}
        self.jobs: dict[str, Job] = {}
        self.callbacks: list[dict[str, Any]] = []
        """Every callback and message push attempt: kind, url, body, the HTTP status or error."""
        self.callbacks_on = True
        """Whether ending jobs are pushed to their callbackUrl (the ``callbacks`` fault)."""
        self.callback_proxy: str | None = None
        """``http://host:port`` an ``https://`` push really goes to, its path and query kept: the
        reverse proxy in front of a receiver that serves no TLS (the bridge in tests)."""
        self.message_push_url: str | None = None
        """The console's message push address (the ``message_push`` fault); None: none sent."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None

    # ---- background work -------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference so it is not collected."""
        task = asyncio.get_running_loop().create_task(coro, name=f"sim-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait_idle(self) -> None:
        """Wait until every job, timer and callback has finished (tests use it)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop every timer, runner and callback."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- jobs ------------------------------------------------------------------------------

    def submit(
        self,
        box: BoxRuntime,
        port: int,
        printer: PrinterRuntime | None,
        *,
        total_page: int,
        file_total: int,
        pages_only: bool = False,
        callback_url: str | None = None,
    ) -> Job:
        """Accept a job: it starts in READY and moves on by itself."""
        now = self.clock.now()
        job = Job(
            task_id=str(uuid.uuid4()),
            device_id=box.spec.device_id,
            port=port,
            printer_port=printer.spec.port if printer else None,
            created=now,
            file_total=file_total,
            total_page=total_page,
            pages_only=pages_only,
            callback_url=callback_url,
        )
        self.jobs[job.task_id] = job
        job.runner = self.spawn(self._run(box, job), f"job-{job.task_id}")
        return job

    async def _run(self, box: BoxRuntime, job: Job) -> None:
        timing = self.timing
        await asyncio.sleep(timing.ready)
        if job.pages_only:
            self._move(job, TaskState.PARSING)
            await asyncio.sleep(timing.pages)
            self._finish(box, job, TaskState.SUCCESS, 200, "success")
            return
        async with box.lock(job.printer_port or job.port):
            self._move(job, TaskState.PARSING)
            await asyncio.sleep(timing.parsing)
            self._move(job, TaskState.SENDING)
            printer = box.printers.get(job.printer_port or -1)
            disconnects = box.disconnects if box.online == 1 else -1  # offline: fails
            if printer is not None:
                printer.printing += 1
            try:
                await asyncio.sleep(timing.sending)
            finally:
                if printer is not None:
                    printer.printing -= 1
            state, code, msg = self._outcome(box, printer, disconnects)
            if code == 200:  # noqa: PLR2004 - success
                job.send_total = job.file_total
            self._finish(box, job, state, code, msg)

    @staticmethod
    def _outcome(
        box: BoxRuntime, printer: PrinterRuntime | None, disconnects: int
    ) -> tuple[TaskState, int, str]:
        """How a job ends, from the box's and printer's condition while it was sent."""
        if box.online != 1 or box.disconnects != disconnects:
            return TaskState.SUCCESS, 503, "设备连接异常，请检查设备网络"
        if printer is None or not printer.plugged:
            return TaskState.SUCCESS, 497, "未检测到打印机，请插好打印机并刷新再试"
        if printer.problems:
            return TaskState.SUCCESS, 500, f"打印机异常: {printer.status_data()['msg']}"
        if box.fail_jobs is TaskState.FAILURE:
            return TaskState.FAILURE, 500, "任务处理失败"
        if box.fail_jobs is not None:
            return (
                TaskState.SUCCESS,
                502,
                "转换文件格式失败: 无法旋转文件方向，请检查纸张横竖向是否设置错误",
            )
        return TaskState.SUCCESS, 200, "success"

    def _move(self, job: Job, state: TaskState) -> None:
        job.state = state
        job.updated = self.clock.now()

    def _finish(self, box: BoxRuntime, job: Job, state: TaskState, code: int, msg: str) -> None:
        self._move(job, state)
        job.done = job.updated
        job.result_code, job.result_msg = code, msg
        if not job.pages_only:
            box.failures = 0 if code == 200 else box.failures + 1  # noqa: PLR2004 - success
        if job.callback_url and self.callbacks_on:
            self.spawn(self._callback(job.callback_url, job.callback_body()), "callback")

    def cancel(self, job: Job) -> None:
        """DELETE /api/print/job: SET_REVOKE now, REVOKED after ``Timing.revoke``."""
        if job.state is TaskState.SET_REVOKE:
            return
        if job.runner is not None:
            job.runner.cancel()
        self._move(job, TaskState.SET_REVOKE)

        async def revoke() -> None:
            await asyncio.sleep(self.timing.revoke)
            self._move(job, TaskState.REVOKED)
            job.done = job.updated

        self.spawn(revoke(), f"revoke-{job.task_id}")

    def flush(self, box: BoxRuntime, port: int | None) -> int:
        """Drop the jobs still waiting (READY) on a port, or on every port; return how many."""
        dropped = 0
        for job in self.jobs.values():
            if job.device_id != box.spec.device_id or job.pages_only:
                continue
            if job.state is not TaskState.READY or (port is not None and job.port != port):
                continue
            if job.runner is not None:
                job.runner.cancel()
            self._move(job, TaskState.REVOKED)
            job.done = job.updated
            dropped += 1
        return dropped

    def day_tasks(self, box: BoxRuntime) -> list[Job]:
        """The box's print jobs of the last 24 hours, newest first."""
        since = self.clock.now() - timedelta(days=1)
        jobs = [
            j
            for j in self.jobs.values()
            if j.device_id == box.spec.device_id and not j.pages_only and j.created >= since
        ]
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def queue_length(self, box: BoxRuntime) -> int:
        """Jobs of a box not yet ended."""
        return sum(
            1
            for j in self.jobs.values()
            if j.device_id == box.spec.device_id and not j.pages_only and not j.final
        )

    # ---- box timers ------------------------------------------------------------------------

    def reboot(self, box: BoxRuntime) -> None:
        """The box goes offline for ``Timing.reboot`` seconds, then comes back."""
        box.rebooting = True
        box.disconnects += 1

        async def back() -> None:
            try:
                await asyncio.sleep(self.timing.reboot)
            finally:
                box.rebooting = False

        self.spawn(back(), f"reboot-{box.spec.device_id}")

    def refresh(self, box: BoxRuntime) -> None:
        """async_refresh_device_info: "refreshing" for ``Timing.refresh`` seconds."""
        box.refreshing = True

        async def done() -> None:
            try:
                await asyncio.sleep(self.timing.refresh)
            finally:
                box.refreshing = False

        self.spawn(done(), f"refresh-{box.spec.device_id}")

    # ---- callbacks -------------------------------------------------------------------------

    def push_message(self, device_id: str, kind: str, port: int | None = None) -> None:
        """The console's message push about a box, if an address is set (invented shape)."""
        if self.message_push_url is not None:
            body = message_body(device_id, kind, port, self.clock.now().strftime(TIME_FORMAT))
            self.spawn(self._callback(self.message_push_url, body, "message"), "message-push")

    def _target(self, url: str) -> str:
        """Where a push really goes: through ``callback_proxy`` for an https address."""
        parts = urlsplit(url)
        if self.callback_proxy is None or parts.scheme != "https":
            return url
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.callback_proxy.rstrip('/')}{parts.path}{query}"

    async def _callback(self, url: str, body: dict[str, Any], kind: str = "job") -> None:
        """POST a push; retried at ``Timing.callback_retries`` until HTTP 200."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for delay in self.timing.callback_retries:
            await asyncio.sleep(delay)
            record: dict[str, Any] = {"kind": kind, "url": url, "body": body}
            self.callbacks.append(record)
            try:
                async with self._session.post(self._target(url), json=body) as response:
                    record["status"] = response.status
                    if response.status == 200:  # noqa: PLR2004 - the receiver's "got it"
                        return
            except (aiohttp.ClientError, TimeoutError) as err:
                record["error"] = type(err).__name__
                _LOGGER.debug("callback to %s failed: %s", url, err)
        _LOGGER.info("%s push to %s given up", kind, urlsplit(url).hostname)

    # ---- admin view ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """GET /_sim/state: everything a test or a person might want to look at."""
        return {
            "boxes": {
                device_id: {
                    "online": box.online,
                    "rebooting": box.rebooting,
                    "refreshing": box.refreshing,
                    "failures": box.failures,
                    "resets_today": box.resets_on(self.clock.today()),
                    "fail_jobs": str(box.fail_jobs) if box.fail_jobs else None,
                    "queue": self.queue_length(box),
                    "printers": {
                        str(port): {
                            "plugged": p.plugged,
                            "problems": p.problems,
                            "printing": bool(p.printing),
                        }
                        for port, p in box.printers.items()
                    },
                }
                for device_id, box in self.boxes.items()
            },
            "jobs": {
                task_id: {
                    "device_id": job.device_id,
                    "port": job.port,
                    "pages_only": job.pages_only,
                    **job.status_data(),
                }
                for task_id, job in self.jobs.items()
            },
            "callbacks": self.callbacks,
        }


TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MESSAGES = {
    "device_offline": "设备已离线",
    "device_online": "设备已上线",
    "printer_plugged": "打印机已插入",
    "printer_unplugged": "打印机已拔出",
}
"""The kinds of message the simulator pushes, with the words it sends."""


def message_body(device_id: str, kind: str, port: int | None, time: str) -> dict[str, Any]:
    """A message push as the simulator sends it. INVENTED: the reference shows no payload."""
    body: dict[str, Any] = {"msg_type": kind, "device_id": device_id, "msg": MESSAGES[kind]}
    if port is not None:
        body["device_port"] = port
    body["time"] = time
    return body
