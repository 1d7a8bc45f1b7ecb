"""What a benchmark run measures, and for how long."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """What to run, and how long."""

    requests: int = 500
    """Requests per command in the latency runs (each one to the bridge and to the floor)."""
    burst: int = 1000
    """Requests sent at once for the throughput figure."""
    boxes: int = 1000
    """Boxes of the fleet run (three printers each); 0 skips it."""
    fleet_seconds: float = 60.0
    """How long the fleet run is measured once everything is published."""
    fleet_rate: float = 10.0
    """The fleet run's client-wide call ceiling (calls/s): the most the configuration allows."""
    startup_timeout: float = 600.0
    """Seconds the fleet gets to publish every box and printer."""
    idle_seconds: float = 3.0
    """Seconds the bridge idles after start-up before its memory is read."""
    flood: int = 200
    """Prints of 5 MB sent at once in the memory run; 0 skips it."""
    flood_after: float = 60.0
    """Seconds after the flood's last answer before its memory is read again."""
