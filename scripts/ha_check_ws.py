"""ha_check's client of Home Assistant's websocket API, with the standard library only.

Device triggers (``device_automation/trigger/list``) and fired events are only on the websocket
API. This speaks just enough of RFC 6455 for it: one connection, masked text frames out,
unfragmented text frames in (what Home Assistant sends), pings answered.
"""

# ruff: noqa: INP001  (part of a script, not a package)

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class HaWebSocket:
    """An authenticated websocket connection to Home Assistant."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /api/websocket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                msg = "Home Assistant closed the websocket handshake"
                raise ConnectionError(msg)
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            msg = f"no websocket: {head[:200]!r}"
            raise ConnectionError(msg)
        self.events: list[dict[str, Any]] = []
        self.next_id = 1
        if self.receive().get("type") != "auth_required":
            msg = "Home Assistant did not ask for authentication"
            raise ConnectionError(msg)
        self.send({"type": "auth", "access_token": token})
        answer = self.receive()
        if answer.get("type") != "auth_ok":
            msg = f"websocket authentication failed: {answer}"
            raise ConnectionError(msg)

    def send(self, message: dict[str, Any]) -> None:
        """One JSON message, as a masked text frame."""
        data = json.dumps(message).encode()
        mask = os.urandom(4)
        size = len(data)
        if size < 126:  # noqa: PLR2004 - RFC 6455 length encodings
            header = struct.pack("!BB", 0x80 | TEXT, 0x80 | size)
        elif size < 65536:  # noqa: PLR2004
            header = struct.pack("!BBH", 0x80 | TEXT, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | TEXT, 0x80 | 127, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(header + mask + masked)

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                msg = "Home Assistant closed the websocket"
                raise ConnectionError(msg)
            data += chunk
        return data

    def receive(self) -> dict[str, Any]:
        """The next JSON message; ``{}`` for a control frame (a ping, answered here)."""
        while True:
            first, second = self._exactly(2)
            opcode, size = first & 0x0F, second & 0x7F
            if size == 126:  # noqa: PLR2004
                (size,) = struct.unpack("!H", self._exactly(2))
            elif size == 127:  # noqa: PLR2004
                (size,) = struct.unpack("!Q", self._exactly(8))
            data = self._exactly(size)
            if opcode == PING:
                mask = os.urandom(4)
                pong = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
                self.sock.sendall(struct.pack("!BB", 0x80 | PONG, 0x80 | size) + mask + pong)
                return {}  # the caller looks at its clock (pings come every minute)
            if opcode == CLOSE:
                msg = "Home Assistant closed the websocket"
                raise ConnectionError(msg)
            if opcode == TEXT:
                message: dict[str, Any] = json.loads(data)
                return message

    def call(self, message: dict[str, Any]) -> Any:
        """A command and its result (events arriving meanwhile are kept for ``wait_event``)."""
        ident = self.next_id
        self.next_id += 1
        self.send({**message, "id": ident})
        while True:
            answer = self.receive()
            if answer.get("type") == "event":
                self.events.append(answer["event"])
                continue
            if answer.get("id") == ident:
                if not answer.get("success", False):
                    msg = f"{message['type']}: {answer.get('error')}"
                    raise RuntimeError(msg)
                return answer.get("result")

    def subscribe(self, event_type: str) -> None:
        """Receive every event of one type from now on."""
        self.call({"type": "subscribe_events", "event_type": event_type})

    def wait_event(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any] | None:
        """The first subscribed event matching (kept ones first), or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if predicate(event):
                    self.events.remove(event)
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                message = self.receive()
            except TimeoutError:
                return None
            finally:
                self.sock.settimeout(30)
            if message.get("type") == "event":
                self.events.append(message["event"])

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()
