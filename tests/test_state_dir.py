"""The state directory on a real disk: private to the bridge, and trouble with it never silent.

A full disk is a real one: a tmpfs of a few hundred KiB mounted for the test (the test machines
run as root; elsewhere the test is skipped), filled by a file until the kernel says ENOSPC.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import RunningBridge, make_config
from mqtt_broker import MosquittoBroker, MqttProbe
from test_cli import run_cli

from lianke_bridge.bridge.memory.store import DATABASE_FILE, HEARTBEAT_FILE
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.cli.process import MqttLogHandler
from lianke_bridge.simulator import Simulator

PRINT_PATH = "/api/print/job"
DISK_SIZE = "384k"
"""Room for the state of one short run (its database, WAL and heartbeat), little more."""
HEALTH_INTERVAL = 0.2
"""Seconds between health reports in these tests: how fast a disk cleared is noticed."""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs mounted for the test (needs root); skipped where mounting is refused."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(  # noqa: S603 - fixed arguments
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0755", "tmpfs", str(mount)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)  # noqa: S603, S607


def fill(disk: Path) -> Path:
    """Write a file until the disk is full (ENOSPC); return it (remove it to free the disk)."""
    filler = disk / "filler"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(chunk)
    assert shutil.disk_usage(disk).free < len(chunk)
    return filler


async def health_cli(config_path: Path) -> tuple[int, str]:
    """``lianke-bridge health -c config`` (the installed command): exit code and message."""
    code, out, err = await run_cli("health", "-c", str(config_path))
    return code, out + err


async def _health(probe: MqttProbe, base: str, since: int, *, state_problem: bool) -> Any:
    """The first ``bridge/health`` from ``since`` on whose ``state_problem`` is as given."""
    message = await probe.wait_for(
        f"{base}/bridge/health",
        lambda m: m.json().get("state_problem", False) is state_problem,
        timeout=5,
        since=since,
    )
    return message.json()


def _state_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("lianke_bridge.bridge.memory.state")
    ]


async def test_a_full_disk_is_unhealthy_refuses_prints_and_recovers(  # noqa: PLR0915 - one story
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    small_disk: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``state_dir`` full: one ERROR, ``health`` unhealthy with the reason, prints refused.

    ``bridge/health`` shows the problem and ``bridge/log`` gets one ERROR, however many writes
    fail; a print is answered ``state_unavailable`` (once) and never reaches the cloud, while
    queries are answered. Freed, the bridge says so once (INFO), the problem clears, the same
    transaction prints, and the state written meanwhile survives a restart (``duplicate``).
    """
    state = small_disk / "state"
    config = make_config(simulator, mosquitto, base_topic, state)
    config_path = small_disk.parent / "config.yaml"
    config_path.write_text(f"state_dir: {state}\n", encoding="utf-8")
    resent = {"url": "https://x.test/full.pdf", "transaction": "while-full"}
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        service = BridgeService(config, health_interval=HEALTH_INTERVAL)
        forward = MqttLogHandler(service.forward_log)  # as `lianke-bridge run` does
        logging.getLogger().addHandler(forward)
        bridge = RunningBridge(service, probe)
        await bridge.start()
        try:
            first = await bridge.request("office", "print", {"url": "https://x.test/a.pdf"})
            assert first["status"] == "ok", first
            await bridge.settle()
            mark = probe.mark()
            with caplog.at_level(logging.INFO):
                filler = fill(small_disk)
                refused = await bridge.request("office", "print", resent)
                query = await bridge.request("office", "printer_params", {"transaction": "q"})
                again = await bridge.request("office", "print", resent)
                unhealthy = await _health(probe, base_topic, mark, state_problem=True)
                code, said = await health_cli(config_path)
                await bridge.settle()
                errors_logged = _state_errors(caplog)
                logged = [
                    m.json()
                    for m in probe.messages()[mark:]
                    if m.topic == f"{base_topic}/bridge/log"
                ]
                prints_while_full = simulator.count(PRINT_PATH, "POST")
                freed = probe.mark()
                filler.unlink()
                recovered = await _health(probe, base_topic, freed, state_problem=False)
                printed = await bridge.request("office", "print", resent)
                healthy_code, healthy_said = await health_cli(config_path)
        finally:
            await bridge.stop()
            logging.getLogger().removeHandler(forward)
        restarted = RunningBridge(BridgeService(config, health_interval=HEALTH_INTERVAL), probe)
        await restarted.start()
        try:
            duplicate = await restarted.request("office", "print", resent)
        finally:
            await restarted.stop()
    assert refused["status"] == "error"
    assert refused["error"]["code"] == "state_unavailable", refused
    assert refused["transaction"] == "while-full"
    assert again["error"]["code"] == "state_unavailable"  # not remembered: it may come again
    assert query["status"] == "ok", query
    assert prints_while_full == 1  # only the print before the disk filled up
    assert "is full" in unhealthy["state_problem_reason"]
    assert (code, "is full" in said) == (1, True), said
    assert [r.levelname for r in errors_logged] == ["ERROR"]
    assert "is full" in errors_logged[0].getMessage()
    assert [(m["level"], "is full" in m["message"]) for m in logged] == [("error", True)]
    assert recovered["state_problem_reason"] is None
    assert "can be written again" in caplog.text
    assert printed["status"] == "ok", printed
    assert (healthy_code, healthy_said.startswith("healthy")) == (0, True), healthy_said
    assert duplicate["error"]["code"] == "duplicate"
    assert duplicate["error"]["original"] == printed
    assert simulator.count(PRINT_PATH, "POST") == 2


def _modes(directory: Path) -> dict[str, str]:
    """The folder's and each file's mode, but for a heartbeat being written.

    That file (``.state-*.json``, renamed over ``health.json`` a moment later) comes and goes; it
    must be private too, so its mode is checked here, but it is not listed.
    """
    found = {".": f"{stat.S_IMODE(directory.stat().st_mode):04o}"}
    for path in directory.iterdir():
        try:
            mode = f"{stat.S_IMODE(path.stat().st_mode):04o}"
        except FileNotFoundError:  # the heartbeat's temporary file, renamed meanwhile
            continue
        if path.name.startswith(".state-"):
            assert mode == "0600", f"{path.name} is {mode}"
            continue
        found[path.name] = mode
    return found


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


async def test_state_files_are_private_from_the_start_and_after_an_older_version(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every state file is 0600 in a 0700 ``state_dir``, with the usual umask 022.

    An older version's 0755 folder and 0644 database are narrowed at start (one INFO line);
    the WAL files SQLite creates later (while a print is recorded) are 0600 from the start.
    """
    state = tmp_path / "state"
    with _umask(0o022):
        state.mkdir()
        with sqlite3.connect(state / DATABASE_FILE) as old:  # as an earlier version left it
            old.execute("CREATE TABLE state (kind TEXT, key TEXT, value TEXT)")
        config = make_config(simulator, mosquitto, base_topic, state)
        before = _modes(state)
        async with MqttProbe(
            mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]
        ) as probe:
            with caplog.at_level(logging.INFO):
                service = BridgeService(config, health_interval=HEALTH_INTERVAL)
            bridge = RunningBridge(service, probe)
            await bridge.start()
            try:
                answer = await bridge.request("office", "print", {"url": "https://x.test/a.pdf"})
                await bridge.wait_json("bridge/health")
                await bridge.service.store.flush()
                running = _modes(state)
            finally:
                await bridge.stop()
    assert before == {".": "0755", DATABASE_FILE: "0644"}
    assert answer["status"] == "ok", answer
    assert running == {
        ".": "0700",
        DATABASE_FILE: "0600",
        DATABASE_FILE + "-wal": "0600",
        DATABASE_FILE + "-shm": "0600",
        HEARTBEAT_FILE: "0600",
    }
    narrowed = [r.getMessage() for r in caplog.records if "private to its owner" in r.getMessage()]
    assert len(narrowed) == 1
    assert "from 0755 to 0700" in narrowed[0]
    assert f"{DATABASE_FILE} from 0644 to 0600" in narrowed[0]
