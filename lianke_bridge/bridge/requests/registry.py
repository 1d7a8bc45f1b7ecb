"""Every command, collected from its module; a request's topic and payload -> what runs it.

The service reads a request's topic and payload, asks :meth:`Commands.prepare` for a
:class:`PreparedRequest` (the payload parsed once into its typed command, bound to its handler
and, for a device command, to its box), then runs it with the :class:`RequestContext`. A
request that cannot be prepared raises :class:`CommandError`: ``unknown_device``,
``unknown_command`` (naming the valid ones) or ``invalid_payload`` (naming the field).

:data:`COMMANDS` holds the modules of :mod:`.commands`; :meth:`Commands.of` collects any list
of command modules the same way (a test registers one of its own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from lianke_bridge.bridge.records.answer import Answer
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.envelope import ErrorCode, ok_envelope
from lianke_bridge.bridge.records.topics import RequestTopic, Topics
from lianke_bridge.bridge.requests.answer import to_json
from lianke_bridge.bridge.requests.command import (
    BridgeCommand,
    Command,
    DeviceCommand,
    PreparedRequest,
)
from lianke_bridge.bridge.requests.commands import MODULES
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

UNKNOWN_DEVICE = "unknown_device"
"""Error code for a request to a ``<dev>`` that is not configured."""


@dataclass(frozen=True)
class Commands:
    """The commands the bridge answers, by scope and name."""

    device: Mapping[str, DeviceCommand[Any, Any]]
    bridge: Mapping[str, BridgeCommand[Any, Any]]

    @classmethod
    def of(cls, modules: Iterable[ModuleType]) -> Commands:
        """Each module's ``COMMAND``, in the order given; a name twice in a scope is refused."""
        device: dict[str, DeviceCommand[Any, Any]] = {}
        bridge: dict[str, BridgeCommand[Any, Any]] = {}
        for module in modules:
            command: Command[Any] = module.COMMAND
            scope: dict[str, Any] = device if isinstance(command, DeviceCommand) else bridge
            if command.name in scope:
                raise ValueError(f"two {command.scope} commands named {command.name!r}")
            scope[command.name] = command
        return cls(device, bridge)

    def __iter__(self) -> Iterator[Command[Any]]:
        """Every command: the device ones, then the bridge's."""
        yield from self.device.values()
        yield from self.bridge.values()

    def names(self, scope: Scope) -> frozenset[str]:
        """The names of one scope's commands."""
        return frozenset(self.device if scope == "device" else self.bridge)

    def prepare(
        self,
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
            device = self.device.get(where.command)
            if device is None:
                raise self._unknown_command(where.command, "device", incoming)
            body, transaction = _checked(device, incoming, limits)
            return _parsed(lambda: device.prepare(body, transaction, limits, box), transaction)
        bridge = self.bridge.get(where.command)
        if bridge is None:
            raise self._unknown_command(where.command, "bridge", incoming)
        body, transaction = _checked(bridge, incoming, limits)
        return _parsed(lambda: bridge.prepare(body, transaction, limits), transaction)

    def parse_request(
        self,
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
        specs: Mapping[str, Command[Any]] = self.device if scope == "device" else self.bridge
        spec = specs.get(command)
        if spec is None:
            raise self._unknown_command(command, scope, incoming)
        body, transaction = _checked(spec, incoming, limits, max_bytes=max_bytes)
        request: Request = _parsed(
            lambda: spec.parse(command, body, transaction, limits), transaction
        )
        return request

    def recoverer(
        self, topics: Topics, context: Callable[[], RequestContext]
    ) -> Callable[[str, str], Awaitable[Answer[JsonObject] | None]]:
        """The request memory's ``recover``: each command's own hook, by the request's topic.

        (request topic, transaction) -> the ``ok`` envelope of a request an earlier run began
        and never answered, with what follows it; None when its command has no hook (it runs
        again) or the hook found nothing done.
        """

        async def recover(topic: str, transaction: str) -> Answer[JsonObject] | None:
            where = topics.parse_request(topic)
            if where is None or where.scope != "device" or where.device is None:
                return None
            command = self.device.get(where.command)
            if command is None or command.recover is None:
                return None
            found = await command.recover(context(), where.device, transaction)
            if found is None:
                return None
            return Answer(ok_envelope(to_json(found.data), transaction), found.after)

        return recover

    def _unknown_command(self, command: str, scope: Scope, incoming: Incoming) -> CommandError:
        valid = self.names(scope)
        other_scope: Scope = "bridge" if scope == "device" else "device"
        where = "the bridge" if scope == "bridge" else "a device"
        message = f"unknown command {show(command)}"
        close = closest(command, sorted(valid))
        if close:
            message += f" (did you mean {close!r}?)"
        if command in self.names(other_scope) - valid:
            message += f"; it is a {other_scope} command"
        return CommandError(
            ErrorCode.UNKNOWN_COMMAND,
            f"{message}; commands of {where}: {', '.join(sorted(valid))}",
            transaction=incoming.transaction,
        )


COMMANDS = Commands.of(MODULES)
"""The contract's commands: the modules of :mod:`.commands`."""
DEVICE_COMMANDS = COMMANDS.names("device")
BRIDGE_COMMANDS = COMMANDS.names("bridge")
parse_request = COMMANDS.parse_request


def _checked(
    command: Command[Any], incoming: Incoming, limits: Limits, *, max_bytes: int | None = None
) -> tuple[Body, str | None]:
    """The payload's body and strict transaction, or ``invalid_payload`` (size, surrogates)."""
    if incoming.body is None:
        limit = limits.max_payload_bytes if max_bytes is None else max_bytes
        raise CommandError(
            ErrorCode.INVALID_PAYLOAD,
            incoming.problem
            or f"the payload is {size_text(incoming.size)}, "
            f"more than the limit of {size_text(limit)}"
            + ("; send large documents as a URL" if command.documents else ""),
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
