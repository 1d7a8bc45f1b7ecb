"""The Home Assistant add-on's files agree with Home Assistant and with the bridge itself.

No Home Assistant is needed: the add-on folder is checked with the linter Home Assistant add-on
repositories run in CI (when it is on this machine), with the rules the Supervisor applies to an
add-on's schema, translations and AppArmor profile, and against the bridge's own configuration
schema, so that an option and the configuration key it sets cannot drift apart. How the options,
config.yaml and the Supervisor's broker combine is checked in this process; the add-on running
for real is in test_addon_run.py.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import struct
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from lianke_bridge import __version__
from lianke_bridge.addon import OPTIONS, AddonPaths, MqttService, load_addon_config, one_line
from lianke_bridge.addon.options import EACH
from lianke_bridge.cli.parser import build_parser
from lianke_bridge.config import Config, HomeAssistantConfig
from lianke_bridge.config.model import JOBS_POLL_FLOOR, LOG_LEVELS, POLL_CEILING, POLL_FLOORS
from lianke_bridge.config.overrides import SECRET_FILE_KEYS
from lianke_bridge.config.schema import (
    CONFIG_BASE_SCHEMA,
    DEVICE_BASE_SCHEMA,
    HOMEASSISTANT_SCHEMA,
    HTTP_SCHEMA,
    JOBS_SCHEMA,
    LIANKE_SCHEMA,
    LOGGING_SCHEMA,
    MQTT_BASE_SCHEMA,
    POLL_SCHEMA,
    TLS_SCHEMA,
)
from lianke_bridge.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addons" / "lianke_bridge"
CONFIG = yaml.safe_load((ADDON / "config.yaml").read_text(encoding="utf-8"))
LANGUAGES = ("en", "zh-Hans")
LINTER_VARIABLE = "LIANKE_ADDON_LINTER"

YAML_ONLY: frozenset[tuple[str, ...]] = frozenset(
    {
        ("lianke", "base_url"),
        ("lianke", "timeout"),
        ("lianke", "rate_limit"),
        ("lianke", "max_retries"),
        ("lianke", "refusal_retry"),
        ("lianke", "status_spacing"),
        ("devices", EACH, "device_id"),
        ("devices", EACH, "device_key"),
        ("devices", EACH, "default_port"),
        ("devices", EACH, "printer_type"),
        ("devices", EACH, "print_defaults"),
        ("mqtt", "client_id"),
        ("mqtt", "keepalive"),
        ("mqtt", "session_expiry"),
        ("mqtt", "protocol"),
        ("mqtt", "base_topic"),
        ("mqtt", "receive_maximum"),
        ("mqtt", "max_packet_size"),
        ("mqtt", "tls", "ca_certs"),
        ("mqtt", "tls", "certfile"),
        ("mqtt", "tls", "keyfile"),
        ("mqtt", "tls", "insecure"),
        ("homeassistant", "enabled"),
        ("homeassistant", "prefix"),
        ("homeassistant", "status_topic"),
        ("jobs", "retention"),
        ("jobs", "push_poll_interval"),
        ("http", "callback_path"),
        ("jobs", "max_file_bytes"),
        ("jobs", "allowed_hosts"),
        ("logging", "format"),
        ("http", "enabled"),
        ("http", "host"),
        ("http", "port"),
        ("state_dir",),  # the add-on's own: /data/data
        ("shard",),
        ("lianke", "api_key_file"),
        ("devices", EACH, "device_key_file"),
        ("devices", EACH, "qr_file"),
        ("mqtt", "password_file"),
    }
)
"""The configuration keys the add-on's page leaves to config.yaml (or to their defaults)."""


# ---- the linter Home Assistant add-on repositories run --------------------------------------
def find_linter() -> Path | None:
    """``$LIANKE_ADDON_LINTER``, else ``../shared/tools/ha-addon-linter/run.sh`` beside the repo."""
    given = os.environ.get(LINTER_VARIABLE)
    if given:
        return Path(given)
    beside = ROOT.parent / "shared" / "tools" / "ha-addon-linter" / "run.sh"
    return beside if beside.exists() else None


def test_the_addon_passes_home_assistants_linter() -> None:
    """frenck/action-addon-linter (offline copy) finds no error and no warning in the add-on."""
    linter = find_linter()
    if linter is None:
        pytest.skip(
            f"the add-on linter is not on this machine: set {LINTER_VARIABLE} to its run.sh "
            "(or put it at ../shared/tools/ha-addon-linter/run.sh beside the repository)"
        )
    result = subprocess.run(  # noqa: S603 - a fixed script, this test's arguments
        [str(linter), str(ADDON), sys.executable],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "::error" not in output
    assert "::warning" not in output
    assert output.strip().splitlines()[-1] == "addon-lint: ok"


# ---- Home Assistant's rules for the add-on's files -------------------------------------------
def test_the_addon_installs_the_bridge_of_its_own_version() -> None:
    """config.yaml's version is the package's (the image installs ``lianke-bridge==version``)."""
    assert CONFIG["version"] == __version__
    dockerfile = (ADDON / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG BRIDGE=lianke-bridge==${BUILD_VERSION}" in dockerfile
    assert CONFIG["slug"] == ADDON.name
    assert CONFIG["arch"] == ["aarch64", "amd64"]  # Home Assistant dropped 32-bit in 2025.12
    assert CONFIG["services"] == ["mqtt:need"]
    assert "watchdog" not in CONFIG  # the image's HEALTHCHECK instead
    assert not (ADDON / "build.yaml").exists()  # deprecated since Supervisor 2026.04


_SUPERVISOR_TYPE = re.compile(
    r"^(?:|bool|email|url|port|device(?:\((?P<filter>subsystem=[a-z]+)\))?"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|password(?:\((?P<p_min>\d+)?,(?P<p_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?\d*\.?\d+)?,(?P<f_max>-?\d*\.?\d+)?\))?"
    r"|match\((?P<match>.*)\)|list\((?P<list>.+)\))\??$"
)
"""The option types the Supervisor accepts (supervisor/apps/options.py, RE_SCHEMA_ELEMENT)."""


def schema_types(schema: Any, name: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Every option of the add-on's schema (a box's fields under ``boxes``) and its type."""
    if isinstance(schema, dict):
        found: dict[tuple[str, ...], str] = {}
        for key, value in schema.items():
            found |= schema_types(value, (*name, key))
        return found
    if isinstance(schema, list):
        return schema_types(schema[0], name)
    return {name: schema}


def test_the_schema_uses_types_the_supervisor_knows() -> None:
    """Each type parses as the Supervisor's; nested at most two deep; defaults for the groups."""
    types = schema_types(CONFIG["schema"])
    for name, kind in types.items():
        assert _SUPERVISOR_TYPE.match(kind), (name, kind)
        assert len(name) <= 2
    # a group (a mapping or a list) without a default is a missing option to the Supervisor
    groups = {name for name, value in CONFIG["schema"].items() if not isinstance(value, str)}
    assert groups <= set(CONFIG["options"])
    assert types["api_key",] == "password"  # required, hidden in the page
    assert types["boxes", "qr"] == "password"  # the token is the box's key
    assert types["mqtt", "password"] == "password?"


def test_poll_limits_and_choices_are_the_bridges() -> None:
    """The page's ranges and lists are the ones the bridge enforces, so the page refuses first."""
    types = schema_types(CONFIG["schema"])
    floors = {**POLL_FLOORS, "job": JOBS_POLL_FLOOR}
    ceilings = dict.fromkeys(POLL_FLOORS, POLL_CEILING) | {"job": 3600}
    for name, floor in floors.items():
        assert types["poll", name] == f"int({floor:g},{ceilings[name]:g})?"
    discovery = typing.get_args(typing.get_type_hints(HomeAssistantConfig)["discovery"])
    assert types["discovery",] == f"list({'|'.join(discovery)})"
    assert CONFIG["options"]["discovery"] == HomeAssistantConfig.discovery
    language = typing.get_args(typing.get_type_hints(HomeAssistantConfig)["language"])
    assert types["language",] == f"list({'|'.join(language)})?"
    assert types["log_level",] == f"list({'|'.join(LOG_LEVELS).lower()})?"


def translation_keys(entries: dict[str, Any], name: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """The options a translation file names, each with a name and a description."""
    keys: set[tuple[str, ...]] = set()
    for key, entry in entries.items():
        assert set(entry) <= {"name", "description", "fields"}, (name, key)
        assert isinstance(entry["name"], str), (name, key)
        assert isinstance(entry["description"], str), (name, key)
        if "fields" in entry:
            keys |= translation_keys(entry["fields"], (*name, key))
        else:
            keys.add((*name, key))
    return keys


@pytest.mark.parametrize("language", LANGUAGES)
def test_options_translations_and_the_mapping_name_the_same_options(language: str) -> None:
    """config.yaml's schema, each translation and the mapping to configuration keys agree.

    Adding an option to one of them alone fails here.
    """
    path = ADDON / "translations" / f"{language}.yaml"
    translation = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(translation) == {"configuration"}
    named = translation_keys(translation["configuration"])
    mapped = {option.name for option in OPTIONS}
    assert set(schema_types(CONFIG["schema"])) == mapped
    assert named == mapped
    if language == "zh-Hans":
        descriptions = json.dumps(translation, ensure_ascii=False)
        assert len(re.findall(r"[\u4e00-\u9fff]", descriptions)) > 200


def bridge_keys() -> set[tuple[str, ...]]:
    """Every key of the bridge's configuration file (``EACH`` for every box)."""
    sections = {
        (): CONFIG_BASE_SCHEMA,
        ("lianke",): LIANKE_SCHEMA,
        ("devices", EACH): DEVICE_BASE_SCHEMA,
        ("devices", EACH, "poll"): POLL_SCHEMA,
        ("mqtt",): MQTT_BASE_SCHEMA,
        ("mqtt", "tls"): TLS_SCHEMA,
        ("homeassistant",): HOMEASSISTANT_SCHEMA,
        ("jobs",): JOBS_SCHEMA,
        ("logging",): LOGGING_SCHEMA,
        ("http",): HTTP_SCHEMA,
    }
    keys = {(*prefix, str(key)) for prefix, schema in sections.items() for key in schema.schema}
    for section, names in SECRET_FILE_KEYS.items():
        prefix = ("devices", EACH) if section == "devices" else (section,)
        keys |= {(*prefix, f"{name}_file") for name in names}
    return keys - {("devices",)} | {("devices", EACH)}


def test_every_configuration_key_is_an_option_or_left_to_config_yaml() -> None:
    """Each key of the bridge is set by an option or listed as config.yaml's, and no more.

    A key added to the bridge's schema fails here until the add-on decides where it goes; an
    option whose key the bridge no longer has fails too.
    """
    known = bridge_keys()
    options = {option.key for option in OPTIONS}
    assert options <= known
    assert known >= YAML_ONLY
    assert not options & YAML_ONLY
    covered = options | YAML_ONLY
    for key in known:
        is_section = any(other[: len(key)] == key and other != key for other in covered)
        assert key in covered or is_section, f"{key}: an option or config.yaml's?"


# ---- options, config.yaml and the Supervisor's broker, combined ------------------------------
OFFICE = ("lc01addon00001", "addon-device-key-1")


def qr_link(device_id: str, device_key: str) -> str:
    """The link a box's QR code holds."""
    token = base64.b64encode(f"{device_id}:{device_key}".encode()).decode()
    return f"https://cloud.liankenet.com/qr?token={token}"


EVERY_OPTION: dict[str, Any] = {
    "api_key": "addon-api-key-1",
    "boxes": [{"name": "front_desk", "qr": qr_link(*OFFICE)}],
    "poll": {"device_info": 17, "printer_list": 61, "printer_status": 31, "tasks": 21, "job": 6},
    "discovery": "entity",
    "language": "zh-Hans",
    "callback_url": "https://ha.example.net/api/webhook/lianke-relay",
    "log_level": "warning",
    "mqtt": {
        "host": "broker.example",
        "port": 1884,
        "username": "ha-user",
        "password": "ha-pass",
        "tls": True,
    },
}
EXPECTED: dict[tuple[str, ...], Any] = {
    ("api_key",): "addon-api-key-1",
    ("boxes", "name"): "front_desk",
    ("boxes", "qr"): OFFICE,
    ("poll", "device_info"): 17,
    ("poll", "printer_list"): 61,
    ("poll", "printer_status"): 31,
    ("poll", "tasks"): 21,
    ("poll", "job"): 6,
    ("discovery",): "entity",
    ("language",): "zh-Hans",
    ("callback_url",): "https://ha.example.net/api/webhook/lianke-relay",
    ("log_level",): "WARNING",
    ("mqtt", "host"): "broker.example",
    ("mqtt", "port"): 1884,
    ("mqtt", "username"): "ha-user",
    ("mqtt", "password"): "ha-pass",
    ("mqtt", "tls"): True,
}
"""What each option of EVERY_OPTION becomes in the validated configuration."""


def value_at(config: Config, key: tuple[str, ...]) -> Any:
    """The validated value of a configuration key (the first box for ``EACH``)."""
    if key == ("devices", EACH, "qr"):
        device = config.devices[0]
        return (device.device_id, device.device_key)
    node: Any = config
    for part in key:
        node = node[0] if part == EACH else getattr(node, part)
    return node


def no_broker(_service: object = None) -> MqttService:
    """Stands for a Supervisor that must not be asked."""
    raise AssertionError("the Supervisor was asked although a broker was configured")


async def load(tmp_path: Path, options: dict[str, Any], yaml_text: str | None = None) -> Config:
    """The configuration of these options (and config.yaml), the Supervisor not asked."""
    paths = AddonPaths(options=tmp_path / "data" / "options.json", config=tmp_path / "config.yaml")
    paths.options.parent.mkdir(exist_ok=True)
    paths.options.write_text(json.dumps(options), encoding="utf-8")
    if yaml_text is not None:
        paths.config.write_text(yaml_text, encoding="utf-8")

    async def supervisor() -> MqttService:
        return no_broker()

    return await load_addon_config(paths, {}, ask=supervisor)


async def test_each_option_reaches_its_configuration_key(tmp_path: Path) -> None:
    """Every option, given, is validated by the bridge's schema and lands on its key."""
    config = await load(tmp_path, EVERY_OPTION)
    for option in OPTIONS:
        value = value_at(config, option.key)
        expected = EXPECTED[option.name]
        if option.name == ("mqtt", "tls"):
            value = value is not None  # true: TLS with the system's CAs
        assert value == expected, option.name
    assert config.state_dir == tmp_path / "data" / "data"


async def test_options_win_over_config_yaml_which_fills_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """config.yaml adds boxes and settings; an option replaces its value, with a warning."""
    yaml_text = f"""\
lianke:
  api_key: from-the-file
  timeout: 7
homeassistant:
  discovery: device
devices:
  - name: shop
    qr: {qr_link("lc01addon00002", "shop-key")}
    poll:
      tasks: 90
mqtt:
  host: file-broker
  keepalive: 30
state_dir: /elsewhere
"""
    options = {"api_key": "from-the-page", "boxes": EVERY_OPTION["boxes"], "discovery": "entity"}
    options |= {"poll": {"tasks": 45}, "mqtt": {}}
    with caplog.at_level(logging.WARNING):
        config = await load(tmp_path, options, yaml_text)
    assert config.lianke.api_key == "from-the-page"
    assert config.lianke.timeout == 7
    assert config.homeassistant.discovery == "entity"
    assert [d.name for d in config.devices] == ["front_desk", "shop"]
    assert [d.poll.tasks for d in config.devices] == [45, 90]  # a box's own poll wins
    assert (config.mqtt.host, config.mqtt.keepalive) == ("file-broker", 30)
    assert config.state_dir == tmp_path / "data" / "data"
    assert sorted(caplog.messages) == [
        "config.yaml: homeassistant.discovery is replaced by the add-on's option discovery",
        "config.yaml: lianke.api_key is replaced by the add-on's option api_key",
        "config.yaml: state_dir is not used (the add-on's state is in /data)",
    ]
    assert "from-the-file" not in caplog.text


@pytest.mark.parametrize(
    ("options_mqtt", "yaml_text", "expected"),
    [
        ({}, None, ("core-mosquitto", 8883, "addons", "svc-pass", True)),
        (
            {"username": "me", "password": "mine"},
            None,
            ("core-mosquitto", 8883, "me", "mine", True),
        ),
        (
            {},
            "mqtt:\n  port: 1883\n  tls: false\n",
            ("core-mosquitto", 1883, "addons", "svc-pass", False),
        ),
    ],
    ids=["all-from-the-supervisor", "own-user", "file-port-and-no-tls"],
)
async def test_the_supervisors_broker_fills_what_is_not_set(
    tmp_path: Path, options_mqtt: dict[str, Any], yaml_text: str | None, expected: tuple[Any, ...]
) -> None:
    """With no host given, the broker is the Supervisor's: TLS and credentials included.

    A user name of the page or config.yaml brings its own password: the Supervisor's pair is
    not split.
    """
    paths = AddonPaths(options=tmp_path / "options.json", config=tmp_path / "config.yaml")
    options = {"api_key": "k", "boxes": EVERY_OPTION["boxes"], "mqtt": options_mqtt}
    paths.options.write_text(json.dumps(options), encoding="utf-8")
    if yaml_text:
        paths.config.write_text(yaml_text, encoding="utf-8")
    service = MqttService("core-mosquitto", 8883, ssl=True, username="addons", password="svc-pass")

    async def supervisor() -> MqttService:
        return service

    config = await load_addon_config(paths, {}, ask=supervisor)
    mqtt = config.mqtt
    assert (mqtt.host, mqtt.port, mqtt.username, mqtt.password, mqtt.tls is not None) == expected
    assert mqtt.protocol == "5"  # the Supervisor's "3.1.1" says nothing about MQTT 5


@pytest.mark.parametrize(
    ("options", "yaml_text", "expected"),
    [
        (
            {"api_key": "k", "boxes": [{"qr": "not a link"}], "poll": {"device_info": 5}},
            None,
            [
                (
                    "boxes[0].qr: this is neither a QR link (https://…?token=…) or its bare token: "
                    "it has characters base64 lacks"
                ),
                (
                    "poll.device_info: must be at least 15 seconds "
                    "(the cloud bans clients that poll faster)"
                ),
            ],
        ),
        (
            {"api_key": "k", "boxes": [{"name": "shop", "qr": qr_link(*OFFICE)}]},
            "devices:\n  - name: shop\n    qr: " + qr_link("lc01addon00009", "k9") + "\n",
            ["config.yaml line 2: devices[0].name: 'shop' is already the name of boxes[0]"],
        ),
        (
            {"api_key": "k", "boxes": []},
            "mqtt:\n  keepalive: 1\n",
            [
                "boxes: needs at least 1 box",
                "config.yaml line 2: mqtt.keepalive: must be a number of seconds from 5 to 65535",
            ],
        ),
        (
            {"api_key": "k", "boxes": [{"qr": qr_link(*OFFICE)}]},
            "devices:\n  - name: a\n    qr: " + qr_link("lc01addon00002", "k2") + "\n"
            "  - name: a\n    qr: " + qr_link("lc01addon00003", "k3") + "\n"
            "mqtt:\n  keepalive: 30\n  keepalive: 40\n",
            [
                (
                    "config.yaml line 4: devices[1].name: 'a' is already the name of config.yaml's "
                    "devices[0]"
                ),
                (
                    "config.yaml line 8: 'keepalive' is given twice in the same section (first on "
                    "line 7); remove one"
                ),
            ],
        ),
        (
            {"api_key": "k", "boxes": "one"},
            None,
            ["boxes: must be a list (one '- ' entry per item)"],
        ),
    ],
    ids=[
        "bad-options",
        "a-name-twice",
        "no-box-and-a-bad-file-value",
        "the-file-twice",
        "boxes-not-a-list",
    ],
)
async def test_problems_are_named_as_the_user_wrote_them(
    tmp_path: Path, options: dict[str, Any], yaml_text: str | None, expected: list[str]
) -> None:
    """Options by their name in the page, config.yaml's values by line: each problem once.

    Said before the Supervisor is asked for a broker (it may never come).
    """
    with pytest.raises(ConfigError) as caught:
        await load(tmp_path, {"mqtt": {}, **options}, yaml_text)
    assert one_line(caught.value) == "; ".join(expected)


async def test_files_that_are_not_what_they_should_be_are_one_problem(tmp_path: Path) -> None:
    """A missing or broken options.json, a config.yaml that is a list: one line each."""
    paths = AddonPaths(options=tmp_path / "options.json", config=tmp_path / "config.yaml")
    for content, says in ((None, "there is no"), ("{", "is not JSON"), ("[]", "JSON object")):
        if content is not None:
            paths.options.write_text(content, encoding="utf-8")
        with pytest.raises(ConfigError, match=says):
            await load_addon_config(paths, {})
    paths.options.write_text('{"api_key": "k"}', encoding="utf-8")
    paths.config.write_text("- lianke\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.yaml must hold a mapping of options"):
        await load_addon_config(paths, {})


async def test_the_docs_example_config_yaml_is_valid(tmp_path: Path) -> None:
    """DOCS.md's config.yaml (with its !secret) works with the options as they are written."""
    docs = (ADDON / "DOCS.md").read_text(encoding="utf-8")
    example = docs.split("## Everything else", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "secrets.yaml").write_text(
        f"shop_qr: {qr_link('lc01addon00002', 'shop-key')}\n", encoding="utf-8"
    )
    config = await load(tmp_path, EVERY_OPTION, example)
    assert [device.name for device in config.devices] == ["front_desk", "shop"]
    assert config.mqtt.base_topic == "printers"


# ---- the image -------------------------------------------------------------------------------
def dockerfile_instruction(name: str) -> list[str]:
    """Every argument text of one instruction of the add-on's Dockerfile."""
    text = (ADDON / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [m[1].strip() for m in re.finditer(rf"(?m)^{name}\s+(.*)$", text)]


def test_the_images_commands_are_the_bridges() -> None:
    """ENTRYPOINT + CMD is ``lianke-bridge addon``; the HEALTHCHECK reads options.json's state.

    hadolint (from the dev extras) finds nothing when it is installed.
    """
    (entrypoint,) = dockerfile_instruction("ENTRYPOINT")
    (cmd,) = dockerfile_instruction("CMD")
    args = build_parser().parse_args([*json.loads(entrypoint)[1:], *json.loads(cmd)])
    assert args.func.__name__ == "cmd_addon"
    assert AddonPaths() == AddonPaths(Path(args.options), Path(args.config))
    (health,) = dockerfile_instruction("HEALTHCHECK")
    check = json.loads(health.split(" CMD ", 1)[1])
    assert check == ["lianke-bridge", "health", "-c", str(AddonPaths().options)]
    assert dockerfile_instruction("ARG")[0].startswith(
        "BUILD_FROM=ghcr.io/home-assistant/base-python:"
    )
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if Path(hadolint).exists():
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [hadolint, str(ADDON / "Dockerfile")], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_icon_logo_and_apparmor_profile() -> None:
    """A 128x128 icon and a 250x100 logo; one AppArmor profile named after the slug.

    The Supervisor renames the one ``profile`` line at the start of a line; apparmor_parser,
    when installed, compiles the profile (not loaded: no AppArmor kernel needed).
    """
    assert png_size(ADDON / "icon.png") == (128, 128)
    assert png_size(ADDON / "logo.png") == (250, 100)
    profile = (ADDON / "apparmor.txt").read_text(encoding="utf-8")
    names = re.findall(r"(?m)^profile ([^ ]+)", profile)
    assert names == [CONFIG["slug"]]
    parser = shutil.which("apparmor_parser")
    if parser is None:
        return
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [parser, "--skip-kernel-load", "--skip-cache", "-Q", str(ADDON / "apparmor.txt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
