"""Hostile HTTP against the simulator: whatever arrives, the answer is 4xx, never 5xx.

A simulator that answers 500 to bad input hides how a client copes with a cloud that answers
400, and a traceback in its log means a request reached code that did not expect it. The raw
requests here are written byte by byte (asyncio streams, blocking sockets for hypothesis), so
nothing in between repairs them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lianke_bridge.simulator import Simulator

API_PATHS = (
    "/api/external_api/printer_list",
    "/api/print/printer_params",
    "/api/print/paper_dimension_list",
    "/api/print/printer_enum",
    "/api/print/job",
    "/api/device/device_info",
    "/api/device/printer_status",
    "/api/print/query_device_task",
    "/api/driver/uninstall_driver_event",
    "/api/device/async_refresh_device_info",
    "/api/printer/refresh_network_printer",
    "/api/print/file_pages",
    "/api/print/reset_printing_error_limit",
    "/api/device/async_device_reboot",
    "/api/print/flush_jobs",
)
ADMIN_PATHS = ("/_sim/faults", "/_sim/requests", "/_sim/state")
PARAMETERS = (
    "deviceId",
    "deviceKey",
    "devicePort",
    "usbPort",
    "printerType",
    "printerModel",
    "task_id",
    "jobFile",
    "urlFileExt",
    "dmPaperSize",
    "jpScale",
    "jpAutoScale",
    "errLimitNum",
    "reportDeviceStatus",
    "reportPrinterStatus",
    "targetIp",
    "taskTicket",
    "callbackUrl",
    "printerId",
    "phone",
    "query",
    "fault",
    "status",
    "count",
    "seconds",
    "path",
    "device_id",
    "port",
)


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything aiohttp and the simulator log; the test fails on any traceback or error."""
    caplog.set_level(logging.INFO)
    yield caplog
    bad = [
        r
        for r in caplog.records
        if r.exc_info is not None
        or (r.levelno >= logging.ERROR and r.name.startswith(("aiohttp", "lianke_bridge")))
    ]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


def status_of(answer: bytes) -> int | None:
    """The status code of a raw HTTP answer (None: the connection closed without one)."""
    if not answer:
        return None
    line = answer.split(b"\r\n", 1)[0].split()
    assert line[0].startswith(b"HTTP/1."), answer[:80]
    return int(line[1])


def body_of(answer: bytes) -> Any:
    """The JSON body of a raw answer."""
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def raw_request(
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    content_length: int | None = None,
) -> bytes:
    """An HTTP/1.1 request as bytes; ``content_length`` may lie about the body."""
    lines = [f"{method} {target} HTTP/1.1", "Host: sim", "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if "Transfer-Encoding" not in (headers or {}):
        lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return "\r\n".join(lines).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body


async def send(sim: Simulator, request: bytes, *, half_close: bool = False) -> bytes:
    """Send raw bytes to the simulator and read the whole answer."""
    host, port = sim.url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        if half_close:
            writer.write_eof()
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()


def api_headers(sim: Simulator, content_type: str | None = None) -> dict[str, str]:
    """The simulator's ApiKey, and a Content-Type if given."""
    headers = {"ApiKey": sim.fleet.api_key}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def creds_form(sim: Simulator) -> bytes:
    """The first box's credentials, urlencoded."""
    box = sim.fleet.boxes[0]
    return f"deviceId={box.device_id}&deviceKey={box.device_key}".encode()


# ---------------------------------------------------------------------------- named cases


def multipart(boundary: str, parts: list[tuple[str, bytes]]) -> bytes:
    """A multipart body from (part headers, content) pairs."""
    out = b""
    for head, content in parts:
        out += f"--{boundary}\r\n{head}\r\n\r\n".encode() + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--"),
        (
            "multipart/form-data; boundary=wrong",
            multipart("right", [('Content-Disposition: form-data; name="deviceId"', b"x")]),
        ),
        (
            "multipart/form-data; boundary=b",
            multipart("b", [("Content-Disposition: form-data", b"no name")]),
        ),
        (
            "multipart/form-data; boundary=b",
            multipart(
                "b",
                [
                    (
                        (
                            'Content-Disposition: form-data; name="deviceId"\r\n'
                            "Content-Type: text/plain; charset=utf-8"
                        ),
                        b"\xff\xfe\xfa",
                    )
                ],
            ),
        ),
        (
            "multipart/form-data; boundary=b",
            multipart(
                "b",
                [
                    (
                        (
                            'Content-Disposition: form-data; name="deviceId"\r\n'
                            "Content-Type: text/plain; charset=no-such-charset"
                        ),
                        b"lc01",
                    )
                ],
            ),
        ),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"deviceId=lc01"),
        ("application/x-www-form-urlencoded; charset=utf-8", b"deviceId=%FF%FE\xff"),
        ("application/json", b"[" * 100_000 + b"]" * 100_000),
        ("application/json", b'{"deviceId": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("application/json; charset=no-such-charset", b'{"deviceId": "lc01"}'),
        ("application/json", b"\xff\xfe{not json"),
    ],
    ids=[
        "multipart-without-boundary",
        "multipart-wrong-boundary",
        "part-without-name",
        "non-utf8-part",
        "bogus-part-charset",
        "urlencoded-bogus-charset",
        "urlencoded-non-utf8",
        "json-100k-deep",
        "json-deep-value",
        "json-bogus-charset",
        "json-garbage",
    ],
)
@pytest.mark.parametrize("path", ["/api/print/job", "/api/print/flush_jobs"])
async def test_unreadable_bodies_are_400_in_the_clouds_envelope(
    simulator: Simulator,
    server_log: pytest.LogCaptureFixture,
    path: str,
    content_type: str,
    body: bytes,
) -> None:
    """Each body the simulator cannot read answers 400 (or the refusal its fields earn)."""
    answer = await send(
        simulator,
        raw_request("POST", path, headers=api_headers(simulator, content_type), body=body),
    )
    assert status_of(answer) == 200, answer[:200]
    envelope = body_of(answer)
    assert set(envelope) == {"code", "msg"}
    assert envelope["code"] in (400, 404), envelope


async def test_truncated_body_never_gets_500(
    simulator: Simulator, server_log: pytest.LogCaptureFixture
) -> None:
    """A body shorter than its Content-Length, then the end of the stream: no 500."""
    request = raw_request(
        "POST",
        "/api/print/job",
        headers=api_headers(simulator, "application/x-www-form-urlencoded"),
        body=creds_form(simulator),
        content_length=500,
    )
    answer = await send(simulator, request, half_close=True)
    assert status_of(answer) in (None, 400, 200)


async def test_broken_chunked_body_is_a_4xx(
    simulator: Simulator, server_log: pytest.LogCaptureFixture
) -> None:
    """A chunked body that breaks off mid-chunk is refused, not a 500."""
    request = raw_request(
        "POST",
        "/api/print/job",
        headers={
            **api_headers(simulator, "multipart/form-data; boundary=b"),
            "Transfer-Encoding": "chunked",
        },
        body=b'ff\r\n--b\r\nContent-Disposition: form-data; name="deviceId"\r\n\r\nx',
    )
    answer = await send(simulator, request, half_close=True)
    status = status_of(answer)
    assert status is None or 400 <= status < 500 or status == 200


@pytest.mark.parametrize(
    "value",
    [{"a": 1}, [1, 2], [[[[[]]]]]],
    ids=["object", "list", "nested"],
)
async def test_json_parameter_of_the_wrong_type_is_400(
    simulator: Simulator, server_log: pytest.LogCaptureFixture, value: Any
) -> None:
    """A JSON object or list where deviceId, devicePort or query belongs is 400, naming it."""
    box = simulator.fleet.boxes[0]
    cases = [
        ("/api/print/flush_jobs", {"deviceId": value, "deviceKey": box.device_key}, "deviceId"),
        (
            "/api/print/flush_jobs",
            {"deviceId": box.device_id, "deviceKey": box.device_key, "devicePort": value},
            "devicePort",
        ),
        ("/api/print/printer_enum", {"query": value}, "query"),
    ]
    for path, fields, name in cases:
        body = json.dumps(fields).encode()
        answer = await send(
            simulator,
            raw_request(
                "POST", path, headers=api_headers(simulator, "application/json"), body=body
            ),
        )
        assert body_of(answer) == {"code": 400, "msg": f"{name}参数类型错误"}


async def test_request_log_survives_any_bytes(
    simulator: Simulator, server_log: pytest.LogCaptureFixture
) -> None:
    """A query with %FF%FE (or lone surrogates in JSON) never breaks GET /_sim/requests."""
    await send(
        simulator,
        raw_request(
            "GET",
            "/api/device/device_info?deviceId=%FF%FE&deviceKey=%ED%A0%80",
            headers=api_headers(simulator),
        ),
    )
    await send(
        simulator,
        raw_request(
            "POST",
            "/api/print/flush_jobs",
            headers=api_headers(simulator, "application/json"),
            body=b'{"deviceId": "\\udcff", "deep": ' + b"[" * 200 + b"]" * 200 + b"}",
        ),
    )
    answer = await send(simulator, raw_request("GET", "/_sim/requests"))
    assert status_of(answer) == 200
    logged = body_of(answer)
    assert len(logged) == 2
    assert logged[0]["query"]["deviceId"] == "\ufffd\ufffd"


@pytest.mark.parametrize(
    "fault",
    [
        {"fault": "http_error", "status": 99},
        {"fault": "http_error", "status": 600},
        {"fault": "http_error", "status": "503"},
        {"fault": "slow", "seconds": "5"},
        {"fault": "slow", "seconds": True},
        {"fault": "slow", "seconds": -1},
        {"fault": "rate_limit", "count": 0},
        {"fault": "api_error", "code": 1.5},
        {"fault": "unplug_printer", "device_id": ["lc01demo000001"], "port": 1},
        {"fault": "unplug_printer", "device_id": "lc01demo000001", "port": "1"},
        {"fault": "printer_problem", "device_id": "lc01demo000001", "port": 1, "paper_out": 1},
        {"fault": "advance_clock", "seconds": -5},
        {"fault": ["clear"]},
        ["clear"],
        "clear",
    ],
)
async def test_admin_faults_refuse_bad_input(
    simulator: Simulator, server_log: pytest.LogCaptureFixture, fault: Any
) -> None:
    """Wrong types and values for /_sim/faults are 400 with a reason; nothing is installed."""
    answer = await send(
        simulator,
        raw_request("POST", "/_sim/faults", body=json.dumps(fault).encode()),
    )
    assert status_of(answer) == 400, answer
    assert body_of(answer)["ok"] is False
    assert simulator.faults.request_faults == []


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b"\xff\xfe", b"{", b""],
    ids=["deep", "not-utf8", "cut-off", "empty"],
)
async def test_admin_faults_refuse_unreadable_bodies(
    simulator: Simulator, server_log: pytest.LogCaptureFixture, body: bytes
) -> None:
    """A body that is not JSON at all is a 400 too."""
    answer = await send(
        simulator,
        raw_request(
            "POST",
            "/_sim/faults",
            headers={"Content-Type": "application/json; charset=no-such-charset"},
            body=body,
        ),
    )
    assert status_of(answer) == 400


# ---------------------------------------------------------------------------- property test

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
scalar_text = st.text(max_size=30) | st.sampled_from(["1", "0", "-1", "631", "9", "fit", ".pdf"])


@st.composite
def hostile_bodies(draw: st.DrawFn, fields: dict[str, Any]) -> bytes:
    """A body: the fields as JSON, urlencoded or multipart, or raw bytes, deep JSON, nothing."""
    kind = draw(st.sampled_from(["json", "form", "multipart", "raw", "deep", "none"]))
    if kind == "json":
        return json.dumps(fields, allow_nan=True).encode()
    if kind == "form":
        return "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in fields.items()).encode()
    if kind == "multipart":
        parts = [
            (f'Content-Disposition: form-data; name="{k}"', str(v).encode())
            for k, v in fields.items()
        ]
        if draw(st.booleans()):
            parts.append(
                ('Content-Disposition: form-data; name="jobFile"; filename="a.pdf"', b"%PDF-1.4")
            )
        if draw(st.booleans()):
            parts.append(("Content-Disposition: form-data", b"nameless"))
        return multipart("b", parts)
    if kind == "raw":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        depth = draw(st.integers(min_value=1, max_value=50_000))
        return b"[" * depth + b"]" * draw(st.integers(min_value=0, max_value=depth))
    return b""


@st.composite
def hostile_requests(draw: st.DrawFn, api_key: str, device_id: str, device_key: str) -> bytes:
    """One hostile HTTP request: any endpoint, method, query, content type and body."""
    method = draw(st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]))
    path = draw(st.sampled_from((*API_PATHS, *ADMIN_PATHS, "/nowhere", "/api/print/")))
    creds = {"deviceId": device_id, "deviceKey": device_key}
    names = st.sampled_from(PARAMETERS) | st.text(string.printable, max_size=8)
    fields: dict[str, Any] = draw(st.dictionaries(names, json_values, max_size=6))
    if draw(st.booleans()):
        fields = {**creds, **fields}
    query_fields = draw(st.dictionaries(names, scalar_text, max_size=4))
    if draw(st.booleans()):
        query_fields = {**creds, **query_fields}
    query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query_fields.items())
    query += draw(st.sampled_from(["", "&x=%FF%FE", "&%ED%A0%80=1", "&deviceId"]))
    content_type = draw(
        st.sampled_from(
            [
                None,
                "application/json",
                "application/json; charset=utf-16",
                "application/json; charset=bogus",
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=bogus",
                "multipart/form-data",
                "multipart/form-data; boundary=b",
                "multipart/form-data; boundary=",
                "text/plain",
            ]
        )
    )
    body = draw(hostile_bodies(fields))
    if draw(st.integers(min_value=0, max_value=9)) < 8:  # mostly the right key: reach the handlers
        headers = {"ApiKey": api_key}
    else:
        headers = {"ApiKey": draw(st.text(string.printable.strip(), max_size=10))}
    if content_type is not None:
        headers["Content-Type"] = content_type
    target = path + ("?" + query if query else "")
    return raw_request(method, target, headers=headers, body=body)


def send_blocking(url: str, request: bytes) -> bytes:
    """The blocking twin of ``send`` for hypothesis's worker thread."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


async def test_hostile_requests_never_get_5xx(
    simulator: Simulator, server_log: pytest.LogCaptureFixture
) -> None:
    """Hypothesis sends hostile requests to every endpoint; none is answered 5xx.

    Faults installed by a fuzzed ``POST /_sim/faults`` are cleared after every request, so no
    5xx is ever one a fault asked for. At the end the request log still reads.
    """
    loop = asyncio.get_running_loop()
    box = simulator.fleet.boxes[0]

    def clear() -> None:
        async def run() -> None:
            simulator.faults.clear()

        asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    @settings(
        max_examples=250,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=hostile_requests(simulator.fleet.api_key, box.device_id, box.device_key))
    def check(request: bytes) -> None:
        try:
            status = status_of(send_blocking(simulator.url, request))
        finally:
            clear()
        assert status is None or status < 500, request[:300]

    await asyncio.to_thread(check)
    log = await send(simulator, raw_request("GET", "/_sim/requests"))
    assert status_of(log) == 200
    assert isinstance(body_of(log), list)
