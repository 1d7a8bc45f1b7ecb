"""The built release as a user gets it: the wheel in a fresh virtual environment, really run.

`make wheel-check` (and so CI) runs it after `make dist`:

    .venv/bin/python scripts/wheel_check.py dist

It checks that the source archive holds the whole release (licence, changelog, the deployment
files), creates a virtual environment in a temporary folder, installs the wheel into it from the
package index as `pip install` would (with the `demo` extra when no mosquitto is installed: the
demo then starts its embedded broker), and from that environment runs `lianke-bridge --version`
and `lianke-bridge demo`: it publishes the first print command the demo prints, waits for the
answer and for the job to reach `succeeded`, then stops the demo with Ctrl-C (SIGINT to its
process group) and expects exit 0. The checkout is never imported by the installed bridge: it
runs in the temporary folder. One line per step; exit 1 with the reason on the first failure.
"""

# ruff: noqa: T201, INP001  (a script that reports on stdout, not a package)

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import aiomqtt

SDIST_HOLDS = (
    "LICENSE",
    "CHANGELOG.md",
    "README.md",
    "config.example.yaml",
    "Dockerfile",
    "docker-bake.hcl",
    "docker-compose.yml",
    "docker/mosquitto/mosquitto.conf",
    "packaging/systemd/lianke-bridge.service",
    "tests/conftest.py",
)
"""Files a source archive of a release must hold (beside the package)."""
DEMO_READY = "Ctrl-C stops everything"
"""The demo's last line of instructions: everything is up."""
STEP_TIMEOUT = 60.0
"""Seconds one step (an install, the demo's start, a job) may take before the check fails."""


class CheckError(Exception):
    """The release is not as a user needs it: what is wrong."""


def step(text: str) -> None:
    """Report a step that passed, with the time since the start."""
    print(f"wheel-check [{time.monotonic() - START:5.1f} s] {text}", flush=True)


START = time.monotonic()


def built(dist: Path) -> tuple[Path, Path, str]:
    """The one wheel and the one source archive in ``dist``, and their version."""
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise CheckError(f"{dist} must hold one wheel and one sdist (make dist)")
    version = wheels[0].name.split("-")[1]
    if not sdists[0].name.endswith(f"-{version}.tar.gz"):
        raise CheckError(f"{sdists[0].name} is not version {version}")
    return wheels[0], sdists[0], version


def check_archives(wheel: Path, sdist: Path) -> None:
    """The sdist holds the whole release; the wheel its licence and the example configuration."""
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    missing = [name for name in SDIST_HOLDS if name not in names]
    if missing:
        raise CheckError(f"{sdist.name} lacks {', '.join(missing)} (MANIFEST.in)")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    if not any(name.endswith(".dist-info/licenses/LICENSE") for name in names):
        raise CheckError(f"{wheel.name} lacks its LICENSE")
    if "lianke_bridge/config.example.yaml" not in names:
        raise CheckError(f"{wheel.name} lacks lianke_bridge/config.example.yaml")


def run(argv: list[str], *, cwd: Path) -> str:
    """Run a command to its end; its stdout, or CheckError with its output."""
    done = subprocess.run(  # noqa: S603 - our own commands
        argv, cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT * 3, check=False
    )
    if done.returncode != 0:
        raise CheckError(
            f"{shlex.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def has_mosquitto() -> bool:
    """Whether the demo can start a mosquitto (else it needs the ``demo`` extra's broker)."""
    return bool(shutil.which("mosquitto")) or Path("/usr/sbin/mosquitto").exists()


def install(wheel: Path, folder: Path, *, embedded: bool) -> Path:
    """A fresh virtual environment with the wheel installed; its ``bin`` folder."""
    venv = folder / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=folder)
    bin_dir = venv / "bin"
    extra = "[demo]" if embedded else ""
    run([str(bin_dir / "pip"), "install", "--quiet", f"{wheel.resolve()}{extra}"], cwd=folder)
    step(f"installed {wheel.name}{extra} into a fresh virtual environment")
    return bin_dir


def free_port() -> int:
    """A TCP port nothing listens on now (for the demo's broker)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def first_print(instructions: str) -> tuple[str, int, int, str, str]:
    """Host, port, QoS, topic and payload of the first ``mosquitto_pub`` the demo printed."""
    joined = re.sub(r"\\\n\s*", "", instructions)
    for line in joined.splitlines():
        argv = shlex.split(line.strip()) if line.strip().startswith("mosquitto_pub ") else []
        if argv:
            value = {argv[i]: argv[i + 1] for i in range(1, len(argv) - 1) if argv[i][0] == "-"}
            return (
                value["-h"],
                int(value["-p"]),
                int(value["-q"]),
                value["-t"],
                value["-m"],
            )
    raise CheckError(f"the demo printed no mosquitto_pub command:\n{instructions}")


async def read_until(stream: asyncio.StreamReader, marker: str, seen: list[str]) -> str:
    """Lines of ``stream`` until one holds ``marker``; all of them."""
    async with asyncio.timeout(STEP_TIMEOUT):
        while True:
            line = await stream.readline()
            if not line:
                raise CheckError("the demo ended before it was ready:\n" + "".join(seen))
            seen.append(line.decode(errors="replace"))
            if marker in seen[-1]:
                return "".join(seen)


async def print_once(host: str, port: int, qos: int, topic: str, payload: str) -> str:
    """Publish the demo's print command once its box is online; the job's id once it succeeded.

    As a user would, it waits for the bridge to say ``online`` and the box to be online (the
    demo prints its instructions before its bridge has connected).
    """
    base, device = topic.split("/", 2)[:2]
    ready = {f"{base}/bridge/state": False, f"{base}/{device}/state": False}
    answer_topic = topic.replace("/request/", "/response/")
    task_id = None
    async with (
        aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V311) as client,
        asyncio.timeout(STEP_TIMEOUT),
    ):
        await client.subscribe(f"{base}/#", qos=1)
        async for message in client.messages:
            name, data = str(message.topic), bytes(message.payload)
            if name in ready and not all(ready.values()):
                ready[name] = data == b"online" or json_of(data).get("online") is True
                if all(ready.values()):
                    step(f"the bridge is online, box {device} too: publishing the print")
                    await client.publish(topic, payload, qos=qos)
            elif name == answer_topic and task_id is None:
                answer = json_of(data)
                if answer.get("status") != "ok":
                    raise CheckError(f"the print was answered {answer}")
                task_id = answer["data"]["task_id"]
                step(f"the print was answered ok: job {task_id}")
            elif task_id is not None and name == f"{base}/{device}/job/{task_id}":
                job = json_of(data)
                if job.get("state") == "succeeded":
                    return str(task_id)
                if job.get("state") in {"failed", "cancelled"}:
                    raise CheckError(f"the job ended {job}")
    raise CheckError("the broker closed the connection")


def json_of(data: bytes) -> dict[str, Any]:
    """A payload as a JSON object ({} when it is something else)."""
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def version_says(bin_dir: Path, folder: Path, version: str) -> None:
    """``lianke-bridge --version`` of the installed script names the wheel's version."""
    said = run([str(bin_dir / "lianke-bridge"), "--version"], cwd=folder).strip()
    if said != f"lianke-bridge {version}":
        raise CheckError(f"lianke-bridge --version said {said!r}, not {version}")
    step(f"lianke-bridge --version: {said}")


async def demo(bin_dir: Path, folder: Path, *, embedded: bool) -> None:
    """The demo from the installed script: its first print succeeds, Ctrl-C ends it with 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIANKE_", "MQTT_"))}
    env["LIANKE_DEMO_BROKER"] = "embedded" if embedded else "mosquitto"
    process = await asyncio.create_subprocess_exec(
        str(bin_dir / "lianke-bridge"),
        "demo",
        "--broker-port",
        str(free_port()),
        cwd=folder,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # so Ctrl-C can go to its whole group, as a terminal sends it
    )
    if process.stdout is None:  # pragma: no cover - PIPE was asked for
        raise CheckError("the demo's output cannot be read")
    seen: list[str] = []
    try:
        instructions = await read_until(process.stdout, DEMO_READY, seen)
        host, port, qos, topic, payload = first_print(instructions)
        step(f"the demo is up: broker {host}:{port}")
        task_id = await print_once(host, port, qos, topic, payload)
        step(f"the demo's first print succeeded (job {task_id} on {topic})")
        os.killpg(process.pid, signal.SIGINT)
        async with asyncio.timeout(STEP_TIMEOUT):
            rest = await process.stdout.read()
            code = await process.wait()
        seen.append(rest.decode(errors="replace"))
        if code != 0 or "Traceback" in "".join(seen):
            raise CheckError(f"the demo ended with {code} after Ctrl-C:\n{''.join(seen)}")
        step("Ctrl-C stopped the demo: exit 0")
    except TimeoutError:
        raise CheckError(
            f"the demo did not get there in {STEP_TIMEOUT:.0f} s:\n{''.join(seen)}"
        ) from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


def main() -> int:
    """Check the release in ``dist``; 0 when the installed wheel works."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path, help="the folder `make dist` wrote")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="the demo's embedded broker (the demo extra), as where no mosquitto is installed",
    )
    args = parser.parse_args()
    embedded = args.embedded or not has_mosquitto()
    try:
        wheel, sdist, version = built(args.dist)
        check_archives(wheel, sdist)
        step(f"{sdist.name} and {wheel.name} hold the release")
        with tempfile.TemporaryDirectory(prefix="lianke-wheel-check-") as tmp:
            folder = Path(tmp)
            bin_dir = install(wheel, folder, embedded=embedded)
            version_says(bin_dir, folder, version)
            asyncio.run(demo(bin_dir, folder, embedded=embedded))
    except CheckError as err:
        print(f"wheel-check FAILED: {err}", file=sys.stderr)
        return 1
    step("the wheel installs and runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
