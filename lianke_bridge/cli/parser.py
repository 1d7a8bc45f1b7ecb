"""The command line: its arguments, and ``main``, the entry point of the ``lianke-bridge`` script.

Each command's function is in ``bridge.py`` (``run``, ``addon``, ``demo``) or ``tools.py`` (the
others); this module only parses, dispatches and turns a closed pipe into exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import lianke_bridge
from lianke_bridge.cli.bridge import cmd_addon, cmd_demo, cmd_run
from lianke_bridge.cli.process import LOG_LEVELS
from lianke_bridge.cli.tools import (
    cmd_callback_url,
    cmd_check_config,
    cmd_decode_qr,
    cmd_health,
    cmd_init,
    cmd_simulate,
)

if TYPE_CHECKING:
    from lianke_bridge.config.shard import Shard


def _shard(text: str) -> Shard:
    import socket  # noqa: PLC0415

    from lianke_bridge.config.shard import Shard  # noqa: PLC0415

    try:
        return Shard.parse(text, hostname=socket.gethostname())
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _log_level(text: str) -> str:
    level = text.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"use one of {', '.join(LOG_LEVELS)}, not {text!r}")
    return level


class _VersionAction(argparse.Action):
    """``--version``, looked up only when asked for (``importlib.metadata`` is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kwargs: object) -> None:
        print(f"{parser.prog} {lianke_bridge.__version__}")  # noqa: T201
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="lianke-bridge", description="Lianke cloud printer boxes on MQTT."
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    log_help = "DEBUG, INFO, WARNING or ERROR (run: overrides logging.level)"
    parser.add_argument("--log-level", type=_log_level, help=log_help)
    # also accepted after every command (`lianke-bridge run --log-level debug`): each one takes
    # this parent, and tests/test_cli.py checks that none is left out
    logs = argparse.ArgumentParser(add_help=False)
    logs.add_argument("--log-level", type=_log_level, default=argparse.SUPPRESS, help=log_help)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bridge", parents=[logs])
    run.add_argument("-c", "--config", default="config.yaml", help="configuration file")
    run.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="instance I of N sharing the boxes (I may be 'auto': the host name's -<ordinal>); "
        "overrides shard: in the file",
    )
    run.set_defaults(func=cmd_run)

    init = sub.add_parser(
        "init",
        help="write a commented config.yaml (asks for the ApiKey and QR links, or takes options)",
        parents=[logs],
    )
    init.add_argument("-o", "--output", default="config.yaml", help="the file to write")
    init.add_argument("--api-key", help="the Lianke ApiKey (asked without echo if not given)")
    init.add_argument(
        "--qr",
        action="append",
        default=[],
        metavar="[NAME=]LINK",
        help="a box's QR link or token, optionally named; once per box",
    )
    init.add_argument("--mqtt-host", default="localhost", help="the MQTT broker (localhost)")
    init.add_argument(
        "--state-dir",
        help="where the bridge keeps its state (default: data, beside the file; "
        "/var/lib/lianke-bridge for the systemd unit)",
    )
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(func=cmd_init)

    check = sub.add_parser(
        "check-config", help="validate a configuration file and exit", parents=[logs]
    )
    check.add_argument("-c", "--config", default="config.yaml", help="configuration file")
    check.set_defaults(func=cmd_check_config)

    health = sub.add_parser(
        "health",
        help="exit 0 if the bridge of this configuration runs and is connected",
        parents=[logs],
    )
    health.add_argument("-c", "--config", default="config.yaml", help="configuration file")
    health.set_defaults(func=cmd_health)

    push = sub.add_parser(
        "callback-url",
        help="print the address the cloud pushes to, with its secret token (for the console)",
        parents=[logs],
    )
    push.add_argument("-c", "--config", default="config.yaml", help="configuration file")
    push.set_defaults(func=cmd_callback_url)

    qr = sub.add_parser(
        "decode-qr", help="show the device id inside a box's QR link or token", parents=[logs]
    )
    qr.add_argument("qr", help="the QR link (https://…?token=…) or the bare token")
    qr.add_argument("--show-key", action="store_true", help="also print the device key")
    qr.set_defaults(func=cmd_decode_qr)

    sim = sub.add_parser("simulate", help="serve a simulated Lianke cloud", parents=[logs])
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8080)
    sim.add_argument("--fleet", help="fleet file (JSON or YAML); the demo fleet by default")
    sim.add_argument("--print-fleet", action="store_true", help="print the fleet as JSON and exit")
    sim.set_defaults(func=cmd_simulate)

    demo = sub.add_parser("demo", help="simulator + broker + bridge, to try it out", parents=[logs])
    demo.add_argument("--broker-host", default="127.0.0.1")
    demo.add_argument("--broker-port", type=int, default=1883)
    demo.add_argument(
        "--homeassistant",
        action="store_true",
        help="announce the demo's boxes to Home Assistant (removed again on Ctrl-C)",
    )
    demo.set_defaults(func=cmd_demo)

    addon = sub.add_parser(
        "addon",
        help="run as the Home Assistant add-on (its options, config.yaml, the Supervisor's broker)",
        parents=[logs],
    )
    addon.add_argument(
        "--options", default="/data/options.json", help="the options the Supervisor wrote"
    )
    addon.add_argument(
        "--config",
        default="/config/config.yaml",
        help="optional: everything the options leave out, as in a configuration file",
    )
    addon.set_defaults(func=cmd_addon)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lianke-bridge`` script."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        code = func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the try
    except BrokenPipeError:
        # The reader went away (`lianke-bridge simulate --print-fleet | head`): no traceback.
        # What Python's documentation of SIGPIPE advises: point stdout at devnull, so the flush
        # at exit does not fail again, and exit 1.
        import os  # noqa: PLC0415 - only on this path

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code
