"""The rules of docs/architecture.md that reading the code can check, checked on every run.

The package's source is parsed, not imported: a rule holds for every module, including those a
configuration switches off.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import lianke_bridge

PACKAGE = Path(lianke_bridge.__file__).parent
ERRORS = "errors.py"
SIMULATOR_SIGNALS = {
    "simulator/answers.py": {"ApiRefusalError"},
    "simulator/bodies.py": {"BadBodyError"},
}
"""The simulator's internal refusal signals: they become its HTTP answers and never leave it."""
BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def base_name(base: ast.expr) -> str:
    """``errors.LiankeError`` and ``LiankeError`` both as ``LiankeError``."""
    if isinstance(base, ast.Attribute):
        return base.attr
    if isinstance(base, ast.Name):
        return base.id
    return ""


def exception_classes() -> dict[str, set[str]]:
    """Every class of the package that derives from an exception, by module path.

    A class is one when a base is a built-in exception, a library's (named ``…Error``,
    ``…Exception`` or ``…Warning``), or a class of the package already found to be one.
    """
    classes = {
        path.relative_to(PACKAGE).as_posix(): [
            node
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ClassDef)
        ]
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    known = set(BUILTIN_EXCEPTIONS)
    found: dict[str, set[str]] = {}
    grew = True
    while grew:  # a class may derive from one defined further down or in another module
        grew = False
        for module, nodes in classes.items():
            for node in nodes:
                names = {base_name(base) for base in node.bases}
                if node.name not in known and any(
                    name in known or name.endswith(("Error", "Exception", "Warning"))
                    for name in names
                ):
                    known.add(node.name)
                    found.setdefault(module, set()).add(node.name)
                    grew = True
    return found


def test_every_error_class_lives_in_errors_py() -> None:
    """An exception class defined anywhere but errors.py (bar the simulator's signals) fails."""
    outside = {
        module: names
        for module, names in exception_classes().items()
        if module != ERRORS and names - SIMULATOR_SIGNALS.get(module, set())
    }
    assert outside == {}, "move these to lianke_bridge/errors.py (docs/architecture.md)"


def test_the_scan_sees_the_error_tree() -> None:
    """The scan finds errors.py's tree and the simulator's signals: the rule is not vacuous."""
    found = exception_classes()
    assert {"LiankeError", "CloudError", "TooFrequentError"} <= found[ERRORS]
    for module, names in SIMULATOR_SIGNALS.items():
        assert found[module] == names


MAX_LINES = 400
"""docs/architecture.md: no module over 400 lines; split by responsibility, not by count."""


def test_no_module_is_over_400_lines() -> None:
    """A module that grows past 400 lines fails: it holds more than one job by then."""
    long = {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, "split these by responsibility (docs/architecture.md)"
