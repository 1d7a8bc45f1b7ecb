"""What the bridge publishes of one box: its state, its printers' states and its queue.

Each snapshot is published retained when it changed, or when it is due for a refresh
(``records/freshness.py``); a printer's change of condition is an event too (``printer_problem``,
``printer_ok``). The queue counts the cloud's waiting tasks merged with the bridge's own jobs.
What the polls found is handed in: no cloud call here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.records import freshness
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.state import (
    PROBLEM_WORDS,
    BoxState,
    PrinterState,
    PrinterStatusWord,
)
from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.cloud import codes

ACTIVE_TASK_STATES = frozenset(
    {
        codes.TaskState.READY,
        codes.TaskState.PARSING,
        codes.TaskState.SENDING,
        codes.TaskState.SET_REVOKE,
    }
)
"""Cloud tasks that count in the queue: waiting or in progress."""

EventSink = Callable[[str | None, dict[str, Any]], Awaitable[None]]
"""(device name or None for the bridge, event JSON) -> publish it."""


class BoxSnapshots:
    """Publishes one box's snapshots as they change, and the events of its printers."""

    def __init__(
        self,
        box: Box,
        *,
        publisher: Publisher,
        topics: Topics,
        emit: EventSink,
        own_jobs: Callable[[str], Mapping[str, bool]],
    ) -> None:
        self.box = box
        self._publisher = publisher
        self._topics = topics
        self._emit = emit
        self._own_jobs = own_jobs

    def queue_count(self) -> int:
        """Cloud tasks waiting or in progress, merged with the bridge's own jobs.

        The bridge's own jobs are known better than the last tasks poll: one that ended is no
        longer counted even if the cloud's list (older) still shows it waiting.
        """
        own = self._own_jobs(self.box.name)
        cloud_active = {
            t.task_id
            for t in self.box.cloud_tasks
            if t.task_state in ACTIVE_TASK_STATES and own.get(t.task_id, True)
        }
        return len(cloud_active | {task_id for task_id, active in own.items() if active})

    async def publish_queue(self) -> None:
        """Publish the queue count (topic and box state) if it moved."""
        count = self.queue_count()
        await self._publisher.publish(
            self._topics.queue(self.box.name),
            count,
            retain=True,
            refresh_after=freshness.queue_period(self.box.config.poll) * freshness.REFRESH_FACTOR,
        )
        if count != self.box.state.queue:
            await self.set_box(self.box.state.with_changes(queue=count))

    async def set_box(self, state: BoxState) -> None:
        """The box's new state: published if it changed (or was never published)."""
        box = self.box
        changed = state != box.state
        box.state = state
        if changed or self._publisher.retained(self._topics.state(box.name)) is None:
            await self._publisher.publish(
                self._topics.state(box.name), state.to_json(), retain=True
            )

    async def set_printer(self, state: PrinterState) -> None:
        """A printer's new state: published if it changed or is due, with its problem events."""
        box = self.box
        previous = box.printers.get(state.port)
        box.printers[state.port] = state
        topic = self._topics.printer_state(box.name, state.port)
        refresh_after = freshness.printer_period(box.config.poll, state) * freshness.REFRESH_FACTOR
        if previous == state and not self._publisher.is_stale(topic, refresh_after):
            return
        await self._publisher.publish(topic, state.to_json(), retain=True, force=True)
        if previous is None:
            return
        had = previous.status in PROBLEM_WORDS
        has = state.status in PROBLEM_WORDS
        if has and (not had or previous.status != state.status):
            await self._emit(
                box.name,
                {
                    "event": "printer_problem",
                    "device": box.name,
                    "port": state.port,
                    "status": str(state.status),
                    "message": state.message,
                },
            )
        elif had and not has and state.status is not PrinterStatusWord.OFFLINE:
            await self._emit(
                box.name, {"event": "printer_ok", "device": box.name, "port": state.port}
            )

    async def mark_printers_offline(self) -> None:
        """The box went offline: so did every printer on it."""
        for state in list(self.box.printers.values()):
            if state.status is not PrinterStatusWord.OFFLINE:
                await self.set_printer(state.with_changes(status=PrinterStatusWord.OFFLINE))

    async def set_error_limit(self, reached: bool) -> None:
        """The cloud paused the whole box (11203), or a reset lifted it: box and every printer.

        The cloud counts failures per box, so every printer of the box shows the pause.
        """
        box = self.box
        if box.state.error_limit_reached != reached:
            await self.set_box(box.state.with_changes(error_limit_reached=reached))
        for current in list(box.printers.values()):
            if current.error_limit_reached != reached:
                await self.set_printer(current.with_changes(error_limit_reached=reached))
