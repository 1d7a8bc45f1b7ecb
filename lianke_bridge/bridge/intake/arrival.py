"""The payload budget applied as each message arrives, before it waits anywhere: the memory ceiling.

paho reads a whole packet into memory before the bridge sees any of it, and aiomqtt then queues
the message until the listener takes it. In a flood of large requests paho reads several
packets per wake-up while the listener takes one, so the queue itself can hold hundreds of
megabytes; and no broker limit is exact (MQTT 5's Receive Maximum bounds the requests in flight,
but Mosquitto before 2.0.13 miscounts it when acknowledgements come out of order, as the
bridge's do: a refusal is acknowledged before the slow answer ahead of it). So the budget is
applied in paho's ``on_message``, the moment a message is complete: a payload that does not fit
(or is over the size limit) is freed there and then, and the message goes on carrying only an
``Unread`` payload (empty, with the size and the transaction it had). The listener answers it
like any refused request: ``rate_limited``, or ``invalid_payload`` for one too large.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from lianke_bridge.bridge.intake.backlog import over_budget
from lianke_bridge.bridge.requests.payload import sniff_transaction


class Unread(bytes):
    """An empty payload standing for one freed on arrival: its size, transaction and why."""

    size: int
    transaction: str | None
    too_large: bool
    """Over the size limit (answered ``invalid_payload``), not only over the budget."""

    def __new__(cls, size: int, transaction: str | None, *, too_large: bool) -> Self:
        """An empty payload recording what the freed one was."""
        unread = super().__new__(cls)
        unread.size = size
        unread.transaction = transaction
        unread.too_large = too_large
        return unread


def arrived_size(payload: Any) -> int:
    """The size a payload had on arrival (an ``Unread`` one's is recorded)."""
    if isinstance(payload, Unread):
        return payload.size
    return len(payload) if isinstance(payload, bytes | bytearray) else 0


class ArrivalGate:
    """Counts the payload bytes arrived and not yet taken; frees what does not fit.

    One per connection (its queue of messages is the connection's). ``held_elsewhere`` says
    how many bytes the listener holds further on (waiting or being answered, held for the
    MQTT 3.1.1 retained check): the budget is for all of them together.
    """

    def __init__(self, *, max_bytes: int, max_payload: int) -> None:
        self.max_bytes = max_bytes
        """The budget: the intake's (one largest payload)."""
        self.max_payload = max_payload
        """The size limit: a larger payload is never read."""
        self.queued = 0
        """Bytes arrived and not yet taken by the listener."""
        self.freed = 0
        """Payloads freed on arrival (for the tests and the log)."""
        self.held_elsewhere: Callable[[], int] = lambda: 0

    def arrive(self, message: Any) -> None:
        """Count a message paho has read whole, or free its payload if it does not fit."""
        payload = message.payload
        size = len(payload)
        too_large = size > self.max_payload
        if too_large or over_budget(self.queued + self.held_elsewhere(), size, self.max_bytes):
            message.payload = Unread(size, sniff_transaction(payload), too_large=too_large)
            self.freed += 1
            return
        self.queued += size

    def taken(self, payload: Any) -> None:
        """The listener took a message from the queue."""
        if not isinstance(payload, Unread):
            self.queued -= arrived_size(payload)
