"""The steps of a release that edit files: the version, the changelog, and the check before a tag.

RELEASING.md runs them through make (``make bump VERSION=0.3.0``, ``make changelog``, ``make
tag``); each is one command here too:

    python3 scripts/release.py version           # the version lianke_bridge/__init__.py holds
    python3 scripts/release.py bump 0.3.0        # write a new one (and the add-on's)
    python3 scripts/release.py changelog         # "Unreleased" becomes "[0.3.0] - today"
    python3 scripts/release.py check             # the version has its dated changelog section

The Home Assistant add-on (addons/lianke_bridge) installs the bridge of its own version from the
package index, so its config.yaml repeats the version and its CHANGELOG.md gets a line per
release: ``bump`` and ``changelog`` write those too.

Only the standard library: it runs with any Python 3.11+, before the virtual environment exists.
Errors are one line on stderr and exit 1.
"""

# ruff: noqa: T201, INP001  (a script that reports on stdout, not a package)

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION_FILE = Path("lianke_bridge/__init__.py")
CHANGELOG = Path("CHANGELOG.md")
ADDON_CONFIG = Path("addons/lianke_bridge/config.yaml")
ADDON_CHANGELOG = Path("addons/lianke_bridge/CHANGELOG.md")
ASYNCAPI = Path("docs/asyncapi.yaml")
"""Generated (make generate), it states the version too: written with it, so it stays fresh."""
_VERSION_LINE = re.compile(r'(?m)^__version__ = "([^"]*)"$')
_ADDON_VERSION_LINE = re.compile(r'(?m)^version: "([^"]*)"$')
_ASYNCAPI_VERSION_LINE = re.compile(r"(?m)^  version: (\S+)$")
FINAL = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
"""A release: X.Y.Z (tagged vX.Y.Z)."""
UNRELEASED = "## [Unreleased]"
_SECTION = re.compile(r"(?m)^## \[")
_ADDON_SECTION = re.compile(r"(?m)^## ")
_UNRELEASED_LINK = re.compile(r"(?m)^\[Unreleased\]: (\S+)/compare/v(\S+)\.\.\.HEAD$")


class ReleaseError(Exception):
    """A step cannot be done: what is wrong, in one line."""


def read_version(root: Path) -> str:
    """The version ``lianke_bridge/__init__.py`` holds."""
    found = _VERSION_LINE.findall((root / VERSION_FILE).read_text(encoding="utf-8"))
    if len(found) != 1:
        raise ReleaseError(f"{VERSION_FILE} must hold exactly one __version__ line")
    return str(found[0])


def _one_line(text: str, pattern: re.Pattern[str], path: Path) -> None:
    if len(pattern.findall(text)) != 1:
        raise ReleaseError(f"{path} must hold exactly one {pattern.pattern!r} line")


def bump(root: Path, version: str) -> None:
    """Write ``version`` where it is stated: the package, the add-on, the AsyncAPI document."""
    if not FINAL.fullmatch(version):
        raise ReleaseError(f"{version!r} is no version: give X.Y.Z")
    edits = [(VERSION_FILE, _VERSION_LINE, f'__version__ = "{version}"')]
    if (root / ADDON_CONFIG).exists():
        edits.append((ADDON_CONFIG, _ADDON_VERSION_LINE, f'version: "{version}"'))
    if (root / ASYNCAPI).exists():
        edits.append((ASYNCAPI, _ASYNCAPI_VERSION_LINE, f"  version: {version}"))
    texts = [(root / path).read_text(encoding="utf-8") for path, _pattern, _line in edits]
    for text, (path, pattern, _line) in zip(texts, edits, strict=True):
        _one_line(text, pattern, path)  # check every file before writing any
    for text, (path, pattern, line) in zip(texts, edits, strict=True):
        (root / path).write_text(pattern.sub(line, text), encoding="utf-8")


def _unreleased_entries(text: str) -> tuple[int, int]:
    """Where the Unreleased section's entries start and end in the changelog's text."""
    start = text.find(UNRELEASED + "\n")
    if start < 0:
        raise ReleaseError(f"{CHANGELOG} has no '{UNRELEASED}' section")
    body = start + len(UNRELEASED) + 1
    following = _SECTION.search(text, body)
    return body, following.start() if following else len(text)


def changelog(root: Path, today: dt.date) -> None:
    """The Unreleased entries become the version's section, dated; a new empty Unreleased.

    The add-on's changelog (what Home Assistant shows before an update) gets the version with a
    link to its section here.
    """
    version = read_version(root)
    path = root / CHANGELOG
    text = path.read_text(encoding="utf-8")
    if f"## [{version}]" in text:
        raise ReleaseError(f"{CHANGELOG} already has a section for {version}")
    body, end = _unreleased_entries(text)
    if not re.search(r"(?m)^- ", text[body:end]):
        raise ReleaseError(f"nothing under '{UNRELEASED}' in {CHANGELOG}: write what changed")
    link = _UNRELEASED_LINK.search(text)
    if link is None:
        raise ReleaseError(f"{CHANGELOG} has no '[Unreleased]: …/compare/vX.Y.Z...HEAD' link")
    url, previous = link[1], link[2]
    text = text[:body] + f"\n## [{version}] - {today.isoformat()}\n" + text[body:]
    links = (
        f"[Unreleased]: {url}/compare/v{version}...HEAD\n"
        f"[{version}]: {url}/compare/v{previous}...v{version}"
    )
    text = _UNRELEASED_LINK.sub(links, text, count=1)
    addon = root / ADDON_CHANGELOG
    if addon.exists():
        notes = addon.read_text(encoding="utf-8")
        first = _ADDON_SECTION.search(notes)
        where = first.start() if first else len(notes)
        anchor = f"{version.replace('.', '')}---{today.isoformat()}"  # GitHub's, for the heading
        section = f"{url}/blob/v{version}/CHANGELOG.md#{anchor}"
        entry = f"## {version}\n\n- The bridge's {version}: [what changed]({section}).\n\n"
        addon.write_text(notes[:where] + entry + notes[where:], encoding="utf-8")
    path.write_text(text, encoding="utf-8")


def check(root: Path) -> str:
    """The version to tag: the changelog's newest section, dated, with nothing left unreleased."""
    version = read_version(root)
    text = (root / CHANGELOG).read_text(encoding="utf-8")
    body, end = _unreleased_entries(text)
    if re.search(r"(?m)^- ", text[body:end]):
        raise ReleaseError(f"'{UNRELEASED}' in {CHANGELOG} still has entries (make changelog)")
    newest = re.search(r"(?m)^## \[([^\]]+)\] - [0-9]{4}-[0-9]{2}-[0-9]{2}$", text)
    if newest is None or newest[1] != version:
        raise ReleaseError(
            f"{CHANGELOG}'s newest section is not '## [{version}] - DATE' (make changelog)"
        )
    return version


def main(argv: list[str] | None = None) -> int:
    """Run one step; 0 when done, 1 with one line on stderr when it cannot be done."""
    parser = argparse.ArgumentParser(prog="release.py", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout (default: this)")
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("version", help="print the version")
    new = steps.add_parser("bump", help="write a new version")
    new.add_argument("version")
    dated = steps.add_parser("changelog", help="date the Unreleased entries as this version's")
    dated.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: today)")
    steps.add_parser("check", help="ready to tag: the version has its changelog section")
    args = parser.parse_args(argv)
    root: Path = args.root
    try:
        if args.step == "version":
            print(read_version(root))
        elif args.step == "bump":
            bump(root, args.version)
            print(f"version {args.version} in {VERSION_FILE} (and the add-on's {ADDON_CONFIG})")
        elif args.step == "changelog":
            changelog(root, args.date or dt.datetime.now(dt.UTC).date())
            print(f"{CHANGELOG}: the Unreleased entries are now {read_version(root)}'s")
        else:
            print(f"ready to tag v{check(root)}")
    except (ReleaseError, OSError) as err:
        print(f"release: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
