"""What the store keeps of a request with a transaction and of a print on its way to the cloud.

Frozen records, each with its database row: a ``SeenRequest`` (seen, then answered, then sent)
and a ``Submission`` (recorded before a print's cloud call, replaced by its job after it). Pure
data: the store decides when they are written (``store.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SeenRequest:
    """A request that carried a ``transaction``: seen, and answered once it is."""

    topic: str
    transaction: str
    seen_at: float
    """When it was first seen, on the store's monotonic clock (stored as wall-clock time)."""
    answer: dict[str, Any] | None = None
    """The envelope the bridge answered (or will answer) with; None while it is handled."""
    sent: bool = False
    """Whether ``answer`` was published (a redelivery then gets ``duplicate``, else the answer)."""

    @property
    def key(self) -> str:
        """The database key: the request topic and the transaction."""
        return json.dumps([self.topic, self.transaction])

    def to_json(self, seen_at: float) -> str:
        """The stored row, with ``seen_at`` in wall-clock seconds.

        (``asdict`` would deep-copy the answer: slow for a big one.)
        """
        row = {
            "topic": self.topic,
            "transaction": self.transaction,
            "seen_at": seen_at,
            "answer": self.answer,
            "sent": self.sent,
        }
        return json.dumps(row)


@dataclass(frozen=True)
class Submission:
    """A print about to go to the cloud, recorded before the call (its task id is not known).

    If the bridge dies during the call, the next start looks the print up in the box's task list
    (see ``JobTracker.reconcile``) instead of forgetting it.
    """

    id: str
    device: str
    port: int
    source: str
    transaction: str | None
    recorded_at: float
    """Wall-clock seconds just before the cloud call."""
