"""``lianke-bridge health`` and the state directory, as a container or a service manager sees them.

Real ``lianke-bridge run`` processes against the simulator and a real Mosquitto: the health check
must be cheap (no service modules imported), must notice a bridge killed with SIGKILL at once,
and an unwritable state directory is an ERROR in the log and an unhealthy check, never silence.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mqtt_broker import MosquittoBroker, MqttProbe
from test_cli import START_TIMEOUT, clean_env, cli, run_cli, run_config

from lianke_bridge import heartbeat
from lianke_bridge.bridge.service import HEALTH_INTERVAL
from lianke_bridge.cli import main
from lianke_bridge.config import Config, load_config
from lianke_bridge.simulator import Simulator

WRITER_SCRIPT = (
    "import json; from lianke_bridge.heartbeat import writer_identity; "
    "print(json.dumps(writer_identity()))"
)
HEAVY_MODULES = (
    "asyncio",
    "aiohttp",
    "aiomqtt",
    "paho",
    "voluptuous",
    "importlib.metadata",
    "lianke_bridge.config",
    "lianke_bridge.bridge.service",
    "lianke_bridge.bridge.memory.store",
    "lianke_bridge.cloud.client",
    "lianke_bridge.simulator",
)
"""What a health check every minute must not pay for: the service and its libraries."""


def test_health_imports_neither_the_service_nor_its_libraries(tmp_path: Path) -> None:
    """``health`` in a fresh interpreter loads only the heartbeat reader (and YAML)."""
    config = tmp_path / "config.yaml"
    config.write_text("lianke: {api_key: !secret key}\nstate_dir: state\n", encoding="utf-8")
    script = (
        "import json, sys\n"
        "from lianke_bridge.cli import main\n"
        f"code = main(['health', '-c', {str(config)!r}])\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 1  # no bridge runs: unhealthy, and the reason says so
    assert "no heartbeat in" in done.stderr
    loaded = set(result["modules"])
    for module in HEAVY_MODULES:
        assert module not in loaded, f"health imported {module}"
    assert "lianke_bridge.heartbeat" in loaded


def test_the_heartbeat_module_agrees_with_the_configuration() -> None:
    """The health check's own defaults are the configuration's (it does not import it)."""
    assert str(Config.__dataclass_fields__["state_dir"].default) == heartbeat.DEFAULT_STATE_DIR
    assert heartbeat.HEALTH_INTERVAL == HEALTH_INTERVAL


def test_health_reads_state_dir_like_the_configuration(tmp_path: Path) -> None:
    """Relative to the file, default ``data``; tags like ``!secret`` do not get in the way."""
    example = Path(__file__).resolve().parent.parent / "config.example.yaml"
    config = load_config(example)
    assert heartbeat.read_state_dir(example) == config.state_dir.absolute()
    path = tmp_path / "config.yaml"
    path.write_text("lianke:\n  api_key: !secret lianke_api_key\n", encoding="utf-8")
    assert heartbeat.read_state_dir(path) == tmp_path / "data"
    path.write_text("state_dir: [1, 2]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="state_dir"):
        heartbeat.read_state_dir(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state_dir: /var/lib/lianke  # a comment\n", "/var/lib/lianke"),
        ('state_dir: "my state"\n', "my state"),
        ("state_dir: 'x y'\n", "x y"),
        ("lianke:\n  api_key: !env LIANKE_API_KEY\nstate_dir: st\n", "st"),
        ("mqtt:\n  state_dir: not-this\n", "data"),
        ("{state_dir: flow}\n", "flow"),
        ("base: &b {state_dir: merged}\n<<: *b\n", "merged"),
        ("state_dir: &d anchored\n", "anchored"),
        ("# a comment\n---\nstate_dir: doc\n", "doc"),
    ],
    ids=["comment", "double", "single", "tags", "nested", "flow", "merge", "anchor", "document"],
)
def test_health_reads_state_dir_as_yaml_does(tmp_path: Path, text: str, expected: str) -> None:
    """The quick line reader and the YAML fallback agree with the configuration loader."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    assert heartbeat.read_state_dir(path) == tmp_path / expected


def test_health_of_a_config_that_is_not_yaml_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A state_dir that cannot be read is a configuration error (exit 2)."""
    path = tmp_path / "config.yaml"
    path.write_text("state_dir: [unclosed\n", encoding="utf-8")
    assert main(["health", "-c", str(path)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_a_heartbeat_of_a_gone_process_is_unhealthy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A fresh, connected heartbeat whose writer has exited is not a running bridge."""
    child = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [
            sys.executable,
            "-c",
            WRITER_SCRIPT,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    state = tmp_path / "state"
    state.mkdir()
    data = {"mqtt": {"connected": True}, heartbeat.WRITER_KEY: json.loads(child.stdout)}
    (state / heartbeat.HEARTBEAT_FILE).write_text(json.dumps(data), encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text("state_dir: state\n", encoding="utf-8")
    assert main(["health", "-c", str(path)]) == 1
    assert "the bridge that wrote the heartbeat is not running" in capsys.readouterr().err


def test_the_heartbeat_age_survives_wall_clock_steps(tmp_path: Path) -> None:
    """A heartbeat's age is read on the monotonic clock, not from the file's time.

    Just written, with a file time a day old (the clock stepped forward since): healthy. Written
    four minutes ago on the monotonic clock, with a fresh file time (the clock was set back):
    the bridge hangs, unhealthy.
    """
    state = tmp_path / "state"
    state.mkdir()
    path = state / heartbeat.HEARTBEAT_FILE
    path.write_text(json.dumps(heartbeat.signed({"mqtt": {"connected": True}})), "utf-8")
    day_ago = time.time() - 86400
    os.utime(path, (day_ago, day_ago))
    stepped_forward = heartbeat.verdict(state)
    stale = heartbeat.signed({"mqtt": {"connected": True}})
    stale[heartbeat.MONOTONIC_KEY] -= 4 * HEALTH_INTERVAL
    path.write_text(json.dumps(stale), "utf-8")
    set_back = heartbeat.verdict(state)
    assert stepped_forward.healthy, stepped_forward.message
    assert not set_back.healthy
    assert "the bridge hangs or lost the broker" in set_back.message


async def test_a_sigkilled_bridge_is_unhealthy_at_once(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """``kill -9`` leaves the heartbeat behind; ``health`` still says unhealthy right away."""
    path = tmp_path / "config.yaml"
    path.write_text(run_config(simulator, mosquitto, base_topic, tmp_path / "state"), "utf-8")
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        cli("run", "-c", str(path)) as process,
    ):
        await probe.wait_for(f"{base_topic}/bridge/health", timeout=START_TIMEOUT)
        code, out, _err = await run_cli("health", "-c", str(path))
        assert (code, out.startswith("healthy:")) == (0, True)
        process.send(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL
    assert (tmp_path / "state" / heartbeat.HEARTBEAT_FILE).exists()  # nobody removed it
    code, _out, err = await run_cli("health", "-c", str(path))
    assert code == 1
    assert "the bridge that wrote the heartbeat is not running" in err


async def test_an_unwritable_state_dir_is_an_error_and_unhealthy(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """The bridge says ERROR (in its log and on ``bridge/log``) and ``health`` says why.

    The state directory sits below a plain file, so it cannot be created even by root (the
    container case is a volume the image's uid may not write).
    """
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(run_config(simulator, mosquitto, base_topic, blocker / "state"), "utf-8")
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        cli("run", "-c", str(path), env=clean_env()) as process,
    ):
        logged = await probe.wait_for(f"{base_topic}/bridge/log", timeout=START_TIMEOUT)
        assert logged.json()["level"] == "error"
        assert "is not writable by uid" in logged.json()["message"]
        await probe.wait_for(f"{base_topic}/bridge/health", timeout=START_TIMEOUT)
        code, _out, err = await run_cli("health", "-c", str(path))
        assert code == 1
        assert f"the state directory {blocker / 'state'} is not writable by uid" in err
    assert " ERROR " in process.err
    assert "is not writable by uid" in process.err
