"""The demo's configuration and its first screen: what to subscribe to, what to paste."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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

DEMO_NAMES = ("office", "warehouse", "spare")
"""Friendly ``<dev>`` names for the demo fleet's boxes, in order."""

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
) -> Config:
    """A configuration for the simulator's fleet on the given broker."""
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
            host=broker_host, port=broker_port, protocol=protocol, client_id="lianke-bridge-demo"
        ),
        homeassistant=HomeAssistantConfig(enabled=True),
        jobs=JobsConfig(poll_interval=2.0),
        state_dir=state_dir,
    )


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
(see README.md, "MQTT API"). Home Assistant on this broker discovers the boxes by itself.
Ctrl-C stops everything.
"""
