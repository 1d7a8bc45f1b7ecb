"""systemd's notify protocol, spoken by a real ``lianke-bridge run`` to a real unix socket.

The test plays systemd: it binds a datagram socket, passes it as ``NOTIFY_SOCKET`` with a short
``WATCHDOG_USEC``, and reads what the bridge says: watchdog pings, ``READY=1`` once it reached
the broker, ``STOPPING=1`` on SIGTERM. It starts the bridge with the unit's own ``ExecStart=``
and the configuration handed over as the unit's credential. The unit file itself is checked by
``systemd-analyze`` (``verify``, and ``security`` for its rating) where that is installed.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mqtt_broker import MosquittoBroker, MqttProbe
from test_cli import START_TIMEOUT, clean_env, cli, cli_command, run_cli, run_config

from lianke_bridge.cli.parser import build_parser
from lianke_bridge.simulator import Simulator
from lianke_bridge.systemd import Notifier

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "packaging/systemd/lianke-bridge.service"
INSTALLED = "/usr/local/bin/lianke-bridge"
"""Where the install page's pipx command puts the script (PIPX_BIN_DIR), which the unit starts."""


class FakeSystemd:
    """The service manager's end: a bound datagram socket and the messages that arrived."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.setblocking(False)  # noqa: FBT003 - the socket API
        self.messages: list[str] = []

    async def wait_for(self, message: str, timeout: float = START_TIMEOUT) -> int:
        """Read datagrams until ``message`` arrives; return its position."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while True:
                data = await loop.sock_recv(self.sock, 4096)
                self.messages.append(data.decode())
                if self.messages[-1] == message:
                    return len(self.messages) - 1


@pytest.fixture
def fake_systemd() -> Iterator[tuple[FakeSystemd, str]]:
    """A notify socket in a short-named folder (unix socket paths are limited to 108 bytes)."""
    folder = Path(f"/tmp/lb-notify-{os.getpid()}")  # noqa: S108 - a private, unique name
    folder.mkdir(exist_ok=True)
    address = str(folder / "notify")
    manager = FakeSystemd(address)
    try:
        yield manager, address
    finally:
        manager.sock.close()
        Path(address).unlink(missing_ok=True)
        folder.rmdir()


def read_unit() -> configparser.SectionProxy:
    """The unit's [Service] section (a key given twice keeps its last value)."""
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(UNIT, encoding="utf-8")
    return unit["Service"]


def exec_start(credentials: Path) -> list[str]:
    """The unit's ``ExecStart=`` as systemd runs it, with this test's installed script."""
    argv = shlex.split(read_unit()["ExecStart"])
    assert argv[0] == INSTALLED
    command = cli_command()
    return [
        *command[1:],
        *(a.replace("${CREDENTIALS_DIRECTORY}", str(credentials)) for a in argv[1:]),
    ]


def credentials() -> dict[str, str]:
    """``LoadCredential=`` of the unit: the credential's name -> the file it copies."""
    lines = [line for line in UNIT.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [line.removeprefix("LoadCredential=") for line in lines if line.startswith("Load")]
    return dict(pair.split(":", 1) for pair in pairs)


async def test_the_bridge_tells_systemd_ready_alive_and_stopping(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    fake_systemd: tuple[FakeSystemd, str],
) -> None:
    """READY=1 only after the broker connection, WATCHDOG=1 keeps coming, STOPPING=1 at the end.

    Started as the unit starts it: its ``ExecStart=`` reads the configuration from the
    credentials folder (a private copy of the root-only file), the state goes to the
    configuration's ``state_dir``, and ``health`` with the original file finds it healthy.
    """
    manager, address = fake_systemd
    original = tmp_path / "etc" / "config.yaml"  # /etc/lianke-bridge/config.yaml
    original.parent.mkdir()
    original.write_text(run_config(simulator, mosquitto, base_topic, tmp_path / "state"), "utf-8")
    original.chmod(0o600)
    folder = tmp_path / "credentials"
    folder.mkdir()
    (name,) = credentials()
    copy = folder / name
    copy.write_bytes(original.read_bytes())
    copy.chmod(0o400)
    env = clean_env(
        NOTIFY_SOCKET=address, WATCHDOG_USEC="200000", CREDENTIALS_DIRECTORY=str(folder)
    )
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        cli(*exec_start(folder), env=env) as process,
    ):
        ready = await manager.wait_for("READY=1")
        assert manager.messages.count("READY=1") == 1
        await probe.wait_for(f"{base_topic}/bridge/state", lambda m: m.text == "online")
        pings = ready + 3
        while len(manager.messages) < pings:  # the watchdog goes on after READY
            await manager.wait_for("WATCHDOG=1")
        await probe.wait_for(
            f"{base_topic}/office/state", lambda m: m.json()["online"] is True, START_TIMEOUT
        )
        code, out, _err = await run_cli("health", "-c", str(original))  # as root would
        assert (code, out.split(":")[0]) == (0, "healthy")
        process.send(signal.SIGTERM)
        await manager.wait_for("STOPPING=1")
        assert await process.wait() == 0
    assert set(manager.messages) == {"WATCHDOG=1", "READY=1", "STOPPING=1"}


def test_without_notify_socket_nothing_is_sent() -> None:
    """Outside systemd the notifier is off (and sending is a no-op)."""
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_interval is None
    notifier.send("READY=1")


def test_watchdog_for_another_pid_is_not_ours() -> None:
    """``WATCHDOG_PID`` names the process systemd watches; a child must not ping for it."""
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}
    assert Notifier(env).watchdog_interval == 15.0
    assert Notifier({**env, "WATCHDOG_PID": str(os.getpid())}).watchdog_interval == 15.0
    assert Notifier({**env, "WATCHDOG_PID": "1"}).watchdog_interval is None


def test_abstract_socket_addresses_work() -> None:
    """``@name`` is the abstract namespace (how systemd passes some sockets)."""
    name = f"lianke-bridge-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        Notifier({"NOTIFY_SOCKET": f"@{name}"}).send("READY=1")
        assert sock.recv(100) == b"READY=1"


def test_the_unit_file_runs_the_bridge_as_a_notify_service() -> None:
    """Type=notify with a watchdog; as a user systemd makes, from a root-only configuration.

    No ``User=pi`` (Raspberry Pi OS has had no such user since 2022): ``DynamicUser``, the
    state in the ``StateDirectory``, and the configuration (ApiKey and box keys) handed over as
    a credential from /etc/lianke-bridge, where ``init`` writes it readable by root only.
    """
    service = read_unit()
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert "User" not in service
    assert (service["DynamicUser"], service["StateDirectory"]) == ("yes", "lianke-bridge")
    assert service["UMask"] == "0077"
    argv = shlex.split(service["ExecStart"])
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run"
    ((name, source),) = credentials().items()
    assert args.config == f"${{CREDENTIALS_DIRECTORY}}/{name}"
    assert source == "/etc/lianke-bridge/config.yaml"
    readme = (ROOT / "docs/install/pipx-systemd.md").read_text(encoding="utf-8")
    assert f"PIPX_BIN_DIR={Path(INSTALLED).parent} pipx install lianke-bridge" in readme
    assert f"init -o {source} --state-dir /var/lib/{service['StateDirectory']}" in readme


async def test_a_bad_configuration_is_not_restarted_forever(tmp_path: Path) -> None:
    """The exit code of a bad or missing configuration is one the unit does not restart on."""
    kept = {int(code) for code in read_unit()["RestartPreventExitStatus"].split()}
    bad = tmp_path / "config.yaml"
    bad.write_text("devices: []\n", encoding="utf-8")
    for config in (bad, tmp_path / "missing.yaml"):
        code, _out, err = await run_cli("run", "-c", str(config))
        assert code in kept, err


def systemd_analyze() -> str:
    """The ``systemd-analyze`` binary, or skip (it is not installed everywhere)."""
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.skip("systemd-analyze is not installed")
    return binary


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    """``systemd-analyze verify`` finds nothing to say (the script: this test's installed one)."""
    command = cli_command()
    if len(command) > 1:
        pytest.skip("no installed lianke-bridge script beside this Python")
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, command[0]), "utf-8")
    done = subprocess.run(  # noqa: S603 - a fixed command
        [systemd_analyze(), "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_unit_is_rated_ok_by_systemd_analyze_security() -> None:
    """``systemd-analyze security`` rates the unit's exposure 3.0 or less: "OK"."""
    done = subprocess.run(  # noqa: S603 - a fixed command
        [systemd_analyze(), "security", "--offline=true", "--threshold=30", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", done.stdout)
    assert found is not None, done.stdout + done.stderr
    assert float(found[1]) <= 3.0
    assert (found[2], done.returncode) == ("OK", 0)
