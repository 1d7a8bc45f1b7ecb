"""Print options and the strict readers of values from outside; below configuration and bridge.

:mod:`.options` holds the frozen :class:`PrintOptions` (read once from a request or a port's
``print_defaults``); :mod:`.words` what each option accepts and the reader of its value;
:mod:`.readers` the single-value readers shared with the request parsers and the configuration.
Imports nothing of the package but :mod:`lianke_bridge.errors`.
"""

from lianke_bridge.print_options.options import PrintOptions
from lianke_bridge.print_options.words import (
    PRINT_OPTIONS,
    CustomPaper,
    Paper,
    read_option,
    read_paper,
)

__all__ = ["PRINT_OPTIONS", "CustomPaper", "Paper", "PrintOptions", "read_option", "read_paper"]
