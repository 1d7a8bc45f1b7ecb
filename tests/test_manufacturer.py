"""A printer's maker, read from the model names the cloud reports."""

from __future__ import annotations

import pytest

from lianke_bridge.bridge.discovery.manufacturer import manufacturer_of


@pytest.mark.parametrize(
    ("names", "maker"),
    [
        (("HP LaserJet P1007",), "HP"),
        (("LaserJet Pro M404dn",), "HP"),
        (("Hewlett-Packard HP DeskJet 2130",), "HP"),
        (("Canon iR-ADV C3525",), "Canon"),
        (("EPSON L6160 Series",), "Epson"),
        (("Brother HL-L2350DW series",), "Brother"),
        (("ZDesigner GK888t (EPL)", "Zebra GK888t"), "Zebra"),
        (("Kyocera MA2000w GX",), "Kyocera"),
        (("TSC TTP-244 Pro",), "TSC"),
        (("Fuji Xerox DocuPrint P255 dw",), "Xerox"),
        (("Gprinter GP-1324D",), "Gprinter"),
        (("佳博 GP-3120TU",), "Gprinter"),
        (("惠普 M126a",), "HP"),
        ((None, "Pantum P2500W"), "Pantum"),
    ],
)
def test_known_brands(names: tuple[str | None, ...], maker: str) -> None:
    """The brand a model or printer name starts with, or names, is found in any case."""
    assert manufacturer_of(*names) == maker


@pytest.mark.parametrize(
    "names",
    [
        ("ESC/POS通用驱动(203dpi) 模式2",),
        ("Generic PostScript",),
        ("Shpadoinkle 3000",),  # "hp" inside a word is not HP
        ("Chokidar label",),  # nor "oki"
        (None, ""),
    ],
)
def test_unknown_models_have_no_maker(names: tuple[str | None, ...]) -> None:
    """An unrecognised model gets no manufacturer at all (never Lianke's)."""
    assert manufacturer_of(*names) is None
