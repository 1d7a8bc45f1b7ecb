"""What defines a command, in one record: its name, typed request, parser, handler and rules.

Each module of :mod:`.commands` builds one :class:`DeviceCommand` or :class:`BridgeCommand` as
its ``COMMAND``; :mod:`.registry` collects them. The service never sees a command's types: it
asks the registry for a :class:`PreparedRequest` (the payload parsed, bound to what runs it).
The generators (``make generate``) read the same record: the request's and the answer's types
become the JSON Schemas and the AsyncAPI document, its :class:`CommandDoc` the docs' tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import (
    Any,
    ClassVar,
    Generic,
    TypeAlias,
    TypeVar,
    get_args,
    get_origin,
    get_type_hints,
)

from lianke_bridge.bridge.records.answer import Answer
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.requests.answer import to_json
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.model import JsonObject, Limits, Request, Scope
from lianke_bridge.bridge.requests.payload import Body

R = TypeVar("R", bound=Request)
D = TypeVar("D")
"""The type of a command's answer (its ``data``): a dataclass, or a union of them."""
Answered: TypeAlias = D | Answer[D]
"""What a handler returns: its answer's data, or :class:`Answer` when work follows it."""


@dataclass(frozen=True)
class CommandDoc:
    """How the docs' command tables describe a command: Markdown, a phrase each."""

    does: str
    """What happens (``cancels a job``)."""
    payload: str = "—"
    """What the payload holds (``optional `port` ``); ``—`` or ``any``: no fields."""
    calls: str = "—"
    """The cloud API call(s) it makes."""
    answer: str = ""
    """The ``data`` of its ``ok`` answer, in short (``{"total": 1}``)."""
    does_zh: str = ""
    """``does`` in Chinese (zh-Hans), for docs/mqtt-api.zh.md (``取消一个打印任务``): required."""
    payload_zh: str = ""
    """``payload`` in Chinese; needed only when ``payload`` has words outside its code."""


class _Definition:
    """What both kinds of command tell of themselves."""

    handle: Callable[..., Awaitable[Any]]
    request: type[Request]
    payload: type | None

    @property
    def json_form(self) -> type:
        """The class describing the payload's JSON object form: ``payload``, else ``request``."""
        return self.payload or self.request

    @property
    def answer(self) -> Any:
        """The type of its answer's ``data``: what its handler says it returns."""
        returned = get_type_hints(self.handle, include_extras=True)["return"]
        return get_args(returned)[0] if get_origin(returned) is Answer else returned


Parser = Callable[[str, Body, str | None, Limits], R]
"""A command's payload parser: name (for messages), body, transaction, limits -> request.

Raises :class:`~lianke_bridge.errors.InvalidValueError` for a payload it cannot take; the
registry turns that into ``invalid_payload`` carrying the transaction."""


@dataclass(frozen=True)
class PreparedRequest:
    """A request parsed into its typed command and bound to what runs it."""

    request: Request
    run: Callable[[RequestContext], Awaitable[Answer[JsonObject]]]
    """Run it: the answer's ``data`` as JSON (:func:`.answer.to_json`), and what follows it."""
    synced: bool = False
    """Its request's record waits for the disk (see ``DeviceCommand.synced``)."""

    @property
    def transaction(self) -> str | None:
        """The requester's transaction, read strictly."""
        return self.request.transaction


@dataclass(frozen=True, kw_only=True)
class DeviceCommand(_Definition, Generic[R, D]):
    """A command sent to a box: ``<base>/<dev>/request/<name>``."""

    scope: ClassVar[Scope] = "device"
    name: str
    request: type[R]
    """The typed request its payload is parsed into."""
    parse: Parser[R]
    handle: Callable[[RequestContext, Box, R], Awaitable[Answered[D]]]
    doc: CommandDoc
    payload: type | None = None
    """The payload's JSON object form, when it differs from ``request`` (its schema's source)."""
    documents: bool = False
    """It takes documents: a payload over the size limit is told to send a URL instead."""
    recover: Callable[[RequestContext, str, str], Awaitable[Answer[D] | None]] | None = None
    """(context, device, transaction) -> the answer of a request an earlier run began and never
    answered, or None: run it again. Without it, such a request simply runs again: right for a
    query, and for what ``synced`` records before it acts. A print leaves a job behind (or a
    submission to look up in the cloud): its hook finds it."""
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

        async def run(ctx: RequestContext) -> Answer[JsonObject]:
            return answered(await self.handle(ctx, box, request))

        return PreparedRequest(request, run, self.synced)


@dataclass(frozen=True, kw_only=True)
class BridgeCommand(_Definition, Generic[R, D]):
    """A command sent to the bridge itself: ``<base>/bridge/request/<name>``."""

    scope: ClassVar[Scope] = "bridge"
    name: str
    request: type[R]
    """The typed request its payload is parsed into."""
    parse: Parser[R]
    handle: Callable[[RequestContext, R], Awaitable[Answered[D]]]
    doc: CommandDoc
    payload: type | None = None
    """The payload's JSON object form, when it differs from ``request`` (its schema's source)."""
    documents: bool = False
    """It takes documents: a payload over the size limit is told to send a URL instead."""

    def prepare(self, body: Body, transaction: str | None, limits: Limits) -> PreparedRequest:
        """Parse the payload."""
        request = self.parse(self.name, body, transaction, limits)

        async def run(ctx: RequestContext) -> Answer[JsonObject]:
            return answered(await self.handle(ctx, request))

        return PreparedRequest(request, run)


Command = DeviceCommand[R, Any] | BridgeCommand[R, Any]
"""Either kind of command."""


def answered(result: Answered[Any]) -> Answer[JsonObject]:
    """A handler's result as the answer to publish: its data as JSON, and what follows it."""
    if isinstance(result, Answer):
        return Answer(to_json(result.data), result.after)
    return Answer(to_json(result))
