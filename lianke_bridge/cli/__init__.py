"""The ``lianke-bridge`` command: run, addon, init, check-config, health, decode-qr, simulate, demo.

- :mod:`.parser`: the arguments and ``main`` (the script's entry point; ``python -m
  lianke_bridge`` too);
- :mod:`.bridge`: the commands that run the bridge (``run``, ``addon``, ``demo``);
- :mod:`.tools`: the commands around it (``init``, ``check-config``, ``health``, ``decode-qr``,
  ``simulate``);
- :mod:`.process`: logging, the signals that stop a command, the last-resort handler.

The top of the package: it imports every other part, none imports it. Each command imports what
it needs when it runs: ``health`` runs every minute as a container health check and must stay
fast and small (no asyncio, no service, no config validator).
"""

from lianke_bridge.cli.parser import main

__all__ = ["main"]
