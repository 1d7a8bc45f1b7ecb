"""Polling one box: device_info, printer_list, printer_status, today's tasks.

Politeness rules live here: an offline box is only asked device_info until it is back; only
printers with ``support_status`` get printer_status, one at a time; 10009 backs the box off.
State is published when it changes (and on reconnect, by the service).

When each poll is due is ``slots.py``'s; what is published of the box, ``snapshots.py``'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lianke_bridge import errors
from lianke_bridge.asyncutil import checkpoint, sleep_until_woken
from lianke_bridge.bridge.mqtt.publisher import Publisher
from lianke_bridge.bridge.polling.slots import PollSlots
from lianke_bridge.bridge.polling.snapshots import BoxSnapshots, EventSink
from lianke_bridge.bridge.records import freshness
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.envelope import to_command_error
from lianke_bridge.bridge.records.state import (
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

MAX_BACKOFF = 8.0
KINDS = ("device_info", "printer_list", "printer_status", "tasks")


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
        self.slots = PollSlots(box, stretch)
        """When each kind of poll is due (``stretch``: the call budget's plan)."""
        self.snapshots = BoxSnapshots(
            box, publisher=publisher, topics=topics, emit=emit, own_jobs=own_jobs
        )
        """What is published of the box."""
        self._client = client
        self._publisher = publisher
        self._topics = topics
        self._emit = emit
        self._on_identity_changed = on_identity_changed
        self._identity_news = False
        """device_info brought the box's identity (or a change): announce once the lock is free."""

    async def run(self) -> None:
        """Poll forever; a refresh request wakes it early. Cloud errors never end it."""
        background_calls()  # requests' calls go first
        loop = asyncio.get_running_loop()
        if self.slots.stretched("device_info"):
            # The budget cannot ask every box at once: the first device_info polls are spread
            # over their interval too, at the rate the plan gives them.
            self.slots.place("device_info", loop.time())
        while True:
            checkpoint()
            async with self.box.lock:
                await self._poll_due(loop.time(), background=True)
            await self._announce_identity()
            wanted = ["device_info"]
            if self.box.state.online:
                wanted += ["printer_list", "printer_status", "tasks"]
            next_due = min(self.slots.due(kind) for kind in wanted)
            await sleep_until_woken(self.box.wake, max(0.05, next_due - loop.time()))

    async def poll_now(self) -> BoxState:
        """Poll everything at once (the ``refresh`` command); returns the fresh box state."""
        async with self.box.lock:
            self.box.asked.update(dict.fromkeys(KINDS, 0.0))
            await self._poll_due(asyncio.get_running_loop().time())
        await self._announce_identity()
        return self.box.state

    async def know_printers(self) -> None:
        """Have the box's printers listed before a request that needs them goes on.

        A request that comes right after start-up must not be built as if the box had no
        printers (their models, their ports, their papers): a poll under way (the first one) is
        waited for, and if the printers are still not listed the box is asked at once, as a
        command (device_info when it never answered, else printer_list). A box known to be
        offline is not asked: its printers are listed once it is back.
        """
        box = self.box
        if box.rows:
            return
        async with box.lock:
            if box.rows or (box.known and not box.state.online):
                return
            # device_info asks for the printer list itself when the box turns out to be online
            box.asked["printer_list" if box.known else "device_info"] = 0.0
            await self._poll_due(asyncio.get_running_loop().time())
        await self._announce_identity()

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
        if self.slots.is_due("device_info", now):
            self.slots.schedule("device_info", now)
            await self._guard(self._poll_device_info())
        if not box.state.online:
            await (
                self.snapshots.publish_queue()
            )  # every configured box has a queue, 0 if it never booted
            return
        steps: tuple[tuple[str, Callable[[], Awaitable[None]]], ...] = (
            ("printer_list", lambda: self._guard(self._poll_printer_list())),
            ("printer_status", self._poll_printer_statuses),
            ("tasks", lambda: self._guard(self._poll_tasks())),
        )
        with call_deadline(self.slots.due("device_info") if background else None):
            for kind, step in steps:
                if not self.slots.is_due(kind, now):
                    continue
                before = box.slot.get(kind), box.asked.get(kind)
                self.slots.schedule(kind, now)
                try:
                    await step()
                except errors.TurnPassed:
                    self.slots.unschedule(kind, *before)
                    return
        box.last_poll = utc_now().isoformat(timespec="seconds")

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
            await self.snapshots.set_box(self.box.state.with_changes(error=error_json(err)))
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
        await self.snapshots.set_box(box.state.with_changes(error=error_json(err)))
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
        await self.snapshots.set_box(box.state.with_info(info).with_changes(error=None))
        if not was_known or (box.state.model, box.state.firmware) != identity:
            # Home Assistant shows model and firmware: the box is announced once they are known
            self._identity_news = True
        await self._publisher.publish(
            self._topics.availability(box.name),
            "online" if info.is_online else "offline",
            retain=True,
            refresh_after=freshness.availability_period(box.config.poll) * freshness.REFRESH_FACTOR,
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
                if self.slots.stretched("printer_status"):
                    self.slots.place(kind, now)
                else:
                    box.poll_soon(kind)
        if not info.is_online:
            await self.snapshots.mark_printers_offline()
        elif was_online and self.slots.budgeted:
            await self._refresh_stale()

    async def _refresh_stale(self) -> None:
        """Re-send the queue and printer states that are due for a refresh, without a call.

        When the call budget stretches printer and queue polls, the box's answer to device_info
        still says it is there: its last known queue and printers are re-sent so Home Assistant's
        expire_after does not blank them between the slower polls.
        """
        await self.snapshots.publish_queue()
        for state in list(self.box.printers.values()):
            await self.snapshots.set_printer(state)

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
            await self.snapshots.set_printer(
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
                await self.snapshots.set_printer(
                    fresh.with_changes(error_limit_reached=current.error_limit_reached)
                )
        await self.snapshots.set_box(box.state.with_changes(printers=tuple(sorted(rows))))
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
                    await self.snapshots.set_printer(
                        current.with_changes(status=PrinterStatusWord.OFFLINE)
                    )
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
            await self.snapshots.set_printer(state)

    async def _poll_tasks(self) -> None:
        box = self.box
        box.cloud_tasks = tuple(await self._client.device_tasks(box.credentials))
        await self.snapshots.publish_queue()

    # ---- what the others ask of the box's snapshots -------------------------------------
    async def publish_queue(self) -> None:
        """Publish the queue count (topic and box state) if it moved (a job changed)."""
        await self.snapshots.publish_queue()

    async def set_error_limit(self, reached: bool) -> None:
        """The cloud paused the whole box (11203), or a reset lifted it: box and every printer."""
        await self.snapshots.set_error_limit(reached)


def _identity(printer: Printer) -> tuple[object, ...]:
    """What Home Assistant shows of a printer: another printer on the same port changes it."""
    return (printer.name, printer.model, printer.kind, tuple(m.name for m in printer.markers))
