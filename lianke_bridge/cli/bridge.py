"""The commands that run the bridge: ``run``, ``addon`` (the Home Assistant add-on) and ``demo``.

Each reads or makes a validated configuration, sets up logging and runs ``BridgeService`` until
a signal stops it. What they need is imported when they run (``lianke-bridge health`` must stay
small): the service, the configuration's validator, the add-on's Supervisor client, the demo's
simulator and broker.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import lianke_bridge
from lianke_bridge import errors
from lianke_bridge.cli.process import MqttLogHandler, run_until_stopped, setup_logging

if TYPE_CHECKING:
    from lianke_bridge.config import Config

_LOGGER = logging.getLogger("lianke_bridge")


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


def cmd_demo(args: argparse.Namespace) -> int:
    """Simulator + broker + bridge in one process, with instructions."""
    setup_logging(args.log_level or "INFO")
    return run_until_stopped(
        lambda: run_demo(args.broker_host, args.broker_port, homeassistant=args.homeassistant)
    )


async def run_demo(broker_host: str, broker_port: int, *, homeassistant: bool = False) -> None:
    """Start the demo fleet's simulator, find or start a broker, run the bridge.

    The bridge keeps to a topic root of its own on that broker (``demo/config.py`` says how).
    """
    import tempfile  # noqa: PLC0415

    from lianke_bridge.bridge.service import BridgeService  # noqa: PLC0415
    from lianke_bridge.demo.broker import ensure_broker  # noqa: PLC0415
    from lianke_bridge.demo.config import demo_config, free_base_topic, instructions  # noqa: PLC0415
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
