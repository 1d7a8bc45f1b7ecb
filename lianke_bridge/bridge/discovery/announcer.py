"""Announcing the bridge to Home Assistant: the whole fleet, one box, on HA's birth, clearing.

What was published is remembered (as digests) in the store, so configs no longer wanted are
cleared even across restarts. One announce runs at a time (``lock``), so a late one never
resurrects a config another cleared. The planning and rendering are the pure modules beside it
(``plan.py``, ``render.py``); this is the one module of ``discovery/`` that publishes.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

from lianke_bridge import __version__
from lianke_bridge.bridge import discovery
from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.config import Config

_LOGGER = logging.getLogger(__name__)

MIGRATE_PAUSE = 1.0
"""Seconds between Home Assistant's migrate messages and the new configs, and between changed
configs and the states sent again for them (Home Assistant takes a config in a task of its own)."""
HA_ANNOUNCE_DELAY = (5.0, 15.0)
"""Random delay before re-announcing after Home Assistant's birth message (the HA advice)."""


class HomeAssistantAnnouncer:
    """Publishes, updates and clears this bridge's MQTT discovery configs."""

    def __init__(
        self,
        config: Config,
        *,
        boxes: Mapping[str, Box],
        elsewhere: Collection[str],
        store: Store,
        publisher: Publisher,
        republish: Callable[[], Awaitable[None]],
        announce_delay: tuple[float, float] = HA_ANNOUNCE_DELAY,
    ) -> None:
        self.config = config
        self.enabled = config.homeassistant.enabled
        self.boxes = boxes
        self.elsewhere = elsewhere
        """Device ids of the boxes other instances own: theirs to announce and clear."""
        self.store = store
        self.publisher = publisher
        self.announce_delay = announce_delay
        self.lock = asyncio.Lock()
        """One announce at a time."""
        self._republish = republish
        self.reannounce: asyncio.Task[None] | None = None
        """The re-announce a birth of Home Assistant scheduled (the last one)."""

    def context(self) -> discovery.DiscoveryContext:
        """What the discovery builders need to know of this bridge."""
        return discovery.DiscoveryContext.from_config(self.config, sw_version=__version__)

    def messages(self) -> list[discovery.DiscoveryMessage]:
        """Every config wanted now; a box's printers only once its whole list was read.

        While printer_list is being taken in, some printers are known and the box still counts
        as unlisted: announcing those would publish new-mode configs whose old ones are kept,
        unmigrated (Home Assistant then rejects them as conflicts).
        """
        return discovery.full_discovery(
            self.context(),
            [
                (box.config, box.state, box.printers.values() if box.printers_listed else ())
                for box in self.boxes.values()
                if box.known  # no placeholder: a box is announced once device_info answered
            ],
        )

    async def announce_all(self, *, force: bool = True) -> None:
        """Publish every discovery config; clear the ones published before and no longer wanted.

        What was published is remembered in the store, so a box removed from the configuration
        while the bridge was stopped is still cleared at the next start; printers published
        before are kept until their box's printer list was read (a restart, or a box that is
        offline, never removes them). When the discovery mode changed, Home Assistant is first
        told to migrate the entities (names and areas are kept), then the old topics are
        cleared, then it gets the new configs. Without ``force`` only changed configs go out.
        """
        if not self.enabled:
            return
        async with self.lock:
            boxes = self.boxes.values()
            plan = discovery.plan_discovery(
                self.context(),
                self.store.discovery,
                self.messages(),
                unknown_printers=[box.config.device_id for box in boxes if not box.printers_listed],
                unknown_boxes=[box.config.device_id for box in boxes if not box.known],
                elsewhere=self.elsewhere,
            )
            await self._carry_out(plan, force=force)
            self.store.set_discovery(plan.published)
        await self._refresh_states(plan)

    async def announce_box(self, box: Box) -> None:
        """Announce one box and its printers: only what changed is sent, compared by digest.

        A printer found on one box no longer re-renders and re-compares the whole fleet's
        discovery (at start-up that was quadratic in the number of boxes). A change of
        discovery mode, the bridge device and boxes removed from the configuration are the full
        announce's business (start, reconnect, Home Assistant's birth).
        """
        if not self.enabled:
            return
        async with self.lock:
            ctx = self.context()
            device_id = box.config.device_id
            own = discovery.box_node_id(device_id)
            mine = {
                topic: refs
                for topic, refs in self.store.discovery.items()
                if (node := discovery.node_of(ctx.prefix, topic)) is not None
                and (node == own or discovery.is_printer_of(node, device_id))
            }
            wanted = discovery.box_discovery(ctx, box.config, box.state)
            for printer in sorted(box.printers.values(), key=lambda p: p.port):
                wanted.extend(discovery.printer_discovery(ctx, box.config, printer))
            plan = discovery.plan_discovery(
                ctx, mine, wanted, unknown_printers=[] if box.printers_listed else [device_id]
            )
            await self._carry_out(plan, force=False)  # migrates printers kept from before a switch
            self.store.update_discovery(plan.published, forget=set(mine) - set(plan.published))
        await self._refresh_states(plan)

    async def _carry_out(self, plan: discovery.DiscoveryPlan, *, force: bool) -> None:
        """Migrate, hand over, publish, clear: Home Assistant keeps names and areas, logs nothing.

        The order is :class:`discovery.DiscoveryPlan`'s (why: :mod:`discovery.plan`).
        """
        for message in plan.migrate:
            await self.publisher.publish(message.topic, message.payload)
        if plan.migrate:
            await asyncio.sleep(MIGRATE_PAUSE)
        for message in plan.handover:
            if message.payload is None:
                await self.publisher.clear(message.topic)
            else:
                await self.publisher.publish(message.topic, message.payload)
        for message in plan.publish:
            await self.publisher.publish(
                message.topic, message.payload, retain=True, force=force, digest_only=True
            )
        for message in plan.clear:
            await self.publisher.clear(message.topic)

    async def _refresh_states(self, plan: discovery.DiscoveryPlan) -> None:
        """Send again the retained states that changed configs read, once HA took them in.

        Home Assistant restarts the ``expire_after`` of an entity whose config changed: without
        a new state message it stays unavailable until the next refresh (minutes for a network
        printer). Outside the lock: only this box's caller waits for the pause.
        """
        topics = discovery.read_topics(plan.updated)
        if not topics:
            return
        await asyncio.sleep(MIGRATE_PAUSE)
        for topic in sorted(topics):
            data = self.publisher.retained(topic)
            if data is not None:
                await self.publisher.publish(topic, data, retain=True, force=True)

    async def clear_retained(self, *, keep: str) -> None:
        """Empty every retained topic this bridge filled, discovery first (HA drops the devices).

        ``keep`` (the bridge's state topic) stays: it is about to say ``offline``.
        """
        for topic in sorted(self.store.discovery):
            await self.publisher.clear(topic)
        self.store.set_discovery({})
        for topic in self.publisher.retained_topics():
            if topic != keep:
                await self.publisher.clear(topic)

    def is_birth_topic(self, topic: str) -> bool:
        """Whether a message is Home Assistant's status (its birth and last will)."""
        return self.enabled and topic == self.config.homeassistant.status_topic

    def birth(self, payload: Any, group: asyncio.TaskGroup) -> None:
        """Home Assistant said ``online``: re-announce everything after a random delay."""
        text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
        if text.strip().lower() != "online":
            return
        if self.reannounce is not None and not self.reannounce.done():
            return
        delay = random.uniform(*self.announce_delay)  # noqa: S311
        _LOGGER.info("Home Assistant is online: re-announcing in %.0f s", delay)
        self.reannounce = group.create_task(self._announce_later(delay), name="ha-announce")

    async def _announce_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._republish()
