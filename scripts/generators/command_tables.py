"""The command tables of the docs, from each command's ``CommandDoc`` (its module's record).

Each table sits between ``<!-- generated: <name> -->`` and ``<!-- end generated -->`` in a
hand-written page; only what is between the markers is rendered, the prose around it stays as
written. A page without its marker stops ``make generate`` (and fails the test) with the name
of the marker to put back.

docs/mqtt-api.zh.md has the overview's table in Chinese, from each ``CommandDoc``'s ``does_zh``
and ``payload_zh``: a command without them stops ``make generate`` with
:class:`MissingChineseError`, which names the module to write them in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from generators import ROOT, Generated
from lianke_bridge.bridge.requests.command import Command
from lianke_bridge.bridge.requests.registry import COMMANDS, Commands

END = "<!-- end generated -->"

Table = Callable[[Commands], str]


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table (cells as given: ``|`` inside code spans is the writer's care)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _name(command: Command[Any], *, scoped: bool = False) -> str:
    prefix = "bridge " if scoped and command.scope == "bridge" else ""
    return f"{prefix}`{command.name}`"


def _data(command: Command[Any]) -> str:
    """What the answer's ``data`` column says: what it does, then its shape."""
    doc = command.doc
    return f"{doc.does}: {doc.answer}" if doc.answer else doc.does


def contract_device(commands: Commands) -> str:
    """docs/mqtt-contract.md: the box commands, their payload and the cloud calls they make."""
    rows = [(_name(c), c.doc.payload, c.doc.calls) for c in commands.device.values()]
    return markdown_table(("command", "payload", "API call(s)"), rows)


def contract_bridge(commands: Commands) -> str:
    """docs/mqtt-contract.md: the bridge's commands, their payload and answer."""
    rows = [(_name(c), c.doc.payload, _data(c)) for c in commands.bridge.values()]
    return markdown_table(("command", "payload", "data"), rows)


def guide_device(commands: Commands) -> str:
    """docs/commands.md: every box command at a glance (each has its section below)."""
    rows = [(_name(c), c.doc.payload, _data(c)) for c in commands.device.values()]
    return markdown_table(("command", "payload", "data"), rows)


def overview(commands: Commands) -> str:
    """docs/mqtt-api.md: every command, what it takes and what happens."""
    rows = [(_name(c, scoped=True), c.doc.payload, c.doc.does) for c in commands]
    return markdown_table(("command", "payload", "what happens"), rows)


class MissingChineseError(Exception):
    """A command's ``CommandDoc`` does not say in Chinese what it does, or what it takes."""


WORDLESS_ZH = {"—": "—", "any": "任意内容"}
"""The payloads of commands without fields, in Chinese."""
_CODE = re.compile(r"`[^`]*`")


def _module(command: Command[Any]) -> str:
    return command.handle.__module__.replace(".", "/") + ".py"


def _chinese(command: Command[Any]) -> tuple[str, str]:
    """The payload and what happens, in Chinese (``payload_zh``, else a payload of code only)."""
    doc = command.doc
    payload = doc.payload_zh or WORDLESS_ZH.get(doc.payload, "")
    if not payload and not re.search(r"[A-Za-z]", _CODE.sub("", doc.payload)):
        payload = doc.payload
    missing = [
        name for name, text in (("does_zh", doc.does_zh), ("payload_zh", payload)) if not text
    ]
    if missing:
        fields = " and ".join(f"{name}=" for name in missing)
        raise MissingChineseError(
            f"the {command.scope} command {command.name!r} does not say it in Chinese: add "
            f"{fields} to its CommandDoc in {_module(command)}"
        )
    return payload, doc.does_zh


def overview_zh(commands: Commands) -> str:
    """docs/mqtt-api.zh.md: the overview's table, in Chinese."""
    rows = [
        (f"桥接程序 `{c.name}`" if c.scope == "bridge" else f"`{c.name}`", *_chinese(c))
        for c in commands
    ]
    return markdown_table(("命令", "消息内容", "作用"), rows)


PAGES: dict[str, dict[str, Table]] = {
    "docs/mqtt-contract.md": {
        "device-commands": contract_device,
        "bridge-commands": contract_bridge,
    },
    "docs/commands.md": {"device-commands": guide_device, "bridge-commands": contract_bridge},
    "docs/mqtt-api.md": {"commands": overview},
    "docs/mqtt-api.zh.md": {"commands": overview_zh},
}
"""Each page, and the tables between its markers."""


def fill(text: str, marker: str, table: str) -> str:
    """``text`` with ``table`` between the marker ``marker`` and the end marker after it."""
    pattern = re.compile(
        rf"(<!-- generated: {re.escape(marker)} -->\n).*?({re.escape(END)})", re.DOTALL
    )
    if not pattern.search(text):
        raise ValueError(
            f"no '<!-- generated: {marker} -->' … '{END}' in the page: put the markers back"
        )
    return pattern.sub(lambda m: f"{m.group(1)}{table}\n{m.group(2)}", text, count=1)


def render_page(page: str, commands: Commands = COMMANDS) -> str:
    """A page as it is on disk, its tables rendered anew."""
    text = (ROOT / page).read_text(encoding="utf-8")
    for marker, table in PAGES[page].items():
        text = fill(text, marker, table(commands))
    return text


GENERATED = tuple(Generated(Path(page), partial(render_page, page)) for page in PAGES)
