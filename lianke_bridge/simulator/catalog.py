"""Printer models the simulated cloud knows: printer_params, paper sizes and printer_enum.

The laser data is the reference's own example (``reference_models.json``); the receipt, label
and inkjet models are plausible stand-ins built by ``ModelSpec``. A printer in a fleet file
whose model is not listed here gets a generic model of its kind, so any fleet works, and every
other model printer_enum lists gets the generic model its name suggests (``guess_kind``).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from lianke_bridge.cloud.codes import PrinterKind


@cache
def _reference() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("reference_models.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class Paper:
    """A paper size in 0.1 mm, with the printable area's margin on each side."""

    name: str
    paper_id: int
    width: int
    height: int
    margin: int = 40


@dataclass(frozen=True)
class ModelSpec:
    """Enough about a printer model to answer printer_params and paper_dimension_list."""

    name: str
    papers: tuple[Paper, ...]
    color: bool = False
    duplex: bool = False
    bins: tuple[tuple[str, int], ...] = (("自动选择", 7),)
    media_types: tuple[tuple[str, int], ...] = (("默认", 0),)
    copies: int = 999
    dpi: int = 600

    def params(self) -> dict[str, Any]:
        """The ``data`` of printer_params, shaped like the reference's example."""
        template: dict[str, Any] = copy.deepcopy(_reference()["laser_params"])
        default = self.papers[0]
        caps = template["Capabilities"]
        caps["Bins"] = dict(self.bins)
        caps["Color"] = {"黑白": 1, "彩色": 2} if self.color else {"黑白": 1}
        caps["Copies"] = self.copies
        caps["Duplex"] = {"关闭": 1, "短边": 3, "长边": 2} if self.duplex else {"关闭": 1}
        caps["MediaTypes"] = dict(self.media_types)
        caps["Papers"] = {p.name: p.paper_id for p in self.papers}
        dev = template["DevMode"]
        dev.update(
            Color=2 if self.color else 1,
            DefaultSource=self.bins[0][1],
            Duplex=1,
            PaperSize=default.paper_id,
            PaperWidth=default.width,
            PaperLength=default.height,
            PrintQuality=self.dpi,
            DeviceName=_wchar_name(self.name),
        )
        pixels = self.dpi / 254  # per 0.1 mm
        template["DeviceContext"].update(
            LogPixelsX=self.dpi,
            LogPixelsY=self.dpi,
            PhysicalWidth=round(default.width * pixels),
            PhysicalHeight=round(default.height * pixels),
            HorzRes=round((default.width - 2 * default.margin) * pixels),
            VertRes=round((default.height - 2 * default.margin) * pixels),
            HorzSize=(default.width - 2 * default.margin) // 10,
            VertSize=(default.height - 2 * default.margin) // 10,
            NumColors=256 if self.color else 2,
        )
        template["Name"] = self.name
        return template

    def paper_list(self) -> dict[str, Any]:
        """The ``data`` of paper_dimension_list."""
        return {
            p.name: {
                "paper_id": p.paper_id,
                "physical_height": p.height,
                "physical_width": p.width,
                "printable_height": p.height - 2 * p.margin,
                "printable_width": p.width - 2 * p.margin,
            }
            for p in self.papers
        }


def _wchar_name(name: str) -> list[int]:
    """DevMode's DeviceName: 32 character codes, zero padded (as in the reference)."""
    codes_ = [ord(c) for c in name[:31]]
    return codes_ + [0] * (32 - len(codes_))


_OFFICE_PAPERS = (
    Paper("A4", 9, 2100, 2970),
    Paper("A5", 11, 1480, 2100),
    Paper("A6", 70, 1050, 1480),
    Paper("B5 (JIS)", 13, 1820, 2570),
    Paper("Letter", 1, 2159, 2794),
    Paper("Legal", 5, 2159, 3556),
)
_PHOTO_PAPERS = (
    *_OFFICE_PAPERS,
    Paper("10x15cm (4x6英寸)", 262, 1016, 1524, margin=0),
    Paper("13x18cm (5x7英寸)", 263, 1270, 1778, margin=0),
)
_RECEIPT_PAPERS = (
    Paper("80mm x 297mm", 256, 800, 2970, margin=40),
    Paper("58mm x 210mm", 257, 580, 2100, margin=40),
    Paper("80mm x 3276mm", 258, 800, 32760, margin=40),
)
_LABEL_PAPERS = (
    Paper("60x40mm", 256, 600, 400, margin=10),
    Paper("40x30mm", 257, 400, 300, margin=10),
    Paper("50x30mm", 258, 500, 300, margin=10),
    Paper("100x150mm", 259, 1000, 1500, margin=10),
)

GENERIC_BY_KIND: dict[PrinterKind, ModelSpec] = {
    PrinterKind.LASER: ModelSpec("generic laser", _OFFICE_PAPERS, duplex=True),
    PrinterKind.INKJET: ModelSpec(
        "generic inkjet",
        _PHOTO_PAPERS,
        color=True,
        duplex=True,
        media_types=(("普通纸", 0), ("照片纸", 256), ("哑光纸", 257)),
        copies=99,
        dpi=360,
    ),
    PrinterKind.RECEIPT: ModelSpec("generic receipt", _RECEIPT_PAPERS, copies=99, dpi=203),
    PrinterKind.LABEL: ModelSpec(
        "generic label", _LABEL_PAPERS, bins=(("标签", 1),), copies=9999, dpi=203
    ),
}

MODELS: dict[str, ModelSpec] = {
    "ESC/POS通用驱动(203dpi) 模式2": ModelSpec(
        "ESC/POS通用驱动(203dpi) 模式2", _RECEIPT_PAPERS, copies=99, dpi=203
    ),
    "EPSON L6160 Series": ModelSpec(
        "EPSON L6160 Series",
        _PHOTO_PAPERS,
        color=True,
        duplex=True,
        bins=(("自动选择", 7), ("后部进纸", 4)),
        media_types=(("普通纸", 0), ("照片纸", 256), ("哑光纸", 257)),
        copies=99,
        dpi=360,
    ),
    "TSC TTP-244 Pro": ModelSpec(
        "TSC TTP-244 Pro", _LABEL_PAPERS, bins=(("标签", 1),), copies=9999, dpi=203
    ),
}
REFERENCE_LASERS = ("Kyocera MA2000w GX", "HP LaserJet P1007")
"""Models answered with the reference's own example data."""


def printer_params(model: str, kind: PrinterKind | None = None) -> dict[str, Any] | None:
    """printer_params ``data`` for a model; ``kind`` picks a generic model for fleet printers."""
    if model in REFERENCE_LASERS:
        data: dict[str, Any] = copy.deepcopy(_reference()["laser_params"])
        data["Name"] = model
        return data
    spec = _spec(model, kind)
    return spec.params() if spec else None


def paper_list(model: str, kind: PrinterKind | None = None) -> dict[str, Any] | None:
    """paper_dimension_list ``data`` for a model (None: the cloud does not know it)."""
    if model in REFERENCE_LASERS:
        return copy.deepcopy(_reference()["laser_papers"])  # type: ignore[no-any-return]
    spec = _spec(model, kind)
    return spec.paper_list() if spec else None


def guess_kind(model: str) -> PrinterKind:
    """The kind a listed model's name suggests (label, receipt, inkjet; laser otherwise)."""
    name = model.lower()
    if "label" in name or name.startswith(("km-", "tsc", "qr-")):
        return PrinterKind.LABEL
    if "pos" in name or name.startswith("xp-"):
        return PrinterKind.RECEIPT
    if name.startswith(("epson", "canon mp")):
        return PrinterKind.INKJET
    return PrinterKind.LASER


@cache
def _listed() -> frozenset[str]:
    """The models printer_enum lists whatever the fleet (the reference's lists)."""
    return frozenset(supported_models())


def _spec(model: str, kind: PrinterKind | None) -> ModelSpec | None:
    if model in MODELS:
        return MODELS[model]
    if kind is None and model in _listed():
        kind = guess_kind(model)
    if kind is None:
        return None
    generic = GENERIC_BY_KIND.get(kind, GENERIC_BY_KIND[PrinterKind.LASER])
    return replace(generic, name=model)


def supported_models(extra: tuple[str, ...] = ()) -> list[str]:
    """printer_enum's list: the reference's list, its search example, ours and the fleet's."""
    ref = _reference()
    names = [*ref["printer_enum"], *ref["printer_enum_search_example"], *REFERENCE_LASERS]
    names += [*MODELS, *extra]
    return list(dict.fromkeys(names))


def search_models(query: str, names: list[str]) -> list[str]:
    """Fuzzy search as the reference's example shows: any word matches, best matches first."""
    words = [w.lower() for w in query.split() if w]
    scored = [(sum(w in n.lower() for w in words), n) for n in names]
    hits = [(score, n) for score, n in scored if score]
    hits.sort(key=lambda hit: -hit[0])
    return [n for _, n in hits]
