"""The typed requests' common ground: the base every command's request derives from, and limits.

Pure data. Each command's own request class lives in its module (:mod:`.commands`); a request is
parsed once into it, and it is all its handler ever sees of the payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from lianke_bridge.config.model import DEFAULT_MAX_FILE_BYTES, largest_payload

Scope = Literal["device", "bridge"]
"""Whether a command is sent to a box (``<base>/<dev>/request/…``) or to the bridge."""
JsonObject = dict[str, Any]
"""A JSON object, as published (an envelope, the ``data`` of an ``ok`` answer)."""

DEFAULT_MAX_PAYLOAD_BYTES = largest_payload(DEFAULT_MAX_FILE_BYTES)
MAX_URLS = 20
MAX_TEXT_FIELD = 200
"""Longest task id, model name, query, filename or title accepted."""


@dataclass(frozen=True)
class Limits:
    """How large a request may be (from the configuration)."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    allowed_hosts: tuple[str, ...] = ()
    """Hosts print links may point to (normalised; empty: any host)."""

    @property
    def max_payload_bytes(self) -> int:
        """The largest raw payload: a base64 file of ``max_file_bytes`` plus the other fields."""
        return largest_payload(self.max_file_bytes)


@dataclass(frozen=True)
class Request:
    """A parsed request; ``transaction`` is the requester's, echoed in the response."""

    COMMAND: ClassVar[str] = ""
    transaction: str | None = field(default=None, kw_only=True)
    """The requester's own reference, echoed in the answer; a repeat within 10 minutes is
    answered ``duplicate`` instead of being carried out again."""

    @property
    def command(self) -> str:
        """The command's name as in the request topic."""
        return self.COMMAND


@dataclass(frozen=True)
class NoArgCommand(Request):
    """A command without fields (reboot, refresh, tasks, republish…): any payload will do."""


@dataclass(frozen=True)
class PortOrModelCommand(Request):
    """``printer_params`` / ``paper_sizes``: for a port's printer, a model, or the default port."""

    port: int | None = None
    """The port whose printer is meant (not with ``model``)."""
    model: str | None = None
    """A printer model (a ``driver_name``), not with ``port``."""
