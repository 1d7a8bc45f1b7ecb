"""Which port and printer a device command means, and what that printer can do.

Shared by the commands that act on a port (print, flush, reset_error_limit, printer_params,
paper_sizes, page_count) or on a job (cancel, job). What a printer can do comes with the reason
it could not be read when the cloud did not say: a slow or failing cloud must not make a valid
paper name look unknown (:class:`Capabilities`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lianke_bridge import errors
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.envelope import to_command_error, unknown_port_error
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.model import PortOrModelCommand
from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models import PaperSize, Printer, PrinterParams
from lianke_bridge.errors import CommandError

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


@dataclass(frozen=True)
class Capabilities:
    """What a request knows of its printer: its printer_params and paper list, or why not."""

    params: PrinterParams | None = None
    """The model's capabilities; None when unknown."""
    sizes: tuple[PaperSize, ...] = ()
    """The model's paper_dimension_list, when asked for and read."""
    missing: CommandError | None = None
    """Why the params or paper list the printer may well have could not be read (the cloud did
    not answer, refused the call, or the box's printers are unknown): the cloud's error, for a
    request that needs them. None when they were read, or when there are none (a printer
    without a model, a model the cloud has no capabilities for)."""


async def capabilities(
    ctx: RequestContext, box: Box, printer: Printer | None, *, paper_sizes: bool = False
) -> Capabilities:
    """The printer's cached printer_params (and paper_dimension_list with ``paper_sizes``).

    Never raises a cloud error: what could not be read is ``missing``, for the request to answer
    only if it needs it (a print without a paper name does not need the paper list).
    """
    if printer is None:
        return Capabilities(missing=_printers_unknown(box))
    if not printer.model:
        return Capabilities()
    try:
        params = await ctx.client.printer_params(printer.model)
    except errors.CloudError as err:
        _LOGGER.debug("no capabilities for %s: %s", printer.model, err)
        what = f"the capabilities of {_label(printer)} (printer_params)"
        return Capabilities(missing=_unread(err, what))
    if not paper_sizes:
        return Capabilities(params)
    try:
        sizes = await ctx.client.paper_sizes(printer.model)
    except errors.CloudError as err:
        _LOGGER.debug("no paper sizes for %s: %s", printer.model, err)
        what = f"the paper list of {_label(printer)} (paper_dimension_list)"
        return Capabilities(params, missing=_unread(err, what))
    return Capabilities(params, tuple(sizes))


def _label(printer: Printer) -> str:
    return printer.name or printer.model


def _unread(err: errors.CloudError, what: str) -> CommandError | None:
    """Why ``what`` could not be read, as the cloud's error; None: the model has none.

    An answer with a code the reference does not name (400 暂不支持该打印机型号, "this printer
    model is not supported yet") is the cloud saying the model has no capabilities: the request
    then goes on with word-level checks. Anything else (no answer in time, no connection, an
    HTTP error page, 10009, a refused key) says nothing about the model.
    """
    if isinstance(err, errors.UnknownApiError):
        return None
    cause = to_command_error(err)
    return CommandError(
        cause.code, f"{what} could not be read: {cause.message}", api_message=cause.api_message
    )


def _printers_unknown(box: Box) -> CommandError | None:
    """Why the box's printers are unknown, when they could not be listed; None when they were.

    The last poll's error (the cloud did not answer, refused the box), or the box being
    offline or never set up as device_info says: a printer is only listed while its box is
    online.
    """
    if box.printers_listed:
        return None
    what = f"the printers of {box.name} are not known"
    if box.state.error is not None:
        error = box.state.error
        return CommandError(
            error["code"], f"{what}: {error['message']}", api_message=error.get("api_message")
        )
    if box.known and not box.state.online:
        # what the cloud answers a job for such a box (5001 never set up, 5002 offline)
        never = box.state.online_state is codes.OnlineState.NEVER_BOOTED
        offline = errors.DeviceNotNetworkedError if never else errors.DeviceOfflineError
        cause = to_command_error(offline(call="device_info"))
        return CommandError(cause.code, f"{what}: {cause.message}")
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
