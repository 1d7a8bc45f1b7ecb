"""Request bodies read once, as their content type says: form fields (files aside) or JSON.

A body that cannot be read is a ``BadBodyError``, answered 400 by the gate, never 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web


@dataclass(frozen=True)
class Body:
    """A request's parsed body: form fields or a JSON object, and uploaded files aside."""

    kind: str | None
    """``form``, ``json`` or None (no body, or not a JSON object)."""
    fields: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    """Field name -> (filename, content)."""


BODY = web.RequestKey("lianke_sim_body", Body)
MAX_BODY = web.AppKey("lianke_sim_max_body", int)
MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest request body (aiohttp answers 413 above it)."""

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
BAD_BODY_MSG = "请求参数格式错误"
"""Not in the reference: the answer to a body that cannot be read (see ``read_body``)."""


class BadBodyError(Exception):
    """A request body the simulator cannot read as its content type says."""


async def read_body(request: web.Request) -> Body:
    """Parse the body once: form (with files kept aside) or JSON; note which it was.

    Any body that cannot be read (a multipart without or with a wrong boundary, a truncated
    body, a part without a name, bytes that are not in the declared charset, an unknown
    charset, JSON nested too deep) is a ``BadBodyError``: the caller answers 400, never 500.
    """
    try:
        if request.content_type in FORM_TYPES:
            return await _read_form(request)
        if not request.body_exists:
            return Body(None, {}, {})
        raw = await request.read()
        parsed = json.loads(raw) if raw.strip() else None
    except web.HTTPException:
        raise  # 413 and the like: aiohttp's own 4xx answers
    except RecursionError as err:
        raise BadBodyError("nested too deep") from err
    except Exception as err:
        raise BadBodyError(type(err).__name__) from err
    if isinstance(parsed, dict):
        return Body("json", parsed, {})
    return Body(None, {}, {})


async def _read_form(request: web.Request) -> Body:
    if request.content_type == "application/x-www-form-urlencoded":
        return Body("form", dict((await request.post()).items()), {})
    return await _read_multipart(request)


async def _read_multipart(request: web.Request) -> Body:
    """Multipart, read part by part into memory, within the app's size limit.

    Not ``request.post()``: it leaves temporary files behind when a later part is broken.
    """
    fields: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    limit = request.app[MAX_BODY]
    total = 0
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise BadBodyError("a part without a name, or a nested multipart")
        content = bytearray()
        while chunk := await part.read_chunk():
            total += len(chunk)
            if total > limit:
                raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=total)
            content += chunk
        if part.filename is not None:
            files[part.name] = (part.filename, bytes(content))
        else:
            fields[part.name] = bytes(content).decode(part.get_charset(default="utf-8"))
    return Body("form", fields, files)
