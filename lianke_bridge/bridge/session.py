"""One connected MQTT session of the bridge: what it says on connect and on leaving, what it runs.

On connect: ``online`` (retained), everything retained published again, the subscriptions (the
requests, MQTT 3.1.1's sync topic, the cloud's relayed pushes, the fan-outs of a scaled-out
bridge, Home Assistant's status)
and the stale ones of the persistent session dropped. Then the session's tasks run in one
``TaskGroup`` until the broker goes away or the bridge stops. A stop says ``offline`` within a
bound (the demo also clears what it retained); a bug says ``offline`` before the clean
DISCONNECT that would drop the will. Reconnecting is ``mqtt/session.py``'s; which tasks run is
the service's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiomqtt

from lianke_bridge.bridge.memory.store import Store
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.mqtt.session import (
    abandon,
    broker_errors_only,
    refuses,
    subscribe,
    subscribe_requests,
    unsubscribe_stale,
)
from lianke_bridge.bridge.records.topics import Topics, shown_topic
from lianke_bridge.config import Config

_LOGGER = logging.getLogger(__name__)

OFFLINE_TIMEOUT = 2.0
"""Seconds a failing session gets to publish ``offline`` before it disconnects."""
GOODBYE_TIMEOUT = 4.0
"""Seconds a stop gets to say ``offline`` (and, for the demo, clear what it retained)."""

Tasks = Callable[[aiomqtt.Client, asyncio.TaskGroup], None]
"""Starts the session's named tasks in its group."""


class BridgeSession:
    """Runs one connected session at a time: ``run`` is what the reconnect loop calls."""

    def __init__(
        self,
        config: Config,
        *,
        topics: Topics,
        publisher: Publisher,
        store: Store,
        connected: asyncio.Event,
        sync_topic: str | None,
        republish: Callable[..., Awaitable[None]],
        clear_retained: Callable[[], Awaitable[None]] | None,
        tasks: Tasks,
    ) -> None:
        self.config = config
        self.topics = topics
        self.publisher = publisher
        self.store = store
        self.connected = connected
        """Set while a session is connected and has said ``online``."""
        self.sync_topic = sync_topic
        """MQTT 3.1.1's retained-request check topic (``intake/retained.py``), or None."""
        self._republish = republish
        self._clear_retained = clear_retained
        """On a clean stop, clear what the bridge retained (the demo: its boxes are not real)."""
        self._tasks = tasks
        self._pushes_refused = False
        """The broker refused ``<base>/bridge/callback`` once already (said once a run)."""

    async def run(self, mqtt: aiomqtt.Client) -> None:
        """One connected session; on a clean stop, say ``offline`` before leaving."""
        self.publisher.attach(mqtt)
        try:
            await self._on_connected(mqtt)
            self.connected.set()
            async with asyncio.TaskGroup() as group:
                self._tasks(mqtt, group)
                # Wait inside the body until a task fails or we are cancelled: on Python 3.11 a
                # task failing while the group is already exiting leaves this task with a
                # cancellation request that is never withdrawn (fixed in 3.12).
                await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            self.publisher.closing = True
            # Bounded: a broker that stopped answering must not hold a stop for aiomqtt's 10 s
            # per publish (a service manager kills after ~10 s); the will speaks then.
            # If the goodbye did not get through, the connection is abandoned rather than
            # closed with a DISCONNECT that aiomqtt would wait another 10 s for.
            try:
                async with asyncio.timeout(GOODBYE_TIMEOUT):
                    if self._clear_retained is not None:
                        await self._clear_retained()
                    await self.publisher.publish(self.topics.bridge_state, "offline", retain=True)
            except (aiomqtt.MqttError, TimeoutError):
                abandon(mqtt)
            raise
        except BaseException as err:
            if not broker_errors_only(err):
                await self._say_offline_after_failure(err)
            raise
        finally:
            self.publisher.closing = False
            self.connected.clear()
            self.store.clear_heartbeat()
            self.publisher.detach()

    async def _say_offline_after_failure(self, err: BaseException) -> None:
        """The session dies of a bug: say ``offline`` (retained) before the clean DISCONNECT.

        A clean DISCONNECT makes the broker drop the will, so without this ``bridge/state``
        would stay ``online`` for a bridge that is gone.
        """
        _LOGGER.error("the bridge session failed (%s); publishing offline", type(err).__name__)
        self.publisher.closing = True
        try:
            async with asyncio.timeout(OFFLINE_TIMEOUT):
                await self.publisher.publish(self.topics.bridge_state, "offline", retain=True)
        except Exception as failed:  # noqa: BLE001 - the session is already failing
            _LOGGER.debug("could not publish offline: %s", failed)

    async def _on_connected(self, mqtt: aiomqtt.Client) -> None:
        """Re-subscribe and re-publish everything retained."""
        await self.publisher.publish(self.topics.bridge_state, "online", retain=True, force=True)
        await self._republish(just_sent=(self.topics.bridge_state,))
        wanted = [self.topics.request_filter]
        if self.sync_topic is not None:
            wanted.append(self.sync_topic)
            await subscribe(mqtt, wanted[-1])
        await self.subscribe_requests(mqtt)
        if await self._subscribe_pushes(mqtt):
            wanted.append(self.topics.bridge_callback)
        if self.config.shard.scaled:
            wanted.append(self.topics.fanout_filter)
            await subscribe(mqtt, wanted[-1])
        if self.config.homeassistant.enabled:
            wanted.append(self.config.homeassistant.status_topic)
            await subscribe(mqtt, wanted[-1])
        await unsubscribe_stale(mqtt, self.config.mqtt, self.store, wanted)

    async def _subscribe_pushes(self, mqtt: aiomqtt.Client) -> bool:
        """The cloud's pushes relayed over MQTT; a broker that refuses them is said once.

        Unlike the requests, the bridge works without them (jobs are polled), so a broker's
        ACL written before this topic existed must not keep the bridge from connecting.
        """
        topic = self.topics.bridge_callback
        granted = await mqtt.subscribe(topic, qos=1)
        if not any(refuses(code) for code in granted):
            return True
        if not self._pushes_refused:
            self._pushes_refused = True
            _LOGGER.warning(
                "the broker refused the subscription to %s (its ACL?): pushes relayed over MQTT "
                "do not reach the bridge; jobs are polled",
                shown_topic(topic),
            )
        return False

    async def subscribe_requests(self, mqtt: aiomqtt.Client) -> None:
        """Subscribe to the requests (again: MQTT 3.1.1's retained check re-subscribes)."""
        await subscribe_requests(mqtt, self.topics.request_filter, self.config.mqtt.protocol)
