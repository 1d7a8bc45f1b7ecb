"""The memory ceiling: `lianke-bridge run` in a 256 MiB memory cgroup survives what a client sends.

A Raspberry Pi with 1 GB runs Home Assistant and Mosquitto beside the bridge. Whatever one MQTT
client sends (200 prints of 5 MB at once, hostile payloads built to grow when decoded, payloads
over every limit), the bridge must stay under its ceiling (150 MiB of resident memory), answer
every request exactly once and run on. The bridge runs as the real command, in a memory cgroup
the OOM killer enforces, against the simulator and a real Mosquitto.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import platform
import random
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Literal

import pytest
from aiomqtt import ProtocolVersion
from bridge_harness import RunningBridge, make_config, until
from memory_cgroup import MemoryCgroup, process_memory
from mqtt_broker import MosquittoBroker, MqttProbe
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from test_cli import clean_env, cli_command, run_config

from lianke_bridge import malloc
from lianke_bridge.bridge.intake.arrival import ArrivalGate, Unread
from lianke_bridge.bridge.intake.backlog import SMALL_HEADROOM, over_budget
from lianke_bridge.bridge.requests.registry import parse_request
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.config.model import (
    DEFAULT_MAX_FILE_BYTES,
    default_packet_size,
    largest_payload,
)
from lianke_bridge.errors import CommandError
from lianke_bridge.malloc import Trimmer
from lianke_bridge.simulator import Simulator

MIB = 1024 * 1024
CGROUP_LIMIT = 256 * MIB
"""What the bridge may use at all: past it the OOM killer ends it."""
CEILING = 150 * MIB
"""The ceiling docs/reliability.md gives for the bridge's resident memory under any flood."""
FLOOD = 200
DOCUMENT = 5 * 1000 * 1000
"""Bytes of base64 in each flood print's payload (a 3.75 MB document)."""
AFTER = 1.2
"""Resident memory after the flood, at most, against before it."""
PUBLISHING = 16
"""Flood prints on their way to the broker at once (the test's own memory)."""
WAIT = 60.0
"""Seconds any awaited event may take (the machine is shared): generous, never slept."""


@dataclass
class Bridge:
    """``lianke-bridge run`` in its cgroup."""

    process: asyncio.subprocess.Process
    cgroup: MemoryCgroup
    log: Path

    def tail(self) -> str:
        """The end of its log, for failure messages."""
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def cgroup() -> Iterable[MemoryCgroup]:
    """A 256 MiB memory cgroup (skips where none can be made: not root, no controller)."""
    if sys.platform != "linux":
        pytest.skip("memory cgroups are Linux only")
    made = MemoryCgroup.create(CGROUP_LIMIT)
    if isinstance(made, str):
        pytest.skip(f"no writable memory cgroup here: {made}")
    yield made
    made.remove()


@contextlib.asynccontextmanager
async def bridge_in(cgroup: MemoryCgroup, config: str, tmp_path: Path) -> AsyncIterator[Bridge]:
    """Run the bridge in ``cgroup`` for the block (SIGTERM after it, SIGKILL if it hangs)."""
    path = tmp_path / "config.yaml"
    path.write_text(config, encoding="utf-8")
    log = tmp_path / "bridge.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *cgroup.command(*cli_command(), "run", "-c", str(path)),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=clean_env(),
        )
    try:
        yield Bridge(process, cgroup, log)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(10):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


# ---- what a client sends -------------------------------------------------------------------
def flood_print(number: int, document: str) -> bytes:
    """A 5 MB print, in one of the forms a file may come: base64, a data: URL, wrapped lines."""
    form = number % 3
    if form == 1:
        encoded = "data:application/pdf;base64," + document
    elif form == 2:  # MIME's 76-character lines
        encoded = "\n".join(document[i : i + 76] for i in range(0, len(document), 76))
    else:
        encoded = document
    payload = {"file": encoded, "filename": f"flood-{number}.pdf", "transaction": f"f{number}"}
    return json.dumps(payload).encode()


def hostile_payloads(rng: random.Random) -> list[tuple[str, bytes]]:
    """(command, payload) a careless or hostile client sends: built to be large when decoded."""
    return [
        ("print", b"[" + b"[]," * 1_700_000 + b"[]]"),  # 5 MB of empty lists: 100 MB decoded
        ("print", b"[" + b"{}," * 1_700_000 + b"{}]"),
        ("tasks", b'{"a": [' + b"1.5," * 1_000_000 + b"1]}"),
        ("print", b"[" * 200_000 + b"]" * 200_000),  # nested beyond any parser's depth
        ("print", json.dumps({"text": "x" * 1_200_000}).encode()),  # a long text print
        ("print", json.dumps({"text": "a,b,[c]\n" * 200_000}).encode()),  # CSV: many commas
        ("print", json.dumps({"file": "A" * (27 * MIB), "filename": "big.pdf"}).encode()),
        ("print", b'{"url": "https://x.test/\\ud800.pdf"}'),
        ("health_check", rng.randbytes(2 * MIB)),
        ("nope", rng.randbytes(3 * MIB)),
        *(("print", rng.randbytes(rng.randint(1, 512 * 1024))) for _ in range(20)),
    ]


def hostile_prints(hostile: list[tuple[str, bytes]]) -> int:
    """How many of the hostile payloads were prints (answered on the print topic too)."""
    return sum(command == "print" for command, _ in hostile)


def request_properties(answers: str, correlation: bytes) -> Properties:
    """MQTT 5: where to answer (besides the contract's topic) and the request's id."""
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ResponseTopic = answers
    properties.CorrelationData = correlation
    return properties


async def at_most(limit: int, jobs: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run the jobs with at most ``limit`` at once."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


def gone(probe: MqttProbe, base: str) -> bool:
    """Whether the bridge said ``offline`` (its will: the OOM killer ended it)."""
    last = probe.last(f"{base}/bridge/state")
    return last is not None and last.text == "offline"


async def answered_or_gone(probe: MqttProbe, base: str, topic: str, count: int) -> None:
    """Wait until ``count`` answers came on ``topic``, or the bridge is gone."""
    await probe.wait_for(
        f"{base}/#",
        lambda _m: len(probe.messages(topic)) >= count or gone(probe, base),
        timeout=WAIT,
    )


# ---- the test --------------------------------------------------------------------------------
async def test_a_flood_and_hostile_payloads_stay_under_the_ceiling_in_256_mib(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    cgroup: MemoryCgroup,
) -> None:
    """200 prints of 5 MB at once, then payloads built to grow: nothing lost, nothing killed.

    Every flood print is answered exactly once (``ok``, or ``rate_limited`` when the bridge is
    busy with large documents); every hostile payload gets exactly one error or answer (one
    over the size limit is refused unread); the bridge is alive at the end and its resident
    memory never passed 150 MiB, in a group the OOM killer holds to 256 MiB, and afterwards
    it goes back to within 1.2x of what it was before the flood.
    """
    config = run_config(simulator, mosquitto, base_topic, tmp_path / "state")
    request = f"{base_topic}/office/request/print"
    response = f"{base_topic}/office/response/print"
    answers = f"{base_topic}/hostile/answers"
    document = base64.b64encode(random.Random(1).randbytes(DOCUMENT * 3 // 4)).decode()  # noqa: S311
    subscribe = [f"{base_topic}/office/response/+", f"{base_topic}/bridge/state", answers]
    async with (
        MqttProbe(mosquitto.host, mosquitto.port, subscribe=subscribe, timeout=WAIT) as probe,
        bridge_in(cgroup, config, tmp_path) as bridge,
    ):
        await probe.wait_for(f"{base_topic}/bridge/state", lambda m: m.text == "online", WAIT)
        await probe.request(f"{base_topic}/office/request/printer_params", {}, timeout=WAIT)
        idle = process_memory(bridge.process.pid)

        def send_print(number: int) -> Callable[[], Awaitable[None]]:
            return lambda: probe.publish(request, flood_print(number, document))

        await at_most(PUBLISHING, (send_print(n) for n in range(FLOOD)))
        await answered_or_gone(probe, base_topic, response, FLOOD)

        hostile = hostile_payloads(random.Random(2))  # noqa: S311 - test data
        flood_answers = probe.messages(response)  # (hostile prints are answered there too)

        async def send_hostile(number: int, command: str, payload: bytes) -> None:
            properties = request_properties(answers, b"%d" % number)
            topic = f"{base_topic}/office/request/{command}"
            await probe.publish(topic, payload, properties=properties)

        if not gone(probe, base_topic):
            await asyncio.gather(*(send_hostile(n, *sent) for n, sent in enumerate(hostile)))
            await answered_or_gone(probe, base_topic, answers, len(hostile))
        alive = not gone(probe, base_topic) and bridge.process.returncode is None
        assert alive, f"the bridge died (OOM kills: {cgroup.oom_kills()}):\n{bridge.tail()}"
        # a sentinel through the same queue: anything still to come about the above is out
        sentinel = await probe.request(
            f"{base_topic}/office/request/tasks", {"transaction": "sentinel"}, timeout=WAIT
        )
        peak = process_memory(bridge.process.pid, "VmHWM")
        # what the flood took goes back to the system (glibc would keep it for good)
        try:
            await until(lambda: process_memory(bridge.process.pid) <= AFTER * idle, WAIT)
        except TimeoutError:
            now = process_memory(bridge.process.pid)
            pytest.fail(f"RSS stayed at {now / MIB:.0f} MiB (before the flood {idle / MIB:.0f})")
    assert sentinel.json()["status"] == "ok"
    flood = Counter(m.json()["transaction"] for m in flood_answers)
    assert flood == Counter(f"f{n}" for n in range(FLOOD)), "each print answered exactly once"
    assert len(probe.messages(response)) == len(flood_answers) + hostile_prints(hostile)
    codes = Counter(
        m.json()["status"] if m.json()["status"] == "ok" else m.json()["error"]["code"]
        for m in flood_answers
    )
    assert set(codes) <= {"ok", "rate_limited"}, codes
    assert codes["ok"] >= 1, codes
    hostile_answers = Counter(m.correlation_data for m in probe.messages(answers))
    assert hostile_answers == Counter(b"%d" % n for n in range(len(hostile)))
    assert peak <= CEILING, (
        f"peak RSS {peak / MIB:.0f} MiB over the {CEILING / MIB:.0f} MiB ceiling "
        f"(the group's peak: {(cgroup.peak() or 0) / MIB:.0f} MiB)\n{bridge.tail()}"
    )


# ---- the limits, one by one (the bridge in-process) ------------------------------------------
@pytest.mark.parametrize("protocol", ["5", "3.1.1"], ids=["mqtt5", "mqtt311"])
async def test_a_message_over_the_packet_size_is_stopped_before_it_is_read(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    protocol: Literal["5", "3.1.1"],
) -> None:
    """MQTT 5: the broker never sends the bridge a packet over ``mqtt.max_packet_size``.

    The bridge says its largest packet at connect (2 MiB here: 64 KiB files); the broker drops
    a larger message instead of sending it, so the bridge never holds it and nobody answers it.
    MQTT 3.1.1 cannot say it: the message arrives, and the bridge answers ``invalid_payload``
    without decoding it (the broker's ``message_size_limit`` is the protection there).
    """
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    config = replace(
        config,
        mqtt=replace(config.mqtt, protocol=protocol),
        jobs=replace(config.jobs, max_file_bytes=64 * 1024),
    )
    version = ProtocolVersion.V5 if protocol == "5" else ProtocolVersion.V311
    response = f"{base_topic}/office/response/print"
    async with MqttProbe(
        mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"], protocol=version
    ) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            await bridge.settle()
            seen = bridge.service.counters.messages_in
            payload = {"file": "A" * (3 * MIB), "filename": "big.pdf", "transaction": "big"}
            await probe.publish(f"{base_topic}/office/request/print", payload)
            await bridge.settle()
            read = bridge.service.counters.messages_in - seen
        finally:
            await bridge.stop()
    answers = [m.json() for m in probe.messages(response)]
    if protocol == "5":
        assert answers == []
        assert read == 2  # the two sentinels of settle(), not the print
    else:
        assert [a["error"]["code"] for a in answers] == ["invalid_payload"]
        assert "more than the limit" in answers[0]["error"]["message"]


# ---- the rules, pure --------------------------------------------------------------------------
def paho_message(payload: bytes) -> SimpleNamespace:
    """What the arrival gate sees of a message paho has read."""
    return SimpleNamespace(payload=payload)


def test_payloads_over_the_budget_are_freed_the_moment_they_arrive() -> None:
    """One large payload is let in; the next is freed at once, its size and transaction kept.

    A small request still fits beside a large document; a payload over the size limit is
    never kept, even alone.
    """
    gate = ArrivalGate(max_bytes=10 * MIB, max_payload=10 * MIB)
    second_payload = b'{"transaction": "t2", "text": "' + b"x" * (3 * MIB) + b'"}'
    first, second = paho_message(b"x" * (8 * MIB)), paho_message(second_payload)
    small, huge = paho_message(b'{"transaction": "s"}'), paho_message(b"y" * (11 * MIB))
    for message in (first, second, small, huge):
        gate.arrive(message)
    assert len(first.payload) == 8 * MIB
    assert isinstance(second.payload, Unread)
    assert (second.payload, second.payload.transaction) == (b"", "t2")
    assert (second.payload.size, second.payload.too_large) == (len(second_payload), False)
    assert small.payload == b'{"transaction": "s"}'
    assert isinstance(huge.payload, Unread)
    assert huge.payload.too_large
    assert gate.queued == 8 * MIB + len(small.payload)
    for message in (first, second, small, huge):
        gate.taken(message.payload)
    assert gate.queued == 0


def test_the_budget_counts_what_is_held_further_on() -> None:
    """Bytes waiting for a worker or being answered count against the same budget."""
    gate = ArrivalGate(max_bytes=10 * MIB, max_payload=10 * MIB)
    gate.held_elsewhere = lambda: 9 * MIB
    message = paho_message(b"x" * (2 * MIB))
    gate.arrive(message)
    assert isinstance(message.payload, Unread)
    assert not over_budget(0, 50 * MIB, 10 * MIB)  # nothing held: one payload always fits
    assert not over_budget(9 * MIB, 1000, 10 * MIB)  # small: a headroom beyond the budget
    assert over_budget(10 * MIB + SMALL_HEADROOM, 1000, 10 * MIB)


@pytest.mark.parametrize(
    "payload",
    [
        b"[" + b"[]," * 40_000 + b"[]]",
        b'{"url": "https://x.test/a.pdf", "copies": [' + b"1," * 40_000 + b"1]}",
    ],
    ids=["lists", "numbers"],
)
def test_a_payload_built_to_grow_when_decoded_is_refused_unread(payload: bytes) -> None:
    """Tens of thousands of tiny JSON values (100 bytes each decoded) are refused, not read."""
    with pytest.raises(CommandError) as caught:
        parse_request("print", payload, scope="device")
    assert caught.value.code == "invalid_payload"
    assert "more than 10,000 JSON values" in caught.value.message


def test_large_texts_and_documents_are_not_counted_as_values() -> None:
    """Commas and brackets inside strings (a CSV, a page's CSS, base64) are text, not values."""
    text = json.dumps({"text": "a,b,[c],{d}\n" * 50_000}).encode()
    assert parse_request("print", text, scope="device").command == "print"
    document = base64.b64encode(b"%PDF-1.4 " * 100_000).decode()
    payload = json.dumps({"file": document, "filename": "a.pdf"}).encode()
    assert parse_request("print", payload, scope="device").command == "print"


async def test_freed_memory_is_handed_back_after_a_large_payload() -> None:
    """A large payload freed makes one trim soon after (glibc); small ones make none."""
    trimmer = Trimmer(delay=0.0)
    trimmer.freed(1000)
    await asyncio.sleep(0)
    assert trimmer.trims == 0
    trimmer.freed(2 * MIB)
    trimmer.freed(2 * MIB)  # a burst: one trim
    await until(lambda: trimmer.trims > 0)
    assert trimmer.trims == 1
    assert malloc.trim() is (platform.libc_ver()[0] == "glibc")


def test_the_broker_we_ship_answers_at_once_and_limits_what_reaches_the_bridge() -> None:
    """The Compose Mosquitto and docs/broker.md's lines: Nagle off and a message size limit.

    The limit lets the largest print request through and stays below the bridge's own packet
    size, so what the broker takes reaches the bridge and gets an answer.
    """
    root = Path(__file__).resolve().parent.parent
    for shipped in (root / "docker/mosquitto/mosquitto.conf", root / "docs/broker.md"):
        lines = {
            line.split()[0]: line.split()[1:]
            for line in shipped.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#") and len(line.split()) == 2
        }
        assert lines["set_tcp_nodelay"] == ["true"], shipped
        limit = int(lines["message_size_limit"][0])
        largest = largest_payload(DEFAULT_MAX_FILE_BYTES)
        assert largest <= limit <= default_packet_size(DEFAULT_MAX_FILE_BYTES) - 64 * 1024
        assert int(lines["max_packet_size"][0]) > limit, shipped
