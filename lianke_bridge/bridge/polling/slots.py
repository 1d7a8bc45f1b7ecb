"""When each kind of poll of one box is due: its slots, one interval apart, at the box's place.

Each kind of poll of a box has its own slots, one interval apart (the configured interval,
stretched by the call budget's plan, backed off after 10009), at the box's own place in the
interval (``Box.phase``: the fleet's boxes are spread evenly over it). A poll that had to wait
for the call budget does not move the next slot, so waits never add up; a changed plan moves the
next slot at once (it is computed when asked for, from the last slot).

Arithmetic on the box's record (``Box.slot``, ``Box.asked``, ``Box.lag``) and the loop time it
is given: no cloud call, no publish.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from lianke_bridge.bridge.records.box import Box


class PollSlots:
    """The slots of one box's polls, kind by kind."""

    def __init__(self, box: Box, stretch: Callable[[str], float] | None = None) -> None:
        self.box = box
        self._stretch = stretch
        """How much slower than configured a kind of poll runs (the call budget's plan)."""

    @property
    def budgeted(self) -> bool:
        """Whether a call budget's plan stretches this box's polls (the service gives one)."""
        return self._stretch is not None

    def interval(self, kind: str) -> float:
        """Seconds between two slots of this kind: configured, stretched, backed off."""
        base = float(getattr(self.box.config.poll, kind))
        if self._stretch is not None:
            base *= self._stretch(kind)
        return base * self.box.backoff

    def stretched(self, kind: str) -> bool:
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

    def place(self, kind: str, now: float) -> None:
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

    def is_due(self, kind: str, now: float) -> bool:
        """Whether the next poll of this kind is due at ``now``."""
        return self.due(kind) <= now

    def schedule(self, kind: str, now: float) -> None:
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

    def unschedule(self, kind: str, slot: float | None, asked: float | None) -> None:
        """The poll gave its turn up: it is due again as it was."""
        for table, value in ((self.box.slot, slot), (self.box.asked, asked)):
            if value is None:
                table.pop(kind, None)
            else:
                table[kind] = value
