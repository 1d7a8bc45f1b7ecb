"""ha_check's constants and small helpers: ports, waiting, HTTP calls, the PASS/FAIL report."""

# ruff: noqa: T201, INP001  (part of a script that reports on stdout, not a package)

from __future__ import annotations

import json
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BOXES = {"office": "lc01demo000001", "warehouse": "lc01demo000002"}
RIBBON_KINDS = {"label", "card", "dye_sublimation"}
NETWORK_PORT = 631
PRINT_URL = "https://example.com/ha-check.pdf"
NOTIFY_TEXT = "Printed by Home Assistant's notify entity"
# Log lines that say something about this machine, not about our payloads.
LOG_NOISE = re.compile(
    r"zlib_ng|turbojpeg|ffmpeg|FFmpeg|We found a custom integration|"
    r"Unable to set up dependencies|Setup failed for|recovery mode|"
    r"bluetooth|dbus|usb|ssdp|zeroconf|network interface|cloud|go2rtc|"
    r"Error doing job: Unclosed|Detected blocking call"
)
WAIT = 60.0


# ---- small helpers ------------------------------------------------------------------------------
def bridge_cli() -> str:
    """The ``lianke-bridge`` command beside this Python, else the repository's venv."""
    beside = Path(sys.executable).with_name("lianke-bridge")
    return str(beside if beside.exists() else REPO / ".venv" / "bin" / "lianke-bridge")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], Any], timeout: float = WAIT, step: float = 0.5) -> Any:
    """Call ``check`` until it returns something truthy; the last result (falsy) on timeout."""
    deadline = time.monotonic() + timeout
    result = None
    while time.monotonic() < deadline:
        with suppress(OSError, ValueError, KeyError):
            result = check()
            if result:
                return result
        time.sleep(step)
    return result


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    form: dict[str, str] | None = None,
) -> Any:
    """One HTTP call; JSON in and out (or a form). Raises on HTTP errors."""
    headers = {}
    data = None
    if form is not None:
        data = "&".join(f"{k}={urllib.parse.quote(v)}" for k, v in form.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass
class Report:
    """PASS/FAIL lines, printed as they come."""

    results: list[tuple[bool, str, str]] = field(default_factory=list)

    def check(self, ok: bool, name: str, detail: str = "") -> bool:
        """Record one check."""
        self.results.append((ok, name, detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name}{'  -- ' + detail if detail else ''}", flush=True)
        return ok

    @property
    def failed(self) -> int:
        """How many checks failed."""
        return sum(1 for ok, _, _ in self.results if not ok)
