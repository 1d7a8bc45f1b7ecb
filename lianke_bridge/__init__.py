"""lianke-bridge: Lianke (链科) cloud printer boxes on MQTT, with Home Assistant discovery."""

from __future__ import annotations

PROJECT_URL = "https://github.com/lianke-bridge/lianke-bridge"


def __getattr__(name: str) -> str:
    """``__version__`` on first use: ``importlib.metadata`` is slow to import (health checks)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        found = version("lianke-bridge")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        found = "0.0.0"
    globals()["__version__"] = found
    return found
