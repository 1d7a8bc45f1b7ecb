"""Host names as the cloud must fetch them: RFC 1123 names or IP addresses, and an allowlist.

Pure, below configuration and bridge: the print links of a request and the configuration's
``jobs.allowed_hosts`` are checked with the same rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

MAX_HOST_NAME = 253
"""RFC 1123: a host name of at most 253 characters (ASCII, after IDNA)."""
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DIGITS = re.compile(r"^[0-9]+$")


def normalise_host(host: str) -> str | None:
    """The host in the form it is compared in (lowercase, IDNA, no trailing dot), or None.

    None for anything that is neither an IP address nor an RFC 1123 host name: an empty label
    (``a..b``), a label starting or ending with ``-`` (``-``), a label longer than 63, an
    all-digit top label that is no IPv4 address (``999.1.1.1``), characters outside the name.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    text = text.removesuffix(".")
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if not ascii_name or len(ascii_name) > MAX_HOST_NAME:
        return None
    labels = ascii_name.split(".")
    if not all(_LABEL.match(label) for label in labels) or _DIGITS.match(labels[-1]):
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
