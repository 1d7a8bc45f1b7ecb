"""One instance of a scaled-out bridge: which requests it answers, and the fan-outs.

Every instance receives every request (the rule works on MQTT 3.1.1 clusters too): a box's
requests are answered by the instance owning the box, the rest by instance 0, which tells the
others to run ``refresh``/``republish`` for their own boxes too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Collection, Coroutine, Mapping
from typing import Any

from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.mqtt.session import payload_bytes
from lianke_bridge.bridge.polling.poller import BoxPoller
from lianke_bridge.bridge.records.topics import RequestTopic, Topics
from lianke_bridge.config.shard import Shard

_LOGGER = logging.getLogger(__name__)

FANOUT_COMMANDS = frozenset({"refresh", "republish"})
"""Bridge-level commands that act on every box: each instance of a scaled-out bridge runs them."""


class InstanceRole:
    """This instance's share of the requests, and its part in the fan-outs."""

    def __init__(
        self,
        shard: Shard,
        *,
        own: Collection[str],
        elsewhere: Collection[str],
        topics: Topics,
        publisher: Publisher,
        republish: Callable[[], Coroutine[Any, Any, None]],
        pollers: Callable[[], Mapping[str, BoxPoller]],
    ) -> None:
        self.shard = shard
        self.own = own
        """Names of the boxes this instance owns."""
        self.elsewhere = elsewhere
        """Names of the configured boxes other instances own."""
        self.topics = topics
        self.publisher = publisher
        self._republish = republish
        self._pollers = pollers

    def answers(self, where: RequestTopic) -> bool:
        """Whether this instance answers a request: exactly one instance answers each.

        A box's requests are answered by the instance owning the box; bridge-level requests
        and requests to a device no instance has are answered by instance 0 (every broker
        delivers every request to every instance: the rule works on MQTT 3.1.1 clusters too).
        """
        if where.scope == "device" and where.device in self.own:
            return True
        if where.scope == "device" and where.device in self.elsewhere:
            return False
        return self.shard.leader

    async def fan_out(self, command: str) -> None:
        """Tell the other instances to run a bridge-level command for their own boxes too."""
        if self.shard.scaled and command in FANOUT_COMMANDS:
            await self.publisher.publish(
                self.topics.bridge_fanout(command), {"from": self.shard.index}
            )

    def control(self, topic: str, payload: Any, group: asyncio.TaskGroup) -> bool:
        """Handle a fan-out message (True), or leave the message alone (False)."""
        command = self.topics.parse_fanout(topic)
        if command is None:
            return False
        self._fanned_out(command, payload, group)
        return True

    def _fanned_out(self, command: str, payload: Any, group: asyncio.TaskGroup) -> None:
        """Another instance answered ``refresh``/``republish``: do it for this one's boxes."""
        sender = fanout_sender(payload_bytes(payload))
        if command not in FANOUT_COMMANDS or sender is None or sender == self.shard.index:
            return
        _LOGGER.info("%s from instance %d: running it for this instance's boxes", command, sender)
        work = self._republish() if command == "republish" else self._poll_all()
        group.create_task(work, name=f"fanout-{command}")

    async def _poll_all(self) -> None:
        await asyncio.gather(*(poller.poll_now() for poller in self._pollers().values()))


def fanout_sender(payload: bytes) -> int | None:
    """The instance a fan-out message came from, or None for anything unreadable."""
    try:
        sender = json.loads(payload).get("from")
    except (ValueError, AttributeError):
        return None
    return sender if isinstance(sender, int) and not isinstance(sender, bool) else None
