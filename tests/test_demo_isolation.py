"""The demo on a broker a real installation uses: it keeps to its own topics, ids and session.

On a Pi the demo's broker is often the one the real bridge and Home Assistant use. A demo run,
its Ctrl-C, and a second demo at the same time must leave the real bridge as it was: its
retained state on the broker, its Home Assistant configs, its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from bridge_harness import SLOW_POLL, make_config, until
from mqtt_broker import MosquittoBroker, MqttProbe, sentinel_round_trip
from test_cli import (
    START_TIMEOUT,
    CliProcess,
    clean_env,
    cli,
    demo_answer,
    option,
    printed_commands,
    publish_as_printed,
)

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config import Config
from lianke_bridge.simulator import Simulator

READY = "Ctrl-C stops everything"


def _real_installation(simulator: Simulator, broker: MosquittoBroker, state_dir: Path) -> Config:
    """A bridge configured as most are: ``lianke``, its default client id, discovery on."""
    config = make_config(simulator, broker, "lianke", state_dir, poll=SLOW_POLL, homeassistant=True)
    return replace(
        config,
        mqtt=replace(config.mqtt, client_id="lianke-bridge"),
        homeassistant=replace(config.homeassistant, prefix="homeassistant"),
    )


@contextlib.asynccontextmanager
async def _running(config: Config) -> AsyncIterator[BridgeService]:
    service = BridgeService(config)
    task = asyncio.create_task(service.run(), name="real-bridge")
    try:
        await until(service.connected.is_set, START_TIMEOUT)
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _demo_base(process: CliProcess) -> str:
    """Wait for the demo's first screen; the topic root it chose, from its printed command."""
    out = await process.wait_output(lambda text: READY in text, timeout=START_TIMEOUT)
    found = re.search(r"mosquitto_sub .* -t '([^']+)/#' -v", out)
    assert found is not None, out
    return found.group(1)


async def _retained(broker: MosquittoBroker, topic_filters: list[str]) -> dict[str, bytes]:
    """What the broker holds retained on these filters now."""
    async with MqttProbe(broker.host, broker.port, subscribe=topic_filters) as probe:
        await probe.sync()
        return {m.topic: m.payload for m in probe.messages() if m.retain and m.payload}


async def test_a_demo_and_its_ctrl_c_leave_a_real_bridge_and_another_demo_alone(
    simulator: Simulator, mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """A real bridge runs; a demo prints its first job, a second demo starts, both get Ctrl-C.

    The real bridge's retained topics (``bridge/state`` ``online`` included) and its Home
    Assistant configs are on the broker as it published them, and it was never knocked off
    (no reconnect, never ``offline``). The second demo takes a topic root of its own, both
    demos stay connected and answer their own requests exactly once, and each exits 0.
    """
    env = clean_env(LIANKE_DEMO_BROKER="existing")
    port = str(mosquitto.port)
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=["#"]) as probe,
        _running(_real_installation(simulator, mosquitto, tmp_path / "state")) as real,
    ):
        await probe.wait_for("lianke/office/state", lambda m: bool(m.json()["printers"]), 10)
        await until(lambda: bool(real.store.discovery), START_TIMEOUT)
        async with (
            cli("demo", "--broker-port", port, env=env, new_session=True) as first,
        ):
            base = await _demo_base(first)
            async with cli("demo", "--broker-port", port, env=env, new_session=True) as second:
                other = await _demo_base(second)
                await probe.wait_for(f"{other}/bridge/state", lambda m: m.text == "online")
                print_job = printed_commands(first.out, "mosquitto_pub")[0]
                assert option(print_job, "-t") == f"{base}/office/request/print"
                mark = probe.mark()
                await publish_as_printed(print_job, probe)
                answer = await demo_answer(probe, since=mark, base=base)
                assert answer.json()["status"] == "ok", answer.json()
                task_id = answer.json()["data"]["task_id"]
                await probe.wait_for(f"{base}/office/job/{task_id}", since=mark)
                await sentinel_round_trip(probe, other)  # the second demo answers too
                for demo in (first, second):
                    demo.send(signal.SIGINT, group=True)
                assert [await first.wait(), await second.wait()] == [0, 0]
        await probe.sync()
        on_broker = await _retained(mosquitto, ["lianke/#", "homeassistant/#"])
        published = {t: real.publisher.retained(t) for t in real.publisher.retained_topics()}
        discovery = set(real.store.discovery)
        states = [m.text for m in probe.messages("lianke/bridge/state")]
        assert real.counters.reconnects == 0
        assert real.connected.is_set()
    assert on_broker["lianke/bridge/state"] == b"online"
    assert {t: p for t, p in on_broker.items() if t.startswith("lianke/")} == published
    assert {t for t in on_broker if t.startswith("homeassistant/")} == discovery
    assert states == ["online"]  # never knocked off: the will would have said offline
    assert (base, other) == ("lianke-demo", "lianke-demo-2")
    for demo in (first, second):
        assert "unreachable" not in demo.err, demo.err
        assert "Traceback" not in demo.err, demo.err
        assert " ERROR " not in demo.err, demo.err
