"""The API's answers as the cloud gives them: ``{"code", "msg", "data"}`` over HTTP 200."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

BAD_PARAMETER = 400
"""Not in the reference: a missing or malformed parameter (the message says which)."""


class ApiRefusalError(Exception):
    """An API answer with a code other than 200; raised by handlers, answered by middleware."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def ok(data: Any = None, *, msg: bool = True) -> web.Response:
    """``{"code": 200, "msg": "success", "data": ...}`` (no ``data`` when None).

    ``msg=False`` leaves ``msg`` out, as the reference's printer_list example does.
    """
    body: dict[str, Any] = {"code": 200, "msg": "success"} if msg else {"code": 200}
    if data is not None:
        body["data"] = data
    return web.json_response(body, dumps=dumps)


def refusal(code: int, msg: str) -> web.Response:
    """An error answer: HTTP 200 with the API's own code, as the cloud does."""
    return web.json_response({"code": code, "msg": msg}, dumps=dumps)


def dumps(value: Any) -> str:
    """JSON with the Chinese left readable, as the cloud sends it."""
    return json.dumps(value, ensure_ascii=False)
