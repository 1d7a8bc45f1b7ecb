"""A box's QR code to its cloud credentials.

The reference: the QR holds a link whose ``token`` query parameter is base64 of
``deviceId:deviceKey``. People paste the whole link, the bare token, a token copied from a
URL-safe context, or one whose ``=`` padding got lost; all of these work. Error messages never
repeat the token or the key (the token *is* the key, base64-encoded).
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl, urlsplit

from lianke_bridge.cloud.models import Credentials
from lianke_bridge.errors import CredentialsError

_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/_\-]+={0,2}")
"""Standard or URL-safe base64, padding optional."""

_LINK_EXAMPLE = "a QR link (https://…?token=…) or its bare token"


def parse_qr(text: str) -> Credentials:
    """Turn a box's QR link, or the bare token from it, into its device id and key.

    Raises ``CredentialsError`` with a message saying what is wrong (never the key).
    """
    cleaned = text.strip()
    if not cleaned:
        raise CredentialsError(f"nothing to decode: paste {_LINK_EXAMPLE}")
    token = _token_from_link(cleaned) if _looks_like_link(cleaned) else cleaned
    return _credentials_from_token(token)


def _looks_like_link(text: str) -> bool:
    """A bare token never has ``://``, ``?`` or ``token=`` in it."""
    return "://" in text or "?" in text or "token=" in text


def _token_from_link(link: str) -> str:
    """The ``token`` query parameter (also looked for after a ``#``, as single-page apps do)."""
    parts = urlsplit(link if "://" in link or "?" in link else f"?{link}")
    queries = [parts.query]
    if "?" in parts.fragment:
        queries.append(parts.fragment.split("?", 1)[1])
    for query in queries:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name.lower() == "token":
                # A standard-base64 "+" left unencoded in a query string arrives as a space.
                token = value.strip().replace(" ", "+")
                if not token:
                    raise CredentialsError("the QR link's token parameter is empty")
                return token
    raise CredentialsError(
        "the QR link has no token parameter; scan the box's QR code again and paste the whole link"
    )


def _credentials_from_token(token: str) -> Credentials:
    """Decode base64 of ``deviceId:deviceKey``."""
    if not _BASE64_TEXT.fullmatch(token):
        raise CredentialsError(f"this is neither {_LINK_EXAMPLE}: it has characters base64 lacks")
    normal = token.rstrip("=").replace("-", "+").replace("_", "/")
    if len(normal) % 4 == 1:
        raise CredentialsError("the token is not valid base64 (a character is missing or extra)")
    normal += "=" * (-len(normal) % 4)
    try:
        raw = base64.b64decode(normal, validate=True)
    except (binascii.Error, ValueError) as err:  # pragma: no cover - the checks above catch it
        raise CredentialsError("the token is not valid base64") from err
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CredentialsError(
            "the token does not decode to text; is it from a Lianke box?"
        ) from err
    if ":" not in decoded:
        raise CredentialsError(
            "the token has no ':' between device id and device key; is it from a Lianke box?"
        )
    device_id, _, device_key = decoded.partition(":")
    device_id, device_key = device_id.strip(), device_key.strip()
    if not device_id:
        raise CredentialsError("the token's device id (before the ':') is empty")
    if not device_key:
        raise CredentialsError("the token's device key (after the ':') is empty")
    if not (device_id.isprintable() and device_key.isprintable()):
        raise CredentialsError("the token decodes to control characters; is it from a Lianke box?")
    return Credentials(device_id=device_id, device_key=device_key)
