"""The cloud's pushes end to end: simulator -> bridge (HTTP or MQTT) -> a real Mosquitto.

The simulator pushes a job's result to the ``callbackUrl`` the bridge sent with the print (an
``https://`` address, forwarded by the simulator as a reverse proxy would to the bridge's plain
HTTP endpoint), and the console's message push when a printer is unplugged. Jobs are polled
only every 30 s (60 s while pushes arrive), so whatever happens within a test is the push's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from bridge_harness import SLOW_POLL, RunningBridge, calls_for, make_config, until
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.records.push import MAX_PUSH_BYTES
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config, HttpConfig, JobsConfig
from lianke_bridge.simulator import Simulator

OFFICE_ID, WAREHOUSE_ID = "lc01demo000001", "lc01demo000002"
PUBLIC = "https://bridge.example.net/lianke/{token}"
"""The bridge's own endpoint, as the cloud knows it (a reverse proxy forwards it)."""
WEBHOOK = "https://ha.example.net/api/webhook/lianke-relay"
"""Home Assistant's webhook, which relays each push to ``<base>/bridge/callback``."""
QUIET_JOBS = JobsConfig(poll_interval=30, push_poll_interval=60)
"""No poll of a job within a test: what ends it is the push."""
PRINT = {"url": "https://x.test/a.pdf"}


def push_config(config: Config, callback_url: str, jobs: JobsConfig = QUIET_JOBS) -> Config:
    """The configuration with pushes to ``callback_url`` (the HTTP endpoint on a free port)."""
    return replace(
        config,
        lianke=replace(config.lianke, callback_url=callback_url),
        http=HttpConfig(enabled=callback_url == PUBLIC, host="127.0.0.1", port=0),
        jobs=jobs,
    )


async def started(config: Config, broker: MosquittoBroker, simulator: Simulator) -> RunningBridge:
    """A running bridge; the simulator forwards https pushes to its HTTP endpoint."""
    base = config.mqtt.base_topic
    probe = MqttProbe(broker.host, broker.port, subscribe=[f"{base}/#"])
    await probe.connect()
    bridge = RunningBridge(BridgeService(config), probe)
    await bridge.start()
    if config.http.enabled:
        await bridge.service.http_bound.wait()
        simulator.faults.callback_proxy(f"http://127.0.0.1:{bridge.service.http_port}")
    return bridge


@pytest.fixture
async def push_bridge(
    bridge_config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> AsyncIterator[RunningBridge]:
    """The bridge receiving pushes on its own HTTP endpoint; jobs never polled in a test."""
    bridge = await started(push_config(bridge_config, PUBLIC), mosquitto, simulator)
    try:
        yield bridge
    finally:
        await bridge.stop()
        await bridge.probe.close()


def endpoint(bridge: RunningBridge, token: str | None = None) -> str:
    """Where the bridge takes pushes, as the reverse proxy reaches it."""
    route = bridge.service.pushes.route
    assert route is not None
    return f"http://127.0.0.1:{bridge.service.http_port}{route[0]}/{token or route[1]}"


async def post(url: str, body: Any) -> int:
    """POST a push (bytes as they are, anything else as JSON); the HTTP status."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with aiohttp.ClientSession() as session, session.post(url, data=data) as answer:
        return answer.status


def job_queries(simulator: Simulator, task_id: str) -> int:
    """How many ``GET /api/print/job`` asked about the task."""
    return sum(
        1
        for r in simulator.requests
        if r.method == "GET" and r.path == "/api/print/job" and r.query.get("task_id") == task_id
    )


def states(bridge: RunningBridge, task_id: str) -> list[str]:
    """Every state the job's topic was published with, in order."""
    topic = f"{bridge.base}/office/job/{task_id}"
    return [m.json()["state"] for m in bridge.probe.messages(topic) if m.payload]


async def print_job(bridge: RunningBridge) -> str:
    """Print on the office box; the task id."""
    envelope = await bridge.request("office", "print", PRINT)
    assert envelope["status"] == "ok", envelope
    task_id: str = envelope["data"]["task_id"]
    return task_id


def result(task_id: str, state: str = "SUCCESS", device: str = OFFICE_ID) -> dict[str, Any]:
    """A job result as the cloud pushes it."""
    return {
        "device_id": device,
        "task_id": task_id,
        "task_state": state,
        "create_time": "2024-01-01 10:00:00",
        "finish_time": "2024-01-01 10:00:05",
        "task_result": {"code": 200, "msg": "success"},
    }


async def test_a_pushed_end_is_published_after_one_confirmation(
    push_bridge: RunningBridge, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The print asks for the push; the job goes queued -> succeeded on one confirming query.

    No poll comes between (the job topic never shows parsing or sending), the end is published
    once, and the token is in no log line and no MQTT payload.
    """
    caplog.set_level(logging.DEBUG)
    route = push_bridge.service.pushes.route
    assert route is not None
    task_id = await print_job(push_bridge)
    await push_bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "succeeded")
    await push_bridge.settle()

    submitted = [r for r in simulator.requests if r.method == "POST" and r.path == "/api/print/job"]
    assert [r.fields["callbackUrl"] for r in submitted] == [PUBLIC.replace("{token}", route[1])]
    # The bridge publishes the end before its HTTP answer reaches the simulator: wait for it.
    await until(lambda: all("status" in a or "error" in a for a in simulator.state.callbacks))
    assert [attempt.get("status") for attempt in simulator.state.callbacks] == [200]
    assert job_queries(simulator, task_id) == 1
    assert states(push_bridge, task_id) == ["queued", "succeeded"]
    health = push_bridge.service.health()["pushes"]
    assert (health["mode"], health["arriving"], health["confirmed"]) == ("http", True, 1)
    assert health["received"] == {"http": 1}
    assert route[1] not in caplog.text
    assert not [m for m in push_bridge.probe.messages() if route[1].encode() in m.payload]


async def test_forged_pushes_are_ignored_and_counted(
    push_bridge: RunningBridge, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong token, not JSON, too large, unknown shape, box or task, no end: no call.

    An end the job has not reached costs one confirming query and publishes only what the cloud
    answered; claimed again at once, not even that.
    """
    caplog.set_level(logging.DEBUG, logger="lianke_bridge.bridge.jobs.pushes")
    simulator.state.timing = replace(simulator.state.timing, sending=600.0)  # never ends here
    task_id = await print_job(push_bridge)
    url = endpoint(push_bridge)
    assert await post(endpoint(push_bridge, "x" * 32), result(task_id)) == 404
    assert await post(url, b"{not json") == 400
    assert await post(url, b" " * (MAX_PUSH_BYTES + 1)) == 413
    assert await post(url, {"msg_type": "device_offline", "device_id": "lc99stranger0001"}) == 200
    assert await post(url, {"hello": "world"}) == 200
    assert await post(url, result("0-unknown-task")) == 200
    assert await post(url, result(task_id, device="lc99stranger0001")) == 200
    assert await post(url, result(task_id, device=WAREHOUSE_ID)) == 200
    assert await post(url, result(task_id, state="PARSING")) == 200
    assert job_queries(simulator, task_id) == 0
    assert await post(url, result(task_id)) == 200  # the lie: the cloud says SENDING
    assert await post(url, result(task_id)) == 200
    assert job_queries(simulator, task_id) == 1
    await push_bridge.settle()
    assert states(push_bridge, task_id) == ["queued", "sending"]  # the cloud's word, not the push's
    assert push_bridge.service.health()["pushes"]["rejected"] == {
        "bad_json": 1,
        "bad_token": 1,
        "not_final": 1,
        "too_large": 1,
        "too_soon": 1,
        "unconfirmed": 1,
        "unknown_device": 2,
        "unknown_shape": 1,
        "unknown_task": 2,
    }
    assert "not understood (unknown_shape)" in caplog.text
    assert '{"hello": "world"}' in caplog.text


async def test_replayed_and_late_pushes_are_harmless(
    push_bridge: RunningBridge, simulator: Simulator
) -> None:
    """Two copies at once, a replay and an older state after the end: one query, one end."""
    simulator.faults.callbacks(on=False)  # the test sends the pushes itself
    task_id = await print_job(push_bridge)
    await until(lambda: simulator.state.jobs[task_id].final)
    url = endpoint(push_bridge)
    statuses = await asyncio.gather(post(url, result(task_id)), post(url, result(task_id)))
    assert list(statuses) == [200, 200]
    await push_bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "succeeded")
    assert await post(url, result(task_id)) == 200
    assert await post(url, result(task_id, state="SENDING")) == 200
    await push_bridge.settle()
    assert job_queries(simulator, task_id) == 1
    assert states(push_bridge, task_id) == ["queued", "succeeded"]
    pushes = push_bridge.service.health()["pushes"]
    assert (pushes["confirmed"], pushes["duplicates"], pushes["rejected"]) == (
        1,
        2,
        {"not_final": 1},
    )


async def test_jobs_are_polled_again_when_pushes_stop(
    bridge_config: Config,
    mosquitto: MosquittoBroker,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job whose push never comes still ends, by a poll; the next push makes pushes trusted.

    Meanwhile ``bridge/health`` says pushes do not arrive, and one WARNING says what to check.
    """
    jobs = JobsConfig(poll_interval=0.2, push_poll_interval=0.5)
    bridge = await started(push_config(bridge_config, PUBLIC, jobs), mosquitto, simulator)
    try:
        simulator.faults.callbacks(on=False)
        silent = await print_job(bridge)
        await bridge.wait_json(f"office/job/{silent}", lambda j: j["state"] == "succeeded")
        assert bridge.service.health()["pushes"]["arriving"] is False
        assert bridge.service.jobs.polls.interval == 0.2
        said = [
            r.getMessage()
            for r in caplog.records
            if r.name == "lianke_bridge.bridge.jobs.polls" and r.levelno == logging.WARNING
        ]
        assert len(said) == 1
        assert said[0].startswith(f"job {silent} ended without the cloud's push")
        simulator.faults.callbacks(on=True)
        pushed = await print_job(bridge)
        await bridge.wait_json(f"office/job/{pushed}", lambda j: j["state"] == "succeeded")
        await until(lambda: bridge.service.pushes.ledger.arriving)
        assert bridge.service.jobs.polls.interval == 0.5
    finally:
        await bridge.stop()
        await bridge.probe.close()


@pytest.fixture
async def relay(
    simulator: Simulator, base_topic: str, mosquitto: MosquittoBroker
) -> AsyncIterator[None]:
    """Home Assistant's part: a webhook that publishes each POSTed body to bridge/callback.

    (The blueprint blueprints/automation/lianke_bridge/cloud_push_relay.yaml does this in a
    real Home Assistant.)
    """
    async with MqttProbe(mosquitto.host, mosquitto.port) as publisher:

        async def hook(request: web.Request) -> web.Response:
            await publisher.publish(f"{base_topic}/bridge/callback", await request.read())
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/api/webhook/lianke-relay", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        simulator.faults.callback_proxy(f"http://127.0.0.1:{runner.addresses[0][1]}")
        try:
            yield
        finally:
            await runner.cleanup()


async def test_pushes_relayed_over_mqtt_end_a_job(
    relay: None, bridge_config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """No port open: the webhook's relay to ``<base>/bridge/callback`` ends the job just as well."""
    bridge = await started(push_config(bridge_config, WEBHOOK), mosquitto, simulator)
    try:
        task_id = await print_job(bridge)
        await bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "succeeded")
        await bridge.settle()
        submitted = [r.fields for r in simulator.requests if r.path == "/api/print/job"]
        assert submitted[0]["callbackUrl"] == WEBHOOK
        assert job_queries(simulator, task_id) == 1
        assert states(bridge, task_id) == ["queued", "succeeded"]
        pushes = bridge.service.health()["pushes"]
        assert (pushes["mode"], pushes["received"], pushes["confirmed"]) == (
            "relay",
            {"mqtt": 1},
            1,
        )
        assert bridge.service.monitor.info()["pushes"] == "relay"
    finally:
        await bridge.stop()
        await bridge.probe.close()


async def test_a_message_push_refreshes_its_box_at_most_every_30_s(
    bridge_config: Config, mosquitto: MosquittoBroker, simulator: Simulator
) -> None:
    """A printer unplugged: the console's push makes the box's printers asked at once.

    The boxes are polled every 60 s, so only the push explains it. More messages within 30 s
    bring one more refresh at the end of those 30 s, not one each.
    """
    slow = make_config(
        simulator, mosquitto, bridge_config.mqtt.base_topic, bridge_config.state_dir, poll=SLOW_POLL
    )
    bridge = await started(push_config(slow, PUBLIC), mosquitto, simulator)
    try:
        await bridge.wait_json("office/state", lambda s: 2 in s["printers"])
        await until(lambda: calls_for(simulator, OFFICE_ID, "/api/print/query_device_task") > 0)
        route = bridge.service.pushes.route  # (the first round of polls is over)
        assert route is not None
        simulator.faults.message_push(PUBLIC.replace("{token}", route[1]))
        listed = calls_for(simulator, OFFICE_ID, "/api/external_api/printer_list")
        simulator.faults.unplug_printer(OFFICE_ID, 2)
        await until(lambda: bridge.service.pushes.ledger.refreshes == 1)
        await until(
            lambda: calls_for(simulator, OFFICE_ID, "/api/external_api/printer_list") > listed
        )
        await bridge.wait_json("office/state", lambda s: 2 not in s["printers"])
        message = simulator.state.callbacks[-1]["body"]
        for _ in range(3):
            assert await post(endpoint(bridge), message) == 200
        pushes = bridge.service.pushes.ledger
        assert (pushes.messages, pushes.refreshes) == (4, 2)
        office = bridge.service.boxes["office"]
        loop_time = asyncio.get_running_loop().time()
        assert all(office.asked[kind] > loop_time + 20 for kind in ("device_info", "printer_list"))
    finally:
        await bridge.stop()
        await bridge.probe.close()
