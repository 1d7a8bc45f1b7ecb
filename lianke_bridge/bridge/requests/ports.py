"""Which port and printer a device command means, and what that printer can do.

Shared by the commands that act on a port (print, flush, reset_error_limit, printer_params,
paper_sizes, page_count) or on a job (cancel, job).
"""

from __future__ import annotations

import logging

from lianke_bridge import errors
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.envelope import unknown_port_error
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.model import PortOrModelCommand
from lianke_bridge.cloud.models import Printer, PrinterParams

_LOGGER = logging.getLogger(__name__)


def port_of(box: Box, port: int | None) -> int:
    """The port asked for, or the box's ``default_port``."""
    return box.config.default_port if port is None else port


def device_port(box: Box, port: int) -> int:
    """The API's ``devicePort`` for a port: a network printer (631) is sent as 1."""
    printer = box.printer_for(port)
    return printer.device_port if printer is not None else port


def job_port(ctx: RequestContext, box: Box, task_id: str, port: int | None) -> int:
    """The port asked for, else the one of a job the bridge follows, else the default port."""
    if port is not None:
        return port
    job = ctx.jobs.jobs.get(task_id)
    return job.port if job else box.config.default_port


async def printer_at(ctx: RequestContext, box: Box, port: int) -> Printer | None:
    """The printer on ``port`` as the cloud lists it; None when the box's printers are unknown.

    The box's printers are asked for first when the bridge does not know them yet (a request
    right after start-up, before the first poll answered: ``know_printers``). Raises
    ``unknown_port`` when the box's printers are known and none is on ``port``.
    """
    await ctx.pollers[box.name].know_printers()
    printer = box.printer_for(port)
    if box.rows and printer is None:
        raise unknown_port_error(port, sorted(box.rows), device=box.name)
    return printer


async def capabilities(ctx: RequestContext, printer: Printer | None) -> PrinterParams | None:
    """The printer's cached printer_params, or None (checks then stay word-level)."""
    if printer is None or not printer.model:
        return None
    try:
        return await ctx.client.printer_params(printer.model)
    except errors.CloudError as err:
        _LOGGER.debug("no capabilities for %s: %s", printer.model, err)
        return None


def model_of(box: Box, command: PortOrModelCommand) -> str:
    """The model a ``printer_params`` / ``paper_sizes`` request means: named, or a port's."""
    if command.model is not None:
        return command.model
    printer = box.printer_for(command.port)
    if printer is None:
        port = port_of(box, command.port)
        raise unknown_port_error(port, sorted(box.rows), device=box.name)
    return printer.model
