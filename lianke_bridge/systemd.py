"""systemd's notify protocol (``Type=notify`` with ``WatchdogSec=``), in its few lines.

Only under systemd, i.e. when ``NOTIFY_SOCKET`` is set: ``READY=1`` once the bridge first reached
its broker, ``WATCHDOG=1`` at half the ``WATCHDOG_USEC`` period for as long as the event loop
turns (a hung bridge is restarted), ``STOPPING=1`` when a stop begins. Each message is one
datagram on a unix socket; a lost one is not worth an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Coroutine, Mapping
from typing import Any

_LOGGER = logging.getLogger(__name__)


class Notifier:
    """Sends notify messages to the service manager, or does nothing outside systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace (a leading NUL byte)
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_interval: float | None = None
        """Seconds between two ``WATCHDOG=1``; None when systemd watches nothing."""
        watchdog_pid = env.get("WATCHDOG_PID", "")
        for_us = not watchdog_pid or watchdog_pid == str(os.getpid())
        with contextlib.suppress(ValueError):
            usec = int(env.get("WATCHDOG_USEC", ""))
            if usec > 0 and for_us:
                self.watchdog_interval = usec / 2 / 1_000_000

    @property
    def enabled(self) -> bool:
        """Whether a service manager listens."""
        return bool(self.address)

    def send(self, message: str) -> None:
        """One datagram; a failure is logged at DEBUG only (systemd may be restarting)."""
        if not self.enabled:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.sendall(message.encode())
        except OSError as err:
            _LOGGER.debug("could not notify systemd (%s): %s", message, err)


async def run_notified(
    main: Coroutine[Any, Any, None], connected: asyncio.Event, notifier: Notifier
) -> None:
    """Run ``main``, telling systemd: ready once ``connected`` is set, alive, stopping."""
    task = asyncio.ensure_future(main)
    if not notifier.enabled:
        await task
        return
    helper = asyncio.create_task(_tell(connected, notifier), name="systemd-notify")
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:
        notifier.send("STOPPING=1")
        task.cancel()
        await task
        raise
    finally:
        helper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await helper
    notifier.send("STOPPING=1")
    task.result()


async def _tell(connected: asyncio.Event, notifier: Notifier) -> None:
    """``READY=1`` after the first connection; ``WATCHDOG=1`` from the start, periodically."""
    ready = asyncio.ensure_future(connected.wait())
    try:
        while True:
            if notifier.watchdog_interval is not None:
                notifier.send("WATCHDOG=1")
            if not ready.done():
                await asyncio.wait({ready}, timeout=notifier.watchdog_interval)
                if ready.done():
                    notifier.send("READY=1")
                    _LOGGER.debug("told systemd the bridge is ready")
                continue
            if notifier.watchdog_interval is None:
                return
            await asyncio.sleep(notifier.watchdog_interval)
    finally:
        ready.cancel()
