"""Faults to inject into the simulated cloud: from tests directly, or over ``POST /_sim/faults``.

Box and printer faults change the live state (a box goes offline, paper runs out); request
faults change how the next matching HTTP calls are answered (10009, slow, HTTP 5xx, dropped).
"""

from __future__ import annotations

import inspect
import math
import types
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

from lianke_bridge.cloud.codes import TaskState
from lianke_bridge.simulator.boxes import BoxRuntime, PrinterRuntime
from lianke_bridge.simulator.state import SimState


@dataclass
class RequestFault:
    """One request-level fault; ``count`` None means until cleared."""

    kind: str
    """``api_error``, ``slow``, ``http_error`` or ``drop``."""
    path: str | None = None
    count: int | None = 1
    seconds: float = 0.0
    status: int = 502
    html: bool = True
    code: int = 10009
    msg: str = "请求频繁"

    def matches(self, path: str) -> bool:
        """No path: every call; ``printer_status`` matches ``/api/device/printer_status``."""
        if self.path is None:
            return True
        if self.path.startswith("/"):
            return path == self.path
        return path.endswith("/" + self.path)


class Faults:
    """The fault controls of one simulator."""

    def __init__(self, state: SimState) -> None:
        self._state = state
        self.request_faults: list[RequestFault] = []

    # ---- boxes and printers ----------------------------------------------------------------

    def _box(self, device_id: str) -> BoxRuntime:
        try:
            return self._state.boxes[device_id]
        except KeyError:
            raise ValueError(f"no box {device_id!r} in the fleet") from None

    def _printer(self, device_id: str, port: int) -> PrinterRuntime:
        try:
            return self._box(device_id).printers[int(port)]
        except KeyError:
            raise ValueError(f"no printer on port {port} of box {device_id!r}") from None

    def box_offline(self, device_id: str, offline: bool = True) -> None:
        """The box loses (or regains) its cloud connection: device_info online 0, jobs 5002."""
        box = self._box(device_id)
        if offline and not box.offline:
            box.disconnects += 1
        if offline != box.offline:
            self._state.push_message(device_id, "device_offline" if offline else "device_online")
        box.offline = offline
        if not offline:
            box.never_booted = False

    def box_never_booted(self, device_id: str, never_booted: bool = True) -> None:
        """The box has never been switched on: device_info online null, jobs 5001."""
        self._box(device_id).never_booted = never_booted

    def unplug_printer(self, device_id: str, port: int) -> None:
        """Pull the printer's cable: it leaves printer_list; printer_status 497; jobs 5011."""
        self._printer(device_id, port).plugged = False
        self._state.push_message(device_id, "printer_unplugged", port)

    def plug_printer(self, device_id: str, port: int) -> None:
        """Plug the printer back in."""
        self._printer(device_id, port).plugged = True
        self._state.push_message(device_id, "printer_plugged", port)

    def printer_problem(
        self,
        device_id: str,
        port: int,
        *,
        paper_out: bool = False,
        paper_jam: bool = False,
        cover_open: bool = False,
        out_of_ink: bool = False,
        out_of_ribbon: bool = False,
        paused: bool = False,
    ) -> None:
        """Set the printer's sensors (all given at once; no arguments clears them)."""
        printer = self._printer(device_id, port)
        printer.paper_out = paper_out
        printer.paper_jam = paper_jam
        printer.cover_open = cover_open
        printer.out_of_ink = out_of_ink
        printer.out_of_ribbon = out_of_ribbon
        printer.paused = paused

    def printer_unresponsive(self, device_id: str, port: int, unresponsive: bool = True) -> None:
        """The printer does not answer: printer_status ``{"code": 500, "msg": "设备无响应"}``."""
        self._printer(device_id, port).unresponsive = unresponsive

    def pages_as_task(self, on: bool = True) -> None:
        """file_pages answers ``data.task_id`` (the count a task to follow), not ``data.pages``."""
        self._state.pages_as_task = on

    def callbacks(self, on: bool = True) -> None:
        """Ending jobs are pushed to their callbackUrl (``on``), or no longer (a lost push)."""
        self._state.callbacks_on = on

    def callback_proxy(self, target: str | None = None) -> None:
        """Send ``https://`` pushes to ``target`` (``http://host:port``), path kept; None: as is."""
        self._state.callback_proxy = target

    def message_push(self, url: str | None = None) -> None:
        """The console's message push address (None: none): offline, plugged, unplugged."""
        self._state.message_push_url = url

    def advance_clock(self, seconds: float) -> None:
        """Let ``seconds`` pass at once for the cloud's rules (pauses, windows, daily counts)."""
        self._state.clock.advance(seconds)

    def jobs_fail(self, device_id: str, fail: bool = True, *, task_state: str = "SUCCESS") -> None:
        """Jobs of the box end badly: SUCCESS with task_result code 502, or FAILURE."""
        state = TaskState(task_state)
        if state not in (TaskState.SUCCESS, TaskState.FAILURE):
            raise ValueError("task_state must be SUCCESS or FAILURE")
        self._box(device_id).fail_jobs = state if fail else None

    # ---- requests --------------------------------------------------------------------------

    def rate_limit(self, path: str | None = None, count: int = 1) -> None:
        """The next ``count`` matching calls answer code 10009."""
        self.api_error(10009, "请求频繁", path=path, count=count)

    def api_error(self, code: int, msg: str = "", path: str | None = None, count: int = 1) -> None:
        """The next ``count`` matching calls answer ``{"code": code, "msg": msg}`` (HTTP 200)."""
        _check_count(count)
        self.request_faults.append(RequestFault("api_error", path, count, code=code, msg=msg))

    def slow(self, seconds: float, path: str | None = None) -> None:
        """Matching calls answer ``seconds`` late, until cleared (``slow(0)`` clears)."""
        if not 0 <= seconds <= MAX_SLOW_SECONDS:
            raise ValueError(f"seconds must be from 0 to {MAX_SLOW_SECONDS:g}; got {seconds}")
        self.request_faults = [
            f for f in self.request_faults if not (f.kind == "slow" and f.path == path)
        ]
        if seconds > 0:
            self.request_faults.append(RequestFault("slow", path, None, seconds=seconds))

    def http_error(
        self, status: int = 502, html: bool = True, path: str | None = None, count: int = 1
    ) -> None:
        """The next ``count`` matching calls get HTTP ``status`` with an HTML (or text) page.

        ``status`` is 200-599: 200 stands for a gateway's page that is not the API's JSON.
        """
        if not 200 <= status <= 599:  # noqa: PLR2004 - final HTTP statuses
            raise ValueError(f"status must be an HTTP status from 200 to 599; got {status}")
        _check_count(count)
        self.request_faults.append(
            RequestFault("http_error", path, count, status=status, html=html)
        )

    def drop_connection(self, path: str | None = None, count: int = 1) -> None:
        """The next ``count`` matching calls have their connection closed without an answer."""
        _check_count(count)
        self.request_faults.append(RequestFault("drop", path, count))

    def clear(self) -> None:
        """Remove every fault: request faults, callbacks on, boxes and printers as in the fleet.

        The push addresses (``callback_proxy``, ``message_push``) are settings, not faults: kept.
        """
        self.request_faults.clear()
        self._state.pages_as_task = False
        self._state.callbacks_on = True
        for box in self._state.boxes.values():
            box.offline = box.spec.boot_state == "offline"
            box.never_booted = box.spec.boot_state == "never_booted"
            box.fail_jobs = None
            for printer in box.printers.values():
                printer.plugged = True
                printer.unresponsive = False
                self.printer_problem(box.spec.device_id, printer.spec.port)

    def take(self, kind: str, path: str) -> RequestFault | None:
        """The first fault of ``kind`` matching ``path``, using up one of its count."""
        for fault in self.request_faults:
            if fault.kind == kind and fault.matches(path):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.request_faults.remove(fault)
                return fault
        return None

    # ---- admin endpoint --------------------------------------------------------------------

    NAMES = (
        "box_offline",
        "box_never_booted",
        "unplug_printer",
        "plug_printer",
        "printer_problem",
        "printer_unresponsive",
        "jobs_fail",
        "pages_as_task",
        "callbacks",
        "callback_proxy",
        "message_push",
        "advance_clock",
        "rate_limit",
        "api_error",
        "slow",
        "http_error",
        "drop_connection",
        "clear",
    )

    def apply(self, body: object) -> None:
        """``{"fault": "box_offline", "device_id": "...", ...}``: call the named control.

        Every argument is checked against the control's annotation first, so a wrong type is a
        ``ValueError`` naming it, never a crash inside the simulator.
        """
        if not isinstance(body, dict):
            raise ValueError('the body must be a JSON object like {"fault": "clear"}')  # noqa: TRY004 - answered as a bad request
        name = body.get("fault")
        if not isinstance(name, str) or name not in self.NAMES:
            raise ValueError(f"unknown fault {_shown(name)}; one of: {', '.join(self.NAMES)}")
        method = getattr(self, name)
        params = {k: v for k, v in body.items() if k != "fault"}
        try:
            inspect.signature(method).bind(**params)
        except TypeError as err:
            raise ValueError(f"{name}: {err}") from None
        hints = get_type_hints(method)
        for key, value in params.items():
            _check_type(f"{name}: {key}", value, hints[key])
        method(**params)


MAX_SLOW_SECONDS = 3600.0
"""The longest ``slow`` delay: longer would only hang the caller."""


def _check_count(count: int | None) -> None:
    if count is not None and count < 1:
        raise ValueError(f"count must be 1 or more; got {count}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"  # noqa: PLR2004 - short


def _check_type(where: str, value: object, hint: Any) -> None:
    """``value`` must be of the annotated type (JSON: bool is not a number, numbers finite)."""
    union = get_origin(hint) in (Union, types.UnionType)
    allowed = get_args(hint) if union else (hint,)
    for kind in allowed:
        if kind is type(None) and value is None:
            return
        if kind is bool and isinstance(value, bool):
            return
        if isinstance(value, bool):
            continue
        if kind is int and isinstance(value, int):
            return
        if kind is float and isinstance(value, int | float) and math.isfinite(value):
            return
        if kind is str and isinstance(value, str):
            return
    names = " or ".join(
        {bool: "true/false", int: "a whole number", float: "a number", str: "a string"}.get(
            kind, "null"
        )
        for kind in allowed
    )
    raise ValueError(f"{where} must be {names}; got {_shown(value)}")
