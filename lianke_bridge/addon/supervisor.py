"""The Supervisor's description of the MQTT broker: ``GET /services/mqtt``.

A Home Assistant add-on declared with ``services: [mqtt:need]`` may ask the Supervisor which
broker the installation has (the Mosquitto broker add-on registers itself there, with a user
made for add-ons). The answer holds the broker's host, port, whether it takes TLS, and the
user name and password: the add-on needs no broker settings of its own.

The Supervisor's address is ``http://supervisor`` inside an add-on's container; the
``SUPERVISOR_URL`` environment variable replaces it (tests point it at a stand-in). The token
is the ``SUPERVISOR_TOKEN`` the Supervisor gives every add-on. Neither the token nor the
password ever appears in a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from lianke_bridge.errors import SupervisorError, SupervisorWaitError

_LOGGER = logging.getLogger(__name__)

SUPERVISOR_URL = "http://supervisor"
"""Where an add-on reaches the Supervisor's API."""
URL_VARIABLE = "SUPERVISOR_URL"
TOKEN_VARIABLE = "SUPERVISOR_TOKEN"  # noqa: S105 - the variable's name
REQUEST_TIMEOUT = 10.0
"""Seconds for one question to the Supervisor."""
RETRY_FIRST = 1.0
RETRY_MAX = 30.0
"""Seconds between two questions while the broker is not there yet (doubling up to this)."""


@dataclass(frozen=True)
class MqttService:
    """The broker as the Supervisor describes it."""

    host: str
    port: int
    ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    protocol: str = "3.1.1"
    """What the provider declares; the Supervisor's schema knows only 3.1 and 3.1.1."""

    @classmethod
    def from_api(cls, data: Any) -> MqttService:
        """The ``data`` of the Supervisor's answer; SupervisorError when it is not one."""
        if not isinstance(data, Mapping):
            raise SupervisorError("the Supervisor's MQTT service answer holds no broker")
        host, port = data.get("host"), data.get("port")
        if not isinstance(host, str) or not host.strip():
            raise SupervisorError("the Supervisor's MQTT service names no broker host")
        if isinstance(port, bool) or not isinstance(port, int | str) or not str(port).isdigit():
            raise SupervisorError("the Supervisor's MQTT service names no broker port")
        username, password = data.get("username"), data.get("password")
        return cls(
            host=host.strip(),
            port=int(port),
            ssl=data.get("ssl") is True,
            username=username if isinstance(username, str) and username else None,
            password=password if isinstance(password, str) and password else None,
            protocol=str(data.get("protocol") or "3.1.1"),
        )

    def describe(self) -> str:
        """For the log: where, as whom, TLS or not (never the password)."""
        who = f"user {self.username}" if self.username else "no user name"
        return f"{self.host}:{self.port} ({who}, TLS {'on' if self.ssl else 'off'})"


async def fetch_mqtt_service(
    environ: Mapping[str, str], session: aiohttp.ClientSession | None = None
) -> MqttService:
    """Ask the Supervisor once.

    Raises SupervisorWaitError when asking again later may help (no broker registered yet, the
    Supervisor unreachable or busy), SupervisorError when it will not.
    """
    token = environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise SupervisorError(
            f"{TOKEN_VARIABLE} is not set: only the Home Assistant Supervisor can describe "
            "its MQTT broker; elsewhere give mqtt.host in the options or config.yaml"
        )
    base = (environ.get(URL_VARIABLE) or SUPERVISOR_URL).rstrip("/")
    url = f"{base}/services/mqtt"
    owned = session is None
    client = aiohttp.ClientSession() if session is None else session
    try:
        async with (
            asyncio.timeout(REQUEST_TIMEOUT),
            client.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
        ):
            status = response.status
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError) as err:
        raise SupervisorWaitError(
            f"the Supervisor at {base} cannot be reached ({type(err).__name__})"
        ) from err
    finally:
        if owned:
            await client.close()
    return _service_of(status, text, base)


def _service_of(status: int, text: str, base: str) -> MqttService:
    """The broker out of one answer, or the error that says what it means."""
    if status in {401, 403}:
        raise SupervisorError(
            f"the Supervisor refused the add-on's question for its MQTT broker (HTTP {status}: "
            "its SUPERVISOR_TOKEN was not accepted)"
        )
    if status >= 500:  # noqa: PLR2004 - HTTP's server errors
        raise SupervisorWaitError(f"the Supervisor at {base} answered HTTP {status}")
    try:
        body = json.loads(text)
    except ValueError as err:
        raise SupervisorError(f"the Supervisor at {base} did not answer with JSON") from err
    if status != 200 or not isinstance(body, Mapping) or body.get("result") != "ok":  # noqa: PLR2004
        message = body.get("message") if isinstance(body, Mapping) else None
        said = f" (the Supervisor: {message})" if isinstance(message, str) and message else ""
        raise SupervisorWaitError(
            "Home Assistant has no MQTT broker yet: install and start the Mosquitto broker "
            f"add-on, or give the broker's host in the add-on's options{said}"
        )
    return MqttService.from_api(body.get("data"))


async def wait_for_mqtt_service(
    ask: Callable[[], Awaitable[MqttService]],
    *,
    first_delay: float = RETRY_FIRST,
    max_delay: float = RETRY_MAX,
) -> MqttService:
    """Ask until the Supervisor describes a broker; SupervisorError stops at once.

    The first wait is logged at WARNING, the next ones at DEBUG, the broker's arrival at INFO.
    """
    delay = first_delay
    waited = False
    while True:
        try:
            service = await ask()
        except SupervisorWaitError as err:
            _LOGGER.log(
                logging.DEBUG if waited else logging.WARNING, "%s; asking again shortly", err
            )
            waited = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        if waited:
            _LOGGER.info("the Supervisor now describes an MQTT broker")
        return service
