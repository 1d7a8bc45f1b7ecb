"""The async client of the Lianke cloud API v3 (all 18 method/path pairs of the reference).

Polite by construction, because the real cloud bans keys and IPs that hammer it:

- one ``aiohttp`` session reused for every call, the ``ApiKey`` header on every call;
- a client-wide token bucket (``rate_limit`` calls per second) that serves commands ahead of
  polls (:func:`background_calls`);
- at most one ``printer_status`` in flight per box (the API allows one), and one maintenance call
  (reboot, error-limit reset, device refresh) per box;
- ``printer_params`` and ``paper_dimension_list`` cached per printer model (the reference asks);
- retries with exponential backoff and jitter only where repeating cannot do harm: reads on
  transport errors, HTTP 5xx and 10009; writes only on 10009 (the cloud refused before acting);
  a print job and a page count are never retried (a retry could print twice, and the reference
  forbids retrying a failing file blindly).

Errors come from one tree (:mod:`lianke_bridge.errors`) and name the call; neither the ApiKey
nor a deviceKey ever appears in an error message or a log line (URLs are logged without their
query string, which carries the deviceKey).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from types import TracebackType
from typing import Any, Self, TypedDict, Unpack

import aiohttp
import yarl

from lianke_bridge import errors
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models import (
    Credentials,
    DeviceInfo,
    DeviceTask,
    FilePages,
    JobFile,
    JobStatus,
    PaperSize,
    Printer,
    PrinterParams,
    PrinterStatus,
    PrintRequest,
    as_mapping,
    int_or_none,
    normalise_file_ext,
    url_path_ext,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://cloud.liankenet.com"
DEFAULT_REFUSAL_RETRY = 15 * 60.0
"""Seconds between tries of an ApiKey or device key the cloud refused (``retry_refused`` now)."""
DEFAULT_CACHE_TTL = 24 * 3600.0
"""Seconds a printer model's params and paper sizes are kept (they change with driver updates)."""
MAX_FILE_PAGES_BYTES = 20 * 1024 * 1024
"""file_pages refuses files above 20 MiB (the reference's 20 MB)."""
STATUS_TIMEOUT_FACTOR = 2.0
"""printer_status asks the printer live and is slow: it gets twice the normal timeout."""


class Retry(Enum):
    """When a call may be repeated automatically."""

    READ = "read"
    """Reads: on connection errors, timeouts, HTTP 5xx and 10009."""
    ON_TOO_FREQUENT = "on_too_frequent"
    """Writes: only on 10009, which the cloud answers before doing anything."""
    NEVER = "never"
    """Print jobs and page counts: a repeat could print twice or trip the cloud's abuse guard."""


@dataclass
class ApiStats:
    """What the client did to the cloud, for the bridge's health topic."""

    calls: dict[str, int] = field(default_factory=dict)
    """HTTP requests sent, by call name (each retry counts)."""
    errors: dict[tuple[str, str], int] = field(default_factory=dict)
    """Failed requests by (call, code): the API code, or ``timeout``, ``connection``,
    ``http_<status>``, ``bad_response``."""
    rate_limited: int = 0
    """Answers 10009 (too frequent) received."""
    throttled: int = 0
    """Times the client-wide rate limit made a call wait."""
    retries: int = 0
    """Automatic retries made."""
    cache_hits: int = 0
    """printer_params / paper sizes answered from the cache."""
    unsent: int = 0
    """Calls answered without being sent, because the cloud refused their key."""
    last_latency: float | None = None
    """Seconds the last answered request took."""
    last_call: str | None = None
    latency_observer: Callable[[str, str, float], None] | None = field(
        default=None, repr=False, compare=False
    )
    """Told (call, code, seconds) once per request that ended: the metrics' latency histogram.
    The code is the API's success code ``"200"``, else the one :meth:`count_error` got."""

    def count_call(self, call: str) -> None:
        """One request sent."""
        self.calls[call] = self.calls.get(call, 0) + 1

    def count_error(self, call: str, code: str, seconds: float | None = None) -> None:
        """One request failed (after ``seconds``, when it got that far)."""
        self.errors[call, code] = self.errors.get((call, code), 0) + 1
        self._observe(call, code, seconds)

    def count_success(self, call: str, seconds: float) -> None:
        """One request answered with the success code."""
        self._observe(call, str(codes.SUCCESS), seconds)

    def _observe(self, call: str, code: str, seconds: float | None) -> None:
        if seconds is not None and self.latency_observer is not None:
            self.latency_observer(call, code, seconds)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: ``{"calls": {call: n}, "errors": {call: {code: n}}, …}``."""
        by_call: dict[str, dict[str, int]] = {}
        for (call, code), count in sorted(self.errors.items()):
            by_call.setdefault(call, {})[code] = count
        return {
            "calls": dict(sorted(self.calls.items())),
            "errors": by_call,
            "rate_limited": self.rate_limited,
            "throttled": self.throttled,
            "retries": self.retries,
            "cache_hits": self.cache_hits,
            "refused_unsent": self.unsent,
            "last_latency_ms": (
                None if self.last_latency is None else round(self.last_latency * 1000, 1)
            ),
            "last_call": self.last_call,
        }


class Priority(IntEnum):
    """Who waits for a call: the client-wide ceiling serves the lower number first."""

    COMMAND = 0
    """Someone is waiting for the answer (an MQTT request)."""
    POLL = 1
    """Background polling: it may wait behind every command."""


_PRIORITY: ContextVar[Priority] = ContextVar("lianke_call_priority", default=Priority.COMMAND)


def background_calls() -> None:
    """From now on, calls made by the current task (and tasks it starts) wait behind commands.

    Pollers call this once at the start of their task; everything else stays a command.
    """
    _PRIORITY.set(Priority.POLL)


class _TokenBucket:
    """A client-wide ceiling of ``rate`` calls per second, with bursts up to ``rate``.

    Waiters are served by priority, then in order of arrival: a command never queues behind
    polls. No task of its own: one timer at a time releases the next token.
    """

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._updated = time.monotonic()
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self, priority: Priority = Priority.COMMAND) -> bool:
        """Take one token, waiting for it if needed; True when the caller had to wait."""
        if self._rate <= 0:
            return False
        self._refill()
        if not self._waiters and self._tokens >= 1:
            self._tokens -= 1
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._order), future))
        self._arm()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted, then cancelled: give back
                self._tokens = min(self._capacity, self._tokens + 1)
                self._release()
            raise
        return True

    def _arm(self) -> None:
        """Set the timer for the next token, if anyone waits and none is set."""
        if self._timer is None and self._waiters:
            delay = max(0.0, (1 - self._tokens) / self._rate)
            self._timer = asyncio.get_running_loop().call_later(delay, self._release)

    def _release(self) -> None:
        """Hand out the tokens there are, best priority first."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._refill()
        while self._waiters and self._tokens >= 1:
            _, _, future = heapq.heappop(self._waiters)
            if future.done():  # its caller was cancelled while waiting
                continue
            self._tokens -= 1
            future.set_result(None)
        while self._waiters and self._waiters[0][2].done():
            heapq.heappop(self._waiters)
        self._arm()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """``"2.1.113"`` (or ``"v2.1.113-beta"``) as ``(2, 1, 113)``; None if there are no numbers."""
    if not text:
        return None
    numbers: list[int] = []
    for part in text.strip().lstrip("vV").split("."):
        match = re.match(r"\d+", part)
        if match is None:
            break
        numbers.append(int(match.group()))
        if match.end() != len(part):
            break
    return tuple(numbers) if numbers else None


def refresh_needed(firmware: str | None) -> bool:
    """Whether async_refresh_device_info still has a purpose (firmware below 2.1.112)."""
    version = parse_version(firmware)
    return version is None or version < codes.REFRESH_UNNEEDED_FROM


@dataclass
class Refusal:
    """The cloud refused a key: calls with it are answered locally until ``retry_at``.

    Then one call goes through as a probe; its answer either lifts the refusal or renews it.
    Hammering the cloud with a refused key is how a key gets banned.
    """

    answer: errors.CloudApiError
    """What the cloud answered (its code and ``msg``)."""
    since: float
    """``time.time()`` of the first refusal."""
    retry_at: float
    """``time.monotonic()`` from which the next call is sent as a probe."""
    retry_in: float
    """Seconds between probes (for the messages)."""
    probing: bool = False
    tries: int = 1

    def unsent(self, call: str, what: str) -> errors.CloudApiError:
        """The error a call gets without being sent: the same class and code, a clear reason."""
        minutes = max(1, round(self.retry_in / 60))
        return type(self.answer)(
            code=self.answer.code,
            message=(
                f"not sent: the cloud refused {what} (code {self.answer.code}); the bridge stops "
                f"using it and tries again every {minutes} min or on SIGHUP"
            ),
            api_message=self.answer.api_message,
            call=call,
        )


@dataclass
class _CacheEntry:
    value: Any
    expires: float


_FormBuilder = Callable[[], aiohttp.FormData]
"""Builds a fresh form per attempt (aiohttp consumes a FormData when it sends it)."""


@dataclass(frozen=True)
class _Request:
    """One API call as sent: what ``_send`` needs, secrets kept out of ``repr``."""

    call: str
    method: str
    path: str
    params: Mapping[str, str] | None = field(repr=False)
    json_body: Mapping[str, Any] | None = field(repr=False)
    form: _FormBuilder | None = field(repr=False)
    secret: str | None = field(repr=False)
    time_limit: float
    device: str | None = None


class PageDocument(TypedDict, total=False):
    """The document of a page count: what :meth:`LiankeClient.file_pages` takes."""

    urls: Iterable[str]
    file: JobFile | None
    port: int
    printer_model: str | None
    paper_size: int | None
    url_file_ext: str | None


class LiankeClient:
    """The Lianke cloud, as typed async calls.

    Use it as ``async with LiankeClient(api_key) as client:`` or call ``close()``; a session
    passed in is borrowed and left open.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 15.0,
        rate_limit: float = 5.0,
        max_retries: int = 2,
        retry_backoff: float = 1.0,
        cache_ttl: float | None = DEFAULT_CACHE_TTL,
        refusal_retry: float = DEFAULT_REFUSAL_RETRY,
    ) -> None:
        if not api_key:
            raise ValueError("an ApiKey is required")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.retry_backoff = retry_backoff
        self.cache_ttl = cache_ttl
        self.stats = ApiStats()
        self._bucket = _TokenBucket(rate_limit)
        self._box_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._cache: dict[tuple[str, str], _CacheEntry] = {}
        self._cache_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.refusal_retry = refusal_retry
        self.key_refusal: Refusal | None = None
        """Set while the cloud refuses the ApiKey: every call is answered here, unsent."""
        self._device_refusals: dict[str, Refusal] = {}
        self.on_key_refusal_change: Callable[[], None] | None = None
        """Called when the ApiKey becomes refused, or accepted again (the bridge's health)."""

    def __repr__(self) -> str:
        return f"LiankeClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def clear_cache(self) -> None:
        """Forget cached printer params and paper sizes (e.g. after a driver update)."""
        self._cache.clear()

    # ------------------------------------------------------------------ printers and models

    async def printer_list(
        self, creds: Credentials, printer_type: codes.PrinterType = codes.PrinterType.ALL
    ) -> list[Printer]:
        """The printers on the box's USB ports and/or its LAN (``printerType`` 1, 2 or 3)."""
        data = await self._call(
            "printer_list",
            "GET",
            "/api/external_api/printer_list",
            retry=Retry.READ,
            params={**creds.as_params(), "printerType": str(int(printer_type))},
            secret=creds.device_key,
            device=creds.device_id,
        )
        rows = as_mapping(data).get("row") or []
        return [Printer.from_api(row) for row in rows if isinstance(row, Mapping)]

    async def printer_params(self, model: str) -> PrinterParams:
        """Capabilities and defaults of a printer model; cached per model."""

        async def fetch() -> PrinterParams:
            data = await self._call(
                "printer_params",
                "GET",
                "/api/print/printer_params",
                retry=Retry.READ,
                params={"printerModel": model},
            )
            return PrinterParams.from_api(model, as_mapping(data))

        result: PrinterParams = await self._cached("printer_params", model, fetch)
        return result

    async def paper_sizes(self, model: str) -> list[PaperSize]:
        """Paper sizes of a printer model (0.1 mm; ``paper_id`` is ``dmPaperSize``); cached."""

        async def fetch() -> tuple[PaperSize, ...]:
            data = await self._call(
                "paper_dimension_list",
                "GET",
                "/api/print/paper_dimension_list",
                retry=Retry.READ,
                params={"printerModel": model},
            )
            return tuple(
                PaperSize.from_api(str(name), entry)
                for name, entry in as_mapping(data).items()
                if isinstance(entry, Mapping)
            )

        sizes: tuple[PaperSize, ...] = await self._cached("paper_sizes", model, fetch)
        return list(sizes)

    async def printer_models(self, query: str | None = None) -> list[str]:
        """Every printer model the cloud supports, or those matching ``query`` (fuzzy search)."""
        if query is None:
            data = await self._call(
                "printer_enum", "GET", "/api/print/printer_enum", retry=Retry.READ
            )
        else:
            data = await self._call(
                "printer_enum_search",
                "POST",
                "/api/print/printer_enum",
                retry=Retry.READ,
                json_body={"query": query},
            )
        return [str(name) for name in data] if isinstance(data, list) else []

    # ------------------------------------------------------------------ print jobs

    async def submit_job(self, creds: Credentials, request: PrintRequest) -> str:
        """Submit a print job; returns its ``task_id`` at once. Never retried automatically."""
        if not (request.urls or request.file or request.task_ticket):
            raise ValueError("a print job needs a file, URLs or a task ticket")
        if request.urls and request.file:
            raise ValueError("a print job takes either a file or URLs, not both")
        if request.urls and request.file_ext_for_urls is None:
            raise ValueError(
                "a print job given by URL needs urlFileExt (url_file_ext): "
                "the links' paths do not end in one supported type"
            )
        if request.callback_url and not request.callback_url.startswith("https://"):
            raise ValueError("callbackUrl must be an https:// link (the cloud calls no other)")
        fields = {**creds.as_params(), **request.to_form()}

        def form() -> aiohttp.FormData:
            return _multipart(fields, request.file)

        data = await self._call(
            "print_job",
            "POST",
            "/api/print/job",
            retry=Retry.NEVER,
            form=form,
            secret=creds.device_key,
            device=creds.device_id,
        )
        task_id = as_mapping(data).get("task_id")
        if not task_id:
            raise errors.CloudResponseError(
                "the cloud accepted the job but sent no task_id", call="print_job", http_status=200
            )
        return str(task_id)

    async def job_status(self, creds: Credentials, task_id: str, port: int = 1) -> JobStatus:
        """Where a task is (READY … SUCCESS/FAILURE/REVOKED) and its result once done."""
        data = await self._call(
            "job_status",
            "GET",
            "/api/print/job",
            retry=Retry.READ,
            params=_job_params(creds, task_id, port),
            secret=creds.device_key,
            device=creds.device_id,
        )
        return JobStatus.from_api(task_id, as_mapping(data))

    async def cancel_job(self, creds: Credentials, task_id: str, port: int = 1) -> None:
        """Ask the cloud to revoke a task (it goes SET_REVOKE, then REVOKED)."""
        await self._call(
            "cancel_job",
            "DELETE",
            "/api/print/job",
            retry=Retry.ON_TOO_FREQUENT,
            params=_job_params(creds, task_id, port),
            secret=creds.device_key,
            device=creds.device_id,
        )

    async def device_tasks(self, creds: Credentials) -> list[DeviceTask]:
        """The box's tasks of the last day, newest first as the cloud sends them."""
        data = await self._call(
            "query_device_task",
            "POST",
            "/api/print/query_device_task",
            retry=Retry.READ,
            json_body=creds.as_params(),
            secret=creds.device_key,
            device=creds.device_id,
        )
        rows = as_mapping(data).get("task_list") or []
        return [DeviceTask.from_api(row) for row in rows if isinstance(row, Mapping)]

    async def flush_jobs(self, creds: Credentials, port: int = 1) -> int:
        """Drop the jobs queued for a port (not the one printing); returns how many were queued."""
        data = await self._call(
            "flush_jobs",
            "POST",
            "/api/print/flush_jobs",
            retry=Retry.ON_TOO_FREQUENT,
            json_body={**creds.as_params(), "devicePort": port},
            secret=creds.device_key,
            device=creds.device_id,
        )
        return _int(as_mapping(data).get("queue_num"))

    async def reset_error_limit(self, creds: Credentials, port: int = 1) -> None:
        """Lift the pause after too many failed jobs (11203); at most 10 a day per box."""
        async with self._box_lock(creds, "control"):
            await self._call(
                "reset_printing_error_limit",
                "POST",
                "/api/print/reset_printing_error_limit",
                retry=Retry.ON_TOO_FREQUENT,
                json_body={**creds.as_params(), "devicePort": str(port)},
                secret=creds.device_key,
                device=creds.device_id,
            )

    # ------------------------------------------------------------------ page counting

    async def file_pages(
        self,
        creds: Credentials,
        *,
        urls: Iterable[str] = (),
        file: JobFile | None = None,
        port: int = 1,
        printer_model: str | None = None,
        paper_size: int | None = None,
        url_file_ext: str | None = None,
    ) -> FilePages:
        """Ask the cloud to count a document's pages (one file or one URL). Never retried.

        The answer may carry the count, or only a ``task_id`` to follow (see ``count_pages``).
        """
        links = tuple(urls)
        if bool(links) == bool(file) or len(links) > 1:
            raise ValueError("file_pages takes exactly one document: one file or one URL")
        if file is not None and len(file.content) > MAX_FILE_PAGES_BYTES:
            raise ValueError("file_pages accepts files up to 20 MiB")
        fields = {**creds.as_params(), "devicePort": str(port)}
        if printer_model is not None:
            fields["printerModel"] = printer_model
        if paper_size is not None:
            fields["dmPaperSize"] = str(paper_size)
        if links:
            fields["jobFile"] = links[0]
            ext = normalise_file_ext(url_file_ext) if url_file_ext else url_path_ext(links[0])
            if ext is not None:
                fields["urlFileExt"] = ext

        def form() -> aiohttp.FormData:
            return _multipart(fields, file)

        data = await self._call(
            "file_pages",
            "POST",
            "/api/print/file_pages",
            retry=Retry.NEVER,
            form=form,
            secret=creds.device_key,
            device=creds.device_id,
        )
        result = FilePages.from_api(as_mapping(data))
        if result.task_id is None and result.pages is None:
            raise errors.CloudResponseError(
                "the answer has neither a page count nor a task_id",
                call="file_pages",
                http_status=200,
            )
        return result

    async def count_pages(
        self,
        creds: Credentials,
        *,
        poll_interval: float = 1.0,
        timeout: float = 60.0,  # noqa: ASYNC109 - a deadline for the whole count, named as the bridge expects
        **document: Unpack[PageDocument],
    ) -> int:
        """The page count of a document: ``file_pages``, then its task followed to the end.

        ``document`` takes the same keywords as :meth:`file_pages`.
        """
        started = await self.file_pages(creds, **document)
        port = document.get("port", 1)
        if started.pages is not None:
            return started.pages
        task_id = str(started.task_id)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    status = await self.job_status(creds, task_id, port)
                    if status.task_state.is_final:
                        break
                    await asyncio.sleep(poll_interval)
        except TimeoutError as err:
            raise errors.CloudTimeoutError(
                f"no page count after {timeout:g} s (task {task_id})", call="file_pages"
            ) from err
        if status.state is codes.JobState.SUCCEEDED and status.total_pages is not None:
            return status.total_pages
        if status.result_code is not None and status.result_code != codes.SUCCESS:
            raise codes.error_for_code(status.result_code, status.result_message, call="file_pages")
        raise errors.CloudResponseError(
            f"page counting ended {status.task_state.value} without a page count",
            call="file_pages",
            http_status=200,
        )

    # ------------------------------------------------------------------ the box

    async def device_info(self, creds: Credentials) -> DeviceInfo:
        """Online state, subscription, USB ports, firmware and network of the box."""
        data = await self._call(
            "device_info",
            "GET",
            "/api/device/device_info",
            retry=Retry.READ,
            params=creds.as_params(),
            secret=creds.device_key,
            device=creds.device_id,
        )
        return DeviceInfo.from_api(as_mapping(data))

    async def printer_status(self, creds: Credentials, port: int) -> PrinterStatus:
        """A live reading of a printer's sensors; one at a time per box, slow by nature."""
        async with self._box_lock(creds, "printer_status"):
            data = await self._call(
                "printer_status",
                "GET",
                "/api/device/printer_status",
                retry=Retry.READ,
                params={**creds.as_params(), "usbPort": str(port)},
                secret=creds.device_key,
                device=creds.device_id,
                time_limit=self.timeout * STATUS_TIMEOUT_FACTOR,
            )
        return PrinterStatus.from_api(as_mapping(data))

    async def request_adaptation(self, creds: Credentials, printer_id: int, phone: str) -> None:
        """Ask Lianke to adapt a driver for an unsupported printer (they text ``phone``)."""
        await self._call(
            "uninstall_driver_event",
            "POST",
            "/api/driver/uninstall_driver_event",
            retry=Retry.ON_TOO_FREQUENT,
            json_body={**creds.as_params(), "printerId": str(printer_id), "phone": phone},
            secret=creds.device_key,
            device=creds.device_id,
        )

    async def refresh_device_info(self, creds: Credentials, firmware: str | None = None) -> bool:
        """The deprecated refresh; skipped (False) on firmware 2.1.112 and later.

        Without ``firmware`` the box's version is read with ``device_info`` first.
        """
        if firmware is None:
            firmware = (await self.device_info(creds)).firmware
        if not refresh_needed(firmware):
            _LOGGER.debug("device refresh skipped: firmware %s does it by itself", firmware)
            return False
        async with self._box_lock(creds, "control"):
            await self._call(
                "async_refresh_device_info",
                "GET",
                "/api/device/async_refresh_device_info",
                retry=Retry.ON_TOO_FREQUENT,
                params=creds.as_params(),
                secret=creds.device_key,
                device=creds.device_id,
            )
        return True

    async def refresh_network_printers(self, creds: Credentials) -> int:
        """Rescan the box's LAN for network printers; returns how many were found."""
        data = await self._call(
            "refresh_network_printer",
            "GET",
            "/api/printer/refresh_network_printer",
            retry=Retry.ON_TOO_FREQUENT,
            params=creds.as_params(),
            secret=creds.device_key,
            device=creds.device_id,
        )
        if isinstance(data, Mapping):
            return _int(data.get("total"))
        return _int(data)

    async def reboot(self, creds: Credentials) -> None:
        """Reboot the box (asynchronous: it cannot print for a while)."""
        async with self._box_lock(creds, "control"):
            await self._call(
                "async_device_reboot",
                "POST",
                "/api/device/async_device_reboot",
                retry=Retry.ON_TOO_FREQUENT,
                json_body=creds.as_params(),
                secret=creds.device_key,
                device=creds.device_id,
            )

    # ------------------------------------------------------------------ refused keys

    def device_refusal(self, device_id: str) -> Refusal | None:
        """Set while the cloud refuses this box's device id or key (404)."""
        return self._device_refusals.get(device_id)

    def refused(self, call: str, creds: Credentials | None = None) -> errors.CloudApiError | None:
        """The error a call would get at once for a refused key (None: it would be sent)."""
        now = time.monotonic()
        refusals = [(self.key_refusal, "the ApiKey")]
        if creds is not None:
            device = creds.device_id
            refusals.append((self._device_refusals.get(device), f"the device key of {device}"))
        for refusal, what in refusals:
            if refusal is not None and (refusal.probing or now < refusal.retry_at):
                return refusal.unsent(call, what)
        return None

    def retry_refused(self) -> None:
        """Let the next call with each refused key through at once (SIGHUP)."""
        now = time.monotonic()
        for refusal in (self.key_refusal, *self._device_refusals.values()):
            if refusal is not None and not refusal.probing:
                refusal.retry_at = now

    def _admit(self, call: str, device: str | None) -> tuple[Refusal, ...]:
        """Refuse a call locally while its key is refused; or mark it as the one probe."""
        now = time.monotonic()
        refusals = [(self.key_refusal, "the ApiKey")]
        if device is not None:
            refusals.append((self._device_refusals.get(device), f"the device key of {device}"))
        probes = []
        for refusal, what in refusals:
            if refusal is None:
                continue
            if refusal.probing or now < refusal.retry_at:
                self.stats.unsent += 1
                raise refusal.unsent(call, what)
            probes.append(refusal)
        for refusal in probes:
            refusal.probing = True
        return tuple(probes)

    def _judge(
        self, probes: tuple[Refusal, ...], device: str | None, err: errors.CloudError | None
    ) -> None:
        """After an answer: refuse a key the cloud refused, lift a refusal a probe got past."""
        for refusal in probes:
            refusal.probing = False
        if isinstance(err, errors.CloudConnectionError | errors.CloudResponseError):
            return  # no verdict (no API answer): the next call probes again
        if isinstance(err, errors.InvalidApiKeyError):
            self.key_refusal = self._refuse(self.key_refusal, err)
            if self.key_refusal.tries == 1:
                self._key_refusal_changed()
                _LOGGER.error(
                    "the cloud refused the ApiKey (%s); all polling stops, commands that need "
                    "the cloud are refused at once; trying again every %.0f min or on SIGHUP",
                    err.api_message or err.code,
                    self.refusal_retry / 60,
                )
            return
        if isinstance(err, errors.DeviceAuthError) and device is not None:
            refusal = self._refuse(self._device_refusals.get(device), err)
            self._device_refusals[device] = refusal
            return
        if self.key_refusal is not None and self.key_refusal in probes:
            _LOGGER.info("the cloud accepts the ApiKey again; polling resumes")
            self.key_refusal = None
            self._key_refusal_changed()
        if device is not None and self._device_refusals.get(device) in probes:
            _LOGGER.info("the cloud accepts the device key of %s again", device)
            del self._device_refusals[device]

    def _key_refusal_changed(self) -> None:
        if self.on_key_refusal_change is not None:
            self.on_key_refusal_change()

    def _refuse(self, current: Refusal | None, err: errors.CloudApiError) -> Refusal:
        retry_at = time.monotonic() + self.refusal_retry
        if current is None:
            return Refusal(err, time.time(), retry_at, self.refusal_retry)
        current.retry_at, current.answer = retry_at, err
        current.tries += 1
        return current

    # ------------------------------------------------------------------ plumbing

    def _box_lock(self, creds: Credentials, group: str) -> asyncio.Lock:
        """One lock per box and kind of call the API allows only once at a time."""
        key = (creds.device_id, group)
        lock = self._box_locks.get(key)
        if lock is None:
            lock = self._box_locks[key] = asyncio.Lock()
        return lock

    async def _cached(self, kind: str, model: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """Answer from the cache, or fetch once even when many ask at the same time."""
        key = (kind, model)
        lock = self._cache_locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._cache.get(key)
            if entry is not None and entry.expires > time.monotonic():
                self.stats.cache_hits += 1
                return entry.value
            value = await fetch()
            ttl = float("inf") if self.cache_ttl is None else self.cache_ttl
            self._cache[key] = _CacheEntry(value, time.monotonic() + ttl)
            return value

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise errors.CloudConnectionError("the borrowed HTTP session is closed")
            self._session = aiohttp.ClientSession()
        return self._session

    async def _call(
        self,
        call: str,
        method: str,
        path: str,
        *,
        retry: Retry,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        form: _FormBuilder | None = None,
        secret: str | None = None,
        time_limit: float | None = None,
        device: str | None = None,
    ) -> Any:
        """Send one API call with the retry policy; returns the answer's ``data``.

        A call with a refused ApiKey or device key is answered here, unsent (see ``Refusal``).
        """
        request = _Request(
            call=call,
            method=method,
            path=path,
            params=params,
            json_body=json_body,
            form=form,
            secret=secret,
            time_limit=time_limit or self.timeout,
            device=device,
        )
        probes = self._admit(call, device)
        try:
            data = await self._call_with_retries(request, retry)
        except errors.CloudError as err:
            self._judge(probes, device, err)
            raise
        self._judge(probes, device, None)
        return data

    async def _call_with_retries(self, request: _Request, retry: Retry) -> Any:
        call = request.call
        attempt = 0
        while True:
            try:
                return await self._send(request)
            except errors.CloudError as err:
                if attempt >= self.max_retries or not _may_retry(retry, err):
                    raise
                attempt += 1
                delay = self.retry_backoff * 2 ** (attempt - 1) * (0.5 + random.random())  # noqa: S311 - jitter, not crypto
                self.stats.retries += 1
                _LOGGER.warning(
                    "%s failed (%s); retry %d/%d in %.1f s",
                    call,
                    err.message,
                    attempt,
                    self.max_retries,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _send(self, request: _Request) -> Any:
        """One HTTP request, its failures mapped onto the error tree."""
        if await self._bucket.acquire(_PRIORITY.get()):
            self.stats.throttled += 1
        session = self._get_session()
        call = request.call
        self.stats.count_call(call)
        self.stats.last_call = call
        started = time.monotonic()
        try:
            async with asyncio.timeout(request.time_limit):
                async with session.request(
                    request.method,
                    self.base_url + request.path,
                    params=request.params,
                    json=request.json_body,
                    data=request.form() if request.form is not None else None,
                    headers={"ApiKey": self._api_key},
                ) as response:
                    status = response.status
                    reason = response.reason or ""
                    content_type = response.content_type
                    body = await response.read()
        except TimeoutError as err:
            self.stats.count_error(call, "timeout", time.monotonic() - started)
            raise errors.CloudTimeoutError(
                f"no answer from {self._host} within {request.time_limit:g} s", call=call
            ) from err
        except aiohttp.ClientError as err:
            self.stats.count_error(call, "connection", time.monotonic() - started)
            detail = self._redact(_describe(err), request.secret)
            raise errors.CloudConnectionError(
                f"cannot reach {self._host}: {detail}", call=call
            ) from err
        latency = time.monotonic() - started
        self.stats.last_latency = latency
        _LOGGER.debug(
            "%s %s -> HTTP %d in %.0f ms", request.method, request.path, status, latency * 1000
        )
        data = self._data(call, status, reason, content_type, body, latency=latency)
        self.stats.count_success(call, latency)
        return data

    def _data(
        self,
        call: str,
        status: int,
        reason: str,
        content_type: str,
        body: bytes,
        *,
        latency: float,
    ) -> Any:
        """Check the envelope ``{"code", "msg", "data"}``; raise the named error for its code."""
        if status >= 400:  # noqa: PLR2004 - HTTP error range
            self.stats.count_error(call, f"http_{status}", latency)
            raise errors.CloudResponseError(
                f"HTTP {status} {reason}".strip(), call=call, http_status=status
            )
        try:
            answer = json.loads(body)
        except ValueError as err:
            self.stats.count_error(call, "bad_response", latency)
            kind = content_type or "an unknown type"
            raise errors.CloudResponseError(
                f"the answer is not JSON ({kind}, {len(body)} bytes)", call=call, http_status=status
            ) from err
        code = int_or_none(answer.get("code")) if isinstance(answer, Mapping) else None
        if code is None:
            self.stats.count_error(call, "bad_response", latency)
            raise errors.CloudResponseError(
                "the answer is JSON but has no API code", call=call, http_status=status
            )
        if code != codes.SUCCESS:
            self.stats.count_error(call, str(code), latency)
            if code == errors.TooFrequentError.code:
                self.stats.rate_limited += 1
            message = answer.get("msg")
            raise codes.error_for_code(code, None if message is None else str(message), call=call)
        return answer.get("data")

    @property
    def _host(self) -> str:
        """The host for messages, without anything secret (no query, no credentials)."""
        try:
            url = yarl.URL(self.base_url)
        except ValueError:  # pragma: no cover - a base_url aiohttp cannot even parse
            return "the Lianke cloud"
        return f"{url.host}:{url.port}" if url.explicit_port else str(url.host)

    def _redact(self, text: str, secret: str | None) -> str:
        """Blank out the ApiKey and a deviceKey, should a library message ever contain them."""
        for value in (self._api_key, secret):
            if value:
                text = text.replace(value, "***")
        return text


def _may_retry(policy: Retry, err: errors.CloudError) -> bool:
    """Only repeat what cannot do harm twice."""
    if isinstance(err, errors.TooFrequentError):
        return policy is not Retry.NEVER
    if policy is not Retry.READ:
        return False
    if isinstance(err, errors.CloudConnectionError):
        return True
    return (
        isinstance(err, errors.CloudResponseError)
        and err.http_status is not None
        and err.http_status >= 500  # noqa: PLR2004 - HTTP server errors
    )


def _describe(err: aiohttp.ClientError) -> str:
    """A short reason, without a URL (whose query would carry the deviceKey)."""
    if isinstance(err, aiohttp.ClientConnectorError):
        return err.os_error.strerror or type(err.os_error).__name__
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(err, aiohttp.ClientPayloadError):
        return "the answer was cut off"
    if isinstance(err, aiohttp.ClientResponseError | aiohttp.InvalidURL):
        return type(err).__name__  # their text includes the URL
    return str(err) or type(err).__name__


def _multipart(fields: Mapping[str, str], file: JobFile | None) -> aiohttp.FormData:
    """The form as ``multipart/form-data`` (what the reference says), with the file if any."""
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, value)
    if file is not None:
        form.add_field(
            "jobFile", file.content, filename=file.filename, content_type=file.content_type
        )
    return form


def _job_params(creds: Credentials, task_id: str, port: int) -> dict[str, str]:
    return {**creds.as_params(), "devicePort": str(port), "task_id": task_id}


def _int(value: object) -> int:
    return int_or_none(value) or 0
