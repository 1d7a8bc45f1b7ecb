"""The optional HTTP endpoint, scraped while the bridge works: /healthz and Prometheus /metrics."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from bridge_harness import RunningBridge
from mqtt_broker import MosquittoBroker, MqttProbe
from prometheus_client.parser import text_string_to_metric_families

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config, HttpConfig
from lianke_bridge.simulator import Simulator

OFFICE_ID = "lc01demo000001"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def http_bridge(
    bridge_config: Config, mosquitto: MosquittoBroker
) -> AsyncIterator[RunningBridge]:
    """The bridge with its HTTP endpoint on a free port of the loopback."""
    config = replace(bridge_config, http=HttpConfig(enabled=True, host="127.0.0.1", port=0))
    base = config.mqtt.base_topic
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            yield bridge
        finally:
            await bridge.stop()


def url(bridge: RunningBridge, path: str) -> str:
    """Where the bridge serves ``path``."""
    assert bridge.service.http_port
    return f"http://127.0.0.1:{bridge.service.http_port}{path}"


async def scrape(bridge: RunningBridge) -> Samples:
    """Every sample of /metrics, parsed as Prometheus would, by (name, sorted labels)."""
    await bridge.service.http_bound.wait()
    async with aiohttp.ClientSession() as session, session.get(url(bridge, "/metrics")) as answer:
        assert answer.status == 200
        assert answer.content_type == "text/plain"
        text = await answer.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


async def healthz(bridge: RunningBridge) -> tuple[int, Any]:
    """/healthz's status and JSON."""
    await bridge.service.http_bound.wait()
    async with aiohttp.ClientSession() as session, session.get(url(bridge, "/healthz")) as answer:
        return answer.status, await answer.json()


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value, 0 when it is not there (yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_what_a_print_caused(http_bridge: RunningBridge) -> None:
    """A print moves the API call, latency, MQTT and job metrics by what it did."""
    await http_bridge.wait_json("office/state", lambda s: bool(s["printers"]))
    before = await scrape(http_bridge)
    envelope = await http_bridge.request("office", "print", {"url": "https://x.test/a.pdf"})
    assert envelope["status"] == "ok", envelope
    task_id = envelope["data"]["task_id"]
    await http_bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "succeeded")
    after = await scrape(http_bridge)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("lianke_bridge_api_calls_total", endpoint="print_job") == 1
    assert moved("lianke_bridge_api_calls_total", endpoint="job_status") >= 1
    assert moved("lianke_bridge_api_latency_seconds_count", endpoint="print_job", code="200") == 1
    assert moved("lianke_bridge_api_latency_seconds_sum", endpoint="print_job", code="200") > 0
    assert moved("lianke_bridge_mqtt_messages_received_total") >= 1
    assert moved("lianke_bridge_mqtt_messages_published_total") >= 2  # answer, job states
    assert value(after, "lianke_bridge_jobs", state="succeeded") == 1
    assert value(after, "lianke_bridge_mqtt_connected") == 1
    assert value(after, "lianke_bridge_device_online", device="office") == 1
    for poll in ("device_info", "printer_list", "printer_status", "tasks"):
        lag = after["lianke_bridge_schedule_lag_seconds", (("device", "office"), ("poll", poll))]
        assert 0 <= lag < 5


async def test_metrics_and_health_count_api_errors_once(
    http_bridge: RunningBridge, simulator: Simulator
) -> None:
    """A cloud error shows in /metrics by call and code, and bridge/health gives the same count."""
    await http_bridge.wait_json("office/state", lambda s: bool(s["printers"]))
    simulator.faults.box_offline(OFFICE_ID)
    envelope = await http_bridge.request("office", "print", {"url": "https://x.test/a.pdf"})
    assert envelope["error"]["code"] == 5002
    samples = await scrape(http_bridge)
    health = http_bridge.service.health()
    counted = value(samples, "lianke_bridge_api_errors_total", endpoint="print_job", code="5002")
    assert counted == 1
    assert health["api"]["errors"]["print_job"]["5002"] == counted
    assert value(samples, "lianke_bridge_api_calls_total", endpoint="device_info") >= 1
    assert (
        value(samples, "lianke_bridge_api_calls_total", endpoint="device_info")
        <= (health["api"]["calls"]["device_info"])
    )


async def test_healthz_agrees_with_bridge_health(
    http_bridge: RunningBridge, simulator: Simulator
) -> None:
    """/healthz is 200 while connected with the cloud answering, 503 while the cloud fails."""
    await http_bridge.wait_json("office/state", lambda s: s["online"])
    status, summary = await healthz(http_bridge)
    assert status == 200
    assert summary["healthy"] is True
    assert summary["mqtt"]["connected"] is True
    assert summary["api_problem"] is False
    simulator.faults.http_error(status=502, html=True, path="/api/device/device_info", count=1000)
    health = await http_bridge.wait_json("office/state", lambda s: s["error"] is not None)
    assert health["error"]["code"] == "api_error"
    status, summary = await healthz(http_bridge)
    assert status == 503
    assert summary["healthy"] is False
    assert summary["api_problem"] is http_bridge.service.health()["api_problem"] is True
    samples = await scrape(http_bridge)
    assert value(samples, "lianke_bridge_api_errors_total", endpoint="device_info", code="http_502")


async def test_endpoint_is_off_by_default(running_bridge: RunningBridge) -> None:
    """Without ``http.enabled`` nothing listens."""
    assert running_bridge.service.config.http.enabled is False
    assert running_bridge.service.http_port is None
    assert not running_bridge.service.http_bound.is_set()


async def test_a_taken_port_is_an_error_not_a_crash(
    bridge_config: Config, mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A port already in use is logged as an error; the bridge still serves MQTT."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = replace(bridge_config, http=HttpConfig(enabled=True, host="127.0.0.1", port=port))
        base = config.mqtt.base_topic
        async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base}/#"]) as probe:
            bridge = RunningBridge(BridgeService(config), probe)
            await bridge.start()
            try:
                envelope = await bridge.request("bridge", "health_check")
                assert envelope["status"] == "ok"
            finally:
                await bridge.stop()
    assert any(
        r.levelname == "ERROR" and "cannot serve /healthz" in r.getMessage() for r in caplog.records
    )
    assert not bridge.service.http_bound.is_set()
