"""Crash-safe memory: duplicates across restarts, and prints interrupted mid-call followed up."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from bridge_harness import RunningBridge, StalledDisk, make_config, until
from mqtt_broker import MosquittoBroker, MqttProbe
from sim_api import SimApi

from lianke_bridge.bridge.memory.entries import SeenRequest, Submission
from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config
from lianke_bridge.simulator import Simulator

PRINT_PATH = "/api/print/job"
FLUSH_PATH = "/api/print/flush_jobs"


async def _run_once(config: Config, probe: MqttProbe, device: str, payload: Any) -> Any:
    """Start a bridge, send one print, stop it; the answer."""
    bridge = RunningBridge(BridgeService(config), probe)
    await bridge.start()
    try:
        return await bridge.request(device, "print", payload)
    finally:
        await bridge.stop()


async def test_a_duplicate_is_recognised_after_a_restart_with_the_original_answer(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """The same transaction after a restart is not printed again; the first answer comes along."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    payload = {"url": "https://x.test/once.pdf", "transaction": "order-17"}
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        first = await _run_once(config, probe, "office", payload)
        again = await _run_once(config, probe, "office", payload)
    assert first["status"] == "ok", first
    assert again["status"] == "error"
    assert again["error"]["code"] == "duplicate"
    assert again["error"]["original"] == first
    assert again["transaction"] == "order-17"
    assert simulator.count(PRINT_PATH, "POST") == 1


async def test_a_print_interrupted_after_reaching_the_cloud_is_followed_and_answered(
    simulator: Simulator,
    sim_api: SimApi,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
) -> None:
    """The state a SIGKILL during the cloud call leaves: a submission, no task id, no answer.

    At start the bridge finds the task in the box's task list and follows it to its end; the
    broker's redelivery of the request gets the answer it never had (ok, with that task), and
    nothing is printed twice.
    """
    state = tmp_path / "state"
    config = make_config(simulator, mosquitto, base_topic, state)
    topic = f"{base_topic}/office/request/print"
    store = Store(state)
    before = time.time()
    await store.remember_request(SeenRequest(topic, "killed", before))
    await store.begin_submission(Submission("s-1", "office", 1, "url", "killed", before))
    store.close()
    task_id = await sim_api.submit_ok()  # the call that reached the cloud before the kill
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            job = await bridge.wait_json(
                f"office/job/{task_id}", lambda j: j["state"] == "succeeded"
            )
            redelivered = await bridge.request(
                "office", "print", {"url": "https://x.test/a.pdf", "transaction": "killed"}
            )
            resent = await bridge.request(
                "office", "print", {"url": "https://x.test/a.pdf", "transaction": "killed"}
            )
        finally:
            await bridge.stop()
    assert job["transaction"] == "killed"
    assert redelivered["status"] == "ok", redelivered
    assert redelivered["data"]["task_id"] == task_id
    assert resent["error"]["code"] == "duplicate"
    assert resent["error"]["original"]["data"]["task_id"] == task_id
    assert simulator.count(PRINT_PATH, "POST") == 1


async def test_a_print_interrupted_before_reaching_the_cloud_runs_when_redelivered(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path, caplog: Any
) -> None:
    """No task in the cloud: the submission is dropped with a warning; the redelivery prints."""
    state = tmp_path / "state"
    config = make_config(simulator, mosquitto, base_topic, state)
    topic = f"{base_topic}/office/request/print"
    store = Store(state)
    before = time.time()
    await store.remember_request(SeenRequest(topic, "lost", before))
    await store.begin_submission(Submission("s-1", "office", 1, "url", "lost", before))
    store.close()
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        with caplog.at_level(logging.WARNING):
            answer = await _run_once(
                config, probe, "office", {"url": "https://x.test/a.pdf", "transaction": "lost"}
            )
    assert answer["status"] == "ok", answer
    assert "interrupted before it reached the cloud" in caplog.text
    assert simulator.count(PRINT_PATH, "POST") == 1
    assert Store(state).submissions == {}


async def test_a_query_does_not_wait_for_the_disk_a_print_does(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """With the state disk stalled, queries are answered; a print waits for its record.

    Queries with a transaction need nothing on disk before they run or answer; a print or a
    flush with one does not reach the cloud until its record is on disk, then runs once.
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        service = BridgeService(config)
        bridge = RunningBridge(service, probe)
        await bridge.start()
        database = service.store.database._db  # the disk under the store, to be stalled
        assert database is not None
        disk = StalledDisk(database)
        try:
            await bridge.settle()
            service.store.database._db = disk  # type: ignore[assignment]
            query = await bridge.request("office", "printer_params", {"transaction": "q-1"})
            assert query["status"] == "ok", query
            print_request = {"url": "https://x.test/held.pdf", "transaction": "p-1"}
            mark = probe.mark()
            await probe.publish(f"{base_topic}/office/request/print", print_request)
            await until(lambda: bool(service.store.submissions))  # waiting for the disk
            # (no settle while the print waits: the bridge is not idle before the disk is back)
            tasks_mark = probe.mark()
            tasks = f"{base_topic}/office/request/tasks"
            again = await probe.request(tasks, {"transaction": "q-2"}, timeout=8)
            assert again.json()["status"] == "ok", again.json()
            assert simulator.count(PRINT_PATH, "POST") == 0
            assert probe.messages(f"{base_topic}/office/response/print") == []
            # Another command that acts waits for its own record, like the print.
            flush = {"port": 1, "transaction": "f-1"}
            await probe.publish(f"{base_topic}/office/request/flush", flush)
            flush_key = (f"{base_topic}/office/request/flush", "f-1")
            await until(lambda: flush_key in service.store.requests)  # waiting for the disk
            assert simulator.count(FLUSH_PATH, "POST") == 0
            disk.released.set()
            printed = await probe.wait_for(
                f"{base_topic}/office/response/print", timeout=8, since=mark
            )
            flushed = await probe.wait_for(
                f"{base_topic}/office/response/flush", timeout=8, since=mark
            )
            await bridge.settle()
        finally:
            disk.released.set()
            await bridge.stop()
    assert printed.json()["status"] == "ok", printed.json()
    assert printed.json()["transaction"] == "p-1"
    probe.assert_one(f"{base_topic}/office/response/print", since=mark)
    probe.assert_one(f"{base_topic}/office/response/tasks", since=tasks_mark)
    assert simulator.count(PRINT_PATH, "POST") == 1
    assert flushed.json()["status"] == "ok", flushed.json()
    probe.assert_one(f"{base_topic}/office/response/flush", since=mark)
    assert simulator.count(FLUSH_PATH, "POST") == 1
