"""The Mosquitto fixture and the MQTT probe behave as the end-to-end tests rely on."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest
from mqtt_broker import (
    BrokerStartError,
    Login,
    MosquittoBroker,
    MqttProbe,
    ProbeDisconnectedError,
    ProbeMessage,
    default_response_topic,
)
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# mqtt_broker itself is registered in conftest.py (pytest_plugins), before this module imports it.
pytest_plugins = ["pytester"]


async def test_probe_sees_retained_flag_as_published(
    mosquitto: MosquittoBroker, mqtt_probe: MqttProbe, base_topic: str
) -> None:
    """A live retained publish arrives with retain=True, a plain one with retain=False."""
    await mqtt_probe.publish(f"{base_topic}/state", "online", retain=True)
    await mqtt_probe.publish(f"{base_topic}/event", {"event": "x"})
    state = await mqtt_probe.wait_for(f"{base_topic}/state")
    event = await mqtt_probe.wait_for(f"{base_topic}/event")
    assert (state.text, state.retain) == ("online", True)
    assert (event.json(), event.retain) == ({"event": "x"}, False)


async def test_late_probe_receives_retained_messages(
    mosquitto: MosquittoBroker, mqtt_probe: MqttProbe, base_topic: str
) -> None:
    """A probe connecting after the publish still gets the retained state."""
    await mqtt_probe.publish(f"{base_topic}/state", "online", retain=True)
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as late:
        message = await late.wait_for(f"{base_topic}/+")
    assert (message.topic, message.text, message.retain) == (f"{base_topic}/state", "online", True)


async def test_wait_for_since_skips_earlier_messages(
    mqtt_probe: MqttProbe, base_topic: str
) -> None:
    """``since=probe.mark()`` waits for a new message instead of returning an old one."""
    topic = f"{base_topic}/queue"
    await mqtt_probe.publish(topic, "1")
    await mqtt_probe.wait_for(topic)
    mark = mqtt_probe.mark()
    await mqtt_probe.publish(topic, "2")
    assert (await mqtt_probe.wait_for(topic, since=mark)).text == "2"
    assert (await mqtt_probe.wait_for(topic, lambda m: m.text == "1")).text == "1"
    assert [m.text for m in mqtt_probe.messages(f"{base_topic}/#")] == ["1", "2"]
    last = mqtt_probe.last(topic)
    assert last is not None
    assert last.text == "2"


async def test_wait_for_timeout_names_what_arrived(mqtt_probe: MqttProbe, base_topic: str) -> None:
    """A timeout says which filter was awaited and which topics did arrive."""
    await mqtt_probe.publish(f"{base_topic}/other", "x")
    await mqtt_probe.wait_for(f"{base_topic}/other")
    with pytest.raises(TimeoutError, match=r"no message on '.*/missing'.*other"):
        await mqtt_probe.wait_for(f"{base_topic}/missing", timeout=0.05)


async def test_expect_silence(mqtt_probe: MqttProbe, base_topic: str) -> None:
    """``expect_silence`` passes when nothing arrives and fails when something does."""
    await mqtt_probe.expect_silence(f"{base_topic}/#", 0.05)
    mark = mqtt_probe.mark()
    await mqtt_probe.publish(f"{base_topic}/print", "again")
    with pytest.raises(AssertionError, match="unexpected message"):
        await mqtt_probe.expect_silence(f"{base_topic}/#", 1.0, since=mark)


async def _answer_requests(responder: MqttProbe, request_filter: str, count: int) -> None:
    """Echo requests the way the bridge does: contract topic plus the MQTT 5 response topic."""
    for index in range(count):
        request = await responder.wait_for(request_filter, since=index)
        answer = {"status": "ok", "data": request.json() if request.text != "PRESS" else None}
        if request.response_topic:
            reply = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            reply.CorrelationData = request.correlation_data
            await responder.publish(request.response_topic, answer, properties=reply)
        else:
            await responder.publish(default_response_topic(request.topic), answer)


async def test_request_matches_correlation_data(
    mosquitto: MosquittoBroker, mqtt_probe: MqttProbe, base_topic: str
) -> None:
    """``request`` sends response topic and correlation data and returns the matching answer."""
    request_topic = f"{base_topic}/box/request/job"
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[request_topic]) as responder:
        server = asyncio.create_task(_answer_requests(responder, request_topic, 1))
        answer = await mqtt_probe.request(request_topic, {"task_id": "t1"})
        await server
    assert answer.topic == f"{base_topic}/box/response/job"
    assert answer.json() == {"status": "ok", "data": {"task_id": "t1"}}
    assert answer.correlation_data is not None


async def test_request_over_mqtt311(mosquitto: MosquittoBroker, base_topic: str) -> None:
    """Over MQTT 3.1.1 the first message on the response topic is the answer."""
    request_topic = f"{base_topic}/bridge/request/refresh"
    v311 = MqttProbe(
        mosquitto.host, mosquitto.port, subscribe=[], protocol=aiomqtt.ProtocolVersion.V311
    )
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=[request_topic]) as responder,
        v311,
    ):
        server = asyncio.create_task(_answer_requests(responder, request_topic, 1))
        answer = await v311.request(request_topic, "PRESS")
        await server
    assert answer.topic == f"{base_topic}/bridge/response/refresh"
    assert answer.correlation_data is None


async def test_restart_keeps_port_and_drops_retained(
    mosquitto: MosquittoBroker, mqtt_probe: MqttProbe, base_topic: str
) -> None:
    """After a restart the broker is on the same port and, without persistence, empty."""
    port = mosquitto.port
    await mqtt_probe.publish(f"{base_topic}/state", "online", retain=True)
    await mqtt_probe.wait_for(f"{base_topic}/state")
    mosquitto.restart()
    assert mosquitto.port == port
    with pytest.raises(ProbeDisconnectedError):
        await mqtt_probe.wait_for(f"{base_topic}/never", timeout=2)
    await mqtt_probe.reconnect()
    mqtt_probe.clear()
    await mqtt_probe.expect_silence(f"{base_topic}/#", 0.1)


async def test_persistence_keeps_retained_across_restart(
    mosquitto_factory: Callable[..., MosquittoBroker], base_topic: str
) -> None:
    """A broker started with persistence=True still holds retained messages after restart."""
    broker = mosquitto_factory(persistence=True)
    async with MqttProbe(broker.host, broker.port) as probe:
        await probe.publish(f"{base_topic}/state", "online", retain=True)
        await probe.wait_for(f"{base_topic}/state")
    broker.restart()
    async with MqttProbe(broker.host, broker.port) as probe:
        message = await probe.wait_for(f"{base_topic}/state")
    assert (message.text, message.retain) == ("online", True)


async def test_broker_with_users_refuses_anonymous_clients(
    mosquitto_factory: Callable[..., MosquittoBroker], base_topic: str
) -> None:
    """``users=``: the user with its password gets in; anonymous and a wrong password do not."""
    broker = mosquitto_factory(users={"bridge": "s3cret-pass"})
    await broker.wait_ready()
    async with MqttProbe(broker.host, broker.port, **broker.login) as probe:
        await probe.publish(f"{base_topic}/x", "1")
        assert (await probe.wait_for(f"{base_topic}/x")).text == "1"
    refused: list[Login] = [{}, {"username": "bridge", "password": "wrong"}]
    for login in refused:
        with pytest.raises(aiomqtt.MqttError):
            async with MqttProbe(broker.host, broker.port, timeout=2, **login):
                pass


def test_start_fails_clearly_when_port_is_taken(tmp_path: Path, mosquitto_binary: str) -> None:
    """A broker that cannot bind raises with the log tail, not a hang."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = MosquittoBroker(tmp_path, binary=mosquitto_binary, port=taken.getsockname()[1])
        # Our own socket answers TCP, so the start check must rely on the process exiting.
        taken.close()
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", broker.port))
            with pytest.raises(BrokerStartError, match="exited"):
                broker.start()
    assert "Address already in use" in broker.log_tail()
    assert not broker.running


def test_base_topic_is_unique_and_publishable(base_topic: str) -> None:
    """The topic root has no wildcards or slashes and carries the test's name."""
    assert base_topic.startswith("t_base_topic_is_unique")
    assert not set(base_topic) & set("/+#")


def test_probe_message_decodes_payloads() -> None:
    """``text`` and ``json()`` decode the bytes a test usually compares."""
    message = ProbeMessage(topic="a/b", payload=b'{"x": 1}', retain=False, qos=1)
    assert message.text == '{"x": 1}'
    assert message.json() == {"x": 1}


def test_failure_report_includes_broker_log(pytester: pytest.Pytester) -> None:
    """A failing test that used the broker shows the mosquitto log tail in its report."""
    pytester.makepyfile(mqtt_broker=Path(__file__).with_name("mqtt_broker.py").read_text())
    pytester.makeconftest("pytest_plugins = ['mqtt_broker']")
    pytester.makepyfile(
        """
        def test_fails(mosquitto_factory):
            mosquitto_factory()
            assert False
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*mosquitto log (127.0.0.1:*", "*starting mosquitto on*"])
