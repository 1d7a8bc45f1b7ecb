"""The bridge service: one reconnect loop around one MQTT session, and the tasks inside it.

Inside each session an ``asyncio.TaskGroup`` runs named tasks: the request listener, one poller per
box, the job tracker, the health publisher and the log forwarder. Only MQTT errors end a session
(and trigger a reconnect with capped backoff); cloud errors are published and polling goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import random
import resource
import socket
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from lianke_bridge import __version__, errors, heartbeat
from lianke_bridge.asyncutil import checkpoint, sleep_until_woken
from lianke_bridge.bridge import discovery, http
from lianke_bridge.bridge.intake import Refusal, RequestIntake
from lianke_bridge.bridge.jobs import JobTracker, job_answer
from lianke_bridge.bridge.memory import RequestMemory
from lianke_bridge.bridge.metrics import BridgeMetrics
from lianke_bridge.bridge.poller import Box, BoxPoller
from lianke_bridge.bridge.publisher import Publisher
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.envelope import (
    ErrorCode,
    error_envelope,
    ok_envelope,
    rate_limited_error,
)
from lianke_bridge.bridge.requests.model import Limits
from lianke_bridge.bridge.requests.payload import Incoming, sniff_transaction
from lianke_bridge.bridge.requests.registry import prepare
from lianke_bridge.bridge.retained import RetainedRequestGate
from lianke_bridge.bridge.schedule import FleetSchedule
from lianke_bridge.bridge.state import JobRecord, iso, utc_now
from lianke_bridge.bridge.store import Store
from lianke_bridge.bridge.topics import (
    RequestTopic,
    Topics,
    check_publish_topic,
    shown_topic,
)
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.models import Credentials
from lianke_bridge.cloud.stats import ApiStats
from lianke_bridge.config import Config, MqttConfig
from lianke_bridge.errors import TooFrequentError

_LOGGER = logging.getLogger(__name__)

MQTT_SOCKET_OPTIONS = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
"""TCP_NODELAY: an answer goes out at once instead of waiting ~40 ms for the broker's delayed
ACK of the previous packet (Nagle), which made every answer ~40 ms late."""
HEALTH_INTERVAL = heartbeat.HEALTH_INTERVAL
MAX_RECONNECT_DELAY = 60.0
MAX_CONCURRENT_REQUESTS = 8
"""Workers answering requests (each request waits in the intake before one takes it)."""
MAX_WAITING_REQUESTS = 100
SHED_AFTER = 5.0
"""Seconds of queued work beyond which a request is answered ``rate_limited`` at once."""
MAX_REFUSALS = 100
"""Refused requests waiting for their ``rate_limited`` answer; beyond, dropped unanswered."""
SHED_LOG_INTERVAL = 10.0
OFFLINE_TIMEOUT = 2.0
GOODBYE_TIMEOUT = 4.0
"""Seconds a stop gets to say ``offline`` (and, for the demo, clear what it retained)."""
"""Seconds a failing session gets to publish ``offline`` before it disconnects."""
EMPTY_ON_311 = (
    "an empty payload is not acted on with MQTT 3.1.1: it cannot be told from a retained "
    "message being deleted; send a payload such as PRESS"
)
_API_PROBLEM_CODES = frozenset(
    {
        ErrorCode.API_UNREACHABLE.value,
        ErrorCode.TIMEOUT.value,
        ErrorCode.API_ERROR.value,
        TooFrequentError.code,
    }
)
"""Box errors that mean the cloud API itself is failing or rate-limiting (``api_problem``)."""
MIGRATE_PAUSE = 1.0
"""Seconds between Home Assistant's migrate messages and the new configs."""
FANOUT_COMMANDS = frozenset({"refresh", "republish"})
"""Bridge-level commands that act on every box: each instance of a scaled-out bridge runs them."""
HA_ANNOUNCE_DELAY = (5.0, 15.0)
"""Random delay before re-announcing after Home Assistant's birth message (the HA advice)."""


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
    ) -> None:
        self.config = config
        self.clear_on_stop = clear_on_stop
        """Leave nothing retained behind on a clean stop (the demo: its boxes are not real)."""
        self.ha_announce_delay = ha_announce_delay
        self.health_interval = health_interval
        self.shard = config.shard
        self.topics = Topics(config.mqtt.base_topic, config.shard.index)
        self.publisher = Publisher()
        self.store = Store(config.state_dir)
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
        self.started_at = utc_now()
        self.reconnects = 0
        self.messages_in = 0
        self.connected = asyncio.Event()
        self._client = client
        self._memory = RequestMemory(self.store, self._recover)
        self._redelivered: set[int] = set()
        """Packet ids of the requests the broker sent this session again (the DUP flag)."""
        self._ha_announce: asyncio.Task[None] | None = None
        self._discovery_lock = asyncio.Lock()
        self._jobs: JobTracker | None = None
        self.pollers: dict[str, BoxPoller] = {}
        self._context: RequestContext | None = None
        """What request handlers may use of the bridge (set up with the cloud client)."""
        self._log_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        self.metrics = BridgeMetrics(self)
        self.http_port: int | None = None
        """The port ``/healthz`` and ``/metrics`` are served on, once ``http_bound`` is set."""
        self.http_bound = asyncio.Event()
        self._health_wake = asyncio.Event()
        """Set when the ApiKey is refused or accepted again: health is published at once."""
        self.shed_after = shed_after
        """Seconds of queued work beyond which a request is answered ``rate_limited`` at once."""
        self._intake: RequestIntake[tuple[RequestTopic, aiomqtt.Message]] | None = None
        self._refusals: asyncio.Queue[tuple[RequestTopic, aiomqtt.Message, Refusal]] = (
            asyncio.Queue(maxsize=MAX_REFUSALS)
        )
        self._refusing = 0
        self._shed_logged = 0.0
        self._idle = asyncio.Event()
        self._idle.set()
        self._clearing: Counter[str] = Counter()
        """Request topics whose retained message we cleared, echo not yet seen (3.1.1)."""
        self._sync_id = hashlib.sha256(self.client_id.encode()).hexdigest()[:12]
        """Names the 3.1.1 sync topic; stable, so a persistent session keeps one subscription."""
        self._check_retained = config.mqtt.protocol != "5"
        """MQTT 3.1.1 hides the retain flag of live messages: check each request (retained.py)."""
        self._gate: RetainedRequestGate | None = None

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

    def _credentials(self, device: str) -> Credentials | None:
        box = self.boxes.get(device)
        return box.credentials if box else None

    @property
    def api_stats(self) -> ApiStats | None:
        """What the cloud client counted (None before ``run``)."""
        return None if self._client is None else self._client.stats

    def known_jobs(self) -> list[JobRecord]:
        """Every job the tracker knows (none before ``run``)."""
        return [] if self._jobs is None else list(self._jobs.jobs.values())

    def _setup(self, client: LiankeClient) -> None:
        self._client = client
        client.stats.latency_observer = self.metrics.observe_latency
        client.on_key_refusal_change = self._health_wake.set
        self._jobs = JobTracker(
            client=client,
            publisher=self.publisher,
            topics=self.topics,
            store=self.store,
            config=self.config.jobs,
            credentials=self._credentials,
            emit=self.emit,
            on_change=self._job_changed,
        )
        self.schedule = FleetSchedule(
            self.boxes.values(),
            budget=self.config.lianke.rate_limit,
            active_jobs=self._jobs.active_count,
        )
        self.pollers = {
            name: BoxPoller(
                box,
                client=client,
                publisher=self.publisher,
                topics=self.topics,
                emit=self.emit,
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
            emit=self.emit,
            republish=self.republish,
            health_check=self.health_check,
        )

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
        ) as client:
            yield client

    def _mqtt_client(self) -> aiomqtt.Client:
        client = self._new_mqtt_client()
        # A request is acknowledged once it is answered (see _handle), not on arrival: a bridge
        # killed before answering gets it again from its session. aiomqtt has no option for it.
        client._client.manual_ack_set(on=True)  # noqa: SLF001
        self._redelivered = set()
        _note_redeliveries(client, self._redelivered)
        return client

    def _new_mqtt_client(self) -> aiomqtt.Client:
        mqtt = self.config.mqtt
        tls_params = None
        if mqtt.tls is not None:
            tls_params = aiomqtt.TLSParameters(
                ca_certs=str(mqtt.tls.ca_certs) if mqtt.tls.ca_certs else None,
                certfile=str(mqtt.tls.certfile) if mqtt.tls.certfile else None,
                keyfile=str(mqtt.tls.keyfile) if mqtt.tls.keyfile else None,
                cert_reqs=ssl.CERT_NONE if mqtt.tls.insecure else ssl.CERT_REQUIRED,
            )
        return aiomqtt.Client(
            mqtt.host,
            mqtt.port,
            username=mqtt.username,
            password=mqtt.password,
            identifier=self.client_id,
            keepalive=mqtt.keepalive,
            **session_options(mqtt),
            will=aiomqtt.Will(self.topics.bridge_state, "offline", qos=1, retain=True),
            socket_options=MQTT_SOCKET_OPTIONS,
            tls_params=tls_params,
            tls_insecure=True if mqtt.tls is not None and mqtt.tls.insecure else None,
        )

    # ---- the loop -----------------------------------------------------------------------
    async def run(self) -> None:
        """Run until cancelled: reconnect to the broker forever, with capped backoff."""
        try:
            await self._run()
        finally:
            self.store.close()

    async def _run(self) -> None:
        if (problem := heartbeat.writable_problem(self.config.state_dir)) is not None:
            _LOGGER.error(
                "%s. The bridge runs on, but forgets its jobs and Home Assistant entities at "
                "every restart, and its health check fails",
                problem,
            )
        async with self._cloud_client() as client, asyncio.TaskGroup() as group:
            self._setup(client)
            if self.config.http.enabled:
                group.create_task(http.serve(self, self.http_bound), name="http")
            delay = 1.0
            outage_since: float | None = None
            where = f"{self.config.mqtt.host}:{self.config.mqtt.port}"
            while True:
                checkpoint()
                try:
                    async with self._mqtt_client() as mqtt:
                        if outage_since is None:
                            _LOGGER.info("connected to broker %s", where)
                        else:
                            _LOGGER.info(
                                "reconnected to broker %s after %.0f s",
                                where,
                                time.monotonic() - outage_since,
                            )
                        outage_since, delay = None, 1.0
                        await self._session(mqtt)
                except* aiomqtt.MqttError as group:
                    reason = group.exceptions[0]
                    if outage_since is None:
                        outage_since = time.monotonic()
                        _LOGGER.warning("broker %s unreachable (%s); retrying", where, reason)
                    else:
                        _LOGGER.debug("broker %s still unreachable (%s)", where, reason)
                    self.reconnects += 1
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311
                delay = min(MAX_RECONNECT_DELAY, delay * 2)

    async def _session(self, mqtt: aiomqtt.Client) -> None:
        """One connected session; on a clean stop, say ``offline`` before leaving."""
        self.publisher.attach(mqtt)
        try:
            await self._on_connected(mqtt)
            self.connected.set()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._listen(mqtt, group), name="requests")
                group.create_task(self.jobs.run(), name="jobs")
                group.create_task(self._health_loop(), name="health")
                group.create_task(self._log_loop(), name="log-forwarder")
                for name, poller in self.pollers.items():
                    group.create_task(poller.run(), name=f"poll-{name}")
                # Wait inside the body until a task fails or we are cancelled: on Python 3.11 a
                # task failing while the group is already exiting leaves this task with a
                # cancellation request that is never withdrawn (fixed in 3.12).
                await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            self.publisher.closing = True
            # Bounded: a broker that stopped answering must not hold a stop for aiomqtt's 10 s
            # per publish (a service manager kills after ~10 s); the will speaks then.
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(GOODBYE_TIMEOUT):
                    if self.clear_on_stop:
                        await self._clear_retained()
                    await self.publisher.publish(self.topics.bridge_state, "offline", retain=True)
            raise
        except BaseException as err:
            if not _broker_errors_only(err):
                await self._say_offline_after_failure(err)
            raise
        finally:
            self.publisher.closing = False
            self.connected.clear()
            self.store.clear_heartbeat()
            self.publisher.detach()

    async def _say_offline_after_failure(self, err: BaseException) -> None:
        """The session dies of a bug: say ``offline`` (retained) before the clean DISCONNECT.

        A clean DISCONNECT makes the broker drop the will, so without this ``bridge/state``
        would stay ``online`` for a bridge that is gone.
        """
        _LOGGER.error("the bridge session failed (%s); publishing offline", type(err).__name__)
        self.publisher.closing = True
        try:
            async with asyncio.timeout(OFFLINE_TIMEOUT):
                await self.publisher.publish(self.topics.bridge_state, "offline", retain=True)
        except Exception as failed:  # noqa: BLE001 - the session is already failing
            _LOGGER.debug("could not publish offline: %s", failed)

    async def _on_connected(self, mqtt: aiomqtt.Client) -> None:
        """Re-subscribe and re-publish everything retained."""
        await self.publisher.publish(self.topics.bridge_state, "online", retain=True, force=True)
        await self.republish(just_sent=(self.topics.bridge_state,))
        wanted = [self.topics.request_filter]
        if self._check_retained:
            wanted.append(self.topics.bridge_sync(self._sync_id))
            await mqtt.subscribe(wanted[-1], qos=1)
        await self._subscribe(mqtt, self.topics.request_filter)
        if self.shard.scaled:
            wanted.append(self.topics.fanout_filter)
            await mqtt.subscribe(wanted[-1], qos=1)
        if self.config.homeassistant.enabled:
            wanted.append(self.config.homeassistant.status_topic)
            await mqtt.subscribe(wanted[-1], qos=1)
        await self._unsubscribe_stale(mqtt, wanted)

    async def _unsubscribe_stale(self, mqtt: aiomqtt.Client, wanted: list[str]) -> None:
        """Drop filters the persistent session still holds from an earlier run or version.

        The broker keeps a session's subscriptions across restarts: a leftover filter that
        overlaps today's (``<base>/bridge/request/+``, which earlier versions subscribed beside
        ``<base>/+/request/+``) would deliver requests twice.
        """
        if self.config.mqtt.session_expiry <= 0:
            return
        legacy = f"{self.config.mqtt.base_topic}/bridge/request/+"
        for topic_filter in sorted((self.store.subscriptions | {legacy}) - set(wanted)):
            await mqtt.unsubscribe(topic_filter)
        self.store.set_subscriptions(wanted)

    async def _subscribe(self, mqtt: aiomqtt.Client, topic_filter: str) -> None:
        """Subscribe to requests; with MQTT 5, see the retain flag even on live messages.

        Retain-as-published lets the bridge ignore a request that someone published retained
        while it was running, not only the ones the broker replays at subscribe time.
        """
        if self.config.mqtt.protocol == "5":
            options = SubscribeOptions(qos=1, retainAsPublished=True)
            await mqtt.subscribe(topic_filter, options=options)
        else:
            await mqtt.subscribe(topic_filter, qos=1)

    async def _listen(self, mqtt: aiomqtt.Client, group: asyncio.TaskGroup) -> None:
        """Hand every message on; one that cannot be handled is logged and dropped.

        Only the broker (the message iterator raising ``MqttError``) or a cancel ends this.
        """
        limits = self._limits()
        intake = self._intake = RequestIntake[tuple[RequestTopic, aiomqtt.Message]](
            workers=MAX_CONCURRENT_REQUESTS,
            max_waiting=MAX_WAITING_REQUESTS,
            max_bytes=limits.max_payload_bytes,
            max_wait=self.shed_after,
        )
        # A new session starts with nothing waiting: what the last one held is unacknowledged
        # and comes again from the broker (and its message ids belong to the old connection).
        self._refusals = asyncio.Queue(maxsize=MAX_REFUSALS)
        for number in range(MAX_CONCURRENT_REQUESTS):
            group.create_task(self._work(mqtt, intake), name=f"request-worker-{number}")
        group.create_task(self._refuse_loop(mqtt), name="request-refusals")
        if self._check_retained:
            self._gate = RetainedRequestGate(
                resubscribe=lambda: self._subscribe(mqtt, self.topics.request_filter),
                publish_sync=lambda token: self.publisher.publish(
                    self.topics.bridge_sync(self._sync_id), token
                ),
                release=lambda message: self._start_answer(mqtt, message),
                drop=lambda message: self._dropped(mqtt, message),
            )
        async for message in mqtt.messages:
            checkpoint()
            self.messages_in += 1
            try:
                self._dispatch(mqtt, message, group)
            except Exception:  # the boundary for whatever a client sends: log, go on
                _LOGGER.exception(
                    "dropped a message on %s that could not be handled",
                    shown_topic(message.topic.value),
                )
                _ack(mqtt, message)

    def _dispatch(
        self, mqtt: aiomqtt.Client, message: aiomqtt.Message, group: asyncio.TaskGroup
    ) -> None:
        """Start answering a request, or acknowledge and drop whatever is not one to answer."""
        topic = message.topic.value
        seq = self._gate.arrived() if self._gate is not None else 0
        if self._control(topic, message.payload, group):
            _ack(mqtt, message)
            return
        parsed = self.topics.parse_request(topic)
        if parsed is None or not self.answers(parsed):
            _ack(mqtt, message)  # not a request, or one another instance answers
            return
        payload = _payload_bytes(message.payload)
        if message.retain:
            self._drop_retained(topic, payload, seq, group)
            _ack(mqtt, message)
            return
        if not payload and self._clearing[topic] > 0:
            self._clearing[topic] -= 1  # the echo of our own clear (MQTT 3.1.1)
            _ack(mqtt, message)
            return
        if self._gate is not None:
            self._gate.hold(message, (topic, payload), seq, group)
            return
        self._start_answer(mqtt, message)

    def _control(self, topic: str, payload: Any, group: asyncio.TaskGroup) -> bool:
        """Handle Home Assistant's status, the retained-request sync and fan-outs (True)."""
        if self.config.homeassistant.enabled and topic == self.config.homeassistant.status_topic:
            self._ha_birth(payload, group)
            return True
        if self._gate is not None and topic == self.topics.bridge_sync(self._sync_id):
            self._gate.synced(_payload_bytes(payload).decode(errors="replace"))
            return True
        if (fanout := self.topics.parse_fanout(topic)) is not None:
            self._fanned_out(fanout, payload, group)
            return True
        return False

    def _drop_retained(
        self, topic: str, payload: bytes, seq: int, group: asyncio.TaskGroup
    ) -> None:
        """A retained request is never acted on; clear it so it is not replayed at every start."""
        if self._gate is not None:
            self._gate.saw_retained(topic, payload, seq)
        if not payload:
            return  # already a clear (ours, echoed as published)
        _LOGGER.info(
            "ignoring a retained request on %s (it would repeat at every start); clearing it",
            shown_topic(topic),
        )
        if self._gate is not None:
            self._clearing[topic] += 1
        group.create_task(self._clear_request(topic), name="clear-retained-request")

    async def _clear_request(self, topic: str) -> None:
        try:
            await self.publisher.clear(topic)
        except aiomqtt.MqttError:
            raise
        except Exception as err:  # noqa: BLE001 - e.g. the broker's ACL: log, go on
            _LOGGER.warning(
                "could not clear the retained request on %s: %s", shown_topic(topic), err
            )

    def _start_answer(self, mqtt: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Start answering a live request, unless its response topic cannot exist."""
        topic = message.topic.value
        parsed = self.topics.parse_request(topic)
        if parsed is None:
            _ack(mqtt, message)
            return
        try:
            check_publish_topic(self._response_topic(parsed))
        except errors.TopicError as err:
            _LOGGER.warning("not answering the request on %s: %s", shown_topic(topic), err)
            _ack(mqtt, message)
            return
        if self._intake is None:
            _ack(mqtt, message)
            return
        self._idle.clear()
        refusal = self._intake.offer((parsed, message), len(_payload_bytes(message.payload)))
        if refusal is None:
            return
        self._log_shedding(refusal)
        try:
            self._refusals.put_nowait((parsed, message, refusal))
        except asyncio.QueueFull:
            _LOGGER.debug("dropped a request on %s: too many to refuse", shown_topic(topic))
            self._dropped(mqtt, message)

    def _log_shedding(self, refusal: Refusal) -> None:
        now = time.monotonic()
        if now - self._shed_logged >= SHED_LOG_INTERVAL:
            self._shed_logged = now
            _LOGGER.warning("shedding load: answering rate_limited (%s)", refusal.reason)

    async def _work(
        self, mqtt: aiomqtt.Client, intake: RequestIntake[tuple[RequestTopic, aiomqtt.Message]]
    ) -> None:
        """One of the fixed workers: answer the oldest waiting request, then the next."""
        while True:
            ticket = await intake.take()
            where, message = ticket.item
            started = time.monotonic()
            try:
                await self._handle(mqtt, where, message)
            finally:
                intake.done(ticket, time.monotonic() - started)
                self._check_idle()

    async def _refuse_loop(self, mqtt: aiomqtt.Client) -> None:
        """Answer refused requests ``rate_limited`` (one at a time: each is one publish)."""
        while True:
            where, message, refusal = await self._refusals.get()
            self._refusing += 1
            try:
                await self._refuse(where, message, refusal)
                _ack(mqtt, message)
            finally:
                self._refusing -= 1
                self._check_idle()

    async def _refuse(
        self, where: RequestTopic, message: aiomqtt.Message, refusal: Refusal
    ) -> None:
        transaction = sniff_transaction(_payload_bytes(message.payload))
        error = rate_limited_error(
            refusal.retry_after, reason=refusal.reason, transaction=transaction
        )
        try:
            await self._respond(where, message, error_envelope(error))
        except aiomqtt.MqttError:
            raise
        except Exception:  # the boundary: log, go on
            _LOGGER.exception("could not refuse the request on %s", shown_topic(where.command))

    def _dropped(self, mqtt: aiomqtt.Client, message: aiomqtt.Message) -> None:
        _ack(mqtt, message)
        self._check_idle()

    def _settled(self) -> bool:
        intake = self._intake
        return (
            (intake is None or (not intake.waiting and not intake.busy))
            and self._refusals.empty()
            and not self._refusing
            and (self._gate is None or not self._gate.holding)
        )

    def _check_idle(self) -> None:
        if self._settled():
            self._idle.set()

    async def wait_idle(self) -> None:
        """Wait until no request is held, waiting, being answered or refused (tests settle)."""
        while not self._settled():
            self._idle.clear()
            await self._idle.wait()

    # ---- scale-out ----------------------------------------------------------------------
    @property
    def client_id(self) -> str:
        """The MQTT client id: each instance of a scaled-out bridge has its own session."""
        return self.shard.client_id(self.config.mqtt.client_id)

    def answers(self, where: RequestTopic) -> bool:
        """Whether this instance answers a request: exactly one instance answers each.

        A box's requests are answered by the instance owning the box; bridge-level requests
        and requests to a device no instance has are answered by instance 0 (every broker
        delivers every request to every instance: the rule works on MQTT 3.1.1 clusters too).
        """
        if where.scope == "device" and where.device in self.boxes:
            return True
        if where.scope == "device" and where.device in self.elsewhere:
            return False
        return self.shard.leader

    async def _fan_out(self, command: str) -> None:
        """Tell the other instances to run a bridge-level command for their own boxes too."""
        if self.shard.scaled and command in FANOUT_COMMANDS:
            await self.publisher.publish(
                self.topics.bridge_fanout(command), {"from": self.shard.index}
            )

    def _fanned_out(self, command: str, payload: Any, group: asyncio.TaskGroup) -> None:
        """Another instance answered ``refresh``/``republish``: do it for this one's boxes."""
        sender = _fanout_sender(_payload_bytes(payload))
        if command not in FANOUT_COMMANDS or sender is None or sender == self.shard.index:
            return
        _LOGGER.info("%s from instance %d: running it for this instance's boxes", command, sender)
        work = self.republish() if command == "republish" else self._poll_all()
        group.create_task(work, name=f"fanout-{command}")

    async def _poll_all(self) -> None:
        await asyncio.gather(*(poller.poll_now() for poller in self.pollers.values()))

    # ---- info, health, events, log ------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """``<base>/bridge/info``: never secrets."""
        return {
            "version": __version__,
            "base_topic": self.config.mqtt.base_topic,
            "devices": list(self.boxes),
            "shard": str(self.shard),
            "homeassistant": self.config.homeassistant.enabled,
            "started_at": iso(self.started_at),
        }

    def uptime_seconds(self) -> int:
        """Whole seconds since the service was made."""
        return int((utc_now() - self.started_at).total_seconds())

    def healthy(self) -> bool:
        """Connected to the broker and the cloud not failing: ``health_check`` and ``/healthz``."""
        return self.connected.is_set() and not self._api_problem()

    def healthz(self) -> dict[str, Any]:
        """The small JSON of ``/healthz``: the same facts as ``bridge/health``, never secrets."""
        return {
            "healthy": self.healthy(),
            "mqtt": {"connected": self.connected.is_set()},
            "api_problem": self._api_problem(),
            "api_problem_reason": self.api_problem_reason(),
            "uptime_s": self.uptime_seconds(),
            "version": __version__,
        }

    def health(self) -> dict[str, Any]:
        """``<base>/bridge/health``."""
        api = self.client.stats.to_json()
        return {
            "uptime_s": self.uptime_seconds(),
            "rss_bytes": _rss_bytes(),
            "mqtt": {
                "connected": self.connected.is_set(),
                "messages_in": self.messages_in,
                "messages_out": self.publisher.messages_out,
                "reconnects": self.reconnects,
            },
            "api": api,
            "api_problem": self._api_problem(),
            "api_problem_reason": self.api_problem_reason(),
            "jobs_active": sum(1 for j in self.jobs.jobs.values() if not j.state.is_final),
            "schedule": self.schedule.replan().to_json(),
        }

    def api_problem_reason(self) -> str | None:
        """Why ``api_problem`` is on, when the cloud refused the ApiKey (None otherwise)."""
        refusal = None if self._client is None else self._client.key_refusal
        if refusal is None:
            return None
        since = iso(datetime.fromtimestamp(refusal.since, UTC))
        return (
            f"the cloud refused the ApiKey since {since} (code {refusal.answer.code}"
            f"{': ' + refusal.answer.api_message if refusal.answer.api_message else ''}); "
            f"polling stopped, tried again every {refusal.retry_in / 60:.0f} min or on SIGHUP"
        )

    def retry_cloud(self) -> None:
        """SIGHUP: try refused keys again now, and poll every box at once."""
        if self._client is None:
            return
        _LOGGER.info("SIGHUP: trying the cloud again")
        self._client.retry_refused()
        for box in self.boxes.values():
            box.poll_soon("device_info")

    def _api_problem(self) -> bool:
        """The cloud is failing or rate-limiting: any box's last poll ended in such an error."""
        if self._client is not None and self._client.key_refusal is not None:
            return True
        for box in self.boxes.values():
            error = box.state.error
            if error and error.get("code") in _API_PROBLEM_CODES:
                return True
        return False

    async def _health_loop(self) -> None:
        while True:
            checkpoint()
            health = self.health()
            await self.publisher.publish(self.topics.bridge_health, health, retain=True)
            self.store.write_heartbeat(health)
            await sleep_until_woken(self._health_wake, self.health_interval)

    async def emit(self, device: str | None, event: dict[str, Any]) -> None:
        """Publish an event on the device's or the bridge's event topic."""
        topic = self.topics.bridge_event if device is None else self.topics.event(device)
        await self.publisher.publish(topic, {**event, "time": iso(utc_now())})

    def forward_log(self, record: dict[str, Any]) -> None:
        """Queue a warning or error for ``<base>/bridge/log`` (called by the log handler)."""
        with contextlib.suppress(asyncio.QueueFull):
            self._log_queue.put_nowait(record)

    async def _log_loop(self) -> None:
        last: tuple[Any, ...] | None = None
        while True:
            checkpoint()
            record = await self._log_queue.get()
            key = (record.get("level"), record.get("message"), record.get("device"))
            if key == last:
                continue
            last = key
            await self.publisher.publish(self.topics.bridge_log, record)

    async def _job_changed(self, device: str) -> None:
        poller = self.pollers.get(device)
        if poller is not None:
            await poller.publish_queue()

    # ---- Home Assistant -----------------------------------------------------------------
    def _discovery_messages(self) -> list[discovery.DiscoveryMessage]:
        """Every config wanted now; a box's printers only once its whole list was read.

        While printer_list is being taken in, some printers are known and the box still counts
        as unlisted: announcing those would publish new-mode configs whose old ones are kept,
        unmigrated (Home Assistant then rejects them as conflicts).
        """
        return discovery.full_discovery(
            self.discovery_context(),
            [
                (box.config, box.state, box.printers.values() if box.printers_listed else ())
                for box in self.boxes.values()
                if box.known  # no placeholder: a box is announced once device_info answered
            ],
        )

    def discovery_context(self) -> discovery.DiscoveryContext:
        """What the discovery builders need to know of this bridge."""
        return discovery.DiscoveryContext.from_config(self.config, sw_version=__version__)

    async def _announce_discovery(self, *, force: bool = True) -> None:
        """Publish every discovery config; clear the ones published before and no longer wanted.

        What was published is remembered in the store, so a box removed from the configuration
        while the bridge was stopped is still cleared at the next start; printers published
        before are kept until their box's printer list was read (a restart, or a box that is
        offline, never removes them). When the discovery mode changed, Home Assistant is first
        told to migrate the entities (names and areas are kept), then given the new configs,
        then the old topics are cleared. Without ``force`` only changed configs go out.
        One announce at a time, so a late one never resurrects a config another cleared.
        """
        if not self.config.homeassistant.enabled:
            return
        async with self._discovery_lock:
            boxes = self.boxes.values()
            plan = discovery.plan_discovery(
                self.discovery_context(),
                self.store.discovery,
                self._discovery_messages(),
                unknown_printers=[box.config.device_id for box in boxes if not box.printers_listed],
                unknown_boxes=[box.config.device_id for box in boxes if not box.known],
                elsewhere=self.elsewhere.values(),
            )
            for message in plan.migrate:
                await self.publisher.publish(message.topic, message.payload)
            if plan.migrate:
                await asyncio.sleep(MIGRATE_PAUSE)
            for message in plan.publish:
                await self.publisher.publish(
                    message.topic, message.payload, retain=True, force=force, digest_only=True
                )
            for message in plan.clear:
                await self.publisher.clear(message.topic)
            self.store.set_discovery(plan.published)

    async def _announce_box(self, box: Box) -> None:
        """Announce one box and its printers: only what changed is sent, compared by digest.

        A printer found on one box no longer re-renders and re-compares the whole fleet's
        discovery (at start-up that was quadratic in the number of boxes). A change of
        discovery mode, the bridge device and boxes removed from the configuration are the full
        announce's business (start, reconnect, Home Assistant's birth).
        """
        if not self.config.homeassistant.enabled:
            return
        async with self._discovery_lock:
            ctx = self.discovery_context()
            device_id = box.config.device_id
            own = discovery.box_node_id(device_id)
            mine = {
                topic: refs
                for topic, refs in self.store.discovery.items()
                if (node := discovery.node_of(ctx.prefix, topic)) is not None
                and (node == own or discovery.is_printer_of(node, device_id))
            }
            wanted = discovery.box_discovery(ctx, box.config, box.state)
            for printer in sorted(box.printers.values(), key=lambda p: p.port):
                wanted.extend(discovery.printer_discovery(ctx, box.config, printer))
            plan = discovery.plan_discovery(
                ctx, mine, wanted, unknown_printers=[] if box.printers_listed else [device_id]
            )
            for message in plan.migrate:  # printers kept from before a discovery mode switch
                await self.publisher.publish(message.topic, message.payload)
            if plan.migrate:
                await asyncio.sleep(MIGRATE_PAUSE)
            for message in plan.publish:
                await self.publisher.publish(
                    message.topic, message.payload, retain=True, digest_only=True
                )
            for message in plan.clear:
                await self.publisher.clear(message.topic)
            self.store.update_discovery(plan.published, forget=set(mine) - set(plan.published))

    async def _clear_retained(self) -> None:
        """Empty every retained topic this bridge filled, discovery first (HA drops the devices)."""
        for topic in sorted(self.store.discovery):
            await self.publisher.clear(topic)
        self.store.set_discovery({})
        for topic in self.publisher.retained_topics():
            if topic != self.topics.bridge_state:
                await self.publisher.clear(topic)

    async def _identity_changed(self, box: Box) -> None:
        """Printers came or went, or a name, model or firmware Home Assistant shows changed."""
        self.schedule.replan()  # the printers asked for live status may have changed
        if self.publisher.connected:
            await self._announce_box(box)

    def _ha_birth(self, payload: Any, group: asyncio.TaskGroup) -> None:
        text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
        if text.strip().lower() != "online":
            return
        if self._ha_announce is not None and not self._ha_announce.done():
            return
        delay = random.uniform(*self.ha_announce_delay)  # noqa: S311
        _LOGGER.info("Home Assistant is online: re-announcing in %.0f s", delay)
        self._ha_announce = group.create_task(self._announce_later(delay), name="ha-announce")

    async def _announce_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.republish()

    async def republish(self, *, just_sent: tuple[str, ...] = ()) -> None:
        """Re-announce discovery, then re-publish every retained state, each topic once."""
        await self.publisher.publish(self.topics.bridge_info, self.info(), retain=True, force=True)
        await self._announce_discovery()
        await self.publisher.republish_all(
            skip={*just_sent, self.topics.bridge_info, *self.store.discovery}
        )
        await self.jobs.republish()

    # ---- requests -----------------------------------------------------------------------
    async def _handle(
        self, mqtt: aiomqtt.Client, where: RequestTopic, message: aiomqtt.Message
    ) -> None:
        """Answer, then acknowledge: a request the bridge dies on comes again from the session."""
        redelivered = message.qos > 0 and message.mid in self._redelivered
        self._redelivered.discard(message.mid)
        await self._answer(where, message, redelivered=redelivered)
        _ack(mqtt, message)

    async def _recover(self, topic: str, transaction: str) -> dict[str, Any] | None:
        """The answer of a request an earlier run began and never answered, or None: run it.

        Only a print leaves something behind (a job, or a submission to look up in the cloud);
        the other commands simply run again.
        """
        where = self.topics.parse_request(topic)
        if where is None or where.command != "print" or where.device is None:
            return None
        job = await self.jobs.recover_print(where.device, transaction)
        return None if job is None else ok_envelope(job_answer(job), transaction)

    async def _answer(
        self, where: RequestTopic, message: aiomqtt.Message, *, redelivered: bool = False
    ) -> None:
        """Parse, execute and answer one request. A bad request never ends the bridge.

        Everything, the answer's publishing too, runs inside this boundary: a failure is logged
        and the request dropped; only a broker error (``MqttError``) goes on to end the session.
        """
        try:
            envelope = await self._envelope(where, message, redelivered=redelivered)
            if envelope is None:
                return
            transaction = envelope.get("transaction")
            published = False
            try:
                await self._respond(where, message, envelope)
                published = True
            finally:
                if isinstance(transaction, str):
                    self._memory.sent(message.topic.value, transaction, published=published)
        except aiomqtt.MqttError:
            raise
        except Exception:
            _LOGGER.exception(
                "could not answer the request on %s", shown_topic(message.topic.value)
            )

    async def _envelope(
        self, where: RequestTopic, message: aiomqtt.Message, *, redelivered: bool = False
    ) -> dict[str, Any] | None:
        """The answer to a request: its ``ok`` envelope, the error envelope, or the remembered one.

        A transaction seen before gets what the memory says (``duplicate`` with the first
        answer, or the first answer itself when it was never published). None: answer nothing,
        the broker sent again a request whose answer it has already taken (only the bridge's
        acknowledgement was lost, e.g. in a broker restart): the requester has its answer.
        """
        limits = self._limits()
        incoming = Incoming.read(_payload_bytes(message.payload), limits.max_payload_bytes)
        transaction = incoming.transaction
        topic = message.topic.value
        claimed = False
        try:
            prepared = prepare(
                where,
                incoming,
                limits,
                self.boxes,
                configured=[device.name for device in self.config.devices],
            )
            self._check_not_empty_on_311(incoming)
            transaction = prepared.transaction
            repeat = None
            if transaction is not None:
                if redelivered and self._memory.published(topic, transaction):
                    _LOGGER.debug("redelivered %s already answered", shown_topic(topic))
                    return None
                repeat = await self._memory.begin(topic, transaction)
                claimed = repeat is None
            if repeat is None:
                data = await prepared.run(self.context)
                envelope = ok_envelope(data, transaction)
                if where.scope == "bridge":
                    await self._fan_out(where.command)
            else:
                envelope = repeat
        except Exception as err:  # the boundary for user input: answer, go on
            if not isinstance(err, errors.CommandError | errors.LiankeError):
                _LOGGER.exception("unexpected error handling %s", shown_topic(topic))
            envelope = error_envelope(err, transaction)
        finally:
            if claimed and transaction is not None:
                self._memory.release(topic, transaction)
        if claimed and transaction is not None:
            await self._memory.answered(topic, transaction, envelope)
        return envelope

    def _response_topic(self, where: RequestTopic) -> str:
        """The contract's response topic of a request."""
        if where.scope == "bridge" or where.device is None:
            return self.topics.bridge_response(where.command)
        return self.topics.response(where.device, where.command)

    async def _respond(
        self, where: RequestTopic, message: aiomqtt.Message, envelope: dict[str, Any]
    ) -> None:
        """Answer on the contract's topic and, with MQTT 5, on the request's response topic.

        When the two are the same topic the answer goes out once, with the correlation data.
        """
        contract = self._response_topic(where)
        properties = message.properties
        response_topic = getattr(properties, "ResponseTopic", None) if properties else None
        if not response_topic:
            await self.publisher.publish(contract, envelope)
            return
        reply = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        correlation = getattr(properties, "CorrelationData", None)
        if correlation is not None:
            reply.CorrelationData = correlation
        if str(response_topic) == contract:
            await self.publisher.publish(contract, envelope, properties=reply)
            return
        await self.publisher.publish(contract, envelope)
        try:
            await self.publisher.publish(str(response_topic), envelope, properties=reply)
        except errors.TopicError as err:
            _LOGGER.warning("not answering on the request's response topic: %s", err)

    def _limits(self) -> Limits:
        jobs = self.config.jobs
        return Limits(max_file_bytes=jobs.max_file_bytes, allowed_hosts=jobs.allowed_hosts)

    def _check_not_empty_on_311(self, incoming: Incoming) -> None:
        if self._check_retained and not incoming.size:
            raise errors.CommandError(ErrorCode.INVALID_PAYLOAD, EMPTY_ON_311)

    def health_check(self) -> dict[str, Any]:
        """The ``health_check`` answer."""
        devices = {
            name: {"online": box.state.online, "last_poll": box.last_poll, "error": box.state.error}
            for name, box in self.boxes.items()
        }
        mqtt_ok = self.connected.is_set()
        api_ok = not self._api_problem()
        return {
            "healthy": self.healthy(),
            "mqtt": {"connected": mqtt_ok, "reconnects": self.reconnects},
            "api": {"ok": api_ok, **self.client.stats.to_json()},
            "devices": devices,
        }


def _note_redeliveries(client: aiomqtt.Client, redelivered: set[int]) -> None:
    """Keep the packet id of each message the broker sends again (aiomqtt drops the DUP flag).

    The broker sets DUP only on its own retransmission to this session, never on a requester's
    re-send, so DUP means "this session had this very request before".
    """
    paho = client._client  # noqa: SLF001
    deliver = paho.on_message

    def on_message(paho_client: Any, userdata: Any, message: Any) -> None:
        if message.dup:
            redelivered.add(message.mid)
        else:
            redelivered.discard(message.mid)
        if deliver is not None:
            deliver(paho_client, userdata, message)

    paho.on_message = on_message


def _ack(mqtt: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Acknowledge a QoS 1 or 2 message (the client acknowledges nothing by itself)."""
    if message.qos > 0:
        mqtt._client.ack(message.mid, message.qos)  # noqa: SLF001


def session_options(mqtt: MqttConfig) -> dict[str, Any]:
    """Protocol and session flags: a persistent session unless ``session_expiry`` is 0.

    The broker keeps the subscriptions and queues QoS 1 requests while the bridge is away,
    so they run when it returns. MQTT 5: clean start off and a session expiry interval (a new
    ``aiomqtt.Client`` is made per connection, so "clean on the first connect only" would
    clean every time); MQTT 3.1.1: clean session off (the broker decides how long it keeps it).
    """
    persistent = mqtt.session_expiry > 0
    if mqtt.protocol == "3.1.1":
        return {"protocol": aiomqtt.ProtocolVersion.V311, "clean_session": not persistent}
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = int(mqtt.session_expiry)
    return {
        "protocol": aiomqtt.ProtocolVersion.V5,
        "clean_start": not persistent,
        "properties": properties,
    }


def _broker_errors_only(err: BaseException) -> bool:
    """Whether a session ended because of the broker alone (then the will speaks for us)."""
    if isinstance(err, BaseExceptionGroup):
        return all(_broker_errors_only(inner) for inner in err.exceptions)
    return isinstance(err, aiomqtt.MqttError)


def _fanout_sender(payload: bytes) -> int | None:
    """The instance a fan-out message came from, or None for anything unreadable."""
    try:
        sender = json.loads(payload).get("from")
    except (ValueError, AttributeError):
        return None
    return sender if isinstance(sender, int) and not isinstance(sender, bool) else None


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()


def _rss_bytes() -> int:
    """Resident memory: /proc on Linux (the Pi), ru_maxrss elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:  # noqa: PTH123
            pages = int(handle.read().split()[1])
        return pages * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
