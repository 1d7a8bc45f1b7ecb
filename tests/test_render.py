"""Text and HTML fragments become printable, self-contained pages."""

from __future__ import annotations

import re

import pytest

from lianke_bridge.bridge.requests.render import render_page


def page(**kwargs: str) -> str:
    """The rendered page as text."""
    return render_page(**kwargs).decode("utf-8")


def test_text_is_escaped_not_interpreted() -> None:
    """Markup in a message prints as the characters typed, never as HTML."""
    html = page(text="<b>milk</b> & <script>alert(1)</script>")
    assert "&lt;b&gt;milk&lt;/b&gt; &amp; &lt;script&gt;" in html
    assert "<script>" not in html


def test_page_is_utf8_and_self_contained() -> None:
    """The page declares UTF-8, keeps non-Latin text, and loads nothing from anywhere."""
    raw = render_page(text="牛奶 und Brötchen")
    html = raw.decode("utf-8")
    assert '<meta charset="utf-8">' in html
    assert "牛奶 und Brötchen" in html
    assert not re.search(r"(src|href)\s*=|@import|url\(|<script|<link", html, re.IGNORECASE)


def test_page_has_print_margins_and_readable_type() -> None:
    """@page margins and a 12 pt system font make a plain page print well."""
    html = page(text="hello")
    assert re.search(r"@page\s*\{[^}]*margin", html)
    assert "font-size: 12pt" in html
    assert "system-ui" in html


def test_line_breaks_are_kept() -> None:
    """Lines stay lines: the text block wraps but preserves newlines."""
    html = page(text="first line\nsecond line\n\nafter a blank line")
    assert "white-space: pre-wrap" in html
    assert "first line\nsecond line\n\nafter a blank line" in html


def test_shopping_list_prints_as_bullets() -> None:
    """Lines starting with '- ' or '* ' become one bulleted list, in order."""
    html = page(text="Shopping:\n- milk\n* eggs\n-   bread\nThanks!")
    items = re.findall(r"<li>(.*?)</li>", html)
    assert items == ["milk", "eggs", "bread"]
    assert html.index("Shopping:") < html.index("<ul>") < html.index("Thanks!")


def test_check_boxes_in_a_list() -> None:
    """'- [ ] item' and '- [x] item' print as empty and ticked boxes."""
    html = page(text="- [ ] milk\n- [x] eggs")
    assert "\u2610 milk" in html
    assert "\u2611 eggs" in html
    assert 'class="checklist"' in html


def test_hyphen_without_space_is_plain_text() -> None:
    """'-5 degrees' is not a list item."""
    html = page(text="-5 degrees tonight")
    assert "<li>" not in html
    assert "-5 degrees tonight" in html


def test_title_is_a_heading_and_escaped() -> None:
    """A title prints as a heading and names the document; markup in it is escaped."""
    html = page(text="body", title="Tom & Jerry <3")
    assert "<h1>Tom &amp; Jerry &lt;3</h1>" in html
    assert "<title>Tom &amp; Jerry &lt;3</title>" in html


def test_html_fragment_is_wrapped() -> None:
    """An HTML fragment keeps its markup and gets the printable page around it."""
    html = page(html="<p>Hello <b>world</b></p>", title="Note")
    assert "<p>Hello <b>world</b></p>" in html
    assert html.startswith("<!DOCTYPE html>")
    assert "<h1>Note</h1>" in html


def test_whole_html_document_is_sent_as_is() -> None:
    """A document that already has <html> is not wrapped again."""
    document = "<!doctype html><HTML lang='de'><body>Hallo</body></HTML>"
    assert render_page(html=document) == document.encode("utf-8")


@pytest.mark.parametrize("kwargs", [{}, {"text": "a", "html": "<p>b</p>"}])
def test_exactly_one_source(kwargs: dict[str, str]) -> None:
    """Asking for neither or both of text and html is a programming error."""
    with pytest.raises(ValueError, match="exactly one"):
        render_page(**kwargs)
