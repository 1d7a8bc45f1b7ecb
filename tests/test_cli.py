"""The ``lianke-bridge`` command as a user runs it: real processes, the simulator, a real broker.

Quick commands (decode-qr, check-config, --print-fleet) run through ``main()`` in this process;
everything that serves or runs (simulate, run, demo) is a subprocess of the installed script,
stopped with the signal a user or a service manager would send.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import aiohttp
import aiomqtt
import pytest
from mqtt_broker import MosquittoBroker, MqttProbe, ProbeMessage, free_port, sentinel_round_trip

from lianke_bridge import __version__
from lianke_bridge.bridge.memory.store import HEARTBEAT_FILE
from lianke_bridge.bridge.service import HEALTH_INTERVAL
from lianke_bridge.cli import main
from lianke_bridge.cli.parser import build_parser
from lianke_bridge.config import ENV_OVERRIDES
from lianke_bridge.heartbeat import WRITER_KEY, writer_identity
from lianke_bridge.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.yaml"
OFFICE_ID = "lc01demo000001"
OFFICE_KEY = "demo-key-0001"
OFFICE_TOKEN = base64.b64encode(f"{OFFICE_ID}:{OFFICE_KEY}".encode()).decode()
OFFICE_LINK = f"https://cloud.liankenet.com/qr?token={OFFICE_TOKEN}"
STOP_TIMEOUT = 5.0
"""Seconds a signalled process gets to clean up and exit (it takes well under one)."""
START_TIMEOUT = 15.0
"""Seconds a started process gets to print its first useful line (imports included)."""


def cli_command() -> list[str]:
    """The installed ``lianke-bridge`` script next to this Python, else ``python -m``."""
    script = Path(sys.executable).with_name("lianke-bridge")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "lianke_bridge"]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without variables that would change the bridge's configuration."""
    env = dict(os.environ)
    for var in (*ENV_OVERRIDES, "LIANKE_DEMO_BROKER"):
        env.pop(var, None)
        env.pop(f"{var}_FILE", None)
    env.update(extra)
    return env


class CliProcess:
    """A running ``lianke-bridge`` subprocess whose output lines are collected as they come."""

    def __init__(self, args: list[str], env: Mapping[str, str], *, new_session: bool) -> None:
        self.args = args
        self.env = dict(env)
        self.new_session = new_session
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = asyncio.Condition()
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    @property
    def process(self) -> asyncio.subprocess.Process:
        """The started process."""
        assert self._process is not None
        return self._process

    async def start(self) -> None:
        """Start the process and begin collecting stdout and stderr."""
        self._process = await asyncio.create_subprocess_exec(
            *cli_command(),
            *self.args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            start_new_session=self.new_session,
        )
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._readers = [
            asyncio.create_task(self._collect(self._process.stdout, self.stdout)),
            asyncio.create_task(self._collect(self._process.stderr, self.stderr)),
        ]

    async def _collect(self, stream: asyncio.StreamReader, lines: list[str]) -> None:
        async for raw in stream:
            async with self._changed:
                lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()

    @property
    def out(self) -> str:
        """Everything printed on stdout so far."""
        return "\n".join(self.stdout)

    @property
    def err(self) -> str:
        """Everything printed on stderr so far."""
        return "\n".join(self.stderr)

    async def wait_output(
        self, predicate: Callable[[str], bool], *, stream: str = "stdout", timeout: float
    ) -> str:
        """Wait until the whole output of ``stream`` satisfies the predicate; return it."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                while True:
                    text = self.out if stream == "stdout" else self.err
                    if predicate(text):
                        return text
                    if self.process.returncode is not None and all(r.done() for r in self._readers):
                        pytest.fail(
                            f"lianke-bridge exited with {self.process.returncode}:\n"
                            f"{self.out}\n{self.err}"
                        )
                    await self._changed.wait()
        except TimeoutError:
            pytest.fail(
                f"lianke-bridge printed nothing expected in {timeout}s:\n{self.out}\n{self.err}"
            )

    def send(self, sig: signal.Signals, *, group: bool = False) -> None:
        """Send a signal to the process, or to its whole process group (like Ctrl-C does)."""
        if group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)

    async def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Wait for the exit (and the end of its output); return the exit code."""
        async with asyncio.timeout(timeout):
            code = await self.process.wait()
            await asyncio.gather(*self._readers)
        return code

    async def stop(self) -> None:
        """If it still runs (a failed test): SIGTERM (the demo stops its broker), then kill."""
        if self._process is None:
            return
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self._process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
        await self._process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


@contextlib.asynccontextmanager
async def cli(
    *args: str, env: Mapping[str, str] | None = None, new_session: bool = False
) -> AsyncIterator[CliProcess]:
    """Run ``lianke-bridge ARGS`` for the duration of the block."""
    process = CliProcess(
        list(args), env if env is not None else clean_env(), new_session=new_session
    )
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def run_cli(*args: str, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """Run a command that ends by itself; return exit code, stdout and stderr."""
    async with cli(*args, env=env) as process:
        code = await process.wait(START_TIMEOUT)
        return code, process.out, process.err


# ---- --version, decode-qr -----------------------------------------------------------------
async def test_version_from_the_installed_script() -> None:
    """``lianke-bridge --version`` prints the package version and exits 0."""
    code, out, _err = await run_cli("--version")
    assert code == 0
    assert out.strip() == f"lianke-bridge {__version__}"


def test_the_installed_package_has_the_version_of_the_code() -> None:
    """The build reads ``__version__``: pip, ``--version`` and ``bridge/info`` say the same."""
    assert importlib.metadata.version("lianke-bridge") == __version__


def test_decode_qr_link_shows_the_device_id_only(capsys: pytest.CaptureFixture[str]) -> None:
    """A pasted QR link gives the device id; the key and the token (the key encoded) stay hidden."""
    assert main(["decode-qr", OFFICE_LINK]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"device_id": OFFICE_ID}
    for secret in (OFFICE_KEY, OFFICE_TOKEN):
        assert secret not in captured.out + captured.err


def test_decode_qr_bare_token_with_show_key(capsys: pytest.CaptureFixture[str]) -> None:
    """The bare token works too, and ``--show-key`` adds the key for the configuration."""
    assert main(["decode-qr", "--show-key", OFFICE_TOKEN]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {"device_id": OFFICE_ID, "device_key": OFFICE_KEY}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "nothing to decode"),
        ("not a token!", "base64"),
        ("https://cloud.liankenet.com/qr?id=5", "no token parameter"),
        # base64 of the id and key without the ':' between them: decodes, but is no QR token
        (base64.b64encode(f"{OFFICE_ID}{OFFICE_KEY}".encode()).decode(), "token"),
    ],
)
def test_decode_qr_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], text: str, says: str
) -> None:
    """Bad input exits 2 with one clear line on stderr, nothing on stdout, never the key."""
    assert main(["decode-qr", text]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert says in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert OFFICE_KEY not in captured.err
    if text:
        assert text not in captured.err


# ---- check-config -------------------------------------------------------------------------
BROKEN_CONFIG = """\
lianke:
  api_key: ""
devices:
  - name: "Bad Name"
    device_id: lc01demo000001
mqtt:
  port: 99999
  password: hunter2-secret
"""


def test_check_config_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped example passes and is summarised in one line, without its ApiKey."""
    assert main(["check-config", "-c", str(EXAMPLE_CONFIG)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("OK: 2 devices (office, warehouse)")
    assert "base topic lianke" in captured.out
    assert "demo-api-key" not in captured.out
    assert OFFICE_KEY not in captured.out


def test_check_config_lists_every_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A broken file exits 2 and names each problem with its line, never the password."""
    path = tmp_path / "config.yaml"
    path.write_text(BROKEN_CONFIG, encoding="utf-8")
    assert main(["check-config", "-c", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    report = captured.err
    assert "problems" in report.splitlines()[0]
    for fragment in (
        "line 2: lianke.api_key",
        "devices[0].device_key",
        "devices[0].name",
        "line 7: mqtt.port",
        "mqtt.password",
    ):
        assert fragment in report
    assert "hunter2-secret" not in report


def test_check_config_refuses_a_dollar_base_topic(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``base_topic: $SYS/x`` exits 2: the broker would drop everything the bridge publishes."""
    path = tmp_path / "config.yaml"
    path.write_text(
        EXAMPLE_CONFIG.read_text("utf-8").replace("base_topic: lianke", "base_topic: $SYS/x", 1),
        "utf-8",
    )
    assert main(["check-config", "-c", str(path)]) == 2
    assert "mqtt.base_topic: must not start with '$'" in capsys.readouterr().err


def test_check_config_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A missing file exits 2 and points at the example."""
    assert main(["check-config", "-c", str(tmp_path / "nope.yaml")]) == 2
    assert "config.example.yaml" in capsys.readouterr().err


def test_callback_url_prints_the_address_check_config_only_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``callback-url`` prints the whole address, token made and kept; check-config never does."""
    path = push_config(tmp_path)
    assert main(["callback-url", "-c", str(path)]) == 0
    address = capsys.readouterr().out.strip()
    token = address.removeprefix("https://print.example.com/lianke/")
    assert len(token) == 32
    assert main(["callback-url", "-c", str(path)]) == 0
    assert capsys.readouterr().out.strip() == address
    assert main(["check-config", "-c", str(path)]) == 0
    report = capsys.readouterr().out
    assert "served on POST /lianke/<token>" in report
    assert token not in report
    assert main(["callback-url", "-c", str(EXAMPLE_CONFIG)]) == 2
    assert "lianke.callback_url is not set" in capsys.readouterr().err


# ---- simulate -----------------------------------------------------------------------------
def test_simulate_print_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    """``--print-fleet`` prints the demo fleet as JSON: the ApiKey and every box with its key."""
    assert main(["simulate", "--print-fleet"]) == 0
    fleet = json.loads(capsys.readouterr().out)
    assert fleet["api_key"] == "demo-api-key"
    office = fleet["boxes"][0]
    assert (office["device_id"], office["device_key"]) == (OFFICE_ID, OFFICE_KEY)
    assert len(fleet["boxes"]) == 3


async def test_simulate_serves_until_sigterm() -> None:
    """``simulate --port N`` answers the API on N; SIGTERM stops it promptly with exit 0."""
    port = free_port()
    async with cli("simulate", "--port", str(port)) as process:
        await process.wait_output(
            lambda text: f"listening on http://127.0.0.1:{port}" in text,
            stream="stderr",
            timeout=START_TIMEOUT,
        )
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}/api/device/device_info",
                params={"deviceId": OFFICE_ID, "deviceKey": OFFICE_KEY},
                headers={"ApiKey": "demo-api-key"},
            ) as response,
        ):
            body = await response.json()
        assert body["code"] == 200
        process.send(signal.SIGTERM)
        assert await process.wait() == 0
    assert "Traceback" not in process.err


async def test_simulate_on_a_taken_port_says_so() -> None:
    """A port already in use ends with exit 1 and a one-line reason, not a traceback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        code, _out, err = await run_cli("simulate", "--port", str(port))
    assert code == 1
    assert "Traceback" not in err
    assert "address already in use" in err


# ---- run ----------------------------------------------------------------------------------
def run_config(simulator: Simulator, broker: MosquittoBroker, base: str, state_dir: Path) -> str:
    """A configuration file for the simulator's first box on the test's broker."""
    box = simulator.fleet.boxes[0]
    return f"""\
lianke:
  api_key: {simulator.fleet.api_key}
  base_url: {simulator.url}
devices:
  - name: office
    device_id: {box.device_id}
    device_key: {box.device_key}
mqtt:
  host: {broker.host}
  port: {broker.port}
  base_topic: {base}
  client_id: {base}
homeassistant:
  enabled: false
state_dir: {state_dir}
"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
async def test_run_publishes_state_and_stops_on_a_signal(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    stop: signal.Signals,
) -> None:
    """``run -c FILE``: online, the box's state, healthy; a signal -> offline and exit 0.

    SIGTERM is how a service manager or Docker stops it, SIGINT Ctrl-C. SIGHUP before it does
    not stop the bridge: it tries the cloud again. At DEBUG (given after the command) the log
    shows the configuration, never a secret.
    """
    path = tmp_path / "config.yaml"
    path.write_text(run_config(simulator, mosquitto, base_topic, tmp_path / "state"), "utf-8")
    code, _out, err = await run_cli("health", "-c", str(path))
    assert (code, err.strip()) == (
        1,
        f"unhealthy: no heartbeat in {tmp_path}/state/health.json (is the bridge running?)",
    )
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        cli("run", "-c", str(path), "--log-level", "debug") as process,
    ):
        await probe.wait_for(
            f"{base_topic}/bridge/state", lambda m: m.text == "online", START_TIMEOUT
        )
        state = await probe.wait_for(
            f"{base_topic}/office/state", lambda m: m.json()["online"] is True, START_TIMEOUT
        )
        assert state.retain
        assert state.json()["firmware"] == "2.1.113"
        code, out, _err = await run_cli("health", "-c", str(path))
        assert code == 0
        assert out.startswith("healthy: connected to the broker")
        asked = simulator.count("/api/device/device_info")
        process.send(signal.SIGHUP)
        async with asyncio.timeout(START_TIMEOUT):  # the retry polls every box at once
            while simulator.count("/api/device/device_info") <= asked:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        mark = probe.mark()
        process.send(stop)
        assert await process.wait() == 0
        offline = await probe.wait_for(f"{base_topic}/bridge/state", since=mark)
        assert (offline.text, offline.retain) == ("offline", True)
    assert "Traceback" not in process.err
    assert "SIGHUP: trying the cloud again" in process.err
    assert " DEBUG " in process.err
    assert "configuration:" in process.err
    for secret in (simulator.fleet.api_key, OFFICE_KEY):
        assert secret not in process.err


async def test_run_with_a_bad_config_exits_2(tmp_path: Path) -> None:
    """A broken configuration stops ``run`` before it connects: exit 2, every problem, no trace."""
    path = tmp_path / "config.yaml"
    path.write_text(BROKEN_CONFIG, encoding="utf-8")
    code, out, err = await run_cli("run", "-c", str(path))
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert "lianke.api_key" in err
    assert "mqtt.port" in err
    assert "hunter2-secret" not in err


async def test_run_without_the_config_file_exits_2(tmp_path: Path) -> None:
    """``run`` with a missing file says which file and how to start one."""
    code, _out, err = await run_cli("run", "-c", str(tmp_path / "config.yaml"))
    assert code == 2
    assert "config.example.yaml" in err
    assert "Traceback" not in err


def write_heartbeat(state_dir: Path, *, connected: bool, age: float) -> None:
    """A heartbeat as a bridge leaves it, ``age`` seconds old (written by this live process)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / HEARTBEAT_FILE
    data = {"mqtt": {"connected": connected}, "api_problem": True, WRITER_KEY: writer_identity()}
    path.write_text(json.dumps(data), "utf-8")
    then = time.time() - age
    os.utime(path, (then, then))


@pytest.mark.parametrize(
    ("heartbeat", "code", "says"),
    [
        ((True, 5), 0, "healthy: connected to the broker, heartbeat 5 s old; the cloud reports"),
        ((True, 3 * HEALTH_INTERVAL + 5), 1, "unhealthy: the last heartbeat is"),
        ((False, 5), 1, "unhealthy: not connected to the MQTT broker"),
    ],
    ids=["fresh", "stale", "disconnected"],
)
def test_health_reads_the_heartbeat(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    heartbeat: tuple[bool, float],
    code: int,
    says: str,
) -> None:
    """``health`` is 0 only for a fresh heartbeat of a connected bridge (cloud trouble or not)."""
    connected, age = heartbeat
    path = tmp_path / "config.yaml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^state_dir:.*$", "state_dir: state", text), "utf-8")
    write_heartbeat(tmp_path / "state", connected=connected, age=age)
    assert main(["health", "-c", str(path)]) == code
    captured = capsys.readouterr()
    assert (captured.out if code == 0 else captured.err).startswith(says)


async def test_health_without_its_configuration_says_so_in_words(tmp_path: Path) -> None:
    """A missing or unreadable configuration: one sentence, exit 2, no errno or traceback."""
    missing = tmp_path / "missing.yaml"
    code, out, err = await run_cli("health", "-c", str(missing))
    assert (code, out) == (2, "")
    assert err == f"no configuration file at {missing} (-c {missing})"
    code, out, err = await run_cli("health", "-c", str(tmp_path))  # a folder, not a file
    assert (code, out) == (2, "")
    assert err == f"{tmp_path} is a folder, not a file"


def test_health_with_a_bad_state_dir_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A configuration whose ``state_dir`` is no folder path is a configuration error (exit 2)."""
    path = tmp_path / "config.yaml"
    path.write_text("state_dir: [a, b]\n", encoding="utf-8")
    assert main(["health", "-c", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"configuration error in {path}: state_dir")


def test_log_level_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown ``--log-level`` is a usage error (exit 2), not a crash."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--log-level", "chatty", "simulate", "--print-fleet"])
    assert exit_info.value.code == 2
    assert "--log-level" in capsys.readouterr().err


def healthy_config(folder: Path) -> Path:
    """A configuration whose bridge counts as running and connected (a fresh heartbeat)."""
    path = folder / "config.yaml"
    path.write_text("state_dir: state\n", encoding="utf-8")
    write_heartbeat(folder / "state", connected=True, age=0)
    return path


def push_config(folder: Path) -> Path:
    """The example configuration, pushes to the bridge's own endpoint, its state in ``folder``."""
    path = folder / "config.yaml"
    text = EXAMPLE_CONFIG.read_text("utf-8").replace(
        "  # callback_url: https://print.example.com/lianke/{token}",
        "  callback_url: https://print.example.com/lianke/{token}",
        1,
    )
    text = text.replace("  enabled: false                         # off", "  enabled: true #", 1)
    path.write_text(text.replace("state_dir: data", f"state_dir: {folder / 'state'}"), "utf-8")
    return path


ENDING_COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "check-config": lambda _tmp: ["-c", str(EXAMPLE_CONFIG)],
    "health": lambda tmp: ["-c", str(healthy_config(tmp))],
    "init": lambda tmp: ["-o", str(tmp / "new.yaml"), "--api-key", "k-1", "--qr", OFFICE_LINK],
    "decode-qr": lambda _tmp: [OFFICE_TOKEN],
    "callback-url": lambda tmp: ["-c", str(push_config(tmp))],
    "simulate": lambda _tmp: ["--print-fleet"],
}
"""Arguments with which each command that ends by itself succeeds (exit 0)."""
SERVING_COMMANDS = ("run", "demo", "addon")
"""Commands that serve until stopped (``--log-level`` after them is parsed here)."""


def test_every_command_is_tried_with_log_level() -> None:
    """The table below names every command: a new one must take ``--log-level`` too."""
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == {*ENDING_COMMANDS, *SERVING_COMMANDS}
    for name in SERVING_COMMANDS:
        args = parser.parse_args([name, "--log-level", "warning"])
        assert args.log_level == "WARNING"


@pytest.mark.parametrize("place", ["after", "before"])
@pytest.mark.parametrize("command", list(ENDING_COMMANDS))
async def test_log_level_goes_before_or_after_any_command(
    tmp_path: Path, command: str, place: str
) -> None:
    """``--log-level debug`` is accepted on both sides of every command, which then succeeds."""
    level = ["--log-level", "debug"]
    args = [command, *ENDING_COMMANDS[command](tmp_path)]
    argv = [*args, *level] if place == "after" else [*level, *args]
    code, _out, err = await run_cli(*argv)
    assert (code, "unrecognized arguments" in err) == (0, False), err


def test_output_into_a_closed_pipe_ends_without_a_traceback() -> None:
    """``simulate --print-fleet | head``: a reader that went away is no traceback, exit 1.

    The pipe's reading end is closed before the command writes, so the broken pipe is certain
    (``| head`` in a shell only breaks it when head exits first).
    """
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(  # noqa: S603 - the installed script, fixed arguments
            [*cli_command(), "simulate", "--print-fleet"],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=clean_env(),
            timeout=START_TIMEOUT,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr.decode()) == (1, "")


# ---- demo ---------------------------------------------------------------------------------
def printed_commands(output: str, program: str) -> list[list[str]]:
    """The shell commands starting with ``program`` in the demo's output, as argv lists."""
    joined = re.sub(r"\\\n\s*", "", output)  # the shell's line continuations
    return [
        shlex.split(line.strip())
        for line in joined.splitlines()
        if line.strip().startswith(program + " ")
    ]


def option(argv: list[str], name: str) -> str | None:
    """The value after ``name`` in an argv list."""
    return argv[argv.index(name) + 1] if name in argv else None


async def publish_as_printed(argv: list[str], probe: MqttProbe) -> None:
    """Run a printed ``mosquitto_pub`` command (or publish the same with the probe)."""
    binary = shutil.which("mosquitto_pub")
    if binary is not None:
        process = await asyncio.create_subprocess_exec(binary, *argv[1:])
        async with asyncio.timeout(STOP_TIMEOUT):
            assert await process.wait() == 0
        return
    topic, payload = option(argv, "-t"), option(argv, "-m")
    assert topic is not None
    assert payload is not None
    await probe.publish(topic, payload, qos=int(option(argv, "-q") or 0))


DEMO_BROKERS = [
    pytest.param("mosquitto", aiomqtt.ProtocolVersion.V5, id="mosquitto"),
    pytest.param("embedded", aiomqtt.ProtocolVersion.V311, id="embedded"),
]


DEMO_BASE = "lianke-demo"
"""The demo's topic root on a broker no other demo uses."""


async def demo_answer(probe: MqttProbe, *, since: int, base: str = DEMO_BASE) -> ProbeMessage:
    """The demo bridge's one answer to a print sent after ``since`` (a second fails the test)."""
    answer = await probe.wait_for(
        f"{base}/office/response/print", timeout=START_TIMEOUT, since=since
    )
    await sentinel_round_trip(probe, base)
    probe.assert_one(f"{base}/office/response/print", since=since)
    return answer


@pytest.mark.parametrize(("kind", "protocol"), DEMO_BROKERS)
async def test_demo_prints_a_job_and_stops_on_ctrl_c(
    kind: str, protocol: aiomqtt.ProtocolVersion, request: pytest.FixtureRequest
) -> None:
    """The demo starts its broker, shows the boxes, prints the pasted job; Ctrl-C ends it cleanly.

    The print command is the one the demo printed, run as printed; Ctrl-C is SIGINT to the
    whole process group, as a terminal sends it (the broker the demo started included).
    """
    if kind == "embedded":
        pytest.importorskip("amqtt")
    else:
        request.getfixturevalue("mosquitto_binary")  # skips the test without mosquitto
    port = free_port()
    env = clean_env(LIANKE_DEMO_BROKER=kind)
    async with cli("demo", "--broker-port", str(port), env=env, new_session=True) as process:
        out = await process.wait_output(
            lambda text: "Ctrl-C stops everything" in text, timeout=START_TIMEOUT
        )
        where = f"-h 127.0.0.1 -p {port}"
        started = {
            "mosquitto": "started mosquitto at",
            "embedded": "started the embedded broker (MQTT 3.1.1) at",
        }
        assert f"{started[kind]} 127.0.0.1:{port}" in out
        assert f"mosquitto_sub {where} -t '{DEMO_BASE}/#' -v" in out
        publish = printed_commands(out, "mosquitto_pub")
        assert len(publish) == 2
        assert option(publish[0], "-t") == f"{DEMO_BASE}/office/request/print"
        assert option(publish[0], "-p") == str(port)

        async with MqttProbe(
            "127.0.0.1", port, subscribe=[f"{DEMO_BASE}/#"], protocol=protocol
        ) as probe:
            await probe.wait_for(f"{DEMO_BASE}/bridge/state", lambda m: m.text == "online")
            await probe.wait_for(
                f"{DEMO_BASE}/office/state", lambda m: m.json()["online"] is True, START_TIMEOUT
            )
            mark = probe.mark()
            await publish_as_printed(publish[0], probe)
            response = await demo_answer(probe, since=mark)
            envelope = response.json()
            assert envelope["status"] == "ok", envelope
            task_id = envelope["data"]["task_id"]
            job = await probe.wait_for(
                f"{DEMO_BASE}/office/job/{task_id}",
                lambda m: m.json()["state"] == "succeeded",
                timeout=15,
                since=mark,
            )
            assert job.json()["port"] == 1

            # pasting it again prints again (no transaction id that would make it a duplicate)
            mark = probe.mark()
            await publish_as_printed(publish[0], probe)
            again = await demo_answer(probe, since=mark)
            assert again.json()["status"] == "ok", again.json()
            assert again.json()["data"]["task_id"] != task_id

            # the second printed command: a text page on the receipt printer
            mark = probe.mark()
            await publish_as_printed(publish[1], probe)
            receipt = await demo_answer(probe, since=mark)
            assert receipt.json()["status"] == "ok", receipt.json()
            assert receipt.json()["data"]["port"] == 2

            mark = probe.mark()
            process.send(signal.SIGINT, group=True)
            # the demo first empties every topic it retained: on a loaded machine that takes a while
            offline = await probe.wait_for(
                f"{DEMO_BASE}/bridge/state", since=mark, timeout=START_TIMEOUT
            )
            assert offline.text == "offline"
            assert await process.wait() == 0
    assert "Traceback" not in process.err
    assert " ERROR " not in process.err
    # the broker's own chatter stays out of the demo's screen
    assert "transitions" not in process.err
    assert "amqtt" not in process.err


async def test_demo_uses_a_running_broker_and_leaves_it_running(
    mosquitto: MosquittoBroker,
) -> None:
    """With a broker already on the port the demo uses it, and Ctrl-C leaves that broker alone.

    Asked with ``--homeassistant``, it announces its bridge to Home Assistant under a device of
    its own, and removes it again on Ctrl-C.
    """
    bridge_config = "homeassistant/device/lianke_bridge_lianke-demo/config"
    port = str(mosquitto.port)
    async with (
        MqttProbe(
            mosquitto.host, mosquitto.port, subscribe=[f"{DEMO_BASE}/#", "homeassistant/#"]
        ) as probe,
        cli("demo", "--broker-port", port, "--homeassistant", new_session=True) as process,
    ):
        out = await process.wait_output(
            lambda text: "Ctrl-C stops everything" in text, timeout=START_TIMEOUT
        )
        assert f"using the MQTT broker already running at 127.0.0.1:{mosquitto.port}" in out
        assert "Home Assistant on this broker discovers the boxes (homeassistant/…)" in out
        await probe.wait_for(
            f"{DEMO_BASE}/office/state", lambda m: m.json()["online"] is True, START_TIMEOUT
        )
        await probe.wait_for(bridge_config, lambda m: bool(m.payload), START_TIMEOUT)
        mark = probe.mark()
        process.send(signal.SIGINT, group=True)
        assert await process.wait() == 0
        offline = await probe.wait_for(f"{DEMO_BASE}/bridge/state", since=mark)
        assert offline.text == "offline"
        await probe.wait_for(bridge_config, lambda m: not m.payload, since=mark)
        assert mosquitto.running
        await mosquitto.wait_ready()


async def test_demo_without_any_broker_says_what_it_tried() -> None:
    """When no broker can be used the demo exits 1 with the reason, not a traceback."""
    port = free_port()
    code, out, err = await run_cli(
        "demo", "--broker-port", str(port), env=clean_env(LIANKE_DEMO_BROKER="existing")
    )
    assert code == 1
    assert "Traceback" not in err
    assert f"no MQTT broker answered at 127.0.0.1:{port}" in err
    assert "mosquitto_pub" not in out
