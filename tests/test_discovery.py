"""Home Assistant discovery payloads: checked against Home Assistant's rules and reviewed fixtures.

The rules below restate what Home Assistant's MQTT integration documents and validates (the
discovery topic pattern, required keys per platform, allowed device classes and units, entity
categories, the availability list, the ``default_entity_id`` format). Every payload the bridge
can send is checked against them, and compared with the fixtures in ``tests/fixtures/discovery``.
Set ``LIANKE_REGENERATE_FIXTURES=1`` to rewrite the fixtures after a deliberate change, then
review the diff.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from lianke_bridge import PROJECT_URL
from lianke_bridge.bridge import discovery
from lianke_bridge.bridge.discovery import (
    DiscoveryContext,
    DiscoveryMessage,
    box_discovery,
    bridge_discovery,
    discovery_topics,
    full_discovery,
    plan_discovery,
    printer_discovery,
    published_index,
    removal_messages,
)
from lianke_bridge.bridge.records.state import BoxState, JobRecord, PrinterState, PrinterStatusWord
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models import InkMarker
from lianke_bridge.config import (
    Config,
    DeviceConfig,
    HomeAssistantConfig,
    LiankeConfig,
    MqttConfig,
    PollConfig,
)

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "home-assistant.md"
REGENERATE = os.environ.get("LIANKE_REGENERATE_FIXTURES") == "1"

# ---- samples ------------------------------------------------------------------------------------
CTX = DiscoveryContext(sw_version="1.2.3")
OFFICE = DeviceConfig(name="office", device_id="lc01demo000001", device_key="demo-key-0001")
WAREHOUSE = DeviceConfig(name="warehouse", device_id="lc01demo000002", device_key="demo-key-0002")
NO_PROBLEMS = dict.fromkeys(
    ("paper_out", "paper_jam", "cover_open", "out_of_ink", "out_of_ribbon", "paused"), False
)

OFFICE_BOX = BoxState(
    online=True,
    queue=2,
    model="LK100W_A1",
    firmware="2.1.112",
    ip="192.168.7.150",
    expire_date="2026-08-25",
    usb_ports=3,
    printers=(1, 2, 631),
    online_state=codes.OnlineState.ONLINE,
)
WAREHOUSE_BOX = BoxState(
    online=True,
    model="LK200U_A1",
    firmware="2.1.98",
    ip="192.168.7.157",
    expire_date="2025-01-31",
    expired=True,
    usb_ports=2,
    printers=(1,),
    online_state=codes.OnlineState.ONLINE,
)
LASER = PrinterState(
    port=1,
    name="Kyocera MA2000w GX",
    model="Kyocera MA2000w GX",
    kind=codes.PrinterKind.LASER,
    supported=True,
    status=PrinterStatusWord.IDLE,
    problems=dict(NO_PROBLEMS),
    message=None,
    status_code="0",
    error_code=None,
    live_status=True,
    printer_id=611757,
    status_polled=True,
)
INKJET = PrinterState(
    port=codes.NETWORK_PRINTER_PORT,
    name="EPSON L6160 Series",
    model="EPSON L6160 Series",
    kind=codes.PrinterKind.INKJET,
    supported=True,
    status=PrinterStatusWord.IDLE,
    problems=dict(NO_PROBLEMS),
    message=None,
    status_code=None,
    error_code=None,
    live_status=False,
    printer_id=612554,
    ip="192.168.7.60",
    markers=(
        InkMarker("Black", 72, "#000000"),
        InkMarker("Cyan", 55, "#00FFFF"),
        InkMarker("Magenta", 61, "#FF00FF"),
        InkMarker("Yellow", 18, "#FFFF00"),
    ),
)
LABEL = PrinterState(
    port=1,
    name="TSC TTP-244 Pro",
    model="TSC TTP-244 Pro",
    kind=codes.PrinterKind.LABEL,
    supported=True,
    status=PrinterStatusWord.OUT_OF_RIBBON,
    problems={**NO_PROBLEMS, "out_of_ribbon": True},
    message="Ribbon end",
    status_code="4",
    error_code="ribbon",
    live_status=True,
    printer_id=613020,
    status_polled=True,
)

SAMPLES: dict[str, Callable[[DiscoveryContext], list[DiscoveryMessage]]] = {
    "bridge": bridge_discovery,
    "box_office": lambda ctx: box_discovery(ctx, OFFICE, OFFICE_BOX),
    "printer_usb_laser": lambda ctx: printer_discovery(ctx, OFFICE, LASER),
    "printer_network_inkjet": lambda ctx: printer_discovery(ctx, OFFICE, INKJET),
    "printer_label": lambda ctx: printer_discovery(ctx, WAREHOUSE, LABEL),
}
ENTITY_CTX = replace(CTX, mode="entity")


def fleet(ctx: DiscoveryContext) -> list[DiscoveryMessage]:
    """Everything a two-box bridge announces."""
    return full_discovery(
        ctx,
        [
            (OFFICE, OFFICE_BOX, [INKJET, LASER]),
            (WAREHOUSE, WAREHOUSE_BOX, [LABEL]),
        ],
    )


# ---- Home Assistant's rules ------------------------------------------------------------------
TOPIC_ID = r"[a-zA-Z0-9_-]+"
ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")
"""Home Assistant's ``valid_entity_id``."""

BINARY_SENSOR_CLASSES = frozenset(
    {
        "battery",
        "battery_charging",
        "carbon_monoxide",
        "cold",
        "connectivity",
        "door",
        "garage_door",
        "gas",
        "heat",
        "light",
        "lock",
        "moisture",
        "motion",
        "moving",
        "occupancy",
        "opening",
        "plug",
        "power",
        "presence",
        "problem",
        "running",
        "safety",
        "smoke",
        "sound",
        "tamper",
        "update",
        "vibration",
        "window",
    }
)
BUTTON_CLASSES = frozenset({"identify", "restart", "update"})
EVENT_CLASSES = frozenset({"button", "doorbell", "motion"})
NO_UNIT: frozenset[str] = frozenset()
ANY_UNIT = None
SENSOR_CLASSES: dict[str, frozenset[str] | None] = {
    # Non-numeric classes: no unit and no state_class (Home Assistant refuses both).
    "date": NO_UNIT,
    "enum": NO_UNIT,
    "timestamp": NO_UNIT,
    # Numeric classes with the units Home Assistant accepts for them (those we might use).
    "battery": frozenset({"%"}),
    "humidity": frozenset({"%"}),
    "moisture": frozenset({"%"}),
    "power_factor": frozenset({"%"}),
    "data_size": frozenset({"bit", "kbit", "Mbit", "B", "kB", "MB", "GB", "KiB", "MiB", "GiB"}),
    "duration": frozenset({"d", "h", "min", "s", "ms"}),
    "signal_strength": frozenset({"dB", "dBm"}),
    "temperature": frozenset({"°C", "°F", "K"}),
    # The rest of Home Assistant's sensor classes (units not checked here).
    **dict.fromkeys(
        (
            "apparent_power",
            "aqi",
            "area",
            "atmospheric_pressure",
            "blood_glucose_concentration",
            "carbon_dioxide",
            "carbon_monoxide",
            "conductivity",
            "current",
            "data_rate",
            "distance",
            "energy",
            "energy_distance",
            "energy_storage",
            "frequency",
            "gas",
            "illuminance",
            "irradiance",
            "monetary",
            "nitrogen_dioxide",
            "nitrogen_monoxide",
            "nitrous_oxide",
            "ozone",
            "ph",
            "pm1",
            "pm10",
            "pm25",
            "power",
            "precipitation",
            "precipitation_intensity",
            "pressure",
            "reactive_energy",
            "reactive_power",
            "sound_pressure",
            "speed",
            "sulphur_dioxide",
            "volatile_organic_compounds",
            "volatile_organic_compounds_parts",
            "voltage",
            "volume",
            "volume_flow_rate",
            "volume_storage",
            "water",
            "weight",
            "wind_direction",
            "wind_speed",
        ),
        ANY_UNIT,
    ),
}
NON_NUMERIC_SENSOR_CLASSES = frozenset({"date", "enum", "timestamp"})
STATE_CLASSES = frozenset({"measurement", "measurement_angle", "total", "total_increasing"})


def subscribe_topic(value: Any) -> str:
    """Home Assistant's ``valid_subscribe_topic``: wildcards only as whole levels."""
    topic = str(vol.Schema(vol.All(str, vol.Length(min=1, max=65535)))(value))
    for level in topic.split("/"):
        if ("+" in level or "#" in level) and level not in ("+", "#"):
            raise vol.Invalid(f"bad wildcard in {topic!r}")
    if "#" in topic and not topic.endswith("#"):
        raise vol.Invalid(f"# must be last in {topic!r}")
    return topic


def publish_topic(value: Any) -> str:
    """Home Assistant's ``valid_publish_topic``: no wildcards at all."""
    topic = subscribe_topic(value)
    if "+" in topic or "#" in topic:
        raise vol.Invalid(f"wildcard in publish topic {topic!r}")
    return topic


def template(value: Any) -> str:
    """A template Home Assistant's Jinja accepts (sandboxed; ``to_json`` as in HA)."""
    if not isinstance(value, str):
        raise vol.Invalid("a template is a string")
    try:
        JINJA.from_string(value)
    except TemplateSyntaxError as err:
        raise vol.Invalid(f"template does not compile: {err}") from err
    return value


def regex(value: Any) -> str:
    """A pattern that compiles."""
    try:
        re.compile(value)
    except (re.error, TypeError) as err:
        raise vol.Invalid(f"bad pattern: {err}") from err
    return str(value)


def http_url(value: Any) -> str:
    """An http(s) URL."""
    if not isinstance(value, str) or not re.match(r"^https?://\S+$", value):
        raise vol.Invalid("not an http(s) URL")
    return value


AVAILABILITY_ITEM = vol.Schema(
    {
        vol.Required("topic"): subscribe_topic,
        vol.Optional("payload_available"): str,
        vol.Optional("payload_not_available"): str,
        vol.Optional("value_template"): template,
    }
)
DEVICE_SCHEMA = vol.Schema(
    {
        vol.Required("identifiers"): vol.All([vol.Match(f"^{TOPIC_ID}$")], vol.Length(min=1)),
        vol.Required("name"): vol.All(str, vol.Length(min=1)),
        vol.Optional("manufacturer"): str,
        vol.Optional("model"): str,
        vol.Optional("model_id"): str,
        vol.Optional("sw_version"): str,
        vol.Optional("hw_version"): str,
        vol.Optional("serial_number"): str,
        vol.Optional("via_device"): str,
        vol.Optional("suggested_area"): str,
        vol.Optional("configuration_url"): http_url,
    }
)
ORIGIN_SCHEMA = vol.Schema(
    {
        vol.Required("name"): str,
        vol.Optional("sw_version"): str,
        vol.Optional("support_url"): http_url,
    }
)
COMMON = {
    vol.Required("unique_id"): vol.Match(f"^{TOPIC_ID}$"),
    vol.Required("default_entity_id"): vol.Match(ENTITY_ID),
    vol.Required("object_id"): str,
    vol.Required("name"): vol.Any(None, vol.All(str, vol.Length(min=1))),
    vol.Optional("availability"): vol.All([AVAILABILITY_ITEM], vol.Length(min=1)),
    vol.Optional("availability_mode"): vol.In(["all", "any", "latest"]),
    vol.Optional("enabled_by_default"): bool,
    vol.Optional("entity_category"): vol.In(["config", "diagnostic"]),
    vol.Optional("icon"): vol.Match(r"^mdi:[a-z0-9-]+$"),
    vol.Optional("json_attributes_topic"): subscribe_topic,
    vol.Optional("json_attributes_template"): template,
    vol.Optional("qos"): vol.In([0, 1, 2]),
    vol.Optional("encoding"): str,
}
READ = {
    vol.Required("state_topic"): subscribe_topic,
    vol.Optional("value_template"): template,
}
PLATFORMS: dict[str, vol.Schema] = {
    "sensor": vol.Schema(
        {
            **COMMON,
            **READ,
            vol.Optional("device_class"): vol.In(SENSOR_CLASSES),
            vol.Optional("state_class"): vol.In(STATE_CLASSES),
            vol.Optional("unit_of_measurement"): str,
            vol.Optional("options"): vol.All([str], vol.Length(min=1)),
            vol.Optional("expire_after"): vol.All(int, vol.Range(min=1)),
            vol.Optional("force_update"): bool,
            vol.Optional("suggested_display_precision"): vol.All(int, vol.Range(min=0)),
        }
    ),
    "binary_sensor": vol.Schema(
        {
            **COMMON,
            **READ,
            vol.Optional("device_class"): vol.In(BINARY_SENSOR_CLASSES),
            vol.Optional("payload_on"): str,
            vol.Optional("payload_off"): str,
            vol.Optional("expire_after"): vol.All(int, vol.Range(min=1)),
            vol.Optional("off_delay"): vol.All(int, vol.Range(min=0)),
            vol.Optional("force_update"): bool,
        }
    ),
    "button": vol.Schema(
        {
            **COMMON,
            vol.Required("command_topic"): publish_topic,
            vol.Optional("command_template"): template,
            vol.Optional("payload_press"): str,
            vol.Optional("device_class"): vol.In(BUTTON_CLASSES),
            vol.Optional("retain"): bool,
        }
    ),
    "event": vol.Schema(
        {
            **COMMON,
            **READ,
            vol.Required("event_types"): vol.All([str], vol.Length(min=1)),
            vol.Optional("device_class"): vol.In(EVENT_CLASSES),
        }
    ),
    "notify": vol.Schema(
        {
            **COMMON,
            vol.Required("command_topic"): publish_topic,
            vol.Optional("command_template"): template,
            vol.Optional("retain"): bool,
        }
    ),
    "text": vol.Schema(
        {
            **COMMON,
            vol.Required("command_topic"): publish_topic,
            vol.Optional("command_template"): template,
            vol.Optional("state_topic"): subscribe_topic,
            vol.Optional("value_template"): template,
            vol.Optional("min"): vol.All(int, vol.Range(min=0)),
            vol.Optional("max"): vol.All(int, vol.Range(min=1, max=255)),
            vol.Optional("mode"): vol.In(["text", "password"]),
            vol.Optional("pattern"): regex,
            vol.Optional("retain"): bool,
        }
    ),
}


TRIGGER_SCHEMA = vol.Schema(
    {
        vol.Required("automation_type"): "trigger",
        vol.Required("type"): vol.Match(r"^[a-z_]+$"),
        vol.Required("subtype"): vol.Match(r"^[a-z_]+$"),
        vol.Required("topic"): subscribe_topic,
        vol.Optional("payload"): str,
        vol.Optional("value_template"): template,
        vol.Optional("qos"): vol.In([0, 1, 2]),
    }
)
"""Home Assistant's device trigger (``device_automation``): no unique_id, name or entity id."""
TRIGGER = "device_automation"


def check_platform_rules(platform: str, config: dict[str, Any]) -> None:
    """The cross-field rules Home Assistant enforces beyond the keys."""
    assert config["default_entity_id"].split(".")[0] == platform
    assert config["object_id"] == config["default_entity_id"].split(".")[1], (
        "Home Assistant before 2025.10 reads object_id: the same id for every version"
    )
    if "availability" in config:
        assert config.get("availability_mode") == "all", "the contract asks for mode all"
    if platform in ("sensor", "binary_sensor"):
        assert config.get("entity_category") in (None, "diagnostic"), "sensors: diagnostic only"
    if platform == "sensor":
        device_class = config.get("device_class")
        if "options" in config:
            assert device_class == "enum", "options need device_class enum"
        if device_class == "enum":
            assert config.get("options"), "an enum sensor lists its options"
        if device_class in NON_NUMERIC_SENSOR_CLASSES:
            assert "unit_of_measurement" not in config
            assert "state_class" not in config
        units = SENSOR_CLASSES.get(device_class) if device_class else ANY_UNIT
        if units is not ANY_UNIT and "unit_of_measurement" in config:
            assert config["unit_of_measurement"] in units
    if platform == "text":
        assert config.get("min", 0) < config.get("max", 255)


def check_message(ctx: DiscoveryContext, message: DiscoveryMessage) -> list[dict[str, Any]]:
    """Check one config message; return its component configs (with platform and key)."""
    assert message.retain, "discovery configs are retained"
    assert message.payload is not None
    topic = message.topic
    if ctx.mode == "device":
        match = re.fullmatch(rf"{re.escape(ctx.prefix)}/device/({TOPIC_ID})/config", topic)
        assert match, topic
        payload = vol.Schema(
            {
                vol.Required("device"): DEVICE_SCHEMA,
                vol.Required("origin"): ORIGIN_SCHEMA,
                vol.Required("components"): vol.All(
                    {vol.Match(f"^{TOPIC_ID}$"): dict}, vol.Length(min=1)
                ),
            }
        )(message.payload)
        assert match.group(1) in payload["device"]["identifiers"]
        components = []
        for key, raw in payload["components"].items():
            config = dict(raw)
            platform = config.pop("platform")
            if platform == TRIGGER:
                TRIGGER_SCHEMA(config)
            else:
                PLATFORMS[platform](config)
                check_platform_rules(platform, config)
                assert config["unique_id"].endswith(f"_{key}")
            components.append(
                {"platform": platform, "key": key, **config, "device": payload["device"]}
            )
        return components
    match = re.fullmatch(
        rf"{re.escape(ctx.prefix)}/(\w+)/({TOPIC_ID})/({TOPIC_ID})/config", message.topic
    )
    assert match, topic
    platform, node, key = match.groups()
    config = dict(message.payload)
    DEVICE_SCHEMA(config.pop("device"))
    ORIGIN_SCHEMA(config.pop("origin"))
    if platform == TRIGGER:
        TRIGGER_SCHEMA(config)
    else:
        PLATFORMS[platform](config)
        check_platform_rules(platform, config)
        assert config["unique_id"] == f"{node}_{key}"
    assert node in message.payload["device"]["identifiers"]
    return [{"platform": platform, "key": key, **config, "device": message.payload["device"]}]


def all_components(ctx: DiscoveryContext) -> list[dict[str, Any]]:
    """Every entity config of the sample fleet, each checked (device triggers apart)."""
    return [c for m in fleet(ctx) for c in check_message(ctx, m) if c["platform"] != TRIGGER]


def entity_keys(messages: list[DiscoveryMessage]) -> set[str]:
    """The component keys of a device config's entities (its device triggers apart)."""
    payload = messages[0].payload
    assert payload is not None
    return {k for k, c in payload["components"].items() if c["platform"] != TRIGGER}


def all_triggers(ctx: DiscoveryContext) -> list[dict[str, Any]]:
    """Every device trigger of the sample fleet, each checked."""
    return [c for m in fleet(ctx) for c in check_message(ctx, m) if c["platform"] == TRIGGER]


# ---- Home Assistant's template rendering -----------------------------------------------------
JINJA = ImmutableSandboxedEnvironment()
JINJA.filters["to_json"] = lambda value: json.dumps(value, ensure_ascii=False)


def render_value(template_text: str, payload: str) -> str:
    """Render a value template as Home Assistant does: ``value`` and, if JSON, ``value_json``."""
    variables: dict[str, Any] = {"value": payload}
    with contextlib.suppress(ValueError):
        variables["value_json"] = json.loads(payload)
    return JINJA.from_string(template_text).render(**variables)


def render_command(template_text: str, value: str) -> str:
    """Render a command template: the outgoing value is ``value``."""
    return JINJA.from_string(template_text).render(value=value)


def component(
    messages: list[DiscoveryMessage], key: str, ctx: DiscoveryContext = CTX
) -> dict[str, Any]:
    """One entity's config out of a device's messages, by component key."""
    for message in messages:
        for config in check_message(ctx, message):
            if config["key"] == key:
                return config
    raise AssertionError(f"no component {key}")


# ---- fixtures -----------------------------------------------------------------------------------
def as_fixture(messages: list[DiscoveryMessage]) -> list[dict[str, Any]]:
    """Messages as the JSON stored in the fixture files."""
    return [{"topic": m.topic, "retain": m.retain, "payload": m.payload} for m in messages]


def fixture_cases() -> Iterator[tuple[str, DiscoveryContext]]:
    """Every sample in device mode, and the box and the label printer in entity mode."""
    for name in SAMPLES:
        yield name, CTX
    yield "box_office", ENTITY_CTX
    yield "printer_label", ENTITY_CTX


@pytest.mark.parametrize(
    ("name", "ctx"),
    list(fixture_cases()),
    ids=[f"{n}-{c.mode}" for n, c in fixture_cases()],
)
def test_payloads_match_reviewed_fixtures(name: str, ctx: DiscoveryContext) -> None:
    """What Home Assistant receives is exactly the reviewed fixture (no silent changes)."""
    messages = SAMPLES[name](ctx)
    path = FIXTURES / f"{name}{'' if ctx.mode == 'device' else '_entity'}.json"
    actual = as_fixture(messages)
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(actual, ensure_ascii=False, indent=2) + "\n", "utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert actual == expected


# ---- rules --------------------------------------------------------------------------------------
@pytest.mark.parametrize("ctx", [CTX, ENTITY_CTX], ids=["device", "entity"])
def test_every_payload_follows_home_assistants_rules(ctx: DiscoveryContext) -> None:
    """Each config passes HA's documented checks: topic, keys, classes, units, ids, availability."""
    components = all_components(ctx)
    assert len(components) > 40
    unique_ids = [c["unique_id"] for c in components]
    entity_ids = [c["default_entity_id"] for c in components]
    assert len(set(unique_ids)) == len(unique_ids), "unique_id must be unique"
    assert len(set(entity_ids)) == len(entity_ids), "default entity ids must not collide"
    identifiers = {i for c in components for i in c["device"]["identifiers"]}
    for config in components:
        via = config["device"].get("via_device")
        assert via is None or via in identifiers, "via_device names a published device"
        topics = [
            config.get("state_topic"),
            config.get("command_topic"),
            config.get("json_attributes_topic"),
            *(a["topic"] for a in config.get("availability", [])),
        ]
        assert all(t.startswith(f"{ctx.base_topic}/") for t in topics if t)


def _mutated(key: str, change: Callable[[dict[str, Any]], None]) -> DiscoveryMessage:
    """The office box's config with one component changed the way a bug would."""
    message = box_discovery(CTX, OFFICE, OFFICE_BOX)[0]
    payload = json.loads(message.encode())
    change(payload["components"][key])
    return DiscoveryMessage(message.topic, payload)


MISTAKES: dict[str, DiscoveryMessage] = {
    "unit on an enum sensor": _mutated("last_job", lambda c: c.update(unit_of_measurement="x")),
    "misspelled key": _mutated("queue", lambda c: c.update(stat_topic="lianke/x")),
    "unknown device class": _mutated("connectivity", lambda c: c.update(device_class="online")),
    "entity id of another platform": _mutated(
        "queue", lambda c: c.update(default_entity_id="binary_sensor.lianke_office_queue")
    ),
    "availability as a plain topic": _mutated(
        "queue", lambda c: c.update(availability="lianke/bridge/state")
    ),
    "text longer than HA allows": _mutated("print_url", lambda c: c.update(max=300)),
    "config category on a sensor": _mutated(
        "firmware", lambda c: c.update(entity_category="config")
    ),
    "wildcard in a command topic": _mutated("reboot", lambda c: c.update(command_topic="a/+/b")),
    "template that does not compile": _mutated(
        "firmware", lambda c: c.update(value_template="{{ value_json.firmware ")
    ),
    "date sensor with a state class": _mutated(
        "expire_date", lambda c: c.update(state_class="measurement")
    ),
    "event without event types": _mutated("job", lambda c: c.pop("event_types")),
    "illegal character in the topic": DiscoveryMessage(
        "homeassistant/device/lianke.office/config",
        box_discovery(CTX, OFFICE, OFFICE_BOX)[0].payload,
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES), ids=list(MISTAKES))
def test_the_rules_catch_mistakes(mistake: str) -> None:
    """The rule checks are not vacuous: each typical mistake is refused."""
    with pytest.raises((AssertionError, vol.Invalid)):
        check_message(CTX, MISTAKES[mistake])


def test_each_message_carries_device_and_origin() -> None:
    """Device-based configs hold device, origin (name, sw, url) and components; nothing else."""
    for message in fleet(CTX):
        assert message.payload is not None
        assert set(message.payload) == {"device", "origin", "components"}
        assert message.payload["origin"] == {
            "name": "lianke-bridge",
            "sw_version": "1.2.3",
            "support_url": PROJECT_URL,
        }


def test_both_modes_announce_the_same_entities() -> None:
    """Switching to per-entity discovery keeps every entity and its options; only topics change."""

    def by_id(ctx: DiscoveryContext) -> dict[str, dict[str, Any]]:
        return {c["unique_id"]: c for c in all_components(ctx)}

    assert by_id(CTX) == by_id(ENTITY_CTX)
    for message in fleet(ENTITY_CTX):
        assert message.payload is not None
        assert "components" not in message.payload
        assert message.payload["origin"]["name"] == "lianke-bridge"


def test_ids_follow_the_contract() -> None:
    """Ids are lianke_<device id> and lianke_<device id>_p<port>; entity ids use the name."""
    box = box_discovery(CTX, OFFICE, OFFICE_BOX)[0]
    printer = printer_discovery(CTX, OFFICE, LASER)[0]
    assert box.topic == "homeassistant/device/lianke_lc01demo000001/config"
    assert printer.topic == "homeassistant/device/lianke_lc01demo000001_p1/config"
    queue = component([box], "queue")
    assert queue["unique_id"] == "lianke_lc01demo000001_queue"
    assert queue["default_entity_id"] == "sensor.lianke_office_queue"
    status = component([printer], "status")
    assert status["default_entity_id"] == "sensor.lianke_office_p1_status"
    assert component(bridge_discovery(CTX), "version")["default_entity_id"] == (
        "sensor.lianke_bridge_version"
    )


def test_odd_device_ids_and_names_become_valid_ids() -> None:
    """Upper case, dots or spaces in a device id or name never leak into topics or entity ids."""
    odd = DeviceConfig(name="front-desk_2", device_id="LC01.Demo 0001", device_key="k")
    messages = box_discovery(CTX, odd, BoxState()) + printer_discovery(CTX, odd, LASER)
    for message in messages:
        check_message(CTX, message)
    assert messages[0].topic == "homeassistant/device/lianke_lc01_demo_0001/config"
    assert component(messages, "queue")["default_entity_id"] == "sensor.lianke_front_desk_2_queue"


def test_another_base_topic_gets_its_own_bridge_device() -> None:
    """A second bridge (other base topic) does not collide with the first one in HA."""
    ctx = DiscoveryContext(base_topic="home/printers", prefix="ha", sw_version="1.2.3")
    messages = bridge_discovery(ctx) + box_discovery(ctx, OFFICE, OFFICE_BOX)
    for message in messages:
        check_message(ctx, message)
    assert messages[0].topic == "ha/device/lianke_bridge_home_printers/config"
    box = component(messages, "queue", ctx)
    assert box["device"]["via_device"] == "lianke_bridge_home_printers"
    assert box["state_topic"] == "home/printers/office/queue"


# ---- entities -----------------------------------------------------------------------------------
def test_bridge_entities() -> None:
    """The bridge shows its connection, version, API health and a republish button."""
    messages = bridge_discovery(CTX)
    keys = set(messages[0].payload["components"]) if messages[0].payload else set()
    assert keys == {"connection_state", "version", "api_problem", "republish"}
    connection = component(messages, "connection_state")
    assert "availability" not in connection, "shows Disconnected instead of Unavailable"
    assert connection["state_topic"] == "lianke/bridge/state"
    assert component(messages, "republish")["command_topic"] == "lianke/bridge/request/republish"


def test_box_entities_and_availability() -> None:
    """A box has the contract's entities; commands need the box online, history does not."""
    messages = box_discovery(CTX, OFFICE, OFFICE_BOX)
    assert entity_keys(messages) == {
        "connectivity",
        "cloud_error",
        "queue",
        "last_job",
        "job",
        "print_url",
        "print",
        "reboot",
        "flush_queue",
        "refresh",
        "rescan_printers",
        "firmware",
        "ip_address",
        "expire_date",
        "subscription_expired",
    }
    bridge_only = ["lianke/bridge/state"]
    with_box = ["lianke/bridge/state", "lianke/office/availability"]
    for key in (
        "connectivity",
        "cloud_error",
        "last_job",
        "job",
        "refresh",
        "firmware",
        "expire_date",
    ):
        assert [a["topic"] for a in component(messages, key)["availability"]] == bridge_only
    for key in ("queue", "print_url", "print", "reboot", "flush_queue", "rescan_printers"):
        assert [a["topic"] for a in component(messages, key)["availability"]] == with_box
    assert component(messages, "reboot")["device_class"] == "restart"
    assert component(messages, "flush_queue")["payload_press"] == "PRESS"
    assert component(messages, "rescan_printers")["command_topic"] == (
        "lianke/office/request/refresh_network_printers"
    )
    device = component(messages, "queue")["device"]
    assert device == {
        "identifiers": ["lianke_lc01demo000001"],
        "name": "Lianke office",
        "manufacturer": "Lianke",
        "model": "LK100W_A1",
        "sw_version": "2.1.112",
        "serial_number": "lc01demo000001",
        "via_device": "lianke_bridge",
    }


def test_print_url_and_notify_send_print_requests() -> None:
    """Typing a URL or sending a notification both go to the box's print request topic."""
    messages = box_discovery(CTX, OFFICE, OFFICE_BOX)
    text = component(messages, "print_url")
    assert text["command_topic"] == "lianke/office/request/print"
    assert text["state_topic"] == "lianke/office/print_url/state"
    assert text["max"] == 255
    assert re.fullmatch(text["pattern"], "https://example.com/list.pdf")
    assert re.fullmatch(text["pattern"], "")
    assert not re.fullmatch(text["pattern"], "file:///etc/passwd")
    notify = component(messages, "print")
    assert notify["command_topic"] == "lianke/office/request/print"
    message = 'Milk\nEggs "free range"\n面包 & <butter>'
    assert json.loads(render_command(notify["command_template"], message)) == {"text": message}


def test_job_event_entity() -> None:
    """The job event fires succeeded, failed or cancelled from the job_event topic."""
    job = component(box_discovery(CTX, OFFICE, OFFICE_BOX), "job")
    assert job["event_types"] == ["succeeded", "failed", "cancelled"]
    assert job["state_topic"] == "lianke/office/job_event"


def test_printer_entities_follow_the_printer() -> None:
    """Ribbon sensors for label printers, ink levels for network printers that report them."""
    keys = entity_keys
    common = {
        "status",
        "paper_out",
        "paper_jam",
        "cover_open",
        "out_of_ink",
        "error_limit_reached",
        "flush_queue",
        "reset_error_limit",
        "print_test_page",
        "print_maintenance_page",
        "model",
    }
    assert keys(printer_discovery(CTX, OFFICE, LASER)) == common
    assert keys(printer_discovery(CTX, WAREHOUSE, LABEL)) == common | {"out_of_ribbon"}
    assert keys(printer_discovery(CTX, OFFICE, INKJET)) == common | {
        "ink_black",
        "ink_cyan",
        "ink_magenta",
        "ink_yellow",
    }


def test_printer_buttons_name_their_port() -> None:
    """Flush and reset on a printer act on its port only."""
    messages = printer_discovery(CTX, OFFICE, INKJET)
    flush = component(messages, "flush_queue")
    assert flush["command_topic"] == "lianke/office/request/flush"
    assert json.loads(flush["payload_press"]) == {"port": 631}
    reset = component(messages, "reset_error_limit")
    assert reset["command_topic"] == "lianke/office/request/reset_error_limit"
    assert json.loads(reset["payload_press"]) == {"port": 631}


def test_printer_page_buttons_print_on_their_printer() -> None:
    """The test and maintenance page buttons send print_test_page for their port and page."""
    messages = printer_discovery(CTX, OFFICE, INKJET)
    test_page = component(messages, "print_test_page")
    assert test_page["command_topic"] == "lianke/office/request/print_test_page"
    assert json.loads(test_page["payload_press"]) == {"port": 631, "page": "test"}
    assert test_page["name"] == "Print test page"
    assert test_page["default_entity_id"] == "button.lianke_office_p631_print_test_page"
    maintenance = component(messages, "print_maintenance_page")
    assert maintenance["command_topic"] == "lianke/office/request/print_test_page"
    assert json.loads(maintenance["payload_press"]) == {"port": 631, "page": "maintenance"}
    assert maintenance["name"] == "Print maintenance page"
    assert maintenance["default_entity_id"] == "button.lianke_office_p631_print_maintenance_page"


def test_printer_device_names_say_where_it_is() -> None:
    """Printer devices are named by model and place, and linked to their box."""
    laser = component(printer_discovery(CTX, OFFICE, LASER), "status")["device"]
    assert laser["name"] == "Kyocera MA2000w GX (office USB 1)"
    assert laser["via_device"] == "lianke_lc01demo000001"
    inkjet = component(printer_discovery(CTX, OFFICE, INKJET), "status")["device"]
    assert inkjet["name"] == "EPSON L6160 Series (office network)"


def test_expire_after_follows_the_poll_that_feeds_each_entity() -> None:
    """Polled values go unavailable after about three periods of the poll that feeds them."""
    slow = replace(
        OFFICE, poll=PollConfig(device_info=60, tasks=120, printer_status=90, printer_list=600)
    )
    box = box_discovery(CTX, slow, OFFICE_BOX)
    assert component(box, "queue")["expire_after"] == 360
    assert component(box, "connectivity")["expire_after"] == 180  # device_info
    network = printer_discovery(CTX, slow, INKJET)  # no live status: printer_list feeds it
    for key in ("status", "paper_out", "error_limit_reached", "ink_black"):
        assert component(network, key)["expire_after"] == 1800
    assert "expire_after" not in component(network, "model")
    usb = printer_discovery(CTX, slow, LASER)  # printer_status feeds it, not the slow list
    for key in ("status", "paper_out", "error_limit_reached"):
        assert component(usb, key)["expire_after"] == 270
    never = replace(CTX, expire_factor=0)
    assert "expire_after" not in component(printer_discovery(never, slow, INKJET), "status")


# ---- templates against real state JSON ----------------------------------------------------------
def test_printer_templates_read_the_printer_state() -> None:
    """Status, problem sensors, error limit and ink levels read the printer state JSON."""
    messages = printer_discovery(CTX, WAREHOUSE, LABEL)
    state = json.dumps(LABEL.to_json())
    status = component(messages, "status")
    assert render_value(status["value_template"], state) == "out_of_ribbon"
    assert render_value(component(messages, "out_of_ribbon")["value_template"], state) == "ON"
    assert render_value(component(messages, "paper_out")["value_template"], state) == "OFF"
    limited = json.dumps(replace(LABEL, error_limit_reached=True).to_json())
    assert render_value(component(messages, "error_limit_reached")["value_template"], limited) == (
        "ON"
    )
    attributes = json.loads(render_value(status["json_attributes_template"], state))
    assert attributes["message"] == "Ribbon end"
    assert attributes["kind"] == "label"
    inkjet = printer_discovery(CTX, OFFICE, INKJET)
    ink = json.dumps(INKJET.to_json())
    assert render_value(component(inkjet, "ink_yellow")["value_template"], ink) == "18"
    assert render_value(component(inkjet, "model")["value_template"], ink) == "EPSON L6160 Series"


def test_every_status_word_is_an_enum_option() -> None:
    """Every status the bridge can publish is a valid option of the status sensor."""
    status = component(printer_discovery(CTX, OFFICE, LASER), "status")
    for word in PrinterStatusWord:
        state = json.dumps(replace(LASER, status=word).to_json())
        assert render_value(status["value_template"], state) in status["options"]


def test_ink_marker_names_are_quoted_safely() -> None:
    """Marker names with quotes, Chinese or emoji still read the right level; gone -> unknown."""
    names = ['Photo "Black"', "黑色", "Cyan\\Light", "🖨 Toner", 'Photo "Black"']
    printer = replace(INKJET, markers=tuple(InkMarker(n, i * 10) for i, n in enumerate(names)))
    messages = printer_discovery(CTX, OFFICE, printer)
    keys = [key for key, _ in discovery.ink_keys(printer)]
    assert keys == ["ink_photo_black", "ink_2", "ink_cyan_light", "ink_toner"]
    state = json.dumps(printer.to_json())
    levels = [render_value(component(messages, k)["value_template"], state) for k in keys]
    assert levels == ["40", "10", "20", "30"]  # the duplicate name's level wins in the JSON
    gone = json.dumps(replace(printer, markers=()).to_json())
    assert render_value(component(messages, "ink_toner")["value_template"], gone) == "None"


def test_ink_keys_never_collide() -> None:
    """Cartridges whose names differ only in case or punctuation still get separate sensors."""
    printer = replace(INKJET, markers=(InkMarker("Black", 1), InkMarker("BLACK", 2)))
    assert [key for key, _ in discovery.ink_keys(printer)] == ["ink_black", "ink_2"]
    for message in printer_discovery(CTX, OFFICE, printer):
        check_message(CTX, message)


def test_box_templates_read_the_box_state() -> None:
    """Firmware, IP, expiry date, expired flag and connection attributes read the box state."""
    messages = box_discovery(CTX, OFFICE, OFFICE_BOX)
    state = json.dumps(OFFICE_BOX.to_json())
    assert render_value(component(messages, "firmware")["value_template"], state) == "2.1.112"
    assert render_value(component(messages, "ip_address")["value_template"], state) == (
        "192.168.7.150"
    )
    expire = component(messages, "expire_date")["value_template"]
    assert render_value(expire, state) == "2026-08-25"
    raw_date = json.dumps(replace(OFFICE_BOX, expire_date="2024年8月25日").to_json())
    assert render_value(expire, raw_date) == "None", "unparsed dates show unknown, not an error"
    expired = component(messages, "subscription_expired")["value_template"]
    assert render_value(expired, state) == "OFF"
    assert render_value(expired, json.dumps(WAREHOUSE_BOX.to_json())) == "ON"
    connection = component(messages, "connectivity")
    attributes = json.loads(render_value(connection["json_attributes_template"], state))
    assert attributes == {"online_state": "online", "error": None, "last_update": None}


def test_last_job_reads_the_job_and_survives_a_clear() -> None:
    """The last job sensor shows the job's state; a cleared topic shows unknown."""
    last_job = component(box_discovery(CTX, OFFICE, OFFICE_BOX), "last_job")
    job = JobRecord(
        task_id="t1", device="office", port=1, source="url", state=codes.JobState.SUCCEEDED
    )
    assert render_value(last_job["value_template"], json.dumps(job.to_json())) == "succeeded"
    assert render_value(last_job["value_template"], "") == "None"
    assert set(last_job["options"]) == {str(s) for s in codes.JobState}


def test_api_problem_reads_the_health_report() -> None:
    """The API problem sensor turns on when the health report says the API is failing."""
    api = component(bridge_discovery(CTX), "api_problem")
    failing = json.dumps({"api": {"calls": 10, "errors": 4}, "api_problem": True})
    assert render_value(api["value_template"], failing) == "ON"
    fine = json.dumps({"api": {"calls": 3}, "api_problem": False})
    assert render_value(api["value_template"], fine) == "OFF"
    assert render_value(api["value_template"], json.dumps({"uptime_s": 5})) == "OFF"
    attributes = json.loads(render_value(api["json_attributes_template"], failing))
    assert attributes == {"calls": 10, "errors": 4}


# ---- lifecycle helpers --------------------------------------------------------------------------
def test_messages_encode_as_json_or_empty() -> None:
    """Configs go out as compact UTF-8 JSON; a removal is an empty retained payload."""
    message = printer_discovery(CTX, OFFICE, LASER)[0]
    assert json.loads(message.encode()) == message.payload
    assert removal_messages(["b/config", "a/config", "a/config"]) == [
        DiscoveryMessage("a/config", None),
        DiscoveryMessage("b/config", None),
    ]
    assert DiscoveryMessage("a/config", None).encode() == b""


def test_stale_devices_are_cleared() -> None:
    """A box or printer that is gone has its config cleared; current ones are sent."""
    before = discovery_topics(fleet(CTX))
    now = bridge_discovery(CTX) + box_discovery(CTX, OFFICE, OFFICE_BOX)
    plan = plan_discovery(CTX, before, now)
    assert plan.migrate == ()
    assert list(plan.publish) == now
    assert {m.topic for m in plan.clear} == before - discovery_topics(now)
    assert all(m.payload is None and m.retain for m in plan.clear)
    assert plan.messages() == [*now, *plan.clear]


def test_vanished_components_are_removed_from_a_device() -> None:
    """An ink cartridge that disappears is removed in HA (a bare platform entry), once."""
    before = published_index(printer_discovery(CTX, OFFICE, INKJET))
    fewer = replace(INKJET, markers=INKJET.markers[:2])
    plan = plan_discovery(CTX, before, printer_discovery(CTX, OFFICE, fewer))
    assert plan.clear == ()
    payload = plan.publish[0].payload
    assert payload is not None
    assert payload["components"]["ink_magenta"] == {"platform": "sensor"}
    assert payload["components"]["ink_yellow"] == {"platform": "sensor"}
    assert "sensor/ink_magenta" not in plan.published[plan.publish[0].topic]
    again = plan_discovery(CTX, plan.published, printer_discovery(CTX, OFFICE, fewer))
    assert again.publish[0].payload == printer_discovery(CTX, OFFICE, fewer)[0].payload


def test_changed_configs_are_known_across_a_restart() -> None:
    """The index keeps each config's digest: only configs changed since are ``updated``."""
    before = published_index(fleet(CTX))
    assert json.loads(json.dumps(before)) == before
    assert plan_discovery(CTX, before, fleet(CTX)).updated == ()
    newer = replace(OFFICE_BOX, firmware="2.1.120")
    wanted = full_discovery(
        CTX, [(OFFICE, newer, [INKJET, LASER]), (WAREHOUSE, WAREHOUSE_BOX, [LABEL])]
    )
    updated = plan_discovery(CTX, before, wanted).updated
    assert [m.topic for m in updated] == ["homeassistant/device/lianke_lc01demo000001/config"]
    assert "lianke/office/availability" in discovery.read_topics(updated)
    chinese = replace(CTX, language="zh-Hans")
    assert len(plan_discovery(chinese, before, fleet(chinese)).updated) == len(fleet(CTX))
    assert plan_discovery(CTX, {}, fleet(CTX)).updated == (), "new ones are not updates"


def test_switching_to_device_discovery_migrates_entities() -> None:
    """Entity configs are migrated, the old topics cleared, then the device config sent.

    Device triggers are not migrated: their topics are only cleared.
    """
    old = printer_discovery(ENTITY_CTX, OFFICE, LASER)
    new = printer_discovery(CTX, OFFICE, LASER)
    plan = plan_discovery(CTX, published_index(old), new)
    entities = {m.topic for m in old if "/device_automation/" not in m.topic}
    assert {m.topic for m in plan.migrate} == entities
    assert all(m.payload == {"migrate_discovery": True} and not m.retain for m in plan.migrate)
    assert {m.topic for m in plan.handover} == {m.topic for m in old}
    assert all(m.payload is None and m.retain for m in plan.handover)
    assert list(plan.publish) == new
    assert plan.clear == ()
    assert plan.messages().index(plan.publish[0]) == len(plan.migrate) + len(plan.handover)


def test_switching_back_to_entity_discovery_rolls_back() -> None:
    """Going back to per-entity discovery migrates the device config the other way.

    Its device triggers are removed first (a migrated one lingers in Home Assistant). The device
    config gets a placeholder trigger before it is cleared: Home Assistant warns about a cleared
    device config that holds no component.
    """
    old = box_discovery(CTX, OFFICE, OFFICE_BOX)
    new = box_discovery(ENTITY_CTX, OFFICE, OFFICE_BOX)
    plan = plan_discovery(ENTITY_CTX, discovery_topics(old), new)
    removal, migrate = plan.migrate
    assert removal.topic == migrate.topic == old[0].topic
    assert removal.payload is not None
    assert not removal.retain
    triggers = {m.topic.split("/")[-2] for m in new if "/device_automation/" in m.topic}
    removed = {key: {"platform": "device_automation"} for key in triggers}
    assert removal.payload["components"] == removed, "the triggers removed first, not migrated"
    assert migrate.payload == {"migrate_discovery": True}
    assert not migrate.retain
    placeholder, cleared = plan.handover
    assert placeholder.topic == cleared.topic == old[0].topic
    assert not placeholder.retain
    assert placeholder.payload is not None
    assert old[0].payload is not None
    assert placeholder.payload["device"] == old[0].payload["device"]
    assert [c["platform"] for c in placeholder.payload["components"].values()] == [
        "device_automation"
    ]
    assert cleared.payload is None
    assert cleared.retain
    assert plan.clear == ()
    assert len(plan.publish) == len(new) == 15 + 7  # entities and device triggers


def test_foreign_or_odd_topics_are_only_cleared() -> None:
    """Remembered topics of an unexpected shape are cleared, never migrated."""
    odd = {"other/device/x/config", "homeassistant/sensor/lonely/config", "homeassistant/x"}
    wanted = box_discovery(CTX, OFFICE, OFFICE_BOX)
    plan = plan_discovery(CTX, odd, [*wanted, DiscoveryMessage("elsewhere/config", {"a": 1})])
    assert plan.migrate == ()
    assert {m.topic for m in plan.clear} == odd


def test_context_from_the_configuration() -> None:
    """The prefix, base topic and mode come from the bridge's configuration."""
    config = Config(
        lianke=LiankeConfig(api_key="k"),
        devices=(OFFICE,),
        mqtt=MqttConfig(base_topic="printers"),
        homeassistant=HomeAssistantConfig(prefix="ha", discovery="entity"),
    )
    ctx = DiscoveryContext.from_config(config, sw_version="9.9")
    assert (ctx.prefix, ctx.base_topic, ctx.mode, ctx.sw_version) == (
        "ha",
        "printers",
        "entity",
        "9.9",
    )
    topic = box_discovery(ctx, OFFICE, OFFICE_BOX)[0].topic
    assert topic == "ha/binary_sensor/lianke_lc01demo000001/connectivity/config"


def test_published_index_is_json_and_skips_removals() -> None:
    """The index persists as JSON; removals and non-retained messages are not in it."""
    messages = [*fleet(CTX), DiscoveryMessage("homeassistant/device/gone/config", None)]
    index = published_index(messages)
    assert json.loads(json.dumps(index)) == index
    assert set(index) == discovery_topics(fleet(CTX))
    assert (
        "binary_sensor/paper_out" in index["homeassistant/device/lianke_lc01demo000001_p1/config"]
    )


# ---- docs ---------------------------------------------------------------------------------------
def test_docs_list_every_entity() -> None:
    """The Home Assistant page names every default entity id of the sample fleet.

    The page lists a USB printer's entities once: the network and the label printer's are
    "the same entities" with their own box and port, so such an id counts as named when the
    USB printer's id it stands for is in the page.
    """
    text = DOCS.read_text(encoding="utf-8")
    messages = bridge_discovery(CTX) + box_discovery(CTX, OFFICE, OFFICE_BOX)
    messages += printer_discovery(CTX, OFFICE, LASER) + printer_discovery(CTX, OFFICE, INKJET)
    messages += printer_discovery(CTX, WAREHOUSE, LABEL)
    same = {"lianke_office_p631_": "lianke_office_p1_", "lianke_warehouse_p1_": "lianke_office_p1_"}

    def named(entity_id: str) -> bool:
        if entity_id in text:
            return True
        return any(
            old in entity_id and entity_id.replace(old, new) in text for old, new in same.items()
        )

    missing = [
        c["default_entity_id"]
        for m in messages
        for c in check_message(CTX, m)
        if c["platform"] != TRIGGER and not named(c["default_entity_id"])
    ]
    assert missing == []
