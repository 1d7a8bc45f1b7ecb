"""The Dockerfile, docker-compose.yml and the demo stack's files agree with the bridge itself.

No Docker engine is needed: the files are parsed and checked against what the code really does
(the command line, the configuration loader and its environment overrides, the demo fleet), so
a renamed option or path breaks this test instead of a Pi owner's stack.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hcl2
import jsonschema
import pytest
import yaml
from mqtt_broker import MosquittoBroker

from lianke_bridge import PROJECT_URL
from lianke_bridge.cli.parser import build_parser
from lianke_bridge.config import ENV_OVERRIDES, load_config
from lianke_bridge.simulator import demo_fleet

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
BASE_IMAGE = "python:3.12-slim-bookworm"
BRIDGES = ("bridge", "demo-bridge")
"""The compose services that run ``lianke-bridge run``."""
IMAGE = "ghcr.io/lianke-bridge/lianke-bridge"
"""Where a release's image is published (docs/raspberry-pi.md, "The image")."""
COMPOSE_SCHEMA = ROOT / "tests/data/compose-spec/compose-spec.json"
"""The Compose Specification's JSON Schema (vendored: CI has no ``docker compose``)."""


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
    assert user in (ROOT / "docs/raspberry-pi.md").read_text(encoding="utf-8")
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert f"writable by {user}" in compose  # what the bind-mounted ./data needs
    for service in SERVICES.values():
        assert "user" not in service  # the image's user, the one the docs name


def pyproject() -> dict[str, Any]:
    """The package's metadata (pyproject.toml's [project] table)."""
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    return project


def test_the_image_carries_oci_labels_of_the_package() -> None:
    """Title, description, source, licence as the package says; version and revision passed in.

    The labels are declared after the last layer that installs anything, so a new commit
    rebuilds no layer.
    """
    (labels,) = instruction("LABEL")
    found = dict(re.findall(r'org\.opencontainers\.image\.(\w+)="([^"]*)"', labels))
    meta = pyproject()
    assert found == {
        "title": meta["name"],
        "description": meta["description"],
        "source": PROJECT_URL,
        "url": PROJECT_URL,
        "documentation": f"{PROJECT_URL}#readme",
        "licenses": meta["license"],
        "version": "${VERSION}",
        "revision": "${REVISION}",
    }
    args = [item.split("=", 1)[0] for item in instruction("ARG")]
    assert {"VERSION", "REVISION"} <= set(args)
    assert DOCKERFILE.index("LABEL ") > DOCKERFILE.rindex("RUN ")


def test_the_build_stage_copies_what_the_package_build_reads() -> None:
    """The readme and licence file pyproject names reach the build context and build stage.

    A licence file missing there builds a wheel without it (setuptools only warns).
    """
    meta = pyproject()
    needed = {"pyproject.toml", meta["readme"], *meta["license-files"], "config.example.yaml"}
    first = instruction("COPY")[0].split()
    assert first[-1] == "./"
    assert needed <= set(first[:-1])
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines())
    assert not needed & ignored


def unquote(value: Any) -> Any:
    """A python-hcl2 value without the quotes it keeps around strings."""
    if isinstance(value, list):
        return [unquote(item) for item in value]
    if isinstance(value, str) and len(value) > 1 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def bake_blocks(kind: str) -> dict[str, dict[str, Any]]:
    """The ``variable``/``target``/``function`` blocks of docker-bake.hcl, by name."""
    with (ROOT / "docker-bake.hcl").open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    return {
        unquote(name): {key: unquote(value) for key, value in body.items()}
        for block in parsed[kind]
        for name, body in block.items()
    }


def test_the_bake_file_builds_a_release_for_every_platform() -> None:
    """amd64, arm64 and arm/v7 (32-bit Raspberry Pi OS), tagged X.Y.Z, X.Y and latest.

    The HCL is parsed with python-hcl2 (CI has no buildx); the tags' one function, ``minor``,
    is checked to cut a version after its second number. Version and revision reach the
    Dockerfile's labels as build arguments.
    """
    targets = bake_blocks("target")
    release = targets["release"]
    assert release["platforms"] == ["linux/amd64", "linux/arm64", "linux/arm/v7"]
    image = unquote(bake_blocks("variable")["IMAGE"]["default"])
    assert image == IMAGE
    assert release["tags"] == [
        "${IMAGE}:${VERSION}",
        "${IMAGE}:${minor(VERSION)}",
        "${IMAGE}:latest",
    ]
    minor = bake_blocks("function")["minor"]
    assert (minor["params"], minor["result"]) == (
        ["version"],
        '${join(".", slice(split(".", version), 0, 2))}',
    )
    common = targets["_common"]
    assert release["inherits"] == ["_common"]
    assert (common["context"], common["dockerfile"]) == (".", "Dockerfile")
    assert common["args"] == {"VERSION": "VERSION", "REVISION": "REVISION"}
    readme = (ROOT / "docs/raspberry-pi.md").read_text(encoding="utf-8")
    for tag in (":0.3.0", ":0.3", ":latest"):
        assert f"`{IMAGE}{tag}`" in readme


def test_bake_resolves_the_release_tags_where_buildx_is_installed() -> None:
    """``docker buildx bake --print release`` (no engine needed) names the three tags."""
    docker = shutil.which("docker")
    version = [docker or "docker", "buildx", "version"]
    if docker is None or subprocess.run(version, capture_output=True, check=False).returncode:  # noqa: S603
        pytest.skip("docker buildx is not installed")
    env = {**os.environ, "VERSION": "1.2.3", "REVISION": "abc"}
    done = subprocess.run(  # noqa: S603 - a fixed command
        [docker, "buildx", "bake", "--print", "release"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    target = json.loads(done.stdout)["target"]["release"]
    assert target["tags"] == [f"{IMAGE}:1.2.3", f"{IMAGE}:1.2", f"{IMAGE}:latest"]
    assert target["args"] == {"VERSION": "1.2.3", "REVISION": "abc"}


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
            assert service["build"] == "."  # built here when the registry does not have it
            assert service["image"] == f"{IMAGE}:${{LIANKE_BRIDGE_TAG:-latest}}"


def test_the_compose_file_is_valid_for_compose_v2() -> None:
    """The file passes the Compose Specification's schema, as ``docker compose config`` checks.

    The install page and the file itself say that Compose v2 is needed (v1 rejects ``name:``).
    """
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(COMPOSE), key=str)
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []
    assert COMPOSE["name"] == "lianke-bridge"
    for text in (ROOT / "docker-compose.yml", ROOT / "docs/install/docker-compose.md"):
        assert "Compose v2" in text.read_text(encoding="utf-8")


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
    """The conf file mounted into mosquitto has the port the bridges use; the host's is a choice.

    ``MOSQUITTO_PORT`` (default 1883) moves the published port off one a broker already holds.
    """
    mounts = SERVICES["mosquitto"]["volumes"]
    assert "./docker/mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro" in mounts
    port = mosquitto_port()
    assert SERVICES["mosquitto"]["ports"] == [f"${{MOSQUITTO_PORT:-1883}}:{port}"]
    readme = (ROOT / "docs/install/docker-compose.md").read_text(encoding="utf-8")
    assert "MOSQUITTO_PORT=1884 docker compose" in readme


def test_mosquittos_password_file_and_data_are_on_volumes() -> None:
    """The password file's folder and the retained messages outlive a recreated container.

    The install page's recipe writes /mosquitto/config/passwd: that folder is a named volume, with
    the repository's mosquitto.conf mounted read-only over it.
    """
    mounts = [volume.split(":") for volume in SERVICES["mosquitto"]["volumes"]]
    named = {target: source for source, target, *_ in mounts if source in COMPOSE["volumes"]}
    assert set(named) == {"/mosquitto/config", "/mosquitto/data"}
    readme = (ROOT / "docs/install/docker-compose.md").read_text(encoding="utf-8")
    recipe = "docker compose exec mosquitto mosquitto_passwd -c /mosquitto/config/passwd"
    assert recipe in readme


def compose_shell(command: list[str]) -> str:
    """A health check as a shell command line (``$$`` in the file is a ``$``)."""
    kind, *args = (part.replace("$$", "$") for part in command)
    if kind == "CMD-SHELL":
        (text,) = args
        return text
    assert kind == "CMD"
    return shlex.join(args)


@pytest.fixture
def mosquitto_sub() -> str:
    """The mosquitto_sub the health check runs (in the image; here from mosquitto-clients)."""
    found = shutil.which("mosquitto_sub")
    if found is None:
        pytest.skip("mosquitto_sub is not installed (apt-get install mosquitto-clients)")
    return found


@pytest.mark.parametrize("passwords", [False, True], ids=["anonymous", "passwords"])
def test_mosquittos_health_check_passes_with_and_without_passwords(
    mosquitto_factory: Callable[..., MosquittoBroker],
    mosquitto_sub: str,
    tmp_path: Path,
    passwords: bool,
) -> None:
    """The compose health check, run on a real Mosquitto: healthy while it answers MQTT.

    With passwords on (``allow_anonymous false``, the install page's recipe) the check is refused as
    "not authorised", which is a broker that runs: the bridges' ``service_healthy`` wait ends.
    With the broker gone it fails. ``mosquitto_sub`` reads the address from its options file,
    as the container's own check needs none (the broker is on its localhost:1883).
    """
    broker = mosquitto_factory(users={"lianke": "s3cret-pass"} if passwords else None)
    options = tmp_path / "xdg"
    options.mkdir()
    (options / "mosquitto_sub").write_text(f"-h {broker.host}\n-p {broker.port}\n", "utf-8")
    check = compose_shell(SERVICES["mosquitto"]["healthcheck"]["test"])
    env = {**os.environ, "XDG_CONFIG_HOME": str(options)}

    def healthy() -> bool:
        done = subprocess.run(["/bin/sh", "-c", check], env=env, timeout=30, check=False)  # noqa: S603
        return done.returncode == 0

    assert healthy()
    broker.stop()
    assert not healthy()


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
    reference = (ROOT / "docs/configuration.md").read_text(encoding="utf-8")
    for var in ENV_OVERRIDES:
        assert f"| `{var}` |" in reference, f"{var} is not in docs/configuration.md's table"
