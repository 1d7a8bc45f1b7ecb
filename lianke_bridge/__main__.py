"""The ``lianke-bridge`` command: run, addon, check-config, health, decode-qr, simulate, demo.

Only this module configures logging handlers, and only here is there a last-resort handler for
unexpected errors. Each command imports what it needs when it runs: ``health`` runs every minute
as a container health check and must stay fast and small (no asyncio, no service, no config
validator).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lianke_bridge
from lianke_bridge import errors

if TYPE_CHECKING:
    from lianke_bridge.config import Config
    from lianke_bridge.config.shard import Shard

_LOGGER = logging.getLogger("lianke_bridge")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
QUIET_LOGGERS = {
    "aiohttp.access": logging.WARNING,
    # The demo's embedded broker logs every connection at INFO (through `transitions`, its
    # state machine) and its own packet bookkeeping ("PUBACK waiter already done") at WARNING.
    "amqtt": logging.ERROR,
    "transitions": logging.WARNING,
}
"""Libraries whose chatter is not the user's business, and the least level shown for each."""
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)
"""Signals that stop the process cleanly: a service manager, Ctrl-C, a closed terminal."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as JSON."""
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class MqttLogHandler(logging.Handler):
    """Forwards warnings and errors to ``<base>/bridge/log`` through the running service."""

    def __init__(self, sink: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(level=logging.WARNING)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        """Hand the record to the service's queue (never blocks, never raises)."""
        try:
            entry: dict[str, Any] = {
                "level": record.levelname.lower(),
                "message": record.getMessage(),
            }
            device = getattr(record, "device", None)
            if device:
                entry["device"] = device
            self._sink(entry)
        except Exception:  # noqa: BLE001 - logging must never break the caller
            self.handleError(record)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, least in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(least)


def run_until_stopped(
    main: Callable[[], Awaitable[Any]], *, on_hangup: Callable[[], None] | None = None
) -> int:
    """Run a coroutine; SIGTERM, Ctrl-C and SIGHUP cancel it so ``finally`` blocks run.

    With ``on_hangup``, SIGHUP calls it instead (the bridge: try a refused key again).

    Returns the exit code: 0 after a signal or a normal end, 1 after an error (logged in one
    line when it is a known one or the system's, e.g. a port in use).
    """
    import asyncio  # noqa: PLC0415 - keep CLI start fast
    import contextlib  # noqa: PLC0415

    async def runner() -> None:
        task = asyncio.ensure_future(main())
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            handler: Callable[[], object] = task.cancel
            if on_hangup is not None and sig == getattr(signal, "SIGHUP", None):
                handler = on_hangup
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, handler)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(runner())
    except errors.LiankeError as err:
        _LOGGER.error("%s", err)  # noqa: TRY400 - a known error needs no traceback
        return 1
    except OSError as err:  # the system said no (port in use, permission denied…)
        _LOGGER.error("%s", err)  # noqa: TRY400 - the reason is the message
        _LOGGER.debug("where it happened", exc_info=True)
        return 1
    except Exception:
        _LOGGER.exception("lianke-bridge stopped on an unexpected error")
        return 1
    return 0


def missing_config_message(path: str) -> str:
    """Where ``run`` looked, and the two ways to get a configuration there."""
    from importlib.resources import files  # noqa: PLC0415

    example = files("lianke_bridge") / "config.example.yaml"
    return (
        f"no configuration file at {Path(path).absolute()} (-c {path}).\n"
        f"Write one with:  lianke-bridge init -o {path}\n"
        f"or start from config.example.yaml (every option explained): {example}"
    )


def _load_config_or_say_why(path: str) -> Config | None:
    """The validated configuration, or None after printing every problem (exit code 2)."""
    from lianke_bridge.config import load_config  # noqa: PLC0415 - keep CLI start fast

    if not Path(path).exists():
        print(missing_config_message(path), file=sys.stderr)  # noqa: T201
        return None
    try:
        return load_config(Path(path))
    except errors.ConfigError as err:
        print(f"configuration error in {path}:\n{err}", file=sys.stderr)  # noqa: T201
        return None


# ---- commands -----------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    """The service."""
    config = _load_config_or_say_why(args.config)
    if config is None:
        return 2
    if args.shard is not None:
        config = dataclasses.replace(config, shard=args.shard)
    return serve(config, args.log_level)


def cmd_addon(args: argparse.Namespace) -> int:
    """The Home Assistant add-on: its options, config.yaml and the Supervisor's broker, then run.

    A bad option or a refusal of the Supervisor is one line in the add-on's log and exit 2: the
    add-on stops (Home Assistant restarts an add-on only with its watchdog on).
    """
    import os  # noqa: PLC0415

    from lianke_bridge.addon import AddonPaths, load_addon_config, one_line  # noqa: PLC0415

    setup_logging(args.log_level or "INFO")
    paths = AddonPaths(options=Path(args.options), config=Path(args.config))
    loaded: list[Config] = []
    failed: list[str] = []

    async def prepare() -> None:
        try:
            loaded.append(await load_addon_config(paths, os.environ))
        except errors.ConfigError as err:
            failed.append(f"bad add-on configuration: {one_line(err)}")
        except errors.SupervisorError as err:
            failed.append(f"cannot start: {err}")

    code = run_until_stopped(prepare)
    if failed:
        _LOGGER.error("%s", failed[0])
        return 2
    if not loaded:  # stopped while waiting for the broker, or an error already logged
        return code
    return serve(loaded[0], args.log_level)


def serve(config: Config, log_level: str | None) -> int:
    """Run the bridge with a validated configuration until a signal stops it."""
    from lianke_bridge.bridge.service import BridgeService  # noqa: PLC0415 - keep CLI start fast
    from lianke_bridge.config import redacted  # noqa: PLC0415
    from lianke_bridge.systemd import Notifier, run_notified  # noqa: PLC0415

    setup_logging(log_level or config.logging.level, config.logging.format)
    _LOGGER.info("lianke-bridge %s starting", lianke_bridge.__version__)
    if config.shard.scaled:
        _LOGGER.info(
            "instance %s: %d of the %d configured boxes are this instance's",
            config.shard,
            sum(config.shard.owns(device.device_id) for device in config.devices),
            len(config.devices),
        )
    _LOGGER.debug("configuration: %s", redacted(config))
    service = BridgeService(config)
    logging.getLogger().addHandler(MqttLogHandler(service.forward_log))
    notifier = Notifier()
    return run_until_stopped(
        lambda: run_notified(service.run(), service.connected, notifier),
        on_hangup=service.retry_cloud,
    )


def cmd_init(args: argparse.Namespace) -> int:
    """Write a commented configuration from the ApiKey and the boxes' QR links, then check it."""
    import os  # noqa: PLC0415

    from lianke_bridge import firstrun  # noqa: PLC0415
    from lianke_bridge.config import check_config  # noqa: PLC0415

    path = Path(args.output)
    prompter = firstrun.terminal_prompter(sys.stdout) if firstrun.interactive() else None
    if path.exists() and not args.force:  # say so before asking anything
        print(f"error: {path} exists: give --force to replace it", file=sys.stderr)  # noqa: T201
        return 2
    try:
        api_key, boxes = firstrun.gather(
            api_key=args.api_key, qrs=args.qr, environ=os.environ, prompter=prompter
        )
        text = firstrun.render(api_key, boxes, args.mqtt_host, args.state_dir)
        firstrun.write_config(path, text, force=True)
    except errors.InitError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 2
    except (EOFError, KeyboardInterrupt):
        print("\nstopped: nothing written", file=sys.stderr)  # noqa: T201
        return 2
    except OSError as err:
        print(f"error: cannot write {path}: {err.strerror or err}", file=sys.stderr)  # noqa: T201
        return 2
    ok, report = check_config(path)
    print(f"wrote {path} (readable by you only)", file=sys.stdout)  # noqa: T201
    print(report, file=sys.stdout if ok else sys.stderr)
    if ok:
        print(f"next: lianke-bridge run -c {path}")  # noqa: T201
    return 0 if ok else 2


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate a configuration file without connecting anywhere."""
    from lianke_bridge.config import check_config  # noqa: PLC0415

    ok, report = check_config(Path(args.config))
    if ok:
        from lianke_bridge.bridge.polling.budget import calls_per_hour  # noqa: PLC0415
        from lianke_bridge.config import load_config  # noqa: PLC0415

        config = load_config(Path(args.config))
        devices = config.devices
        if config.shard.scaled:
            devices = tuple(d for d in devices if config.shard.owns(d.device_id))
            report += (
                f"\nshard {config.shard}: {len(devices)} of the {len(config.devices)} boxes "
                "are this instance's (the figures below are for them)"
            )
        report += "\n" + "\n".join(calls_per_hour(devices, config.lianke.rate_limit))
    print(report, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 2


def cmd_health(args: argparse.Namespace) -> int:
    """Whether the bridge of this configuration runs and is connected (a container health check).

    Reads the heartbeat the running bridge leaves in its state directory with every health
    snapshot (each minute while connected to the broker). Exit 0 when it is fresh, written by a
    bridge process that still runs, and says connected; 1 otherwise; 2 when the configuration
    file cannot be read. Cloud trouble does not count: restarting would not fix the cloud.
    """
    from lianke_bridge import heartbeat  # noqa: PLC0415 - standard library only

    try:
        state_dir = heartbeat.read_state_dir(Path(args.config))
    except FileNotFoundError:
        where = Path(args.config).absolute()
        print(f"no configuration file at {where} (-c {args.config})", file=sys.stderr)  # noqa: T201
        return 2
    except errors.InputFileError as err:  # a folder, a named pipe, a device: it names the file
        print(err, file=sys.stderr)  # noqa: T201
        return 2
    except OSError as err:  # no permission…: the system's words, not its errno
        print(f"{args.config} cannot be read: {err.strerror or err}", file=sys.stderr)  # noqa: T201
        return 2
    except ValueError as err:
        print(f"configuration error in {args.config}: {err}", file=sys.stderr)  # noqa: T201
        return 2
    found = heartbeat.verdict(state_dir)
    print(found.message, file=sys.stdout if found.healthy else sys.stderr)
    return found.exit_code


def cmd_decode_qr(args: argparse.Namespace) -> int:
    """Print the device id (and, on request, the key) inside a QR link or token."""
    from lianke_bridge.cloud.qr import parse_qr  # noqa: PLC0415

    try:
        credentials = parse_qr(args.qr)
    except errors.CredentialsError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201
        return 2
    data = {"device_id": credentials.device_id}
    if args.show_key:
        data["device_key"] = credentials.device_key
    print(json.dumps(data, indent=2))  # noqa: T201
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Serve the simulated Lianke cloud."""
    from lianke_bridge.simulator import fleet_json, serve  # noqa: PLC0415

    fleet = Path(args.fleet) if args.fleet else None
    if args.print_fleet:
        print(fleet_json(fleet))  # noqa: T201
        return 0
    setup_logging(args.log_level or "INFO")
    return run_until_stopped(lambda: serve(args.host, args.port, fleet))


def cmd_demo(args: argparse.Namespace) -> int:
    """Simulator + broker + bridge in one process, with instructions."""
    setup_logging(args.log_level or "INFO")
    return run_until_stopped(
        lambda: run_demo(args.broker_host, args.broker_port, homeassistant=args.homeassistant)
    )


async def run_demo(broker_host: str, broker_port: int, *, homeassistant: bool = False) -> None:
    """Start the demo fleet's simulator, find or start a broker, run the bridge.

    The bridge keeps to a topic root of its own on that broker (``demo.py`` says how).
    """
    import tempfile  # noqa: PLC0415

    from lianke_bridge.bridge.service import BridgeService  # noqa: PLC0415
    from lianke_bridge.broker import ensure_broker  # noqa: PLC0415
    from lianke_bridge.demo import demo_config, free_base_topic, instructions  # noqa: PLC0415
    from lianke_bridge.simulator import Simulator, demo_fleet  # noqa: PLC0415

    fleet = demo_fleet()
    simulator = Simulator(fleet=fleet)
    await simulator.start(host="127.0.0.1", port=0)
    try:
        broker = await ensure_broker(broker_host, broker_port)
        try:
            with tempfile.TemporaryDirectory(prefix="lianke-demo-") as state_dir:
                config = demo_config(
                    fleet,
                    api_url=simulator.url,
                    broker_host=broker.host,
                    broker_port=broker.port,
                    protocol=broker.protocol,
                    state_dir=Path(state_dir),
                    base_topic=await free_base_topic(broker.host, broker.port, broker.protocol),
                    homeassistant=homeassistant,
                )
                print(instructions(config, broker.kind), flush=True)  # noqa: T201
                service = BridgeService(config, clear_on_stop=True)
                forward = MqttLogHandler(service.forward_log)
                logging.getLogger().addHandler(forward)
                try:
                    await service.run()
                finally:
                    logging.getLogger().removeHandler(forward)
        finally:
            await broker.stop()
    finally:
        await simulator.stop()


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


if __name__ == "__main__":
    sys.exit(main())
