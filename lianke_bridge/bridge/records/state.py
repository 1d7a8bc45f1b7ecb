"""What the bridge knows of each box, printer and job, as the contract's JSON snapshots.

Pure data: built from the cloud's models, compared to decide whether to publish, rendered by
``to_json()``. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models import DeviceInfo, InkMarker, Printer, PrinterStatus
from lianke_bridge.wire import ApiState, JobStateWord, Result, TaskId, Timestamp


def utc_now() -> datetime:
    """Now, timezone-aware (one place, so tests can reason about it)."""
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with seconds, or None."""
    return moment.isoformat(timespec="seconds") if moment else None


class PrinterStatusWord(StrEnum):
    """The contract's printer ``status`` values (also the HA enum options)."""

    IDLE = "idle"
    PRINTING = "printing"
    PAPER_OUT = "paper_out"
    PAPER_JAM = "paper_jam"
    COVER_OPEN = "cover_open"
    OUT_OF_INK = "out_of_ink"
    OUT_OF_RIBBON = "out_of_ribbon"
    PAUSED = "paused"
    ERROR = "error"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


PROBLEM_KEYS = ("paper_out", "paper_jam", "cover_open", "out_of_ink", "out_of_ribbon", "paused")
PROBLEM_WORDS = frozenset({PrinterStatusWord(k) for k in PROBLEM_KEYS} | {PrinterStatusWord.ERROR})
"""Printer states someone should act on (paper out, jam, …, error)."""


@dataclass(frozen=True)
class PrinterState:
    """The contract's printer snapshot (``<base>/<dev>/printer/<port>/state``)."""

    port: int
    name: str
    model: str
    kind: codes.PrinterKind
    supported: bool
    status: PrinterStatusWord
    problems: dict[str, bool]
    message: str | None
    status_code: str | None
    error_code: str | None
    live_status: bool
    printer_id: int | None = None
    ip: str | None = None
    markers: tuple[InkMarker, ...] = ()
    error_limit_reached: bool = False
    status_polled: bool = False
    """printer_status is asked for this printer (USB, ``support_status``): that poll feeds it."""
    last_update: datetime | None = field(default=None, compare=False)

    @classmethod
    def from_cloud(cls, printer: Printer, status: PrinterStatus | None) -> PrinterState:
        """Combine a printer_list row with a live printer_status (when there is one)."""
        if status is not None:
            problems = {
                "paper_out": status.out_of_paper,
                "paper_jam": status.paper_jam,
                "cover_open": status.head_opened,
                "out_of_ink": status.out_of_ink,
                "out_of_ribbon": status.out_of_ribbon,
                "paused": status.paused,
            }
            word = status_word(problems, printing=status.printing)
        else:
            problems, word = problems_from_list_state(printer.printer_state)
        return cls(
            port=printer.port,
            name=printer.name,
            model=printer.model,
            kind=printer.kind,
            supported=printer.driver_type is codes.DriverType.SUPPORTED,
            status=word,
            problems=problems,
            message=status.message if status else None,
            status_code=status.status_code if status else None,
            error_code=status.error_code if status else None,
            live_status=status is not None,
            printer_id=printer.id,
            ip=printer.ip_addr,
            markers=printer.markers,
            status_polled=printer.support_status and not printer.is_network,
            last_update=utc_now(),
        )

    def with_changes(self, **changes: Any) -> PrinterState:
        """A copy with some fields changed and a fresh ``last_update``."""
        return replace(self, **changes, last_update=utc_now())

    def to_json(self) -> dict[str, Any]:
        """The published JSON."""
        data: dict[str, Any] = {
            "port": self.port,
            "name": self.name,
            "model": self.model,
            "kind": str(self.kind),
            "supported": self.supported,
            "status": str(self.status),
            "problems": dict(self.problems),
            "message": self.message,
            "status_code": self.status_code,
            "error_code": self.error_code,
            "live_status": self.live_status,
            "error_limit_reached": self.error_limit_reached,
            "last_update": iso(self.last_update),
        }
        if self.ip is not None:
            data["ip"] = self.ip
        if self.markers:
            data["markers"] = {m.name: m.level for m in self.markers}
        return data


def status_word(problems: dict[str, bool], *, printing: bool) -> PrinterStatusWord:
    """The single most important condition, in the order a person would fix them."""
    for key in ("paper_jam", "cover_open", "paper_out", "out_of_ribbon", "out_of_ink", "paused"):
        if problems.get(key):
            return PrinterStatusWord(key)
    return PrinterStatusWord.PRINTING if printing else PrinterStatusWord.IDLE


_LIST_STATES: dict[str, str] = {
    "outofpaper": "paper_out",
    "paperjam": "paper_jam",
    "headopened": "cover_open",
    "outofink": "out_of_ink",
    "outofribbon": "out_of_ribbon",
    "pause": "paused",
    "paused": "paused",
}


def problems_from_list_state(state: str | None) -> tuple[dict[str, bool], PrinterStatusWord]:
    """Best effort from printer_list's coarse ``printer_state`` when no live status exists."""
    problems = dict.fromkeys(PROBLEM_KEYS, False)
    if state is None:
        return problems, PrinterStatusWord.UNKNOWN
    key = state.replace("_", "").lower()
    if key in _LIST_STATES:
        problems[_LIST_STATES[key]] = True
        return problems, PrinterStatusWord(_LIST_STATES[key])
    if key == "idle":
        return problems, PrinterStatusWord.IDLE
    if key == "printing":
        return problems, PrinterStatusWord.PRINTING
    if key == "stopped":
        return problems, PrinterStatusWord.ERROR
    return problems, PrinterStatusWord.UNKNOWN


@dataclass(frozen=True)
class BoxState:
    """The contract's box snapshot (``<base>/<dev>/state``)."""

    online: bool = False
    queue: int = 0
    model: str | None = None
    firmware: str | None = None
    ip: str | None = None
    expire_date: str | None = None
    expired: bool = False
    usb_ports: int = 0
    printers: tuple[int, ...] = ()
    error: dict[str, Any] | None = None
    error_limit_reached: bool = False
    """The cloud paused the box after too many failed jobs in a row (11203)."""
    online_state: codes.OnlineState = codes.OnlineState.OFFLINE
    last_update: datetime | None = field(default=None, compare=False)

    def with_info(self, info: DeviceInfo) -> BoxState:
        """Fold a device_info answer in."""
        return replace(
            self,
            online=info.is_online,
            online_state=info.online,
            model=info.hardware,
            firmware=info.firmware,
            ip=info.ip,
            expire_date=info.expire_iso or info.expire_date,
            expired=info.is_expired,
            usb_ports=info.usb_ports,
            last_update=utc_now(),
        )

    def with_changes(self, **changes: Any) -> BoxState:
        """A copy with some fields changed and a fresh ``last_update``."""
        return replace(self, **changes, last_update=utc_now())

    def to_json(self) -> dict[str, Any]:
        """The published JSON."""
        return {
            "online": self.online,
            "online_state": str(self.online_state),
            "queue": self.queue,
            "model": self.model,
            "firmware": self.firmware,
            "ip": self.ip,
            "expire_date": self.expire_date,
            "expired": self.expired,
            "usb_ports": self.usb_ports,
            "printers": list(self.printers),
            "last_update": iso(self.last_update),
            "error": self.error,
            "error_limit_reached": self.error_limit_reached,
        }


@dataclass(frozen=True)
class JobRecord:
    """A job the bridge submitted, followed to its end (``<base>/<dev>/job/<task_id>``)."""

    task_id: str
    device: str
    port: int
    source: str
    """``url``, ``file`` or ``text``: never the file's bytes."""
    state: codes.JobState = codes.JobState.QUEUED
    api_state: str = codes.TaskState.READY.value
    result: dict[str, Any] | None = None
    pages: int | None = None
    transaction: str | None = None
    created_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The published JSON."""
        return {
            "task_id": self.task_id,
            "device": self.device,
            "port": self.port,
            "state": str(self.state),
            "api_state": self.api_state,
            "result": self.result,
            "pages": self.pages,
            "source": self.source,
            "transaction": self.transaction,
            "created_at": iso(self.created_at),
            "finished_at": iso(self.finished_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRecord:
        """Read back a job the store persisted."""
        return cls(
            task_id=str(data["task_id"]),
            device=str(data["device"]),
            port=int(data["port"]),
            source=str(data.get("source", "url")),
            state=codes.JobState(data.get("state", "queued")),
            api_state=str(data.get("api_state", "READY")),
            result=data.get("result"),
            pages=data.get("pages"),
            transaction=data.get("transaction"),
            created_at=datetime.fromisoformat(data["created_at"]),
            finished_at=(
                datetime.fromisoformat(data["finished_at"]) if data.get("finished_at") else None
            ),
        )


@dataclass(frozen=True)
class TaskRow:
    """One task of a box's ``query_device_task``, in the job topics' formats (``tasks``)."""

    task_id: TaskId
    state: JobStateWord
    api_state: ApiState
    result: Result
    """``{code, message}`` when the cloud says how it ended, else null."""
    created_at: Timestamp | None
    """The cloud's time with the cloud clock's offset (``2026-12-01T20:19:44+08:00``)."""
    updated_at: Timestamp | None
