"""The typed requests' common ground: the base every command's request derives from, and limits.

Pure data. Each command's own request class lives in its module (:mod:`.commands`); a request is
parsed once into it, and it is all its handler ever sees of the payload. Its fields, with their
docstrings and the hints of :mod:`lianke_bridge.wire`, are also the JSON object form the
published schema describes (``schemas/request/``): a field with a default may be left out, and
is described by the value it takes when given. A command whose typed request differs from its
JSON form (``print``: ``url`` becomes ``urls``…) describes that form in a payload class of its
own (``PrintPayload``). ``SCHEMA_RULES`` adds what no single field says (one of ``url`` or
``file``; ``port`` or ``model``, not both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from lianke_bridge.config.model import DEFAULT_MAX_FILE_BYTES, largest_payload
from lianke_bridge.wire import Schema

Scope = Literal["device", "bridge"]
"""Whether a command is sent to a box (``<base>/<dev>/request/…``) or to the bridge."""
JsonObject = dict[str, Any]
"""A JSON object, as published (an envelope, the ``data`` of an ``ok`` answer)."""

DEFAULT_MAX_PAYLOAD_BYTES = largest_payload(DEFAULT_MAX_FILE_BYTES)
MAX_URLS = 20
MAX_TEXT_FIELD = 200
"""Longest task id, model name, query, filename or title accepted."""

# ---- the JSON form of request fields, for the schemas (see lianke_bridge.wire) ---------------
_LINK = {"type": "string", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}
Link = Annotated[str, Schema(_LINK)]
"""An http:// or https:// link."""
Links = Annotated[
    str | list[str],
    Schema(
        {"anyOf": [_LINK, {"type": "array", "minItems": 1, "maxItems": MAX_URLS, "items": _LINK}]}
    ),
]
"""One link, or a list of up to :data:`MAX_URLS`."""
PortText = Annotated[int, Schema({"type": ["integer", "string"]})]
"""A port: a number, or its digits as a string."""
PaperField = Annotated[
    str | int | Mapping[str, float],
    Schema(
        {
            "anyOf": [
                {"type": ["string", "integer"]},
                {
                    "type": "object",
                    "properties": {
                        "width_mm": {"type": ["number", "string"]},
                        "height_mm": {"type": ["number", "string"]},
                    },
                    "required": ["height_mm", "width_mm"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]
"""A paper: a name (``A4``), the API's number, or ``{"width_mm", "height_mm"}``."""


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
    SCHEMA_RULES: ClassVar[Mapping[str, Any]] = {}
    """JSON Schema keywords on the whole payload, beyond its fields (``oneOf``…)."""
    transaction: Annotated[str | None, Schema({"type": ["string", "number", "boolean"]})] = field(
        default=None, kw_only=True
    )
    """The requester's own reference, echoed in the answer (a number or a boolean as text); a
    repeat within 10 minutes is answered duplicate instead of being carried out again."""

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

    SCHEMA_RULES: ClassVar[Mapping[str, Any]] = {"not": {"required": ["port", "model"]}}
    port: PortText | None = None
    """The port whose printer is meant (not with model); neither: the default port's."""
    model: str | None = None
    """A printer model (a driver_name), not with port."""
