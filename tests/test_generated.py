"""Generated files cannot drift: each on disk equals what its generator renders now."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from generators import Generated, all_generated


@pytest.mark.parametrize("item", all_generated(), ids=lambda item: str(item.path))
def test_a_generated_file_is_up_to_date(item: Generated) -> None:
    """The file equals its generator's output: edit the definitions and run make generate."""
    assert not item.stale(), f"{item.path} is stale: run make generate"
