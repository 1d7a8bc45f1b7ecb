"""What every command's process shares: its logging, the signals that stop it, its last resort.

Only this package configures logging handlers (text or JSON lines on stderr; with the bridge,
warnings also go to ``<base>/bridge/log``), and only ``run_until_stopped`` has a last-resort
handler for unexpected errors: SIGTERM, Ctrl-C and SIGHUP cancel the command's coroutine so its
``finally`` blocks run, and an error ends it with one line and exit code 1.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from lianke_bridge import errors

_LOGGER = logging.getLogger("lianke_bridge")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
QUIET_LOGGERS = {
    "aiohttp.access": logging.WARNING,
    # The demo's embedded broker logs every connection at INFO (through `transitions`, its
    # state machine) and its own packet bookkeeping ("PUBACK waiter already done") at WARNING.
    "amqtt": logging.ERROR,
    "transitions": logging.WARNING,
}
"""Libraries whose chatter is not the user's business, and the least level shown for each."""
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)
"""Signals that stop the process cleanly: a service manager, Ctrl-C, a closed terminal."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as JSON."""
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class MqttLogHandler(logging.Handler):
    """Forwards warnings and errors to ``<base>/bridge/log`` through the running service."""

    def __init__(self, sink: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(level=logging.WARNING)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        """Hand the record to the service's queue (never blocks, never raises)."""
        try:
            entry: dict[str, Any] = {
                "level": record.levelname.lower(),
                "message": record.getMessage(),
            }
            device = getattr(record, "device", None)
            if device:
                entry["device"] = device
            self._sink(entry)
        except Exception:  # noqa: BLE001 - logging must never break the caller
            self.handleError(record)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, least in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(least)


def run_until_stopped(
    main: Callable[[], Awaitable[Any]], *, on_hangup: Callable[[], None] | None = None
) -> int:
    """Run a coroutine; SIGTERM, Ctrl-C and SIGHUP cancel it so ``finally`` blocks run.

    With ``on_hangup``, SIGHUP calls it instead (the bridge: try a refused key again).

    Returns the exit code: 0 after a signal or a normal end, 1 after an error (logged in one
    line when it is a known one or the system's, e.g. a port in use).
    """
    import asyncio  # noqa: PLC0415 - keep CLI start fast
    import contextlib  # noqa: PLC0415

    async def runner() -> None:
        task = asyncio.ensure_future(main())
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            handler: Callable[[], object] = task.cancel
            if on_hangup is not None and sig == getattr(signal, "SIGHUP", None):
                handler = on_hangup
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, handler)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(runner())
    except errors.LiankeError as err:
        _LOGGER.error("%s", err)  # noqa: TRY400 - a known error needs no traceback
        return 1
    except OSError as err:  # the system said no (port in use, permission denied…)
        _LOGGER.error("%s", err)  # noqa: TRY400 - the reason is the message
        _LOGGER.debug("where it happened", exc_info=True)
        return 1
    except Exception:
        _LOGGER.exception("lianke-bridge stopped on an unexpected error")
        return 1
    return 0
