"""The MQTT side of the bridge: building the client, the session flags, the reconnect loop.

One ``aiomqtt.Client`` is made per connection; the loop reconnects forever with capped, jittered
backoff and hands every connected client to the session callable. Only MQTT errors end a session
this way; anything else propagates (the session says ``offline`` first, see the service).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiomqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from lianke_bridge.asyncutil import checkpoint
from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.mqtt import publish_decoder
from lianke_bridge.bridge.records.topics import shown_topic
from lianke_bridge.config import MqttConfig

_LOGGER = logging.getLogger(__name__)

MQTT_SOCKET_OPTIONS = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
"""TCP_NODELAY: an answer goes out at once instead of waiting ~40 ms for the broker's delayed
ACK of the previous packet (Nagle), which made every answer ~40 ms late."""
MAX_RECONNECT_DELAY = 60.0
CONNECTION_LOST = (7, 128)
"""paho's codes for a connection that broke with no reason given (MQTT 3.1.1, MQTT 5)."""
RESET_ON_CLOSE = struct.pack("ii", 1, 0)
"""SO_LINGER on with 0 s: ``close()`` resets the connection, dropping what was not sent."""
SUBACK_FAILURE = 0x80
"""The MQTT 3.1.1 SUBACK code of a refused subscription (MQTT 5: every code from 0x80)."""


@dataclass
class MqttCounters:
    """What the session counts for ``bridge/health`` and ``/metrics``."""

    messages_in: int = 0
    reconnects: int = 0


def session_options(mqtt: MqttConfig, *, max_packet_size: int) -> dict[str, Any]:
    """Protocol and session flags: a persistent session unless ``session_expiry`` is 0.

    The broker keeps the subscriptions and queues QoS 1 requests while the bridge is away,
    so they run when it returns. MQTT 5: clean start off and a session expiry interval (a new
    ``aiomqtt.Client`` is made per connection, so "clean on the first connect only" would
    clean every time); MQTT 3.1.1: clean session off (the broker decides how long it keeps it).

    MQTT 5 also bounds what the broker may send: Receive Maximum (requests sent and not yet
    acknowledged; the bridge acknowledges a request once answered, so this is how many it
    holds at once, on a broker that counts them right: Mosquitto before 2.0.13 does not when
    acknowledgements come out of order) and Maximum Packet Size (a larger message the broker
    drops instead of sending it). MQTT 3.1.1 has neither: the broker's own limits apply
    (Mosquitto: ``max_inflight_messages``, ``message_size_limit``).
    """
    persistent = mqtt.session_expiry > 0
    if mqtt.protocol == "3.1.1":
        return {"protocol": aiomqtt.ProtocolVersion.V311, "clean_session": not persistent}
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = int(mqtt.session_expiry)
    properties.ReceiveMaximum = mqtt.receive_maximum
    properties.MaximumPacketSize = max_packet_size
    return {
        "protocol": aiomqtt.ProtocolVersion.V5,
        "clean_start": not persistent,
        "properties": properties,
    }


def mqtt_client(
    mqtt: MqttConfig, *, client_id: str, will_topic: str, max_packet_size: int
) -> aiomqtt.Client:
    """A client for one connection, acknowledging nothing by itself.

    A request is acknowledged once it is answered (see ``ack``), not on arrival: a bridge
    killed before answering gets it again from its session. aiomqtt has no option for it.
    paho decodes what arrives with ``publish_decoder`` (one copy of a payload, not three).
    """
    publish_decoder.install()
    tls_params = None
    if mqtt.tls is not None:
        tls_params = aiomqtt.TLSParameters(
            ca_certs=str(mqtt.tls.ca_certs) if mqtt.tls.ca_certs else None,
            certfile=str(mqtt.tls.certfile) if mqtt.tls.certfile else None,
            keyfile=str(mqtt.tls.keyfile) if mqtt.tls.keyfile else None,
            cert_reqs=ssl.CERT_NONE if mqtt.tls.insecure else ssl.CERT_REQUIRED,
        )
    client = aiomqtt.Client(
        mqtt.host,
        mqtt.port,
        username=mqtt.username,
        password=mqtt.password,
        identifier=client_id,
        keepalive=mqtt.keepalive,
        **session_options(mqtt, max_packet_size=max_packet_size),
        will=aiomqtt.Will(will_topic, "offline", qos=1, retain=True),
        socket_options=MQTT_SOCKET_OPTIONS,
        tls_params=tls_params,
        tls_insecure=True if mqtt.tls is not None and mqtt.tls.insecure else None,
    )
    client._client.manual_ack_set(on=True)  # noqa: SLF001
    return client


async def reconnect_forever(
    connect: Callable[[], aiomqtt.Client],
    session: Callable[[aiomqtt.Client], Awaitable[None]],
    *,
    where: str,
    counters: MqttCounters,
) -> None:
    """Connect, run the session, and on a broker error connect again, with capped backoff."""
    delay = 1.0
    outage_since: float | None = None
    while True:
        checkpoint()
        client = connect()
        try:
            async with client as mqtt:
                if outage_since is None:
                    _LOGGER.info("connected to broker %s", where)
                else:
                    _LOGGER.info(
                        "reconnected to broker %s after %.0f s",
                        where,
                        time.monotonic() - outage_since,
                    )
                outage_since, delay = None, 1.0
                try:
                    await session(mqtt)
                except* aiomqtt.MqttError:
                    let_go(mqtt)  # no DISCONNECT, and no 10 s wait for it, to a failing broker
                    raise
        except* aiomqtt.MqttError as group:
            reason = describe(group.exceptions[0])
            if outage_since is None:
                outage_since = time.monotonic()
                _LOGGER.warning("broker %s unreachable (%s); retrying", where, reason)
            else:
                _LOGGER.debug("broker %s still unreachable (%s)", where, reason)
            counters.reconnects += 1
        finally:
            let_go(client)
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311
        delay = min(MAX_RECONNECT_DELAY, delay * 2)


async def subscribe(
    mqtt: aiomqtt.Client, topic_filter: str, options: SubscribeOptions | None = None
) -> None:
    """Subscribe at QoS 1; a SUBACK that refuses it ends the session, as a broker error does.

    A broker refuses a subscription it cannot or will not make: its ACL, or NATS when
    JetStream, busy, does not make the subscription's consumer within its 4 s. The session
    would go on deaf to it: ``online``, answering no request. Ended, the reconnect loop says
    why (one WARNING) and subscribes again on the next connection, until the broker agrees.
    """
    if options is None:
        granted = await mqtt.subscribe(topic_filter, qos=1)
    else:
        granted = await mqtt.subscribe(topic_filter, options=options)
    refused = [code for code in granted if refuses(code)]
    if refused:
        raise aiomqtt.MqttError(
            f"it refused the subscription to {shown_topic(topic_filter)}: {refused[0]}"
        )


def refuses(code: int | ReasonCode) -> bool:
    """Whether a SUBACK code refuses the subscription (0x80 and up, in MQTT 3.1.1 and 5)."""
    return code.is_failure if isinstance(code, ReasonCode) else code >= SUBACK_FAILURE


async def subscribe_requests(mqtt: aiomqtt.Client, topic_filter: str, protocol: str) -> None:
    """Subscribe to requests; with MQTT 5, see the retain flag even on live messages.

    Retain-as-published lets the bridge ignore a request that someone published retained
    while it was running, not only the ones the broker replays at subscribe time.
    """
    if protocol == "5":
        await subscribe(mqtt, topic_filter, SubscribeOptions(qos=1, retainAsPublished=True))
    else:
        await subscribe(mqtt, topic_filter)


async def unsubscribe_stale(
    mqtt: aiomqtt.Client, config: MqttConfig, store: Store, wanted: Iterable[str]
) -> None:
    """Drop filters the persistent session still holds from an earlier run or version.

    The broker keeps a session's subscriptions across restarts: a leftover filter that
    overlaps today's (``<base>/bridge/request/+``, which earlier versions subscribed beside
    ``<base>/+/request/+``) would deliver requests twice.
    """
    if config.session_expiry <= 0:
        return
    wanted = list(wanted)
    legacy = f"{config.base_topic}/bridge/request/+"
    for topic_filter in sorted((store.subscriptions | {legacy}) - set(wanted)):
        await mqtt.unsubscribe(topic_filter)
    store.set_subscriptions(wanted)


def note_redeliveries(client: aiomqtt.Client, redelivered: set[int]) -> None:
    """Keep the packet id of each message the broker sends again (aiomqtt drops the DUP flag).

    The broker sets DUP only on its own retransmission to this session, never on a requester's
    re-send, so DUP means "this session had this very request before".

    A DUP message whose packet id this connection has not acknowledged yet is the very message
    the bridge is still handling: a packet id names one message until its PUBACK. Brokers that
    resend within a session do this to a request whose answer takes long (a slow cloud call):
    NATS after its ``mqtt { ack_wait }`` (30 s by default), EMQX after its ``retry_interval``.
    Such a resend is dropped here, neither answered nor acknowledged: the answer under way is
    the requester's one answer, and its PUBACK (the same packet id) acknowledges the resend
    too. Answered, it was a second answer to one request (``duplicate``, as if re-sent).
    Installed after ``watch_arrivals``, so paho shows it each message first: a resend dropped
    here is never counted against the payload budget, which only the listener gives back.
    """
    paho = client._client  # noqa: SLF001
    deliver = paho.on_message
    acknowledge = paho.ack
    unacknowledged: set[int] = set()

    def on_message(paho_client: Any, userdata: Any, message: Any) -> None:
        if message.qos > 0:
            if message.dup and message.mid in unacknowledged:
                _LOGGER.debug(
                    "the broker sent the request on %s again while it is being answered; "
                    "the answer under way is its one answer",
                    shown_topic(message.topic),
                )
                return
            unacknowledged.add(message.mid)
        if message.dup:
            redelivered.add(message.mid)
        else:
            redelivered.discard(message.mid)
        if deliver is not None:
            deliver(paho_client, userdata, message)

    def ack(mid: int, qos: int) -> MQTTErrorCode:
        unacknowledged.discard(mid)
        return acknowledge(mid, qos)

    paho.on_message = on_message
    paho.ack = ack  # type: ignore[method-assign]


def watch_arrivals(client: aiomqtt.Client, arrive: Callable[[Any], None]) -> None:
    """Show ``arrive`` every message the moment paho has read it, before aiomqtt queues it.

    ``arrive`` may replace the paho message's payload (see ``arrival.py``); it must not raise.
    """
    paho = client._client  # noqa: SLF001
    deliver = paho.on_message

    def on_message(paho_client: Any, userdata: Any, message: Any) -> None:
        arrive(message)
        if deliver is not None:
            deliver(paho_client, userdata, message)

    paho.on_message = on_message


def broker_errors_only(err: BaseException) -> bool:
    """Whether a session ended because of the broker alone (then the will speaks for us)."""
    if isinstance(err, BaseExceptionGroup):
        return all(broker_errors_only(inner) for inner in err.exceptions)
    return isinstance(err, aiomqtt.MqttError)


def abandon(mqtt: aiomqtt.Client) -> None:
    """Drop a connection to a broker that stopped answering, without a DISCONNECT.

    aiomqtt's ``__aexit__`` sends DISCONNECT and waits up to its 10 s timeout for it to leave;
    with a frozen broker and a full send buffer it never leaves, so a stop would take that
    long. Closing paho's socket and marking the client disconnected makes ``__aexit__`` return
    at once; the broker's will says ``offline`` for us.
    """
    mqtt._client._sock_close()  # noqa: SLF001
    if not mqtt._disconnected.done():  # noqa: SLF001
        mqtt._disconnected.set_result(None)  # noqa: SLF001


def let_go(mqtt: aiomqtt.Client) -> None:
    """End a connection for good once its session or its attempt is over: reset, forget.

    An attempt that timed out waiting for its CONNACK (a frozen broker) still has its socket
    and its CONNECT in the broker's backlog: closed normally, the broker would take that
    CONNECT when it thaws, let the dead attempt in (taking the session over from the live
    connection, if that came first) and then kick it off when the next attempt comes. aiomqtt
    records that kick as an exception nobody awaits ("Future exception was never retrieved",
    at ERROR). A TCP reset (SO_LINGER 0) makes the broker's kernel drop the connection with
    whatever it had not read yet, so nothing of it is ever acted on (an answer dropped that way
    leaves its request unacknowledged: the broker hands it to the next connection, which
    answers it). Then the exception aiomqtt recorded for the connection's end, if any, is
    taken: it was reported already, as the error that ended the session. A connection closed
    cleanly is left as it is.
    """
    paho = mqtt._client  # noqa: SLF001
    sock = paho.socket()
    if sock is not None:
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
        paho._sock_close()  # noqa: SLF001
    ended = mqtt._disconnected  # noqa: SLF001
    if not ended.done():
        ended.set_result(None)
    elif not ended.cancelled():
        ended.exception()


def describe(err: BaseException) -> str:
    """Why a session or an attempt ended, for the log: with the cause aiomqtt chains to it.

    A connection that simply broke (the broker killed, a network gone) is "connection lost";
    paho's MQTT 5 code for it says only "Unspecified error". A broker's own reason (a session
    taken over by another client with this client id, a keepalive timeout) is named.
    """
    text = str(err) or type(err).__name__
    cause = err.__cause__
    if isinstance(cause, aiomqtt.MqttCodeError):
        code = getattr(cause.rc, "value", cause.rc)
        return "connection lost" if code in CONNECTION_LOST else f"{text}: {cause}"
    if cause is not None and str(cause):
        return f"{text}: {cause}"
    return text


def ack(mqtt: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Acknowledge a QoS 1 or 2 message (the client acknowledges nothing by itself)."""
    if message.qos > 0:
        mqtt._client.ack(message.mid, message.qos)  # noqa: SLF001


def take_payload(message: aiomqtt.Message) -> bytes:
    """A message's payload as bytes, taken out of it: the message keeps an empty one.

    The bridge reads a payload once; what holds the message afterwards (a worker, a refusal in
    line to be published) must not keep a document's megabytes alive with it.
    """
    payload = payload_bytes(message.payload)
    message.payload = b""
    return payload


def payload_bytes(payload: Any) -> bytes:
    """A message's payload as bytes, whatever aiomqtt made of it."""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()
