"""What each print option accepts: its words and limits, and the reader of each one's value.

``read_option`` reads one option's value as a request or a port's ``print_defaults`` gives it
(the same code for both) into its typed value: a word checked against its vocabulary, a number
within its limits, a paper by name, number or size. The API's numbers for the words are here
too; they are used when the cloud request is built. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lianke_bridge.errors import InvalidValueError, PrintOptionsError
from lianke_bridge.print_options import readers
from lianke_bridge.print_options.readers import kind, show

# ---------------------------------------------------------------------------------------------
# Vocabularies and limits
# ---------------------------------------------------------------------------------------------

MAX_COPIES = 999
MAX_SCALE_PERCENT = 400
MAX_CUSTOM_PAPER_MM = 10_000
MAX_PAPER_NAME = 200
MAX_PAGE = 9999
"""The highest page number a page range may name."""
MAX_PAGE_RANGES = 100
"""The most comma-separated items in one page range."""

COLORS: Mapping[str, int] = {"mono": 1, "color": 2}
DUPLEX: Mapping[str, int] = {"off": 1, "long": 2, "short": 3}
ORIENTATIONS: Mapping[str, int] = {"portrait": 1, "landscape": 2}
SCALES = ("fit", "fitw", "fith", "fill", "cover", "none")
ALIGNMENTS: Mapping[str, str] = {
    "top_left": "z1",
    "top": "z2",
    "top_right": "z3",
    "left": "z4",
    "center": "z5",
    "right": "z6",
    "bottom_left": "z7",
    "bottom": "z8",
    "bottom_right": "z9",
}
PAGE_SETS: Mapping[str, str] = {"odd": "-1", "even": "-2"}
"""``jpPageRange``'s special values."""

_COLOR_WORDS = {
    "mono": "mono",
    "monochrome": "mono",
    "bw": "mono",
    "black_white": "mono",
    "black_and_white": "mono",
    "grayscale": "mono",
    "greyscale": "mono",
    "color": "color",
    "colour": "color",
}
_DUPLEX_WORDS = {
    "off": "off",
    "none": "off",
    "simplex": "off",
    "single": "off",
    "long": "long",
    "long_edge": "long",
    "on": "long",
    "short": "short",
    "short_edge": "short",
}
_ORIENTATION_WORDS = {"portrait": "portrait", "landscape": "landscape"}
_ALIGN_WORDS = {
    **ALIGNMENTS,
    "top_center": "z2",
    "center_left": "z4",
    "middle_left": "z4",
    "middle": "z5",
    "center_center": "z5",
    "center_right": "z6",
    "middle_right": "z6",
    "bottom_center": "z8",
    **{f"z{n}": f"z{n}" for n in range(1, 10)},
}

FORBIDDEN_OPTIONS = frozenset({"deviceid", "devicekey", "jobfile", "callbackurl", "deviceport"})
"""Raw API fields ``options`` may not set: credentials, the document, the callback, the port."""

_API_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_PAGE_ITEM = re.compile(r"^([0-9]{1,9})(?:-([0-9]{1,9}))?$")
_PERCENT = re.compile(r"^([0-9]{1,3})%$")
_FILE_EXT = re.compile(r"^\.[a-z0-9]{1,10}$")
_MM = r"([0-9]{1,9}(?:\.[0-9]{1,9})?)"
_CUSTOM_PAPER = re.compile(rf"^{_MM}\s*[x\u00d7*]\s*{_MM}\s*mm$", re.IGNORECASE)
_DECIMAL = re.compile(r"\s*[0-9]{1,9}(?:\.[0-9]{1,9})?\s*")


# ---------------------------------------------------------------------------------------------
# The values
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomPaper:
    """A custom paper size (``dmPaperSize`` 0), in millimetres."""

    width_mm: float
    height_mm: float

    @property
    def width(self) -> int:
        """``dmPaperWidth``: 0.1 mm."""
        return round(self.width_mm * 10)

    @property
    def length(self) -> int:
        """``dmPaperLength``: 0.1 mm."""
        return round(self.height_mm * 10)


Paper = str | int | CustomPaper
"""A paper as requested: a name (``A4``), the API's number (9) or a custom size."""


def read_option(key: str, value: object) -> Any:
    """One print option's typed value, or ``None`` when absent.

    Raises :class:`~lianke_bridge.errors.PrintOptionsError` (a ``KeyError`` for a key that is no
    option: check the keys first).
    """
    if value is None:
        return None
    try:
        return _READERS[key](value)
    except PrintOptionsError:
        raise
    except InvalidValueError as err:
        raise PrintOptionsError(str(err)) from None


# ---------------------------------------------------------------------------------------------
# The readers of each option
# ---------------------------------------------------------------------------------------------


def _copies(value: object) -> int | None:
    return readers.number_in("copies", value, 1, MAX_COPIES)


def _color(value: object) -> str | None:
    return readers.word("color", value, _COLOR_WORDS, tuple(COLORS))


def _duplex(value: object) -> str | None:
    if isinstance(value, bool):  # a switch (and YAML's bare on/off): on = long edge
        return "long" if value else "off"
    return readers.word("duplex", value, _DUPLEX_WORDS, tuple(DUPLEX))


def _orientation(value: object) -> str | None:
    return readers.word("orientation", value, _ORIENTATION_WORDS, tuple(ORIENTATIONS))


def _align(value: object) -> str | None:
    return readers.word("align", value, _ALIGN_WORDS, ("z1", "…", "z9", *ALIGNMENTS))


def _scale(value: object) -> str:
    if isinstance(value, str):
        word = value.replace(" ", "").lower()
        if word in SCALES:
            return word
        percent = _PERCENT.match(word)
        if percent and 1 <= int(percent.group(1)) <= MAX_SCALE_PERCENT:
            return f"{int(percent.group(1))}%"
    raise PrintOptionsError(
        f"scale must be one of {', '.join(SCALES)} or a percentage from 1% to "
        f"{MAX_SCALE_PERCENT}% like '80%'; got {kind(value)}"
    )


def _pages(value: object) -> str | None:
    usage = (
        f"pages must be a page range like '1,3,5-10' (pages 1 to {MAX_PAGE}), 'odd' or 'even' "
        f"(or -1 / -2); got {kind(value)}"
    )
    number = readers.whole_number(value)
    if number is not None:
        if number in (-1, -2) or 1 <= number <= MAX_PAGE:
            return str(number)
        raise PrintOptionsError(usage)
    if not isinstance(value, str):
        raise PrintOptionsError(usage)
    text = value.replace(" ", "").lower()
    if text in PAGE_SETS:
        return PAGE_SETS[text]
    if text in ("", "all"):
        return None
    items = text.split(",")
    if len(items) > MAX_PAGE_RANGES:
        raise PrintOptionsError(
            f"pages lists {len(items)} ranges; at most {MAX_PAGE_RANGES} (use 'low-high' ranges)"
        )
    for item in items:
        _check_page_item(item, usage)
    return ",".join(items)


def _check_page_item(item: str, usage: str) -> None:
    """One ``n`` or ``low-high`` of a page range."""
    match = _PAGE_ITEM.match(item)
    if not match:
        raise PrintOptionsError(usage)
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if first < 1 or last < first:
        raise PrintOptionsError(
            f"pages: {show(item)} is not a valid range (pages count from 1, low-high)"
        )
    if last > MAX_PAGE:
        raise PrintOptionsError(
            f"pages: {show(item)} goes beyond page {MAX_PAGE}, the highest page number"
        )


def _bool_reader(key: str) -> Callable[[object], bool | None]:
    return lambda value: readers.yes_no(key, value)


def _file_ext(value: object) -> str | None:
    text = readers.text("file_ext", value)
    if text is None:
        return None
    ext = text.lower() if text.startswith(".") else f".{text.lower()}"
    if not _FILE_EXT.match(ext):
        raise PrintOptionsError(
            f"file_ext must be a dot and letters or digits like '.pdf'; got {show(text)}"
        )
    return ext


def read_paper(value: object) -> Paper | None:
    """A paper: a name like ``A4``, the API's number, ``{"width_mm", "height_mm"}`` or ``62x29 mm``.

    Also the ``paper`` of ``page_count``. Raises :class:`~lianke_bridge.errors.PrintOptionsError`.
    """
    if value is None:
        return None
    usage = (
        "paper must be a name like 'A4', the API's paper number, or "
        '{"width_mm": 100, "height_mm": 150} for a custom size'
    )
    if isinstance(value, Mapping):
        return _custom_paper(value, usage)
    number = readers.whole_number(value)
    if number is not None:
        if number == 0:
            raise PrintOptionsError(
                'paper 0 is the API\'s custom size: give {"width_mm": …, "height_mm": …} instead'
            )
        if number < 0:
            raise PrintOptionsError(f"{usage}; got {kind(value)}")
        return number
    if isinstance(value, str) and value.strip():
        custom = _CUSTOM_PAPER.match(value.strip())
        if custom:
            return _custom_paper(
                {"width_mm": float(custom.group(1)), "height_mm": float(custom.group(2))}, usage
            )
        if len(value) > MAX_PAPER_NAME:
            raise PrintOptionsError(f"paper is longer than {MAX_PAPER_NAME} characters")
        return value.strip()
    raise PrintOptionsError(f"{usage}; got {kind(value)}")


def _custom_paper(value: Mapping[str, Any], usage: str) -> CustomPaper:
    if set(value) != {"width_mm", "height_mm"}:
        raise PrintOptionsError(f"{usage}; a custom size takes exactly width_mm and height_mm")
    sizes: list[float] = []
    for key in ("width_mm", "height_mm"):
        size = value[key]
        if isinstance(size, str):
            size = float(size) if _DECIMAL.fullmatch(size) else None
        if (
            isinstance(size, bool)
            or not isinstance(size, int | float)
            or not math.isfinite(size)
            or not 1 <= size <= MAX_CUSTOM_PAPER_MM
        ):
            raise PrintOptionsError(
                f"paper {key} must be a number of millimetres from 1 to {MAX_CUSTOM_PAPER_MM}; "
                f"got {kind(value[key])}"
            )
        sizes.append(float(size))
    return CustomPaper(width_mm=sizes[0], height_mm=sizes[1])


def _api_fields(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise PrintOptionsError(
            'options must be a JSON object of raw API fields like {"dmPrintQuality": -4}; '
            f"got {kind(value)}"
        )
    out: dict[str, str] = {}
    for key, raw in value.items():
        if not isinstance(key, str) or not _API_FIELD.match(key):
            raise PrintOptionsError(f"options: {show(key)} is not an API field name")
        if key.lower() in FORBIDDEN_OPTIONS:
            raise PrintOptionsError(
                f"options may not set {key} (the bridge sets credentials, the document, the "
                "port and the callback itself; use the port field to choose a printer)"
            )
        if isinstance(raw, bool):
            out[key] = "1" if raw else "0"
        elif isinstance(raw, str | int | float):
            out[key] = str(raw)
        else:
            raise PrintOptionsError(
                f"options.{key} must be a string, number or boolean; got {kind(raw)}"
            )
    return out


_READERS: Mapping[str, Callable[[object], Any]] = {
    "copies": _copies,
    "paper": read_paper,
    "color": _color,
    "duplex": _duplex,
    "orientation": _orientation,
    "scale": _scale,
    "align": _align,
    "pages": _pages,
    "reverse": _bool_reader("reverse"),
    "auto_rotate": _bool_reader("auto_rotate"),
    "file_ext": _file_ext,
    "options": _api_fields,
}

PRINT_OPTIONS = tuple(_READERS)
"""The print command's option keys (also the keys of a port's ``print_defaults``)."""
