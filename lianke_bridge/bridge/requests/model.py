"""The typed requests: what each command's payload is read into, and the limits on them.

Pure data. A request is parsed once (:mod:`.parse`) into one of these frozen classes, which is
all its handler (:mod:`.handlers`) ever sees of the payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from lianke_bridge.cloud.models import JobFile
from lianke_bridge.config.model import DEFAULT_MAX_FILE_BYTES, largest_payload
from lianke_bridge.print_options import Paper, PrintOptions

Scope = Literal["device", "bridge"]
"""Whether a command is sent to a box (``<base>/<dev>/request/…``) or to the bridge."""
JsonObject = dict[str, Any]
"""The ``data`` of an ``ok`` answer: a JSON object."""

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

    @property
    def command(self) -> str:
        """The command's name as in the request topic."""
        return self.COMMAND


@dataclass(frozen=True)
class NoArgCommand(Request):
    """reboot, refresh, refresh_network_printers, tasks, republish, health_check."""

    name: str

    @property
    def command(self) -> str:
        """The command's name as in the request topic."""
        return self.name


@dataclass(frozen=True)
class PrintCommand(Request):
    """``print``: one document source, a port, and print options (``None``: not asked for)."""

    COMMAND: ClassVar[str] = "print"
    urls: tuple[str, ...] = ()
    file: JobFile | None = None
    text: str | None = field(default=None, repr=False)
    html: str | None = field(default=None, repr=False)
    title: str | None = None
    """Heading of a text or html page."""
    port: int | None = None
    options: PrintOptions = field(default_factory=PrintOptions)
    """How to print, as asked; the port's ``print_defaults`` fill in the rest when it is built."""
    from_text_entity: bool = False
    """The payload was a bare URL, as a Home Assistant text entity sends it."""

    @property
    def needs_paper_sizes(self) -> bool:
        """Whether the paper (a name or number) may need ``paper_dimension_list`` to resolve."""
        return self.options.needs_paper_sizes

    @property
    def source(self) -> Literal["url", "file", "text"]:
        """The job record's ``source``: ``url``, ``file`` or ``text`` (html counts as text)."""
        if self.urls:
            return "url"
        if self.file is not None:
            return "file"
        return "text"


@dataclass(frozen=True)
class CancelCommand(Request):
    """``cancel``: revoke a task."""

    COMMAND: ClassVar[str] = "cancel"
    task_id: str
    port: int | None = None


@dataclass(frozen=True)
class JobCommand(Request):
    """``job``: a task's state and result."""

    COMMAND: ClassVar[str] = "job"
    task_id: str
    port: int | None = None


@dataclass(frozen=True)
class FlushCommand(Request):
    """``flush``: drop queued jobs of one port, or of every port (``port`` None)."""

    COMMAND: ClassVar[str] = "flush"
    port: int | None = None


@dataclass(frozen=True)
class ResetErrorLimitCommand(Request):
    """``reset_error_limit``: lift the 11203 pause of one port, or of every port."""

    COMMAND: ClassVar[str] = "reset_error_limit"
    port: int | None = None


@dataclass(frozen=True)
class PortOrModelCommand(Request):
    """``printer_params`` / ``paper_sizes``: for a port's printer, a model, or the default port."""

    name: Literal["printer_params", "paper_sizes"]
    port: int | None = None
    model: str | None = None

    @property
    def command(self) -> str:
        """The command's name as in the request topic."""
        return self.name


@dataclass(frozen=True)
class PageCountCommand(Request):
    """``page_count``: one document (a URL or a file), optionally on a given paper."""

    COMMAND: ClassVar[str] = "page_count"
    urls: tuple[str, ...] = ()
    """Zero or one URL (the API counts one document)."""
    file: JobFile | None = None
    port: int | None = None
    paper: Paper | None = None
    file_ext: str | None = None


@dataclass(frozen=True)
class PrinterModelsCommand(Request):
    """``printer_models``: the cloud's supported models, searched or whole."""

    COMMAND: ClassVar[str] = "printer_models"
    query: str | None = None


@dataclass(frozen=True)
class DecodeQrCommand(Request):
    """``decode_qr``: a box's QR link or token (contains the device key: never echo it)."""

    COMMAND: ClassVar[str] = "decode_qr"
    text: str = field(repr=False)
