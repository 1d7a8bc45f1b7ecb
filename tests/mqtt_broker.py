"""A real Mosquitto for end-to-end tests, and an MQTT probe client that asserts on it.

Register it once in ``tests/conftest.py``::

    pytest_plugins = ["mqtt_broker"]

Fixtures: ``mosquitto`` (a fresh, started broker per test), ``mosquitto_factory`` (start more
brokers, or one with persistence, extra config or users with passwords), ``base_topic`` (a unique
topic root per test), ``mqtt_probe`` (a connected ``MqttProbe`` subscribed to ``#`` on
``mosquitto``).
When a test fails, the tail of each of its brokers' logs is added to the report.

Every test gets its own broker on a free loopback port: retained messages never leak between
tests, and a test may stop, kill or restart its broker (same port) without disturbing others.
Starting Mosquitto takes a few tens of milliseconds, cheap enough to do per test.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypedDict

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

__all__ = [
    "BrokerStartError",
    "Login",
    "MosquittoBroker",
    "MqttProbe",
    "ProbeDisconnectedError",
    "ProbeMessage",
    "base_topic",
    "find_mosquitto",
    "free_port",
    "free_ports",
    "mosquitto",
    "mosquitto_binary",
    "mosquitto_factory",
    "mqtt_probe",
    "password_line",
    "pytest_runtest_makereport",
    "sentinel_round_trip",
]

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 5.0
"""Seconds Mosquitto gets to open its listener before the test fails."""
STOP_TIMEOUT = 5.0
"""Seconds Mosquitto gets to exit after SIGTERM before it is killed."""
LOG_TAIL_LINES = 60
PROBE_LOGGER = logging.getLogger("mqtt_probe")
"""The probes' aiomqtt and paho log under this name, apart from the bridge's client (``mqtt``)."""
SUBACK_FAILURE = 0x80
"""The MQTT 3.1.1 SUBACK code of a refused subscription (MQTT 5: every code from 0x80)."""
SUBSCRIBE_REFUSED_FOR = 60.0
"""Seconds a probe goes on subscribing again while the broker refuses the subscription."""

_FALLBACK_PATHS = (
    "/usr/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
    "/opt/homebrew/sbin/mosquitto",
)


def find_mosquitto() -> str | None:
    """Return the mosquitto binary: on PATH, else in the usual sbin directories, else None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in _FALLBACK_PATHS:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class Login(TypedDict, total=False):
    """A client's user name and password (empty for a broker that takes anonymous clients)."""

    username: str
    password: str


def password_line(username: str, password: str) -> str:
    """One line of a Mosquitto 2 password file, as ``mosquitto_passwd`` writes it.

    ``$7$``: PBKDF2-SHA512, 101 iterations, a 12-byte salt (written here rather than by
    ``mosquitto_passwd``, which not every package of Mosquitto installs).
    """
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    encoded = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"{username}:$7$101${encoded[0]}${encoded[1]}"


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port nothing listens on right now (the OS picks it)."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return ``count`` different TCP ports nothing listens on right now.

    Held open together while the OS picks them: one at a time, a port just closed may be picked
    again (a NATS node once got another node's MQTT port as its cluster port and died).
    """
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            for _ in range(count)
        ]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


class BrokerStartError(RuntimeError):
    """Mosquitto exited or did not open its listener; the message carries its log tail."""


class MosquittoBroker:
    """One Mosquitto process on a loopback port, with its config and log in ``workdir``.

    The port is chosen once, so ``restart()`` comes back on the same address and clients that
    reconnect find it again. The log is appended across restarts and kept after ``stop()``.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        binary: str | None = None,
        port: int | None = None,
        persistence: bool = False,
        extra_config: Iterable[str] = (),
        users: Mapping[str, str] | None = None,
    ) -> None:
        found = binary or find_mosquitto()
        if found is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = found
        self.workdir = workdir
        self.host = LOOPBACK
        self.port = port if port is not None else free_port()
        self.persistence = persistence
        self.extra_config = tuple(extra_config)
        self.users = dict(users or {})
        """User name -> password; with any, anonymous clients are refused."""
        self.config_path = workdir / "mosquitto.conf"
        self.password_path = workdir / "passwd"
        self.log_path = workdir / "mosquitto.log"
        self.data_dir = workdir / "data"
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"MosquittoBroker({self.host}:{self.port}, running={self.running})"

    @property
    def running(self) -> bool:
        """Whether the Mosquitto process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while running."""
        return self._process.pid if self.running and self._process else None

    def config_text(self) -> str:
        """The mosquitto.conf this broker runs with."""
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous false" if self.users else "allow_anonymous true",
            # Mosquitto flushes its log file line by line (its stdout is block-buffered); stdout
            # and stderr are appended to the same file for errors printed before it is open.
            f"log_dest file {self.log_path}",
            "log_type all",
            "connection_messages true",
            "log_timestamp true",
            "log_timestamp_format %H:%M:%S",
        ]
        if os.geteuid() == 0:
            # As root, Mosquitto would switch to the `mosquitto` user, which cannot write here.
            lines.append("user root")
        if self.persistence:
            lines += [
                "persistence true",
                f"persistence_location {self.data_dir}/",
                # Save only when the broker exits, so a restart is the test's only variable.
                "autosave_interval 0",
            ]
        else:
            lines.append("persistence false")
        if self.users:
            lines.append(f"password_file {self.password_path}")
        lines += self.extra_config
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        """Start Mosquitto and return once its listener accepts TCP connections.

        Raises BrokerStartError (with the log tail) if it exits or does not listen in time.
        """
        if self.running:
            raise RuntimeError(f"{self!r} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.persistence:
            self.data_dir.mkdir(exist_ok=True)
        self.config_path.write_text(self.config_text(), encoding="utf-8")
        if self.users:
            lines = (password_line(user, password) for user, password in self.users.items())
            self.password_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            self.password_path.chmod(0o600)
        with self.log_path.open("ab") as log:
            log.write(f"--- starting mosquitto on {self.host}:{self.port} ---\n".encode())
            log.flush()
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, our own config
                [self.binary, "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_listening()

    def _wait_listening(self) -> None:
        # Mosquitto offers no readiness signal, so this is the one retry loop in the fixtures:
        # a bounded connect probe against a process that is starting (a few ms in practice).
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        delay = 0.002
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise BrokerStartError(
                    f"mosquitto exited with code {code} on port {self.port}\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.5),
            ):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise BrokerStartError(
                    f"mosquitto did not listen on {self.host}:{self.port} within "
                    f"{START_TIMEOUT}s\n{self.log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    @property
    def login(self) -> Login:
        """``username`` and ``password`` of the broker's first user, for clients (or nothing)."""
        for username, password in self.users.items():
            return {"username": username, "password": password}
        return {}

    async def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the broker answers an MQTT CONNECT with a CONNACK (as its first user)."""
        async with (
            asyncio.timeout(timeout),
            aiomqtt.Client(
                self.host,
                self.port,
                identifier=f"ready-{uuid.uuid4().hex[:8]}",
                protocol=aiomqtt.ProtocolVersion.V5,
                timeout=timeout,
                **self.login,
            ),
        ):
            pass

    def stop(self) -> None:
        """Stop Mosquitto cleanly (SIGTERM: clients are disconnected, persistence is saved)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Kill Mosquitto (SIGKILL), like a crash: nothing is saved."""
        self._end(signal.SIGKILL)

    def _end(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the broker's log (across restarts)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no mosquitto log)"
        return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- probe client


Payload = str | bytes | bytearray | int | float | Mapping[str, Any] | list[Any] | None
"""What ``publish`` accepts; mappings and lists are sent as JSON."""


def encode_payload(payload: Payload) -> bytes:
    """Encode a payload the way the tests mean it: JSON for mappings and lists."""
    if payload is None:
        return b""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    if isinstance(payload, Mapping | list):
        return json.dumps(payload).encode()
    return str(payload).encode()


@dataclass(frozen=True, slots=True)
class ProbeMessage:
    """A message the probe received, with the MQTT 5 properties tests look at."""

    topic: str
    payload: bytes
    retain: bool
    """The retain flag as published (MQTT 5 probes subscribe with retain-as-published)."""
    qos: int
    response_topic: str | None = None
    correlation_data: bytes | None = None
    content_type: str | None = None
    user_properties: tuple[tuple[str, str], ...] = ()
    properties: Properties | None = field(default=None, repr=False, compare=False)

    @property
    def text(self) -> str:
        """The payload as UTF-8 text."""
        return self.payload.decode()

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)

    @classmethod
    def from_aiomqtt(cls, message: aiomqtt.Message) -> Self:
        """Copy what the tests need out of an aiomqtt message."""
        props = message.properties
        payload = message.payload
        if isinstance(payload, str):
            payload = payload.encode()
        elif not isinstance(payload, bytes | bytearray):
            payload = b"" if payload is None else str(payload).encode()
        correlation = getattr(props, "CorrelationData", None)
        return cls(
            topic=message.topic.value,
            payload=bytes(payload),
            retain=bool(message.retain),
            qos=message.qos,
            response_topic=getattr(props, "ResponseTopic", None),
            correlation_data=bytes(correlation) if correlation is not None else None,
            content_type=getattr(props, "ContentType", None),
            user_properties=tuple(getattr(props, "UserProperty", None) or ()),
            properties=props,
        )


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches the MQTT filter (``+`` and ``#`` wildcards)."""
    return aiomqtt.Topic(topic).matches(topic_filter)


def _is_refusal(code: int | ReasonCode) -> bool:
    """Whether a SUBACK code refuses the subscription (0x80 and up; MQTT 5 reason codes too)."""
    return code.is_failure if isinstance(code, ReasonCode) else code >= SUBACK_FAILURE


class ProbeDisconnectedError(ConnectionError):
    """The probe lost its broker connection (call ``reconnect()`` after a broker restart)."""


def default_response_topic(request_topic: str) -> str:
    """The contract's response topic for a request topic: ``…/request/x`` -> ``…/response/x``."""
    head, sep, tail = request_topic.rpartition("/request/")
    if not sep:
        raise ValueError(f"{request_topic!r} is not a …/request/<command> topic")
    return f"{head}/response/{tail}"


class MqttProbe:
    """An MQTT client for tests: subscribes, records every message, and waits for them.

    Use as ``async with MqttProbe(host, port, subscribe=["base/#"]) as probe:``. Messages are
    kept in arrival order (retained ones included); ``wait_for`` looks at the history first,
    then waits for new arrivals without polling.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        subscribe: Iterable[str] = ("#",),
        protocol: aiomqtt.ProtocolVersion = aiomqtt.ProtocolVersion.V5,
        identifier: str | None = None,
        timeout: float = 5.0,
        session_expiry: int | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.protocol = protocol
        self.identifier = identifier or f"probe-{uuid.uuid4().hex[:8]}"
        self.timeout = timeout
        self.session_expiry = session_expiry
        """A persistent session (QoS 1 answers kept while away) for this many seconds."""
        self.username = username
        self.password = password
        self._initial_filters = tuple(subscribe)
        self._filters: list[str] = []
        self._messages: list[ProbeMessage] = []
        self._changed = asyncio.Condition()
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lost: BaseException | None = None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        """Whether the probe holds a live broker connection."""
        return self._client is not None and self._lost is None

    async def connect(self) -> None:
        """Connect, subscribe to the filters given at construction and start recording."""
        session: dict[str, Any] = {}
        if self.session_expiry is not None and self.protocol == aiomqtt.ProtocolVersion.V5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.session_expiry
            session = {"clean_start": False, "properties": properties}
        elif self.session_expiry is not None:
            session = {"clean_session": False}
        client = aiomqtt.Client(
            self.host,
            self.port,
            identifier=self.identifier,
            protocol=self.protocol,
            timeout=self.timeout,
            username=self.username,
            password=self.password,
            logger=PROBE_LOGGER,
            **session,
        )
        await client.__aenter__()
        self._client = client
        self._lost = None
        self._reader = asyncio.create_task(self._read(client), name=f"{self.identifier}-reader")
        filters, self._filters = self._filters or list(self._initial_filters), []
        for topic_filter in filters:
            await self.subscribe(topic_filter)

    async def reconnect(self) -> None:
        """Connect again (after a broker restart) and restore the subscriptions."""
        await self.close()
        await self.connect()

    async def close(self) -> None:
        """Stop recording and disconnect; the history is kept."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                async with self._changed:
                    self._messages.append(ProbeMessage.from_aiomqtt(message))
                    self._changed.notify_all()
        except aiomqtt.MqttError as err:
            async with self._changed:
                # aiomqtt's iterator ends at the disconnect even when messages are still in its
                # queue, and paho acknowledged those already: the broker never sends them again.
                # Keep them, or an answer that arrived with the broker's last breath is lost.
                while not client._queue.empty():
                    self._messages.append(ProbeMessage.from_aiomqtt(client._queue.get_nowait()))
                self._lost = err
                self._changed.notify_all()

    def _require_client(self) -> aiomqtt.Client:
        if self._client is None or self._lost is not None:
            raise ProbeDisconnectedError(
                f"probe {self.identifier} is not connected to {self.host}:{self.port}"
                + (f": {self._lost}" if self._lost else "")
            )
        return self._client

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe (and wait for the SUBACK) unless an existing filter already covers it.

        A SUBACK may refuse the subscription for a while, as any client must expect: NATS does
        when JetStream, busy (a cluster just started, a loaded machine), does not make the
        subscription's consumer within its 4 s, and such a SUBACK may come after the probe's
        own ``timeout``. The probe then subscribes again, for up to ``SUBSCRIBE_REFUSED_FOR``
        seconds; a probe that went on unsubscribed would wait for messages that never come.
        """
        if topic_filter in self._filters:
            return
        deadline = time.monotonic() + SUBSCRIBE_REFUSED_FOR
        while True:
            client = self._require_client()
            try:
                if self.protocol == aiomqtt.ProtocolVersion.V5:
                    options = SubscribeOptions(qos=qos, retainAsPublished=True)
                    granted = await client.subscribe(topic_filter, options=options)
                else:
                    granted = await client.subscribe(topic_filter, qos=qos)
            except aiomqtt.MqttError as err:
                if self._lost is not None or time.monotonic() > deadline:
                    raise
                refused: list[object] = [err]  # no SUBACK in time: a connected probe asks again
            else:
                refused = [code for code in granted if _is_refusal(code)]
            if not refused:
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.host}:{self.port} refused the subscription to {topic_filter!r} "
                    f"for {SUBSCRIBE_REFUSED_FOR:.0f} s: {refused}"
                )
            PROBE_LOGGER.warning("subscription to %r refused (%s); again", topic_filter, refused)
            await asyncio.sleep(0.5)  # before asking a broker that refused again
        self._filters.append(topic_filter)

    def covers(self, topic: str) -> bool:
        """Whether a subscription of this probe already receives ``topic``."""
        return any(topic_matches(f, topic) for f in self._filters)

    def mark(self) -> int:
        """A position in the history: pass it as ``since`` to ignore what came before."""
        return len(self._messages)

    def clear(self) -> None:
        """Forget every message received so far."""
        self._messages.clear()

    def messages(self, topic_filter: str = "#") -> list[ProbeMessage]:
        """Every message received so far on topics matching the filter, oldest first."""
        return [m for m in self._messages if topic_matches(topic_filter, m.topic)]

    def last(self, topic_filter: str = "#") -> ProbeMessage | None:
        """The newest message on a matching topic, if any."""
        found = self.messages(topic_filter)
        return found[-1] if found else None

    async def wait_for(
        self,
        topic_filter: str,
        predicate: Callable[[ProbeMessage], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> ProbeMessage:
        """Return the first message (from position ``since`` on) matching filter and predicate.

        Looks at the history first, so a retained message or a fast answer is not missed.
        Raises TimeoutError listing what did arrive, or ProbeDisconnectedError.
        """
        position = since
        try:
            async with asyncio.timeout(timeout), self._changed:
                while True:
                    for message in self._messages[position:]:
                        if topic_matches(topic_filter, message.topic) and (
                            predicate is None or predicate(message)
                        ):
                            return message
                    position = len(self._messages)
                    self._require_client()
                    await self._changed.wait()
        except TimeoutError:
            seen = [m.topic for m in self._messages[since:]][-20:]
            raise TimeoutError(
                f"no message on {topic_filter!r}"
                + (" matching the predicate" if predicate else "")
                + f" within {timeout}s; last topics seen: {seen}"
            ) from None

    async def sync(self, timeout: float = 5.0) -> None:
        """Wait until everything the broker queued for this probe before now has arrived.

        A sentinel goes out on the probe's own topic and comes back behind whatever the broker
        had queued already: the retained messages of a subscribe, or what another client had
        published (and got acknowledged) before. It stays in the history, on its own topic.
        """
        topic = f"probe-sentinel/{self.identifier}"
        await self.subscribe(topic)
        token = uuid.uuid4().hex
        start = self.mark()
        await self.publish(topic, token)
        await self.wait_for(topic, lambda m: m.text == token, timeout, since=start)

    async def expect_silence(
        self, topic_filter: str, duration: float, *, since: int | None = None
    ) -> None:
        """Assert that nothing arrives on the filter for ``duration`` seconds (from ``since``)."""
        start = self.mark() if since is None else since
        with contextlib.suppress(TimeoutError):
            message = await self.wait_for(topic_filter, timeout=duration, since=start)
            raise AssertionError(f"unexpected message on {message.topic}: {message.payload!r}")

    async def publish(
        self,
        topic: str,
        payload: Payload = None,
        retain: bool = False,
        properties: Properties | None = None,
        *,
        qos: int = 1,
    ) -> None:
        """Publish (and wait for the PUBACK at QoS 1); mappings and lists go out as JSON."""
        client = self._require_client()
        await client.publish(
            topic, encode_payload(payload), qos=qos, retain=retain, properties=properties
        )

    async def request(
        self,
        topic: str,
        payload: Payload = None,
        response_topic: str | None = None,
        timeout: float = 5.0,
        *,
        correlation_data: bytes | None = None,
        settle: Callable[[], Awaitable[object]] | None = None,
    ) -> ProbeMessage:
        """Publish a request and return its response.

        ``response_topic`` defaults to the contract's ``…/response/<command>``. With MQTT 5 the
        request carries it as the response topic, plus correlation data (random unless given),
        and only an answer echoing that correlation data is accepted. With MQTT 3.1.1 the first
        message on the response topic after the request is the answer.

        With ``settle`` (a round trip through the responder that ends only after anything it
        still had to say about this request is said: see :func:`sentinel_round_trip`), the
        request must be answered EXACTLY once: a second answer fails the test.
        """
        answer_topic = response_topic or default_response_topic(topic)
        if not self.covers(answer_topic):
            await self.subscribe(answer_topic)
        properties: Properties | None = None
        predicate: Callable[[ProbeMessage], bool] | None = None
        if self.protocol == aiomqtt.ProtocolVersion.V5:
            correlation = correlation_data or uuid.uuid4().bytes
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.ResponseTopic = answer_topic
            properties.CorrelationData = correlation

            def predicate(message: ProbeMessage) -> bool:
                return message.correlation_data == correlation

        start = self.mark()
        await self.publish(topic, payload, properties=properties)
        answer = await self.wait_for(answer_topic, predicate, timeout, since=start)
        if settle is not None:
            await settle()
            self.assert_one(answer_topic, predicate, since=start)
        return answer

    def assert_one(
        self,
        topic_filter: str,
        predicate: Callable[[ProbeMessage], bool] | None = None,
        *,
        since: int = 0,
    ) -> ProbeMessage:
        """Exactly one message (from ``since`` on) on the filter matches: return it."""
        found = [
            m
            for m in self._messages[since:]
            if topic_matches(topic_filter, m.topic) and (predicate is None or predicate(m))
        ]
        assert len(found) == 1, f"expected exactly one message on {topic_filter!r}: {found}"
        return found[0]


async def sentinel_round_trip(probe: MqttProbe, base: str, timeout: float = 8.0) -> None:
    """Ask the bridge under ``base`` a cheap question and wait for its answer.

    The bridge reads its messages in order and answers on one connection, so once the answer
    to a sentinel sent after a request is here, a second answer to that request would be too
    (for a bridge whose requests run concurrently, wait until it is idle in between).
    """
    transaction = f"sentinel-{uuid.uuid4().hex}"
    topic = f"{base}/bridge/request/health_check"
    answer_topic = default_response_topic(topic)
    if not probe.covers(answer_topic):
        await probe.subscribe(answer_topic)
    start = probe.mark()
    await probe.publish(topic, {"transaction": transaction})
    await probe.wait_for(
        answer_topic,
        lambda m: bool(m.payload) and m.json().get("transaction") == transaction,
        timeout,
        since=start,
    )


# --------------------------------------------------------------------------- fixtures

_BROKERS_KEY = pytest.StashKey[list[MosquittoBroker]]()


@pytest.fixture(scope="session")
def mosquitto_binary() -> str:
    """The mosquitto binary; the test is skipped (with the reason) if it is not installed."""
    found = find_mosquitto()
    if found is None:
        pytest.skip("mosquitto not found on PATH or in /usr/sbin (apt-get install mosquitto)")
    return found


@pytest.fixture
def mosquitto_factory(
    request: pytest.FixtureRequest, tmp_path: Path, mosquitto_binary: str
) -> Iterator[Callable[..., MosquittoBroker]]:
    """Start brokers on demand: ``mosquitto_factory(persistence=True, users={"u": "pw"})``.

    Every broker started here is stopped after the test; its log tail joins a failure report.
    """
    brokers: list[MosquittoBroker] = []
    request.node.stash[_BROKERS_KEY] = brokers

    def start(
        *,
        persistence: bool = False,
        extra_config: Iterable[str] = (),
        port: int | None = None,
        users: Mapping[str, str] | None = None,
    ) -> MosquittoBroker:
        broker = MosquittoBroker(
            tmp_path / f"mosquitto-{len(brokers)}",
            binary=mosquitto_binary,
            port=port,
            persistence=persistence,
            extra_config=extra_config,
            users=users,
        )
        brokers.append(broker)
        broker.start()
        return broker

    yield start
    for broker in brokers:
        # SIGTERM takes up to ~100 ms (Mosquitto's loop tick); nothing needs saving now.
        broker.kill()


@pytest.fixture
async def mosquitto(mosquitto_factory: Callable[..., MosquittoBroker]) -> MosquittoBroker:
    """A fresh Mosquitto for this test on a free loopback port, ready for MQTT clients."""
    broker = mosquitto_factory()
    await broker.wait_ready()
    return broker


@pytest.fixture
def base_topic(request: pytest.FixtureRequest) -> str:
    """A topic root no other test uses, e.g. ``t_restart_reconnects_3f2a9c1b``."""
    name = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower()).strip("_")
    name = name.removeprefix("test_")[:32].strip("_")
    return f"t_{name}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def mqtt_probe(mosquitto: MosquittoBroker) -> AsyncIterator[MqttProbe]:
    """An MQTT 5 probe connected to ``mosquitto``, recording everything (``#``)."""
    async with MqttProbe(mosquitto.host, mosquitto.port) as probe:
        yield probe


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, append the tail of each broker's log the test started to the report."""
    report = yield
    if report.failed:
        for broker in item.stash.get(_BROKERS_KEY, []):
            report.sections.append(
                (f"mosquitto log ({broker.host}:{broker.port})", broker.log_tail())
            )
    return report
