"""``python -m bench`` (``make bench``): run every figure and print the table.

Options shorten or lengthen the runs; ``--tiny`` is the smoke configuration the test suite uses;
``--record`` adds the run to bench/RESULTS.md (``make bench BENCH_ARGS=--record``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.harness import main_sync
from bench.options import Options
from bench.record import RESULTS, record


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--requests", type=int, default=defaults.requests)
    parser.add_argument("--burst", type=int, default=defaults.burst)
    parser.add_argument("--boxes", type=int, default=defaults.boxes, help="0 skips the fleet run")
    parser.add_argument(
        "--fleet-seconds",
        type=float,
        default=defaults.fleet_seconds,
        help="how long the fleet is measured after start-up",
    )
    parser.add_argument("--fleet-rate", type=float, default=defaults.fleet_rate)
    parser.add_argument("--startup-timeout", type=float, default=defaults.startup_timeout)
    parser.add_argument(
        "--flood", type=int, default=defaults.flood, help="prints of 5 MB at once; 0 skips it"
    )
    parser.add_argument(
        "--flood-after",
        type=float,
        default=defaults.flood_after,
        help="seconds after the flood before its memory is read again",
    )
    parser.add_argument(
        "--tiny", action="store_true", help="a few requests and boxes: checks the harness only"
    )
    parser.add_argument(
        "--record",
        nargs="?",
        const=RESULTS,
        type=Path,
        metavar="FILE",
        help="also add the run to FILE, newest first, with the date, machine and commit "
        "(default: bench/RESULTS.md)",
    )
    return parser.parse_args(argv)


def options_of(args: argparse.Namespace) -> Options:
    """The run's options from the command line."""
    if args.tiny:
        return Options(
            requests=5,
            burst=20,
            boxes=3,
            fleet_seconds=2.0,
            startup_timeout=60,
            idle_seconds=0.5,
            flood=10,
            flood_after=1.0,
        )
    return Options(
        requests=args.requests,
        burst=args.burst,
        boxes=args.boxes,
        fleet_seconds=args.fleet_seconds,
        fleet_rate=args.fleet_rate,
        startup_timeout=args.startup_timeout,
        flood=args.flood,
        flood_after=args.flood_after,
    )


def main(argv: list[str]) -> int:
    """Print the table (and record it); exit 0 (the table says which targets fail)."""
    args = parse(argv)
    printed = main_sync(options_of(args)).render()
    print(printed)  # noqa: T201 - the benchmark's output
    if args.record is not None:
        record(printed, args.record)
        print(f"recorded in {args.record}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
