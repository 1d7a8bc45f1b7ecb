"""Print options: the words of the ``print`` command, read once into a frozen :class:`PrintOptions`.

A request's options and a port's configured ``print_defaults`` are the same words, read by the
same code here, so a default is accepted exactly when the same word in a request would be; a
print then lays the request's options over the port's (:meth:`PrintOptions.merged_over`). The
words become the API's numbers later, when the cloud request is built against the printer's
capabilities. What each option accepts, and how its value is read, is ``words.py``'s. Pure: no
I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from lianke_bridge.print_options.words import PRINT_OPTIONS, Paper, read_option


@dataclass(frozen=True)
class PrintOptions:
    """How to print: the options of the MQTT ``print`` command, and of a port's ``print_defaults``.

    A request's options win over its port's defaults; an option neither gives is left to the
    printer's own default.
    """

    # None: not asked for. The docstrings are the options' descriptions in docs/configuration.md
    # too: the class's and each field's first paragraph (Chinese: config/descriptions_zh.py).
    copies: int | None = None
    """How many copies of the document."""
    paper: Paper | None = None
    """A paper the printer lists, by name (``A4``, ``Letter``…) or by the API's number (``9`` is
    A4), or a custom size: ``{width_mm: 100, height_mm: 150}`` or ``100x150 mm``."""
    color: str | None = None
    """Black and white, or colour.

    ``mono`` / ``color``."""
    duplex: str | None = None
    """One side, or both: turned over the long edge or the short edge. Quote ``"off"`` in YAML
    (a bare ``off`` is read as false, and understood too).

    ``off`` / ``long`` / ``short``."""
    orientation: str | None = None
    """Upright or sideways.

    ``portrait`` / ``landscape``."""
    scale: str | None = None
    """How a page fits the paper: ``fit`` it whole, fill the width (``fitw``) or the height
    (``fith``), stretch (``fill``), crop to fill (``cover``), keep its size (``none``), or a
    percentage like ``80%``.

    ``jpScale``: fit, fitw, fith, fill, cover, none or ``NN%``."""
    align: str | None = None
    """Where a page smaller than the paper sits on it (the API's ``z1`` to ``z9`` too).

    ``jpAutoAlign``: z1 … z9."""
    pages: str | None = None
    """Which pages: a range like ``1,3,5-10`` (pages up to 9999, at most 100 items), or every
    ``odd`` or ``even`` page.

    ``jpPageRange``: ``1,3,5-10``, ``-1`` (odd) or ``-2`` (even)."""
    reverse: bool | None = None
    """Print the last page first."""
    auto_rotate: bool | None = None
    """Turn pages to fit the paper."""
    file_ext: str | None = None
    """The document type (``.pdf``) of links whose address does not end in a supported one
    (``.pdf``, ``.docx``, ``.png``…); without it such a link is refused.

    ``urlFileExt`` for URLs; replaces a file's extension."""
    api_fields: Mapping[str, str] = field(default_factory=dict)
    """Raw API form fields, passed through as they are (``{dmMediaType: 1}``); they win over the
    options above.

    The ``options`` key: refused only where they would set
    the credentials, the document, the callback or the port (:data:`FORBIDDEN_OPTIONS`)."""

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> PrintOptions:
        """The options among ``data``'s keys (other keys are the caller's to check).

        Raises :class:`~lianke_bridge.errors.PrintOptionsError` naming the first bad option.
        """
        return cls.of({key: read_option(key, data.get(key)) for key in PRINT_OPTIONS})

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> PrintOptions:
        """Options from values already read by :func:`read_option`, keyed by option name."""
        present = {_FIELDS[key]: value for key, value in values.items() if value is not None}
        return cls(**present)

    def merged_over(self, defaults: PrintOptions) -> PrintOptions:
        """These options, ``defaults`` where these say nothing (raw fields: both, these win)."""
        mine = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "api_fields"}
        return replace(
            defaults,
            **{name: value for name, value in mine.items() if value is not None},
            api_fields={**defaults.api_fields, **self.api_fields},
        )

    @property
    def needs_paper_sizes(self) -> bool:
        """Whether the paper (a name or number) may need ``paper_dimension_list`` to resolve."""
        return isinstance(self.paper, str | int)


_FIELDS: Mapping[str, str] = {**{key: key for key in PRINT_OPTIONS}, "options": "api_fields"}
"""Option key -> :class:`PrintOptions` field."""
