"""A faithful fake of the Lianke cloud API, for tests, demos and client development.

``Simulator`` serves the 18 calls of the v3 reference over aiohttp with a fleet of boxes
(``demo_fleet()`` or ``load_fleet(path)``), stateful jobs on ``Timing`` durations, injectable
faults (``sim.faults``) and a log of every request (``sim.requests``).
"""

from lianke_bridge.simulator.app import DEFAULT_PORT, Simulator, fleet_json, serve
from lianke_bridge.simulator.clock import Timing
from lianke_bridge.simulator.fleet import (
    BoxSpec,
    Fleet,
    Marker,
    PrinterSpec,
    demo_fleet,
    load_fleet,
)
from lianke_bridge.simulator.recording import RecordedRequest

__all__ = [
    "DEFAULT_PORT",
    "BoxSpec",
    "Fleet",
    "Marker",
    "PrinterSpec",
    "RecordedRequest",
    "Simulator",
    "Timing",
    "demo_fleet",
    "fleet_json",
    "load_fleet",
    "serve",
]
