"""Answering one request: the boundary around it, repeats via the memory, the response topics.

A request is parsed, run against the ``RequestContext`` and answered on the contract's topic
(and, with MQTT 5, on its own response topic). A transaction seen before gets what
``memory.py`` remembers. Nothing a request does ends the bridge but a broker error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from lianke_bridge import errors
from lianke_bridge.bridge.intake.backlog import Refusal
from lianke_bridge.bridge.intake.message import RequestMessage
from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.memory.transactions import Envelope, RequestMemory
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.mqtt.session import ack, take_payload
from lianke_bridge.bridge.records.answer import Answer, Work
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.envelope import (
    ErrorCode,
    error_envelope,
    ok_envelope,
    rate_limited_error,
)
from lianke_bridge.bridge.records.topics import Topics, shown_topic
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.model import Limits
from lianke_bridge.bridge.requests.payload import Incoming
from lianke_bridge.bridge.requests.registry import COMMANDS, Commands

_LOGGER = logging.getLogger(__name__)

EMPTY_ON_311 = (
    "an empty payload is not acted on with MQTT 3.1.1: it cannot be told from a retained "
    "message being deleted; send a payload such as PRESS"
)


class RequestAnswerer:
    """Turns one request message into exactly one answer."""

    def __init__(
        self,
        *,
        topics: Topics,
        publisher: Publisher,
        store: Store,
        boxes: Mapping[str, Box],
        configured: Sequence[str],
        limits: Limits,
        check_empty: bool,
        context: Callable[[], RequestContext],
        after_bridge_command: Callable[[str], Awaitable[None]],
        commands: Commands = COMMANDS,
    ) -> None:
        self.topics = topics
        self.publisher = publisher
        self.boxes = boxes
        self.configured = configured
        """Every box of the configuration (``boxes`` holds only this instance's share)."""
        self.limits = limits
        self._check_empty = check_empty
        """MQTT 3.1.1: an empty payload cannot be told from a clear, so it is refused."""
        self._context = context
        self._after_bridge_command = after_bridge_command
        """Called once a bridge-level command ran (a scaled-out bridge fans some out)."""
        self.commands = commands
        self.memory = RequestMemory(store, commands.recoverer(topics, context))
        """Repeats of a transaction; an interrupted one is the command's to recover."""
        self.redelivered: set[int] = set()
        """Packet ids of the requests the broker sent this session again (the DUP flag)."""

    async def handle(self, mqtt: aiomqtt.Client, request: RequestMessage) -> None:
        """Answer, then acknowledge: a request the bridge dies on comes again from the session.

        What the answer left for after it (a new job's topics) runs last.
        """
        message = request.message
        redelivered = message.qos > 0 and message.mid in self.redelivered
        self.redelivered.discard(message.mid)
        later = await self.answer(request, redelivered=redelivered)
        ack(mqtt, message)
        for work in later:
            try:
                await work()
            except aiomqtt.MqttError:
                raise
            except Exception:  # the boundary, as for the answer itself
                _LOGGER.exception(
                    "could not finish the request on %s", shown_topic(request.where.command)
                )

    async def answer(
        self,
        request: RequestMessage,
        *,
        redelivered: bool = False,
        incoming: Incoming | None = None,
    ) -> tuple[Work, ...]:
        """Parse, execute and answer one request. A bad request never ends the bridge.

        Everything, the answer's publishing too, runs inside this boundary: a failure is logged
        and the request dropped; only a broker error (``MqttError``) goes on to end the session.
        ``incoming``: the payload as already read (one too large to decode, answered at once).
        Returns what the answer leaves for once it is acknowledged (nothing if none went out).
        """
        try:
            answer = await self._envelope(request, redelivered=redelivered, incoming=incoming)
            if answer is None:
                return ()
            transaction = answer.data.get("transaction")
            published = False
            try:
                await self.respond(request, answer.data)
                published = True
            finally:
                if isinstance(transaction, str):
                    self.memory.sent(request.topic, transaction, published=published)
        except aiomqtt.MqttError:
            raise
        except Exception:
            _LOGGER.exception("could not answer the request on %s", shown_topic(request.topic))
            return ()
        return answer.after

    async def _envelope(
        self,
        request: RequestMessage,
        *,
        redelivered: bool = False,
        incoming: Incoming | None = None,
    ) -> Answer[Envelope] | None:
        """The answer to a request: its ``ok`` envelope, the error envelope, or the remembered one.

        A transaction seen before gets what the memory says (``duplicate`` with the first
        answer, or the first answer itself when it was never published). None: answer nothing,
        the broker sent again a request whose answer it has already taken (only the bridge's
        acknowledgement was lost, e.g. in a broker restart): the requester has its answer.
        """
        limits = self.limits
        durable = False
        where = request.where
        incoming = incoming or self._read(request.message)
        transaction = incoming.transaction
        topic = request.topic
        claimed = False
        nothing_done = False  # the state could not be written: the command did not run
        try:
            prepared = self.commands.prepare(
                where, incoming, limits, self.boxes, configured=self.configured
            )
            self._check_not_empty(incoming)
            del incoming  # the decoded JSON: what runs now holds only what it needs (a file)
            transaction = prepared.transaction
            repeat = None
            durable = prepared.synced
            if transaction is not None:
                if redelivered and self.memory.published(topic, transaction):
                    _LOGGER.debug("redelivered %s already answered", shown_topic(topic))
                    return None
                repeat = await self.memory.begin(topic, transaction, durable=durable)
                claimed = repeat is None
            if repeat is None:
                ran = await prepared.run(self._context())
                answer = Answer(ok_envelope(ran.data, transaction), ran.after)
                if where.scope == "bridge":
                    await self._after_bridge_command(where.command)
            else:
                answer = repeat
        except Exception as err:  # the boundary for user input: answer, go on
            if not isinstance(err, errors.CommandError | errors.LiankeError):
                _LOGGER.exception("unexpected error handling %s", shown_topic(topic))
            nothing_done = isinstance(err, errors.StateUnavailableError)
            answer = Answer(error_envelope(err, transaction))
        finally:
            if claimed and transaction is not None:
                self.memory.release(topic, transaction)
        if claimed and transaction is not None:
            if nothing_done:  # not remembered: the same transaction runs once the disk is back
                self.memory.forget(topic, transaction)
            else:
                await self.memory.answered(topic, transaction, answer.data, durable=durable)
        return answer

    def _read(self, message: aiomqtt.Message) -> Incoming:
        """The request's payload, read here once: the message keeps none of it."""
        return Incoming.read(take_payload(message), self.limits.max_payload_bytes)

    async def respond(self, request: RequestMessage, envelope: dict[str, Any]) -> None:
        """Answer on the contract's topic and, with MQTT 5, on the request's response topic.

        When the two are the same topic the answer goes out once, with the correlation data.
        """
        contract = request.response_topic
        properties = request.message.properties
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

    async def refuse(
        self, request: RequestMessage, refusal: Refusal, transaction: str | None
    ) -> None:
        """Answer ``rate_limited`` without running the request (load shedding).

        ``transaction``: sniffed from the payload when it was refused (then freed).
        """
        error = rate_limited_error(
            refusal.retry_after, reason=refusal.reason, transaction=transaction
        )
        try:
            await self.respond(request, error_envelope(error))
        except aiomqtt.MqttError:
            raise
        except Exception:  # the boundary: log, go on
            _LOGGER.exception(
                "could not refuse the request on %s", shown_topic(request.where.command)
            )

    def _check_not_empty(self, incoming: Incoming) -> None:
        if self._check_empty and not incoming.size:
            raise errors.CommandError(ErrorCode.INVALID_PAYLOAD, EMPTY_ON_311)
