"""Configuration of the persistent MQTT session: the expiry and a client id stable across starts.

Pure tests: files in tmp_path, an explicit ``environ``, no network.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from config_files import MINIMAL, write

from lianke_bridge.bridge.mqtt_session import session_options
from lianke_bridge.config import (
    DEFAULT_SESSION_EXPIRY,
    MqttConfig,
    load_config,
)
from lianke_bridge.errors import ConfigError


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


def test_session_options_mqtt5() -> None:
    """MQTT 5: clean start off and the expiry interval in the CONNECT properties."""
    options = session_options(MqttConfig(protocol="5", session_expiry=3600))
    assert options["clean_start"] is False
    assert options["properties"].SessionExpiryInterval == 3600
    assert session_options(MqttConfig(protocol="5", session_expiry=0))["clean_start"] is True


def test_session_options_mqtt311() -> None:
    """MQTT 3.1.1 has no expiry: clean session off keeps the session."""
    assert session_options(MqttConfig(protocol="3.1.1"))["clean_session"] is False
    assert session_options(MqttConfig(protocol="3.1.1", session_expiry=0))["clean_session"]
