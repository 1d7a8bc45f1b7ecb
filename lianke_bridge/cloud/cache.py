"""The per-model cache of printer params and paper sizes (the reference asks clients to keep them).

Many boxes share a printer model; each model is fetched once, even when many ask at the same time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lianke_bridge.cloud.stats import ApiStats

DEFAULT_CACHE_TTL = 24 * 3600.0
"""Seconds a printer model's params and paper sizes are kept (they change with driver updates)."""


@dataclass
class _CacheEntry:
    value: Any
    expires: float


class ModelCache:
    """Answers by (kind, printer model) that expire after ``ttl`` seconds (None: never)."""

    def __init__(self, ttl: float | None, stats: ApiStats) -> None:
        self.ttl = ttl
        self._stats = stats
        self._entries: dict[tuple[str, str], _CacheEntry] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def clear(self) -> None:
        """Forget every answer."""
        self._entries.clear()

    async def get(self, kind: str, model: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """Answer from the cache, or fetch once even when many ask at the same time."""
        key = (kind, model)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(key)
            if entry is not None and entry.expires > time.monotonic():
                self._stats.cache_hits += 1
                return entry.value
            value = await fetch()
            ttl = float("inf") if self.ttl is None else self.ttl
            self._entries[key] = _CacheEntry(value, time.monotonic() + ttl)
            return value
