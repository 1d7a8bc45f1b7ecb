"""The publisher is the one way out to MQTT: its rules hold without a broker."""

from __future__ import annotations

import pytest

from lianke_bridge.bridge.mqtt.publisher import Publisher, encode
from lianke_bridge.errors import TopicError


@pytest.mark.parametrize("topic", ["lianke/+/state", "lianke/#", "", "a/\0/b"])
async def test_nothing_is_published_to_a_wildcard_topic(topic: str) -> None:
    """A topic holding + or # (say a request's MQTT 5 response topic) is refused outright."""
    with pytest.raises(TopicError):
        await Publisher().publish(topic, {"status": "ok"})


async def test_retained_state_is_kept_while_disconnected() -> None:
    """State published without a connection is remembered for the next one; a clear forgets."""
    publisher = Publisher()
    await publisher.publish("lianke/office/queue", 2, retain=True)
    await publisher.publish("lianke/office/event", {"event": "x"})
    assert publisher.retained_topics() == ["lianke/office/queue"]
    assert publisher.retained("lianke/office/queue") == b"2"
    await publisher.clear("lianke/office/queue")
    assert publisher.retained_topics() == []


def test_payloads_are_compact_json_or_text() -> None:
    """Objects go out as compact UTF-8 JSON, scalars as text, None as an empty payload."""
    assert encode({"name": "标签", "ok": True}) == '{"name":"标签","ok":true}'.encode()
    assert encode(True) == b"true"  # noqa: FBT003 - a boolean payload is the case under test
    assert encode(3) == b"3"
    assert encode(None) == b""
