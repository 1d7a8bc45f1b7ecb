"""The bridge against a cloud as strict as the reference: real broker, real simulator (issue #8).

A link without a type, a link with a query after ``.pdf``, a refused ApiKey and a refused
device key: each as a user with a real box would meet it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import RunningBridge, make_config, until
from mqtt_broker import MosquittoBroker, MqttProbe, sentinel_round_trip

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.cli.process import MqttLogHandler, run_until_stopped
from lianke_bridge.config import Config, DeviceConfig
from lianke_bridge.simulator import Simulator

JOB = "/api/print/job"


def job_posts(simulator: Simulator) -> list[dict[str, Any]]:
    """The form fields of every print job the simulator received."""
    return [r.fields for r in simulator.requests if r.path == JOB and r.method == "POST"]


@pytest.fixture
def bridge_log() -> Iterator[list[logging.Handler]]:
    """Warnings and errors go to ``bridge/log``, as ``lianke-bridge run`` wires them."""
    handlers: list[logging.Handler] = []
    yield handlers
    for handler in handlers:
        logging.getLogger().removeHandler(handler)


@pytest.fixture
async def requester(mosquitto: MosquittoBroker) -> AsyncIterator[MqttProbe]:
    """Sends the requests; it subscribes to nothing else, so the bridge's probe counts answers."""
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[]) as probe:
        yield probe


async def ask(
    requester: MqttProbe, base: str, device: str, command: str, payload: Any = None
) -> Any:
    """One request through the requester; its answer envelope."""
    answer = await requester.request(
        f"{base}/{device}/request/{command}",
        payload,
        response_topic=f"{base}/test-answers/{device}/{command}",  # not the contract's topic
        timeout=8.0,
        settle=lambda: sentinel_round_trip(requester, base),  # exactly one answer
    )
    return answer.json()


async def start(
    config: Config, mosquitto: MosquittoBroker, handlers: list[logging.Handler]
) -> tuple[RunningBridge, MqttProbe]:
    """A bridge whose log reaches bridge/log; health waits an hour unless something changes."""
    base = config.mqtt.base_topic
    probe = MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base}/#"])
    await probe.__aenter__()
    service = BridgeService(config, health_interval=3600)  # health on change: see the tests
    handler = MqttLogHandler(service.forward_log)
    logging.getLogger().addHandler(handler)
    handlers.append(handler)
    bridge = RunningBridge(service, probe)
    await bridge.start()
    return bridge, probe


async def stop(bridge: RunningBridge, probe: MqttProbe) -> None:
    """Stop the bridge, then its probe."""
    await bridge.stop()
    await probe.__aexit__(None, None, None)


def errors_logged(bridge: RunningBridge) -> list[dict[str, Any]]:
    """The ERROR lines published on bridge/log."""
    return [
        m.json()
        for m in bridge.probe.messages(f"{bridge.base}/bridge/log")
        if m.json().get("level") == "error"
    ]


def answers(bridge: RunningBridge, device: str, command: str) -> int:
    """How many answers a command got on its response topic."""
    return len(bridge.probe.messages(f"{bridge.base}/{device}/response/{command}"))


# ---------------------------------------------------------------------------- print by link


async def test_link_without_a_type_is_refused_naming_file_ext(
    running_bridge: RunningBridge, simulator: Simulator, requester: MqttProbe
) -> None:
    """A link whose path shows no type is refused at once (no guess, no cloud call)."""
    envelope = await ask(
        requester,
        running_bridge.base,
        "office",
        "print",
        {"url": "https://files.example/download?id=7"},
    )
    assert envelope["status"] == "error"
    assert envelope["error"]["code"] == "invalid_payload"
    assert "file_ext" in envelope["error"]["message"]
    assert job_posts(simulator) == []
    sentinel = await ask(requester, running_bridge.base, "bridge", "health_check")
    assert sentinel["status"] == "ok"
    assert answers(running_bridge, "office", "print") == 1


async def test_link_without_a_type_prints_with_file_ext(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """The same link with file_ext is printed: urlFileExt and both scalings reach the cloud."""
    envelope = await running_bridge.request(
        "office", "print", {"url": "https://files.example/download?id=7", "file_ext": "docx"}
    )
    assert envelope["status"] == "ok", envelope
    await running_bridge.wait_json(
        f"office/job/{envelope['data']['task_id']}", lambda j: j["state"] == "succeeded"
    )
    (sent,) = job_posts(simulator)
    assert (sent["urlFileExt"], sent["jpScale"], sent["jpAutoScale"]) == (".docx", "fit", "4")


async def test_link_with_a_query_after_pdf_is_printed_as_pdf(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """``…/report.pdf?sig=…&exp=…`` is a PDF: urlFileExt .pdf, and the strict cloud prints it."""
    url = "https://files.example/report.pdf?sig=a1b2&exp=1700000000"
    envelope = await running_bridge.request("office", "print", {"url": url, "scale": "fill"})
    assert envelope["status"] == "ok", envelope
    await running_bridge.wait_json(
        f"office/job/{envelope['data']['task_id']}", lambda j: j["state"] == "succeeded"
    )
    (sent,) = job_posts(simulator)
    assert sent["jobFile"] == url
    assert (sent["urlFileExt"], sent["jpScale"], sent["jpAutoScale"]) == (".pdf", "fill", "3")


# ---------------------------------------------------------------------------- refused keys


async def test_refused_api_key_stops_polling_and_is_reported_once(  # noqa: PLR0917 - fixtures
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    bridge_log: list[logging.Handler],
    requester: MqttProbe,
) -> None:
    """A revoked ApiKey: polling stops, api_problem says why, one ERROR; SIGHUP tries again."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    config = replace(config, lianke=replace(config.lianke, api_key="revoked-key"))
    bridge, probe = await start(config, mosquitto, bridge_log)
    try:
        for device in ("office", "warehouse", "spare"):
            await bridge.wait_json(
                f"{device}/state", lambda s: (s["error"] or {}).get("code") == 10001
            )
        health = await bridge.wait_json("bridge/health", lambda h: h["api_problem"])
        assert "refused the ApiKey" in health["api_problem_reason"]
        assert "SIGHUP" in health["api_problem_reason"]
        sent = len(simulator.requests)
        assert sent <= 3  # at most the first call of each box, made before the first answer
        refused = await ask(
            requester, base_topic, "office", "print", {"url": "https://x.test/a.pdf"}
        )
        refresh = await ask(requester, base_topic, "office", "refresh")
        refresh_all = await ask(requester, base_topic, "bridge", "refresh")
        assert refused["error"]["code"] == refresh["error"]["code"] == 10001
        assert refresh_all["error"]["code"] == 10001
        assert "not sent" in refused["error"]["message"]
        assert len(simulator.requests) == sent  # answered at once, no cloud call
        refusal = bridge.service.client.key_refusal
        assert refusal is not None
        tries = refusal.tries
        bridge.service.retry_cloud()  # what SIGHUP does; the key is still refused
        await until(lambda: refusal.tries == tries + 1 and not refusal.probing)  # refused again
        assert len(simulator.requests) == sent + 1
        simulator.fleet = replace(simulator.fleet, api_key="revoked-key")  # the key is valid again
        bridge.service.retry_cloud()
        await bridge.wait_json("office/state", lambda s: s["error"] is None and s["online"])
        health = await bridge.wait_json("bridge/health", lambda h: not h["api_problem"])
        assert health["api_problem_reason"] is None
        assert len(errors_logged(bridge)) == 1
        assert "refused the ApiKey" in errors_logged(bridge)[0]["message"]
        assert "revoked-key" not in str(bridge.probe.messages(f"{base_topic}/#"))
        assert answers(bridge, "office", "print") == answers(bridge, "office", "refresh") == 1
    finally:
        await stop(bridge, probe)


async def test_refused_device_key_stops_only_that_box(  # noqa: PLR0917 - fixtures
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    bridge_log: list[logging.Handler],
    requester: MqttProbe,
) -> None:
    """A wrong deviceKey: that box's polling stops (404 on its state, one ERROR), others go on."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    office: DeviceConfig = replace(config.devices[0], device_key="wrong-device-key")
    config = replace(config, devices=(office, *config.devices[1:]))
    office_id = office.device_id
    warehouse_id = config.devices[1].device_id

    def calls(device_id: str) -> int:
        return sum(
            1
            for r in simulator.requests
            if device_id in (r.query.get("deviceId"), r.fields.get("deviceId"))
        )

    bridge, probe = await start(config, mosquitto, bridge_log)
    try:
        state = await bridge.wait_json(
            "office/state", lambda s: (s["error"] or {}).get("code") == 404
        )
        assert state["error"]["code"] == 404
        assert calls(office_id) == 1
        before = calls(warehouse_id)
        await until(lambda: calls(warehouse_id) >= before + 3)  # the others keep polling
        assert calls(office_id) == 1
        refused = await ask(
            requester, base_topic, "office", "print", {"url": "https://x.test/a.pdf"}
        )
        assert refused["error"]["code"] == 404
        assert calls(office_id) == 1
        bridge.service.retry_cloud()  # SIGHUP: one more try, still refused
        await until(lambda: calls(office_id) == 2)
        logged = errors_logged(bridge)
        assert len(logged) == 1
        assert logged[0]["device"] == "office"
        assert "wrong-device-key" not in str(bridge.probe.messages(f"{base_topic}/#"))
        assert answers(bridge, "office", "print") == 1
    finally:
        await stop(bridge, probe)


def test_sighup_tries_again_instead_of_stopping() -> None:
    """``run``'s SIGHUP calls the retry and the bridge goes on; SIGTERM still stops it."""
    tried: list[str] = []

    async def main() -> None:
        os.kill(os.getpid(), signal.SIGHUP)
        async with asyncio.timeout(5):
            while not tried:  # noqa: ASYNC110 - the signal handler only appends
                await asyncio.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.Event().wait()

    assert run_until_stopped(main, on_hangup=lambda: tried.append("retry")) == 0
    assert tried == ["retry"]
