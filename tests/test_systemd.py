"""systemd's notify protocol, spoken by a real ``lianke-bridge run`` to a real unix socket.

The test plays systemd: it binds a datagram socket, passes it as ``NOTIFY_SOCKET`` with a short
``WATCHDOG_USEC``, and reads what the bridge says: watchdog pings, ``READY=1`` once it reached
the broker, ``STOPPING=1`` on SIGTERM.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import shlex
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from mqtt_broker import MosquittoBroker, MqttProbe
from test_cli import START_TIMEOUT, clean_env, cli, run_config

from lianke_bridge.__main__ import build_parser
from lianke_bridge.simulator import Simulator
from lianke_bridge.systemd import Notifier

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "packaging/systemd/lianke-bridge.service"


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


async def test_the_bridge_tells_systemd_ready_alive_and_stopping(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    fake_systemd: tuple[FakeSystemd, str],
) -> None:
    """READY=1 only after the broker connection, WATCHDOG=1 keeps coming, STOPPING=1 at the end."""
    manager, address = fake_systemd
    path = tmp_path / "config.yaml"
    path.write_text(run_config(simulator, mosquitto, base_topic, tmp_path / "state"), "utf-8")
    env = clean_env(NOTIFY_SOCKET=address, WATCHDOG_USEC="200000")
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        cli("run", "-c", str(path), env=env) as process,
    ):
        ready = await manager.wait_for("READY=1")
        assert manager.messages.count("READY=1") == 1
        await probe.wait_for(f"{base_topic}/bridge/state", lambda m: m.text == "online")
        pings = ready + 3
        while len(manager.messages) < pings:  # the watchdog goes on after READY
            await manager.wait_for("WATCHDOG=1")
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
    """Type=notify with a watchdog, and an ExecStart the command line accepts."""
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(UNIT, encoding="utf-8")
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/lianke-bridge")
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run"
    assert Path(args.config).parent == Path(service["WorkingDirectory"])
    assert service["ReadWritePaths"] == service["WorkingDirectory"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"
