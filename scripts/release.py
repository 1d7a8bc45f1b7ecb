"""The steps of a release that edit files: the version, the changelog, and the check before a tag.

RELEASING.md runs them through make (``make bump VERSION=0.3.0``, ``make changelog``, ``make
tag``); each is one command here too:

    python3 scripts/release.py version           # the version lianke_bridge/__init__.py holds
    python3 scripts/release.py bump 0.3.0        # write a new one (X.Y.Z, or X.Y.Z.devN between)
    python3 scripts/release.py changelog         # "Unreleased" becomes "[0.3.0] - today"
    python3 scripts/release.py check             # a final version with its changelog section

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
_VERSION_LINE = re.compile(r'(?m)^__version__ = "([^"]*)"$')
FINAL = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
"""A release: X.Y.Z (tagged vX.Y.Z)."""
DEVELOPMENT = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.dev[0-9]+")
"""Between releases: the next release's .devN."""
UNRELEASED = "## [Unreleased]"
_SECTION = re.compile(r"(?m)^## \[")
_UNRELEASED_LINK = re.compile(r"(?m)^\[Unreleased\]: (\S+)/compare/v(\S+)\.\.\.HEAD$")


class ReleaseError(Exception):
    """A step cannot be done: what is wrong, in one line."""


def read_version(root: Path) -> str:
    """The version ``lianke_bridge/__init__.py`` holds."""
    found = _VERSION_LINE.findall((root / VERSION_FILE).read_text(encoding="utf-8"))
    if len(found) != 1:
        raise ReleaseError(f"{VERSION_FILE} must hold exactly one __version__ line")
    return str(found[0])


def bump(root: Path, version: str) -> None:
    """Write ``version`` into ``lianke_bridge/__init__.py``."""
    if not (FINAL.fullmatch(version) or DEVELOPMENT.fullmatch(version)):
        raise ReleaseError(f"{version!r} is no version: give X.Y.Z, or X.Y.Z.devN between releases")
    path = root / VERSION_FILE
    text = path.read_text(encoding="utf-8")
    read_version(root)  # exactly one line to replace
    path.write_text(_VERSION_LINE.sub(f'__version__ = "{version}"', text), encoding="utf-8")


def _final_version(root: Path) -> str:
    version = read_version(root)
    if not FINAL.fullmatch(version):
        raise ReleaseError(
            f"the version is {version}: a release is X.Y.Z (make bump VERSION=X.Y.Z first)"
        )
    return version


def _unreleased_entries(text: str) -> tuple[int, int]:
    """Where the Unreleased section's entries start and end in the changelog's text."""
    start = text.find(UNRELEASED + "\n")
    if start < 0:
        raise ReleaseError(f"{CHANGELOG} has no '{UNRELEASED}' section")
    body = start + len(UNRELEASED) + 1
    following = _SECTION.search(text, body)
    return body, following.start() if following else len(text)


def changelog(root: Path, today: dt.date) -> None:
    """The Unreleased entries become the version's section, dated; a new empty Unreleased."""
    version = _final_version(root)
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
    path.write_text(text, encoding="utf-8")


def check(root: Path) -> str:
    """The version to tag, once it is final and the changelog has its (dated) section."""
    version = _final_version(root)
    text = (root / CHANGELOG).read_text(encoding="utf-8")
    if not re.search(
        rf"(?m)^## \[{re.escape(version)}\] - [0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$", text
    ):
        raise ReleaseError(f"{CHANGELOG} has no '## [{version}] - DATE' section (make changelog)")
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
    steps.add_parser("check", help="ready to tag: a final version with its changelog section")
    args = parser.parse_args(argv)
    root: Path = args.root
    try:
        if args.step == "version":
            print(read_version(root))
        elif args.step == "bump":
            bump(root, args.version)
            print(f"version {args.version} in {VERSION_FILE}")
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
