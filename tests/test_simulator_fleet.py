"""Fleet files, the demo fleet, ``fleet_json`` and ``serve``: what ``simulate`` runs."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import aiohttp
import pytest
from sim_api import SimApi

from lianke_bridge.cloud.codes import PrinterKind
from lianke_bridge.errors import ConfigError
from lianke_bridge.simulator import Simulator, Timing, demo_fleet, fleet_json, load_fleet, serve

FLEET_YAML = """\
api_key: test-key
boxes:
  - device_id: lc01test000001
    device_key: secret-1
    usb_port_num: 1
    printers:
      - port: 1
        driver_name: Brother QL-820NWB
        kind: label
        support_status: true
        ribbon: false
      - port: 631
        driver_name: HP OfficeJet Pro 9010
        kind: inkjet
        markers:
          - {name: Black, level: 40, color: "#000000"}
  - device_id: lc01test000002
    device_key: secret-2
    boot_state: offline
"""


def test_demo_fleet_has_the_promised_printers() -> None:
    """The demo: key demo-api-key; laser, receipt, network inkjet, label; a never-booted box."""
    fleet = demo_fleet()
    printers = [p for box in fleet.boxes for p in box.printers]
    assert fleet.api_key == "demo-api-key"
    assert [p.kind for p in printers] == [
        PrinterKind.LASER,
        PrinterKind.RECEIPT,
        PrinterKind.INKJET,
        PrinterKind.LABEL,
    ]
    assert [p.support_status for p in printers] == [True, False, False, True]
    assert printers[2].port == 631
    assert printers[2].ip_addr
    assert printers[3].ribbon
    assert fleet.boxes[2].boot_state == "never_booted"


def test_fleet_json_round_trips(tmp_path: Path) -> None:
    """--print-fleet's JSON, saved and loaded with --fleet, is the same fleet."""
    path = tmp_path / "fleet.json"
    path.write_text(fleet_json(), encoding="utf-8")
    assert load_fleet(path) == demo_fleet()
    assert fleet_json(path) == fleet_json()


def test_print_fleet_shows_what_a_client_needs() -> None:
    """The printed fleet has the api key and, per box, id, key, ports and printer models."""
    data = json.loads(fleet_json())
    box = data["boxes"][0]
    assert data["api_key"] == "demo-api-key"
    assert (box["device_id"], box["device_key"]) == ("lc01demo000001", "demo-key-0001")
    first = box["printers"][0]
    assert (first["port"], first["driver_name"]) == (1, "Kyocera MA2000w GX")


def test_secrets_stay_out_of_reprs() -> None:
    """Printing a fleet object does not show the api key or device keys."""
    text = repr(demo_fleet())
    assert "demo-api-key" not in text
    assert "demo-key-0001" not in text


def test_yaml_fleet_loads_with_defaults(tmp_path: Path) -> None:
    """A YAML fleet: unknown models are fine, ids are given, network printers keep markers."""
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET_YAML, encoding="utf-8")
    fleet = load_fleet(path)
    first, second = fleet.boxes
    assert fleet.api_key == "test-key"
    assert first.printers[0].printer_id > 0
    assert first.printers[1].markers[0].level == 40
    assert first.printers[1].ip_addr
    assert second.boot_state == "offline"
    assert second.printers == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("api_key: k\nboxes:\n  - {device_id: a, device_key: b, colour: red}\n", "colour"),
        ("api_key: k\nboxes:\n  - {device_id: a}\n", "device_key"),
        ("api_key: k\nboxes:\n  - {device_id: a, device_key: b, boot_state: asleep}\n", "boot"),
        (
            (
                "api_key: k\nboxes:\n  - {device_id: a, device_key: b}\n"
                "  - {device_id: a, device_key: c}\n"
            ),
            "same device_id",
        ),
        (
            (
                "api_key: k\nboxes:\n  - device_id: a\n    device_key: b\n"
                "    printers: [{port: 1, driver_name: X, kind: toaster}]\n"
            ),
            "toaster",
        ),
        ("- just a list\n", "mapping"),
        ("api_key: [unclosed\n", "cannot read"),
    ],
)
def test_bad_fleet_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    """A broken fleet file raises ConfigError naming the problem."""
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_fleet(path)


def test_missing_fleet_file_is_a_config_error(tmp_path: Path) -> None:
    """A fleet path that does not exist is reported, not a traceback."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_fleet(tmp_path / "nope.json")


async def test_custom_fleet_is_served(tmp_path: Path) -> None:
    """A loaded fleet is what the simulator serves: its key, its boxes, generic model params."""
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET_YAML, encoding="utf-8")
    async with (
        Simulator(load_fleet(path), Timing.fast()) as sim,
        aiohttp.ClientSession() as session,
    ):
        api = SimApi(sim, session)
        listing = await api.get("/api/external_api/printer_list", **api.creds(), printerType=3)
        params = await api.get("/api/print/printer_params", printerModel="Brother QL-820NWB")
        offline = await api.get("/api/device/device_info", **api.creds(sim.fleet.boxes[1]))
    assert [r["driver_name"] for r in listing["data"]["row"]] == [
        "Brother QL-820NWB",
        "HP OfficeJet Pro 9010",
    ]
    assert params["code"] == 200
    assert params["data"]["Name"] == "Brother QL-820NWB"
    assert offline["data"]["info"]["online"] == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_serve_runs_until_cancelled(tmp_path: Path) -> None:
    """serve() answers on the given port with the given fleet, and stops when cancelled."""
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET_YAML, encoding="utf-8")
    port = _free_port()
    task = asyncio.create_task(serve("127.0.0.1", port, path))
    url = f"http://127.0.0.1:{port}/api/print/printer_enum"
    try:
        async with aiohttp.ClientSession(headers={"ApiKey": "test-key"}) as session:
            async with asyncio.timeout(5):
                while True:
                    try:
                        async with session.get(url) as response:
                            body = await response.json()
                            break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert body["code"] == 200
    assert "Brother QL-820NWB" in body["data"]


async def test_url_needs_a_started_simulator() -> None:
    """Asking for the URL before start() is a clear error."""
    sim = Simulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = sim.url


async def test_start_twice_on_the_same_host_is_harmless() -> None:
    """``async with`` starts the simulator; a second start() there keeps the same server."""
    async with Simulator(timing=Timing.fast()) as sim:
        url = sim.url
        await sim.start(host="127.0.0.1", port=0)
        assert sim.url == url
        with pytest.raises(RuntimeError, match="already runs"):
            await sim.start(host="0.0.0.0", port=0)  # noqa: S104 - only to show the refusal
