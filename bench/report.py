"""The benchmark's table: each figure beside its floor, the ratio, the target and pass/fail."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """One line of the table."""

    name: str
    value: float | None
    unit: str
    floor: float | None = None
    target: str = ""
    """How the target reads, e.g. ``<= 1.5x floor``; empty: no target."""
    passed: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """The value over the floor, when both are known and the floor is not zero."""
        if self.value is None or self.floor is None or self.floor == 0:
            return None
        return self.value / self.floor


def _number(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 100 or value == int(value):  # noqa: PLR2004 - display precision
        text = f"{value:,.0f}"
    elif abs(value) >= 10:  # noqa: PLR2004
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()


@dataclass
class Report:
    """Every figure of a run, in order, with a header saying where it was taken."""

    header: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        """Append one figure."""
        self.figures.append(figure)
        return figure

    def names(self) -> list[str]:
        """The names of every figure (the smoke test checks them)."""
        return [f.name for f in self.figures]

    def render(self) -> str:
        """A Markdown table (pastes into the README as is)."""
        lines = [*self.header, ""]
        lines.append("| figure | bridge | floor | ratio | target | result |")
        lines.append("|---|---|---|---|---|---|")
        for f in self.figures:
            ratio = "-" if f.ratio is None else f"x{f.ratio:.2f}"
            result = "" if f.passed is None else ("PASS" if f.passed else "FAIL")
            name = f"{f.name} ({f.note})" if f.note else f.name
            lines.append(
                f"| {name} | {_number(f.value, f.unit)} | {_number(f.floor, f.unit)} "
                f"| {ratio} | {f.target} | {result} |"
            )
        passed = sum(1 for f in self.figures if f.passed)
        failed = sum(1 for f in self.figures if f.passed is False)
        lines.append("")
        lines.append(f"targets: {passed} pass, {failed} fail")
        return "\n".join(lines)
