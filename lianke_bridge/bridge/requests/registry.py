"""Every command of the contract, each defined once: its name, scope, parser and handler.

The service reads a request's topic and payload, asks :func:`prepare` for a
:class:`PreparedRequest` (the payload parsed once into its typed command, bound to its handler
and, for a device command, to its box), then runs it with the :class:`RequestContext`. A
request that cannot be prepared raises :class:`CommandError`: ``unknown_device``,
``unknown_command`` (naming the valid ones) or ``invalid_payload`` (naming the field).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.envelope import ErrorCode
from lianke_bridge.bridge.records.topics import RequestTopic
from lianke_bridge.bridge.requests import handlers
from lianke_bridge.bridge.requests import parse as p
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.model import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    JsonObject,
    Limits,
    Request,
    Scope,
)
from lianke_bridge.bridge.requests.payload import Body, Incoming, refuse_surrogates
from lianke_bridge.config.model import DEFAULT_MAX_FILE_BYTES
from lianke_bridge.errors import CommandError, InvalidValueError
from lianke_bridge.print_options.readers import show, size_text
from lianke_bridge.suggest import closest

R = TypeVar("R", bound=Request)
Parser = Callable[[str, Body, str | None, Limits], R]
"""A command's payload parser: name (for messages), body, transaction, limits -> request."""

UNKNOWN_DEVICE = "unknown_device"
"""Error code for a request to a ``<dev>`` that is not configured."""


@dataclass(frozen=True)
class PreparedRequest:
    """A request parsed into its typed command and bound to what runs it."""

    request: Request
    run: Callable[[RequestContext], Awaitable[JsonObject]]
    synced: bool = False
    """Its request's record waits for the disk (see ``DeviceCommand.synced``)."""

    @property
    def transaction(self) -> str | None:
        """The requester's transaction, read strictly."""
        return self.request.transaction


@dataclass(frozen=True)
class DeviceCommand(Generic[R]):
    """A command sent to a box: ``<base>/<dev>/request/<name>``."""

    name: str
    parse: Parser[R]
    handle: Callable[[RequestContext, Box, R], Awaitable[JsonObject]]
    synced: bool = False
    """It changes something in the cloud or on the box (a cancel, a reboot...): done twice, it
    is not the same, so its request is on disk (synced) before it runs and its answer before
    it is published. A query's records are queued (run again after a crash, it does what it
    did); so are a print's, whose submission is synced with them before its cloud call
    (``jobs.submit``)."""

    def prepare(
        self, body: Body, transaction: str | None, limits: Limits, box: Box
    ) -> PreparedRequest:
        """Parse the payload and bind the request to this box."""
        request = self.parse(self.name, body, transaction, limits)

        async def run(ctx: RequestContext) -> JsonObject:
            return await self.handle(ctx, box, request)

        return PreparedRequest(request, run, self.synced)


@dataclass(frozen=True)
class BridgeCommand(Generic[R]):
    """A command sent to the bridge itself: ``<base>/bridge/request/<name>``."""

    name: str
    parse: Parser[R]
    handle: Callable[[RequestContext, R], Awaitable[JsonObject]]

    def prepare(self, body: Body, transaction: str | None, limits: Limits) -> PreparedRequest:
        """Parse the payload."""
        request = self.parse(self.name, body, transaction, limits)

        async def run(ctx: RequestContext) -> JsonObject:
            return await self.handle(ctx, request)

        return PreparedRequest(request, run)


DEVICE: Mapping[str, DeviceCommand[Any]] = {
    spec.name: spec
    for spec in (
        DeviceCommand("print", p.parse_print, handlers.print_job),
        DeviceCommand("cancel", p.parse_cancel, handlers.cancel, synced=True),
        DeviceCommand("flush", p.parse_flush, handlers.flush, synced=True),
        DeviceCommand("reboot", p.parse_no_arg, handlers.reboot, synced=True),
        DeviceCommand(
            "reset_error_limit", p.parse_reset_error_limit, handlers.reset_error_limit, synced=True
        ),
        DeviceCommand("refresh", p.parse_no_arg, handlers.refresh),
        DeviceCommand(
            "refresh_network_printers",
            p.parse_no_arg,
            handlers.refresh_network_printers,
            synced=True,
        ),
        DeviceCommand("job", p.parse_job, handlers.job),
        DeviceCommand("tasks", p.parse_no_arg, handlers.tasks),
        DeviceCommand("printer_params", p.parse_port_or_model, handlers.capabilities),
        DeviceCommand("paper_sizes", p.parse_port_or_model, handlers.capabilities),
        DeviceCommand("page_count", p.parse_page_count, handlers.page_count),
    )
}
"""The device commands, by name."""

BRIDGE: Mapping[str, BridgeCommand[Any]] = {
    spec.name: spec
    for spec in (
        BridgeCommand("republish", p.parse_no_arg, handlers.republish),
        BridgeCommand("health_check", p.parse_no_arg, handlers.health_check),
        BridgeCommand("printer_models", p.parse_printer_models, handlers.printer_models),
        BridgeCommand("decode_qr", p.parse_decode_qr, handlers.decode_qr),
        BridgeCommand("refresh", p.parse_no_arg, handlers.refresh_all),
    )
}
"""The bridge commands, by name."""

DEVICE_COMMANDS = frozenset(DEVICE)
BRIDGE_COMMANDS = frozenset(BRIDGE)


def prepare(
    where: RequestTopic,
    incoming: Incoming,
    limits: Limits,
    boxes: Mapping[str, Box],
    *,
    configured: Iterable[str] | None = None,
) -> PreparedRequest:
    """A request's topic and decoded payload -> its typed command, bound to its handler.

    Checked in this order: the device, the command, the payload's size, the payload.
    ``configured`` names every box of the configuration when ``boxes`` holds only this
    instance's share (a scaled-out bridge), for the ``unknown_device`` message.
    Raises :class:`CommandError` only.
    """
    if where.scope == "device":
        box = boxes.get(where.device or "")
        if box is None:
            names = ", ".join(boxes if configured is None else configured)
            raise CommandError(
                UNKNOWN_DEVICE, f"no device named {show(where.device)}; configured: {names}"
            )
        device = DEVICE.get(where.command)
        if device is None:
            raise _unknown_command(where.command, "device", incoming)
        body, transaction = _checked(where.command, incoming, limits)
        return _parsed(lambda: device.prepare(body, transaction, limits, box), transaction)
    bridge = BRIDGE.get(where.command)
    if bridge is None:
        raise _unknown_command(where.command, "bridge", incoming)
    body, transaction = _checked(where.command, incoming, limits)
    return _parsed(lambda: bridge.prepare(body, transaction, limits), transaction)


def parse_request(
    command: str,
    payload: bytes,
    *,
    scope: Scope,
    max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    allowed_hosts: tuple[str, ...] = (),
) -> Request:
    """Turn a request topic's last level and its payload into a typed request.

    Raises :class:`CommandError` only: ``unknown_command`` naming the valid ones, or
    ``invalid_payload`` naming the field and what it takes; the error carries the
    transaction whenever the payload lets it be read.
    """
    incoming = Incoming.read(payload, max_bytes)
    limits = Limits(max_file_bytes, allowed_hosts)
    specs: Mapping[str, DeviceCommand[Any] | BridgeCommand[Any]] = (
        DEVICE if scope == "device" else BRIDGE
    )
    spec = specs.get(command)
    if spec is None:
        raise _unknown_command(command, scope, incoming)
    body, transaction = _checked(command, incoming, limits, max_bytes=max_bytes)
    request: Request = _parsed(lambda: spec.parse(command, body, transaction, limits), transaction)
    return request


def _checked(
    command: str, incoming: Incoming, limits: Limits, *, max_bytes: int | None = None
) -> tuple[Body, str | None]:
    """The payload's body and strict transaction, or ``invalid_payload`` (size, surrogates)."""
    if incoming.body is None:
        limit = limits.max_payload_bytes if max_bytes is None else max_bytes
        raise CommandError(
            ErrorCode.INVALID_PAYLOAD,
            incoming.problem
            or f"the payload is {size_text(incoming.size)}, "
            f"more than the limit of {size_text(limit)}"
            + ("; send large documents as a URL" if command in ("print", "page_count") else ""),
            transaction=incoming.transaction,
        )
    body = incoming.body
    transaction = _parsed(incoming.checked_transaction, None)
    if body.kind in ("object", "json"):
        _parsed(lambda: refuse_surrogates(body.value), transaction)
    return body, transaction


T = TypeVar("T")


def _parsed(parse: Callable[[], T], transaction: str | None) -> T:
    """Run a parser; its :class:`InvalidValueError` becomes ``invalid_payload``."""
    try:
        return parse()
    except InvalidValueError as err:
        raise CommandError(ErrorCode.INVALID_PAYLOAD, str(err), transaction=transaction) from None


def _unknown_command(command: str, scope: Scope, incoming: Incoming) -> CommandError:
    valid = DEVICE_COMMANDS if scope == "device" else BRIDGE_COMMANDS
    where = "the bridge" if scope == "bridge" else "a device"
    message = f"unknown command {show(command)}"
    close = closest(command, sorted(valid))
    if close:
        message += f" (did you mean {close!r}?)"
    other = BRIDGE_COMMANDS if scope == "device" else DEVICE_COMMANDS
    if command in other - valid:
        message += f"; it is a {'bridge' if scope == 'device' else 'device'} command"
    return CommandError(
        ErrorCode.UNKNOWN_COMMAND,
        f"{message}; commands of {where}: {', '.join(sorted(valid))}",
        transaction=incoming.transaction,
    )
