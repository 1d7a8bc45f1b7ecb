"""Every command of the contract, one module each (see docs/architecture.md, "a command").

A module holds the command's typed request (the payload's fields, documented), its parser, its
handler and its ``COMMAND`` record (name, scope, whether it is synced to disk). :data:`MODULES`
lists them in the contract's order; :mod:`..registry` collects their ``COMMAND`` s.
"""

from __future__ import annotations

from types import ModuleType

from lianke_bridge.bridge.requests.commands import (
    bridge_refresh,
    cancel,
    decode_qr,
    flush,
    health_check,
    job,
    page_count,
    paper_sizes,
    print_test_page,
    printer_models,
    printer_params,
    reboot,
    refresh,
    refresh_network_printers,
    republish,
    reset_error_limit,
    tasks,
)
from lianke_bridge.bridge.requests.commands import print as print_

MODULES: tuple[ModuleType, ...] = (
    print_,
    cancel,
    flush,
    reboot,
    reset_error_limit,
    refresh,
    refresh_network_printers,
    job,
    tasks,
    printer_params,
    paper_sizes,
    page_count,
    print_test_page,
    republish,
    health_check,
    bridge_refresh,
    printer_models,
    decode_qr,
)
"""The command modules, device commands first, in the contract's order."""
