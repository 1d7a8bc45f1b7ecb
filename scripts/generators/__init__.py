"""The files written from the code's own definitions, so that they cannot drift from it.

Each generator module holds a ``GENERATED`` tuple of :class:`Generated`: a path (from the
repository's root) and a function that renders its whole content. ``make generate`` writes them
all; ``tests/test_generated.py`` fails when one on disk differs from what its function renders.
To add one: write the module, import it below and add its ``GENERATED`` to :data:`ALL`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
"""The repository's root: every generated path is relative to it."""


@dataclass(frozen=True)
class Generated:
    """One generated file: where it goes and what renders it."""

    path: Path
    """Relative to the repository's root."""
    render: Callable[[], str]
    """The file's whole content (text; a JSON file ends with a newline)."""

    @property
    def target(self) -> Path:
        """The file on disk."""
        return ROOT / self.path

    def stale(self) -> bool:
        """Whether the file on disk is missing or differs from what ``render`` gives."""
        try:
            return self.target.read_text(encoding="utf-8") != self.render()
        except FileNotFoundError:
            return True


def all_generated() -> tuple[Generated, ...]:
    """Every generated file, from every generator module (imported here, when asked)."""
    from generators import (  # noqa: PLC0415 - generators import this module
        asyncapi,
        asyncapi_page,
        command_tables,
        config_reference,
        schemas,
        site_copies,
    )

    # In the order they are written: a generator that reads another's file comes after it.
    modules: tuple[tuple[Generated, ...], ...] = (
        config_reference.GENERATED,
        schemas.GENERATED,
        command_tables.GENERATED,
        asyncapi.GENERATED,
        site_copies.GENERATED,
        asyncapi_page.GENERATED,
    )
    return tuple(item for module in modules for item in module)
