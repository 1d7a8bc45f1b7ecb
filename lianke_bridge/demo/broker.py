"""Find or start an MQTT broker for ``lianke-bridge demo``.

``ensure_broker()`` uses, in order: a broker that already answers MQTT at host:port; a
``mosquitto`` started on that port (or on a free one if the port is taken by something that is
not MQTT); the embedded pure-Python broker (amqtt, the ``demo`` extra, MQTT 3.1.1 only).
``LIANKE_DEMO_BROKER=embedded`` (or ``mosquitto``, ``existing``, a comma-separated list) limits
the choice. The bridge itself never starts a broker: this is for the demo only. How a broker is
asked is ``probe.py``'s, how one is started ``launch.py``'s.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from typing import cast, get_args

from lianke_bridge.demo.launch import start_embedded, start_mosquitto
from lianke_bridge.demo.probe import (
    CHECK_TIMEOUT,
    BrokerKind,
    RunningBroker,
    free_port,
    mqtt_protocol_at,
    port_is_free,
)
from lianke_bridge.errors import BrokerError

_LOGGER = logging.getLogger(__name__)

BROKER_KINDS: tuple[BrokerKind, ...] = get_args(BrokerKind)
"""Every kind, in the order ``ensure_broker`` tries them by default."""
ENV_BROKER_KINDS = "LIANKE_DEMO_BROKER"
"""Environment variable limiting the kinds tried, e.g. ``embedded`` or ``existing,mosquitto``."""
_MOSQUITTO_PATHS = (
    "/usr/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
    "/opt/homebrew/sbin/mosquitto",
)


def find_mosquitto() -> str | None:
    """Return the mosquitto binary on PATH or in the usual sbin directories, or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((path for path in _MOSQUITTO_PATHS if os.access(path, os.X_OK)), None)


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
                return await start_mosquitto(binary, host, _listen_port(host, port))
            except BrokerError as err:
                _LOGGER.warning("%s", err)
                tried.append(str(err).splitlines()[0])
        elif kind == "embedded":
            try:
                return await start_embedded(host, _listen_port(host, port))
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
