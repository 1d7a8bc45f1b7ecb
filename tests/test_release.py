"""A release as RELEASING.md makes it: the version in one place, the changelog, the steps.

The release steps that edit files (``scripts/release.py``: bump, changelog, check) run as the
maintainer runs them, on a copy of the files; the documents are checked against what the code,
the Makefile and CI really do. The built wheel itself is checked by ``make wheel-check`` in CI
(``scripts/wheel_check.py``: a fresh virtual environment, ``--version`` and the demo's first
print), which is too slow for the test suite.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import lianke_bridge

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "scripts/release.py"
CHANGELOG = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
"""Keep a Changelog's kinds of change, in its order."""


def release(*args: str, root: Path = ROOT) -> tuple[int, str, str]:
    """Run ``scripts/release.py --root ROOT ARGS``: exit code, stdout, stderr."""
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(RELEASE), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


EDITED = (
    "lianke_bridge/__init__.py",
    "CHANGELOG.md",
    "addons/lianke_bridge/config.yaml",
    "addons/lianke_bridge/CHANGELOG.md",
    "docs/asyncapi.yaml",
)
"""The files a release edits: the version, the changelog, the add-on's version and notes, and
the version the AsyncAPI document states (it is generated, and must stay fresh)."""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the files a release edits."""
    for name in EDITED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def sections(text: str) -> list[tuple[str, str]]:
    """The changelog's ``## [...]`` headings (name, rest of the line), in order."""
    return re.findall(r"(?m)^## \[([^\]]+)\](.*)$", text)


def test_the_version_is_written_in_one_place() -> None:
    """The build reads ``__version__``; no other module states it; it is X.Y.Z."""
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert dynamic == {"attr": "lianke_bridge.__version__"}
    assert release("version") == (0, f"{lianke_bridge.__version__}\n", "")
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", lianke_bridge.__version__)
    stated = [
        path
        for path in (ROOT / "lianke_bridge").rglob("*.py")
        if re.search(r"(?m)^__version__\s*=", path.read_text(encoding="utf-8"))
    ]
    assert stated == [ROOT / "lianke_bridge/__init__.py"]


def test_the_changelog_keeps_a_changelog() -> None:
    """Unreleased first, then each version newest first with its date, kinds in their order.

    Every heading has its link at the bottom, and the package's version is one of them.
    """
    assert CHANGELOG.startswith("# Changelog\n")
    found = sections(CHANGELOG)
    assert found[0] == ("Unreleased", "")
    versions = [name for name, _rest in found[1:]]
    for name, rest in found[1:]:
        assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", name)
        assert re.fullmatch(r" - [0-9]{4}-[0-9]{2}-[0-9]{2}", rest)
    numbers = [tuple(int(part) for part in name.split(".")) for name in versions]
    assert numbers == sorted(numbers, reverse=True)
    dates = [rest for _name, rest in found[1:]]
    assert dates == sorted(dates, reverse=True)
    for name, _rest in found:
        assert re.search(rf"(?m)^\[{re.escape(name)}\]: https://\S+$", CHANGELOG), name
    for body in re.split(r"(?m)^## ", CHANGELOG)[1:]:
        kinds = re.findall(r"(?m)^### (.+)$", body)
        assert kinds == [kind for kind in KINDS if kind in kinds]
    assert lianke_bridge.__version__ in versions


def test_bump_changelog_and_check_make_a_release(checkout: Path) -> None:
    """Bump, changelog, check: the Unreleased entries become the version's, dated.

    The add-on's config.yaml gets the version too (its image installs that release) and its
    changelog a line that links to the version's section; so does the AsyncAPI document.
    """
    unreleased = CHANGELOG.split("## [Unreleased]\n", 1)[1].split("\n## [", 1)[0]
    assert release("bump", "9.8.7", root=checkout)[0] == 0
    addon = yaml.safe_load((checkout / EDITED[2]).read_text(encoding="utf-8"))
    assert addon["version"] == "9.8.7"
    asyncapi = yaml.safe_load((checkout / EDITED[4]).read_text(encoding="utf-8"))
    assert asyncapi["info"]["version"] == "9.8.7"
    code, _out, err = release("check", root=checkout)
    assert (code, err) == (
        1,
        "release: '## [Unreleased]' in CHANGELOG.md still has entries (make changelog)\n",
    )
    assert release("changelog", "--date", "2031-01-02", root=checkout)[0] == 0
    assert release("check", root=checkout) == (0, "ready to tag v9.8.7\n", "")
    text = (checkout / "CHANGELOG.md").read_text(encoding="utf-8")
    assert sections(text)[:2] == [("Unreleased", ""), ("9.8.7", " - 2031-01-02")]
    assert text.split("## [9.8.7] - 2031-01-02\n", 1)[1].split("\n## [", 1)[0] == unreleased
    (newest, _date), *_rest = sections(CHANGELOG)[1:]
    url = "https://github.com/lianke-bridge/lianke-bridge"
    assert f"[Unreleased]: {url}/compare/v9.8.7...HEAD\n" in text
    assert f"[9.8.7]: {url}/compare/v{newest}...v9.8.7\n" in text
    init = (checkout / "lianke_bridge/__init__.py").read_text(encoding="utf-8")
    assert '__version__ = "9.8.7"' in init
    assert release("changelog", root=checkout)[2] == (
        "release: CHANGELOG.md already has a section for 9.8.7\n"
    )
    notes = (checkout / EDITED[3]).read_text(encoding="utf-8")
    section = f"{url}/blob/v9.8.7/CHANGELOG.md#987---2031-01-02"
    assert f"## 9.8.7\n\n- The bridge's 9.8.7: [what changed]({section}).\n\n## " in notes


@pytest.mark.parametrize(
    ("steps", "says"),
    [
        ([["bump", "v1.0"]], "'v1.0' is no version: give X.Y.Z"),
        ([["bump", "1.0.0.dev1"]], "'1.0.0.dev1' is no version: give X.Y.Z"),
        ([["check"]], "'## [Unreleased]' in CHANGELOG.md still has entries"),
        (
            [["bump", "8.0.0"], ["changelog"], ["bump", "8.0.1"], ["changelog"]],
            "nothing under '## [Unreleased]' in CHANGELOG.md: write what changed",
        ),
        (
            [["bump", "8.0.0"], ["changelog"], ["bump", "8.0.1"], ["check"]],
            "CHANGELOG.md's newest section is not '## [8.0.1] - DATE'",
        ),
    ],
    ids=["not-a-version", "dev-version", "unreleased-left", "empty-unreleased", "not-newest"],
)
def test_release_steps_refuse_what_is_not_ready(
    checkout: Path, steps: list[list[str]], says: str
) -> None:
    """A step that cannot be done says why in one line and exits 1, writing nothing."""
    *before, last = steps
    for args in before:
        assert release(*args, root=checkout)[0] == 0
    files = [checkout / name for name in EDITED]
    kept = [path.read_bytes() for path in files]
    code, out, err = release(*last, root=checkout)
    assert (code, out) == (1, "")
    assert err.startswith(f"release: {says}")
    assert err.count("\n") == 1
    assert [path.read_bytes() for path in files] == kept


def test_the_licence_is_mit_for_its_contributors() -> None:
    """LICENSE is the MIT licence the package metadata names, and the wheel carries it."""
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) ")
    assert "the lianke-bridge contributors" in text.splitlines()[2]
    project = PYPROJECT["project"]
    assert (project["license"], project["license-files"]) == ("MIT", ["LICENSE"])
    assert project["authors"] == [{"name": "the lianke-bridge contributors"}]


def test_the_package_says_where_it_lives() -> None:
    """Links a package index shows (home, docs, code, issues, changelog), classifiers, keywords."""
    project = PYPROJECT["project"]
    urls = project["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Repository", "Issues", "Changelog"}
    assert all(url.startswith(lianke_bridge.PROJECT_URL) for url in urls.values())
    assert urls["Changelog"].endswith("/CHANGELOG.md")
    assert "Typing :: Typed" in project["classifiers"]
    python = re.escape(project["requires-python"].removeprefix(">="))
    assert any(re.search(rf":: {python}$", c) for c in project["classifiers"])
    assert not any(c.startswith("License ::") for c in project["classifiers"])  # SPDX instead
    assert {"mqtt", "home assistant", "raspberry pi"} <= set(project["keywords"])


def make_targets() -> set[str]:
    """The targets the Makefile defines."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"(?m)^([a-z][a-z-]*):", text))


def test_every_release_step_is_one_make_command_and_ci_builds_the_wheel() -> None:
    """RELEASING.md's table names make targets that exist; CI runs the wheel check."""
    steps = (ROOT / "RELEASING.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?m)^\| [0-9]\. [a-z]+ \| `make ([a-z-]+)", steps))
    assert named == {"bump", "changelog", "tag", "wheel-check", "publish", "image-release"}
    assert named <= make_targets()
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
    assert ci[-2:] == ["make test", "make wheel-check"]
