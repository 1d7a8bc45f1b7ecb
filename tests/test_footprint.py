"""What ``lianke-bridge run`` loads: an optional feature costs nothing until it is configured.

A bridge on a Raspberry Pi should cost little more than its four dependencies
(docs/benchmark.md, idle RSS). The installed script runs against the simulator and a real
Mosquitto with ``PYTHONPROFILEIMPORTTIME`` set, so the interpreter itself lists every module it
imported while the bridge published its box, answered a command and stopped.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import aiohttp
from mqtt_broker import MosquittoBroker, MqttProbe, sentinel_round_trip
from test_cli import START_TIMEOUT, CliProcess, clean_env, cli, run_config

from lianke_bridge.simulator import Simulator

OPTIONAL_MODULES = (
    "prometheus_client",
    "aiohttp.web",
    "lianke_bridge.bridge.monitoring.http",
    "lianke_bridge.bridge.monitoring.metrics",
)
"""The ``/healthz`` and ``/metrics`` endpoint: loaded only with ``http.enabled``."""
ON_FIRST_USE = (
    "lianke_bridge.bridge.requests.render",
    "lianke_bridge.bridge.requests.pages",
    "difflib",
)
"""Loaded when first needed (a text print's page, a "did you mean" hint), not before. The page
is named by our module rather than ``html``, which a coverage run imports for itself."""
NEVER_BY_RUN = (
    "lianke_bridge.simulator",
    "importlib.metadata",  # the version is a constant of the package
)
"""What ``run`` never needs, whatever the configuration."""
SERVING = re.compile(r"serving /healthz and /metrics on http://127\.0\.0\.1:(\d+)")


def imported(process: CliProcess) -> set[str]:
    """Every module the process imported, from the interpreter's own import-time report."""
    lines = (line.rpartition("|")[2] for line in process.stderr if "import time:" in line)
    return {name.strip() for name in lines}


async def run_bridge(path: Path, probe: MqttProbe, base: str) -> CliProcess:
    """``lianke-bridge run -c PATH`` until its box is published and answered, then stop it."""
    env = clean_env(PYTHONPROFILEIMPORTTIME="1")
    async with cli("run", "-c", str(path), env=env) as process:
        await probe.wait_for(f"{base}/office/state", lambda m: m.json()["online"], START_TIMEOUT)
        answer = await probe.request(
            f"{base}/office/request/tasks", {}, settle=lambda: sentinel_round_trip(probe, base)
        )
        assert answer.json()["status"] == "ok", answer.payload
        process.send(signal.SIGTERM)
        assert await process.wait() == 0
    return process


async def test_without_http_neither_the_server_nor_prometheus_is_loaded(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """A configuration without ``http`` runs without aiohttp's server or prometheus_client."""
    path = tmp_path / "config.yaml"
    path.write_text(run_config(simulator, mosquitto, base_topic, tmp_path / "state"), "utf-8")
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        process = await run_bridge(path, probe, base_topic)
    modules = imported(process)
    assert "lianke_bridge.bridge.service" in modules  # the report is there and complete
    for module in (*OPTIONAL_MODULES, *ON_FIRST_USE, *NEVER_BY_RUN):
        assert module not in modules, f"run imported {module}"


async def test_with_http_metrics_are_served(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """With ``http.enabled`` the endpoint is loaded and ``/metrics`` answers while it runs."""
    config = run_config(simulator, mosquitto, base_topic, tmp_path / "state")
    config += "http:\n  enabled: true\n  host: 127.0.0.1\n  port: 0\n"
    path = tmp_path / "config.yaml"
    path.write_text(config, encoding="utf-8")
    env = clean_env(PYTHONPROFILEIMPORTTIME="1")
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe,
        cli("run", "-c", str(path), env=env) as process,
    ):
        err = await process.wait_output(
            lambda text: SERVING.search(text) is not None, stream="stderr", timeout=START_TIMEOUT
        )
        port = SERVING.search(err)
        assert port is not None
        await probe.wait_for(
            f"{base_topic}/office/state", lambda m: m.json()["online"], START_TIMEOUT
        )
        metrics = f"http://127.0.0.1:{port.group(1)}/metrics"
        async with aiohttp.ClientSession() as session, session.get(metrics) as answer:
            assert answer.status == 200
            text = await answer.text()
        assert 'lianke_bridge_build_info{version="' in text
        assert 'lianke_bridge_api_calls_total{endpoint="device_info"}' in text
        process.send(signal.SIGTERM)
        assert await process.wait() == 0
    modules = imported(process)
    for module in OPTIONAL_MODULES:
        assert module in modules
    for module in NEVER_BY_RUN:
        assert module not in modules, f"run imported {module}"
