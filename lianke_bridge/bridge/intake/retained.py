"""MQTT 3.1.1: telling a request that was published retained from a live one.

The contract says a retained request is never acted on. MQTT 5 shows the flag as published
(the bridge subscribes with retain-as-published); MQTT 3.1.1 does not: a message published
with retain while the bridge is subscribed reaches it with retain=0, like any live one.

What 3.1.1 does show: subscribing again to the same filter makes the broker send every retained
message matching it once more, now with retain=1 (and the identical filter replaces the old
subscription, so nothing is delivered twice and nothing is missed). So each 3.1.1 request is
held back for one check: re-subscribe, then publish a sync message to the bridge's own sync
topic and wait for it to come back (the broker sends it after the retained copies). A held
request whose topic and payload came back retained after it arrived was published retained:
it is dropped. The service clears every retained request it sees, so it is never replayed.

One check covers every request that arrived before it began; requests arriving meanwhile wait
for the next one (two broker round trips of delay, on 3.1.1 only).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lianke_bridge.bridge.intake.message import RequestMessage
from lianke_bridge.bridge.records.topics import shown_topic

_LOGGER = logging.getLogger(__name__)

SYNC_TIMEOUT = 5.0
"""Seconds to wait for the sync message; after that the held requests go on (logged)."""
REMEMBER_RETAINED = 60.0
"""Seconds a retained copy seen is remembered for matching held requests."""

Key = tuple[str, bytes]
"""A message's identity for the check: its topic and its payload's digest (a retained copy is
remembered for a minute: its digest, not its megabytes)."""


def key_of(topic: str, payload: bytes) -> Key:
    """The identity of a message for the check."""
    return topic, hashlib.blake2b(payload, digest_size=16).digest()


@dataclass(frozen=True)
class _Held:
    request: RequestMessage
    key: Key
    seq: int


class RetainedRequestGate:
    """Holds 3.1.1 requests until a re-subscribe shows whether they were published retained."""

    def __init__(
        self,
        *,
        resubscribe: Callable[[], Awaitable[None]],
        publish_sync: Callable[[str], Awaitable[None]],
        release: Callable[[RequestMessage], None],
        drop: Callable[[RequestMessage], None],
    ) -> None:
        """``release`` answers a live request; ``drop`` is told of a retained one (to ack it)."""
        self._resubscribe = resubscribe
        self._publish_sync = publish_sync
        self._release = release
        self._drop = drop
        self._held: list[_Held] = []
        self._seq = 0
        self._retained: dict[Key, tuple[int, float]] = {}
        """Retained copies seen: key -> (arrival number, monotonic time)."""
        self._syncs: dict[str, asyncio.Event] = {}
        self._checking: asyncio.Task[None] | None = None

    @property
    def holding(self) -> int:
        """Requests waiting for their check."""
        return len(self._held)

    @property
    def held_bytes(self) -> int:
        """Payload bytes of the requests waiting for their check."""
        return sum(len(held.request.message.payload) for held in self._held)

    def arrived(self) -> int:
        """Number every message as it arrives (retained copies are compared by it)."""
        self._seq += 1
        return self._seq

    def saw_retained(self, topic: str, payload: bytes, seq: int) -> None:
        """A request topic's retained copy came (retain=1): it is dropped by the caller."""
        self._retained[key_of(topic, payload)] = (seq, time.monotonic())

    def synced(self, token: str) -> None:
        """The sync message came back: every retained copy sent before it is here."""
        event = self._syncs.get(token)
        if event is not None:
            event.set()

    def hold(
        self, request: RequestMessage, payload: bytes, seq: int, group: asyncio.TaskGroup
    ) -> None:
        """Hold a live-looking request until the next check."""
        self._held.append(_Held(request, key_of(request.topic, payload), seq))
        if self._checking is None or self._checking.done():
            self._checking = group.create_task(self._check(), name="retained-check")

    async def _check(self) -> None:
        while self._held:
            batch, self._held = self._held, []
            token = uuid.uuid4().hex
            event = self._syncs[token] = asyncio.Event()
            try:
                await self._resubscribe()
                await self._publish_sync(token)
                async with asyncio.timeout(SYNC_TIMEOUT):
                    await event.wait()
            except TimeoutError:
                _LOGGER.warning(
                    "the broker did not echo the retained-request check in %.0f s; "
                    "handling %d request(s) unchecked",
                    SYNC_TIMEOUT,
                    len(batch),
                )
            finally:
                self._syncs.pop(token, None)
            self._forget_old()
            for held in batch:
                seen = self._retained.get(held.key)
                if seen is not None and seen[0] > held.seq:
                    _LOGGER.info(
                        "ignoring a request published retained on %s (MQTT 3.1.1)",
                        shown_topic(held.key[0]),
                    )
                    self._drop(held.request)
                    continue
                try:
                    self._release(held.request)
                except Exception:  # the boundary: one request's failure never stops the rest
                    _LOGGER.exception("dropped a held request on %s", shown_topic(held.key[0]))

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - REMEMBER_RETAINED
        for key, (_, seen_at) in list(self._retained.items()):
            if seen_at < cutoff:
                del self._retained[key]
