"""The one way out to MQTT: encodes payloads, remembers retained state for re-publishing.

The service attaches the live aiomqtt client on each connection and detaches it on loss; state
published while disconnected is kept and goes out with the next ``republish_all``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Container
from typing import Any

import aiomqtt
from paho.mqtt.properties import Properties

from lianke_bridge.asyncutil import checkpoint
from lianke_bridge.bridge.records.topics import check_publish_topic

_LOGGER = logging.getLogger(__name__)

Payload = str | bytes | int | float | dict[str, Any] | list[Any] | None


def encode(payload: Payload) -> bytes:
    """JSON for objects and lists, text for scalars, empty for None (clears a retained topic).

    Always encodable: a lone surrogate (a requester's JSON escape like U+D800, echoed back) is
    written as the same JSON escape in an object, and as U+FFFD in plain text.
    """
    if payload is None:
        return b""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, dict | list):
        try:
            return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:
            return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()
    if isinstance(payload, bool):
        return b"true" if payload else b"false"
    return utf8(str(payload))


def utf8(text: str) -> bytes:
    """UTF-8 of any Python string; lone surrogates become U+FFFD instead of an error."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        fixed = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return fixed.encode("utf-8", "replace")


class Publisher:
    """Publishes, counts and remembers retained payloads."""

    def __init__(self) -> None:
        self._client: aiomqtt.Client | None = None
        self._retained: dict[str, bytes] = {}
        self._digests: dict[str, bytes] = {}
        """Topics remembered by a digest only (discovery configs: their builders can re-render
        them, so a thousand boxes' payload texts need not stay in memory)."""
        self._sent_at: dict[str, float] = {}
        self.messages_out = 0
        self.closing = False
        """Set while saying goodbye on a stop: publishing then goes on although cancelled."""

    def attach(self, client: aiomqtt.Client) -> None:
        """Use this connection from now on."""
        self._client = client

    def detach(self) -> None:
        """The connection is gone; keep state for the next one."""
        self._client = None

    @property
    def connected(self) -> bool:
        """Whether a connection is attached."""
        return self._client is not None

    def is_stale(self, topic: str, refresh_after: float) -> bool:
        """Whether a retained topic was never sent, or not within ``refresh_after`` seconds."""
        sent = self._sent_at.get(topic)
        return sent is None or time.monotonic() - sent >= refresh_after

    def retained_topics(self) -> list[str]:
        """Every topic holding a retained payload from this bridge."""
        return list(self._retained)

    def retained(self, topic: str) -> bytes | None:
        """The last retained payload sent (or queued) for a topic."""
        return self._retained.get(topic)

    async def publish(
        self,
        topic: str,
        payload: Payload,
        *,
        retain: bool = False,
        qos: int = 1,
        properties: Properties | None = None,
        force: bool = False,
        refresh_after: float | None = None,
        digest_only: bool = False,
    ) -> None:
        """Publish; a retained payload equal to the last one is skipped unless ``force``.

        ``refresh_after`` sends an unchanged payload again once that many seconds passed since
        it last went out: Home Assistant's ``expire_after`` needs a sign of life, and this
        keeps it alive without publishing on every poll.
        """
        check_publish_topic(topic)
        data = encode(payload)
        if retain and digest_only:
            digest = hashlib.blake2b(data, digest_size=16).digest()
            if not force and self._digests.get(topic) == digest:
                return
            self._digests[topic] = digest
        elif retain:
            if (
                not force
                and self._retained.get(topic) == data
                and (refresh_after is None or not self.is_stale(topic, refresh_after))
            ):
                return
            if data:
                self._retained[topic] = data
            else:
                self._retained.pop(topic, None)
        if self._client is None:
            return
        await self._client.publish(topic, data, qos=qos, retain=retain, properties=properties)
        if not self.closing:
            checkpoint()  # aiomqtt waits with asyncio.wait_for, which can lose a cancel on 3.11
        self.messages_out += 1
        if retain:
            self._sent_at[topic] = time.monotonic()

    async def clear(self, topic: str) -> None:
        """Delete a retained message (empty retained payload)."""
        self._retained.pop(topic, None)
        self._digests.pop(topic, None)
        if self._client is not None:
            await self._client.publish(topic, b"", qos=1, retain=True)
            if not self.closing:
                checkpoint()
            self.messages_out += 1

    async def republish_all(self, *, skip: Container[str] = ()) -> None:
        """Send every remembered retained payload again (after a reconnect or an HA restart).

        ``skip`` names topics just sent by someone else (discovery configs), not to send twice.
        """
        for topic, data in list(self._retained.items()):
            if topic not in skip:
                await self.publish(topic, data, retain=True, force=True)
