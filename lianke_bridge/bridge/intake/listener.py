"""Taking requests in: the message loop, retained requests, the intake's workers, refusals.

Every message the session receives passes ``RequestListener.listen``: control messages go to
their handler, retained requests are cleared and never run, live requests wait in the bounded
intake for one of a fixed number of workers, and what the intake refuses is answered
``rate_limited`` at once. Every live request gets exactly one answer: none is dropped for want
of room (a refusal waits for its publish like an answer does). Answering itself is
``answering.py``'s.

Memory: a payload is held only while its request waits or is answered, within one budget
from the moment it arrives (``arrival.py``, then the intake). A refused request keeps its
transaction and nothing of its payload; one over the size limit is answered ``invalid_payload``
without being decoded.
Once large payloads are freed, their memory goes back to the system (``malloc.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt

from lianke_bridge import errors
from lianke_bridge.asyncutil import checkpoint
from lianke_bridge.bridge.intake.answering import RequestAnswerer
from lianke_bridge.bridge.intake.arrival import ArrivalGate, Unread, arrived_size
from lianke_bridge.bridge.intake.backlog import Refusal, RequestIntake
from lianke_bridge.bridge.intake.message import RequestMessage
from lianke_bridge.bridge.intake.retained import RetainedRequestGate
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.mqtt.session import (
    MqttCounters,
    ack,
    note_redeliveries,
    payload_bytes,
    take_payload,
    watch_arrivals,
)
from lianke_bridge.bridge.records.topics import (
    RequestTopic,
    Topics,
    check_publish_topic,
    shown_topic,
)
from lianke_bridge.bridge.requests.payload import Incoming, sniff_transaction
from lianke_bridge.malloc import Trimmer

_LOGGER = logging.getLogger(__name__)

MAX_CONCURRENT_REQUESTS = 8
"""Workers answering requests (each request waits in the intake before one takes it)."""
REFUSERS = 4
"""Tasks publishing the ``rate_limited`` answers (each refusal is one publish, no work)."""
SHED_LOG_INTERVAL = 10.0

Control = Callable[[str, Any, asyncio.TaskGroup], bool]
"""Handles a message that is not a request (Home Assistant's status, fan-outs): True if it did."""


@dataclass(frozen=True)
class Shed:
    """A request refused for want of room: its transaction is all that is kept of it."""

    refusal: Refusal
    transaction: str | None


Quick = tuple[RequestMessage, Shed | Incoming]
"""A request answered without a worker: refused (``Shed``) or too large to read (``Incoming``)."""


class RequestListener:
    """Hands every message of a session on; one that cannot be handled is logged and dropped."""

    def __init__(
        self,
        *,
        topics: Topics,
        publisher: Publisher,
        answerer: RequestAnswerer,
        counters: MqttCounters,
        shed_after: float,
        sync_topic: str | None,
        resubscribe: Callable[[aiomqtt.Client], Awaitable[None]],
        control: Control,
        answers: Callable[[RequestTopic], bool],
    ) -> None:
        self.topics = topics
        self.publisher = publisher
        self.answerer = answerer
        self.counters = counters
        self.shed_after = shed_after
        """Seconds of queued work beyond which a request is answered ``rate_limited`` at once."""
        self.sync_topic = sync_topic
        """MQTT 3.1.1 hides the retain flag of live messages: the sync topic of retained.py."""
        self._resubscribe = resubscribe
        self._control = control
        self._answers = answers
        self._intake: RequestIntake[RequestMessage] | None = None
        self._refusals: asyncio.Queue[Quick] = asyncio.Queue()
        self._refusing = 0
        self._shed_logged = 0.0
        self._idle = asyncio.Event()
        self._idle.set()
        self._clearing: Counter[str] = Counter()
        """Request topics whose retained message we cleared, echo not yet seen (3.1.1)."""
        self._gate: RetainedRequestGate | None = None
        self._arrivals = self.arrival_gate()
        self.trimmer = Trimmer()
        """Hands the memory of large payloads back to the system once they are freed."""

    def arrival_gate(self) -> ArrivalGate:
        """A new connection's gate, counting its payloads from the moment each arrives."""
        limit = self.answerer.limits.max_payload_bytes
        self._arrivals = ArrivalGate(max_bytes=limit, max_payload=limit)
        return self._arrivals

    def watch(self, client: aiomqtt.Client) -> None:
        """A new connection's client: its payloads counted as they arrive, its resends noted.

        Both hook paho's ``on_message``, before aiomqtt queues a message for ``listen``.
        """
        self.answerer.redelivered = set()
        watch_arrivals(client, self.arrival_gate().arrive)
        note_redeliveries(client, self.answerer.redelivered)  # outermost: sees messages first

    def _held_bytes(self) -> int:
        """Payload bytes taken from the queue and not yet answered (or refused)."""
        waiting = self._intake.held_bytes if self._intake is not None else 0
        return waiting + (self._gate.held_bytes if self._gate is not None else 0)

    async def listen(self, mqtt: aiomqtt.Client, group: asyncio.TaskGroup) -> None:
        """Hand every message on; one that cannot be handled is logged and dropped.

        Only the broker (the message iterator raising ``MqttError``) or a cancel ends this.
        """
        intake = self._intake = RequestIntake[RequestMessage](
            workers=MAX_CONCURRENT_REQUESTS,
            max_bytes=self.answerer.limits.max_payload_bytes,
            max_wait=self.shed_after,
        )
        # A new session starts with nothing waiting: what the last one held is unacknowledged
        # and comes again from the broker (and its message ids belong to the old connection).
        self._refusals = asyncio.Queue()
        for number in range(MAX_CONCURRENT_REQUESTS):
            group.create_task(self._work(mqtt, intake), name=f"request-worker-{number}")
        for number in range(REFUSERS):
            group.create_task(self._refuse_loop(mqtt), name=f"request-refusals-{number}")
        if self.sync_topic is not None:
            sync_topic = self.sync_topic
            self._gate = RetainedRequestGate(
                resubscribe=lambda: self._resubscribe(mqtt),
                publish_sync=lambda token: self.publisher.publish(sync_topic, token),
                release=lambda request: self._start_answer(mqtt, request),
                drop=lambda request: self._dropped(mqtt, request),
            )
        arrivals = self._arrivals
        arrivals.held_elsewhere = self._held_bytes
        async for message in mqtt.messages:
            checkpoint()
            self.counters.messages_in += 1
            arrivals.taken(message.payload)
            self.trimmer.freed(arrived_size(message.payload))  # whatever becomes of it
            try:
                self._dispatch(mqtt, message, group)
            except Exception:  # the boundary for whatever a client sends: log, go on
                _LOGGER.exception(
                    "dropped a message on %s that could not be handled",
                    shown_topic(message.topic.value),
                )
                ack(mqtt, message)

    def _dispatch(
        self, mqtt: aiomqtt.Client, message: aiomqtt.Message, group: asyncio.TaskGroup
    ) -> None:
        """Start answering a request, or acknowledge and drop whatever is not one to answer."""
        topic = message.topic.value
        seq = self._gate.arrived() if self._gate is not None else 0
        if self._sync_or_control(topic, message.payload, group):
            ack(mqtt, message)
            return
        request = self._receive(message)
        if request is None or not self._answers(request.where):
            ack(mqtt, message)  # not a request, or one another instance answers
            return
        if isinstance(message.payload, Unread):
            self._unread(mqtt, request, group)
            return
        payload = payload_bytes(message.payload)
        if message.retain:
            self._drop_retained(topic, payload, seq, group)
            ack(mqtt, message)
            return
        if not payload and self._clearing[topic] > 0:
            self._clearing[topic] -= 1  # the echo of our own clear (MQTT 3.1.1)
            ack(mqtt, message)
            return
        if self._gate is not None:
            self._gate.hold(request, payload, seq, group)
            return
        self._start_answer(mqtt, request)

    def _receive(self, message: aiomqtt.Message) -> RequestMessage | None:
        """The request on this message, its topic parsed once; None if it is not one."""
        where = self.topics.parse_request(message.topic.value)
        if where is None:
            return None
        return RequestMessage(message, where, self.topics.response_to(where))

    def _unread(
        self, mqtt: aiomqtt.Client, request: RequestMessage, group: asyncio.TaskGroup
    ) -> None:
        """A request whose payload was freed on arrival: refused, or too large to read.

        Retained, it is cleared (it would come again at every start); live, it is answered
        without waiting for the MQTT 3.1.1 retained check (its answer does nothing).
        """
        message = request.message
        unread = message.payload
        assert isinstance(unread, Unread)  # noqa: S101 - the caller checked
        if message.retain:
            self._clear_retained(message.topic.value, group)
            ack(mqtt, message)
            return
        if self._intake is None:
            ack(mqtt, message)
            return
        if not self._can_answer(mqtt, request):
            return
        self._idle.clear()
        if unread.too_large:
            incoming = Incoming(unread.size, None, unread.transaction)
            self._refusals.put_nowait((request, incoming))
            return
        refusal = self._intake.full()
        self._log_shedding(refusal)
        self._refusals.put_nowait((request, Shed(refusal, unread.transaction)))

    def _sync_or_control(self, topic: str, payload: Any, group: asyncio.TaskGroup) -> bool:
        """Handle the retained-request sync and the control messages (True)."""
        if self._gate is not None and topic == self.sync_topic:
            self._gate.synced(payload_bytes(payload).decode(errors="replace"))
            return True
        return self._control(topic, payload, group)

    def _drop_retained(
        self, topic: str, payload: bytes, seq: int, group: asyncio.TaskGroup
    ) -> None:
        """A retained request is never acted on; clear it so it is not replayed at every start."""
        if self._gate is not None:
            self._gate.saw_retained(topic, payload, seq)
        if payload:  # (an empty one is already a clear: ours, echoed as published)
            self._clear_retained(topic, group)

    def _clear_retained(self, topic: str, group: asyncio.TaskGroup) -> None:
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

    def _can_answer(self, mqtt: aiomqtt.Client, request: RequestMessage) -> bool:
        """Whether the request's response topic can exist (else it is acknowledged, unanswered)."""
        try:
            check_publish_topic(request.response_topic)
        except errors.TopicError as err:
            _LOGGER.warning("not answering the request on %s: %s", shown_topic(request.topic), err)
            ack(mqtt, request.message)
            return False
        return True

    def _start_answer(self, mqtt: aiomqtt.Client, request: RequestMessage) -> None:
        """Start answering a live request, unless its response topic cannot exist."""
        message = request.message
        if self._intake is None:
            ack(mqtt, message)
            return
        if not self._can_answer(mqtt, request):
            return
        self._idle.clear()
        refusal = self._intake.offer(request, len(payload_bytes(message.payload)))
        if refusal is None:
            return
        self._log_shedding(refusal)
        shed = Shed(refusal, sniff_transaction(take_payload(message)))
        self._refusals.put_nowait((request, shed))

    def _log_shedding(self, refusal: Refusal) -> None:
        now = time.monotonic()
        if now - self._shed_logged >= SHED_LOG_INTERVAL:
            self._shed_logged = now
            _LOGGER.warning("shedding load: answering rate_limited (%s)", refusal.reason)

    async def _work(self, mqtt: aiomqtt.Client, intake: RequestIntake[RequestMessage]) -> None:
        """One of the fixed workers: answer the oldest waiting request, then the next."""
        while True:
            ticket = await intake.take()
            started = time.monotonic()
            try:
                await self.answerer.handle(mqtt, ticket.item)
            finally:
                intake.done(ticket, time.monotonic() - started)
                self.trimmer.freed(ticket.size)
                self._check_idle()

    async def _refuse_loop(self, mqtt: aiomqtt.Client) -> None:
        """Answer what needs no worker, one after the other (each is one publish).

        Refused requests get ``rate_limited``; a payload too large to read its error.
        """
        while True:
            request, answer = await self._refusals.get()
            self._refusing += 1
            try:
                if isinstance(answer, Shed):
                    await self.answerer.refuse(request, answer.refusal, answer.transaction)
                else:
                    await self.answerer.answer(request, incoming=answer)
                ack(mqtt, request.message)
            finally:
                self._refusing -= 1
                self._check_idle()

    def _dropped(self, mqtt: aiomqtt.Client, request: RequestMessage) -> None:
        ack(mqtt, request.message)
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
