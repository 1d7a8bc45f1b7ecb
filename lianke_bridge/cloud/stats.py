"""What the client did to the cloud (calls, errors by code, waits, retries), for the health."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lianke_bridge.cloud import codes


@dataclass
class ApiStats:
    """What the client did to the cloud, for the bridge's health topic."""

    calls: dict[str, int] = field(default_factory=dict)
    """HTTP requests sent, by call name (each retry counts)."""
    errors: dict[tuple[str, str], int] = field(default_factory=dict)
    """Failed requests by (call, code): the API code, or ``timeout``, ``connection``,
    ``http_<status>``, ``bad_response``."""
    rate_limited: int = 0
    """Answers 10009 (too frequent) received."""
    throttled: int = 0
    """Times the client-wide rate limit made a call wait."""
    retries: int = 0
    """Automatic retries made."""
    cache_hits: int = 0
    """printer_params / paper sizes answered from the cache."""
    unsent: int = 0
    """Calls answered without being sent, because the cloud refused their key."""
    last_latency: float | None = None
    """Seconds the last answered request took."""
    last_call: str | None = None
    latency_observer: Callable[[str, str, float], None] | None = field(
        default=None, repr=False, compare=False
    )
    """Told (call, code, seconds) once per request that ended: the metrics' latency histogram.
    The code is the API's success code ``"200"``, else the one :meth:`count_error` got."""

    def count_call(self, call: str) -> None:
        """One request sent."""
        self.calls[call] = self.calls.get(call, 0) + 1

    def count_error(self, call: str, code: str, seconds: float | None = None) -> None:
        """One request failed (after ``seconds``, when it got that far)."""
        self.errors[call, code] = self.errors.get((call, code), 0) + 1
        self._observe(call, code, seconds)

    def count_success(self, call: str, seconds: float) -> None:
        """One request answered with the success code."""
        self._observe(call, str(codes.SUCCESS), seconds)

    def _observe(self, call: str, code: str, seconds: float | None) -> None:
        if seconds is not None and self.latency_observer is not None:
            self.latency_observer(call, code, seconds)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: ``{"calls": {call: n}, "errors": {call: {code: n}}, …}``."""
        by_call: dict[str, dict[str, int]] = {}
        for (call, code), count in sorted(self.errors.items()):
            by_call.setdefault(call, {})[code] = count
        return {
            "calls": dict(sorted(self.calls.items())),
            "errors": by_call,
            "rate_limited": self.rate_limited,
            "throttled": self.throttled,
            "retries": self.retries,
            "cache_hits": self.cache_hits,
            "refused_unsent": self.unsent,
            "last_latency_ms": (
                None if self.last_latency is None else round(self.last_latency * 1000, 1)
            ),
            "last_call": self.last_call,
        }
