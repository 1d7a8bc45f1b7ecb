"""Host names as the cloud must fetch them: RFC 1123 names or IP addresses, and an allowlist.

Pure, below configuration and bridge: the print links of a request and the configuration's
``jobs.allowed_hosts`` are checked with the same rules. A host is read the way the WHATWG URL
standard (browsers, Node, most HTTP clients) reads it, or refused where that reading could differ
from ours: an international name becomes its ``xn--`` form by UTS #46 (as WHATWG does, so
``faß.de`` is ``xn--fa-hia.de``, not the ``fass.de`` of Python's own codec), and a name that a
WHATWG parser would take for an IPv4 address (``0x7f.1``, ``2130706433``, ``127.1``) is refused
rather than guessed at.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

MAX_HOST_NAME = 253
"""RFC 1123: a host name of at most 253 characters (ASCII, after IDNA)."""
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMBER = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
"""A label WHATWG reads as a number (decimal, octal with a leading 0, hex with 0x)."""
_IPV6_PIECES = 8


def looks_numeric(host: str) -> bool:
    """Whether a WHATWG parser would read this name as an IPv4 address (its last label a number).

    ``0x7f.1``, ``2130706433``, ``127.1``, ``010.0.0.1`` and ``1.2.3.0x4`` are addresses there
    (127.0.0.1, 127.0.0.1, 127.0.0.1, 8.0.0.1, 1.2.3.4) but no address for Python's ``ipaddress``.
    """
    labels = host.strip().lower().removesuffix(".").split(".")
    return bool(_NUMBER.match(labels[-1]))


def _ipv6_text(address: ipaddress.IPv6Address) -> str:
    """An IPv6 address as WHATWG writes it: the longest run of zero pieces (2+) as ``::``.

    Written out here because Python 3.13 writes IPv4-mapped addresses (``::ffff:1.2.3.4``)
    differently from the WHATWG standard (``::ffff:102:304``).
    """
    pieces = [int(piece, 16) for piece in address.exploded.split(":")]
    best_start, best_length, start = -1, 1, None
    for i, piece in enumerate([*pieces, 1]):
        if piece == 0 and start is None:
            start = i
        elif piece != 0 and start is not None:
            if i - start > best_length:
                best_start, best_length = start, i - start
            start = None
    text = [f"{piece:x}" for piece in pieces]
    if best_start < 0:
        return ":".join(text)
    head = ":".join(text[:best_start])
    tail = ":".join(text[best_start + best_length : _IPV6_PIECES])
    return f"{head}::{tail}"


def _to_ascii(name: str) -> str | None:
    """An international name in its ``xn--`` form (UTS #46, non-transitional), or None.

    ``idna`` (pure Python, already there for aiohttp) is imported only for such a name: most
    hosts are ASCII and most bridges never load it.
    """
    import idna  # noqa: PLC0415 - only for international names

    try:
        return idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def normalise_host(host: str) -> str | None:
    """The host in the form it is compared in (lowercase, IDNA, no trailing dot), or None.

    None for anything that is neither an IP address nor an RFC 1123 host name: an empty label
    (``a..b``), a label starting or ending with ``-`` (``-``), a label longer than 63, a name whose
    last label is a number (see :func:`looks_numeric`: ``999.1.1.1``, ``127.1``, ``0x7f.1``), an
    IPv6 zone (``fe80::1%eth0``), a ``%``, brackets around anything but an IPv6 address, or any
    character outside a name.
    """
    text = host.strip().lower()
    bracketed = text.startswith("[") and text.endswith("]")
    if bracketed:
        text = text[1:-1]
    if "%" in text:  # percent-encoded, or an IPv6 zone: hosts a fetcher would decode otherwise
        return None
    address = _address_text(text)
    if bracketed:  # brackets hold an IPv6 address and nothing else
        return address if address is not None and ":" in address else None
    return address if address is not None else _name(text.removesuffix("."))


def _address_text(text: str) -> str | None:
    """An IP address as WHATWG writes it, or None for anything else."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return _ipv6_text(address) if isinstance(address, ipaddress.IPv6Address) else str(address)


def _name(text: str) -> str | None:
    """An RFC 1123 name in ASCII (``xn--`` for an international one), or None."""
    needs_idna = not text.isascii() or any(part.startswith("xn--") for part in text.split("."))
    ascii_name = _to_ascii(text) if needs_idna else text
    if not ascii_name or len(ascii_name) > MAX_HOST_NAME:
        return None
    labels = ascii_name.split(".")
    if not all(_LABEL.match(label) for label in labels) or looks_numeric(ascii_name):
        return None
    return ascii_name


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether a (normalised) host is on an allowlist of (normalised) names and addresses.

    A name allows itself and every name below it (``example.com`` allows ``docs.example.com``);
    an address allows only itself. An empty allowlist allows every host.
    """
    entries = tuple(allowed)
    if not entries:
        return True
    return any(host == entry or host.endswith(f".{entry}") for entry in entries)
