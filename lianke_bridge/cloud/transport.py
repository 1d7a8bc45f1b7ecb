"""The client's transport: one HTTP session, the answer's envelope, the error tree.

Everything one call of :class:`~lianke_bridge.cloud.client.LiankeClient` goes through, in order:
the refused-key guard (:mod:`~lianke_bridge.cloud.refusals`), the retry policy (exponential
backoff with jitter, only where repeating cannot do harm), the client-wide rate limit
(:mod:`~lianke_bridge.cloud.limiter`), the request itself, and the answer's code mapped onto
:mod:`lianke_bridge.errors`. Neither the ApiKey nor a deviceKey ever appears in an error message
or a log line (URLs are logged without their query string, which carries the deviceKey).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Any, Self

import aiohttp
import yarl

from lianke_bridge import errors
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.cache import DEFAULT_CACHE_TTL, ModelCache
from lianke_bridge.cloud.limiter import TokenBucket, current_deadline, current_priority
from lianke_bridge.cloud.models import Credentials, int_or_none
from lianke_bridge.cloud.refusals import Refusal, RefusalGuard
from lianke_bridge.cloud.stats import ApiStats

_LOGGER = logging.getLogger(__name__)

DEFAULT_REFUSAL_RETRY = 15 * 60.0
"""Seconds between tries of an ApiKey or device key the cloud refused (``retry_refused`` now)."""
DEFAULT_STATUS_SPACING = 3.0
"""Seconds between two printer_status of the same printer (box and port).

The reference: the same box's same USB port asked again "within a short time" is answered 10009;
the simulator refuses within 2 s of the last answer; 3 s leaves a margin.
"""


class Retry(Enum):
    """When a call may be repeated automatically."""

    READ = "read"
    """Reads: on connection errors, timeouts, HTTP 5xx and 10009."""
    ON_TOO_FREQUENT = "on_too_frequent"
    """Writes: only on 10009, which the cloud answers before doing anything."""
    NEVER = "never"
    """Print jobs and page counts: a repeat could print twice or trip the cloud's abuse guard."""


FormBuilder = Callable[[], aiohttp.FormData]
"""Builds a fresh form per attempt (aiohttp consumes a FormData when it sends it)."""


@dataclass(frozen=True)
class _Request:
    """One API call as sent: what ``_send`` needs, secrets kept out of ``repr``."""

    call: str
    method: str
    path: str
    params: Mapping[str, str] | None = field(repr=False)
    json_body: Mapping[str, Any] | None = field(repr=False)
    form: FormBuilder | None = field(repr=False)
    secret: str | None = field(repr=False)
    time_limit: float
    device: str | None = None


class CloudTransport:
    """Sends API calls politely and maps their failures; the endpoints live in the subclass.

    Use it as ``async with`` or call ``close()``; a session passed in is borrowed and left open.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = codes.BASE_URL,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 15.0,
        rate_limit: float = 5.0,
        max_retries: int = 2,
        retry_backoff: float = 1.0,
        cache_ttl: float | None = DEFAULT_CACHE_TTL,
        refusal_retry: float = DEFAULT_REFUSAL_RETRY,
        status_spacing: float = DEFAULT_STATUS_SPACING,
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
        self.stats = ApiStats()
        self._cache = ModelCache(cache_ttl, self.stats)
        self._bucket = TokenBucket(rate_limit)
        self._box_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.status_spacing = max(0.0, status_spacing)
        self._status_answered: dict[tuple[str, int], float] = {}
        """(device id, port) -> loop time printer_status last answered (or failed) for it."""
        self._refusals = RefusalGuard(refusal_retry, self.stats)

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

    # ------------------------------------------------------------------ refused keys

    @property
    def refusal_retry(self) -> float:
        """Seconds between tries of a refused key."""
        return self._refusals.retry

    @property
    def key_refusal(self) -> Refusal | None:
        """Set while the cloud refuses the ApiKey: every call is answered here, unsent."""
        return self._refusals.key

    @property
    def on_key_refusal_change(self) -> Callable[[], None] | None:
        """Called when the ApiKey becomes refused, or accepted again (the bridge's health)."""
        return self._refusals.on_key_change

    @on_key_refusal_change.setter
    def on_key_refusal_change(self, callback: Callable[[], None] | None) -> None:
        self._refusals.on_key_change = callback

    def device_refusal(self, device_id: str) -> Refusal | None:
        """Set while the cloud refuses this box's device id or key (404)."""
        return self._refusals.device(device_id)

    def refused(self, call: str, creds: Credentials | None = None) -> errors.CloudApiError | None:
        """The error a call would get at once for a refused key (None: it would be sent)."""
        return self._refusals.refused(call, creds)

    def retry_refused(self) -> None:
        """Let the next call with each refused key through at once (SIGHUP)."""
        self._refusals.retry_now()

    # ------------------------------------------------------------------ plumbing

    def _box_lock(self, creds: Credentials, group: str) -> asyncio.Lock:
        """One lock per box and kind of call the API allows only once at a time."""
        key = (creds.device_id, group)
        lock = self._box_locks.get(key)
        if lock is None:
            lock = self._box_locks[key] = asyncio.Lock()
        return lock

    @contextlib.asynccontextmanager
    async def _spaced_status(self, creds: Credentials, port: int) -> AsyncIterator[None]:
        """Hold the box's printer_status turn, waiting until the port may be asked again.

        The cloud allows one printer_status at a time per box, and answers 10009 when the same
        port is asked again within a short time: a ``refresh`` right after a poll waits out
        ``status_spacing`` instead of being refused.
        """
        key = (creds.device_id, port)
        loop = asyncio.get_running_loop()
        async with self._box_lock(creds, "printer_status"):
            last = self._status_answered.get(key)
            if last is not None and (wait := last + self.status_spacing - loop.time()) > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._status_answered[key] = loop.time()

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
        form: FormBuilder | None = None,
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
        probes = self._refusals.admit(call, device)
        try:
            data = await self._call_with_retries(request, retry)
        except errors.CloudError as err:
            self._refusals.judge(probes, device, err)
            raise
        self._refusals.judge(probes, device, None)
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
        """One call: its turn under the rate limit, then the HTTP request."""
        if await self._bucket.acquire(current_priority(), current_deadline()):
            self.stats.throttled += 1
        return await self._exchange(request)

    async def _exchange(self, request: _Request) -> Any:
        """One HTTP request, its failures mapped onto the error tree."""
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
