"""The middleware in front of the API: record, apply request faults, check the ApiKey.

It also answers a handler's ``ApiRefusalError`` with the cloud's envelope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from lianke_bridge.simulator.answers import BAD_PARAMETER, ApiRefusalError, refusal
from lianke_bridge.simulator.bodies import BAD_BODY_MSG, BODY, BadBodyError, Body, read_body
from lianke_bridge.simulator.recording import (
    MAX_RECORDED_PAGE,
    RecordedRequest,
    SimulatorView,
    printable,
)

ADMIN_PREFIX = "/_sim/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _html_error(status: int, html: bool) -> web.Response:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if not html:
        return web.Response(status=status, text=f"{status} {phrase}")
    page = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=page, content_type="text/html")


class Gate:
    """The middleware in front of the API."""

    def __init__(self, sim: SimulatorView) -> None:
        self.sim = sim

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record the call, apply request faults, check the ApiKey, answer refusals."""
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        sim = self.sim
        try:
            body, bad_body = await read_body(request), False
        except BadBodyError:
            body, bad_body = Body(None, {}, {}), True
        request[BODY] = body
        recorded: dict[str, Any] = dict(body.fields)
        for name, (filename, content) in body.files.items():
            recorded[name] = {"filename": filename, "size": len(content)}
            if filename.lower().endswith(".html") and len(content) <= MAX_RECORDED_PAGE:
                recorded[name]["text"] = content.decode("utf-8", "replace")
        sim.requests.append(
            RecordedRequest(
                method=request.method,
                path=printable(request.path),
                query=printable(dict(request.query)),
                fields=printable(recorded),
                api_key=printable(request.headers.get("ApiKey")),
            )
        )
        early = await self.request_faults(request)
        if early is not None:
            return early
        if request.headers.get("ApiKey") != sim.fleet.api_key:
            return refusal(10001, "ApiKey无效")
        if bad_body:
            return refusal(BAD_PARAMETER, BAD_BODY_MSG)
        try:
            return await handler(request)
        except ApiRefusalError as err:
            return refusal(err.code, err.msg)

    async def request_faults(self, request: web.Request) -> web.Response | None:
        """Drop, HTTP error, slow, API error: in that order; an answer ends the request."""
        faults = self.sim.faults
        if faults.take("drop", request.path):
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        error = faults.take("http_error", request.path)
        if error:
            return _html_error(error.status, error.html)
        slow = faults.take("slow", request.path)
        if slow:
            await asyncio.sleep(slow.seconds)
        api_error = faults.take("api_error", request.path)
        if api_error:
            return refusal(api_error.code, api_error.msg)
        return None
