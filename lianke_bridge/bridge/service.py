"""The bridge service: the composition root that owns the clients and wires the parts.

It makes every part and hands each the values and callables it needs: no part imports it. One
reconnect loop (``mqtt/session.py``) runs one MQTT session at a time (``session.py``), and each
session runs named tasks: the request listener (``intake/``), one poller per box
(``polling/``), the job tracker (``jobs/``), the health publisher and the log forwarder
(``monitoring/``); Home Assistant is announced by ``discovery/announcer.py``. Only MQTT errors
end a session (and trigger a reconnect with capped backoff); cloud errors are published and
polling goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiomqtt

from lianke_bridge import heartbeat
from lianke_bridge.bridge.discovery.announcer import HA_ANNOUNCE_DELAY, HomeAssistantAnnouncer
from lianke_bridge.bridge.intake.answering import RequestAnswerer
from lianke_bridge.bridge.intake.listener import RequestListener
from lianke_bridge.bridge.intake.scaleout import InstanceRole
from lianke_bridge.bridge.jobs.pushes import Pushes
from lianke_bridge.bridge.jobs.tracker import JobTracker
from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.monitoring.monitor import BridgeMonitor
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.mqtt.session import (
    MqttCounters,
    mqtt_client,
    reconnect_forever,
)
from lianke_bridge.bridge.polling.poller import BoxPoller
from lianke_bridge.bridge.polling.schedule import FleetSchedule
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.model import Limits
from lianke_bridge.bridge.requests.registry import COMMANDS, Commands
from lianke_bridge.bridge.session import BridgeSession
from lianke_bridge.clock import SYSTEM_CLOCK, Clock
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.models import Credentials
from lianke_bridge.config import Config

if TYPE_CHECKING:
    from lianke_bridge.bridge.monitoring.metrics import BridgeMetrics

_LOGGER = logging.getLogger(__name__)

HEALTH_INTERVAL = heartbeat.HEALTH_INTERVAL
SHED_AFTER = 5.0
"""Seconds of queued work beyond which a request is answered ``rate_limited`` at once."""


class BridgeService:
    """Puts every configured box on MQTT, as the contract says."""

    def __init__(
        self,
        config: Config,
        *,
        client: LiankeClient | None = None,
        ha_announce_delay: tuple[float, float] = HA_ANNOUNCE_DELAY,
        health_interval: float = HEALTH_INTERVAL,
        shed_after: float = SHED_AFTER,
        clear_on_stop: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        commands: Commands = COMMANDS,
    ) -> None:
        self.config = config
        self.clock = clock
        """Where the bridge reads the time (tests step its wall clock)."""
        self.clear_on_stop = clear_on_stop
        """Leave nothing retained behind on a clean stop (the demo: its boxes are not real)."""
        self.shard = config.shard
        self.topics = Topics(config.mqtt.base_topic, config.shard.index)
        self.publisher = Publisher()
        self.store = Store(config.state_dir, clock=clock, announce=False)
        self.boxes = {
            device.name: Box(device)
            for device in config.devices
            if config.shard.owns(device.device_id)
        }
        self.elsewhere = {
            device.name: device.device_id
            for device in config.devices
            if device.name not in self.boxes
        }
        """Configured boxes another instance owns (name -> device id): never touched here."""
        self.counters = MqttCounters()
        self.connected = asyncio.Event()
        self._client = client
        self._jobs: JobTracker | None = None
        self.pollers: dict[str, BoxPoller] = {}
        self._context: RequestContext | None = None
        """What request handlers may use of the bridge (set up with the cloud client)."""
        self.metrics: BridgeMetrics | None = None
        """What ``/metrics`` serves, with ``http.enabled`` only (``_serve_http``)."""
        self.http_port: int | None = None
        """The port ``/healthz`` and ``/metrics`` are served on, once ``http_bound`` is set."""
        self.http_bound = asyncio.Event()
        self.pushes = Pushes(config, self.topics.bridge_callback, clock)
        """The cloud's pushes: the ledger, the HTTP route, the receiver (``jobs/pushes.py``)."""
        self._check_retained = config.mqtt.protocol != "5"
        """MQTT 3.1.1 hides the retain flag of live messages: check each request (retained.py)."""
        self._sync_id = hashlib.sha256(self.client_id.encode()).hexdigest()[:12]
        """Names the 3.1.1 sync topic; stable, so a persistent session keeps one subscription."""
        self.monitor = BridgeMonitor(
            config,
            boxes=self.boxes,
            topics=self.topics,
            publisher=self.publisher,
            store=self.store,
            connected=self.connected,
            counters=self.counters,
            cloud=lambda: self._client,
            jobs=lambda: self.jobs,
            schedule=lambda: self.schedule,
            pushes=self.pushes.ledger,
            health_interval=health_interval,
            clock=clock,
        )
        self.announcer = HomeAssistantAnnouncer(
            config,
            boxes=self.boxes,
            elsewhere=tuple(self.elsewhere.values()),
            store=self.store,
            publisher=self.publisher,
            republish=self.republish,
            announce_delay=ha_announce_delay,
        )
        self.role = InstanceRole(
            self.shard,
            own=self.boxes.keys(),
            elsewhere=self.elsewhere.keys(),
            topics=self.topics,
            publisher=self.publisher,
            republish=self.republish,
            pollers=lambda: self.pollers,
        )
        jobs = config.jobs
        self.answerer = RequestAnswerer(
            topics=self.topics,
            publisher=self.publisher,
            store=self.store,
            boxes=self.boxes,
            configured=[device.name for device in config.devices],
            limits=Limits(max_file_bytes=jobs.max_file_bytes, allowed_hosts=jobs.allowed_hosts),
            check_empty=self._check_retained,
            context=lambda: self.context,
            after_bridge_command=self.role.fan_out,
            commands=commands,
        )
        self.session = BridgeSession(
            config,
            topics=self.topics,
            publisher=self.publisher,
            store=self.store,
            connected=self.connected,
            sync_topic=self.topics.bridge_sync(self._sync_id) if self._check_retained else None,
            republish=self.republish,
            clear_retained=(
                functools.partial(self.announcer.clear_retained, keep=self.topics.bridge_state)
                if clear_on_stop
                else None
            ),
            tasks=self._start_tasks,
        )
        self.listener = RequestListener(
            topics=self.topics,
            publisher=self.publisher,
            answerer=self.answerer,
            counters=self.counters,
            shed_after=shed_after,
            sync_topic=self.session.sync_topic,
            resubscribe=self.session.subscribe_requests,
            control=self._control,
            answers=self.role.answers,
        )

    # ---- wiring -------------------------------------------------------------------------
    @property
    def client(self) -> LiankeClient:
        """The cloud client (available while ``run`` is running)."""
        if self._client is None:
            raise RuntimeError("the service is not running")
        return self._client

    @property
    def context(self) -> RequestContext:
        """What request handlers may use (available while ``run`` is running)."""
        if self._context is None:
            raise RuntimeError("the service is not running")
        return self._context

    @property
    def jobs(self) -> JobTracker:
        """The job tracker (available while ``run`` is running)."""
        if self._jobs is None:
            raise RuntimeError("the service is not running")
        return self._jobs

    @property
    def client_id(self) -> str:
        """The MQTT client id: each instance of a scaled-out bridge has its own session."""
        return self.shard.client_id(self.config.mqtt.client_id)

    def _credentials(self, device: str) -> Credentials | None:
        box = self.boxes.get(device)
        return box.credentials if box else None

    def _setup(self, client: LiankeClient) -> None:
        self._client = client
        client.on_key_refusal_change = self.monitor.wake.set
        self._jobs = JobTracker(
            client=client,
            publisher=self.publisher,
            topics=self.topics,
            store=self.store,
            config=self.config.jobs,
            credentials=self._credentials,
            emit=self.monitor.emit,
            on_change=self._job_changed,
            pushes=self.pushes.ledger,
            clock=self.clock,
        )
        self.pushes.start(client, self._jobs, self.boxes, self.elsewhere.values())
        self.schedule = FleetSchedule(
            self.boxes.values(),
            budget=self.config.lianke.rate_limit,
            active_jobs=self._jobs.active_count,
            on_change=self._wake_pollers,
        )
        self.pollers = {
            name: BoxPoller(
                box,
                client=client,
                publisher=self.publisher,
                topics=self.topics,
                emit=self.monitor.emit,
                own_jobs=self._jobs.own_jobs,
                on_identity_changed=self._identity_changed,
                stretch=functools.partial(self.schedule.stretch, box),
            )
            for name, box in self.boxes.items()
        }
        self._context = RequestContext(
            client=client,
            jobs=self._jobs,
            pollers=self.pollers,
            publisher=self.publisher,
            topics=self.topics,
            emit=self.monitor.emit,
            republish=self.republish,
            health_check=self.monitor.health_check,
        )

    def _serve_http(self, client: LiankeClient, group: asyncio.TaskGroup) -> None:
        """Start the optional ``/healthz`` and ``/metrics`` endpoint (``http.enabled``).

        Imported here, only when configured: aiohttp's server half and prometheus_client are
        about a tenth of an idle bridge's memory, and most installations never scrape it.
        """
        from lianke_bridge.bridge.monitoring import http  # noqa: PLC0415 - optional, see the docstring
        from lianke_bridge.bridge.monitoring.metrics import BridgeMetrics  # noqa: PLC0415

        self.metrics = BridgeMetrics(self.monitor)
        client.stats.latency_observer = self.metrics.observe_latency
        group.create_task(http.serve(self, self.metrics, self.http_bound), name="http")

    @contextlib.asynccontextmanager
    async def _cloud_client(self) -> AsyncIterator[LiankeClient]:
        if self._client is not None:
            yield self._client
            return
        lianke = self.config.lianke
        async with LiankeClient(
            lianke.api_key,
            base_url=lianke.base_url,
            timeout=lianke.timeout,
            rate_limit=lianke.rate_limit,
            max_retries=lianke.max_retries,
            refusal_retry=lianke.refusal_retry,
            status_spacing=lianke.status_spacing,
        ) as client:
            yield client

    def _mqtt_client(self) -> aiomqtt.Client:
        client = mqtt_client(
            self.config.mqtt,
            client_id=self.client_id,
            will_topic=self.topics.bridge_state,
            max_packet_size=self.config.max_packet_size,
        )
        self.listener.watch(client)
        return client

    # ---- the loop -----------------------------------------------------------------------
    async def run(self) -> None:
        """Run until cancelled: reconnect to the broker forever, with capped backoff."""
        try:
            await self._run()
        finally:
            self.store.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        trouble = self.store.trouble
        # From the writer thread: publish bridge/health at once when the state stops or starts
        # taking writes again.
        trouble.on_change = functools.partial(loop.call_soon_threadsafe, self.monitor.wake.set)
        trouble.announce()  # the log reaches bridge/log by now: say what the start found
        async with self._cloud_client() as client, asyncio.TaskGroup() as group:
            self._setup(client)
            if self.config.http.enabled:
                self._serve_http(client, group)
            await reconnect_forever(
                self._mqtt_client,
                self.session.run,
                where=f"{self.config.mqtt.host}:{self.config.mqtt.port}",
                counters=self.counters,
            )

    def _start_tasks(self, mqtt: aiomqtt.Client, group: asyncio.TaskGroup) -> None:
        """The named tasks of one session: requests, jobs, health, the log, one poller a box."""
        group.create_task(self.listener.listen(mqtt, group), name="requests")
        group.create_task(self.jobs.run(), name="jobs")
        group.create_task(self.monitor.health_loop(self.health), name="health")
        group.create_task(self.monitor.log_loop(), name="log-forwarder")
        for name, poller in self.pollers.items():
            group.create_task(poller.run(), name=f"poll-{name}")

    def _control(self, topic: str, payload: Any, group: asyncio.TaskGroup) -> bool:
        """Handle Home Assistant's status, the cloud's relayed pushes and the fan-outs (True)."""
        if self.announcer.is_birth_topic(topic):
            self.announcer.birth(payload, group)
            return True
        taken = self.pushes.control(topic, payload, group)
        return taken or self.role.control(topic, payload, group)

    async def wait_idle(self) -> None:
        """Wait until no request is held, waiting, being answered or refused (tests settle)."""
        await self.listener.wait_idle()

    async def republish(self, *, just_sent: tuple[str, ...] = ()) -> None:
        """Re-announce discovery, then re-publish every retained state, each topic once."""
        await self.publisher.publish(
            self.topics.bridge_info, self.monitor.info(), retain=True, force=True
        )
        await self.announcer.announce_all()
        await self.publisher.republish_all(
            skip={*just_sent, self.topics.bridge_info, *self.store.discovery}
        )
        await self.jobs.republish()

    async def _identity_changed(self, box: Box) -> None:
        """Printers came or went, or a name, model or firmware Home Assistant shows changed."""
        self.schedule.replan()  # the printers asked for live status may have changed
        if self.publisher.connected:
            await self.announcer.announce_box(box)

    async def _job_changed(self, device: str) -> None:
        poller = self.pollers.get(device)
        if poller is not None:
            poller.box.wake.set()  # a job in flight: its queue and printers are asked sooner
            await poller.publish_queue()

    def _wake_pollers(self) -> None:
        """The call budget's plan changed: every poller looks at its next slots again."""
        for box in self.boxes.values():
            box.wake.set()

    def retry_cloud(self) -> None:
        """SIGHUP: try refused keys again now, and poll every box at once."""
        if self._client is None:
            return
        _LOGGER.info("SIGHUP: trying the cloud again")
        self._client.retry_refused()
        for box in self.boxes.values():
            box.poll_soon("device_info")

    # ---- what the bridge says about itself (monitoring/) --------------------------------
    def health(self) -> dict[str, Any]:
        """``<base>/bridge/health``."""
        return self.monitor.health()

    def healthz(self) -> dict[str, Any]:
        """The small JSON of ``/healthz``: the same facts as ``bridge/health``, never secrets."""
        return self.monitor.healthz()

    def forward_log(self, record: dict[str, Any]) -> None:
        """Queue a warning or error for ``<base>/bridge/log`` (called by the log handler)."""
        self.monitor.forward_log(record)
