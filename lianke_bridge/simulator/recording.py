"""What the HTTP side sees of a simulator, and the log of the calls it received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from lianke_bridge.simulator.faults import Faults
from lianke_bridge.simulator.fleet import Fleet
from lianke_bridge.simulator.state import SimState


@dataclass(frozen=True)
class RecordedRequest:
    """One API call as the simulator received it (secrets included: it is a test double)."""

    method: str
    path: str
    query: dict[str, str]
    fields: dict[str, Any]
    """Form fields or the JSON body; an uploaded file as ``{"filename": ..., "size": ...}``, and
    an HTML page of at most :data:`MAX_RECORDED_PAGE` bytes with its ``text`` too (what a page
    the bridge rendered says)."""
    api_key: str | None


class SimulatorView(Protocol):
    """What the handlers, the gate and the admin endpoints use of a ``Simulator``.

    A protocol, so that they need not import the server that builds them.
    """

    fleet: Fleet
    state: SimState
    faults: Faults
    requests: list[RecordedRequest]


MAX_RECORDED_PAGE = 256 * 1024
"""An uploaded HTML page up to this size is recorded with its text."""
MAX_RECORDED_DEPTH = 16
"""Deeper parts of a recorded JSON body are shown as ``…`` (the log must stay printable)."""


def printable(value: Any, depth: int = 0) -> Any:
    """A recorded value that JSON can always show: no lone surrogates, no endless nesting."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if depth >= MAX_RECORDED_DEPTH and isinstance(value, dict | list):
        return "…"
    if isinstance(value, dict):
        return {printable(str(k)): printable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [printable(v, depth + 1) for v in value]
    return value
