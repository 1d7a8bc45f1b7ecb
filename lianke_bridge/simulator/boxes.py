"""A box and its printers as they are now: online or not, paper, ink, the per-box counters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from lianke_bridge.cloud.codes import TaskState
from lianke_bridge.simulator.clock import SimClock
from lianke_bridge.simulator.fleet import BoxSpec, PrinterSpec

ERROR_LIMIT = 30
"""Consecutive failed jobs after which the cloud pauses a box (11203)."""
RESETS_PER_DAY = 10
"""reset_printing_error_limit calls allowed per box and day (11200)."""


@dataclass
class PrinterRuntime:
    """A printer's live condition (what the faults change)."""

    spec: PrinterSpec
    plugged: bool = True
    paper_out: bool = False
    paper_jam: bool = False
    cover_open: bool = False
    unresponsive: bool = False
    """Fault: printer_status answers 500 设备无响应 (the device did not answer)."""
    out_of_ink: bool = False
    out_of_ribbon: bool = False
    paused: bool = False
    printing: int = 0
    """Jobs currently SENDING to it."""

    PROBLEMS = ("paper_out", "paper_jam", "cover_open", "out_of_ink", "out_of_ribbon", "paused")

    @property
    def problems(self) -> list[str]:
        """The names of the problems currently set."""
        return [name for name in self.PROBLEMS if getattr(self, name)]

    def list_state(self) -> str:
        """printer_list's ``printer_state``: idle/printing/stopped for network printers."""
        problems = self.problems
        if self.spec.is_network:
            if problems:
                return "stopped"
            return "printing" if self.printing else "idle"
        words = {
            "paper_out": "outOfPaper",
            "paper_jam": "paperJam",
            "cover_open": "headOpened",
            "out_of_ink": "outOfInk",
            "out_of_ribbon": "outOfRibbon",
            "paused": "pause",
        }
        if problems:
            return words[problems[0]]
        return "printing" if self.printing else "idle"

    def status_data(self) -> dict[str, Any]:
        """printer_status ``data``, shaped like the reference's example."""
        messages = {
            "paper_out": ("Cannot feed paper.", "41208"),
            "paper_jam": ("Paper jam.", "41202"),
            "cover_open": ("Cover open.", "41201"),
            "out_of_ink": ("Toner low.", "40038"),
            "out_of_ribbon": ("Ribbon end.", "41209"),
            "paused": ("Paused.", "10002"),
        }
        problems = self.problems
        if problems:
            msg, status_code = messages[problems[0]]
        elif self.printing:
            msg, status_code = "Printing.", "10023"
        else:
            msg, status_code = "Ready.", "10001"
        data: dict[str, Any] = {
            "errCode": None,
            "headOpened": self.cover_open,
            "msg": msg,
            "outOfInk": self.out_of_ink,
            "outOfPaper": self.paper_out,
            "paperJam": self.paper_jam,
            "pause": bool(problems),
            "printing": bool(self.printing),
            "statusCode": status_code,
        }
        if self.spec.ribbon:
            data["outOfRibbon"] = self.out_of_ribbon
        return data


class BoxRuntime:
    """A box's live condition, its printers and its per-box counters."""

    def __init__(self, spec: BoxSpec, clock: SimClock) -> None:
        self.spec = spec
        self._clock = clock
        self.never_booted = spec.boot_state == "never_booted"
        self.offline = spec.boot_state == "offline"
        self.rebooting = False
        self.refreshing = False
        self.busy: set[str] = set()
        """One-at-a-time calls in progress (printer_status, reset, refresh)."""
        self._failures = 0
        self.last_failure = 0.0
        """``SimClock.monotonic`` of the last failed job (the 11203 pause counts from it)."""
        self.status_answered: dict[int, float] = {}
        """Port -> ``SimClock.monotonic`` of its last printer_status answer."""
        self.disconnects = 0
        """How often the box went offline: a job being sent across one fails."""
        self.resets: dict[date, int] = {}
        """reset_printing_error_limit calls per day (every call counts, 11201 too)."""
        self.fail_jobs: TaskState | None = None
        """Fault: jobs end with this state and a failed result (SUCCESS) or FAILURE."""
        self.printers = {p.port: PrinterRuntime(p) for p in spec.printers}
        self.locks: dict[int, asyncio.Lock] = {}

    @property
    def failures(self) -> int:
        """Consecutive failed jobs; each one added restarts the 11203 pause."""
        return self._failures

    @failures.setter
    def failures(self, value: int) -> None:
        if value > self._failures:
            self.last_failure = self._clock.monotonic()
        self._failures = value

    @property
    def online(self) -> int | None:
        """device_info's ``online``: None never booted, 0 offline (or rebooting), 1 online."""
        if self.never_booted:
            return None
        return 0 if self.offline or self.rebooting else 1

    def printer_for(self, port: int, target_ip: str | None = None) -> PrinterRuntime | None:
        """Where a job for ``devicePort`` (and ``targetIp``) goes, plugged in or not."""
        network = [p for p in self.printers.values() if p.spec.is_network]
        if target_ip:
            return next((p for p in network if p.spec.ip_addr == target_ip), None)
        if port in self.printers:
            return self.printers[port]
        if port == 1 and network:
            return network[0]
        return None

    def lock(self, port: int) -> asyncio.Lock:
        """Jobs for one printer run one after the other."""
        return self.locks.setdefault(port, asyncio.Lock())

    def resets_on(self, day: date) -> int:
        """reset_printing_error_limit calls made on ``day``."""
        return self.resets.get(day, 0)
