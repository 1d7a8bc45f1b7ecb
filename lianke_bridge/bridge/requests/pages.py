# ruff: noqa: RUF001 - the pages' Chinese sentences have full-width commas
"""The pages the bridge prints of its own: a test page and a colour maintenance page.

``print_test_page`` sends one of them to a printer as an HTML file (the cloud prints HTML
files). The test page says what printed it and where (the bridge's version, the box, the port,
the printer, the paper, the time); the maintenance page puts every ink on paper (CMYK and RGB
blocks, tint bars and a nozzle-check-like pattern) so an inkjet's nozzles do not dry out. Pure:
no I/O, no external resources, no scripts; colours are inline SVG, which a browser prints even
when it leaves CSS backgrounds out. Imported by the first ``print_test_page`` only, as
:mod:`.render` by the first text print.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lianke_bridge.bridge.requests.render import page_style
from lianke_bridge.cloud.models import PaperSize, PrinterParams, PrintRequest

FILENAMES: Mapping[str, str] = {"test": "test-page.html", "maintenance": "maintenance-page.html"}
"""The name each page is uploaded as (its extension tells the cloud the type)."""

_A4 = 9
_STANDARD_NAMES: Mapping[int, str] = {
    1: "Letter",
    5: "Legal",
    7: "Executive",
    8: "A3",
    9: "A4",
    11: "A5",
    12: "B4",
    13: "B5",
    70: "A6",
}
"""``DMPAPER_*`` numbers of common papers, named when the printer's lists do not say."""

INKS: tuple[tuple[str, str, str], ...] = (
    ("Cyan", "青色", "#00ffff"),
    ("Magenta", "品红", "#ff00ff"),
    ("Yellow", "黄色", "#ffff00"),
    ("Black", "黑色", "#000000"),
)
"""The process inks, each with its Chinese name and colour."""
LIGHTS: tuple[tuple[str, str, str], ...] = (
    ("Red", "红色", "#ff0000"),
    ("Green", "绿色", "#00ff00"),
    ("Blue", "蓝色", "#0000ff"),
)
"""The colours two inks make together: a clogged nozzle shows as a wrong shade here."""


@dataclass(frozen=True)
class PageFacts:
    """What a page says about where it was printed."""

    version: str
    """The bridge's version."""
    box: str
    """The box's name in the configuration."""
    port: int
    """The printer's port (631: a network printer)."""
    printer: str | None
    """The printer's name or model, when the box lists it."""
    paper: str
    """The paper the job asks for (``A4``, ``100 x 150 mm``…)."""
    time: datetime
    """When it was rendered, in the bridge's local time."""


def paper_label(
    request: PrintRequest, params: PrinterParams | None, sizes: Sequence[PaperSize] = ()
) -> str:
    """The paper a job asks for, by the name the printer's lists give it (else a common one)."""
    if request.paper_size == 0 and request.paper_width and request.paper_length:
        return f"{request.paper_width / 10:g} x {request.paper_length / 10:g} mm"
    number = request.paper_size if request.paper_size is not None else _A4
    for name, value in (params.papers if params else {}).items():
        if value == number:
            return name
    for size in sizes:
        if size.paper_id == number:
            return size.name.strip()
    return _STANDARD_NAMES.get(number, f"paper {number}")


def render(page: str, facts: PageFacts) -> bytes:
    """The page ``page`` as a whole UTF-8 HTML document."""
    if page == "maintenance":
        return _document("Maintenance page · 保养页", _facts_table(facts, short=True) + _colours())
    return _document("Test page · 测试页", _test_body(facts))


_STYLE = (
    page_style("11pt")
    + """\
h1 { font-size: 18pt; margin: 0 0 8pt; }
h2 { font-size: 12pt; margin: 10pt 0 4pt; }
table.facts { border-collapse: collapse; margin: 0 0 8pt; }
table.facts th { text-align: left; font-weight: 600; padding: 2pt 12pt 2pt 0; }
table.facts td { padding: 2pt 0; }
svg { display: block; width: 100%; height: auto; margin: 0 0 6pt; }
.note { font-size: 9pt; }
"""
)


def _document(title: str, body: str) -> bytes:
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n'
        '<meta charset="utf-8">\n'
        f"<title>{html_lib.escape(title)}</title>\n"
        f"<style>\n{_STYLE}</style>\n"
        "</head>\n<body>\n"
        f"<h1>{html_lib.escape(title)}</h1>\n"
        f"{body}"
        "</body>\n</html>\n"
    )
    return page.encode("utf-8")


def _time_text(moment: datetime) -> str:
    offset = moment.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')} {zone}".strip()


def _facts_table(facts: PageFacts, *, short: bool = False) -> str:
    where = "network · 网络" if facts.port == 631 else f"USB {facts.port}"  # noqa: PLR2004
    rows = [
        ("Box · 云盒", facts.box),
        ("Port · 端口", f"{facts.port} ({where})"),
        ("Printer · 打印机", facts.printer or "unknown · 未知"),
        ("Paper · 纸张", facts.paper),
        ("Time · 时间", _time_text(facts.time)),
        ("Bridge · 桥接器", f"lianke-bridge {facts.version}"),
    ]
    if short:
        rows = [rows[0], rows[1], rows[2], rows[4]]
    cells = "".join(
        f"<tr><th>{html_lib.escape(name)}</th><td>{html_lib.escape(value)}</td></tr>\n"
        for name, value in rows
    )
    return f'<table class="facts">\n{cells}</table>\n'


def _test_body(facts: PageFacts) -> str:
    steps = "".join(
        f'<rect x="{i * 40}" y="0" width="40" height="30" fill="rgb({v},{v},{v})"/>'
        for i, v in enumerate(range(0, 256, 23))
    )
    return (
        _facts_table(facts)
        + "<p>If you can read this, the printer, the box and the bridge work together.<br>\n"
        "能看到这一页，说明打印机、云盒和桥接器工作正常。</p>\n"
        "<h2>Grey steps · 灰阶</h2>\n"
        f'<svg viewBox="0 0 480 30" xmlns="http://www.w3.org/2000/svg">{steps}'
        '<rect x="0.5" y="0.5" width="479" height="29" fill="none" stroke="#000"/></svg>\n'
        '<p class="note">Edges · 边距: the frame below should be whole on every side.</p>\n'
        '<svg viewBox="0 0 480 20" xmlns="http://www.w3.org/2000/svg">'
        '<rect x="0.5" y="0.5" width="479" height="19" fill="none" stroke="#000"/></svg>\n'
    )


def _blocks(colours: Sequence[tuple[str, str, str]]) -> str:
    width = 480 // len(colours)
    parts = []
    for i, (name, zh, hex_colour) in enumerate(colours):
        x = i * width
        parts.append(
            f'<rect x="{x}" y="0" width="{width - 6}" height="60" fill="{hex_colour}"/>'
            f'<text x="{x}" y="76" font-size="11">{name} · {zh}</text>'
        )
    return f'<svg viewBox="0 0 480 82" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>\n'


def _tints() -> str:
    bars = []
    for row, (_name, _zh, hex_colour) in enumerate(INKS):
        for step, share in enumerate((1.0, 0.75, 0.5, 0.25, 0.1)):
            bars.append(
                f'<rect x="{step * 96}" y="{row * 22}" width="94" height="18" '
                f'fill="{hex_colour}" fill-opacity="{share}"/>'
            )
    return f'<svg viewBox="0 0 480 88" xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>\n'


def _nozzle_check() -> str:
    """Per ink a staircase of short lines, as a printer's own nozzle check: a gap is a clog."""
    lines = []
    for row, (_name, _zh, hex_colour) in enumerate(INKS):
        top = row * 40
        for i in range(48):
            y = top + (i % 8) * 4
            lines.append(f'<rect x="{i * 10}" y="{y}" width="8" height="1.2" fill="{hex_colour}"/>')
    return f'<svg viewBox="0 0 480 160" xmlns="http://www.w3.org/2000/svg">{"".join(lines)}</svg>\n'


def _colours() -> str:
    return (
        "<h2>Inks · 墨水 (CMYK)</h2>\n"
        + _blocks(INKS)
        + "<h2>Colours · 混色 (RGB)</h2>\n"
        + _blocks(LIGHTS)
        + "<h2>Tints · 浓淡</h2>\n"
        + _tints()
        + "<h2>Nozzle check · 喷嘴检查</h2>\n"
        + _nozzle_check()
        + '<p class="note">Every block even and every line whole: the nozzles are clear. A gap '
        "or a band: run the printer's own head cleaning.<br>\n"
        "色块均匀、线条完整，说明喷嘴通畅；如有断线或条纹，请运行打印机自带的喷头清洗。</p>\n"
    )
