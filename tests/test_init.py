"""``lianke-bridge init`` and the first run: a checked config.yaml, never a secret on screen.

Scripted runs go through ``main()``; the interactive one is a real ``lianke-bridge init`` on a
pseudo-terminal, typed into as a person would, so "the ApiKey is not echoed" is what the
terminal really showed.
"""

from __future__ import annotations

import base64
import os
import re
import select
import stat
import subprocess
import time
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest
from test_cli import START_TIMEOUT, clean_env, cli_command

from lianke_bridge import heartbeat
from lianke_bridge.cli import main
from lianke_bridge.config import load_config

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "my-secret-api-key-0042"
OFFICE = ("lc01demo000001", "demo-key-0001")
WAREHOUSE = ("lc01demo000002", "demo-key-0002")


def token(box: tuple[str, str]) -> str:
    """The bare QR token of a box: base64 of ``id:key``."""
    return base64.b64encode(f"{box[0]}:{box[1]}".encode()).decode()


def link(box: tuple[str, str]) -> str:
    """The QR link printed on a box."""
    return f"https://cloud.liankenet.com/qr?token={token(box)}"


def test_init_with_options_writes_a_checked_private_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ApiKey, two boxes (one named), a broker: a file check-config accepts, mode 600."""
    for var in ("LIANKE_API_KEY", "LIANKE_API_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "config.yaml"
    code = main(
        [
            "init",
            "-o",
            str(path),
            "--api-key",
            API_KEY,
            "--qr",
            link(OFFICE),
            "--qr",
            f"front-desk={token(WAREHOUSE)}",
            "--mqtt-host",
            "mosquitto",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "OK: 2 devices (lc01demo000001, front-desk), broker mosquitto:1883" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_config(path, environ={})
    assert config.lianke.api_key == API_KEY
    assert config.lianke.base_url.startswith("https://")  # the real cloud
    assert [(d.name, d.device_id, d.device_key) for d in config.devices] == [
        ("lc01demo000001", *OFFICE),
        ("front-desk", *WAREHOUSE),
    ]
    assert config.mqtt.host == "mosquitto"
    assert "# " in path.read_text(encoding="utf-8")  # commented
    for secret in (API_KEY, OFFICE[1], WAREHOUSE[1], token(OFFICE)):
        assert secret not in out + err


def test_init_takes_the_api_key_from_the_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With LIANKE_API_KEY_FILE set (Docker secrets) the file holds no ApiKey and nothing asks."""
    secret = tmp_path / "api_key"
    secret.write_text(f"{API_KEY}\n", encoding="utf-8")
    monkeypatch.setenv("LIANKE_API_KEY_FILE", str(secret))
    path = tmp_path / "config.yaml"
    assert main(["init", "-o", str(path), "--qr", link(OFFICE)]) == 0
    assert API_KEY not in path.read_text(encoding="utf-8")
    assert load_config(path).lianke.api_key == API_KEY
    assert API_KEY not in "".join(capsys.readouterr())


def test_init_state_dir_puts_the_state_where_the_service_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--state-dir`` (the systemd unit's /var/lib/lianke-bridge): ``run`` and ``health`` agree.

    The file may then be read from anywhere (systemd hands the bridge a copy of it as a
    credential) and the state stays in the one folder.
    """
    monkeypatch.delenv("LIANKE_API_KEY", raising=False)
    monkeypatch.delenv("LIANKE_API_KEY_FILE", raising=False)
    path = tmp_path / "etc" / "config.yaml"
    state = tmp_path / "var lib" / "lianke-bridge"
    args = ["init", "-o", str(path), "--api-key", API_KEY, "--qr", link(OFFICE)]
    assert main([*args, "--state-dir", str(state)]) == 0
    copy = tmp_path / "credentials" / "config.yaml"
    copy.parent.mkdir()
    copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_config(copy).state_dir == load_config(path).state_dir == state
    assert heartbeat.read_state_dir(path) == state


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--qr", link(OFFICE)], "no ApiKey: give --api-key"),
        (["--api-key", API_KEY], "no box: give --qr LINK"),
        (["--api-key", API_KEY, "--qr", "https://example.com/?x=1"], "not a box's QR link"),
        (["--api-key", API_KEY, "--qr", f"bridge={token(OFFICE)}"], "cannot name a box"),
        (
            ["--api-key", API_KEY, "--qr", link(OFFICE), "--qr", f"lc01demo000001={token(OFFICE)}"],
            "two boxes are named",
        ),
    ],
    ids=["no-key", "no-box", "bad-link", "reserved-name", "same-name"],
)
def test_init_without_what_it_needs_writes_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    says: str,
) -> None:
    """Not a terminal and something missing or wrong: exit 2, one line, no file."""
    for var in ("LIANKE_API_KEY", "LIANKE_API_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "config.yaml"
    assert main(["init", "-o", str(path), *args]) == 2
    assert says in capsys.readouterr().err
    assert not path.exists()


def test_init_never_replaces_a_file_unless_forced(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An existing configuration is kept (exit 2) unless --force."""
    path = tmp_path / "config.yaml"
    path.write_text("# mine\n", encoding="utf-8")
    args = ["init", "-o", str(path), "--api-key", API_KEY, "--qr", link(OFFICE)]
    assert main(args) == 2
    assert "exists: give --force" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "# mine\n"
    assert main([*args, "--force"]) == 0
    assert load_config(path, environ={}).devices[0].device_id == OFFICE[0]


class Terminal:
    """A pseudo-terminal with ``lianke-bridge init`` on the other end."""

    def __init__(self, args: list[str]) -> None:
        self.master, slave = os.openpty()
        env = clean_env()
        env.pop("LIANKE_API_KEY", None)
        env.pop("LIANKE_API_KEY_FILE", None)
        # a session of its own: no controlling terminal, so getpass uses this one
        self.process = subprocess.Popen(  # noqa: S603 - the installed script
            [*cli_command(), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.screen = ""

    def read_until(self, text: str) -> None:
        """Collect what the terminal shows until ``text`` appears."""
        deadline = time.monotonic() + START_TIMEOUT
        while text not in self.screen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{text!r} never appeared; the screen:\n{self.screen}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the other end is closed
                    chunk = b""
                assert chunk, f"{text!r} never appeared; the screen:\n{self.screen}"
                self.screen += chunk.decode(errors="replace")

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        os.write(self.master, f"{line}\n".encode())

    def close(self) -> int:
        """Wait for the exit; the exit code."""
        code = self.process.wait(timeout=START_TIMEOUT)
        os.close(self.master)
        return code


def test_init_in_a_terminal_asks_and_never_shows_the_key(tmp_path: Path) -> None:
    """ApiKey without echo, QR links one per line (a bad one asked again), then the check."""
    path = tmp_path / "config.yaml"
    terminal = Terminal(["init", "-o", str(path), "--mqtt-host", "192.168.1.10"])
    try:
        terminal.read_until("Lianke ApiKey (not shown): ")
        terminal.type(API_KEY)
        terminal.read_until("box 1 QR link: ")
        terminal.type("not a link")
        terminal.read_until("not a box's QR link")
        terminal.read_until("box 1 QR link: ")
        terminal.type(f"office={link(OFFICE)}")
        terminal.read_until("box 2 QR link: ")
        terminal.type("")
        terminal.read_until("next: lianke-bridge run -c")
    finally:
        code = terminal.close()
    assert code == 0
    assert "office: box lc01demo000001" in terminal.screen
    assert API_KEY not in terminal.screen
    config = load_config(path, environ={})
    assert (config.lianke.api_key, config.devices[0].name) == (API_KEY, "office")
    assert config.mqtt.host == "192.168.1.10"


def test_run_without_a_config_says_where_it_looked_and_suggests_init(tmp_path: Path) -> None:
    """The absolute path it tried, the init command for it, and the shipped example."""
    path = tmp_path / "nowhere" / "config.yaml"
    done = subprocess.run(  # noqa: S603 - the installed script
        [*cli_command(), "run", "-c", str(path)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=START_TIMEOUT,
    )
    code, err = done.returncode, done.stderr
    assert code == 2
    assert f"no configuration file at {path}" in err
    assert f"lianke-bridge init -o {path}" in err
    example = re.search(r"config\.example\.yaml \(every option explained\): (\S+)", err)
    assert example is not None
    assert Path(example[1]).read_text(encoding="utf-8").startswith("# lianke-bridge configuration")


def test_the_example_ships_in_the_package_and_the_image() -> None:
    """config.example.yaml is package data (so in the wheel) and copied into the image."""
    shipped = files("lianke_bridge") / "config.example.yaml"
    example = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    assert shipped.read_text(encoding="utf-8") == example
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "config.example.yaml" in pyproject["tool"]["setuptools"]["package-data"]["lianke_bridge"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY config.example.yaml /usr/share/lianke-bridge/config.example.yaml" in dockerfile


def test_the_examples_links_point_to_something_real() -> None:
    """Every repository path config.example.yaml mentions exists (docs/configuration.md did not)."""
    example = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    paths = re.findall(r"\b((?:docs|examples|packaging)/[\w./-]+)", example)
    for relative in paths:
        assert (ROOT / relative).exists(), relative
    for anchor in re.findall(r"lianke-bridge#([\w-]+)", example):
        readme = (ROOT / "README.md").read_text(encoding="utf-8").lower()
        assert f"## {anchor.replace('-', ' ')}" in readme, anchor
