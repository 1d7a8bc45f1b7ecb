"""Print options: read once, merged as values, refused with the request's wording."""

from __future__ import annotations

import pytest

from lianke_bridge import errors
from lianke_bridge.print_options import PRINT_OPTIONS, CustomPaper, PrintOptions, read_option


def test_parse_reads_every_option_into_its_type() -> None:
    """Words are normalised and numbers read once; the raw ``options`` become ``api_fields``."""
    options = PrintOptions.parse(
        {
            "copies": "2",
            "paper": "62 x 29 mm",
            "color": "Black and White",
            "duplex": True,
            "orientation": "landscape",
            "scale": "80 %",
            "align": "Top Left",
            "pages": "1, 3-4",
            "reverse": "yes",
            "auto_rotate": 0,
            "file_ext": "PDF",
            "options": {"dmPrintQuality": -4},
            "url": "https://a.org/x.pdf",  # not an option: the caller checks other keys
        }
    )
    assert options == PrintOptions(
        copies=2,
        paper=CustomPaper(62, 29),
        color="mono",
        duplex="long",
        orientation="landscape",
        scale="80%",
        align="z1",
        pages="1,3-4",
        reverse=True,
        auto_rotate=False,
        file_ext=".pdf",
        api_fields={"dmPrintQuality": "-4"},
    )


def test_nothing_asked_is_none() -> None:
    """An empty mapping reads as no option at all (the printer's or the API's defaults)."""
    assert PrintOptions.parse({}) == PrintOptions()
    assert PrintOptions.parse({"pages": "all"}).pages is None


def test_request_options_win_over_defaults() -> None:
    """What the request says wins; the defaults fill the rest; raw fields of both are kept."""
    defaults = PrintOptions(
        copies=3, paper="16K", duplex="long", api_fields={"htmlKernel": "wk", "isPreview": "0"}
    )
    asked = PrintOptions(duplex="off", api_fields={"isPreview": "1"})
    assert asked.merged_over(defaults) == PrintOptions(
        copies=3, paper="16K", duplex="off", api_fields={"htmlKernel": "wk", "isPreview": "1"}
    )
    assert PrintOptions().merged_over(defaults) == defaults
    assert asked.merged_over(PrintOptions()) == asked


def test_needs_paper_sizes_for_names_and_numbers_only() -> None:
    """A paper name or number may have to be looked up; a custom size never is."""
    assert PrintOptions(paper="16K").needs_paper_sizes
    assert PrintOptions(paper=9).needs_paper_sizes
    assert not PrintOptions(paper=CustomPaper(100, 150)).needs_paper_sizes
    assert not PrintOptions().needs_paper_sizes


def test_bad_option_raises_print_options_error_in_the_tree() -> None:
    """A bad option is a PrintOptionsError, an InvalidValueError, a LiankeError."""
    with pytest.raises(errors.PrintOptionsError) as info:
        PrintOptions.parse({"duplex": "sideways"})
    assert str(info.value) == "duplex must be one of off, long, short; got the string 'sideways'"
    assert isinstance(info.value, errors.InvalidValueError)
    assert isinstance(info.value, errors.LiankeError)


def test_read_option_then_of_is_parse() -> None:
    """Reading option by option (as the configuration does) gives the same value as parse."""
    raw = {"copies": 2, "color": "colour", "options": {"a": True}}
    one_by_one = PrintOptions.of({key: read_option(key, raw.get(key)) for key in PRINT_OPTIONS})
    assert (
        one_by_one
        == PrintOptions.parse(raw)
        == PrintOptions(copies=2, color="color", api_fields={"a": "1"})
    )
