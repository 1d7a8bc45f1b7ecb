"""A broker the demo can connect to, and how to tell that one answers MQTT at a host and port.

A real CONNECT/CONNACK tells a broker from a port another service holds; free ports are found
for a broker the demo starts (``launch.py``). Which broker the demo takes is ``broker.py``'s.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

_LOGGER = logging.getLogger(__name__)

BrokerKind = Literal["existing", "mosquitto", "embedded"]
MqttProtocol = Literal["5", "3.1.1"]

CHECK_TIMEOUT = 1.0
"""Seconds an MQTT CONNECT to an existing broker may take before the port counts as not MQTT."""
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
