"""Decoding a received PUBLISH with one copy of its payload, instead of paho's three.

paho (2.2) decodes a PUBLISH by peeling it with ``struct.unpack`` one field at a time, and each
step copies the rest of the packet: while a 28 MB print request is decoded the bridge holds the
packet and two copies of it, about 90 MB for a moment, and MQTT 5 properties add a copy each.
This decoder reads the same fields through a memoryview, so only the payload (and the small
topic and properties) are copied: the packet and one payload, 60 MB for that request.

It replaces paho's ``_packet.decode_publish`` (a private function, looked up at each call),
only where paho has it, with paho's own error conversion (any decoding error is paho's
``MalformedPacket``, as before). ``tests/test_publish_decoder.py`` checks that it decodes every
kind of PUBLISH (MQTT 3.1.1 and 5, each QoS, properties, broken packets) exactly as paho does.
"""

from __future__ import annotations

import importlib
import struct
from typing import Any

from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties, VariableByteIntegers

_packet: Any
try:
    _packet = importlib.import_module("paho.mqtt._packet")
except ImportError:  # paho before 2.2 decodes inside its client: nothing to replace
    _packet = None
PAHO_DECODE_PUBLISH = getattr(_packet, "decode_publish", None)
"""paho's own decoder (the tests compare with it)."""

_VBI_MAX = 4
"""Bytes of a variable byte integer, at most."""


def decode_publish(header: int, packet: bytes | bytearray, protocol: Any) -> Any:
    """The fields of a PUBLISH packet (after its fixed header), as paho's decoder gives them."""
    with memoryview(packet) as view:
        (length,) = struct.unpack_from("!H", view, 0)
        at = 2 + length
        if at > len(view):
            raise MalformedPacket("the topic is longer than the packet")
        topic = bytes(view[2:at])
        if protocol != MQTTProtocolVersion.MQTTv5 and not topic:
            raise MalformedPacket("topic can't be empty in MQTTv3")
        qos = (header & 0x06) >> 1
        mid = 0
        if qos > 0:
            (mid,) = struct.unpack_from("!H", view, at)
            at += 2
        properties = None
        if protocol == MQTTProtocolVersion.MQTTv5:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            length, size = VariableByteIntegers.decode(bytes(view[at : at + _VBI_MAX]))  # type: ignore[no-untyped-call]
            _, used = properties.unpack(bytes(view[at : at + size + length]))  # type: ignore[no-untyped-call]
            at += used
        payload = bytes(view[at:])
    return _packet.PublishPacket(
        dup=(header & 0x08) != 0,
        qos=qos,
        retain=(header & 0x01) != 0,
        topic=topic,
        mid=mid,
        properties=properties,
        payload=payload,
    )


def install() -> bool:
    """Make paho decode every PUBLISH with ``decode_publish`` (False where paho has no hook)."""
    if _packet is None or not callable(getattr(_packet, "decode_publish", None)):
        return False
    if not getattr(_packet.decode_publish, "lianke_bridge", False):
        decode = _packet.convert_exception(decode_publish)  # errors: MalformedPacket, as paho's
        decode.lianke_bridge = True
        _packet.decode_publish = decode
    return True
