"""``print_test_page``: the bridge renders a test or maintenance page and prints it as a job.

Over a real Mosquitto against the simulator: one answer, the job the simulator receives (the
rendered HTML file, recorded with its text), the job followed as a print's is, and the clear
errors for a page or a printer that does not exist.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge_harness import RunningBridge, make_config
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge import __version__
from lianke_bridge.bridge.requests.pages import PageFacts, render
from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.print_options import PrintOptions
from lianke_bridge.simulator import Simulator

WALL = 1_937_000_000.0
"""The injected wall clock: 2031-05-20 (a time no test machine reads by chance)."""


class FixedWallClock:
    """A wall clock standing at :data:`WALL`; the machine's monotonic clock."""

    def wall(self) -> float:
        """Always :data:`WALL`."""
        return WALL

    def monotonic(self) -> float:
        """The machine's monotonic clock."""
        return time.monotonic()


def submissions(simulator: Simulator) -> list[Any]:
    """The print jobs the simulator received, oldest first."""
    return [r for r in simulator.requests if r.path == "/api/print/job" and r.method == "POST"]


async def run(
    simulator: Simulator,
    mosquitto: MosquittoBroker,
    base_topic: str,
    tmp_path: Path,
    requests: list[tuple[str, Any]],
    *,
    follow: bool = False,
    **changes: Any,
) -> list[Any]:
    """Send ``(device, payload)`` print_test_page requests; their answers (one each)."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state", **changes)
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config, clock=FixedWallClock()), probe)
        await bridge.start()
        try:
            answers = [await bridge.request(d, "print_test_page", p) for d, p in requests]
            if follow:
                task_id = answers[0]["data"]["task_id"]
                await bridge.wait_json(f"office/job/{task_id}", lambda j: j["state"] == "succeeded")
                await bridge.wait_json(
                    "office/event",
                    lambda e: e["event"] == "job_finished" and e["job"]["task_id"] == task_id,
                )
        finally:
            await bridge.stop()
    return answers


async def test_the_test_page_is_printed_and_followed_as_a_job(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """One answer with the job; the simulator gets test-page.html naming box, port, version."""
    (answer,) = await run(
        simulator,
        mosquitto,
        base_topic,
        tmp_path,
        [("office", {"port": 1, "transaction": "tp1"})],
        follow=True,
    )
    assert answer["status"] == "ok", answer
    assert answer["transaction"] == "tp1"
    data = answer["data"]
    assert (data["port"], data["job"]["task_id"]) == (1, data["task_id"])
    (sent,) = submissions(simulator)
    assert sent.fields["devicePort"] == "1"
    document = sent.fields["jobFile"]
    assert document["filename"] == "test-page.html"
    page = document["text"]
    assert "Test page" in page
    assert "<td>office</td>" in page
    assert "<td>1 (USB 1)</td>" in page
    assert f"lianke-bridge {__version__}" in page
    assert "Kyocera MA2000w GX" in page
    assert "<td>A4</td>" in page
    local = datetime.fromtimestamp(WALL).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert local in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing external
    assert "<script" not in page


async def test_the_maintenance_page_is_in_colour(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """page=maintenance sends the colour page, asking for colour, on the printer's paper."""
    (answer,) = await run(
        simulator,
        mosquitto,
        base_topic,
        tmp_path,
        [("office", {"port": "631", "page": "maintenance"})],
    )
    assert answer["status"] == "ok", answer
    assert answer["data"]["port"] == 1  # the API's port of a network printer, as print answers
    (sent,) = submissions(simulator)
    document = sent.fields["jobFile"]
    assert document["filename"] == "maintenance-page.html"
    page = document["text"]
    for colour in ("#00ffff", "#ff00ff", "#ffff00", "#000000", "#ff0000", "#00ff00", "#0000ff"):
        assert f'fill="{colour}"' in page, colour
    assert "Nozzle check" in page
    assert "<td>office</td>" in page
    assert sent.fields["dmColor"] == "2"


async def test_the_paper_is_the_ports_default(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """A port's print_defaults paper is the page's, and the page names it; its copies are not."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "unused")
    office = config.devices[0]
    defaults = {1: PrintOptions(paper="A5", copies=3)}
    devices = (replace(office, print_defaults=defaults), *config.devices[1:])
    (answer,) = await run(
        simulator, mosquitto, base_topic, tmp_path, [("office", {"port": 1})], devices=devices
    )
    assert answer["status"] == "ok", answer
    (sent,) = submissions(simulator)
    assert "<td>A5</td>" in sent.fields["jobFile"]["text"]
    assert sent.fields["dmPaperSize"] == "11"
    assert "dmCopies" not in sent.fields


async def test_a_wrong_page_or_printer_is_refused_once(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """An unknown page, an unknown field and a port without a printer: one clear error each."""
    answers = await run(
        simulator,
        mosquitto,
        base_topic,
        tmp_path,
        [
            ("office", {"port": 1, "page": "nozzle", "transaction": "bad"}),
            ("office", {"printer": 1}),
            ("office", {"port": 7}),
        ],
    )
    page, field, printer = answers
    assert page["status"] == "error"
    assert page["transaction"] == "bad"
    assert page["error"]["code"] == "invalid_payload"
    assert page["error"]["message"] == (
        "page 'nozzle' is not a page the bridge prints; use test or maintenance"
    )
    assert field["error"]["code"] == "invalid_payload"
    assert field["error"]["message"] == (
        "unknown field 'printer'; print_test_page takes port, page (and transaction)"
    )
    assert printer["error"]["code"] == "unknown_port"
    assert "7" in printer["error"]["message"]
    assert submissions(simulator) == []


def test_the_pages_escape_what_they_show() -> None:
    """A box name is text on the page, never markup."""
    facts = PageFacts(
        version="1.0",
        box="<b>office</b>",
        port=631,
        printer=None,
        paper="A4",
        time=datetime.fromtimestamp(WALL).astimezone(),
    )
    for page in ("test", "maintenance"):
        text = render(page, facts).decode("utf-8")
        assert "&lt;b&gt;office&lt;/b&gt;" in text
        assert "<b>office" not in text
        assert "network" in text
