"""The bridge's PUBLISH decoder reads every packet exactly as paho's own (with fewer copies).

``publish_decoder`` replaces a private function of paho to hold a large request once instead
of three times while it is decoded; these tests pin it to paho's own decoder on every kind of
PUBLISH, broken ones included, so a paho that changed would show here first.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from lianke_bridge.bridge.mqtt import publish_decoder

PAHO = publish_decoder.PAHO_DECODE_PUBLISH
V311, V5 = MQTTProtocolVersion.MQTTv311, MQTTProtocolVersion.MQTTv5
pytestmark = pytest.mark.skipif(PAHO is None, reason="this paho decodes inside its client")


def properties(**values: Any) -> Properties:
    """MQTT 5 PUBLISH properties."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(props, name, value)
    return props


def packet(
    topic: bytes, payload: bytes, *, mid: int | None = None, props: Properties | None = None
) -> bytes:
    """A PUBLISH after its fixed header: topic, packet id (QoS 1 and 2), properties, payload."""
    out = struct.pack("!H", len(topic)) + topic
    if mid is not None:
        out += struct.pack("!H", mid)
    if props is not None:
        out += props.pack()  # type: ignore[no-untyped-call]
    return out + payload


def decoded(decoder: Any, header: int, data: bytes | bytearray, protocol: Any) -> Any:
    """What a decoder makes of a packet, comparable across decoders."""
    try:
        result = decoder(header, data, protocol)
    except MalformedPacket:
        return "malformed"
    props = None if result.properties is None else result.properties.json()
    fields = (result.dup, result.qos, result.retain, result.topic, result.mid)
    return (*fields, props, bytes(result.payload))


def same(header: int, data: bytes, protocol: Any) -> Any:
    """Both decoders, on bytes and on a bytearray (paho reads into one): the same fields."""
    theirs = decoded(PAHO, header, data, protocol)
    publish_decoder.install()
    from paho.mqtt import _packet  # noqa: PLC0415 - the installed decoder, as paho calls it

    for given_as in (data, bytearray(data)):
        assert decoded(_packet.decode_publish, header, given_as, protocol) == theirs
    return theirs


FULL_PROPERTIES = properties(
    PayloadFormatIndicator=1,
    MessageExpiryInterval=3600,
    ResponseTopic="lianke/office/response/print",
    CorrelationData=b"\x00\x01req",
    UserProperty=[("a", "1"), ("b", "打印")],
    ContentType="application/json",
    SubscriptionIdentifier=[7],
)


@pytest.mark.parametrize("protocol", [V311, V5], ids=["mqtt311", "mqtt5"])
@pytest.mark.parametrize("qos", [0, 1, 2])
@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (b"lianke/office/request/print", b'{"url": "https://x.test/a.pdf"}'),
        ("链科/盒子/request/打印".encode(), b""),
        (b"t" * 65_535, b"PRESS"),
        (b"a", bytes(range(256)) * 400),
    ],
    ids=["json", "utf8-empty", "longest-topic", "binary"],
)
def test_every_kind_of_publish_decodes_as_paho_does(
    protocol: Any, qos: int, topic: bytes, payload: bytes
) -> None:
    """Each QoS, both protocols, flags, properties: the fields paho's decoder gives, exactly."""
    mid = 4242 if qos else None
    variants = [None] if protocol == V311 else [Properties(PacketTypes.PUBLISH), FULL_PROPERTIES]  # type: ignore[no-untyped-call]
    for props in variants:
        data = packet(topic, payload, mid=mid, props=props)
        for flags in (0x00, 0x01, 0x08, 0x09):
            header = 0x30 | (qos << 1) | flags
            assert same(header, data, protocol) != "malformed"


def test_an_empty_topic_is_malformed_on_311_and_an_alias_on_5() -> None:
    """MQTT 3.1.1 has no empty topic; MQTT 5 sends one with a topic alias."""
    assert same(0x30, packet(b"", b"x"), V311) == "malformed"
    assert same(0x30, packet(b"", b"x", props=properties(TopicAlias=3)), V5) != "malformed"


@pytest.mark.parametrize("protocol", [V311, V5], ids=["mqtt311", "mqtt5"])
def test_a_packet_cut_short_anywhere_decodes_as_paho_does(protocol: Any) -> None:
    """A truncated packet: malformed, or (cut in the payload) a shorter payload, as paho says."""
    props = FULL_PROPERTIES if protocol == V5 else None
    data = packet(b"lianke/x/request/print", b'{"a": 1}', mid=9, props=props)
    for end in range(len(data)):
        same(0x32, data[:end], protocol)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    header=st.integers(min_value=0x30, max_value=0x3F),
    data=st.binary(max_size=80),
    protocol=st.sampled_from([V311, V5]),
)
def test_any_bytes_decode_as_paho_decodes_them(header: int, data: bytes, protocol: Any) -> None:
    """Whatever a broker could send: the same fields, or malformed for both."""
    same(header, data, protocol)
