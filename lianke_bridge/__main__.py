"""``python -m lianke_bridge``: the ``lianke-bridge`` command (``lianke_bridge/cli/``)."""

import sys

from lianke_bridge.cli import main

if __name__ == "__main__":
    sys.exit(main())
