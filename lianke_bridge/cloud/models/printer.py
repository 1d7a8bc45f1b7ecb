"""Printers: what is plugged into a box, what a model can do, its paper sizes, its live state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models.values import as_mapping, int_or_none, str_or_none


@dataclass(frozen=True)
class InkMarker:
    """One ink or toner cartridge a network printer reports in ``markers``."""

    name: str
    """The cartridge's name as the printer reports it (``Black``, ``Cyan``…)."""
    level: int | None
    """Fill level in percent, if known."""
    color: str | None = None
    """The printer's colour hint (``#000000``), if any."""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> InkMarker:
        """Parse one marker; the API's key names vary, so accept the common spellings."""
        name = data.get("name") or data.get("marker_name") or data.get("type") or "ink"
        level = int_or_none(data.get("level", data.get("marker_level")))
        return cls(name=str(name), level=level, color=str_or_none(data.get("color")))


@dataclass(frozen=True)
class Printer:
    """One row of ``printer_list``: a printer on a USB port or the box's LAN."""

    id: int | None
    """The cloud's printer id (``printerId`` of an adaptation request)."""
    port: int
    """The port as printer_list reports it (631 for network printers)."""
    name: str
    """``printer_name``: the printer's own model name."""
    model: str
    """``driver_name``: what print calls take as ``printerModel``."""
    driver_type: codes.DriverType
    is_printer: bool
    support_status: bool
    """Whether ``printer_status`` can be asked for this printer."""
    kind: codes.PrinterKind
    printer_state: str | None
    """The list's own coarse state (``idle``, ``printing``, ``stopped``, ``outOfPaper``…)."""
    ip_addr: str | None = None
    """Network printers only."""
    markers: tuple[InkMarker, ...] = ()
    """Network printers only: ink or toner levels."""

    @property
    def is_network(self) -> bool:
        """Network printers have an IP address or the IPP port."""
        return self.ip_addr is not None or self.port == codes.NETWORK_PRINTER_PORT

    @property
    def device_port(self) -> int:
        """The ``devicePort`` to send jobs to: 1 for a network printer (the API's rule)."""
        return 1 if self.port == codes.NETWORK_PRINTER_PORT else self.port

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> Printer:
        """Parse a printer_list row (``species`` or ``printer_species``; ``drivce_name`` typo)."""
        species = row.get("species", row.get("printer_species"))
        markers = row.get("markers") or ()
        model = row.get("driver_name") or row.get("drivce_name") or row.get("printer_name") or ""
        return cls(
            id=int_or_none(row.get("id")),
            port=int_or_none(row.get("port")) or 1,
            name=str(row.get("printer_name") or model),
            model=str(model),
            driver_type=codes.driver_type(row.get("driver_type")),
            is_printer=row.get("isPrinter") in (1, "1", True),
            support_status=bool(row.get("support_status")),
            kind=codes.printer_kind(species),
            printer_state=str_or_none(row.get("printer_state")),
            ip_addr=str_or_none(row.get("ip_addr")),
            markers=tuple(InkMarker.from_api(m) for m in markers if isinstance(m, Mapping)),
        )


@dataclass(frozen=True)
class PrinterParams:
    """``printer_params`` of one printer model: what a job may ask for, and the defaults."""

    model: str
    papers: Mapping[str, int]
    """Paper name -> ``dmPaperSize`` (names are stripped of stray whitespace)."""
    bins: Mapping[str, int]
    colors: Mapping[str, int]
    duplex: Mapping[str, int]
    orientations: Mapping[str, int]
    media_types: Mapping[str, int]
    max_copies: int | None
    default_paper: int | None
    default_color: int | None
    default_duplex: int | None
    default_orientation: int | None
    default_source: int | None

    @property
    def supports_color(self) -> bool:
        """Colour is value 2 in ``Capabilities.Color``."""
        return 2 in self.colors.values()  # noqa: PLR2004 - the API's colour value

    @property
    def supports_duplex(self) -> bool:
        """Long or short edge (2, 3) are offered."""
        return any(v in (2, 3) for v in self.duplex.values())

    @classmethod
    def from_api(cls, model: str, data: Mapping[str, Any]) -> PrinterParams:
        """Parse the Capabilities and DevMode blocks."""
        caps = as_mapping(data.get("Capabilities"))
        dev = as_mapping(data.get("DevMode"))

        def table(key: str) -> dict[str, int]:
            out: dict[str, int] = {}
            for name, value in as_mapping(caps.get(key)).items():
                number = int_or_none(value)
                if number is not None:
                    out[str(name).strip()] = number
            return out

        return cls(
            model=model,
            papers=table("Papers"),
            bins=table("Bins"),
            colors=table("Color"),
            duplex=table("Duplex"),
            orientations=table("Orientation"),
            media_types=table("MediaTypes"),
            max_copies=int_or_none(caps.get("Copies")),
            default_paper=int_or_none(dev.get("PaperSize")),
            default_color=int_or_none(dev.get("Color")),
            default_duplex=int_or_none(dev.get("Duplex")),
            default_orientation=int_or_none(dev.get("Orientation")),
            default_source=int_or_none(dev.get("DefaultSource")),
        )


@dataclass(frozen=True)
class PaperSize:
    """One entry of ``paper_dimension_list``; sizes in 0.1 mm."""

    name: str
    paper_id: int
    physical_width: int
    physical_height: int
    printable_width: int
    printable_height: int

    @classmethod
    def from_api(cls, name: str, data: Mapping[str, Any]) -> PaperSize:
        """Parse one named size."""
        return cls(
            name=name.strip(),
            paper_id=int_or_none(data.get("paper_id")) or 0,
            physical_width=int_or_none(data.get("physical_width")) or 0,
            physical_height=int_or_none(data.get("physical_height")) or 0,
            printable_width=int_or_none(data.get("printable_width")) or 0,
            printable_height=int_or_none(data.get("printable_height")) or 0,
        )


@dataclass(frozen=True)
class PrinterStatus:
    """``printer_status``: a live reading of one printer's sensors."""

    head_opened: bool
    paper_jam: bool
    out_of_paper: bool
    out_of_ribbon: bool
    out_of_ink: bool
    paused: bool
    printing: bool
    message: str | None
    status_code: str | None
    error_code: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> PrinterStatus:
        """Parse the booleans; missing ones (some models omit fields) are False."""
        return cls(
            head_opened=bool(data.get("headOpened")),
            paper_jam=bool(data.get("paperJam")),
            out_of_paper=bool(data.get("outOfPaper")),
            out_of_ribbon=bool(data.get("outOfRibbon")),
            out_of_ink=bool(data.get("outOfInk")),
            paused=bool(data.get("pause")),
            printing=bool(data.get("printing")),
            message=str_or_none(data.get("msg")),
            status_code=str_or_none(data.get("statusCode")),
            error_code=str_or_none(data.get("errCode")),
        )
