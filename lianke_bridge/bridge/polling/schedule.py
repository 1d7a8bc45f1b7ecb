"""The fleet's poll schedule under the call budget: each box's stretch, replanned as it changes.

The pure arithmetic is in :mod:`.budget`; this keeps the current plan for
the bridge's boxes, says once in the log when it stops fitting, and answers the pollers' one
question: how much slower than configured should this kind of poll of this box run? It also
gives each box its place in the intervals (``Box.phase``), evenly spread, so that the fleet's
polls come at an even rate the call budget can serve as they come, not in waves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from lianke_bridge.bridge.polling.budget import IDLE_TASKS_FACTOR, BoxDemand, Plan, box_demand, plan
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.state import PROBLEM_WORDS, PrinterStatusWord

_LOGGER = logging.getLogger(__name__)

REPLAN_EVERY = 5.0
"""Seconds between replans at most (a thousand boxes listing printers at start-up)."""


class FleetSchedule:
    """The plan for every box, and each poll's stretch."""

    def __init__(
        self,
        boxes: Iterable[Box],
        *,
        budget: float,
        active_jobs: Callable[[str], int],
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._boxes = list(boxes)
        self._budget = budget
        self._active_jobs = active_jobs
        self._on_change = on_change
        """Told when the plan's stretch changed (the pollers' next slots move with it)."""
        self._planned_at: float | None = None
        self.plan = Plan(budget, 0.0)
        for index, box in enumerate(self._boxes):
            box.phase = index / len(self._boxes)
        self.replan(force=True)

    def _in_use(self, box: Box) -> bool:
        if self._active_jobs(box.name) > 0:
            return True
        return any(
            p.status in PROBLEM_WORDS or p.status is PrinterStatusWord.PRINTING
            for p in box.printers.values()
        )

    def _demand(self, box: Box) -> BoxDemand:
        status_printers = (
            sum(1 for row in box.rows.values() if row.support_status and not row.is_network)
            if box.printers_listed
            else 1
        )
        return box_demand(
            box.config,
            online=box.state.online or not box.known,
            status_printers=status_printers,
            in_use=self._in_use(box),
            busy=self._active_jobs(box.name) > 0,
        )

    def replan(self, *, force: bool = False) -> Plan:
        """Recompute the plan (at most every ``REPLAN_EVERY`` seconds unless ``force``)."""
        now = _clock()
        if not force and self._planned_at is not None and now - self._planned_at < REPLAN_EVERY:
            return self.plan
        self._planned_at = now
        was = self.plan
        self.plan = plan((self._demand(box) for box in self._boxes), self._budget)
        if self.plan.stretched and not was.stretched:
            _LOGGER.warning("%s", self.plan.describe())
        elif was.stretched and not self.plan.stretched:
            _LOGGER.info("the poll schedule fits the call budget again")
        if self.plan.factors != was.factors and self._on_change is not None:
            self._on_change()
        return self.plan

    def stretch(self, box: Box, kind: str) -> float:
        """How much longer than configured the next ``kind`` poll of ``box`` waits."""
        if kind == "device_info":
            return self.plan.factor("device_info")
        if kind == "printer_status" and self._in_use(box):
            return self.plan.factor("status_in_use")
        factor = self.plan.factor("rest")
        if kind == "tasks" and self._active_jobs(box.name) == 0:
            factor *= IDLE_TASKS_FACTOR
        return factor


def _clock() -> float:
    """The event loop's clock (the pollers' slots read it), or the monotonic clock outside one."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()
