"""Configuration of the persistent MQTT session: the expiry and a client id stable across starts.

Pure tests: files in tmp_path, an explicit ``environ``, no network.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from config_files import MINIMAL, write

from lianke_bridge.bridge.mqtt.session import session_options
from lianke_bridge.config import (
    DEFAULT_SESSION_EXPIRY,
    MqttConfig,
    load_config,
)
from lianke_bridge.errors import ConfigError

PACKET = 1024 * 1024


# ---- the session ------------------------------------------------------------------------------
def test_session_defaults_are_persistent_and_stable(tmp_path: Path) -> None:
    """Without mqtt keys the bridge asks for a day-long session under a fixed client id."""
    mqtt = load_config(write(tmp_path, MINIMAL), environ={}).mqtt
    assert mqtt.session_expiry == DEFAULT_SESSION_EXPIRY == 86400
    assert mqtt.client_id == "lianke-bridge"
    again = load_config(write(tmp_path, MINIMAL), environ={}).mqtt
    assert again.client_id == mqtt.client_id


def test_client_id_follows_the_base_topic(tmp_path: Path) -> None:
    """Two bridges with different base topics never share (and steal) one session."""
    text = MINIMAL + "mqtt:\n  base_topic: shop/printers\n"
    assert load_config(write(tmp_path, text), environ={}).mqtt.client_id == (
        "lianke-bridge-shop-printers"
    )
    text = MINIMAL + "mqtt:\n  base_topic: shop/printers\n  client_id: front-desk\n"
    assert load_config(write(tmp_path, text), environ={}).mqtt.client_id == "front-desk"


def test_session_expiry_takes_durations(tmp_path: Path) -> None:
    """``session_expiry`` reads like the other durations; 0 means a clean start every time."""
    text = MINIMAL + "mqtt:\n  session_expiry: 2h\n"
    assert load_config(write(tmp_path, text), environ={}).mqtt.session_expiry == 7200
    text = MINIMAL + "mqtt:\n  session_expiry: 0\n"
    assert load_config(write(tmp_path, text), environ={}).mqtt.session_expiry == 0
    text = MINIMAL + "mqtt:\n  session_expiry: -5\n"
    with pytest.raises(ConfigError, match=r"line 7: mqtt\.session_expiry: must be at least 0"):
        load_config(write(tmp_path, text), environ={})


def options(**mqtt: Any) -> dict[str, Any]:
    """The session options of an MQTT configuration."""
    return session_options(MqttConfig(**mqtt), max_packet_size=PACKET)


def test_session_options_mqtt5() -> None:
    """MQTT 5: clean start off and the expiry interval in the CONNECT properties."""
    persistent = options(protocol="5", session_expiry=3600)
    assert persistent["clean_start"] is False
    assert persistent["properties"].SessionExpiryInterval == 3600
    assert options(protocol="5", session_expiry=0)["clean_start"] is True


def test_session_options_mqtt311() -> None:
    """MQTT 3.1.1 has no expiry: clean session off keeps the session."""
    assert options(protocol="3.1.1")["clean_session"] is False
    assert options(protocol="3.1.1", session_expiry=0)["clean_session"]


# ---- what the broker may send ----------------------------------------------------------------
def test_connect_says_how_much_the_broker_may_send(tmp_path: Path) -> None:
    """MQTT 5's CONNECT carries Receive Maximum and Maximum Packet Size from the configuration.

    By default: 20 requests, and packets of 28 MiB (a 20 MiB file is 26.7 MiB of base64 with
    its fields, in whole MiB, and one more); a smaller ``jobs.max_file_bytes`` shrinks it.
    """
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert (config.mqtt.receive_maximum, config.max_packet_size) == (20, 28 * 1024 * 1024)
    options = session_options(config.mqtt, max_packet_size=config.max_packet_size)
    assert options["properties"].ReceiveMaximum == 20
    assert options["properties"].MaximumPacketSize == 28 * 1024 * 1024
    text = MINIMAL + "mqtt:\n  receive_maximum: 5\njobs:\n  max_file_bytes: 5MB\n"
    config = load_config(write(tmp_path, text), environ={})
    assert (config.mqtt.receive_maximum, config.max_packet_size) == (5, 8 * 1024 * 1024)
    config = load_config(write(tmp_path, MINIMAL + "mqtt:\n  max_packet_size: 40MB\n"), environ={})
    assert config.max_packet_size == 40 * 1024 * 1024


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mqtt:\n  receive_maximum: 0\n", "receive_maximum: must be a number of requests from 1"),
        ("mqtt:\n  max_packet_size: 1KB\n", "max_packet_size: must be from 64 KiB to 256 MiB"),
        (
            "mqtt:\n  max_packet_size: 10MB\n",
            "max_packet_size: is 10 MiB, less than the largest print request",
        ),
    ],
)
def test_limits_that_cannot_work_are_refused(tmp_path: Path, text: str, says: str) -> None:
    """No requests at all, or a packet too small for the prints the bridge takes: refused."""
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_config(write(tmp_path, MINIMAL + text), environ={})
