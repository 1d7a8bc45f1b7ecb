"""The Dockerfile, docker-compose.yml and the demo stack's files agree with the bridge itself.

No Docker engine is needed: the files are parsed and checked against what the code really does
(the command line, the configuration loader and its environment overrides, the demo fleet), so
a renamed option or path breaks this test instead of a Pi owner's stack.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from lianke_bridge.__main__ import build_parser
from lianke_bridge.config import ENV_OVERRIDES, load_config
from lianke_bridge.simulator import demo_fleet

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
BASE_IMAGE = "python:3.12-slim-bookworm"
BRIDGES = ("bridge", "demo-bridge")
"""The compose services that run ``lianke-bridge run``."""


def instruction(name: str) -> list[str]:
    """Every argument text of one Dockerfile instruction (continuation lines joined)."""
    joined = DOCKERFILE.replace("\\\n", " ")
    return [m[1].strip() for m in re.finditer(rf"(?m)^{name}\s+(.*)$", joined)]


def exec_form(text: str) -> list[str]:
    """``["a", "b"]`` of an ENTRYPOINT/CMD/HEALTHCHECK CMD."""
    value = json.loads(text)
    assert isinstance(value, list)
    return [str(item) for item in value]


def option(argv: list[str], name: str) -> str:
    """The value after ``name`` in an argument list."""
    assert name in argv, argv
    return argv[argv.index(name) + 1]


def environment(service: str) -> dict[str, str]:
    """A compose service's environment as a mapping."""
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def test_the_image_is_pinned_multi_stage_and_not_root() -> None:
    """Every stage on one Debian release; a numeric non-root user that owns /data."""
    assert instruction("FROM") == [f"{BASE_IMAGE} AS build", BASE_IMAGE]
    args = dict(item.split("=", 1) for item in instruction("ARG"))
    assert (args["UID"], args["GID"]) == ("1000", "1000")
    assert instruction("USER") == ["${UID}:${GID}"]
    assert instruction("VOLUME") == ['["/data"]']
    assert "chown lianke:lianke /data" in DOCKERFILE
    user = f"uid {args['UID']}"
    assert user in (ROOT / "README.md").read_text(encoding="utf-8")
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert f"writable by {user}" in compose  # what the bind-mounted ./data needs
    for service in SERVICES.values():
        assert "user" not in service  # the image's user, the one the docs name


def test_the_images_commands_are_real_commands() -> None:
    """ENTRYPOINT + CMD and the HEALTHCHECK parse with the bridge's own command line."""
    (entrypoint,) = instruction("ENTRYPOINT")
    assert exec_form(entrypoint) == ["lianke-bridge"]
    (cmd,) = instruction("CMD")
    (health,) = instruction("HEALTHCHECK")
    health_argv = exec_form(health.split(" CMD ", 1)[1])
    parser = build_parser()
    run = parser.parse_args(exec_form(cmd))
    check = parser.parse_args(health_argv[1:])
    assert (run.command, check.command) == ("run", "health")
    assert run.config == check.config == "/data/config.yaml"


def test_compose_services_and_profiles() -> None:
    """Mosquitto always; the real bridge in ``live``; simulator + demo bridge in ``demo``."""
    assert set(SERVICES) == {"mosquitto", "bridge", "simulator", "demo-bridge"}
    assert "profiles" not in SERVICES["mosquitto"]
    assert SERVICES["bridge"]["profiles"] == ["live"]
    assert SERVICES["simulator"]["profiles"] == ["demo"]
    assert SERVICES["demo-bridge"]["profiles"] == ["demo"]
    for name, service in SERVICES.items():
        assert service["restart"] == "unless-stopped", name
        if name != "mosquitto":
            assert service["build"] == "."
            assert service["image"] == "lianke-bridge:latest"


@pytest.mark.parametrize("name", BRIDGES)
def test_each_bridge_checks_the_configuration_it_runs(name: str) -> None:
    """The health check reads the same file ``run`` was given; /data is a volume."""
    service = SERVICES[name]
    parser = build_parser()
    run = parser.parse_args(service["command"])
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert test[1] == "lianke-bridge"
    check = parser.parse_args(test[2:])
    assert (run.command, check.command) == ("run", "health")
    assert run.config == check.config
    targets = [volume.split(":")[1] for volume in service["volumes"]]
    assert "/data" in targets
    assert run.config == "/data/config.yaml" or f"{run.config}" in targets
    assert service["depends_on"]["mosquitto"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", BRIDGES)
def test_environment_names_are_read_by_the_configuration(name: str) -> None:
    """Every variable is one the loader reads; ``*_FILE`` names a secret the service has."""
    known = {*ENV_OVERRIDES, *(f"{var}_FILE" for var in ENV_OVERRIDES)}
    env = environment(name)
    assert set(env) <= known
    secrets = set(SERVICES[name].get("secrets", []))
    for var, value in env.items():
        if var.endswith("_FILE"):
            assert value.startswith("/run/secrets/")
            assert value.removeprefix("/run/secrets/") in secrets
            assert value.removeprefix("/run/secrets/") in COMPOSE["secrets"]
    if "MQTT_HOST" in env:
        assert env["MQTT_HOST"] in SERVICES


def test_the_real_bridge_reaches_mosquitto_with_its_secret() -> None:
    """MQTT_HOST is the broker service; the ApiKey comes from a secret file kept out of git."""
    env = environment("bridge")
    assert env["MQTT_HOST"] == "mosquitto"
    assert env["LIANKE_API_KEY_FILE"] == "/run/secrets/lianke_api_key"
    secret = Path(COMPOSE["secrets"]["lianke_api_key"]["file"])
    assert (ROOT / secret.parent / ".gitignore").read_text(encoding="utf-8").splitlines()[-2:] == [
        "*",
        "!.gitignore",
    ]
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for pattern in ("config.yaml", "secrets.yaml", "*.key", "data/", "secrets/", ".venv", "build/"):
        assert pattern in ignored


def mosquitto_port() -> int:
    """The listener port of the stack's mosquitto.conf."""
    conf = (ROOT / "docker/mosquitto/mosquitto.conf").read_text(encoding="utf-8")
    (port,) = re.findall(r"(?m)^listener\s+(\d+)", conf)
    return int(port)


def test_mosquitto_listens_where_the_bridges_connect() -> None:
    """The conf file mounted into mosquitto has the port the bridges and the host use."""
    mounts = SERVICES["mosquitto"]["volumes"]
    assert "./docker/mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro" in mounts
    port = mosquitto_port()
    assert f"{port}:{port}" in SERVICES["mosquitto"]["ports"]
    assert shlex.join(SERVICES["mosquitto"]["healthcheck"]["test"]).startswith("CMD mosquitto_sub")


def test_the_demo_config_points_at_the_demo_services(tmp_path: Path) -> None:
    """docker/demo/config.yaml is valid and names the simulator, the broker and the volume.

    Its boxes are the demo fleet's, with their keys, so the try-out really polls something.
    """
    service = SERVICES["demo-bridge"]
    config_mount = next(v for v in service["volumes"] if v.endswith("/config.yaml:ro"))
    source = ROOT / config_mount.split(":")[0]
    config = load_config(source, environ=environment("demo-bridge"))
    simulator = build_parser().parse_args(SERVICES["simulator"]["command"])
    url = urlsplit(config.lianke.base_url)
    assert (url.hostname, url.port) == ("simulator", simulator.port)
    assert simulator.host == "0.0.0.0"  # noqa: S104 - reachable from the other containers
    assert (config.mqtt.host, config.mqtt.port) == ("mosquitto", mosquitto_port())
    assert config.state_dir == Path("/data")
    fleet = demo_fleet()
    keys = {box.device_id: box.device_key for box in fleet.boxes}
    assert config.lianke.api_key == fleet.api_key
    for device in config.devices:
        assert keys[device.device_id] == device.device_key
    assert "demo-data" in COMPOSE["volumes"]
    assert "demo-data:/data" in service["volumes"]


def test_log_level_and_base_topic_come_from_the_environment() -> None:
    """LOG_LEVEL and MQTT_BASE_TOPIC, documented with the other overrides, really override."""
    config = load_config(
        ROOT / "docker/demo/config.yaml",
        environ={"LOG_LEVEL": "debug", "MQTT_BASE_TOPIC": "home/printers"},
    )
    assert (config.logging.level, config.mqtt.base_topic) == ("DEBUG", "home/printers")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for var in ENV_OVERRIDES:
        assert f"| `{var}` |" in readme, f"{var} is not in the README's table"
