"""What the bridge says about itself: info, health, the heartbeat, events and forwarded logs.

``bridge/health`` (retained, every ``health_interval`` and at once when the ApiKey is refused
or accepted again, or the state stops or starts taking writes again), the heartbeat file the
``health`` command reads, the ``health_check`` answer, ``/healthz``, ``<dev>/event`` and
``bridge/event``, and warnings forwarded to ``bridge/log``. It reads the counters others keep; it
changes nothing of the bridge. Uptime is counted on the monotonic clock: a wall-clock step does
not change it.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from lianke_bridge import __version__, heartbeat
from lianke_bridge.asyncutil import checkpoint, sleep_until_woken
from lianke_bridge.bridge.jobs.tracker import JobTracker
from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.mqtt.session import MqttCounters
from lianke_bridge.bridge.polling.schedule import FleetSchedule
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.envelope import ErrorCode
from lianke_bridge.bridge.records.health import ApiHealth, DeviceHealth, HealthCheckData, MqttHealth
from lianke_bridge.bridge.records.push import PushLedger
from lianke_bridge.bridge.records.state import JobRecord, iso
from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.clock import SYSTEM_CLOCK, Clock
from lianke_bridge.clock import now as clock_now
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.stats import ApiStats
from lianke_bridge.config import Config
from lianke_bridge.errors import TooFrequentError

API_PROBLEM_CODES = frozenset(
    {
        ErrorCode.API_UNREACHABLE.value,
        ErrorCode.TIMEOUT.value,
        ErrorCode.API_ERROR.value,
        TooFrequentError.code,
    }
)
"""Box errors that mean the cloud API itself is failing or rate-limiting (``api_problem``)."""
LOG_QUEUE_SIZE = 100


class BridgeMonitor:
    """The bridge's own reports, built from the counters and state the other parts keep."""

    def __init__(
        self,
        config: Config,
        *,
        boxes: Mapping[str, Box],
        topics: Topics,
        publisher: Publisher,
        store: Store,
        connected: asyncio.Event,
        counters: MqttCounters,
        cloud: Callable[[], LiankeClient | None],
        jobs: Callable[[], JobTracker],
        schedule: Callable[[], FleetSchedule],
        pushes: PushLedger,
        health_interval: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.boxes = boxes
        self.topics = topics
        self.publisher = publisher
        self.store = store
        self.connected = connected
        self.counters = counters
        self._cloud = cloud
        self._jobs = jobs
        self._schedule = schedule
        self.pushes = pushes
        """The cloud's pushes: where they go, whether they arrive, what became of them."""
        self.health_interval = health_interval
        self._clock = clock
        self.started_at = clock_now(clock)
        """When the service was made, as the wall clock said then (shown in ``bridge/info``)."""
        self._started = clock.monotonic()
        self.wake = asyncio.Event()
        """Set when the ApiKey is refused or accepted again: health is published at once."""
        self._log_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=LOG_QUEUE_SIZE)
        self._log_loop: asyncio.AbstractEventLoop | None = None
        """The loop publishing the log (a record from another thread is handed to it)."""

    def info(self) -> dict[str, Any]:
        """``<base>/bridge/info``: never secrets."""
        return {
            "version": __version__,
            "base_topic": self.config.mqtt.base_topic,
            "devices": list(self.boxes),
            "shard": str(self.config.shard),
            "homeassistant": self.config.homeassistant.enabled,
            "started_at": iso(self.started_at),
            "pushes": self.pushes.mode,
        }

    @property
    def messages_in(self) -> int:
        """MQTT messages received."""
        return self.counters.messages_in

    @property
    def reconnects(self) -> int:
        """Lost or failed broker connections."""
        return self.counters.reconnects

    @property
    def api_stats(self) -> ApiStats | None:
        """What the cloud client counted (None before the service runs)."""
        client = self._cloud()
        return None if client is None else client.stats

    def known_jobs(self) -> list[JobRecord]:
        """Every job the tracker knows (while the service runs)."""
        return list(self._jobs().jobs.values())

    def uptime_seconds(self) -> int:
        """Whole seconds since the service was made (monotonic: never negative, never jumps)."""
        return int(self._clock.monotonic() - self._started)

    def healthy(self) -> bool:
        """Connected to the broker, the cloud not failing and the state taking writes.

        What ``health_check`` and ``/healthz`` say.
        """
        return self.connected.is_set() and not self.api_problem() and self.store.problem is None

    def healthz(self) -> dict[str, Any]:
        """The small JSON of ``/healthz``: the same facts as ``bridge/health``, never secrets."""
        return {
            "healthy": self.healthy(),
            "mqtt": {"connected": self.connected.is_set()},
            "api_problem": self.api_problem(),
            "api_problem_reason": self.api_problem_reason(),
            **self._state_problem(),
            "uptime_s": self.uptime_seconds(),
            "version": __version__,
        }

    def _state_problem(self) -> dict[str, Any]:
        """``state_problem`` (bool) and ``state_problem_reason``: the state cannot be written."""
        reason = self.store.problem
        return {"state_problem": reason is not None, heartbeat.STATE_PROBLEM_KEY: reason}

    def health(self) -> dict[str, Any]:
        """``<base>/bridge/health``."""
        client = self._running_client()
        return {
            "uptime_s": self.uptime_seconds(),
            "rss_bytes": rss_bytes(),
            "mqtt": {
                "connected": self.connected.is_set(),
                "messages_in": self.counters.messages_in,
                "messages_out": self.publisher.messages_out,
                "reconnects": self.counters.reconnects,
            },
            "api": client.stats.to_json(),
            "api_problem": self.api_problem(),
            "api_problem_reason": self.api_problem_reason(),
            **self._state_problem(),
            "jobs_active": sum(1 for j in self._jobs().jobs.values() if not j.state.is_final),
            "schedule": self._schedule().replan().to_json(),
            "pushes": self.pushes.to_json(),
        }

    def health_check(self) -> HealthCheckData:
        """The ``health_check`` answer."""
        problem = self.store.problem
        return HealthCheckData(
            healthy=self.healthy(),
            mqtt=MqttHealth(self.connected.is_set(), self.counters.reconnects),
            api=ApiHealth(ok=not self.api_problem(), **self._running_client().stats.to_json()),
            state_problem=problem is not None,
            state_problem_reason=problem,
            devices={
                name: DeviceHealth(box.state.online, box.last_poll, box.state.error)
                for name, box in self.boxes.items()
            },
        )

    def api_problem_reason(self) -> str | None:
        """Why ``api_problem`` is on, when the cloud refused the ApiKey (None otherwise)."""
        client = self._cloud()
        refusal = None if client is None else client.key_refusal
        if refusal is None:
            return None
        since = iso(datetime.fromtimestamp(refusal.since, UTC))
        return (
            f"the cloud refused the ApiKey since {since} (code {refusal.answer.code}"
            f"{': ' + refusal.answer.api_message if refusal.answer.api_message else ''}); "
            f"polling stopped, tried again every {refusal.retry_in / 60:.0f} min or on SIGHUP"
        )

    def api_problem(self) -> bool:
        """The cloud is failing or rate-limiting: any box's last poll ended in such an error."""
        client = self._cloud()
        if client is not None and client.key_refusal is not None:
            return True
        for box in self.boxes.values():
            error = box.state.error
            if error and error.get("code") in API_PROBLEM_CODES:
                return True
        return False

    async def health_loop(self, health: Callable[[], dict[str, Any]]) -> None:
        """Write the heartbeat and publish ``health()`` retained, until cancelled.

        Each round first has the store check that its state can be written (and write it whole
        again after lost writes): a disk that filled up or was cleared is noticed even when
        nothing else writes. The heartbeat is handed to the writer thread before the report is
        published, so whoever sees the report finds the heartbeat (``health``) with it.
        """
        while True:
            checkpoint()
            self.store.check()
            report = health()
            self.store.write_heartbeat(report)
            await self.publisher.publish(self.topics.bridge_health, report, retain=True)
            await sleep_until_woken(self.wake, self.health_interval)

    async def emit(self, device: str | None, event: dict[str, Any]) -> None:
        """Publish an event on the device's or the bridge's event topic."""
        topic = self.topics.bridge_event if device is None else self.topics.event(device)
        await self.publisher.publish(topic, {**event, "time": iso(clock_now(self._clock))})

    def forward_log(self, record: dict[str, Any]) -> None:
        """Queue a warning or error for ``<base>/bridge/log`` (called by the log handler).

        From any thread: the state's writer thread logs too (the queue is the event loop's).
        """
        loop = self._log_loop
        if loop is not None and not _running(loop):
            with contextlib.suppress(RuntimeError):  # the loop is closed: the bridge stops
                loop.call_soon_threadsafe(self._queue_log, record)
            return
        self._queue_log(record)

    def _queue_log(self, record: dict[str, Any]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._log_queue.put_nowait(record)

    async def log_loop(self) -> None:
        """Publish the queued log records, a repeat of the last one only once."""
        self._log_loop = asyncio.get_running_loop()
        last: tuple[Any, ...] | None = None
        while True:
            checkpoint()
            record = await self._log_queue.get()
            key = (record.get("level"), record.get("message"), record.get("device"))
            if key == last:
                continue
            last = key
            await self.publisher.publish(self.topics.bridge_log, record)

    def _running_client(self) -> LiankeClient:
        client = self._cloud()
        if client is None:
            raise RuntimeError("the service is not running")
        return client


def _running(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether this thread is running ``loop``."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def rss_bytes() -> int:
    """Resident memory: /proc on Linux (the Pi), ru_maxrss elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:  # noqa: PTH123
            pages = int(handle.read().split()[1])
        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
