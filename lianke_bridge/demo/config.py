"""The demo's configuration and its first screen: what to subscribe to, what to paste.

The demo shares its broker with whatever else uses it (on a Pi, often the real bridge and Home
Assistant), so it keeps to itself: its own topic root (``lianke-demo``, or ``lianke-demo-2``…
while another demo holds that one), a client id of its own for every run (a fixed one would
kick another demo, or a real bridge with that id, off the broker), no session left on the
broker, a state directory of its own, and no Home Assistant discovery unless asked for: what it
would announce comes and goes with the demo, and a demo that is killed leaves it behind.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Literal

import aiomqtt

from lianke_bridge.config import (
    Config,
    DeviceConfig,
    HomeAssistantConfig,
    JobsConfig,
    LiankeConfig,
    MqttConfig,
    PollConfig,
)
from lianke_bridge.simulator import Fleet

_LOGGER = logging.getLogger(__name__)

DEMO_NAMES = ("office", "warehouse", "spare")
"""Friendly ``<dev>`` names for the demo fleet's boxes, in order."""

DEMO_BASE_TOPIC = "lianke-demo"
"""The demo's topic root: never a real bridge's (``lianke`` by default) on the same broker."""
CHECK_TIMEOUT = 5.0
"""Seconds the look for other demos on the broker may take (it is a few milliseconds)."""

DEMO_POLL = PollConfig(device_info=15.0, printer_list=60.0, printer_status=30.0, tasks=20.0)
"""The fastest polling the configuration allows: a demo should move."""


def demo_config(
    fleet: Fleet,
    *,
    api_url: str,
    broker_host: str,
    broker_port: int,
    protocol: Literal["5", "3.1.1"],
    state_dir: Path,
    base_topic: str = DEMO_BASE_TOPIC,
    homeassistant: bool = False,
) -> Config:
    """A configuration for the simulator's fleet on the given broker, apart from anything else.

    The client id is new for every run and the session is not kept (``session_expiry`` 0):
    runs with their own ids would otherwise each leave a session on the broker for a day.
    """
    devices = tuple(
        DeviceConfig(
            name=DEMO_NAMES[i] if i < len(DEMO_NAMES) else box.device_id.lower(),
            device_id=box.device_id,
            device_key=box.device_key,
            poll=DEMO_POLL,
        )
        for i, box in enumerate(fleet.boxes)
    )
    return Config(
        lianke=LiankeConfig(api_key=fleet.api_key, base_url=api_url),
        devices=devices,
        mqtt=MqttConfig(
            host=broker_host,
            port=broker_port,
            protocol=protocol,
            base_topic=base_topic,
            client_id=f"{base_topic}-{uuid.uuid4().hex[:8]}",
            session_expiry=0,
        ),
        homeassistant=HomeAssistantConfig(enabled=homeassistant),
        jobs=JobsConfig(poll_interval=2.0),
        state_dir=state_dir,
    )


async def free_base_topic(host: str, port: int, protocol: Literal["5", "3.1.1"]) -> str:
    """``lianke-demo``, or the first of ``lianke-demo-2``, ``-3``… that no running demo holds.

    A topic root is held while its ``bridge/state`` is retained ``online`` (a demo that died
    says ``offline`` through its will). The retained states come after the SUBACK, and a
    message sent to itself afterwards comes back behind them: no fixed wait. A broker that
    does not allow the look gets ``lianke-demo``.
    """
    token = uuid.uuid4().hex[:8]
    sentinel = f"{DEMO_BASE_TOPIC}-check/{token}"
    held: set[str] = set()
    version = aiomqtt.ProtocolVersion.V5 if protocol == "5" else aiomqtt.ProtocolVersion.V311
    client = aiomqtt.Client(
        host, port, identifier=f"{DEMO_BASE_TOPIC}-check-{token}", protocol=version
    )
    try:
        async with client:
            await client.subscribe("+/bridge/state", qos=1)
            await client.subscribe(sentinel, qos=1)
            await client.publish(sentinel, token, qos=1)
            async with asyncio.timeout(CHECK_TIMEOUT):
                async for message in client.messages:
                    topic = message.topic.value
                    if topic == sentinel:
                        break
                    if message.payload in (b"online", "online"):
                        held.add(topic.partition("/")[0])
    except (aiomqtt.MqttError, TimeoutError) as err:
        _LOGGER.debug("could not look for other demos on the broker: %s", err)
    base, number = DEMO_BASE_TOPIC, 1
    while base in held:
        number += 1
        base = f"{DEMO_BASE_TOPIC}-{number}"
    return base


def instructions(config: Config, broker_kind: str) -> str:
    """What the demo prints once everything is up."""
    mqtt = config.mqtt
    base = mqtt.base_topic
    first = config.devices[0].name
    where = f"-h {mqtt.host} -p {mqtt.port}"
    started = {
        "existing": "using the MQTT broker already running at",
        "mosquitto": "started mosquitto at",
        "embedded": "started the embedded broker (MQTT 3.1.1) at",
    }.get(broker_kind, "broker at")
    devices = ", ".join(d.name for d in config.devices)
    prefix = config.homeassistant.prefix
    home_assistant = (
        f"Home Assistant on this broker discovers the boxes ({prefix}/…); they leave on Ctrl-C."
        if config.homeassistant.enabled
        else "Home Assistant is left alone (with --homeassistant it discovers the boxes)."
    )
    return f"""
lianke-bridge demo: a simulated Lianke cloud with boxes {devices}
{started} {mqtt.host}:{mqtt.port}

Watch everything (in another terminal):
  mosquitto_sub {where} -t '{base}/#' -v

Print a document on {first}'s laser printer (USB port 1):
  mosquitto_pub {where} -q 1 -t '{base}/{first}/request/print' \\
    -m '{{"url": "https://example.com/menu.pdf", "paper": "A4"}}'
The answer comes on {base}/{first}/response/print; the job then goes from queued to succeeded
on {base}/{first}/job/<task_id> (about 5 s).

Print a shopping list as a page on the receipt printer (port 2):
  mosquitto_pub {where} -q 1 -t '{base}/{first}/request/print' \\
    -m '{{"text": "- milk\\n- bread\\n- coffee", "port": 2}}'

Other commands: cancel, flush, reboot, reset_error_limit, refresh, tasks, printer_params…
(see docs/commands.md).
{home_assistant}
Ctrl-C stops everything and empties what the demo retained ({base}/bridge/state: offline).
"""
