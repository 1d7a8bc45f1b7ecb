"""The commands around the bridge: init, check-config, health, callback-url, decode-qr, simulate.

Each imports what it needs when it runs: ``health`` runs every minute as a container health
check and reads only the heartbeat (no asyncio, no service, no configuration validator).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lianke_bridge import errors
from lianke_bridge.cli.process import run_until_stopped, setup_logging

if TYPE_CHECKING:
    from lianke_bridge.config import Config


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
        report += pushes_line(config)
    print(report, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 2


def pushes_line(config: Config) -> str:
    """check-config's words on the cloud's pushes: where they go, never the secret part."""
    url = config.lianke.callback_url
    if url is None:
        return ""
    if config.push_path is not None:
        return (
            f"\npushes: each print asks the cloud to POST its end to {url}, served on POST "
            f"{config.push_path}/<token>; `lianke-bridge callback-url` prints the address with "
            "its token (for the Lianke console's message push)"
        )
    return (
        f"\npushes: each print asks the cloud to POST its end to https://{urlsplit(url).hostname}"
        "/… (lianke.callback_url), to be relayed to <base>/bridge/callback"
    )


def cmd_callback_url(args: argparse.Namespace) -> int:
    """Print the address the cloud pushes to, with the bridge's token: a secret, on purpose."""
    from lianke_bridge.bridge.memory.push_token import push_token  # noqa: PLC0415
    from lianke_bridge.config import load_config  # noqa: PLC0415

    try:
        config = load_config(Path(args.config))
    except errors.ConfigError as err:
        print(f"configuration error in {args.config}: {err}", file=sys.stderr)  # noqa: T201
        return 2
    if config.lianke.callback_url is None:
        print("lianke.callback_url is not set: the cloud pushes nothing", file=sys.stderr)  # noqa: T201
        return 2
    token = push_token(config.state_dir) if config.push_path is not None else ""
    print(config.push_url(token or ""))  # noqa: T201
    return 0


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
