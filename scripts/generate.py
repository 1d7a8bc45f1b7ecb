"""Write every generated file (``make generate``), or list the stale ones (``--check``).

The JSON Schemas, the command tables of the docs, the AsyncAPI document and the configuration
reference are rendered from the code's typed definitions by the modules of ``generators/``;
nobody edits them by hand. ``--check`` exits 1 naming each file that differs from what its
generator renders (``tests/test_generated.py`` runs the same check).
"""

# ruff: noqa: T201, INP001  (a script that reports on stdout, not a package)

from __future__ import annotations

import argparse
import sys

from generators import all_generated


def main(argv: list[str] | None = None) -> int:
    """Write (or check) every generated file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list stale files (exit 1)")
    args = parser.parse_args(argv)
    if args.check:
        stale = [item for item in all_generated() if item.stale()]
        for item in stale:
            print(f"stale: {item.path} (run make generate)", file=sys.stderr)
        return 1 if stale else 0
    for item in all_generated():  # in order: one may read a file written before it
        if item.stale():
            item.target.parent.mkdir(parents=True, exist_ok=True)
            item.target.write_text(item.render(), encoding="utf-8")
            print(f"wrote {item.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
