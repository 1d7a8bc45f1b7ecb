"""Which boxes one instance of a scaled-out bridge owns: a stable hash of the device id. Pure.

Several instances share one broker (cluster) and one configuration; instance ``i`` of ``n``
polls and answers only the boxes whose hash lands on ``i``. The hash is the first 8 bytes of
SHA-256 of the upper-cased device id (never Python's ``hash()``, which changes at every start),
so every instance, on every machine and at every start, agrees on who owns a box.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_SHARDS = 1024
_SPEC = re.compile(r"^\s*(\d+|auto)\s*/\s*(\d+)\s*$")
_ORDINAL = re.compile(r"-(\d+)$")
AUTO = "auto"


def shard_of(device_id: str, count: int) -> int:
    """The instance (0 … count-1) that owns a box."""
    digest = hashlib.sha256(device_id.strip().upper().encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def hostname_ordinal(hostname: str) -> int | None:
    """A StatefulSet pod's ordinal: ``lianke-bridge-2`` (or ``lianke-bridge-2.svc…``) -> 2."""
    match = _ORDINAL.search(hostname.split(".", 1)[0])
    return None if match is None else int(match.group(1))


@dataclass(frozen=True)
class Shard:
    """Instance ``index`` of ``count``; ``Shard(0, 1)`` is the single bridge of old."""

    index: int = 0
    count: int = 1

    @property
    def scaled(self) -> bool:
        """More than one instance shares the work."""
        return self.count > 1

    @property
    def leader(self) -> bool:
        """Instance 0: keeps the bridge topics of a single bridge and answers what no box owns."""
        return self.index == 0

    def owns(self, device_id: str) -> bool:
        """Whether this instance polls and answers this box."""
        return not self.scaled or shard_of(device_id, self.count) == self.index

    def client_id(self, base: str) -> str:
        """A distinct MQTT client id per instance (the broker keys each session on it)."""
        return f"{base}-{self.index}" if self.scaled else base

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, spec: str, *, hostname: str) -> Shard:
        """``"2/3"``, or ``"auto/3"`` taking the index from the host name's ordinal.

        ValueError says what is wrong, in words for the configuration report and the CLI.
        """
        match = _SPEC.match(spec)
        if match is None:
            raise ValueError(f"must be INDEX/COUNT like 0/3 or auto/3, not {spec[:40]!r}")
        count = int(match.group(2))
        if not 1 <= count <= MAX_SHARDS:
            raise ValueError(f"the count must be 1 to {MAX_SHARDS}, not {count}")
        if match.group(1) == AUTO:
            index = hostname_ordinal(hostname)
            if index is None:
                raise ValueError(
                    f"auto needs a host name ending in -<ordinal> (like lianke-bridge-2), "
                    f"this one is {hostname[:64]!r}"
                )
        else:
            index = int(match.group(1))
        if index >= count:
            raise ValueError(f"the index must be below the count ({count}), not {index}")
        return cls(index, count)
