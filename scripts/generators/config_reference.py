# ruff: noqa: RUF001 - the Chinese words (full-width punctuation) and the ranges' en dashes
"""docs/configuration.md and its Chinese twin: every option, rendered from the schema.

:mod:`.config_keys` reads the keys, what each accepts, its default, the environment variable and
``<key>_file`` that stand in for it, and its description in both languages; this module lays
them out as one table per section inside the hand-written prose of ``templates/``
(``{{options}}`` and ``{{environment}}`` mark where). The Chinese page has the suffix name
mkdocs-static-i18n expects (``configuration.zh.md``, locale ``zh``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generators import Generated
from generators.config_keys import UNSET, Accepts, Block, Option, walk
from lianke_bridge.config.overrides import ENV_OVERRIDES

TEMPLATES = Path(__file__).resolve().parent / "templates"
MIB = 1024 * 1024

_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "header": "| Key | Values | Default | Secret · file · environment | Description |",
        "env_header": "| Variable | Overrides |",
        "required": "**required**",
        "below": "see below",
        "secret": "secret",
        "or": " or ",
        "comma": ", ",
        "text": "text",
        "characters": "text, {low}–{high} characters",
        "url": "`http://` or `https://` URL",
        "https_url": "public `https://` URL",
        "url_path": "URL path like `/lianke`",
        "host": "host name or IP address",
        "topic": "MQTT topic",
        "slug": "`a-z`, `0-9`, `_`, `-`",
        "qr": "QR link or token",
        "file": "path of a file",
        "folder": "path of a folder",
        "hosts": "list of host names or IP addresses",
        "shard": "`INDEX/COUNT` or `auto/COUNT`",
        "tls": "`true`, `false` or a mapping",
        "mapping": "mapping",
        "list": "list",
        "ports": "port number → options",
        "boolean": "`true` or `false`",
        "duration": "duration, {low} – {high}",
        "integer": "whole number, {low}–{high}",
        "positive": "number above 0, at most {high}",
        "size": "size, {low} – {high}",
        "paper": "paper name, number or size",
        "scale": "{words} or a percentage, {low}–{high} %",
        "pages": "page range (pages {low}–{high}), {words}",
        "extension": "file extension like `.pdf`",
        "s": "{n} s",
        "min": "{n} min",
        "h": "{n} h",
        "d": "{n} d",
        "years": "about {n} years",
    },
    "zh": {
        "header": "| 键 | 取值 | 默认值 | 机密 · 文件 · 环境变量 | 说明 |",
        "env_header": "| 环境变量 | 覆盖的键 |",
        "required": "**必填**",
        "below": "见下文",
        "secret": "机密",
        "or": " 或 ",
        "comma": "、",
        "text": "文本",
        "characters": "文本，{low}–{high} 个字符",
        "url": "`http://` 或 `https://` 网址",
        "https_url": "公网 `https://` 网址",
        "url_path": "网址路径，如 `/lianke`",
        "host": "主机名或 IP 地址",
        "topic": "MQTT 主题",
        "slug": "`a-z`、`0-9`、`_`、`-`",
        "qr": "二维码链接或 token",
        "file": "文件路径",
        "folder": "文件夹路径",
        "hosts": "主机名或 IP 地址的列表",
        "shard": "`INDEX/COUNT` 或 `auto/COUNT`",
        "tls": "`true`、`false` 或映射",
        "mapping": "映射",
        "list": "列表",
        "ports": "端口号 → 选项",
        "boolean": "`true` 或 `false`",
        "duration": "时长，{low} – {high}",
        "integer": "整数，{low}–{high}",
        "positive": "大于 0 的数，最大 {high}",
        "size": "大小，{low} – {high}",
        "paper": "纸张名称、编号或尺寸",
        "scale": "{words} 或百分比 {low}–{high}%",
        "pages": "页码范围（{low}–{high} 页）、{words}",
        "extension": "扩展名，如 `.pdf`",
        "s": "{n} 秒",
        "min": "{n} 分钟",
        "h": "{n} 小时",
        "d": "{n} 天",
        "years": "约 {n} 年",
    },
}
"""The words around the values, per language."""

_UNITS = ((86400, "d"), (3600, "h"), (60, "min"), (1, "s"))


# ---- values --------------------------------------------------------------------------------------
def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else str(int(value))  # noqa: PLR2004 - no 1e+06


def duration_text(seconds: float, lang: str) -> str:
    """A duration in its largest whole unit: ``15 min``, ``1 d``; ``0`` alone."""
    if seconds == 0:
        return "0"
    if seconds >= 10 * 365 * 86400:
        return _WORDS[lang]["years"].format(n=round(seconds / (365.25 * 86400)))
    for size, unit in _UNITS:
        if seconds % size == 0:
            return _WORDS[lang][unit].format(n=_number(seconds / size))
    return _WORDS[lang]["s"].format(n=_number(seconds))


def size_text(size: float) -> str:
    """A size in its largest whole unit: ``20 MiB``, ``64 KiB``."""
    for unit, name in ((MIB, "MiB"), (1024, "KiB")):
        if size % unit == 0:
            return f"{_number(size / unit)} {name}"
    return f"{_number(size)} B"


def _words(words: tuple[str, ...], lang: str) -> str:
    quoted = [f"`{word}`" for word in words]
    if len(quoted) == 1:
        return quoted[0]
    return _WORDS[lang]["comma"].join(quoted[:-1]) + _WORDS[lang]["or"] + quoted[-1]


def values_text(accepts: Accepts, lang: str) -> str:
    """The Values cell: what a key accepts, in the page's language."""
    words = _WORDS[lang]
    kind, low, high = accepts.kind, accepts.low, accepts.high
    if kind == "choice":
        return _words(accepts.words, lang)
    if kind == "text" and high is not None:
        return words["characters"].format(low=low, high=high)
    if kind == "duration":  # seconds() and byte_size() always have both ends
        return words[kind].format(
            low=duration_text(low or 0, lang), high=duration_text(high or 0, lang)
        )
    if kind == "size":
        return words[kind].format(low=size_text(low or 0), high=size_text(high or 0))
    if kind in ("integer", "positive", "scale", "pages"):
        return words[kind].format(
            low=_number(low or 0),
            high=_number(high or 0),
            words=words["comma"].join(f"`{word}`" for word in accepts.words),
        )
    return words[kind]


def default_text(option: Option, lang: str) -> str:
    """The Default cell: the model's default as one would write it in the file."""
    value = option.default
    if option.required:
        return _WORDS[lang]["required"]
    if option.opens is not None and option.accepts.kind != "tls":
        return _WORDS[lang]["below"]
    if value is UNSET or value is None or (isinstance(value, Mapping) and not value):
        return "—"
    return f"`{default_yaml(option)}`"


def default_yaml(option: Option) -> str:
    """A default as YAML: ``15m``, ``20MB``, ``true``, ``[]``…; what the file would say."""
    value: Any = option.default
    kind = option.accepts.kind
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "duration" and value >= 600:  # noqa: PLR2004 - 10 minutes and up read better with a unit
        for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
            if value % size == 0:
                return f"{_number(value / size)}{unit}"
    if kind == "size":
        for size, unit in ((MIB, "MB"), (1024, "KB")):
            if value % size == 0:
                return f"{_number(value / size)}{unit}"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(item) for item in value) + "]"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def also_text(option: Option, lang: str) -> str:
    """The Secret · file · environment cell."""
    parts = [_WORDS[lang]["secret"]] if option.accepts.secret else []
    if option.file_key:
        parts.append(f"`{option.file_key}`")
    parts.extend(f"`{var}`" for var in option.env)
    return " · ".join(parts)


# ---- the page ------------------------------------------------------------------------------------
_ROLE = re.compile(r":[a-z]+:`~?\.?([^`]+)`")


def markdown(text: str) -> str:
    """Docstring markup as Markdown: ````x```` and ``:func:`x``` become ```x```; no ``|``."""
    return _ROLE.sub(r"`\1`", text).replace("``", "`").replace("|", "\\|")


def _cell(text: str) -> str:
    return markdown(text).replace("\n\n", " ")


def _row(option: Option, lang: str) -> str:
    description = option.en if lang == "en" else option.zh
    cells = (
        f"`{option.path}`",
        values_text(option.accepts, lang),
        default_text(option, lang),
        also_text(option, lang),
        _cell(description),
    )
    return "| " + " | ".join(cells) + " |"


def _table(options: list[Option], lang: str) -> list[str]:
    return [_WORDS[lang]["header"], "|---|---|---|---|---|", *(_row(o, lang) for o in options)]


def _section(option: Option, level: int, lang: str) -> list[str]:
    """A heading for a key: a section's intro and table, then the sections it holds."""
    lines = ["#" * level + f" `{option.path}`", ""]
    block = option.opens
    if block is None:  # a top-level key of its own (state_dir, shard)
        return [*lines, *_table([option], lang), ""]
    lines += [markdown(block.en if lang == "en" else block.zh), ""]
    lines += [*_table(list(block.options), lang), ""]
    for inner in block.options:
        if inner.opens is not None:
            lines += _section(inner, level + 1, lang)
    return lines


def options_markdown(root: Block, lang: str) -> str:
    """Every section of the file, one heading each, in the schema's order."""
    lines: list[str] = []
    for option in root.options:
        lines += _section(option, 2, lang)
    return "\n".join(lines).rstrip("\n")


def environment_markdown(lang: str) -> str:
    """The environment variables' table."""
    rows = [f"| `{var}` | `{'.'.join(path)}` |" for var, path in ENV_OVERRIDES.items()]
    return "\n".join([_WORDS[lang]["env_header"], "|---|---|", *rows])


_NOTE = (
    "<!-- Generated by `make generate` (scripts/generators/config_reference.py) from the schema and"
    " the docstrings of lianke_bridge/config (descriptions_zh.py in Chinese) and from {template}:"
    " edit those, not this page. -->"
)


def render(lang: str) -> str:
    """One language's whole page."""
    name = "configuration.md" if lang == "en" else f"configuration.{lang}.md"
    template = (TEMPLATES / name).read_text(encoding="utf-8")
    title, _, rest = template.partition("\n")
    note = _NOTE.format(template=f"scripts/generators/templates/{name}")
    page = f"{title}\n\n{note}\n{rest}"
    page = page.replace("{{options}}", options_markdown(walk(), lang))
    return page.replace("{{environment}}", environment_markdown(lang))


GENERATED = (
    Generated(Path("docs/configuration.md"), lambda: render("en")),
    Generated(Path("docs/configuration.zh.md"), lambda: render("zh")),
)
