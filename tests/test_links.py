"""Print links judged as the cloud's fetcher reads them: a corpus of parser confusions, both ways.

The judge is ada (the WHATWG URL parser inside Node.js), standing for the fetcher the cloud is
likely to use. A link the bridge accepts must name, for ada, the very host the bridge checked,
before and after the bridge rewrites it, and what the bridge forwards must be a link ada leaves
as it is (so every fetcher that follows the standard fetches exactly that).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from ada_url import URL
from bridge_harness import RunningBridge, make_config
from hypothesis import given, settings
from hypothesis import strategies as st
from mqtt_broker import MosquittoBroker

from lianke_bridge.bridge.requests.links import canonical_link
from lianke_bridge.bridge.requests.registry import parse_request
from lianke_bridge.config import Config, validate_config
from lianke_bridge.errors import CommandError, ConfigError, InvalidValueError
from lianke_bridge.hosts import host_allowed, normalise_host
from lianke_bridge.simulator import Simulator

ALLOWED = ("example.com",)

REFUSED: list[tuple[str, str]] = [
    # urlsplit reads example.com, WHATWG fetchers the address before the backslash
    ("http://169.254.169.254\\@example.com/x.pdf", "backslash"),
    ("http://example.com\\@169.254.169.254/x.pdf", "backslash"),
    ("https:\\\\example.com\\x.pdf", "backslash"),
    ("http://example.com/x\\y.pdf", "backslash"),
    # user info: which '@' ends it is where parsers part
    ("http://user:pass@example.com/x.pdf", "user info"),
    ("http://example.com@169.254.169.254/x.pdf", "user info"),
    ("http://@example.com/x.pdf", "user info"),
    ("http://example.com%2F@169.254.169.254/x.pdf", "user info"),
    ("http://example.com:80@169.254.169.254/", "user info"),
    # read alike by both, and not on the list
    ("http://169.254.169.254#@example.com/x.pdf", "not in the bridge's allowed hosts"),
    ("http://169.254.169.254?@example.com/x.pdf", "not in the bridge's allowed hosts"),
    ("http://example.com.169.254.169.254.nip.io/x.pdf", "not in the bridge's allowed hosts"),
    ("http://notexample.com/x.pdf", "not in the bridge's allowed hosts"),
    ("http://[::ffff:169.254.169.254]/x.pdf", "not in the bridge's allowed hosts"),
    # percent-encoded hosts: WHATWG decodes them, urlsplit does not
    ("http://exa%6Dple.com/x.pdf", "no '%'"),
    ("http://example.com%00.evil.test/x.pdf", "no '%'"),
    ("http://[fe80::1%25eth0]/x.pdf", "no '%'"),
    # IPv4 addresses in forms WHATWG reads (127.0.0.1 each) and others take for names
    ("http://0x7f.1/x.pdf", "its last part is a number"),
    ("http://2130706433/x.pdf", "its last part is a number"),
    ("http://127.1/x.pdf", "its last part is a number"),
    ("http://0177.0.0.1/x.pdf", "its last part is a number"),
    ("http://127.0.0.0x1/x.pdf", "its last part is a number"),
    ("http://example.com.0x7f/x.pdf", "its last part is a number"),
    ("http://999.1.1.1/x.pdf", "its last part is a number"),
    # hosts only one of the parsers takes
    ("http://[::1]x/x.pdf", "is not a valid URL"),
    ("http://[v1.example.com]/x.pdf", "neither a host name"),
    ("http://ex_ample.com/x.pdf", "neither a host name"),
    ("http://xn--zz.com/x.pdf", "neither a host name"),
    ("http://example.com\uff0f169.254.169.254/x.pdf", "is not a valid URL"),
    # ports
    ("http://example.com:80:80/x.pdf", "port must be a number from 1 to 65535"),
    ("http://example.com:+80/x.pdf", "port must be a number from 1 to 65535"),
    ("http://example.com:\u0668\u0660/x.pdf", "port must be a number from 1 to 65535"),
    ("http://example.com:65536/x.pdf", "port must be a number from 1 to 65535"),
    ("http://example.com:0/x.pdf", "port 0"),
    # no '//': WHATWG finds a host, urlsplit none
    ("http:/example.com/x.pdf", "an http link starts with http://"),
    ("http:example.com/x.pdf", "an http link starts with http://"),
    ("http:///example.com/x.pdf", "has no host name"),
    # paths some fetchers resolve and others send as they are
    ("http://example.com/a/../x.pdf", "'..' path segment"),
    ("http://example.com/%2e%2E/x.pdf", "'..' path segment"),
    ("http://example.com/./x.pdf", "'..' path segment"),
    ("http://example.com/x%zz.pdf", "not followed by two hex digits"),
    ("http://example.com/100%.pdf", "not followed by two hex digits"),
    # what WHATWG silently strips or keeps and others refuse
    ("http://example.com/\tx.pdf", "spaces or line breaks"),
    ("http://exam\nple.com/x.pdf", "spaces or line breaks"),
    ("http://example.com/x.pdf\x7f", "spaces or line breaks"),
    ("http://example.com/x\x85.pdf", "spaces or line breaks"),
    ("http://example.com\u3000.evil.test/x.pdf", "spaces or line breaks"),
    # not a web link
    ("javascript://example.com/%0aalert(1)", "scheme 'javascript'"),
    ("file:///etc/passwd", "scheme 'file'"),
]

ACCEPTED: list[tuple[str, str]] = [
    ("https://example.com/a.pdf", "https://example.com/a.pdf"),
    ("HTTPS://Docs.Example.COM/Report.PDF", "https://docs.example.com/Report.PDF"),
    ("http://example.com:80/a.pdf", "http://example.com/a.pdf"),
    ("https://example.com:443/a.pdf", "https://example.com/a.pdf"),
    ("http://example.com:08080/a.pdf", "http://example.com:8080/a.pdf"),
    ("http://example.com:/a.pdf", "http://example.com/a.pdf"),
    ("http://example.com", "http://example.com/"),
    ("http://example.com?x=1", "http://example.com/?x=1"),
    ("https://example.com/x.pdf?", "https://example.com/x.pdf"),
    ("https://example.com/r\u00e9sum\u00e9.pdf", "https://example.com/r%C3%A9sum%C3%A9.pdf"),
    (
        "https://example.com/a.pdf?name=\u6587\u4ef6&q='y'",
        "https://example.com/a.pdf?name=%E6%96%87%E4%BB%B6&q=%27y%27",
    ),
    ("https://example.com/a|b^c`{}.pdf", "https://example.com/a%7Cb%5Ec%60%7B%7D.pdf"),
    ("https://example.com/a.pdf?q=[1]", "https://example.com/a.pdf?q=%5B1%5D"),
    ("https://example.com/a.pdf#page=2", "https://example.com/a.pdf#page=2"),
    ("https://example.com/a%20b.pdf", "https://example.com/a%20b.pdf"),
    ("https://example.com/@team/..a/b.pdf", "https://example.com/@team/..a/b.pdf"),
    (
        "https://s3.example.com/b/k.pdf?X-Amz-Date=20250101T000000Z&X-Amz-Signature=ab%2Fcd",
        "https://s3.example.com/b/k.pdf?X-Amz-Date=20250101T000000Z&X-Amz-Signature=ab%2Fcd",
    ),
    # international names as WHATWG writes them (UTS #46: faß.de is not fass.de)
    ("https://\u4f8b\u3048.jp/a.pdf", "https://xn--r8jz45g.jp/a.pdf"),
    ("https://fa\u00df.de/a.pdf", "https://xn--fa-hia.de/a.pdf"),
    ("https://\uff45xample.com/a.pdf", "https://example.com/a.pdf"),
    ("https://example\u3002com/a.pdf", "https://example.com/a.pdf"),
    ("https://docs\u200b.example.com/a.pdf", "https://docs.example.com/a.pdf"),
    ("https://docs.example.com./a.pdf", "https://docs.example.com./a.pdf"),
    # addresses
    ("http://192.168.1.20/scan.pdf", "http://192.168.1.20/scan.pdf"),
    ("http://[2001:DB8:0:0:0:0:0:1]:8080/a.pdf", "http://[2001:db8::1]:8080/a.pdf"),
    ("http://[::ffff:192.168.1.20]/a.pdf", "http://[::ffff:c0a8:114]/a.pdf"),
    ("http://[1:0:0:1:0:0:0:1]/a.pdf", "http://[1:0:0:1::1]/a.pdf"),
]


def _fetcher_host(link: str) -> str | None:
    """The host a WHATWG fetcher reads in ``link``, normalised as the bridge compares hosts."""
    return normalise_host(URL(link).hostname)


@pytest.mark.parametrize(("url", "says"), REFUSED)
def test_a_confusing_link_is_refused_with_a_reason(url: str, says: str) -> None:
    """Each confusion is refused by the print parser, naming what is wrong in one sentence."""
    payload = json.dumps({"url": url}).encode()
    with pytest.raises(CommandError) as caught:
        parse_request("print", payload, scope="device", allowed_hosts=ALLOWED)
    assert caught.value.code == "invalid_payload"
    assert says in caught.value.message
    assert len(caught.value.message) < 400  # the link is echoed cut short


@pytest.mark.parametrize(("url", "forwarded"), ACCEPTED)
def test_a_good_link_is_forwarded_in_canonical_form(url: str, forwarded: str) -> None:
    """A good link passes, rewritten in a form a WHATWG parser leaves as it is.

    ada reads the same host in the link received and the link forwarded, and so does urlsplit.
    """
    assert canonical_link(url) == forwarded
    assert URL(forwarded).href == forwarded
    python_host = urlsplit(forwarded).hostname
    assert python_host is not None
    assert _fetcher_host(url) == _fetcher_host(forwarded) == normalise_host(python_host)


def test_the_allowlist_judges_the_host_the_fetcher_reads() -> None:
    """Names below an allowed one pass; the forwarded link's host is allowed for ada too."""
    for url in ("https://example.com/a.pdf", "https://Docs.EXAMPLE.com:443/a.pdf"):
        forwarded = canonical_link(url, ALLOWED)
        host = _fetcher_host(forwarded)
        assert host is not None
        assert host_allowed(host, ALLOWED)


PIECES = st.sampled_from(
    [
        "example.com",
        "169.254.169.254",
        "evil.test",
        "docs.",
        "\\",
        "@",
        ":",
        "/",
        "?",
        "#",
        "%",
        "%2e",
        "%40",
        ".",
        "..",
        "0x7f",
        "1",
        "[",
        "]",
        "::1",
        ":80",
        "user:pw@",
        "\u00df",
        "\u3002",
        "\u200b",
        "\uff0e",
        "\t",
        "a",
        "-",
    ]
)


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(["http://", "https://", "HTTP://", "http:/", "http:\\\\"]),
    st.lists(PIECES, max_size=3),
    st.lists(PIECES, max_size=5),
)
def test_no_accepted_link_points_a_fetcher_elsewhere(
    scheme: str, before: list[str], after: list[str]
) -> None:
    """Whatever pieces surround the allowed host: if the bridge takes it, ada reads that host."""
    url = scheme + "".join(before) + "example.com" + "".join(after)
    try:
        forwarded = canonical_link(url, ALLOWED)
    except InvalidValueError:
        return
    assert URL(forwarded).href == forwarded
    assert _fetcher_host(url) == _fetcher_host(forwarded)
    host = _fetcher_host(url)
    assert host is not None
    assert host_allowed(host, ALLOWED)


def test_the_allowlist_takes_international_names_as_links_are_read() -> None:
    """jobs.allowed_hosts reads faß.de as WHATWG does, and refuses hosts a link could not have."""
    raw: dict[str, Any] = {
        "lianke": {"api_key": "test-api-key-123"},
        "devices": [{"device_id": "LC01TEST0001", "device_key": "test-device-key-1"}],
    }
    config = validate_config({**raw, "jobs": {"allowed_hosts": ["Fa\u00df.de", "[::1]"]}})
    assert config.jobs.allowed_hosts == ("xn--fa-hia.de", "::1")
    assert canonical_link("https://fa\u00df.de/a.pdf", config.jobs.allowed_hosts)
    for bad in ("127.1", "0x7f.1", "[example.com]", "exa%6Dple.com"):
        with pytest.raises(ConfigError, match="allowed_hosts"):
            validate_config({**raw, "jobs": {"allowed_hosts": [bad]}})


# ---- end to end ---------------------------------------------------------------------------
@pytest.fixture
def bridge_config(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> Config:
    """The demo fleet's bridge, printing only from example.com."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    return replace(config, jobs=replace(config.jobs, allowed_hosts=ALLOWED))


async def test_a_confusing_link_gets_one_error_and_prints_nothing(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """The backslash link is answered once, invalid_payload, and the cloud is never asked."""
    url = "http://169.254.169.254\\@example.com/x.pdf"
    envelope = await running_bridge.request("office", "print", {"url": url, "transaction": "t1"})
    assert envelope["status"] == "error"
    assert envelope["error"]["code"] == "invalid_payload"
    assert "backslash" in envelope["error"]["message"]
    assert envelope["transaction"] == "t1"
    assert simulator.count("/api/print/job", method="POST") == 0


async def test_the_cloud_gets_the_link_rewritten(
    running_bridge: RunningBridge, simulator: Simulator
) -> None:
    """A good link in an odd spelling prints, and the cloud receives its canonical form."""
    url = "HTTPS://Docs.Example.COM:443/r\u00e9sum\u00e9.pdf"
    envelope = await running_bridge.request("office", "print", {"url": url})
    assert envelope["status"] == "ok", envelope
    jobs = [r for r in simulator.requests if r.path == "/api/print/job" and r.method == "POST"]
    assert [job.fields["jobFile"] for job in jobs] == [
        "https://docs.example.com/r%C3%A9sum%C3%A9.pdf"
    ]
