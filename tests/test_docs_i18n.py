"""A Chinese page cannot fall behind its English one.

Each English page with a Chinese translation (``docs/page.md`` and ``docs/page.zh.md``,
``README.md`` and ``README.zh-CN.md``, the two halves of the add-on's DOCS.md) must have the same
sections, level by level and in order, and the same code blocks: ``console`` blocks (which
tests/test_docs_commands.py runs on the English page) exactly, other code up to its ``#``
comments (translated), diagrams only by kind. On the site a Chinese heading keeps the English
anchor (``## 安装 {#install}``), so a link to ``page.md#install`` works in both languages.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import markdown  # type: ignore[import-untyped]  # no stubs; its toc extension makes the ids
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ADDON_DOCS = ROOT / "addons/lianke_bridge/DOCS.md"
ADDON_ZH_HEADING = "## 中文说明"

REQUIRED = (
    "index",
    "getting-started",
    "install/home-assistant-addon",
    "install/docker-compose",
    "install/pipx-systemd",
    "configuration",
    "home-assistant",
    "node-red",
    "troubleshooting",
    "cli",
    "mqtt-api",
    "reliability",
)
"""The site's pages every user reads: each must have its Chinese page (issue 19); the command line,
the MQTT API's overview and what the bridge guarantees are read by Node-RED builders and shell users
too."""

SITE_PAIRS = sorted(
    (page.with_name(page.name[: -len(".zh.md")] + ".md"), page) for page in DOCS.rglob("*.zh.md")
)
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
COMMENT = re.compile(r"(?:^|(?<=\s))#(?![{#]).*$", re.MULTILINE)
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
EXTENSIONS = (
    "toc",
    "attr_list",
    "admonition",
    "def_list",
    "md_in_html",
    "tables",
    "pymdownx.details",
    "pymdownx.superfences",
)


@dataclass(frozen=True)
class Heading:
    """A section: its level, its anchor on the site and its title."""

    level: int
    anchor: str
    title: str


def headings(text: str) -> list[Heading]:
    """The page's headings in order, as MkDocs renders them (its toc extension's ids)."""
    md = markdown.Markdown(extensions=list(EXTENSIONS))
    md.convert(text)
    found: list[Heading] = []

    def walk(tokens: list[dict[str, object]]) -> None:
        for token in tokens:
            found.append(Heading(int(str(token["level"])), str(token["id"]), str(token["name"])))
            walk(token["children"])  # type: ignore[arg-type]  # the toc's own nesting

    walk(md.toc_tokens)
    return found


def code_blocks(text: str) -> list[tuple[str, str]]:
    """Each fenced block: its language, and what must match (comments translated, diagrams free)."""
    blocks = []
    for m in FENCE.finditer(text):
        lang, body = m["lang"], textwrap.dedent(m["body"])
        if lang == "mermaid":
            body = ""  # labels are prose
        elif lang != "console":
            body = "\n".join(line.rstrip() for line in COMMENT.sub("", body).splitlines())
        blocks.append((lang, body.strip()))
    return blocks


def prose_blocks(text: str) -> list[str]:
    """Each paragraph, list item, table row and heading, without code, inline code or links."""
    text = FENCE.sub("", text)
    text = re.sub(r"`[^`\n]*`|\]\([^)]*\)|https?://\S+|<[^>]+>", " ", text)
    blocks = re.split(r"\n\s*\n|\n(?=\s*(?:[-*] |\d+\. |\||#))", text)
    return [" ".join(block.split()) for block in blocks if block.strip()]


def addon_halves() -> tuple[str, str]:
    """DOCS.md's English half (without its title) and its Chinese half, headings one level up."""
    text = ADDON_DOCS.read_text(encoding="utf-8")
    english, sep, chinese = text.partition(f"\n{ADDON_ZH_HEADING}\n")
    assert sep, f"DOCS.md has no {ADDON_ZH_HEADING!r} half"
    english = english.split("\n", 1)[1]  # the title '# Lianke Bridge' serves both halves
    return english, re.sub(r"^#(#+ )", r"\1", chinese, flags=re.MULTILINE)


def pairs() -> list[tuple[str, str, str, bool]]:
    """Every translated text: its name, English, Chinese, and whether anchors must match."""
    found = [
        (
            str(zh.relative_to(ROOT)),
            en.read_text(encoding="utf-8"),
            zh.read_text(encoding="utf-8"),
            True,
        )
        for en, zh in SITE_PAIRS
    ]
    found.append(
        (
            "README.zh-CN.md",
            (ROOT / "README.md").read_text(encoding="utf-8"),
            (ROOT / "README.zh-CN.md").read_text(encoding="utf-8"),
            False,
        )
    )
    english, chinese = addon_halves()
    # each half under a title of its own: '## 中文说明' stands to the Chinese as '# Lianke Bridge'
    found.append(("addons/lianke_bridge/DOCS.md", f"# -\n{english}", f"# -\n{chinese}", False))
    return found


PAIRS = pairs()
IDS = [name for name, *_ in PAIRS]


def outline(items: list[Heading], *, anchors: bool) -> list[str]:
    """Headings as comparable lines: level and anchor (site pages, below the title) or level."""
    return [
        f"{'#' * h.level} {h.anchor if anchors and h.level > 1 else ''}".rstrip() for h in items
    ]


@pytest.mark.parametrize(("name", "english", "chinese", "anchors"), PAIRS, ids=IDS)
def test_a_chinese_page_has_every_section_of_its_english_page(
    name: str, english: str, chinese: str, anchors: bool
) -> None:
    """Same headings, level by level and in order; on the site with the English anchors."""
    en, zh = headings(english), headings(chinese)
    want, got = outline(en, anchors=anchors), outline(zh, anchors=anchors)
    if want != got:
        titles = "\n".join(f"  {'#' * h.level} {h.title}  {{#{h.anchor}}}" for h in en)
        pytest.fail(
            f"{name}: its sections are {got}\nbut the English page's are {want}:\n{titles}\n"
            "translate the English sections it lacks (a site page keeps the English anchor: "
            "'## 标题 {#anchor}')"
        )


@pytest.mark.parametrize(("name", "english", "chinese", "anchors"), PAIRS, ids=IDS)
def test_a_chinese_page_shows_the_same_code(
    name: str, english: str, chinese: str, anchors: bool
) -> None:
    """The same code blocks in order: commands, topics, payloads and entity ids as in English."""
    en, zh = code_blocks(english), code_blocks(chinese)
    assert [lang for lang, _ in zh] == [lang for lang, _ in en], f"{name}: not the same code blocks"
    for index, ((lang, want), (_, got)) in enumerate(zip(en, zh, strict=True)):
        assert got == want, f"{name}: code block {index + 1} ({lang}) differs from the English one"


@pytest.mark.parametrize(("name", "english", "chinese", "anchors"), PAIRS, ids=IDS)
def test_a_chinese_page_is_written_in_chinese(
    name: str, english: str, chinese: str, anchors: bool
) -> None:
    """No English sentence left in: a paragraph, item or row of six words has Chinese in it."""
    english_only = [
        block[:80]
        for block in prose_blocks(chinese)
        if len(re.findall(r"[A-Za-z]{2,}", block)) >= 6 and not CJK.search(block)
    ]
    assert english_only == [], f"{name}: left in English: {english_only}"


def test_the_pages_users_read_have_a_chinese_page() -> None:
    """Each page of REQUIRED: starting, installing, configuring, using, troubleshooting."""
    missing = [page for page in REQUIRED if not (DOCS / f"{page}.zh.md").is_file()]
    assert missing == []


def test_the_readmes_link_to_each_other() -> None:
    """Each README's top names the other language, with a link that works on GitHub and PyPI."""
    base = "https://github.com/lianke-bridge/lianke-bridge/blob/main/"
    for page, other in (("README.md", "README.zh-CN.md"), ("README.zh-CN.md", "README.md")):
        top = (ROOT / page).read_text(encoding="utf-8").split("\n## ", 1)[0]
        assert f"]({base}{other})" in top, f"{page} does not link to {other} at its top"


def test_the_site_switches_language() -> None:
    """The site builds a Chinese version beside the English one, from the .zh.md pages."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"docs_structure: suffix", config)
    assert re.search(r"- locale: zh\n\s+name: 简体中文\n\s+build: true", config)


def test_the_docs_build_shows_and_counts_its_warnings() -> None:
    """`make docs-build` runs mkdocs without --quiet, which would let a broken link pass.

    With --quiet mkdocs 1.6 drops its warnings (a broken link, a missing anchor) before --strict
    counts them.
    """
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^docs-build:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None, "the Makefile has no docs-build target"
    assert "build --strict" in recipe[1]
    assert not re.search(r"\s(--quiet|-q)\b", recipe[1]), recipe[1]
