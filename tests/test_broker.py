"""``ensure_broker``: the demo finds a broker, or starts mosquitto, or the embedded one."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable

import aiomqtt
import pytest
from mqtt_broker import MosquittoBroker, MqttProbe, free_port

from lianke_bridge.demo.broker import ENV_BROKER_KINDS, ensure_broker
from lianke_bridge.demo.launch import start_embedded
from lianke_bridge.demo.probe import RunningBroker, mqtt_protocol_at
from lianke_bridge.errors import BrokerError


@pytest.fixture(autouse=True)
def _no_env_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own LIANKE_DEMO_BROKER must not steer these tests."""
    monkeypatch.delenv(ENV_BROKER_KINDS, raising=False)


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP port held by something that accepts connections but never speaks MQTT."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]
        for writer in writers:
            writer.close()


async def assert_round_trip(broker: RunningBroker, topic: str) -> None:
    """A retained publish comes back through the broker, over the protocol it reports."""
    version = {"5": aiomqtt.ProtocolVersion.V5, "3.1.1": aiomqtt.ProtocolVersion.V311}
    async with MqttProbe(
        broker.host, broker.port, subscribe=[f"{topic}/#"], protocol=version[broker.protocol]
    ) as probe:
        await probe.publish(f"{topic}/bridge/state", "online", retain=True)
        message = await probe.wait_for(f"{topic}/bridge/state")
    assert message.text == "online"
    async with MqttProbe(
        broker.host, broker.port, subscribe=[f"{topic}/#"], protocol=version[broker.protocol]
    ) as late:
        retained = await late.wait_for(f"{topic}/bridge/state")
    assert (retained.text, retained.retain) == ("online", True)


async def test_uses_existing_broker_and_leaves_it_running(
    mosquitto: MosquittoBroker, base_topic: str
) -> None:
    """A broker already answering MQTT is used as is (MQTT 5) and not stopped afterwards."""
    broker = await ensure_broker(mosquitto.host, mosquitto.port)
    assert (broker.kind, broker.protocol, broker.port) == ("existing", "5", mosquitto.port)
    await assert_round_trip(broker, base_topic)
    await broker.stop()
    assert mosquitto.running
    assert await mqtt_protocol_at(mosquitto.host, mosquitto.port) == "5"


async def test_starts_mosquitto_when_nothing_answers(
    mosquitto_binary: str, base_topic: str
) -> None:
    """With no broker on the port, mosquitto is started there, speaks MQTT 5, and stops."""
    port = free_port()
    broker = await ensure_broker("127.0.0.1", port)
    try:
        assert (broker.kind, broker.protocol, broker.port) == ("mosquitto", "5", port)
        await assert_round_trip(broker, base_topic)
        assert broker.log_path is not None
        assert "Opening ipv4 listen socket" in broker.log_path.read_text()
    finally:
        await broker.stop()
    assert await mqtt_protocol_at("127.0.0.1", port, check_timeout=0.5) is None
    assert not broker.log_path.exists()


async def test_port_held_by_something_else_gets_a_free_port(
    mosquitto_binary: str, silent_server: int, base_topic: str
) -> None:
    """A port taken by a non-MQTT service is not mistaken for a broker; another port is used."""
    async with await ensure_broker("127.0.0.1", silent_server, check_timeout=0.2) as broker:
        assert broker.kind == "mosquitto"
        assert broker.port != silent_server
        await assert_round_trip(broker, base_topic)


async def test_falls_back_to_embedded_without_mosquitto(base_topic: str) -> None:
    """Without a mosquitto binary the embedded broker starts, and it speaks MQTT 3.1.1."""
    port = free_port()
    broker = await ensure_broker("127.0.0.1", port, mosquitto_binary="/nonexistent/mosquitto")
    async with broker:
        assert (broker.kind, broker.protocol, broker.port) == ("embedded", "3.1.1", port)
        await assert_round_trip(broker, base_topic)
    assert await mqtt_protocol_at("127.0.0.1", port, check_timeout=0.5) is None


async def test_falls_back_to_embedded_when_mosquitto_fails(base_topic: str) -> None:
    """A mosquitto that exits at once is reported and the embedded broker takes over."""
    async with await ensure_broker("127.0.0.1", free_port(), mosquitto_binary="/bin/false") as b:
        assert b.kind == "embedded"
        await assert_round_trip(b, base_topic)


async def test_existing_embedded_broker_is_detected_as_mqtt311() -> None:
    """A running 3.1.1-only broker is found and reported as 3.1.1, so the bridge can adapt."""
    async with await ensure_broker("127.0.0.1", free_port(), kinds=["embedded"]) as embedded:
        found = await ensure_broker(embedded.host, embedded.port)
        assert (found.kind, found.protocol) == ("existing", "3.1.1")


async def test_env_var_forces_embedded(
    monkeypatch: pytest.MonkeyPatch, mosquitto: MosquittoBroker
) -> None:
    """LIANKE_DEMO_BROKER=embedded skips both the running broker and mosquitto."""
    monkeypatch.setenv(ENV_BROKER_KINDS, "embedded")
    async with await ensure_broker(mosquitto.host, mosquitto.port) as broker:
        assert broker.kind == "embedded"
        assert broker.port != mosquitto.port


async def test_env_var_with_unknown_kind_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in LIANKE_DEMO_BROKER names the bad value and the valid ones."""
    monkeypatch.setenv(ENV_BROKER_KINDS, "mosqitto")
    with pytest.raises(BrokerError, match=r"'mosqitto'.*existing, mosquitto, embedded"):
        await ensure_broker("127.0.0.1", free_port())


async def test_no_broker_at_all_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without mosquitto and without amqtt the error says what was tried and what to install."""
    monkeypatch.setitem(sys.modules, "amqtt.broker", None)  # as if the demo extra were missing
    with pytest.raises(BrokerError) as caught:
        await ensure_broker(
            "127.0.0.1", free_port(), mosquitto_binary="/nonexistent/mosquitto", check_timeout=0.2
        )
    message = str(caught.value)
    assert "no MQTT broker answered" in message
    assert "mosquitto not found" in message
    assert "lianke-bridge[demo]" in message


async def test_broker_refusing_anonymous_is_not_used(
    mosquitto_factory: Callable[..., MosquittoBroker],
) -> None:
    """A broker that refuses the demo's (anonymous) login is not reported as usable."""
    locked = mosquitto_factory(extra_config=["allow_anonymous false"])
    assert await mqtt_protocol_at(locked.host, locked.port) is None


async def test_only_existing_and_nothing_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """LIANKE_DEMO_BROKER=existing with nothing on the port fails instead of starting one."""
    monkeypatch.setenv(ENV_BROKER_KINDS, "existing")
    port = free_port()
    with pytest.raises(BrokerError, match=rf"no MQTT broker answered at 127\.0\.0\.1:{port}"):
        await ensure_broker("127.0.0.1", port)


async def test_port_zero_starts_a_broker_on_a_free_port() -> None:
    """``port=0`` skips the existing-broker check and starts one on a port the OS picks."""
    async with await ensure_broker("127.0.0.1", 0, kinds=["existing", "embedded"]) as broker:
        assert broker.kind == "embedded"
        assert broker.port > 0
        assert await mqtt_protocol_at(broker.host, broker.port) == "3.1.1"


async def test_unknown_kind_argument_is_rejected() -> None:
    """A kind that does not exist is an error, not silently skipped."""
    with pytest.raises(BrokerError, match="unknown broker kind 'docker'"):
        await ensure_broker("127.0.0.1", free_port(), kinds=["docker"])  # type: ignore[list-item]


async def test_embedded_start_failure_is_a_broker_error(mosquitto: MosquittoBroker) -> None:
    """The embedded broker failing to bind (port taken) is reported as a BrokerError."""
    with pytest.raises(BrokerError, match="embedded broker could not start"):
        await start_embedded(mosquitto.host, mosquitto.port)
