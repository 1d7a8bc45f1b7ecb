"""QR decoding: every way a person pastes a box's QR code, and every way it goes wrong."""

from __future__ import annotations

import base64

import pytest

from lianke_bridge.cloud.models import Credentials
from lianke_bridge.cloud.qr import parse_qr
from lianke_bridge.errors import CredentialsError

DEVICE_ID = "lc12345678"
DEVICE_KEY = "s3cr3t~~>?K"
"""A key whose base64 has ``+`` and ``/`` (standard alphabet) and ``=`` padding."""


def _token(text: str, *, urlsafe: bool = False, padded: bool = True) -> str:
    raw = text.encode()
    token = (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode()
    return token if padded else token.rstrip("=")


TOKEN = _token(f"{DEVICE_ID}:{DEVICE_KEY}")
EXPECTED = Credentials(DEVICE_ID, DEVICE_KEY)


def test_token_has_the_awkward_characters() -> None:
    """The fixture really exercises '+', '/' and padding (else the tests below prove little)."""
    assert "+" in TOKEN
    assert "/" in TOKEN
    assert TOKEN.endswith("=")
    assert _token(f"{DEVICE_ID}:{DEVICE_KEY}", urlsafe=True) != TOKEN


@pytest.mark.parametrize(
    "text",
    [
        f"https://cloud.liankenet.com/qr?token={TOKEN}",
        f"http://example.org/a/b?x=1&token={TOKEN}&lang=zh",
        f"https://u.wenjiang.net/#/?token={TOKEN}",
        f"  https://cloud.liankenet.com/qr?token={TOKEN}\n",
        "https://cloud.liankenet.com/qr?token=" + TOKEN.replace("+", "%2B").replace("=", "%3D"),
        f"https://cloud.liankenet.com/qr?TOKEN={TOKEN}",
        f"cloud.liankenet.com/qr?token={TOKEN}",
        f"token={TOKEN}",
    ],
    ids=[
        "reference-host",
        "any-host-extra-params",
        "token-after-hash",
        "surrounding-whitespace",
        "percent-encoded",
        "upper-case-name",
        "no-scheme",
        "query-only",
    ],
)
def test_links_give_credentials(text: str) -> None:
    """A QR link from any host, with extra parameters or encoding, yields the id and key."""
    assert parse_qr(text) == EXPECTED


def test_unencoded_plus_in_a_link_survives() -> None:
    """A '+' left raw in a query string (read as a space by URL parsers) still decodes."""
    assert "+" in TOKEN
    assert parse_qr(f"https://cloud.liankenet.com/qr?token={TOKEN}") == EXPECTED


@pytest.mark.parametrize(
    "token",
    [
        TOKEN,
        _token(f"{DEVICE_ID}:{DEVICE_KEY}", urlsafe=True),
        _token(f"{DEVICE_ID}:{DEVICE_KEY}", padded=False),
        _token(f"{DEVICE_ID}:{DEVICE_KEY}", urlsafe=True, padded=False),
    ],
    ids=["standard", "urlsafe", "unpadded", "urlsafe-unpadded"],
)
def test_bare_tokens_give_credentials(token: str) -> None:
    """The bare token works in either base64 alphabet, with or without its padding."""
    assert parse_qr(token) == EXPECTED


def test_key_with_colon_keeps_everything_after_the_first() -> None:
    """Only the first ':' separates id from key."""
    assert parse_qr(_token("lc1:a:b")) == Credentials("lc1", "a:b")


def test_credentials_repr_hides_the_key() -> None:
    """Decoded credentials can be logged: the key is not in their repr."""
    assert DEVICE_KEY not in repr(parse_qr(TOKEN))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "nothing to decode"),
        ("   ", "nothing to decode"),
        ("hello world, this is not it", "neither"),
        ("https://cloud.liankenet.com/qr?id=1", "no token parameter"),
        ("https://cloud.liankenet.com/qr", "no token parameter"),
        ("https://cloud.liankenet.com/qr?token=", "token parameter is empty"),
        ("abcde", "not valid base64"),
        ("ab=cd", "neither"),
        (_token("no separator here"), "no ':'"),
        (_token(":onlykey"), "device id"),
        (_token("onlyid:"), "device key"),
        (_token("id:\x00\x01"), "control characters"),
        (base64.b64encode(b"\xff\xfe:\xfa").decode(), "does not decode to text"),
    ],
    ids=[
        "empty",
        "blank",
        "prose",
        "link-without-token",
        "link-without-query",
        "empty-token",
        "bad-length",
        "padding-inside",
        "no-separator",
        "empty-id",
        "empty-key",
        "control-chars",
        "not-utf8",
    ],
)
def test_bad_input_says_what_is_wrong(text: str, words: str) -> None:
    """Each kind of bad input gets a CredentialsError naming the problem."""
    with pytest.raises(CredentialsError, match=words):
        parse_qr(text)


def test_errors_never_echo_the_token_or_key() -> None:
    """A key half-pasted into the wrong place is not repeated back into logs."""
    secret = "VerySecretKey123"
    for text in (
        _token(f"{secret}"),
        f"https://x.example/?tokn={_token('id:' + secret)}",
        _token(f":{secret}"),
    ):
        with pytest.raises(CredentialsError) as caught:
            parse_qr(text)
        assert secret not in str(caught.value)
        assert _token(secret) not in str(caught.value)
