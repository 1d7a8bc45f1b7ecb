"""A print when the cloud is slow to say, or cannot say, what the printer can do.

A paper name is looked up in the printer's lists (printer_params, paper_dimension_list) and a
port's printers in the box's printer_list: when the cloud does not give them, a valid print is
never refused as a bad payload, nor printed on a guessed paper. It waits for them, or answers
the cloud's own error. The faults are the simulator's; the office laser's "16K" (id 257) is
only in its paper_dimension_list.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge_harness import RunningBridge, make_config
from mqtt_broker import MosquittoBroker, MqttProbe

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.print_options import PrintOptions
from lianke_bridge.simulator import Simulator

URL = "https://x.test/a.pdf"


@contextlib.asynccontextmanager
async def bridge_with_16k_default(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> AsyncIterator[RunningBridge]:
    """A running bridge whose office port 1 prints on 16K, 3 copies, unless told otherwise."""
    config = make_config(simulator, mosquitto, base_topic, tmp_path / "state")
    office = replace(config.devices[0], print_defaults={1: PrintOptions(paper="16K", copies=3)})
    config = replace(config, devices=(office, *config.devices[1:]))
    async with MqttProbe(mosquitto.host, mosquitto.port, subscribe=[f"{base_topic}/#"]) as probe:
        bridge = RunningBridge(BridgeService(config), probe)
        await bridge.start()
        try:
            yield bridge
        finally:
            await bridge.stop()


def submissions(simulator: Simulator) -> list[Any]:
    """The print jobs the simulator received, oldest first."""
    return [r for r in simulator.requests if r.path == "/api/print/job" and r.method == "POST"]


def error(envelope: dict[str, Any]) -> dict[str, Any]:
    """The error of an error envelope."""
    assert envelope["status"] == "error", envelope
    result: dict[str, Any] = envelope["error"]
    return result


async def test_a_failing_printer_params_or_paper_list_answers_the_clouds_error(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """A default paper the cloud's lists would resolve, while they fail: the cloud's error.

    Not ``invalid_payload`` ("16K is unknown"): the paper is valid, the cloud did not answer.
    Nothing is printed; once the cloud answers again, the same print goes out on 16K.
    """
    async with bridge_with_16k_default(simulator, mosquitto, base_topic, tmp_path) as bridge:
        simulator.faults.http_error(502, path="printer_params", count=2)  # the try and its retry
        gateway = error(await bridge.request("office", "print", {"url": URL}))
        assert gateway["code"] == "api_error"
        assert gateway["message"].startswith(
            "paper '16K' cannot be looked up, so nothing was sent: the capabilities of "
            "Kyocera MA2000w GX (printer_params) could not be read: unexpected answer from the "
            "cloud (HTTP 502)"
        )
        simulator.faults.rate_limit(path="paper_dimension_list", count=2)
        busy = error(await bridge.request("office", "print", {"url": URL}))
        assert (busy["code"], busy["api_message"]) == (10009, "请求频繁")
        assert "the paper list of Kyocera MA2000w GX (paper_dimension_list)" in busy["message"]
        assert submissions(simulator) == []

        assert (await bridge.request("office", "print", {"url": URL}))["status"] == "ok"
    (job,) = submissions(simulator)
    assert (job.fields["dmPaperSize"], job.fields["dmCopies"]) == ("257", "3")


async def test_a_print_right_after_start_waits_for_the_boxs_printers(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """A print sent before the first poll has answered waits for the box's printers.

    It is built for the printer on its port (its model, its 16K), not as if the box had none.
    """
    simulator.faults.slow(0.5, path="device_info")
    async with bridge_with_16k_default(simulator, mosquitto, base_topic, tmp_path) as bridge:
        answer = await bridge.request("office", "print", {"url": URL})
        assert answer["status"] == "ok", answer
    (job,) = submissions(simulator)
    assert (job.fields["dmPaperSize"], job.fields["printerModel"]) == ("257", "Kyocera MA2000w GX")


async def test_a_box_whose_printers_are_unknown_answers_why(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """A paper name for a box whose printers could not be listed: the box's state.

    As the cloud would answer a job (5001: never set up), not an unknown paper.
    """
    async with bridge_with_16k_default(simulator, mosquitto, base_topic, tmp_path) as bridge:
        never = error(await bridge.request("spare", "print", {"url": URL, "paper": "16K"}))
    assert never["code"] == 5001
    assert never["message"].startswith("paper '16K' cannot be looked up, so nothing was sent: ")
    assert submissions(simulator) == []


async def test_page_count_finds_a_paper_of_the_paper_list(
    simulator: Simulator, mosquitto: MosquittoBroker, base_topic: str, tmp_path: Path
) -> None:
    """page_count looks a paper name up in paper_dimension_list too, as print does."""
    async with bridge_with_16k_default(simulator, mosquitto, base_topic, tmp_path) as bridge:
        answer = await bridge.request("office", "page_count", {"url": URL, "paper": "16K"})
        assert answer["status"] == "ok", answer
    (counted,) = [r for r in simulator.requests if r.path == "/api/print/file_pages"]
    assert counted.fields["dmPaperSize"] == "257"
