r"""A print link judged the way the cloud's fetcher will read it, and forwarded rewritten.

Why: Python's ``urlsplit`` and a fetcher that follows the WHATWG URL standard (browsers, Node,
OkHttp; urllib3 on this point too) can read one string as two hosts:
``http://169.254.169.254\@example.com/`` is example.com to ``urlsplit`` and 169.254.169.254 to
such a fetcher, which would let a request slip past ``jobs.allowed_hosts``. So a link is
refused wherever the two readings could part, and what goes to the cloud is not the string
received but the link rebuilt from the parts judged.

Refused: a backslash; spaces and control characters; user info (anything ``@`` before the
host); a scheme other than http(s); a host that is no RFC 1123 name or IP address, holds a ``%``
(WHATWG would decode it), or that WHATWG would read as an IPv4 address written another way
(``0x7f.1``, ``2130706433``, ``127.1``: refused, not rewritten, because other fetchers read those
as names); a port that is not 1-65535 in ASCII digits; a ``%`` not followed by two hex digits;
a ``.`` or ``..`` path segment (some fetchers resolve them, others send them as they are).

Rewritten (the canonical form, which a WHATWG parser leaves as it is): the scheme and host in
lower case, an international name as ``xn--``, an IPv6 address compressed, the default port
dropped, an empty path as ``/``, an empty ``?`` or ``#`` dropped, and every character RFC 3986
does not allow where it stands percent-encoded as UTF-8 (``é`` is ``%C3%A9``; in the query ``'``
too, as WHATWG does). A link already in that form, like most links, is forwarded unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

from lianke_bridge.errors import InvalidValueError
from lianke_bridge.hosts import host_allowed, looks_numeric, normalise_host
from lianke_bridge.print_options.readers import show

MAX_URL_LENGTH = 4096
"""Longest link accepted (the cloud stores links as text; browsers stop near 2,000-8,000)."""
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_PORT = 65535
_NETLOC = re.compile(r"^(?P<host>\[[^\[\]]*\]|[^\[\]:]*)(?::(?P<port>[^:]*))?$")
_DIGITS = re.compile(r"^[0-9]{1,5}$")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SUB_DELIMS = "!$&'()*+,;="
_PATH_SAFE = _SUB_DELIMS + ":@/%"
"""RFC 3986 ``pchar`` and ``/`` (letters, digits and ``-._~`` are always safe for ``quote``)."""
_QUERY_SAFE = _PATH_SAFE.replace("'", "") + "?"
"""The query's characters, less ``'``: WHATWG encodes it in the query of an http(s) link."""
_FRAGMENT_SAFE = _PATH_SAFE + "?"


def _control(ch: str) -> bool:
    return ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F  # noqa: PLR2004 - C0/DEL/C1


def _refuse(url: str, why: str) -> InvalidValueError:
    return InvalidValueError(f"url {show(url)} {why}")


def _check_characters(url: str) -> None:
    """Characters that parsers treat differently, refused before any parsing."""
    if any(_control(ch) for ch in url):
        raise _refuse(url, "contains spaces or line breaks; encode them (%20) or send a list")
    if "\\" in url:
        raise _refuse(
            url, "contains a backslash, which some fetchers read as '/'; encode it (%5C) if meant"
        )
    if _STRAY_PERCENT.search(url):
        raise _refuse(url, "has a '%' that is not followed by two hex digits; write '%' as %25")


def _scheme(url: str, scheme: str) -> str:
    lowered = scheme.lower()
    if lowered not in DEFAULT_PORTS:
        what = f"scheme {show(scheme)}" if scheme else "no scheme"
        raise _refuse(url, f"has {what}; only http:// and https:// links can be printed")
    return lowered


def _host_and_port(url: str, netloc: str, scheme: str, allowed: tuple[str, ...]) -> str:
    """``host[:port]`` as forwarded: checked, normalised, the default port dropped."""
    if "@" in netloc:
        raise _refuse(
            url,
            "has user info before its host ('name@' or 'name:password@'): fetchers disagree "
            "on which part is the host, and credentials do not belong in a print link",
        )
    parts = _NETLOC.match(netloc)
    if parts is None:
        raise _refuse(url, "is not a valid URL (its port must be a number from 1 to 65535)")
    raw_host = parts["host"]
    host = _host(url, raw_host)
    if not host_allowed(host, allowed):
        raise InvalidValueError(
            f"url {show(url)}: host {show(host)} is not in the bridge's allowed hosts "
            "(jobs.allowed_hosts)"
        )
    shown = f"[{host}]" if ":" in host else host
    if raw_host.endswith(".") and ":" not in host:
        shown += "."  # a fully qualified name stays one (it is the same host for DNS)
    port = _port(url, parts["port"])
    return shown if port in (None, DEFAULT_PORTS[scheme]) else f"{shown}:{port}"


def _host(url: str, raw_host: str) -> str:
    """The host compared with the allowlist (normalised), or why it is refused."""
    if not raw_host or raw_host == "[]":
        raise _refuse(url, "has no host name")
    host = normalise_host(raw_host)
    if host is not None:
        return host
    if looks_numeric(raw_host) and "%" not in raw_host:
        raise _refuse(
            url,
            f"has host {show(raw_host)}, which is neither a host name (its last part is a "
            "number) nor an IPv4 address as four numbers 0-255 like 192.168.1.20 (hex, octal "
            "and short forms like 127.1 are refused: fetchers read them differently)",
        )
    raise _refuse(
        url,
        f"has host {show(raw_host)}, which is neither a host name (letters, digits and '-' "
        "between dots, no '%') nor an IP address",
    )


def _port(url: str, text: str | None) -> int | None:
    """The port given (ASCII digits, 1-65535), or None for none or an empty one."""
    if not text:
        return None
    if not _DIGITS.match(text) or int(text) > MAX_PORT:
        raise _refuse(url, "is not a valid URL (its port must be a number from 1 to 65535)")
    if int(text) == 0:
        raise _refuse(url, "has port 0; a port is a number from 1 to 65535")
    return int(text)


def _path(url: str, path: str) -> str:
    for segment in path.split("/"):
        if unquote(segment) in (".", ".."):
            raise _refuse(
                url,
                "has a '.' or '..' path segment, which fetchers resolve differently; "
                "give the path without it",
            )
    return quote(path, safe=_PATH_SAFE) or "/"


def canonical_link(url: str, allowed_hosts: Iterable[str] = ()) -> str:
    """The link to forward: ``url`` rebuilt from its checked parts (see the module's rules).

    Raises :class:`InvalidValueError` naming the part that is wrong. With ``allowed_hosts``
    (normalised names and addresses), the host must be on that list.
    """
    url = url.strip()
    if not url:
        raise InvalidValueError("url is empty")
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(url, f"is longer than {MAX_URL_LENGTH} characters")
    _check_characters(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _refuse(url, "is not a valid URL") from None
    scheme = _scheme(url, parts.scheme)
    if not url[len(parts.scheme) :].startswith("://"):
        raise _refuse(url, "has no host name (an http link starts with http://)")
    authority = _host_and_port(url, parts.netloc, scheme, tuple(allowed_hosts))
    link = f"{scheme}://{authority}{_path(url, parts.path)}"
    if parts.query:
        link += "?" + quote(parts.query, safe=_QUERY_SAFE)
    if parts.fragment:
        link += "#" + quote(parts.fragment, safe=_FRAGMENT_SAFE)
    if len(link) > MAX_URL_LENGTH:
        raise _refuse(url, f"is longer than {MAX_URL_LENGTH} characters once percent-encoded")
    return link
