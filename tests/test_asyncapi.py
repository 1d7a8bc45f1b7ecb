"""docs/asyncapi.yaml is a valid AsyncAPI 3.0 document, as the AsyncAPI project's parser reads it.

The parser (``@asyncapi/parser``, pinned in tools/asyncapi/package-lock.json) checks the
document's structure and rules and follows every reference into schemas/. It runs on Node: the
test installs it with ``npm ci`` when tools/asyncapi/node_modules is missing (``.ci/run`` does
it first), and skips where Node or npm is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools" / "asyncapi"
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"


@pytest.fixture(scope="module")
def node() -> str:
    """Node, with the parser installed from the lock file."""
    found, npm = shutil.which("node"), shutil.which("npm")
    if found is None or npm is None:
        pytest.skip("node and npm are not installed: apt-get install nodejs npm (.ci/run does)")
    if not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        subprocess.run(  # noqa: S603 - npm, fixed arguments
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=TOOLS,
            check=True,
            capture_output=True,
            timeout=600,
        )
    return found


def validate(node: str, document: Path) -> subprocess.CompletedProcess[str]:
    """``node validate.mjs DOCUMENT``: exit 0 when the parser finds no error."""
    return subprocess.run(  # noqa: S603 - node, our own script
        [node, "validate.mjs", str(document)],
        cwd=TOOLS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_asyncapi_document_is_valid(node: str) -> None:
    """The parser reads the whole document, every schema it refers to, and finds no error."""
    done = validate(node, DOCUMENT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid AsyncAPI 3.0.0" in done.stdout


def test_a_broken_reference_is_an_error(node: str, tmp_path: Path) -> None:
    """The check is real: a message whose schema file is missing makes the document invalid."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    broken = DOCUMENT.read_text(encoding="utf-8").replace(
        "../schemas/response/print.json", "../schemas/response/no-such.json"
    )
    (tmp_path / "docs" / "asyncapi.yaml").write_text(broken, encoding="utf-8")
    done = validate(node, tmp_path / "docs" / "asyncapi.yaml")
    assert done.returncode == 1
    assert "no-such.json" in done.stdout
