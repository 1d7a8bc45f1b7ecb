"""Find or start an MQTT broker for ``lianke-bridge demo``.

``ensure_broker()`` uses, in order: a broker that already answers MQTT at host:port; a
``mosquitto`` started on that port (or on a free one if the port is taken by something that is
not MQTT); the embedded pure-Python broker (amqtt, the ``demo`` extra, MQTT 3.1.1 only).
``LIANKE_DEMO_BROKER=embedded`` (or ``mosquitto``, ``existing``, a comma-separated list) limits
the choice. The bridge itself never starts a broker: this is for the demo only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self, cast, get_args

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from lianke_bridge.errors import BrokerError

_LOGGER = logging.getLogger(__name__)

BrokerKind = Literal["existing", "mosquitto", "embedded"]
MqttProtocol = Literal["5", "3.1.1"]

BROKER_KINDS: tuple[BrokerKind, ...] = get_args(BrokerKind)
"""Every kind, in the order ``ensure_broker`` tries them by default."""
READY = "ready"
"""What the embedded broker's process prints once it listens."""
ENV_BROKER_KINDS = "LIANKE_DEMO_BROKER"
"""Environment variable limiting the kinds tried, e.g. ``embedded`` or ``existing,mosquitto``."""

CHECK_TIMEOUT = 1.0
"""Seconds an MQTT CONNECT to an existing broker may take before the port counts as not MQTT."""
START_TIMEOUT = 5.0
"""Seconds a started mosquitto gets to answer MQTT."""
MESSAGE_SIZE_LIMIT = 27 * 1024 * 1024
"""The largest message the demo's Mosquitto passes on: the largest print request (a 20 MiB file
in base64 with its fields, 26.7 MiB), as docker/mosquitto/mosquitto.conf."""
_RETRY_DELAY = 0.02
_MOSQUITTO_PATHS = (
    "/usr/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
    "/opt/homebrew/sbin/mosquitto",
)
_UNSUPPORTED_PROTOCOL = 132  # MQTT 5 reason code; paho maps the 3.1.1 CONNACK code 1 to it


@dataclass(slots=True)
class RunningBroker:
    """A broker the demo can connect to, and how to let go of it."""

    host: str
    port: int
    protocol: MqttProtocol
    """The MQTT version to connect with: ``"3.1.1"`` for the embedded broker."""
    kind: BrokerKind
    """``existing`` (found, left running on stop), ``mosquitto`` or ``embedded`` (started here)."""
    log_path: Path | None = None
    """The started mosquitto's log, while it runs."""
    _stop: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    async def stop(self) -> None:
        """Stop the broker if this process started it; an existing broker is left alone."""
        stop, self._stop = self._stop, None
        if stop is not None:
            await stop()
            _LOGGER.info("Stopped the %s broker on %s:%s", self.kind, self.host, self.port)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def mqtt_protocol_at(
    host: str,
    port: int,
    *,
    check_timeout: float = CHECK_TIMEOUT,
    username: str | None = None,
    password: str | None = None,
) -> MqttProtocol | None:
    """Return the MQTT version a broker at host:port accepts (5 preferred), or None.

    A real CONNECT/CONNACK, not a TCP connect: a port held by another service is not a broker.
    A broker that refuses the credentials counts as none (the demo cannot use it).
    """
    versions: tuple[tuple[aiomqtt.ProtocolVersion, MqttProtocol], ...] = (
        (aiomqtt.ProtocolVersion.V5, "5"),
        (aiomqtt.ProtocolVersion.V311, "3.1.1"),
    )
    for version, label in versions:
        client = aiomqtt.Client(
            host,
            port,
            username=username,
            password=password,
            identifier=f"lianke-check-{uuid.uuid4().hex[:8]}",
            protocol=version,
            timeout=check_timeout,
        )
        try:
            async with client:
                return label
        except MqttConnectError as err:
            if err.rc == _UNSUPPORTED_PROTOCOL:
                continue
            _LOGGER.info("The MQTT broker at %s:%s refused the connection: %s", host, port, err)
            return None
        except aiomqtt.MqttError as err:
            _LOGGER.debug("No MQTT broker at %s:%s: %s", host, port, err)
            _abandon(client)
            return None
    return None


def _abandon(client: aiomqtt.Client) -> None:
    """Close the socket of a CONNECT that got no CONNACK.

    aiomqtt 2.5 leaves it open (with a task servicing it) when the CONNACK times out; paho's
    disconnect() closes it, which also ends that task. Harmless when no socket was opened.
    """
    client._client.disconnect()  # noqa: SLF001 - no public way to reach paho here


def find_mosquitto() -> str | None:
    """Return the mosquitto binary on PATH or in the usual sbin directories, or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((path for path in _MOSQUITTO_PATHS if os.access(path, os.X_OK)), None)


def port_is_free(host: str, port: int) -> bool:
    """Whether a listener could bind host:port now (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str) -> int:
    """A port on host that nothing listens on (chosen by the OS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _kinds_from_env() -> tuple[BrokerKind, ...]:
    raw = os.environ.get(ENV_BROKER_KINDS, "").strip()
    if not raw or raw == "auto":
        return BROKER_KINDS
    kinds = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [kind for kind in kinds if kind not in BROKER_KINDS]
    if unknown:
        raise BrokerError(
            f"{ENV_BROKER_KINDS}={raw!r}: unknown broker kind {unknown[0]!r} "
            f"(use {', '.join(BROKER_KINDS)} or auto)"
        )
    return cast("tuple[BrokerKind, ...]", kinds)


async def ensure_broker(
    host: str = "127.0.0.1",
    port: int = 1883,
    *,
    kinds: Sequence[BrokerKind] | None = None,
    mosquitto_binary: str | None = None,
    username: str | None = None,
    password: str | None = None,
    check_timeout: float = CHECK_TIMEOUT,
) -> RunningBroker:
    """Return a broker for the demo: an existing one, a started mosquitto, or the embedded one.

    ``kinds`` (default: ``$LIANKE_DEMO_BROKER`` or all three) are tried in the given order.
    ``mosquitto_binary`` overrides the lookup on PATH and in /usr/sbin. ``port=0`` picks a free
    port for a started broker. Raises BrokerError saying what was tried.
    """
    tried: list[str] = []
    chosen = tuple(kinds) if kinds is not None else _kinds_from_env()
    for kind in chosen:
        if kind == "existing":
            found = await _existing(host, port, username, password, check_timeout)
            if found is not None:
                return found
            tried.append(f"no MQTT broker answered at {host}:{port}")
        elif kind == "mosquitto":
            binary = mosquitto_binary or find_mosquitto()
            if binary is None or not os.access(binary, os.X_OK):
                tried.append(f"mosquitto not found ({binary or 'not on PATH or in /usr/sbin'})")
                continue
            try:
                return await _start_mosquitto(binary, host, _listen_port(host, port))
            except BrokerError as err:
                _LOGGER.warning("%s", err)
                tried.append(str(err).splitlines()[0])
        elif kind == "embedded":
            try:
                return await _start_embedded(host, _listen_port(host, port))
            except BrokerError as err:
                tried.append(str(err))
        else:
            raise BrokerError(f"unknown broker kind {kind!r} (use {', '.join(BROKER_KINDS)})")
    raise BrokerError("no MQTT broker for the demo: " + "; ".join(tried or ["nothing to try"]))


async def _existing(
    host: str, port: int, username: str | None, password: str | None, check_timeout: float
) -> RunningBroker | None:
    if port == 0:
        return None
    protocol = await mqtt_protocol_at(
        host, port, check_timeout=check_timeout, username=username, password=password
    )
    if protocol is None:
        return None
    _LOGGER.info("Using the MQTT broker already running at %s:%s (MQTT %s)", host, port, protocol)
    return RunningBroker(host, port, protocol, "existing")


def _listen_port(host: str, port: int) -> int:
    """The requested port if it is free, else a free one (1883 may hold something else)."""
    if port != 0 and port_is_free(host, port):
        return port
    chosen = free_port(host)
    if port != 0:
        _LOGGER.info(
            "Port %s on %s is taken by something that is not MQTT; using %s", port, host, chosen
        )
    return chosen


def _mosquitto_config(host: str, port: int, log_path: Path) -> str:
    lines = [
        f"listener {port} {host}",
        "allow_anonymous true",
        "persistence false",
        "set_tcp_nodelay true",  # else every request waits ~40 ms (Nagle, delayed ACK)
        f"message_size_limit {MESSAGE_SIZE_LIMIT}",
        f"log_dest file {log_path}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
    ]
    if os.geteuid() == 0:
        # As root, mosquitto would switch to the `mosquitto` user, who cannot write our log.
        lines.append("user root")
    return "\n".join(lines) + "\n"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def _start_mosquitto(binary: str, host: str, port: int) -> RunningBroker:
    workdir = Path(tempfile.mkdtemp(prefix="lianke-mosquitto-"))
    config_path = workdir / "mosquitto.conf"
    log_path = workdir / "mosquitto.log"
    config_path.write_text(_mosquitto_config(host, port, log_path), encoding="utf-8")
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            binary,
            "-c",
            str(config_path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops mosquitto last
        )

    async def stop() -> None:
        try:
            await _end_process(process)
        finally:  # a second Ctrl-C while waiting still removes the temporary folder
            shutil.rmtree(workdir, ignore_errors=True)

    try:
        protocol = await _wait_for_mosquitto(process, host, port)
    except BrokerError as err:
        detail = _tail(log_path)
        await stop()
        raise BrokerError(f"{err}\n{detail}".rstrip()) from None
    except BaseException:
        await stop()
        raise
    _LOGGER.info("Started mosquitto on %s:%s (log: %s)", host, port, log_path)
    return RunningBroker(host, port, protocol, "mosquitto", log_path, stop)


async def _wait_for_mosquitto(
    process: asyncio.subprocess.Process, host: str, port: int
) -> MqttProtocol:
    # mosquitto has no readiness signal: retry an MQTT CONNECT until it answers, exits, or the
    # deadline passes (no asyncio.timeout around the check: cancelling aiomqtt's CONNECT midway
    # would leave its socket behind). It is usually ready within a few milliseconds.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while True:
        if process.returncode is not None:
            raise BrokerError(f"mosquitto exited with code {process.returncode} on {host}:{port}")
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise BrokerError(
                f"mosquitto did not answer MQTT on {host}:{port} within {START_TIMEOUT}s"
            )
        protocol = await mqtt_protocol_at(host, port, check_timeout=min(remaining, CHECK_TIMEOUT))
        if protocol is not None:
            return protocol
        await asyncio.sleep(_RETRY_DELAY)


def _embedded_config(host: str, port: int) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        # Only anonymous access: no packet logger, no $SYS publisher.
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def _end_process(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        async with asyncio.timeout(START_TIMEOUT):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def _start_embedded(host: str, port: int) -> RunningBroker:
    """Amqtt in a child process of its own.

    In-process, amqtt's shutdown can hang for good on Python 3.11 (its reader loop loses a
    cancellation inside ``asyncio.wait_for``); a child process always stops on SIGTERM.
    """
    try:
        import amqtt.broker  # noqa: F401, PLC0415 - only to say what is missing before starting
    except ImportError as err:
        raise BrokerError(
            "the embedded broker needs amqtt: pip install 'lianke-bridge[demo]' "
            "(or install mosquitto)"
        ) from err
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lianke_bridge.demo.broker",
        host,
        str(port),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches the demo only; it stops the broker last
    )
    assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
    try:
        async with asyncio.timeout(START_TIMEOUT):
            answer = (await process.stdout.readline()).decode(errors="replace").strip()
    except BaseException:
        await _end_process(process)
        raise
    if answer != READY:
        await _end_process(process)
        reason = answer.removeprefix("error: ") or f"it exited with code {process.returncode}"
        raise BrokerError(f"the embedded broker could not start on {host}:{port}: {reason}")
    _LOGGER.info("Started the embedded MQTT broker on %s:%s (MQTT 3.1.1 only)", host, port)

    async def stop() -> None:
        await _end_process(process)

    return RunningBroker(host, port, "3.1.1", "embedded", None, stop)


async def _serve_embedded(host: str, port: int) -> None:
    """The child process: run amqtt until terminated; say ``ready`` or ``error: …`` first."""
    from amqtt.broker import Broker  # noqa: PLC0415 - optional, only for the demo
    from amqtt.errors import BrokerError as AmqttBrokerError  # noqa: PLC0415

    broker = Broker(_embedded_config(host, port))
    try:
        await broker.start()
    except AmqttBrokerError as err:  # amqtt wraps every start failure (e.g. port in use) in it
        print(f"error: {err}", flush=True)  # noqa: T201 - the parent reads this line
        return
    print(READY, flush=True)  # noqa: T201 - the parent reads this line
    await asyncio.Event().wait()


if __name__ == "__main__":  # the embedded broker's own process (see _start_embedded)
    asyncio.run(_serve_embedded(sys.argv[1], int(sys.argv[2])))
