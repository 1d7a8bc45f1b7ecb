"""The options of the cloud's pushes: ``lianke.callback_url`` and ``http.callback_path``.

The reference: the cloud POSTs a job's result to ``callbackUrl``, "必须为https链接" (https
only); it calls from the internet, so an address only a home network knows (``localhost``,
``printer.local``, ``192.168.1.5``) can never be reached and is refused here, not after a silent
week. ``{token}`` marks the bridge's own endpoint, so it must end the address and the HTTP
endpoint must be on (``check_push``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import voluptuous as vol

from lianke_bridge.config.model import TOKEN_PLACEHOLDER
from lianke_bridge.config.validators import boolean
from lianke_bridge.hosts import normalise_host

MAX_URL = 2048
"""Characters of a ``callback_url`` (the cloud's form field takes it whole)."""
LOCAL_SUFFIXES = (".local", ".localhost", ".lan", ".home.arpa", ".internal")
"""Names that only a home or company network resolves."""
_PATH = re.compile(r"(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?")
"""A URL path of plain segments (percent-escapes allowed)."""


def callback_url(value: Any) -> str:
    """A public ``https://`` address; ``{token}`` only as its last part."""
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid(
            "must be an https:// address, like https://print.example.com/lianke/{token}"
        )
    url = value.strip()
    if len(url) > MAX_URL:
        raise vol.Invalid(f"is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise vol.Invalid("must be an https:// address") from None
    if parts.scheme != "https":
        raise vol.Invalid(
            "must start with https:// (the cloud pushes to no other; put a reverse proxy with a "
            "certificate in front of the bridge, or use Home Assistant's webhook)"
        )
    if not hostname or normalise_host(hostname) is None:
        raise vol.Invalid("must name a host, like https://print.example.com/…")
    if parts.username is not None or parts.fragment or "#" in url:
        raise vol.Invalid("must be a plain address: no user:password@ and no #fragment")
    _check_public(hostname)
    if "{token}" in url:
        path = parts.path.removesuffix(TOKEN_PLACEHOLDER)
        if not url.endswith(TOKEN_PLACEHOLDER) or "{" in path or parts.query:
            raise vol.Invalid(
                "may have {token} only once, as its last part: https://host/path/{token}"
            )
        if not _PATH.fullmatch(path):
            raise vol.Invalid("must have a plain path before /{token}")
    return url


def _check_public(hostname: str) -> None:
    """The cloud calls from the internet: a loopback, private or local address is unreachable."""
    name = hostname.lower().rstrip(".")
    why = (
        "must be an address the cloud can reach from the internet, not {what}: use the public "
        "name your reverse proxy or Home Assistant's remote access answers on"
    )
    if (
        name == "localhost"
        or name.endswith(LOCAL_SUFFIXES)
        or ("." not in name and ":" not in name)
    ):
        raise vol.Invalid(why.format(what=f"a local name ({name})"))
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return
    if not address.is_global:
        raise vol.Invalid(why.format(what=f"a private or reserved address ({name})"))


def callback_path(value: Any) -> str | None:
    """``/path``: plain segments; a trailing ``/`` is dropped (``/`` alone is the site's root)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("/") or not _PATH.fullmatch(value):
        raise vol.Invalid("must be a path like /lianke (plain segments, no ? or #)")
    if any(segment in (".", "..") for segment in value.split("/")) or "//" in value:
        raise vol.Invalid("must be a path like /lianke, without . or .. or //")
    return value.rstrip("/")


def _true(value: Any) -> bool:
    if value is None:
        return False  # the default
    try:
        return boolean(value)
    except vol.Invalid:
        return True  # the schema reports the value itself


def check_push(raw: Mapping[str, Any]) -> None:
    """``{token}`` needs the HTTP endpoint on; ``http.callback_path`` needs ``{token}``."""
    lianke, http = raw.get("lianke"), raw.get("http")
    url = lianke.get("callback_url") if isinstance(lianke, Mapping) else None
    own = isinstance(url, str) and url.strip().endswith(TOKEN_PLACEHOLDER)
    enabled = isinstance(http, Mapping) and _true(http.get("enabled"))
    if own and not enabled:
        raise vol.Invalid(
            "must be true: lianke.callback_url ends in {token}, so the cloud's pushes come to "
            "the bridge's own HTTP endpoint",
            path=["http", "enabled"],
        )
    if isinstance(http, Mapping) and http.get("callback_path") is not None and not own:
        raise vol.Invalid(
            "is used only when lianke.callback_url ends in /{token} (the bridge's own endpoint)",
            path=["http", "callback_path"],
        )
