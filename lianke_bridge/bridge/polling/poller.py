"""Polling one box: device_info, printer_list, printer_status, today's tasks.

Politeness rules live here: an offline box is only asked device_info until it is back; only
printers with ``support_status`` get printer_status, one at a time; 10009 backs the box off.
State is published when it changes (and on reconnect, by the service).

The schedule: each kind of poll of a box has its own slots, one interval apart (the configured
interval, stretched by the call budget's plan, backed off after 10009), at the box's own place
in the interval (``Box.phase``: the fleet's boxes are spread evenly over it). A poll that had to
wait for the call budget does not move the next slot, so waits never add up; a changed plan
moves the next slot at once (it is computed when asked for, from the last slot).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lianke_bridge import errors
from lianke_bridge.asyncutil import checkpoint, sleep_until_woken
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.records import freshness
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.envelope import to_command_error
from lianke_bridge.bridge.records.state import (
    PROBLEM_WORDS,
    BoxState,
    PrinterState,
    PrinterStatusWord,
    utc_now,
)
from lianke_bridge.bridge.records.topics import Topics
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.client import LiankeClient
from lianke_bridge.cloud.limiter import (
    Priority,
    background_calls,
    call_deadline,
    call_priority,
    current_priority,
)
from lianke_bridge.cloud.models import Printer

_LOGGER = logging.getLogger(__name__)

ACTIVE_TASK_STATES = frozenset(
    {
        codes.TaskState.READY,
        codes.TaskState.PARSING,
        codes.TaskState.SENDING,
        codes.TaskState.SET_REVOKE,
    }
)
MAX_BACKOFF = 8.0
REFRESH_FACTOR = freshness.REFRESH_FACTOR
KINDS = ("device_info", "printer_list", "printer_status", "tasks")

EventSink = Callable[[str | None, dict[str, Any]], Awaitable[None]]
"""(device name or None for the bridge, event JSON) -> publish it."""


def error_json(err: errors.LiankeError) -> dict[str, Any]:
    """The ``error`` field of a box state: the same code and words a command's answer uses."""
    return to_command_error(err).to_json()


class BoxPoller:
    """Keeps one box's state fresh and published."""

    def __init__(
        self,
        box: Box,
        *,
        client: LiankeClient,
        publisher: Publisher,
        topics: Topics,
        emit: EventSink,
        own_jobs: Callable[[str], Mapping[str, bool]],
        on_identity_changed: Callable[[Box], Awaitable[None]],
        stretch: Callable[[str], float] | None = None,
    ) -> None:
        self.box = box
        self._stretch = stretch
        """How much slower than configured a kind of poll runs (the call budget's plan)."""
        self._client = client
        self._publisher = publisher
        self._topics = topics
        self._emit = emit
        self._own_jobs = own_jobs
        self._on_identity_changed = on_identity_changed
        self._identity_news = False
        """device_info brought the box's identity (or a change): announce once the lock is free."""

    # ---- scheduling ---------------------------------------------------------------------
    def interval(self, kind: str) -> float:
        """Seconds between two slots of this kind: configured, stretched, backed off."""
        base = float(getattr(self.box.config.poll, kind))
        if self._stretch is not None:
            base *= self._stretch(kind)
        return base * self.box.backoff

    def _stretched(self, kind: str) -> bool:
        """Whether the call budget's plan polls this kind slower than configured."""
        return self._stretch is not None and self._stretch(kind) > 1.0

    def _slot_after(self, moment: float, interval: float) -> float:
        """The box's first slot after ``moment`` for polls ``interval`` seconds apart."""
        offset = self.box.phase * interval
        return offset + (math.floor((moment - offset) / interval) + 1) * interval

    def _take_slot_after(self, kind: str, now: float) -> None:
        """The next poll of this kind comes at the box's first slot after now."""
        interval = self.interval(kind)
        self.box.slot[kind] = self._slot_after(now, interval) - interval

    def _place(self, kind: str, now: float) -> None:
        """Put the next poll of this kind on the box's first slot after now (not at once).

        A kind never polled yet is asked for at that moment, which a later plan does not move:
        with no poll before it, there is no interval to keep.
        """
        if kind in self.box.slot:
            self._take_slot_after(kind, now)
            self.box.asked.pop(kind, None)
        else:
            self.box.asked[kind] = self._slot_after(now, self.interval(kind))

    def due(self, kind: str) -> float:
        """Loop time the next poll of this kind is due (0.0: now, as for a first poll)."""
        last = self.box.slot.get(kind)
        asked = self.box.asked.get(kind)
        if last is None:  # never polled: when asked for, else now
            return 0.0 if asked is None else asked
        due = last + self.interval(kind)
        return due if asked is None else min(due, asked)

    def _is_due(self, kind: str, now: float) -> bool:
        return self.due(kind) <= now

    def _schedule(self, kind: str, now: float) -> None:
        """A poll of this kind starts: note how late it is, take its slot."""
        box = self.box
        asked = box.asked.pop(kind, None)
        last = box.slot.get(kind)
        if last is None:  # the first poll
            box.lag[kind] = 0.0
            if asked:  # placed at a moment (its slot): the next one an interval later
                box.slot[kind] = asked
            else:  # at once: the next one at the box's place in the interval
                self._take_slot_after(kind, now)
            return
        interval = self.interval(kind)
        due = last + interval
        if due > now:  # asked for ahead of its slot: the slots stay
            box.lag[kind] = 0.0
            return
        box.lag[kind] = 0.0 if asked is not None else now - due  # one asked for is never late
        # Slots missed altogether (an offline box, a long wait) are skipped, not made up.
        box.slot[kind] = due + math.floor((now - due) / interval) * interval

    async def run(self) -> None:
        """Poll forever; a refresh request wakes it early. Cloud errors never end it."""
        background_calls()  # requests' calls go first
        loop = asyncio.get_running_loop()
        if self._stretched("device_info"):
            # The budget cannot ask every box at once: the first device_info polls are spread
            # over their interval too, at the rate the plan gives them.
            self._place("device_info", loop.time())
        while True:
            checkpoint()
            async with self.box.lock:
                await self._poll_due(loop.time(), background=True)
            await self._announce_identity()
            wanted = ["device_info"]
            if self.box.state.online:
                wanted += ["printer_list", "printer_status", "tasks"]
            next_due = min(self.due(kind) for kind in wanted)
            await sleep_until_woken(self.box.wake, max(0.05, next_due - loop.time()))

    async def poll_now(self) -> BoxState:
        """Poll everything at once (the ``refresh`` command); returns the fresh box state."""
        async with self.box.lock:
            self.box.asked.update(dict.fromkeys(KINDS, 0.0))
            await self._poll_due(asyncio.get_running_loop().time())
        await self._announce_identity()
        return self.box.state

    async def _announce_identity(self) -> None:
        """Tell the service what device_info changed of the box, outside the box's lock.

        Announcing is not the cloud's business: a request waiting for the box is not held up.
        """
        if self._identity_news:
            self._identity_news = False
            await self._on_identity_changed(self.box)

    async def _poll_due(self, now: float, *, background: bool = False) -> None:
        """One pass: device_info, then the other polls that are due, one call at a time.

        In the background, a poll still waiting for the call budget when the box's next
        device_info is due gives its turn up (nothing was sent) and comes after it: waiting
        behind the fleet's other polls never makes a box's device_info late.
        """
        box = self.box
        if self._is_due("device_info", now):
            self._schedule("device_info", now)
            await self._guard(self._poll_device_info())
        if not box.state.online:
            await self.publish_queue()  # every configured box has a queue, 0 if it never booted
            return
        steps: tuple[tuple[str, Callable[[], Awaitable[None]]], ...] = (
            ("printer_list", lambda: self._guard(self._poll_printer_list())),
            ("printer_status", self._poll_printer_statuses),
            ("tasks", lambda: self._guard(self._poll_tasks())),
        )
        with call_deadline(self.due("device_info") if background else None):
            for kind, step in steps:
                if not self._is_due(kind, now):
                    continue
                before = box.slot.get(kind), box.asked.get(kind)
                self._schedule(kind, now)
                try:
                    await step()
                except errors.TurnPassed:
                    self._unschedule(kind, *before)
                    return
        box.last_poll = utc_now().isoformat(timespec="seconds")

    def _unschedule(self, kind: str, slot: float | None, asked: float | None) -> None:
        """The poll gave its turn up: it is due again as it was."""
        for table, value in ((self.box.slot, slot), (self.box.asked, asked)):
            if value is None:
                table.pop(kind, None)
            else:
                table[kind] = value

    async def _guard(self, step: Awaitable[None]) -> None:
        """Run one poll step; a cloud error is recorded on the box, never raised."""
        try:
            await step
        except errors.TooFrequentError as err:
            await self._rate_limited(err)
            return
        except errors.CloudError as err:
            _LOGGER.debug("%s: %s", self.box.name, err)
            if isinstance(err, errors.DeviceAuthError):
                self._key_refused()
            await self._set_box(self.box.state.with_changes(error=error_json(err)))
            return
        if self.box.backoff > 1.0:
            self.box.backoff = max(1.0, self.box.backoff / 2)

    def _key_refused(self) -> None:
        """Say once that the cloud refused this box's keys (the client stops using them)."""
        if self.box.key_refused:
            return
        self.box.key_refused = True
        _LOGGER.error(
            "%s: the cloud refused its device id or key (404); its polling stops, trying again "
            "every %.0f min or on SIGHUP (check device_id and device_key, or scan the QR again)",
            self.box.name,
            self._client.refusal_retry / 60,
            extra={"device": self.box.name},
        )

    async def _rate_limited(self, err: errors.TooFrequentError) -> None:
        box = self.box
        box.backoff = min(MAX_BACKOFF, box.backoff * 2)
        _LOGGER.warning(
            "%s: the cloud says too many requests; polling %.0fx slower", box.name, box.backoff
        )
        await self._set_box(box.state.with_changes(error=error_json(err)))
        await self._emit(
            None, {"event": "rate_limited", "device": box.name, "backoff": box.backoff}
        )

    # ---- steps --------------------------------------------------------------------------
    async def _poll_device_info(self) -> None:
        box = self.box
        with call_priority(Priority.POLL_FIRST):  # stretched last, asked first
            info = await self._client.device_info(box.credentials)
        box.key_refused = False
        was_online, was_known = box.state.online, box.known
        identity = (box.state.model, box.state.firmware)
        box.known = True
        await self._set_box(box.state.with_info(info).with_changes(error=None))
        if not was_known or (box.state.model, box.state.firmware) != identity:
            # Home Assistant shows model and firmware: the box is announced once they are known
            self._identity_news = True
        await self._publisher.publish(
            self._topics.availability(box.name),
            "online" if info.is_online else "offline",
            retain=True,
            refresh_after=freshness.availability_period(box.config.poll) * REFRESH_FACTOR,
        )
        if was_known and was_online != info.is_online:
            event = "device_online" if info.is_online else "device_offline"
            _LOGGER.info("%s is %s", box.name, "back online" if info.is_online else "offline")
            await self._emit(box.name, {"event": event, "device": box.name})
            await self._emit(None, {"event": event, "device": box.name})
        if info.is_online and not was_online:
            box.poll_soon("printer_list")  # its printers, at once
            # When the call budget is short, these come at the box's slots instead, so a
            # thousand boxes coming online do not queue them all ahead of the printer lists.
            now = asyncio.get_running_loop().time()
            for kind in ("printer_status", "tasks"):
                if self._stretched("printer_status"):
                    self._place(kind, now)
                else:
                    box.poll_soon(kind)
        if not info.is_online:
            await self._mark_printers_offline()
        elif was_online and self._stretch is not None:
            await self._refresh_stale()

    async def _refresh_stale(self) -> None:
        """Re-send the queue and printer states that are due for a refresh, without a call.

        When the call budget stretches printer and queue polls, the box's answer to device_info
        still says it is there: its last known queue and printers are re-sent so Home Assistant's
        expire_after does not blank them between the slower polls.
        """
        await self.publish_queue()
        for state in list(self.box.printers.values()):
            await self._set_printer(state)

    async def _poll_printer_list(self) -> None:
        box = self.box
        # A box's first list is what start-up waits for: ahead of the other polls (not of
        # device_info, whose slots keep every box's presence known).
        priority = Priority.POLL_NEW if not box.printers_listed else current_priority()
        with call_priority(priority):
            printers = await self._client.printer_list(
                box.credentials, codes.PrinterType(box.config.printer_type)
            )
        rows = {p.port: p for p in printers}
        added = sorted(set(rows) - set(box.rows))
        removed = sorted(set(box.rows) - set(rows))
        renamed = [
            port
            for port in set(rows) & set(box.rows)
            if _identity(rows[port]) != _identity(box.rows[port])
        ]
        first = not box.rows and not box.printers
        first_answer = not box.printers_listed
        box.rows = rows
        for port in removed:
            box.printers.pop(port, None)
            _LOGGER.info("%s: printer on port %s removed", box.name, port)
            await self._emit(None, {"event": "printer_removed", "device": box.name, "port": port})
        for port in added:
            row = rows[port]
            previous = box.printers.get(port)
            state = PrinterState.from_cloud(row, None)
            if previous is not None and previous.live_status:
                state = state.with_changes(
                    status=previous.status, problems=previous.problems, live_status=True
                )
            await self._set_printer(
                state.with_changes(error_limit_reached=box.state.error_limit_reached)
            )
            if not first:
                _LOGGER.info("%s: found %s on port %s", box.name, row.name, port)
            await self._emit(
                None, {"event": "printer_added", "device": box.name, "port": port, "name": row.name}
            )
        for port in sorted(set(rows) & (set(box.printers) - set(added))):
            current = box.printers[port]
            if not rows[port].support_status or rows[port].is_network:  # no live status
                fresh = PrinterState.from_cloud(rows[port], None)
                await self._set_printer(
                    fresh.with_changes(error_limit_reached=current.error_limit_reached)
                )
        await self._set_box(box.state.with_changes(printers=tuple(sorted(rows))))
        box.printers_listed = True  # only now: the printers are all in box.printers
        if added or removed or renamed or first_answer:
            if first and added:
                _LOGGER.info("found %d printers on %s", len(rows), box.name)
            await self._on_identity_changed(box)
        # After Home Assistant forgot the printer, so its templates never see an empty state.
        for port in removed:
            await self._publisher.clear(self._topics.printer_state(box.name, port))

    async def _poll_printer_statuses(self) -> None:
        box = self.box
        for port, row in sorted(box.rows.items()):
            # printer_status takes a USB port: asked for a network printer (sent to port 1) it
            # would answer for the USB printer there. Network printers report via printer_list.
            if not row.support_status or row.is_network:
                continue
            try:
                status = await self._client.printer_status(box.credentials, row.device_port)
            except (errors.NoPrinterError, errors.PortEmptyError):
                current = box.printers.get(port)
                if current is not None:
                    await self._set_printer(current.with_changes(status=PrinterStatusWord.OFFLINE))
                continue
            except errors.TooFrequentError as err:
                await self._rate_limited(err)
                return
            except errors.CloudError as err:
                _LOGGER.debug("%s port %s: %s", box.name, port, err)
                continue
            state = PrinterState.from_cloud(row, status).with_changes(
                error_limit_reached=box.state.error_limit_reached
            )
            await self._set_printer(state)

    async def _poll_tasks(self) -> None:
        box = self.box
        box.cloud_tasks = tuple(await self._client.device_tasks(box.credentials))
        await self.publish_queue()

    # ---- publishing ---------------------------------------------------------------------
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
            refresh_after=freshness.queue_period(self.box.config.poll) * REFRESH_FACTOR,
        )
        if count != self.box.state.queue:
            await self._set_box(self.box.state.with_changes(queue=count))

    async def _set_box(self, state: BoxState) -> None:
        box = self.box
        changed = state != box.state
        box.state = state
        if changed or self._publisher.retained(self._topics.state(box.name)) is None:
            await self._publisher.publish(
                self._topics.state(box.name), state.to_json(), retain=True
            )

    async def _set_printer(self, state: PrinterState) -> None:
        box = self.box
        previous = box.printers.get(state.port)
        box.printers[state.port] = state
        topic = self._topics.printer_state(box.name, state.port)
        refresh_after = freshness.printer_period(box.config.poll, state) * REFRESH_FACTOR
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

    async def _mark_printers_offline(self) -> None:
        for state in list(self.box.printers.values()):
            if state.status is not PrinterStatusWord.OFFLINE:
                await self._set_printer(state.with_changes(status=PrinterStatusWord.OFFLINE))

    async def set_error_limit(self, reached: bool) -> None:
        """The cloud paused the whole box (11203), or a reset lifted it: box and every printer.

        The cloud counts failures per box, so every printer of the box shows the pause.
        """
        box = self.box
        if box.state.error_limit_reached != reached:
            await self._set_box(box.state.with_changes(error_limit_reached=reached))
        for current in list(box.printers.values()):
            if current.error_limit_reached != reached:
                await self._set_printer(current.with_changes(error_limit_reached=reached))


def _identity(printer: Printer) -> tuple[object, ...]:
    """What Home Assistant shows of a printer: another printer on the same port changes it."""
    return (printer.name, printer.model, printer.kind, tuple(m.name for m in printer.markers))
