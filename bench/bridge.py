"""The bridge as ``lianke-bridge run`` starts it, with one change: the client-wide call ceiling.

The configuration caps ``rate_limit`` at 10 calls/s to protect the real cloud. The latency runs
measure what the bridge adds to one request, not that ceiling, so they lift it (the simulator is
not the real cloud); the fleet run keeps the operator's ceiling. Everything else is the CLI's.

Run: ``python -m bench.bridge CONFIG RATE_LIMIT``.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from pathlib import Path

from lianke_bridge.bridge.service import BridgeService
from lianke_bridge.cli.process import MqttLogHandler, run_until_stopped, setup_logging
from lianke_bridge.config import load_config


def main(argv: list[str]) -> int:
    """``config rate_limit``: run the bridge until SIGTERM."""
    path, rate = argv
    config = load_config(Path(path))
    config = replace(config, lianke=replace(config.lianke, rate_limit=float(rate)))
    setup_logging(config.logging.level, config.logging.format)
    service = BridgeService(config)
    logging.getLogger().addHandler(MqttLogHandler(service.forward_log))
    return run_until_stopped(service.run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
