"""Strict, bounded input: links checked part by part, payloads bounded, load shed at once."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bridge_harness import RunningBridge, make_config, until
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.intake.answering import RequestAnswerer
from lianke_bridge.bridge.intake.backlog import RequestIntake
from lianke_bridge.bridge.requests.registry import parse_request
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import validate_config
from lianke_bridge.errors import CommandError, ConfigError
from lianke_bridge.hosts import host_allowed, normalise_host
from lianke_bridge.simulator import Simulator


def refused(payload: bytes, **kwargs: Any) -> str:
    """The message of the invalid_payload a print request gets."""
    with pytest.raises(CommandError) as caught:
        parse_request("print", payload, scope="device", **kwargs)
    assert caught.value.code == "invalid_payload"
    return caught.value.message


# ---- links ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://x.test:0/a.pdf", "port 0"),
        ("https://x.test:99999/a.pdf", "port must be a number from 1 to 65535"),
        ("https://x.test:\u0661/a.pdf", "port must be a number from 1 to 65535"),
        ("https://-/a.pdf", "neither a host name"),
        ("https://a..b/a.pdf", "neither a host name"),
        ("https://-a.example/a.pdf", "neither a host name"),
        ("https://a_b.example/a.pdf", "neither a host name"),
        ("https://999.1.1.1/a.pdf", "neither a host name"),
        ("https://" + "a" * 64 + ".example/a.pdf", "neither a host name"),
        ("https://x.test/" + "a" * 5000 + ".pdf", "longer than 4096 characters"),
    ],
)
def test_links_the_cloud_cannot_fetch_are_refused(url: str, says: str) -> None:
    """Port 0 or 99999, non-ASCII digits, host '-' or 'a..b': refused, naming the part."""
    message = refused(f'{{"url": "{url}"}}'.encode())
    assert says in message
    assert len(message) < 400  # the link is echoed cut short


@pytest.mark.parametrize(
    "url",
    [
        "https://x.test:8443/a.pdf",
        "http://192.168.1.20/scan.pdf",
        "http://[2001:db8::1]:8080/a.pdf",
        "https://\u4f8b\u3048.jp/a.pdf",
        "https://docs.example.com./a.pdf",
    ],
)
def test_good_links_pass(url: str) -> None:
    """Names with ports, IPv4, IPv6 in brackets, international names, a trailing dot."""
    request = parse_request("print", f'{{"url": "{url}"}}'.encode(), scope="device")
    assert request.command == "print"


def test_allowed_hosts_limit_where_links_point() -> None:
    """With an allowlist, only its hosts and the names below them may be printed from."""
    hosts = ("example.com", "10.0.0.5")
    good = ("https://example.com/a.pdf", "https://docs.example.com/a.pdf", "http://10.0.0.5/a.pdf")
    for url in good:
        payload = f'{{"url": "{url}"}}'.encode()
        assert parse_request("print", payload, scope="device", allowed_hosts=hosts)
    for url in ("https://example.org/a.pdf", "https://badexample.com/a.pdf", "http://10.0.0.6/a"):
        message = refused(f'{{"url": "{url}"}}'.encode(), allowed_hosts=hosts)
        assert "allowed hosts (jobs.allowed_hosts)" in message


def test_host_rules() -> None:
    """The host rules the links and the configuration share."""
    assert normalise_host("Example.COM.") == "example.com"
    assert normalise_host("\u4f8b\u3048.jp") == "xn--r8jz45g.jp"
    assert normalise_host("[::1]") == "::1"
    assert normalise_host("a..b") is None
    assert host_allowed("a.b.example.com", ["example.com"])
    assert not host_allowed("notexample.com", ["example.com"])
    assert host_allowed("anything.test", [])


def test_config_checks_allowed_hosts() -> None:
    """jobs.allowed_hosts takes host names and addresses, refusing anything else by line."""
    raw = {
        "lianke": {"api_key": "test-api-key-123"},
        "devices": [{"device_id": "LC01TEST0001", "device_key": "test-device-key-1"}],
    }
    config = validate_config({**raw, "jobs": {"allowed_hosts": ["Example.com", "10.0.0.5"]}})
    assert config.jobs.allowed_hosts == ("example.com", "10.0.0.5")
    with pytest.raises(ConfigError) as caught:
        validate_config({**raw, "jobs": {"allowed_hosts": ["a..b"]}})
    assert "allowed_hosts" in str(caught.value)


# ---- the intake ---------------------------------------------------------------------------
def test_intake_bounds_bytes_and_wait_never_a_count() -> None:
    """Beyond the byte budget or the expected wait a request is refused; never for a count.

    Cheap requests are let in however many there are: refusing one costs what answering it does.
    """
    mib = 1024 * 1024
    intake = RequestIntake[int](workers=2, max_bytes=10 * mib, max_wait=10.0)
    intake.average = 1.0
    assert intake.offer(1, 9 * mib) is None  # one large payload is always let in
    refusal = intake.offer(2, 2 * mib)
    assert refusal is not None
    assert "large documents" in refusal.reason
    assert intake.offer(3, 1000) is None  # a small one still fits beside it
    intake.held_bytes = 0  # the large one was answered
    quick = RequestIntake[int](workers=8, max_bytes=10**6, max_wait=5.0)
    quick.average = 0.001
    assert all(quick.offer(n, 50) is None for n in range(5000))
    slow = RequestIntake[int](workers=1, max_bytes=10**6, max_wait=2.0)
    slow.average = 1.0
    assert [slow.offer(n, 1) is None for n in range(4)] == [True, True, True, False]


# ---- on a running bridge ----------------------------------------------------------------
async def test_a_flood_is_answered_rate_limited_at_once(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """With the cloud slow, requests beyond a few seconds of work get rate_limited promptly.

    Every request still gets exactly one answer; the refused ones come before the cloud could
    have answered any (they never wait for a worker).
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config, shed_after=1.0), probe)
        await bridge.start()
        try:
            await bridge.settle()
            simulator.faults.slow(1.0, "/api/print/query_device_task")
            topic = f"{base_topic}/office/request/tasks"
            response = f"{base_topic}/office/response/tasks"
            # Eight requests at once: the bridge learns that a request now takes a second.
            mark = probe.mark()
            for n in range(8):
                await probe.publish(topic, {"transaction": f"warm-{n}"})
            await probe.wait_for(
                response, lambda _m: len(probe.messages(response)) >= 8, timeout=10, since=mark
            )
            # A flood, as a misbehaving client sends it (QoS 0: nothing holds it back).
            count = 30
            mark = probe.mark()
            for n in range(count):
                await probe.publish(topic, {"transaction": f"flood-{n}"}, qos=0)
            first = await probe.wait_for(
                response, lambda m: m.json()["status"] == "error", timeout=10, since=mark
            )
            await probe.wait_for(
                response,
                lambda _m: len(probe.messages(response)) >= 8 + count,
                timeout=60,
                since=mark,
            )
            await bridge.settle()
        finally:
            simulator.faults.slow(0, "/api/print/query_device_task")
            await bridge.stop()
    assert first.json()["error"]["code"] == "rate_limited"
    answers = [m.json() for m in probe.messages(response)][8:]
    assert sorted(a["transaction"] for a in answers) == sorted(f"flood-{n}" for n in range(count))
    codes = [a["status"] if a["status"] == "ok" else a["error"]["code"] for a in answers]
    assert set(codes) == {"ok", "rate_limited"}
    # Refused at once: the first refusal came before the slow cloud answered any of the flood.
    assert codes.index("rate_limited") < codes.index("ok")


async def test_large_payloads_at_once_are_bounded_by_a_byte_budget(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """Documents sent at once beyond the payload budget are refused rate_limited, not decoded.

    A Pi has little memory and each document payload is decoded into several copies; one
    large document at a time is let in, the others are asked to come again.
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    config = replace(config, jobs=replace(config.jobs, max_file_bytes=512 * 1024))
    document = base64.b64encode(b"%PDF-1.4 " + b"x" * 500_000).decode()
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            await bridge.settle()
            simulator.faults.slow(1.0, "/api/print/job")
            topic = f"{base_topic}/office/request/print"
            response = f"{base_topic}/office/response/print"
            mark = probe.mark()
            for n in range(3):
                payload = {"file": document, "filename": f"{n}.pdf", "transaction": f"big-{n}"}
                await probe.publish(topic, payload)
            await probe.wait_for(
                response, lambda _m: len(probe.messages(response)) >= 3, timeout=30, since=mark
            )
            await bridge.settle()
        finally:
            simulator.faults.slow(0, "/api/print/job")
            await bridge.stop()
    answers = {m.json()["transaction"]: m.json() for m in probe.messages(response)}
    assert answers["big-0"]["status"] == "ok", answers["big-0"]
    for n in (1, 2):
        error = answers[f"big-{n}"]["error"]
        assert error["code"] == "rate_limited"
        assert "large documents" in error["message"]
    assert simulator.count("/api/print/job", method="POST") == 1


def _hold_answers(answerer: RequestAnswerer, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Hold every answer and every refusal until the returned event is set."""
    gate = asyncio.Event()
    handle, refuse = answerer.handle, answerer.refuse

    async def held_handle(*args: Any, **kwargs: Any) -> None:
        await gate.wait()
        await handle(*args, **kwargs)

    async def held_refuse(*args: Any, **kwargs: Any) -> None:
        await gate.wait()
        await refuse(*args, **kwargs)

    monkeypatch.setattr(answerer, "handle", held_handle)
    monkeypatch.setattr(answerer, "refuse", held_refuse)
    return gate


@pytest.mark.parametrize(("shed_after", "answer"), [(5.0, "ok"), (0.0, "rate_limited")])
async def test_a_burst_beyond_any_count_is_answered_once_each_none_lost(  # noqa: PLR0917 - fixtures
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shed_after: float,
    answer: str,
) -> None:
    """Hundreds of cached requests arriving while the bridge is busy: each gets one answer.

    Held behind busy workers, a burst of cheap requests is simply answered (``ok``); with no
    time to spare (``shed_after`` 0) all but the ones the workers took are refused, and every
    refused one still gets its ``rate_limited`` answer: none is dropped unanswered. (QoS 0, so
    that the broker's in-flight window cannot hold the burst back: with QoS 1 Mosquitto lets
    hundreds through too once acknowledgements flow, but not at a moment a test can choose.)
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    count = 400
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config, shed_after=shed_after), probe)
        await bridge.start()
        try:
            await bridge.settle()
            topic = f"{base_topic}/office/request/printer_params"
            response = f"{base_topic}/office/response/printer_params"
            for n in range(20):  # the intake learns how long a cached answer takes
                await bridge.request("office", "printer_params", {"transaction": f"warm-{n}"})
            gate = _hold_answers(bridge.service.answerer, monkeypatch)
            seen = bridge.service.counters.messages_in
            mark = probe.mark()
            for n in range(count):
                await probe.publish(topic, {"transaction": f"burst-{n}"}, qos=0)
            await until(lambda: bridge.service.counters.messages_in >= seen + count, timeout=30)
            gate.set()
            await probe.wait_for(
                response,
                lambda _m: len(probe.messages(response)) >= 20 + count,
                timeout=60,
                since=mark,
            )
            await bridge.settle()
        finally:
            await bridge.stop()
    answers = [m.json() for m in probe.messages(response)[20:]]
    transactions = sorted(a["transaction"] for a in answers)
    assert transactions == sorted(f"burst-{n}" for n in range(count))  # one each, none lost
    codes = [a["status"] if a["status"] == "ok" else a["error"]["code"] for a in answers]
    assert set(codes) <= {"ok", "rate_limited"}
    assert codes.count(answer) >= count - 8  # the 8 workers took some before the gate
