# ruff: noqa: RUF001 - the cloud's messages are Chinese, with full-width commas
"""The simulated cloud's live state: boxes, printers, jobs, error counters, timers.

Every wait is an ``asyncio.sleep`` on the running loop with a ``Timing`` duration, so tests run
the whole life of a job in tens of milliseconds. The cloud's rules that span minutes or days (the
printer_status window, the 11203 pause, the daily reset count, the day's tasks) and the
timestamps shown to clients read ``SimState.clock``, which tests can move forward.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp

from lianke_bridge.cloud.codes import TaskState
from lianke_bridge.simulator.fleet import BoxSpec, Fleet, PrinterSpec

_LOGGER = logging.getLogger(__name__)

ERROR_LIMIT = 30
"""Consecutive failed jobs after which the cloud pauses a box (11203)."""
RESETS_PER_DAY = 10
"""reset_printing_error_limit calls allowed per box and day (11200)."""
MAX_FILE_BYTES = 20 * 1024 * 1024
"""file_pages refuses bigger files."""


@dataclass(frozen=True)
class Timing:
    """How long things take, in seconds. The defaults feel real but quick (a job takes ~4 s)."""

    ready: float = 0.5
    """A new job waits this long in READY before it may start."""
    parsing: float = 1.5
    """PARSING (the cloud converts the document)."""
    sending: float = 2.0
    """SENDING (the box feeds the printer)."""
    revoke: float = 0.5
    """SET_REVOKE before REVOKED."""
    reboot: float = 20.0
    """A rebooting box is offline this long."""
    refresh: float = 3.0
    """async_refresh_device_info keeps the box "refreshing" (401) this long."""
    printer_status: float = 0.8
    """printer_status answers after this long (it asks the printer live)."""
    answer: float = 0.1
    """Latency of the other one-at-a-time calls (reset, refresh); a second one meanwhile: 10009."""
    pages: float = 1.0
    """file_pages counting time (the answer's latency; PARSING of a counting task)."""
    status_window: float = 2.0
    """printer_status for a port again within this many seconds of its last answer: 10009."""
    error_pause: float = 30 * 60.0
    """How long the 11203 pause lasts after the last failed job (the cloud says 30 minutes)."""
    callback_retries: tuple[float, ...] = (0.0, 5.0, 10.0)
    """Delays before each callback attempt (the reference: 0, 5, 10 s)."""

    @classmethod
    def fast(cls) -> Timing:
        """Tens of milliseconds everywhere: for tests."""
        return cls(
            ready=0.01,
            parsing=0.02,
            sending=0.02,
            revoke=0.02,
            reboot=0.15,
            refresh=0.1,
            printer_status=0.05,
            answer=0.05,
            pages=0.02,
            status_window=0.0,
            callback_retries=(0.0, 0.05, 0.1),
        )


class SimClock:
    """The simulated cloud's sense of time: the real clocks plus an offset tests can advance.

    ``advance(1800)`` makes half an hour pass at once for every rule that reads the clock (the
    11203 pause, the printer_status window, the daily reset count, the last day's tasks).
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        """Move the clock forward (never back)."""
        if not seconds >= 0:
            raise ValueError("the clock only moves forward: seconds must be 0 or more")
        self.offset += seconds

    def monotonic(self) -> float:
        """Seconds for measuring spans (windows, pauses)."""
        return time.monotonic() + self.offset

    def now(self) -> datetime:
        """The local date and time shown to clients."""
        return datetime.now().astimezone() + timedelta(seconds=self.offset)

    def today(self) -> date:
        """The local date (the cloud's "day" for its daily limits)."""
        return self.now().date()


@dataclass
class PrinterRuntime:
    """A printer's live condition (what the faults change)."""

    spec: PrinterSpec
    plugged: bool = True
    paper_out: bool = False
    paper_jam: bool = False
    cover_open: bool = False
    unresponsive: bool = False
    """Fault: printer_status answers 500 设备无响应 (the device did not answer)."""
    out_of_ink: bool = False
    out_of_ribbon: bool = False
    paused: bool = False
    printing: int = 0
    """Jobs currently SENDING to it."""

    PROBLEMS = ("paper_out", "paper_jam", "cover_open", "out_of_ink", "out_of_ribbon", "paused")

    @property
    def problems(self) -> list[str]:
        """The names of the problems currently set."""
        return [name for name in self.PROBLEMS if getattr(self, name)]

    def list_state(self) -> str:
        """printer_list's ``printer_state``: idle/printing/stopped for network printers."""
        problems = self.problems
        if self.spec.is_network:
            if problems:
                return "stopped"
            return "printing" if self.printing else "idle"
        words = {
            "paper_out": "outOfPaper",
            "paper_jam": "paperJam",
            "cover_open": "headOpened",
            "out_of_ink": "outOfInk",
            "out_of_ribbon": "outOfRibbon",
            "paused": "pause",
        }
        if problems:
            return words[problems[0]]
        return "printing" if self.printing else "idle"

    def status_data(self) -> dict[str, Any]:
        """printer_status ``data``, shaped like the reference's example."""
        messages = {
            "paper_out": ("Cannot feed paper.", "41208"),
            "paper_jam": ("Paper jam.", "41202"),
            "cover_open": ("Cover open.", "41201"),
            "out_of_ink": ("Toner low.", "40038"),
            "out_of_ribbon": ("Ribbon end.", "41209"),
            "paused": ("Paused.", "10002"),
        }
        problems = self.problems
        if problems:
            msg, status_code = messages[problems[0]]
        elif self.printing:
            msg, status_code = "Printing.", "10023"
        else:
            msg, status_code = "Ready.", "10001"
        data: dict[str, Any] = {
            "errCode": None,
            "headOpened": self.cover_open,
            "msg": msg,
            "outOfInk": self.out_of_ink,
            "outOfPaper": self.paper_out,
            "paperJam": self.paper_jam,
            "pause": bool(problems),
            "printing": bool(self.printing),
            "statusCode": status_code,
        }
        if self.spec.ribbon:
            data["outOfRibbon"] = self.out_of_ribbon
        return data


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


class BoxRuntime:
    """A box's live condition, its printers and its per-box counters."""

    def __init__(self, spec: BoxSpec, clock: SimClock) -> None:
        self.spec = spec
        self._clock = clock
        self.never_booted = spec.boot_state == "never_booted"
        self.offline = spec.boot_state == "offline"
        self.rebooting = False
        self.refreshing = False
        self.busy: set[str] = set()
        """One-at-a-time calls in progress (printer_status, reset, refresh)."""
        self._failures = 0
        self.last_failure = 0.0
        """``SimClock.monotonic`` of the last failed job (the 11203 pause counts from it)."""
        self.status_answered: dict[int, float] = {}
        """Port -> ``SimClock.monotonic`` of its last printer_status answer."""
        self.disconnects = 0
        """How often the box went offline: a job being sent across one fails."""
        self.resets: dict[date, int] = {}
        """reset_printing_error_limit calls per day (every call counts, 11201 too)."""
        self.fail_jobs: TaskState | None = None
        """Fault: jobs end with this state and a failed result (SUCCESS) or FAILURE."""
        self.printers = {p.port: PrinterRuntime(p) for p in spec.printers}
        self.locks: dict[int, asyncio.Lock] = {}

    @property
    def failures(self) -> int:
        """Consecutive failed jobs; each one added restarts the 11203 pause."""
        return self._failures

    @failures.setter
    def failures(self, value: int) -> None:
        if value > self._failures:
            self.last_failure = self._clock.monotonic()
        self._failures = value

    @property
    def online(self) -> int | None:
        """device_info's ``online``: None never booted, 0 offline (or rebooting), 1 online."""
        if self.never_booted:
            return None
        return 0 if self.offline or self.rebooting else 1

    def printer_for(self, port: int, target_ip: str | None = None) -> PrinterRuntime | None:
        """Where a job for ``devicePort`` (and ``targetIp``) goes, plugged in or not."""
        network = [p for p in self.printers.values() if p.spec.is_network]
        if target_ip:
            return next((p for p in network if p.spec.ip_addr == target_ip), None)
        if port in self.printers:
            return self.printers[port]
        if port == 1 and network:
            return network[0]
        return None

    def lock(self, port: int) -> asyncio.Lock:
        """Jobs for one printer run one after the other."""
        return self.locks.setdefault(port, asyncio.Lock())

    def resets_on(self, day: date) -> int:
        """reset_printing_error_limit calls made on ``day``."""
        return self.resets.get(day, 0)


def count_pages(filename: str, content: bytes) -> int:
    """Pages of an uploaded file: a PDF's ``/Type /Page`` objects, else one per 100 kB (min 1)."""
    if content.startswith(b"%PDF"):
        return max(1, len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", content)))
    if filename.lower().rsplit(".", 1)[-1] in {"jpg", "jpeg", "png", "gif", "bmp", "webp"}:
        return 1
    return 1 + len(content) // 100_000


def url_pages(url: str) -> int:
    """Pages of a document at a URL: 1 to 5, the same for the same URL every time."""
    return 1 + hashlib.sha256(url.encode()).digest()[0] % 5


def url_bytes(url: str) -> int:
    """Size reported for a URL's document (deterministic, plausible)."""
    return 40_000 + int.from_bytes(hashlib.sha256(url.encode()).digest()[1:3], "big")


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
        """Every callback attempt: url, body, and the HTTP status or error."""
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
        if job.callback_url:
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

    async def _callback(self, url: str, body: dict[str, Any]) -> None:
        """POST the job's result; retried at ``Timing.callback_retries`` until HTTP 200."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for delay in self.timing.callback_retries:
            await asyncio.sleep(delay)
            record: dict[str, Any] = {"url": url, "body": body}
            self.callbacks.append(record)
            try:
                async with self._session.post(url, json=body) as response:
                    record["status"] = response.status
                    if response.status == 200:  # noqa: PLR2004 - the receiver's "got it"
                        return
            except (aiohttp.ClientError, TimeoutError) as err:
                record["error"] = type(err).__name__
                _LOGGER.debug("callback to %s failed: %s", url, err)
        _LOGGER.info("callback for task %s given up", body.get("task_id"))

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
