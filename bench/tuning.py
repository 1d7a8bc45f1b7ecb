"""What the bridge does to its MQTT socket, given to the floor and the bench's client too.

The benchmark must not give the bridge an advantage the floor lacks: whatever socket options the
bridge sets, every client of the run gets the same ones, from here.
"""

from __future__ import annotations

import socket

SOCKET_OPTIONS: tuple[tuple[int, int, int], ...] = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
"""The bridge's MQTT socket options (none yet)."""
