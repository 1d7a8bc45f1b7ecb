"""Measuring instruments: processes, the simulator's call log, an MQTT requester, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiomqtt
from aiohttp import web

from bench.tuning import SOCKET_OPTIONS
from lianke_bridge.simulator import Simulator
from lianke_bridge.simulator.bodies import BODY

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
_QUIET = logging.getLogger("bench.mqtt")
_QUIET.setLevel(logging.ERROR)  # aiomqtt warns about many pending publishes: the burst


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0-1) percentile, nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


class Process:
    """A child process of the run, and what /proc says about its CPU and memory."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name
        self.started = time.monotonic()

    @classmethod
    async def start(cls, name: str, *args: str, log: Path) -> Process:
        """Start ``python -m …`` (or any args after the interpreter) with output in ``log``."""
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=out,
            )
        return cls(process, name)

    async def wait_line(self, word: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until the process prints ``word`` on a line of its own."""
        assert self.process.stdout is not None  # noqa: S101 - started with a pipe
        async with asyncio.timeout(timeout):
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    raise RuntimeError(f"{self.name} exited before saying {word!r}")
                if line.strip().decode(errors="replace") == word:
                    return

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def rss_bytes(self) -> int:
        """Resident memory now."""
        pages = int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1])
        return pages * _PAGE

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            async with asyncio.timeout(10):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass(frozen=True)
class Call:
    """One API call the simulator answered."""

    at: float
    """time.monotonic() when it arrived."""
    path: str
    device_id: str
    port: str
    code: int | None


def record_calls(sim: Simulator) -> list[Call]:
    """Log every API call with its arrival time and answer code (install before ``start``)."""
    calls: list[Call] = []

    @web.middleware
    async def timing(request: web.Request, handler: Any) -> web.StreamResponse:
        at = time.monotonic()
        response: web.StreamResponse = await handler(request)
        fields: dict[str, Any] = dict(request.query)
        body = request.get(BODY)
        if body is not None:
            fields.update(body.fields)
        code = None
        if isinstance(response, web.Response) and isinstance(response.body, bytes):
            with contextlib.suppress(ValueError, AttributeError):
                code = int(json.loads(response.body).get("code"))
        calls.append(
            Call(
                at,
                request.path,
                str(fields.get("deviceId", "")),
                # printer_status names its port usbPort, the job calls devicePort
                str(fields.get("devicePort", fields.get("usbPort", ""))),
                code,
            )
        )
        return response

    sim.app.middlewares.insert(0, timing)
    return calls


class Requester:
    """A plain MQTT client that sends requests and matches answers by transaction."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._client: aiomqtt.Client | None = None
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.first_seen: dict[str, float] = {}
        """First arrival time of every non-response topic seen (for start-up figures)."""
        self.errors = 0
        self.health: dict[str, Any] = {}
        """The last bridge/health seen (the fleet run reads the call budget's plan from it)."""

    async def __aenter__(self) -> Self:
        client = aiomqtt.Client(
            self.host,
            self.port,
            protocol=aiomqtt.ProtocolVersion.V5,
            socket_options=SOCKET_OPTIONS,
            logger=_QUIET,
            timeout=60,  # a flood's publishes of 5 MB wait their turn
        )
        await client.__aenter__()
        self._client = client
        self._reader = asyncio.create_task(self._read(client))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.__aexit__(None, None, None)

    @property
    def client(self) -> aiomqtt.Client:
        """The connected client."""
        if self._client is None:
            raise RuntimeError("not connected")
        return self._client

    async def subscribe(self, *topic_filters: str) -> None:
        """Subscribe (QoS 1) to answers or state topics."""
        for topic_filter in topic_filters:
            await self.client.subscribe(topic_filter, qos=1)

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = message.topic.value
            if "/response/" not in topic:
                self.first_seen.setdefault(topic, time.monotonic())
                if topic.endswith("/bridge/health"):
                    with contextlib.suppress(TypeError, ValueError):
                        self.health = json.loads(message.payload)
                continue
            try:
                envelope = json.loads(message.payload)
            except (TypeError, ValueError):
                continue
            future = self._pending.pop(str(envelope.get("transaction")), None)
            if future is not None and not future.done():
                future.set_result(envelope)

    async def request(
        self,
        topic: str,
        payload: dict[str, Any],
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> float:
        """Send one request; return seconds until its answer (an error answer counts)."""
        transaction = uuid.uuid4().hex
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        started = time.perf_counter()
        await self.client.publish(topic, json.dumps({**payload, "transaction": transaction}), qos=1)
        envelope = await asyncio.wait_for(future, timeout)
        elapsed = time.perf_counter() - started
        if envelope.get("status") != "ok":
            self.errors += 1
        return elapsed

    async def send(self, topic: str, payload: dict[str, Any]) -> asyncio.Future[Any]:
        """Send one request (its publish acknowledged); the future is its answer's envelope."""
        transaction = uuid.uuid4().hex
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        await self.client.publish(topic, json.dumps({**payload, "transaction": transaction}), qos=1)
        return future

    async def wait_until(
        self,
        done: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 - reads best
    ) -> bool:
        """Check ``done`` every 50 ms until it holds (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True
