"""The simulated fleet: which boxes exist, their keys, and what is plugged into them.

A fleet is plain data (frozen dataclasses). ``load_fleet`` reads it from JSON or YAML with the
same field names ``to_json`` writes, so ``lianke-bridge simulate --print-fleet`` output can be
edited and fed back with ``--fleet``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from lianke_bridge.cloud import codes
from lianke_bridge.cloud.codes import PrinterKind
from lianke_bridge.errors import ConfigError

NETWORK_PORT = codes.NETWORK_PRINTER_PORT
BOOT_STATES = ("online", "offline", "never_booted")


@dataclass(frozen=True)
class Marker:
    """One ink cartridge of a network printer (``markers`` in printer_list)."""

    name: str
    level: int
    color: str

    def to_api(self) -> dict[str, Any]:
        """The marker as printer_list shows it."""
        return {"name": self.name, "level": self.level, "color": self.color}


@dataclass(frozen=True)
class PrinterSpec:
    """A printer on a box: a USB port (1, 2, …) or the box's LAN (port 631)."""

    port: int
    """USB port number, or 631 for a network printer."""
    driver_name: str
    """The API's ``printerModel``."""
    kind: PrinterKind = PrinterKind.LASER
    printer_name: str = ""
    """Defaults to ``driver_name``."""
    support_status: bool = False
    """Whether printer_status answers for it."""
    driver_type: int = 1
    printer_id: int = 0
    """printer_list ``id``; 0 = assigned by the fleet."""
    product: str = ""
    ip_addr: str | None = None
    """Network printers only."""
    markers: tuple[Marker, ...] = ()
    """Network printers only: ink levels."""
    ribbon: bool = False
    """A thermal-transfer label printer that can run out of ribbon."""

    @property
    def is_network(self) -> bool:
        """Network printers sit on port 631."""
        return self.port == NETWORK_PORT

    @property
    def species(self) -> int:
        """The API's species number for ``kind``."""
        return codes.SPECIES.index(self.kind)


@dataclass(frozen=True)
class BoxSpec:
    """A Lianke box: its credentials, hardware and printers."""

    device_id: str
    device_key: str = field(repr=False)
    printers: tuple[PrinterSpec, ...] = ()
    usb_port_num: int = 2
    hardware: str = "LK300EW_D2"
    software: str = "2.1.113"
    expire_date: str = "2030年8月25日"
    boot_state: str = "online"
    """How the box starts: ``online``, ``offline`` or ``never_booted``."""
    lan_ip: str = "169.254.1.188"
    wwan_ip: str = "192.168.7.156"

    def printer(self, port: int) -> PrinterSpec | None:
        """The printer on ``port`` (as printer_list numbers it), if any."""
        return next((p for p in self.printers if p.port == port), None)


@dataclass(frozen=True)
class Fleet:
    """Everything the simulated cloud knows: the developer key and the bound boxes."""

    api_key: str = field(repr=False)
    boxes: tuple[BoxSpec, ...] = ()

    def box(self, device_id: str) -> BoxSpec | None:
        """The box with this id, if bound."""
        return next((b for b in self.boxes if b.device_id == device_id), None)

    def to_dict(self) -> dict[str, Any]:
        """The fleet in the file format ``load_fleet`` reads (keys and all: it is a test fleet)."""
        return {
            "api_key": self.api_key,
            "boxes": [
                {
                    "device_id": box.device_id,
                    "device_key": box.device_key,
                    "usb_port_num": box.usb_port_num,
                    "hardware": box.hardware,
                    "software": box.software,
                    "expire_date": box.expire_date,
                    "boot_state": box.boot_state,
                    "lan_ip": box.lan_ip,
                    "wwan_ip": box.wwan_ip,
                    "printers": [_printer_dict(p) for p in box.printers],
                }
                for box in self.boxes
            ],
        }

    def to_json(self) -> str:
        """``to_dict`` as indented JSON (what ``--print-fleet`` prints)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def _printer_dict(printer: PrinterSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "port": printer.port,
        "driver_name": printer.driver_name,
        "printer_name": printer.printer_name,
        "kind": str(printer.kind),
        "support_status": printer.support_status,
        "driver_type": printer.driver_type,
        "printer_id": printer.printer_id,
        "product": printer.product,
    }
    if printer.is_network:
        out["ip_addr"] = printer.ip_addr
        out["markers"] = [m.to_api() for m in printer.markers]
    if printer.ribbon:
        out["ribbon"] = True
    return out


def demo_fleet() -> Fleet:
    """The built-in fleet: two working boxes with four printers, and one never switched on."""
    office = BoxSpec(
        device_id="lc01demo000001",
        device_key="demo-key-0001",
        usb_port_num=3,
        printers=(
            PrinterSpec(
                port=1,
                driver_name="Kyocera MA2000w GX",
                kind=PrinterKind.LASER,
                support_status=True,
                printer_id=611757,
                product="MA2000w",
            ),
            PrinterSpec(
                port=2,
                driver_name="ESC/POS通用驱动(203dpi) 模式2",
                kind=PrinterKind.RECEIPT,
                printer_id=611809,
                product="BAR PRINTER",
            ),
            PrinterSpec(
                port=NETWORK_PORT,
                driver_name="EPSON L6160 Series",
                kind=PrinterKind.INKJET,
                printer_id=612554,
                product="L6160 Series",
                ip_addr="192.168.7.60",
                markers=(
                    Marker("Black", 72, "#000000"),
                    Marker("Cyan", 55, "#00FFFF"),
                    Marker("Magenta", 61, "#FF00FF"),
                    Marker("Yellow", 18, "#FFFF00"),
                ),
            ),
        ),
    )
    warehouse = BoxSpec(
        device_id="lc01demo000002",
        device_key="demo-key-0002",
        usb_port_num=2,
        hardware="LK200U_A1",
        software="2.1.98",
        wwan_ip="192.168.7.157",
        printers=(
            PrinterSpec(
                port=1,
                driver_name="TSC TTP-244 Pro",
                kind=PrinterKind.LABEL,
                support_status=True,
                printer_id=613020,
                product="TTP-244 Pro",
                ribbon=True,
            ),
        ),
    )
    spare = BoxSpec(
        device_id="lc01demo000003",
        device_key="demo-key-0003",
        boot_state="never_booted",
        wwan_ip="",
        lan_ip="",
    )
    return Fleet(api_key="demo-api-key", boxes=(office, warehouse, spare))


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet file (JSON, or YAML for ``.yaml``/``.yml``); ConfigError says what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read fleet file {path}: {err}") from err
    try:
        return fleet_from_dict(raw)
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"fleet file {path}: {err}") from err


def fleet_from_dict(raw: object) -> Fleet:
    """Build a fleet from parsed JSON/YAML; unknown keys are refused, so typos do not pass."""
    if not isinstance(raw, Mapping):
        raise TypeError("the fleet must be a mapping with api_key and boxes")
    _no_unknown(raw, {"api_key", "boxes"}, "fleet")
    boxes = tuple(_box(b) for b in raw.get("boxes") or ())
    ids = [b.device_id for b in boxes]
    if len(set(ids)) != len(ids):
        raise ValueError("two boxes have the same device_id")
    return Fleet(api_key=str(raw["api_key"]), boxes=_number_printers(boxes))


def _no_unknown(raw: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise ValueError(f"unknown {what} key(s): {', '.join(sorted(map(str, unknown)))}")


_BOX_KEYS = {
    "device_id",
    "device_key",
    "usb_port_num",
    "hardware",
    "software",
    "expire_date",
    "boot_state",
    "lan_ip",
    "wwan_ip",
    "printers",
}
_PRINTER_KEYS = {
    "port",
    "driver_name",
    "printer_name",
    "kind",
    "support_status",
    "driver_type",
    "printer_id",
    "product",
    "ip_addr",
    "markers",
    "ribbon",
}


def _box(raw: Mapping[str, Any]) -> BoxSpec:
    _no_unknown(raw, _BOX_KEYS, "box")
    boot_state = str(raw.get("boot_state", "online"))
    if boot_state not in BOOT_STATES:
        raise ValueError(f"boot_state must be one of {', '.join(BOOT_STATES)}")
    optional = {k: raw[k] for k in _BOX_KEYS - {"device_id", "device_key", "printers"} if k in raw}
    if "usb_port_num" in optional:
        optional["usb_port_num"] = int(optional["usb_port_num"])
    printers = tuple(_printer(p) for p in raw.get("printers") or ())
    return BoxSpec(
        device_id=str(raw["device_id"]),
        device_key=str(raw["device_key"]),
        printers=printers,
        **optional,
    )


def _printer(raw: Mapping[str, Any]) -> PrinterSpec:
    _no_unknown(raw, _PRINTER_KEYS, "printer")
    port = int(raw["port"])
    markers = tuple(
        Marker(name=str(m["name"]), level=int(m["level"]), color=str(m.get("color", "")))
        for m in raw.get("markers") or ()
    )
    return PrinterSpec(
        port=port,
        driver_name=str(raw["driver_name"]),
        kind=PrinterKind(raw.get("kind", "laser")),
        printer_name=str(raw.get("printer_name", "")),
        support_status=bool(raw.get("support_status", False)),
        driver_type=int(raw.get("driver_type", 1)),
        printer_id=int(raw.get("printer_id", 0)),
        product=str(raw.get("product", "")),
        ip_addr=raw.get("ip_addr") or ("192.168.7.60" if port == NETWORK_PORT else None),
        markers=markers,
        ribbon=bool(raw.get("ribbon", False)),
    )


def _number_printers(boxes: tuple[BoxSpec, ...]) -> tuple[BoxSpec, ...]:
    """Give printers without an id a stable one (the fleet order decides)."""
    next_id = 700000
    out = []
    for box in boxes:
        printers = []
        for printer in box.printers:
            next_id += 1
            if printer.printer_id:
                printers.append(printer)
            else:
                printers.append(replace(printer, printer_id=next_id))
        out.append(replace(box, printers=tuple(printers)))
    return tuple(out)
