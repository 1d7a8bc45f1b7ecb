"""What keeps answers fast, checked as behaviour (never as timings: those are in bench/).

TCP_NODELAY on the bridge's MQTT socket; a print costs one cloud call, not one per active job,
and its answer goes out before its job's topics; the client-wide call ceiling serves commands
ahead of background polls.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge_harness import RunningBridge, make_config
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.limiter import Priority, background_calls, call_priority
from lianke_bridge.cloud.models import Credentials
from lianke_bridge.config import JobsConfig
from lianke_bridge.simulator import Simulator

JOB_STATUS = "/api/print/job"


def ok(envelope: dict[str, Any]) -> Any:
    """The data of an ok envelope."""
    assert envelope["status"] == "ok", envelope
    return envelope["data"]


async def test_the_bridge_mqtt_socket_has_tcp_nodelay(running_bridge: RunningBridge) -> None:
    """Answers leave at once: Nagle would hold each one for the broker's delayed ACK (~40 ms)."""
    client = running_bridge.service.publisher._client
    assert client is not None
    sock = client._client.socket()
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_a_print_costs_one_cloud_call_and_the_job_is_still_followed(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """Submitting does not wake the job tracker into asking every active job at once.

    Two prints and a later command: no job_status call yet (the submission already said where
    the job is); one poll interval later the tracker follows the jobs to their end.
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    config = replace(config, jobs=JobsConfig(poll_interval=1.0))
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            first = ok(await bridge.request("office", "print", {"url": "https://x.test/1.pdf"}))
            ok(await bridge.request("office", "print", {"url": "https://x.test/2.pdf"}))
            ok(await bridge.request("office", "tasks"))
            assert simulator.count(JOB_STATUS, method="GET") == 0
            job = await bridge.wait_json(
                f"office/job/{first['task_id']}", lambda j: j["state"] == "succeeded"
            )
            assert job["state"] == "succeeded"
            assert simulator.count(JOB_STATUS, method="POST") == 2
        finally:
            await bridge.stop()


async def test_a_print_is_answered_before_its_job_topics_are_published(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """The answer carries the job: the requester does not wait for job/, last_job and queue.

    They follow the answer, each once, with the job as the answer gave it.
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    config = replace(config, jobs=JobsConfig(poll_interval=60.0))
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            await bridge.settle()
            mark = probe.mark()
            answer = ok(await bridge.request("office", "print", {"url": "https://x.test/1.pdf"}))
        finally:
            await bridge.stop()
    office = f"{base_topic}/office"
    job_topic = f"{office}/job/{answer['task_id']}"
    order = [
        m.topic
        for m in probe.messages("#")[mark:]
        if m.topic in {f"{office}/response/print", job_topic, f"{office}/last_job"}
    ]
    assert order == [f"{office}/response/print", job_topic, f"{office}/last_job"]
    assert probe.assert_one(job_topic, since=mark).json() == answer["job"]


async def test_a_command_call_goes_ahead_of_queued_polls(simulator: Simulator) -> None:
    """With the ceiling reached, a command's call is sent before polls that queued earlier."""
    box = simulator.fleet.boxes[0]
    creds = Credentials(box.device_id, box.device_key)
    order: list[str] = []
    one_waited = asyncio.Event()  # two polls went at once, the third waited for a token
    async with LiankeClient(
        simulator.fleet.api_key, base_url=simulator.url, rate_limit=2.0
    ) as client:

        async def poll(name: str) -> None:
            background_calls()
            await client.device_info(creds)
            order.append(name)
            if len(order) == 3:
                one_waited.set()

        polls = [asyncio.create_task(poll(f"poll-{i}")) for i in range(8)]
        await one_waited.wait()  # five polls still queue for the ceiling, a token every 0.5 s
        await client.device_tasks(creds)
        order.append("command")
        await asyncio.gather(*polls)
    assert client.stats.throttled >= 6
    assert order.index("command") == 3, order  # FIFO would have put it last


async def test_device_info_goes_ahead_of_other_queued_polls(simulator: Simulator) -> None:
    """Polls queue too; the one asking whether a box is there at all is served first."""
    box = simulator.fleet.boxes[0]
    creds = Credentials(box.device_id, box.device_key)
    order: list[str] = []
    one_waited = asyncio.Event()
    async with LiankeClient(
        simulator.fleet.api_key, base_url=simulator.url, rate_limit=2.0
    ) as client:

        async def poll(name: str) -> None:
            background_calls()
            await client.device_tasks(creds)
            order.append(name)
            if len(order) == 3:
                one_waited.set()

        polls = [asyncio.create_task(poll(f"tasks-{i}")) for i in range(8)]
        await one_waited.wait()
        background_calls()
        with call_priority(Priority.POLL_FIRST):
            await client.device_info(creds)
        order.append("device_info")
        await asyncio.gather(*polls)
    assert order.index("device_info") == 3, order
