"""The closest known name to a misspelt option, field or command: "did you mean …?".

``difflib`` is imported by the first misspelling, not at start: a bridge whose configuration
and requests are right never needs it (~0.25 MiB).
"""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, known: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The known name most like ``word``, if one is close enough (difflib's ratio)."""
    import difflib  # noqa: PLC0415 - error paths only, see the module docstring

    found = difflib.get_close_matches(word, list(known), n=1, cutoff=cutoff)
    return found[0] if found else None
