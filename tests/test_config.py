"""The configuration file: every rule, every problem at once, secrets, redaction, YAML errors.

Pure tests: files in tmp_path, an explicit ``environ`` (never the real environment), no network.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
from config_files import MINIMAL, load, problems, write

from lianke_bridge import config as cfg
from lianke_bridge.bridge.discovery import box_node_id
from lianke_bridge.config import (
    POLL_FLOORS,
    REDACTED,
    Config,
    PollConfig,
    TlsConfig,
    check_config,
    load_config,
    mqtt_topics,
    paths,
    redacted,
    schema,
    validate_config,
    validators,
    yaml_source,
)
from lianke_bridge.errors import ConfigError
from lianke_bridge.print_options import PrintOptions
from lianke_bridge.simulator import demo_fleet

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.yaml"


def token(device_id: str, device_key: str, *, urlsafe: bool = False) -> str:
    """A QR token as the box's QR code holds it: base64 of ``id:key``."""
    raw = f"{device_id}:{device_key}".encode()
    return (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()


def raw_config(**sections: Any) -> dict[str, Any]:
    """A valid raw mapping (as YAML would give it), with some sections replaced."""
    raw: dict[str, Any] = {
        "lianke": {"api_key": "test-api-key-123"},
        "devices": [{"device_id": "LC01TEST0001", "device_key": "test-device-key-1"}],
    }
    raw.update(sections)
    return raw


def validate_problems(raw: Mapping[str, Any], **kwargs: Any) -> list[str]:
    """The lines of the ConfigError that validating ``raw`` must raise."""
    with pytest.raises(ConfigError) as caught:
        validate_config(raw, environ=kwargs.pop("environ", {}), **kwargs)
    return str(caught.value).splitlines()


# ---- the example file -----------------------------------------------------------------------
def test_example_config_is_valid_as_is() -> None:
    """config.example.yaml loads without a change: check-config passes on it."""
    config = load_config(EXAMPLE, environ={})
    assert [d.name for d in config.devices] == ["office", "warehouse"]
    assert config.lianke.base_url == "http://127.0.0.1:8080"
    ok, report = check_config(EXAMPLE, environ={})
    assert ok
    assert report == "OK: 2 devices (office, warehouse), broker localhost:1883, base topic lianke"


def test_example_config_points_at_the_simulators_demo_fleet() -> None:
    """The example's ApiKey and boxes (id + key, and the QR form) are the simulator's demo fleet."""
    config = load_config(EXAMPLE, environ={})
    fleet = demo_fleet()
    assert config.lianke.api_key == fleet.api_key
    boxes = {box.device_id: box.device_key for box in fleet.boxes}
    for device in config.devices:
        assert boxes[device.device_id] == device.device_key


# ---- defaults -----------------------------------------------------------------------------
def test_minimal_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    """Only the ApiKey and one box are required; everything else has its default."""
    config = load(tmp_path, MINIMAL)
    device = config.devices[0]
    assert device.name == "lc01test0001"
    assert device.poll == PollConfig()
    assert (device.default_port, device.printer_type, device.print_defaults) == (1, 3, {})
    assert config.lianke.base_url == cfg.DEFAULT_BASE_URL
    mqtt = config.mqtt
    assert (mqtt.host, mqtt.port, mqtt.protocol, mqtt.base_topic, mqtt.tls) == (
        "localhost",
        1883,
        "5",
        "lianke",
        None,
    )
    assert config.homeassistant.enabled
    assert config.homeassistant.discovery == "device"
    assert config.jobs.poll_interval == 10.0
    assert config.logging.level == "INFO"
    assert (config.http.enabled, config.http.host, config.http.port) == (False, "127.0.0.1", 9108)
    assert config.state_dir == tmp_path / "data"


def test_http_endpoint_settings(tmp_path: Path) -> None:
    """``http`` turns the endpoint on, on the host and port given; a bad port is named."""
    config = load(tmp_path, MINIMAL + "http:\n  enabled: true\n  host: ::1\n  port: 9200\n")
    assert (config.http.enabled, config.http.host, config.http.port) == (True, "::1", 9200)
    lines = problems(tmp_path, MINIMAL + "http:\n  enabled: yes\n  port: 70000\n")
    assert any("http.port" in line and "TCP port" in line for line in lines), lines


def test_empty_sections_mean_defaults(tmp_path: Path) -> None:
    """``mqtt:`` with nothing under it is the same as leaving it out."""
    config = load(tmp_path, MINIMAL + "mqtt:\nhomeassistant:\njobs:\nlogging:\n")
    assert config.mqtt.port == 1883
    assert config.homeassistant.prefix == "homeassistant"


def test_device_name_defaults_to_the_slugified_device_id(tmp_path: Path) -> None:
    """A device id with characters a topic should not hold becomes a clean slug."""
    text = MINIMAL.replace("LC01TEST0001", "LC01.Test 0001")
    assert problems(tmp_path, text) == [
        "line 4: devices[0].device_id: must be the box's device id, without spaces or ':'"
    ]
    config = load(tmp_path, MINIMAL.replace("LC01TEST0001", "LC01.Test+0001"))
    assert config.devices[0].name == "lc01_test_0001"


def test_device_name_and_node_id_follow_one_slug_rule(tmp_path: Path) -> None:
    """The default name and the Home Assistant node id are the same slug of the id (no edge '-')."""
    config = load(tmp_path, MINIMAL.replace("LC01TEST0001", "-LC01-Test-"))
    assert config.devices[0].name == "lc01-test"
    assert box_node_id("-LC01-Test-") == "lianke_lc01-test"


# ---- every problem at once ----------------------------------------------------------------
def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Nested, cross-field and top-level problems of several boxes all come in one error."""
    text = f"""\
lianke:
  api_key: test-api-key-123
  timeout: fast
devices:
  - device_id: LC01TEST0001
    device_key: test-device-key-1
    qr: {token("LC01TEST0001", "test-device-key-1")}
    poll:
      device_info: 5
  - device_id: LC01TEST0002
    device_key: test-device-key-2
    poll:
      printer_status: 10
      tasks: 2
    print_defaults:
      1: {{color: purple}}
  - name: Office
mqtt:
  port: 0
  protocol: 4
  base_topic: lianke/#
logging:
  level: loud
"""
    lines = problems(tmp_path, text)
    why = "(the cloud bans clients that poll faster)"
    assert lines == [
        "line 3: lianke.timeout: must be a number of seconds, or a duration like 90s, 5m or 1h",
        "line 7: devices[0].qr: give either qr or device_id + device_key, not both",
        f"line 9: devices[0].poll.device_info: must be at least 15 seconds {why}",
        f"line 13: devices[1].poll.printer_status: must be at least 30 seconds {why}",
        f"line 14: devices[1].poll.tasks: must be at least 20 seconds {why}",
        (
            "line 16: devices[1].print_defaults.1.color: must be one of mono, color; "
            "got the string 'purple'"
        ),
        (
            "line 17: devices[2].name: must use only lower-case letters, digits, '_' and '-' "
            "(it becomes part of MQTT topics)"
        ),
        (
            "line 17: devices[2]: needs credentials: device_id + device_key, "
            "or qr (the link from the box's QR code)"
        ),
        "line 19: mqtt.port: must be a port number from 1 to 65535",
        "line 20: mqtt.protocol: must be 5 (MQTT 5, the default) or 3.1.1 (MQTT 3.1.1)",
        (
            "line 21: mqtt.base_topic: must not contain the wildcards + or # "
            "(nothing can be published there)"
        ),
        "line 23: logging.level: must be DEBUG, INFO, WARNING or ERROR",
    ]


def test_raw_data_problems_carry_paths_but_no_lines() -> None:
    """validate_config on parsed data names each problem by its path."""
    raw = raw_config(jobs={"poll_interval": 1, "retention": -5})
    assert validate_problems(raw) == [
        "jobs.poll_interval: must be at least 5 seconds (the cloud bans clients that poll faster)",
        "jobs.retention: must be at least 0 seconds",
    ]


def test_missing_required_sections(tmp_path: Path) -> None:
    """An empty file says what is required, not a traceback."""
    assert problems(tmp_path, "") == ["devices: is required", "lianke: is required"]
    assert problems(tmp_path, "# nothing yet\n") == ["devices: is required", "lianke: is required"]


def test_devices_must_be_a_non_empty_list(tmp_path: Path) -> None:
    """A bridge needs at least one box, given as a list."""
    base = "lianke: {api_key: k}\n"
    assert problems(tmp_path, base + "devices: []\n") == ["line 2: devices: needs at least 1 box"]
    assert problems(tmp_path, base + "devices: {device_id: x}\n") == [
        "line 2: devices: must be a list (one '- ' entry per item)"
    ]
    assert problems(tmp_path, base + "devices:\n  - just-a-string\n") == [
        "line 3: devices[0]: must be a mapping (indented 'key: value' lines)"
    ]


def test_unknown_options_are_named_with_a_suggestion(tmp_path: Path) -> None:
    """A typo is reported as such, with the option it probably meant."""
    text = MINIMAL + "    devce_key_file: /x\nmqtt:\n  hots: broker\n  colour_scheme: dark\n"
    assert problems(tmp_path, text) == [
        "line 6: devices[0].devce_key_file: is not an option (did you mean device_key_file?)",
        "line 8: mqtt.hots: is not an option (did you mean host?)",
        "line 9: mqtt.colour_scheme: is not an option",
    ]


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    """YAML silently keeps the last of two equal keys; the loader says so instead."""
    text = MINIMAL + "mqtt:\n  host: a\n  host: b\n"
    assert problems(tmp_path, text) == [
        "line 8: 'host' is given twice in the same section (first on line 7); remove one"
    ]


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    """``<<: *anchor`` followed by an override is ordinary YAML, not a mistake."""
    text = """\
lianke: {api_key: k}
devices:
  - {device_id: A1, device_key: k1, poll: &slow {device_info: 600, tasks: 600}}
  - {device_id: A2, device_key: k2, poll: {<<: *slow, tasks: 120}}
"""
    polls = [device.poll for device in load(tmp_path, text).devices]
    assert [(p.device_info, p.tasks) for p in polls] == [(600.0, 600.0), (600.0, 120.0)]


# ---- poll floors and durations --------------------------------------------------------------
@pytest.mark.parametrize(("name", "floor"), sorted(POLL_FLOORS.items()))
def test_poll_floors(tmp_path: Path, name: str, floor: float) -> None:
    """Each poll interval has a floor that keeps the bridge within the cloud's limits."""
    at_floor = load(tmp_path, MINIMAL + f"    poll: {{{name}: {floor:g}}}\n")
    assert getattr(at_floor.devices[0].poll, name) == floor
    assert problems(tmp_path, MINIMAL + f"    poll: {{{name}: {floor - 1:g}}}\n") == [
        (
            f"line 6: devices[0].poll.{name}: must be at least {floor:g} seconds "
            "(the cloud bans clients that poll faster)"
        )
    ]


def test_poll_defaults_respect_the_floors() -> None:
    """The dataclass defaults are themselves allowed values."""
    for name, floor in POLL_FLOORS.items():
        assert getattr(PollConfig(), name) >= floor


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("90", 90.0), (90, 90.0), ("90s", 90.0), ("5m", 300.0), ("2 min", 120.0), ("1h", 3600.0)],
)
def test_durations_take_units(tmp_path: Path, written: object, seconds: float) -> None:
    """Durations are seconds, or text with s, m, h or d."""
    config = load(tmp_path, MINIMAL + f"    poll: {{printer_list: {written}}}\n")
    assert config.devices[0].poll.printer_list == seconds


def test_job_options(tmp_path: Path) -> None:
    """Job polling has a floor of 5 s; sizes take KB/MB; retention takes durations."""
    config = load(
        tmp_path, MINIMAL + "jobs: {poll_interval: 5, retention: 2d, max_file_bytes: 5MB}"
    )
    assert config.jobs.poll_interval == 5.0
    assert config.jobs.retention == 2 * 86400.0
    assert config.jobs.max_file_bytes == 5 * 1024 * 1024
    assert problems(tmp_path, MINIMAL + "jobs: {max_file_bytes: 1GB}\n") == [
        "line 6: jobs.max_file_bytes: must be a size in bytes, or like 512KB or 20MB"
    ]


# ---- devices ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Office", "must use only lower-case letters, digits, '_' and '-'"),
        ("my office", "must use only lower-case letters, digits, '_' and '-'"),
        ("bridge", "'bridge' is reserved for the bridge's own topics; choose another name"),
    ],
)
def test_device_names_must_be_slugs(tmp_path: Path, name: str, message: str) -> None:
    """A device name goes into topics: a slug, and not the reserved ``bridge``."""
    lines = problems(tmp_path, MINIMAL + f"    name: {name}\n")
    assert len(lines) == 1
    assert lines[0].startswith(f"line 6: devices[0].name: {message}")


def test_device_names_and_boxes_are_unique(tmp_path: Path) -> None:
    """Two boxes cannot share a name, and one box cannot be configured twice."""
    text = """\
lianke: {api_key: k}
devices:
  - {name: office, device_id: A1, device_key: k1}
  - {name: office, device_id: A2, device_key: k2}
  - {name: shop, device_id: A1, device_key: k1}
  - {device_id: office, device_key: k3}
"""
    assert problems(tmp_path, text) == [
        "line 4: devices[1].name: 'office' is already the name of devices[0]",
        "line 5: devices[2].device_id: this box is already devices[0]",
        (
            "line 6: devices[3].device_id: this box's default name 'office' is already the name "
            "of devices[0]; give it a name"
        ),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("    - {device_id: A1}", "devices[0].device_key: is required with device_id"),
        ("    - {device_key: k1}", "devices[0].device_id: is required with device_key"),
        ("    - {name: shop}", "devices[0]: needs credentials: device_id + device_key, or qr"),
    ],
)
def test_device_credentials_are_complete(tmp_path: Path, lines: str, message: str) -> None:
    """A box needs both halves of its credentials, or its QR link."""
    result = problems(tmp_path, f"lianke: {{api_key: k}}\ndevices:\n{lines}\n")
    assert len(result) == 1
    assert message in result[0]


@pytest.mark.parametrize(
    "qr",
    [
        f"https://cloud.liankenet.com/qr?token={token('LC01QR0001', 'qr-key/1+x')}",
        token("LC01QR0001", "qr-key/1+x"),
        token("LC01QR0001", "qr-key/1+x", urlsafe=True).rstrip("="),
    ],
)
def test_qr_link_or_token_gives_the_credentials(tmp_path: Path, qr: str) -> None:
    """``qr:`` takes the link from the box's QR code, or the bare token, in place of id + key."""
    config = load(tmp_path, f"lianke: {{api_key: k}}\ndevices:\n  - qr: '{qr}'\n")
    device = config.devices[0]
    assert (device.name, device.device_id, device.device_key) == (
        "lc01qr0001",
        "LC01QR0001",
        "qr-key/1+x",
    )


def test_bad_qr_is_explained_without_repeating_it(tmp_path: Path) -> None:
    """A QR link without a token says so, and never echoes the link (it holds the key)."""
    link = "https://cloud.liankenet.com/qr?id=SECRETSECRET"
    lines = problems(tmp_path, f"lianke: {{api_key: k}}\ndevices:\n  - qr: '{link}'\n")
    assert len(lines) == 1
    assert lines[0].startswith("line 3: devices[0].qr: the QR link has no token parameter")
    assert "SECRETSECRET" not in "\n".join(lines)


def test_device_options(tmp_path: Path) -> None:
    """default_port, printer_type (number or word) and poll intervals per box."""
    text = MINIMAL + "    default_port: 2\n    printer_type: network\n    poll: {tasks: 5m}\n"
    device = load(tmp_path, text).devices[0]
    assert (device.default_port, device.printer_type, device.poll.tasks) == (2, 2, 300.0)
    assert problems(tmp_path, MINIMAL + "    printer_type: 4\n") == [
        (
            "line 6: devices[0].printer_type: "
            "must be 1 (USB printers), 2 (network printers) or 3 (both)"
        )
    ]


def test_print_defaults_use_the_print_commands_words(tmp_path: Path) -> None:
    """Per-port defaults take the ``print`` command's options; YAML's bare ``off`` is fine."""
    text = (
        MINIMAL
        + """\
    print_defaults:
      1: {paper: A4, color: mono, duplex: off, orientation: landscape, scale: 80%, copies: 2,
          align: center, auto_rotate: true, reverse: false}
      "2":
        scale: fitw
"""
    )
    defaults = load(tmp_path, text).devices[0].print_defaults
    assert set(defaults) == {1, 2}
    assert defaults[1] == PrintOptions(
        paper="A4",
        color="mono",
        duplex="off",
        orientation="landscape",
        scale="80%",
        copies=2,
        align="z5",
        auto_rotate=True,
        reverse=False,
    )
    assert defaults[2] == PrintOptions(scale="fitw")


def test_bad_print_defaults_are_all_reported(tmp_path: Path) -> None:
    """Each bad option and each bad port is named by its path."""
    text = (
        MINIMAL
        + """\
    print_defaults:
      1:
        duplex: sideways
        copies: 0
        colr: mono
      usb: {paper: A4}
"""
    )
    assert problems(tmp_path, text) == [
        (
            "line 8: devices[0].print_defaults.1.duplex: must be one of off, long, short; "
            "got the string 'sideways'"
        ),
        (
            "line 9: devices[0].print_defaults.1.copies: must be a whole number from 1 to 999; "
            "got the number 0"
        ),
        "line 10: devices[0].print_defaults.1.colr: is not an option (did you mean color?)",
        "line 11: devices[0].print_defaults.usb: is not a port number (1, 2, … as the box reports)",
    ]


# ---- MQTT -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "protocol"),
    [("5", "5"), ("'5'", "5"), ("311", "3.1.1"), ("'3.1.1'", "3.1.1"), ("3.1.1", "3.1.1")],
)
def test_mqtt_protocol_spellings(tmp_path: Path, written: str, protocol: str) -> None:
    """MQTT 5 or 3.1.1, however it is written."""
    assert load(tmp_path, MINIMAL + f"mqtt: {{protocol: {written}}}\n").mqtt.protocol == protocol


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("lianke/+", "must not contain the wildcards + or #"),
        ("'#'", "must not contain the wildcards + or #"),
        ("/lianke", "must not start or end with '/'"),
        ("lianke/", "must not start or end with '/'"),
        ("a//b", "must not contain an empty level ('//')"),
        ("''", "must not be empty"),
    ],
)
def test_base_topic_must_be_a_publish_topic_root(tmp_path: Path, topic: str, message: str) -> None:
    """The topic root takes no wildcards and no leading or trailing slash."""
    lines = problems(tmp_path, MINIMAL + f"mqtt: {{base_topic: {topic}}}\n")
    assert len(lines) == 1
    assert lines[0].startswith(f"line 6: mqtt.base_topic: {message}")


DOLLAR = "must not start with '$'"


@pytest.mark.parametrize(
    ("section", "key", "topic"),
    [
        ("mqtt", "base_topic", "$SYS/x"),
        ("mqtt", "base_topic", "$share/group/lianke"),
        ("homeassistant", "prefix", "$SYS"),
        ("homeassistant", "status_topic", "$SYS/broker/status"),
    ],
)
def test_a_dollar_topic_is_refused(tmp_path: Path, section: str, key: str, topic: str) -> None:
    """$ topics belong to the broker, which drops what a client publishes there: refused."""
    lines = problems(tmp_path, MINIMAL + f"{section}: {{{key}: '{topic}'}}\n")
    assert len(lines) == 1
    assert lines[0].startswith(f"line 6: {section}.{key}: {DOLLAR} ({topic!r})")


@pytest.mark.parametrize("key", ["base_topic", "prefix"])
@pytest.mark.parametrize(("topic", "message"), [("a\\0b", "control characters"), ("a/#", "+ or #")])
def test_a_topic_root_takes_no_nul_or_wildcard(
    tmp_path: Path, key: str, topic: str, message: str
) -> None:
    """NUL, + and # are refused in both topic roots (MQTT forbids them in a published topic)."""
    section = "mqtt" if key == "base_topic" else "homeassistant"
    lines = problems(tmp_path, MINIMAL + f'{section}: {{{key}: "{topic}"}}\n')
    assert len(lines) == 1
    assert f"{section}.{key}: " in lines[0]
    assert message in lines[0]


@pytest.mark.parametrize("topic", ["$SYS/x", "a/+/b", "a//b"])
def test_the_base_topic_from_the_environment_is_checked_the_same(
    tmp_path: Path, topic: str
) -> None:
    """MQTT_BASE_TOPIC goes through the same rules as the file's mqtt.base_topic."""
    lines = problems(tmp_path, MINIMAL, environ={"MQTT_BASE_TOPIC": topic})
    assert len(lines) == 1
    assert lines[0].startswith("mqtt.base_topic (from MQTT_BASE_TOPIC): must not")


def test_topic_validators() -> None:
    """valid_publish_topic refuses wildcards; valid_subscribe_topic places them correctly."""
    assert mqtt_topics.valid_publish_topic("home/lianke/office") == "home/lianke/office"
    assert mqtt_topics.valid_subscribe_topic("lianke/+/state") == "lianke/+/state"
    assert mqtt_topics.valid_subscribe_topic("lianke/#") == "lianke/#"
    for bad in ("lianke/#/x", "lianke/a+", "x#"):
        with pytest.raises(vol.Invalid):
            mqtt_topics.valid_subscribe_topic(bad)
    with pytest.raises(vol.Invalid):
        mqtt_topics.valid_publish_topic("a\x01b")


def test_mqtt_options(tmp_path: Path) -> None:
    """Every MQTT option lands in MqttConfig."""
    text = (
        MINIMAL
        + """\
mqtt:
  host: broker.lan
  port: 1884
  username: bridge
  password: mqtt-pass-987
  client_id: printers
  keepalive: 30
  base_topic: home/printers
"""
    )
    mqtt = load(tmp_path, text).mqtt
    assert (mqtt.host, mqtt.port, mqtt.username, mqtt.password) == (
        "broker.lan",
        1884,
        "bridge",
        "mqtt-pass-987",
    )
    assert (mqtt.client_id, mqtt.keepalive, mqtt.base_topic) == ("printers", 30, "home/printers")


def test_mqtt_host_is_only_a_host(tmp_path: Path) -> None:
    """A URL or host:port in host is explained."""
    assert problems(tmp_path, MINIMAL + "mqtt: {host: 'mqtt://broker'}\n") == [
        "line 6: mqtt.host: must be a host name or IP address, without a scheme like mqtt://"
    ]
    assert problems(tmp_path, MINIMAL + "mqtt: {host: 'broker:1883'}\n") == [
        "line 6: mqtt.host: must be a host name or IP address; put the port under port"
    ]
    assert load(tmp_path, MINIMAL + "mqtt: {host: '::1'}\n").mqtt.host == "::1"


def test_mqtt_password_needs_a_username(tmp_path: Path) -> None:
    """MQTT sends no password without a user name."""
    assert problems(tmp_path, MINIMAL + "mqtt: {password: pw}\n") == [
        "line 6: mqtt.password: needs username too (MQTT sends no password without one)"
    ]


def test_tls_files_relative_to_the_config_file(tmp_path: Path) -> None:
    """TLS file paths are checked and read relative to the configuration file; port 8883."""
    for name in ("ca.crt", "client.crt", "client.key"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    text = MINIMAL + "mqtt:\n  tls: {ca_certs: ca.crt, certfile: client.crt, keyfile: client.key}\n"
    mqtt = load(tmp_path, text).mqtt
    assert mqtt.tls == TlsConfig(
        ca_certs=tmp_path / "ca.crt",
        certfile=tmp_path / "client.crt",
        keyfile=tmp_path / "client.key",
    )
    assert mqtt.port == 8883


def test_tls_true_uses_the_system_cas(tmp_path: Path) -> None:
    """``tls: true`` turns TLS on with no files; an explicit port wins over 8883."""
    mqtt = load(tmp_path, MINIMAL + "mqtt: {tls: true, port: 8884}\n").mqtt
    assert mqtt.tls == TlsConfig()
    assert mqtt.port == 8884


def test_tls_problems(tmp_path: Path) -> None:
    """Missing files and a certificate without its key are all reported."""
    text = MINIMAL + "mqtt:\n  tls:\n    ca_certs: nothere.crt\n    certfile: client.crt\n"
    (tmp_path / "client.crt").write_text("x", encoding="utf-8")
    assert problems(tmp_path, text) == [
        "line 7: mqtt.tls.keyfile: is required with certfile",
        f"line 8: mqtt.tls.ca_certs: there is no file {tmp_path / 'nothere.crt'}",
    ]


# ---- Home Assistant, logging, state ---------------------------------------------------------
def test_homeassistant_options(tmp_path: Path) -> None:
    """Discovery can be entity-based, moved to another prefix, or off."""
    text = MINIMAL + "homeassistant: {enabled: no, prefix: ha, discovery: entity}\n"
    ha = load(tmp_path, text).homeassistant
    assert (ha.enabled, ha.prefix, ha.discovery) == (False, "ha", "entity")
    assert problems(tmp_path, MINIMAL + "homeassistant: {discovery: both}\n") == [
        "line 6: homeassistant.discovery: must be device or entity"
    ]


@pytest.mark.parametrize(
    ("written", "language"), [("zh-Hans", "zh-Hans"), ("zh-CN", "zh-Hans"), ("EN", "en")]
)
def test_homeassistant_language(tmp_path: Path, written: str, language: str) -> None:
    """Names in English (the default) or Simplified Chinese; other languages are refused."""
    assert load(tmp_path, MINIMAL).homeassistant.language == "en"
    text = MINIMAL + f"homeassistant: {{language: {written}}}\n"
    assert load(tmp_path, text).homeassistant.language == language
    assert problems(tmp_path, MINIMAL + "homeassistant: {language: fr}\n") == [
        "line 6: homeassistant.language: must be en (English) or zh-Hans (Simplified Chinese)"
    ]


@pytest.mark.parametrize(("written", "level"), [("debug", "DEBUG"), ("Warning", "WARNING")])
def test_log_level_in_any_case(tmp_path: Path, written: str, level: str) -> None:
    """Log levels are case-insensitive and stored in upper case."""
    config = load(tmp_path, MINIMAL + f"logging: {{level: {written}, format: json}}\n")
    assert (config.logging.level, config.logging.format) == (level, "json")


def test_state_dir_must_be_a_folder(tmp_path: Path) -> None:
    """state_dir is relative to the config file and may not be an existing file."""
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    assert problems(tmp_path, MINIMAL + "state_dir: taken\n") == [
        f"line 6: state_dir: {tmp_path / 'taken'} exists and is not a folder"
    ]
    assert load(tmp_path, MINIMAL + "state_dir: /var/lib/lianke\n").state_dir == Path(
        "/var/lib/lianke"
    )


# ---- secrets --------------------------------------------------------------------------------
def test_secret_tag_reads_secrets_yaml(tmp_path: Path) -> None:
    """``!secret name`` takes the value from secrets.yaml beside the config file."""
    write(tmp_path, "api: from-secrets-yaml\nbox1: key-from-secrets\n", "secrets.yaml")
    text = MINIMAL.replace("test-api-key-123", "!secret api").replace(
        "test-device-key-1", "!secret box1"
    )
    config = load(tmp_path, text)
    assert config.lianke.api_key == "from-secrets-yaml"
    assert config.devices[0].device_key == "key-from-secrets"


def test_secret_tag_problems_are_clear(tmp_path: Path) -> None:
    """A missing secrets.yaml or entry is named with its line, without a second complaint."""
    text = MINIMAL.replace("test-api-key-123", "!secret api")
    assert problems(tmp_path, text) == [
        (
            "line 2: lianke.api_key: !secret api: there is no secrets.yaml beside config.yaml "
            f"(looked for {tmp_path / 'secrets.yaml'})"
        )
    ]
    write(tmp_path, "other: x\n", "secrets.yaml")
    assert problems(tmp_path, text) == [
        "line 2: lianke.api_key: !secret api: secrets.yaml has no entry 'api'"
    ]
    write(tmp_path, "other: [x\n", "secrets.yaml")
    (line,) = problems(tmp_path, text)
    assert line.startswith("line 2: lianke.api_key: !secret api: ")
    assert "secrets.yaml is not valid YAML: line 2, column 1" in line


def test_env_tag(tmp_path: Path) -> None:
    """``!env VAR`` reads the environment; ``!env VAR default`` falls back; unset is reported."""
    text = MINIMAL.replace("test-api-key-123", "!env MY_KEY") + "mqtt: {host: !env BROKER mqtt}\n"
    config = load(tmp_path, text, {"MY_KEY": "key-from-env"})
    assert (config.lianke.api_key, config.mqtt.host) == ("key-from-env", "mqtt")
    assert problems(tmp_path, text, {"MY_KEY": ""}) == [
        "line 2: lianke.api_key: !env MY_KEY: the environment variable is not set"
    ]


def test_secret_file_siblings(tmp_path: Path) -> None:
    """``<key>_file`` reads a secret from a file (Docker secrets), stripped of its newline."""
    secrets = tmp_path / "run"
    secrets.mkdir()
    for name, value in {
        "api": "file-api-key",
        "box": "file-box-key",
        "mqtt": "file-mqtt-pw",
    }.items():
        (secrets / name).write_text(f"{value}\n", encoding="utf-8")
    qr = token("LC01QR0002", "file-qr-key")
    (secrets / "qr").write_text(qr, encoding="utf-8")
    text = f"""\
lianke:
  api_key_file: {secrets / "api"}
devices:
  - device_id: A1
    device_key_file: run/box
  - qr_file: run/qr
mqtt:
  username: bridge
  password_file: run/mqtt
"""
    config = load(tmp_path, text)
    assert config.lianke.api_key == "file-api-key"
    assert config.devices[0].device_key == "file-box-key"
    assert (config.devices[1].device_id, config.devices[1].device_key) == (
        "LC01QR0002",
        "file-qr-key",
    )
    assert config.mqtt.password == "file-mqtt-pw"


def test_secret_file_problems(tmp_path: Path) -> None:
    """A missing or empty secret file, or a key given twice, is reported per key."""
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    text = """\
lianke:
  api_key_file: /nonexistent/lianke-api-key
devices:
  - device_id: A1
    device_key: k1
    device_key_file: empty
  - device_id: A2
    device_key_file: empty
"""
    assert problems(tmp_path, text) == [
        "line 2: lianke.api_key_file: there is no file /nonexistent/lianke-api-key",
        "line 6: devices[0].device_key_file: give device_key or device_key_file, not both",
        f"line 8: devices[1].device_key_file: {tmp_path / 'empty'} is empty",
    ]


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    """LIANKE_API_KEY and MQTT_* win over the file: the usual Docker setup."""
    text = MINIMAL + "mqtt: {host: file-host, port: 1883}\n"
    environ = {
        "LIANKE_API_KEY": "env-api-key",
        "MQTT_HOST": "env-host",
        "MQTT_PORT": "1884",
        "MQTT_USERNAME": "env-user",
        "MQTT_PASSWORD": "env-password",
        "MQTT_ANYTHING_ELSE": "ignored",
    }
    config = load(tmp_path, text, environ)
    assert config.lianke.api_key == "env-api-key"
    mqtt = config.mqtt
    assert (mqtt.host, mqtt.port, mqtt.username, mqtt.password) == (
        "env-host",
        1884,
        "env-user",
        "env-password",
    )


def test_environment_file_variables(tmp_path: Path) -> None:
    """``<VAR>_FILE`` reads the value from a file; an empty variable counts as unset."""
    (tmp_path / "pw").write_text("pw-from-file\n", encoding="utf-8")
    environ = {"MQTT_USERNAME": "u", "MQTT_PASSWORD_FILE": str(tmp_path / "pw"), "MQTT_HOST": ""}
    mqtt = load(tmp_path, MINIMAL, environ).mqtt
    assert (mqtt.host, mqtt.password) == ("localhost", "pw-from-file")


def test_environment_problems_name_the_variable(tmp_path: Path) -> None:
    """A bad value from the environment is blamed on the variable, not on a line of the file."""
    environ = {
        "MQTT_PORT": "eighty",
        "LIANKE_API_KEY": "a",
        "LIANKE_API_KEY_FILE": "/x",
        "MQTT_USERNAME_FILE": "/nonexistent/user",
    }
    assert problems(tmp_path, MINIMAL, environ) == [
        "LIANKE_API_KEY: set LIANKE_API_KEY or LIANKE_API_KEY_FILE, not both",
        "MQTT_USERNAME_FILE: there is no file /nonexistent/user",
        "mqtt.port (from MQTT_PORT): must be a port number from 1 to 65535",
    ]


def test_environment_fills_a_missing_section() -> None:
    """With LIANKE_API_KEY set, the file needs no lianke section at all."""
    raw = raw_config()
    del raw["lianke"]
    config = validate_config(raw, environ={"LIANKE_API_KEY": "env-key"})
    assert config.lianke.api_key == "env-key"


# ---- redaction ------------------------------------------------------------------------------
SECRETS = ("api-secret-111", "box-secret-222", "mqtt-secret-333", "qr-secret-444")


def secret_config(tmp_path: Path) -> Config:
    """A configuration holding each kind of secret."""
    text = f"""\
lianke: {{api_key: {SECRETS[0]}}}
devices:
  - {{device_id: A1, device_key: {SECRETS[1]}}}
  - qr: {token("A2", SECRETS[3])}
mqtt: {{username: bridge, password: {SECRETS[2]}}}
"""
    return load(tmp_path, text)


def test_secrets_never_appear_in_repr_or_str(tmp_path: Path) -> None:
    """Printing or logging a Config object shows no secret."""
    config = secret_config(tmp_path)
    assert config.devices[1].device_key == SECRETS[3]
    for shown in (repr(config), str(config), repr(config.devices), str(config.mqtt)):
        for value in SECRETS:
            assert value not in shown


def test_redacted_masks_every_secret(tmp_path: Path) -> None:
    """redacted() is safe to log: JSON-ready, secrets masked, everything else kept."""
    data = redacted(secret_config(tmp_path))
    text = json.dumps(data)
    for value in SECRETS:
        assert value not in text
    assert data["lianke"]["api_key"] == REDACTED
    assert [d["device_key"] for d in data["devices"]] == [REDACTED, REDACTED]
    assert data["mqtt"]["password"] == REDACTED
    assert data["mqtt"]["username"] == "bridge"
    assert data["devices"][1]["device_id"] == "A2"


def test_unset_secret_is_not_shown_as_redacted(tmp_path: Path) -> None:
    """No password configured reads as None, so the log does not suggest one is set."""
    assert redacted(load(tmp_path, MINIMAL))["mqtt"]["password"] is None


def test_problems_never_quote_secrets(tmp_path: Path) -> None:
    """Problems in and around secret values name the key, never the value."""
    text = """\
lianke: {api_key: [api-secret-111]}
devices:
  - {device_id: "A1 box-secret-222", device_key: {nested: box-secret-223}}
mqtt: {password: mqtt-secret-333}
"""
    message = "\n".join(problems(tmp_path, text))
    for value in ("api-secret-111", "box-secret-222", "box-secret-223", "mqtt-secret-333"):
        assert value not in message
    assert "lianke.api_key: must be text" in message
    assert "devices[0].device_key: must be text" in message


def test_yaml_errors_do_not_quote_the_line(tmp_path: Path) -> None:
    """A syntax error on a line holding a secret gives the position, not the line's text."""
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "lianke:\n  api_key: top-secret: value\n")
    message = str(caught.value)
    assert "top-secret" not in message
    assert message == (
        f"{tmp_path / 'config.yaml'} is not valid YAML: "
        "line 2, column 22: mapping values are not allowed here"
    )


# ---- the file itself ------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a ConfigError saying where it looked."""
    with pytest.raises(ConfigError, match=r"there is no file .*nope\.yaml"):
        load_config(tmp_path / "nope.yaml", environ={})
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path, environ={})


def test_yaml_syntax_errors_have_line_numbers(tmp_path: Path) -> None:
    """Broken YAML is a ConfigError with the line and column, never a traceback."""
    with pytest.raises(ConfigError, match=r"line 3, column 8: expected ',' or ']', but got ':'"):
        load(tmp_path, "lianke:\n  api_key: [unclosed\ndevices: []\n")
    with pytest.raises(ConfigError, match="could not determine a constructor for the tag '!nope'"):
        load(tmp_path, "lianke: !nope x\n")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(binary, environ={})


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    """A list or a bare word at the top is explained."""
    with pytest.raises(ConfigError, match=r"must hold a mapping of options .* not a list"):
        load(tmp_path, "- a\n- b\n")
    with pytest.raises(ConfigError, match=r"must hold a mapping of options .* not a single value"):
        load(tmp_path, "lianke\n")


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    """check-config answers False and every problem under a heading with their count."""
    path = write(tmp_path, MINIMAL + "mqtt: {port: 0, keepalive: 1}\n")
    ok, report = check_config(path, environ={})
    assert not ok
    assert report.splitlines() == [
        f"{path}: 2 problems",
        "  line 6: mqtt.keepalive: must be a number of seconds from 5 to 65535",
        "  line 6: mqtt.port: must be a port number from 1 to 65535",
    ]


def test_check_config_summary_names_the_devices_and_broker(tmp_path: Path) -> None:
    """The OK line says how many boxes, which, the broker and the topic root."""
    path = write(tmp_path, MINIMAL + "mqtt: {host: '::1', base_topic: home/printers}\n")
    assert check_config(path, environ={}) == (
        True,
        "OK: 1 device (lc01test0001), broker [::1]:1883, base topic home/printers",
    )


def test_validate_config_does_not_change_its_input() -> None:
    """validate_config works on a copy: the caller's mapping is left as it was."""
    raw = raw_config(mqtt={"port": "1884"})
    before = json.dumps(raw, sort_keys=True)
    assert validate_config(raw, environ={"MQTT_HOST": "h"}).mqtt.port == 1884
    assert json.dumps(raw, sort_keys=True) == before


def test_empty_values_are_reported_once(tmp_path: Path) -> None:
    """An empty ``device_key:`` or ``qr:`` is one problem, not also "missing credentials"."""
    text = "lianke: {api_key: k}\ndevices:\n  - device_id: A\n    device_key:\n  - qr:\n"
    assert problems(tmp_path, text) == [
        "line 4: devices[0].device_key: must not be empty",
        "line 5: devices[1].qr: must be the link from the box's QR code, or the token inside it",
    ]


def test_reserved_default_name_asks_for_a_name(tmp_path: Path) -> None:
    """A box whose id is literally "bridge" must be given another name."""
    lines = problems(
        tmp_path, "lianke: {api_key: k}\ndevices:\n  - {device_id: Bridge, device_key: k}\n"
    )
    assert len(lines) == 1
    assert lines[0].startswith("line 3: devices[0]: needs a name: the default one is reserved")


def test_secret_file_named_by_a_failing_tag(tmp_path: Path) -> None:
    """``api_key_file: !env VAR`` with VAR unset is reported once, at api_key_file."""
    text = MINIMAL.replace("api_key: test-api-key-123", "api_key_file: !env KEY_PATH")
    assert problems(tmp_path, text) == [
        "line 2: lianke.api_key_file: !env KEY_PATH: the environment variable is not set"
    ]


@pytest.mark.parametrize(
    ("secrets_yaml", "message"),
    [
        ("", "is empty"),
        ("- a\n- b\n", "must be a mapping of 'name: value' lines"),
    ],
)
def test_unusable_secrets_yaml(tmp_path: Path, secrets_yaml: str, message: str) -> None:
    """An empty or list-shaped secrets.yaml is named as the reason."""
    write(tmp_path, secrets_yaml, "secrets.yaml")
    (line,) = problems(tmp_path, MINIMAL.replace("test-api-key-123", "!secret api"))
    assert line == f"line 2: lianke.api_key: !secret api: {tmp_path / 'secrets.yaml'} {message}"


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("!secret ''", "!secret needs the name of an entry in secrets.yaml"),
        ("!env ''", "!env needs the name of an environment variable"),
    ],
)
def test_tags_need_a_name(tmp_path: Path, tag: str, message: str) -> None:
    """``!secret`` and ``!env`` without a name say so."""
    assert problems(tmp_path, MINIMAL.replace("test-api-key-123", tag)) == [
        f"line 2: lianke.api_key: {message}"
    ]


def test_secret_tag_needs_a_file() -> None:
    """Parsed data has no file beside which secrets.yaml could be: validate_config says so."""
    loader = yaml_source._Loader("api_key: !secret api", path=None, environ={})
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    assert "!secret needs a configuration file" in data["api_key"].message


def test_unhashable_key_is_a_yaml_error(tmp_path: Path) -> None:
    """A list used as a key is a ConfigError with its position."""
    with pytest.raises(ConfigError, match=r"line 1, column 3: found a key that is not text"):
        load(tmp_path, "? [a, b]\n: x\n")


@pytest.mark.parametrize(
    ("validator", "value", "message"),
    [
        (validators.seconds(1, 10), 11, "must be at most 10 seconds"),
        (validators.integer(1, 3), True, "must be a whole number from 1 to 3"),
        (validators.integer(1, 3), "2", None),
        (
            validators.positive_number(10, "calls per second"),
            0,
            "must be a number of calls per second above 0",
        ),
        (
            validators.positive_number(10, "calls per second"),
            11,
            "must be at most 10 calls per second",
        ),
        (validators.byte_size(1024, 2048), 100, "must be from 1 KiB to 2 KiB"),
        (validators.boolean, "yes", None),
        (validators.boolean, "maybe", "must be true or false"),
        (validators.text, 1234, None),
        (validators.text, "  ", "must not be empty"),
        (validators.text, ["x"], "must be text"),
        (mqtt_topics.valid_topic, 5, "must be an MQTT topic (text)"),
        (mqtt_topics.valid_topic, "x" * 70000, "is longer than MQTT allows (65535 bytes)"),
        (validators.host, "my broker", "must be a host name or IP address"),
        (validators.http_url, "http://host:99999", "must be an http:// or https:// URL"),
        (validators.http_url, 42, "must be an http:// or https:// URL"),
        (validators.http_url, "https://x.example/api/", None),
        (paths.existing_file, "", "must be the path of a file"),
        (paths.directory, 3, "must be the path of a folder"),
        (
            schema.tls,
            "yes please",
            "must be true, false, or a mapping with ca_certs, certfile, keyfile",
        ),
        (
            schema.port_map(schema.section(schema.PRINT_OPTIONS_SCHEMA)),
            [1],
            "must map port numbers",
        ),
    ],
)
def test_small_validators(validator: Any, value: object, message: str | None) -> None:
    """Each validator accepts what it should and explains what it refuses."""
    if message is None:
        validator(value)
        return
    with pytest.raises(vol.Invalid) as caught:
        validator(value)
    assert str(caught.value.msg).startswith(message)


def test_key_without_certificate(tmp_path: Path) -> None:
    """A TLS key without its certificate is reported at certfile."""
    (tmp_path / "client.key").write_text("x", encoding="utf-8")
    assert problems(tmp_path, MINIMAL + "mqtt: {tls: {keyfile: client.key, insecure: true}}\n") == [
        "line 6: mqtt.tls.certfile: is required with keyfile"
    ]


# ---- strict numbers ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("mqtt: {port: '\u0661\u0668\u0668\u0663'}", "mqtt.port: must be a port number"),
        (
            "jobs: {poll_interval: '\u0669\u0660s'}",
            "jobs.poll_interval: must be a number of seconds",
        ),
        (
            "jobs: {max_file_bytes: '\u0662\u0660MB'}",
            "jobs.max_file_bytes: must be a size in bytes",
        ),
    ],
)
def test_numbers_in_other_scripts_are_refused(tmp_path: Path, line: str, problem: str) -> None:
    """Only ASCII digits are numbers: int() and float() would read Arabic-Indic ones too."""
    assert [problem in p for p in problems(tmp_path, MINIMAL + line + "\n")] == [True]


def test_print_defaults_pages_are_bounded(tmp_path: Path) -> None:
    """A default page range is bounded like a request's."""
    text = MINIMAL + "    print_defaults: {1: {pages: '1-99999'}}\n"
    assert problems(tmp_path, text) == [
        (
            "line 6: devices[0].print_defaults.1.pages: "
            "'1-99999' goes beyond page 9999, the highest page number"
        )
    ]


def test_refusal_retry_is_a_long_interval(tmp_path: Path) -> None:
    """lianke.refusal_retry: 15 min by default, a duration of at least a minute."""
    assert load(tmp_path, MINIMAL).lianke.refusal_retry == 900
    longer = MINIMAL.replace("  api_key: test-api-key-123", "  api_key: k\n  refusal_retry: 1h")
    assert load(tmp_path, longer).lianke.refusal_retry == 3600
    eager = MINIMAL.replace("  api_key: test-api-key-123", "  api_key: k\n  refusal_retry: 5s")
    assert any("refusal_retry" in line for line in problems(tmp_path, eager))
