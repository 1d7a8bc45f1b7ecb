"""What the bridge does to its MQTT socket, given to the floor and the bench's client too.

The benchmark must not give the bridge an advantage the floor lacks: whatever socket options the
bridge sets, every client of the run gets the same ones, from here.
"""

from __future__ import annotations

from lianke_bridge.bridge.mqtt.session import MQTT_SOCKET_OPTIONS

SOCKET_OPTIONS: tuple[tuple[int, int, int], ...] = MQTT_SOCKET_OPTIONS
"""The bridge's MQTT socket options (TCP_NODELAY), for every other client of the run."""
