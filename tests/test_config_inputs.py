"""Files the configuration names that are not files: refused at once, never a hang or a flood.

A named pipe with no writer, ``/dev/zero``, ``/dev/urandom``, a folder or a huge file given as the
configuration, as ``secrets.yaml``, as a ``*_file`` secret or a ``<VAR>_FILE`` variable: the real
``lianke-bridge`` command says which file and why in one line, exit 2, no traceback. Each run has
a deadline (a hang fails the test instead of stalling the suite) and an address-space limit (a
read of ``/dev/zero`` fails fast instead of eating the machine's memory).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from config_files import MINIMAL, write

from lianke_bridge import inputfile
from lianke_bridge.config import ENV_OVERRIDES
from lianke_bridge.errors import InputFileError

DEADLINE = 30.0
"""Seconds a refused configuration gets to exit: it takes well under one; a hang never would."""
ADDRESS_SPACE = 2 * 1024**3
"""The child's address-space limit (a Pi has 1 GiB): reading /dev/zero whole would pass it."""

SECRET_CONFIG = MINIMAL.replace("test-api-key-123", "!secret lianke_api_key")
DEVICE_KEY_CONFIG = MINIMAL.replace("device_key: test-device-key-1", "device_key_file: key.txt")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def lianke_bridge(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run the installed command to its end within :data:`DEADLINE`; its exit code and stderr."""
    script = Path(sys.executable).with_name("lianke-bridge")
    environ = {k: v for k, v in os.environ.items() if k.removesuffix("_FILE") not in ENV_OVERRIDES}
    environ.update(env or {})
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [str(script), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environ,
        timeout=DEADLINE,
        preexec_fn=_limit_memory,
        check=False,
    )
    return done.returncode, done.stderr


def fifo(path: Path) -> Path:
    """A named pipe nobody writes to."""
    os.mkfifo(path)
    return path


def link(path: Path, target: str) -> Path:
    """``path`` as a symbolic link to ``target``."""
    path.symlink_to(target)
    return path


def folder(path: Path) -> Path:
    """An empty folder."""
    path.mkdir()
    return path


def oversize(path: Path) -> Path:
    """A YAML file of comments one byte over the limit."""
    path.write_bytes(b"#" * inputfile.MAX_CONFIG_BYTES + b"\n")
    return path


# Each case: what to lay out in the folder (returns the config path), extra environment, and
# the words that must say what is wrong.
Layout = Callable[[Path], Path]
CASES: dict[str, tuple[Layout, dict[str, str], str]] = {
    "fifo-config": (lambda d: fifo(d / "config.yaml"), {}, "is a named pipe (FIFO)"),
    "fifo-secrets": (
        lambda d: (fifo(d / "secrets.yaml"), write(d, SECRET_CONFIG))[1],
        {},
        "secrets.yaml is a named pipe (FIFO), not a regular file",
    ),
    "dev-zero-config": (lambda d: link(d / "config.yaml", "/dev/zero"), {}, "is a device"),
    "dev-zero-secrets": (
        lambda d: (link(d / "secrets.yaml", "/dev/zero"), write(d, SECRET_CONFIG))[1],
        {},
        "secrets.yaml is a device, not a regular file",
    ),
    "dev-urandom-device-key-file": (
        lambda d: (link(d / "key.txt", "/dev/urandom"), write(d, DEVICE_KEY_CONFIG))[1],
        {},
        "devices[0].device_key_file: ",
    ),
    "fifo-env-file": (
        lambda d: (fifo(d / "api_key"), write(d, MINIMAL))[1],
        {"LIANKE_API_KEY_FILE": "api_key"},
        "LIANKE_API_KEY_FILE: ",
    ),
    "folder-config": (lambda d: folder(d / "config.yaml"), {}, "is a folder, not a file"),
    "oversize-config": (
        lambda d: oversize(d / "config.yaml"),
        {},
        "is larger than 2 MiB, the limit for this file",
    ),
}


@pytest.mark.parametrize("command", ["check-config", "run"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_file_that_is_not_a_regular_file_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, command: str
) -> None:
    """check-config and run refuse it in one line, exit 2, no traceback, no hang, no flood."""
    layout, env, says = CASES[case]
    monkeypatch.chdir(tmp_path)  # the <VAR>_FILE path is relative to the working directory
    config = layout(tmp_path)
    code, err = lianke_bridge(command, "-c", str(config), env=env)
    assert code == 2, err
    assert "Traceback" not in err
    assert "MemoryError" not in err
    saying = [line for line in err.splitlines() if says in line]
    assert len(saying) == 1, err
    assert len(err.splitlines()) <= 2, err  # a heading naming the file, then the one problem


def test_health_refuses_a_named_pipe_as_the_configuration(tmp_path: Path) -> None:
    """``health`` (run every minute by Docker) exits 2 on a FIFO instead of hanging the check."""
    code, err = lianke_bridge("health", "-c", str(fifo(tmp_path / "config.yaml")))
    assert code == 2
    assert err.strip().endswith("is a named pipe (FIFO), not a regular file")


def test_a_tls_file_that_is_a_device_is_refused(tmp_path: Path) -> None:
    """``mqtt.tls.ca_certs: /dev/zero`` is refused by check-config, before TLS would read it."""
    config = write(tmp_path, MINIMAL + "mqtt:\n  tls:\n    ca_certs: /dev/zero\n")
    code, err = lianke_bridge("check-config", "-c", str(config))
    assert code == 2
    assert "mqtt.tls.ca_certs: /dev/zero is a device, not a regular file" in err


def test_a_file_at_the_limit_is_read_whole(tmp_path: Path) -> None:
    """The cap refuses only what is past it: a file of exactly the limit is read, a BOM dropped."""
    path = tmp_path / "key.txt"
    path.write_bytes(b"\xef\xbb\xbf" + b"k" * (inputfile.MAX_SECRET_BYTES - 3))
    assert inputfile.read_text(path, inputfile.MAX_SECRET_BYTES) == "k" * (
        inputfile.MAX_SECRET_BYTES - 3
    )
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InputFileError, match="is not UTF-8 text"):
        inputfile.read_text(path, inputfile.MAX_SECRET_BYTES)


@pytest.mark.parametrize(
    ("which", "layout", "says"),
    [
        ("options", fifo, "options.json is a named pipe (FIFO), not a regular file"),
        ("options", lambda p: link(p, "/dev/zero"), "options.json is a device"),
        ("config", fifo, "config.yaml is a named pipe (FIFO), not a regular file"),
    ],
)
def test_the_addons_files_are_refused_at_once_when_not_regular(
    tmp_path: Path, which: str, layout: Layout, says: str
) -> None:
    """The add-on's options.json and config.yaml are read like the configuration: exit 2."""
    options = tmp_path / "options.json"
    config = tmp_path / "config.yaml"
    if which == "options":
        layout(options)
    else:
        options.write_text('{"api_key": "k", "boxes": []}', encoding="utf-8")
        layout(config)
    env = {"SUPERVISOR_URL": "http://127.0.0.1:9", "SUPERVISOR_TOKEN": "t"}
    code, err = lianke_bridge("addon", "--options", str(options), "--config", str(config), env=env)
    assert code == 2, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if says in line], err
