"""The run's own Mosquitto on a free loopback port.

One tuning, which the floor gets as much as the bridge (both talk through this broker):
``set_tcp_nodelay true``. Without it Mosquitto's own writes wait for delayed ACKs (Nagle): a QoS 1
answer then takes ~40 ms whoever sends it, and no figure would show what the bridge adds.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lianke_bridge.demo.broker import find_mosquitto
from lianke_bridge.demo.probe import free_port, mqtt_protocol_at

HOST = "127.0.0.1"


@dataclass
class Broker:
    """A started Mosquitto."""

    host: str
    port: int
    process: asyncio.subprocess.Process
    workdir: Path

    async def stop(self) -> None:
        """SIGTERM it and remove its folder."""
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


async def start_broker() -> Broker:
    """Start Mosquitto and wait until it answers MQTT."""
    binary = find_mosquitto()
    if binary is None:
        raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
    port = free_port(HOST)
    workdir = Path(tempfile.mkdtemp(prefix="lianke-bench-mosquitto-"))
    lines = [
        f"listener {port} {HOST}",
        "allow_anonymous true",
        "persistence false",
        "set_tcp_nodelay true",
        "max_queued_messages 100000",
        f"log_dest file {workdir / 'mosquitto.log'}",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    config = workdir / "mosquitto.conf"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        binary, "-c", str(config), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    broker = Broker(HOST, port, process, workdir)
    for _ in range(250):
        if process.returncode is not None:
            raise RuntimeError(f"mosquitto exited with code {process.returncode}")
        if await mqtt_protocol_at(HOST, port, check_timeout=1.0) is not None:
            return broker
        await asyncio.sleep(0.02)
    await broker.stop()
    raise RuntimeError("mosquitto did not answer within 5 s")
