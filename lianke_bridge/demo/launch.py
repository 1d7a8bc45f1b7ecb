"""Starting a broker for the demo: a ``mosquitto`` of its own, or the embedded amqtt broker.

A started mosquitto gets a configuration and a log in a temporary folder, and counts as ready
once it answers MQTT; the embedded broker (amqtt, the ``demo`` extra, MQTT 3.1.1 only) runs in a
child process of its own (this module, run with ``-m``) and says ``ready`` when it listens.
Either is stopped with SIGTERM, then SIGKILL if it lingers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from lianke_bridge.demo.probe import CHECK_TIMEOUT, MqttProtocol, RunningBroker, mqtt_protocol_at
from lianke_bridge.errors import BrokerError

_LOGGER = logging.getLogger(__name__)

READY = "ready"
"""What the embedded broker's process prints once it listens."""
START_TIMEOUT = 5.0
"""Seconds a started mosquitto gets to answer MQTT."""
MESSAGE_SIZE_LIMIT = 27 * 1024 * 1024
"""The largest message the demo's Mosquitto passes on: the largest print request (a 20 MiB file
in base64 with its fields, 26.7 MiB), as docker/mosquitto/mosquitto.conf."""
_RETRY_DELAY = 0.02


def _mosquitto_config(host: str, port: int, log_path: Path) -> str:
    lines = [
        f"listener {port} {host}",
        "allow_anonymous true",
        "persistence false",
        "set_tcp_nodelay true",  # else every request waits ~40 ms (Nagle, delayed ACK)
        f"message_size_limit {MESSAGE_SIZE_LIMIT}",
        f"log_dest file {log_path}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
    ]
    if os.geteuid() == 0:
        # As root, mosquitto would switch to the `mosquitto` user, who cannot write our log.
        lines.append("user root")
    return "\n".join(lines) + "\n"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def start_mosquitto(binary: str, host: str, port: int) -> RunningBroker:
    """Mosquitto on host:port, with a configuration and a log of its own, once it answers MQTT."""
    workdir = Path(tempfile.mkdtemp(prefix="lianke-mosquitto-"))
    config_path = workdir / "mosquitto.conf"
    log_path = workdir / "mosquitto.log"
    config_path.write_text(_mosquitto_config(host, port, log_path), encoding="utf-8")
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            binary,
            "-c",
            str(config_path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops mosquitto last
        )

    async def stop() -> None:
        try:
            await _end_process(process)
        finally:  # a second Ctrl-C while waiting still removes the temporary folder
            shutil.rmtree(workdir, ignore_errors=True)

    try:
        protocol = await _wait_for_mosquitto(process, host, port)
    except BrokerError as err:
        detail = _tail(log_path)
        await stop()
        raise BrokerError(f"{err}\n{detail}".rstrip()) from None
    except BaseException:
        await stop()
        raise
    _LOGGER.info("Started mosquitto on %s:%s (log: %s)", host, port, log_path)
    return RunningBroker(host, port, protocol, "mosquitto", log_path, stop)


async def _wait_for_mosquitto(
    process: asyncio.subprocess.Process, host: str, port: int
) -> MqttProtocol:
    # mosquitto has no readiness signal: retry an MQTT CONNECT until it answers, exits, or the
    # deadline passes (no asyncio.timeout around the check: cancelling aiomqtt's CONNECT midway
    # would leave its socket behind). It is usually ready within a few milliseconds.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while True:
        if process.returncode is not None:
            raise BrokerError(f"mosquitto exited with code {process.returncode} on {host}:{port}")
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise BrokerError(
                f"mosquitto did not answer MQTT on {host}:{port} within {START_TIMEOUT}s"
            )
        protocol = await mqtt_protocol_at(host, port, check_timeout=min(remaining, CHECK_TIMEOUT))
        if protocol is not None:
            return protocol
        await asyncio.sleep(_RETRY_DELAY)


def _embedded_config(host: str, port: int) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        # Only anonymous access: no packet logger, no $SYS publisher.
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def _end_process(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        async with asyncio.timeout(START_TIMEOUT):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def start_embedded(host: str, port: int) -> RunningBroker:
    """Amqtt in a child process of its own.

    In-process, amqtt's shutdown can hang for good on Python 3.11 (its reader loop loses a
    cancellation inside ``asyncio.wait_for``); a child process always stops on SIGTERM.
    """
    try:
        import amqtt.broker  # noqa: F401, PLC0415 - only to say what is missing before starting
    except ImportError as err:
        raise BrokerError(
            "the embedded broker needs amqtt: pip install 'lianke-bridge[demo]' "
            "(or install mosquitto)"
        ) from err
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lianke_bridge.demo.launch",
        host,
        str(port),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches the demo only; it stops the broker last
    )
    assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
    try:
        async with asyncio.timeout(START_TIMEOUT):
            answer = (await process.stdout.readline()).decode(errors="replace").strip()
    except BaseException:
        await _end_process(process)
        raise
    if answer != READY:
        await _end_process(process)
        reason = answer.removeprefix("error: ") or f"it exited with code {process.returncode}"
        raise BrokerError(f"the embedded broker could not start on {host}:{port}: {reason}")
    _LOGGER.info("Started the embedded MQTT broker on %s:%s (MQTT 3.1.1 only)", host, port)

    async def stop() -> None:
        await _end_process(process)

    return RunningBroker(host, port, "3.1.1", "embedded", None, stop)


async def _serve_embedded(host: str, port: int) -> None:
    """The child process: run amqtt until terminated; say ``ready`` or ``error: …`` first."""
    from amqtt.broker import Broker  # noqa: PLC0415 - optional, only for the demo
    from amqtt.errors import BrokerError as AmqttBrokerError  # noqa: PLC0415

    broker = Broker(_embedded_config(host, port))
    try:
        await broker.start()
    except AmqttBrokerError as err:  # amqtt wraps every start failure (e.g. port in use) in it
        print(f"error: {err}", flush=True)  # noqa: T201 - the parent reads this line
        return
    print(READY, flush=True)  # noqa: T201 - the parent reads this line
    await asyncio.Event().wait()


if __name__ == "__main__":  # the embedded broker's own process (see start_embedded)
    asyncio.run(_serve_embedded(sys.argv[1], int(sys.argv[2])))
