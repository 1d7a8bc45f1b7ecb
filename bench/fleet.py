"""A generated fleet (N boxes x 3 printers) and a bridge configuration file for it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from lianke_bridge.cloud.codes import PrinterKind
from lianke_bridge.simulator import BoxSpec, Fleet, Marker, PrinterSpec, demo_fleet
from lianke_bridge.simulator.fleet import NETWORK_PORT

API_KEY = "bench-api-key"


def generated_fleet(boxes: int) -> Fleet:
    """``boxes`` boxes with three printers each: 1.5 live-status printers per box.

    A USB laser that reports live status, a USB receipt printer that does on every second box,
    and a network inkjet.
    That is the mix the issue's figures were taken with.
    """
    specs = []
    for index in range(boxes):
        printers = (
            PrinterSpec(
                port=1, driver_name="Kyocera MA2000w GX", support_status=True, product="MA2000w"
            ),
            PrinterSpec(
                port=2,
                driver_name="ESC/POS通用驱动(203dpi) 模式2",
                kind=PrinterKind.RECEIPT,
                support_status=index % 2 == 0,
                product="BAR PRINTER",
            ),
            PrinterSpec(
                port=NETWORK_PORT,
                driver_name="EPSON L6160 Series",
                kind=PrinterKind.INKJET,
                product="L6160 Series",
                ip_addr=f"10.{index // 250}.{index % 250}.60",
                markers=(Marker("Black", 72, "#000000"),),
            ),
        )
        specs.append(
            BoxSpec(
                device_id=f"lc01bench{index:06d}",
                device_key=f"bench-key-{index:06d}",
                printers=printers,
            )
        )
    return Fleet(api_key=API_KEY, boxes=tuple(_numbered(specs)))


def _numbered(boxes: list[BoxSpec]) -> list[BoxSpec]:
    """Give every printer a distinct printer_list id, as the cloud does."""
    out: list[BoxSpec] = []
    next_id = 700_000
    for box in boxes:
        printers = []
        for printer in box.printers:
            next_id += 1
            printers.append(replace(printer, printer_id=next_id))
        out.append(replace(box, printers=tuple(printers)))
    return out


def demo() -> Fleet:
    """The demo fleet (the latency runs and the idle figures use it)."""
    return demo_fleet()


def write_config(
    path: Path,
    fleet: Fleet,
    *,
    sim_url: str,
    mqtt_host: str,
    mqtt_port: int,
    base_topic: str,
    state_dir: Path,
    rate_limit: float,
    homeassistant: bool = True,
    extra_lianke: dict[str, Any] | None = None,
) -> None:
    """A configuration file as an operator would write it: default poll intervals."""
    config: dict[str, Any] = {
        "lianke": {
            "api_key": fleet.api_key,
            "base_url": sim_url,
            "rate_limit": rate_limit,
            **(extra_lianke or {}),
        },
        "devices": [
            {"name": f"box{index}", "device_id": box.device_id, "device_key": box.device_key}
            for index, box in enumerate(fleet.boxes)
        ],
        "mqtt": {
            "host": mqtt_host,
            "port": mqtt_port,
            "base_topic": base_topic,
            "client_id": f"{base_topic}-bridge",
        },
        "homeassistant": {"enabled": homeassistant, "prefix": f"{base_topic}_ha"},
        "logging": {"level": "WARNING"},
        "state_dir": str(state_dir),
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
