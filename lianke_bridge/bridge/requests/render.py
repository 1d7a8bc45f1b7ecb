"""Plain text (or an HTML fragment) as a printable, self-contained HTML page.

The cloud prints HTML *files* but treats a plain string ``jobFile`` as a URL, so text sent with
``print`` (or a Home Assistant notification) is rendered here and uploaded as ``text.html``.
Pure: no I/O, no external resources, no scripts. Imported by the first text print only
(``build.py``): ``html`` brings its entity table, ~0.4 MiB an idle bridge need not hold.
"""

from __future__ import annotations

import html as html_lib
import re

DEFAULT_TITLE = "lianke-bridge"
"""The ``<title>`` when none is given (never printed: only a heading prints)."""


def page_style(font_size: str) -> str:
    """The rules every page the bridge renders starts with: margins, colours kept, CJK fonts."""
    return f"""\
@page {{ margin: 12mm; }}
html {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
body {{
  margin: 0;
  color: #000;
  background: #fff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
  font-size: {font_size};
  line-height: 1.4;
}}
"""


_STYLE = (
    page_style("12pt")
    + """\
h1 { font-size: 16pt; line-height: 1.2; margin: 0 0 8pt; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 6pt; }
ul { margin: 0 0 6pt; padding-left: 1.4em; }
ul.checklist { list-style: none; padding-left: 0.2em; }
li { margin: 2pt 0; overflow-wrap: anywhere; }
img { max-width: 100%; }
"""
)

_BULLET = re.compile(r"^\s*[-*]\s+(?P<item>.*)$")
_CHECKBOX = re.compile(r"^\[(?P<mark>[ xX])\]\s+(?P<item>.*)$")
_HAS_HTML_ELEMENT = re.compile(r"<html[\s>]", re.IGNORECASE)


def render_page(
    *, text: str | None = None, html: str | None = None, title: str | None = None
) -> bytes:
    """A printable UTF-8 HTML page for ``text`` or ``html`` (exactly one), with an optional title.

    Text is escaped and keeps its line breaks; runs of lines starting with ``- `` or ``* ``
    become a bulleted list (``- [ ] milk`` / ``- [x] eggs`` become check boxes), so a shopping
    list prints as one. ``html`` that is already a whole document (it has ``<html>``) is sent
    as it is; a fragment is wrapped in the same page as text.
    """
    if (text is None) == (html is None):
        raise ValueError("render_page takes exactly one of text or html")
    if html is not None and _HAS_HTML_ELEMENT.search(html):
        return html.encode("utf-8")
    heading = f"<h1>{html_lib.escape(title)}</h1>\n" if title else ""
    body = html if html is not None else _text_to_html(text or "")
    page = (
        "<!DOCTYPE html>\n"
        "<html>\n<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html_lib.escape(title or DEFAULT_TITLE)}</title>\n"
        f"<style>\n{_STYLE}</style>\n"
        "</head>\n<body>\n"
        f"{heading}{body}\n"
        "</body>\n</html>\n"
    )
    return page.encode("utf-8")


def _text_to_html(text: str) -> str:
    """Escaped blocks: bulleted lines as ``<ul>``, everything else as pre-wrapped text."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    blocks: list[str] = []
    plain: list[str] = []
    items: list[str] = []

    def flush_plain() -> None:
        if plain:
            joined = html_lib.escape("\n".join(plain))
            blocks.append(f'<div class="text">{joined}</div>')
            plain.clear()

    def flush_items() -> None:
        if items:
            checklist = all(item.startswith('<li class="check">') for item in items)
            css = ' class="checklist"' if checklist else ""
            blocks.append(f"<ul{css}>\n" + "\n".join(items) + "\n</ul>")
            items.clear()

    for line in lines:
        bullet = _BULLET.match(line)
        if bullet is None:
            flush_items()
            plain.append(line)
            continue
        flush_plain()
        items.append(_list_item(bullet.group("item")))
    flush_plain()
    flush_items()
    return "\n".join(blocks)


def _list_item(item: str) -> str:
    """One ``<li>``; ``[ ]`` / ``[x]`` at the start become ☐ / ☑."""
    box = _CHECKBOX.match(item)
    if box is None:
        return f"<li>{html_lib.escape(item)}</li>"
    mark = "\u2611" if box.group("mark") in "xX" else "\u2610"
    return f'<li class="check">{mark} {html_lib.escape(box.group("item"))}</li>'
