"""What each command does: typed request in, cloud calls made, the ``ok`` answer's data out.

One function per command, given a narrow :class:`RequestContext` (never the service). Errors
are raised (``CommandError`` or the cloud's own) and become the error envelope in the service.
The registry (:mod:`.registry`) pairs each with its command's name, scope and parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from lianke_bridge import errors
from lianke_bridge.bridge.jobs.tracker import job_answer
from lianke_bridge.bridge.records.box import Box
from lianke_bridge.bridge.records.envelope import unknown_port_error
from lianke_bridge.bridge.requests.build import build_page_count_request, build_print_request
from lianke_bridge.bridge.requests.context import RequestContext
from lianke_bridge.bridge.requests.model import (
    CancelCommand,
    DecodeQrCommand,
    FlushCommand,
    JobCommand,
    JsonObject,
    NoArgCommand,
    PageCountCommand,
    PortOrModelCommand,
    PrintCommand,
    PrinterModelsCommand,
    ResetErrorLimitCommand,
)
from lianke_bridge.cloud.models import PaperSize, Printer, PrinterParams
from lianke_bridge.cloud.qr import parse_qr
from lianke_bridge.print_options import PrintOptions

_LOGGER = logging.getLogger(__name__)

REBOOT_RECHECK = 5.0
"""Seconds after a reboot request before device_info is asked again (the box goes offline)."""


# ---- helpers ------------------------------------------------------------------------
async def _capabilities(ctx: RequestContext, printer: Printer | None) -> PrinterParams | None:
    """The printer's cached printer_params, or None (checks then stay word-level)."""
    if printer is None or not printer.model:
        return None
    try:
        return await ctx.client.printer_params(printer.model)
    except errors.CloudError as err:
        _LOGGER.debug("no capabilities for %s: %s", printer.model, err)
        return None


def _port(box: Box, port: int | None) -> int:
    return box.config.default_port if port is None else port


def _device_port(box: Box, port: int) -> int:
    """The API's ``devicePort`` for a port: a network printer (631) is sent as 1."""
    printer = box.printer_for(port)
    return printer.device_port if printer is not None else port


def _job_port(ctx: RequestContext, box: Box, task_id: str, port: int | None) -> int:
    if port is not None:
        return port
    job = ctx.jobs.jobs.get(task_id)
    return job.port if job else box.config.default_port


# ---- device commands ----------------------------------------------------------------
async def print_job(ctx: RequestContext, box: Box, command: PrintCommand) -> JsonObject:
    """Submit a print job and start following it."""
    poller = ctx.pollers[box.name]
    port = _port(box, command.port)
    if not box.rows and box.state.online:
        await poller.poll_now()
    printer = box.printer_for(port)
    if box.rows and printer is None:
        raise unknown_port_error(port, sorted(box.rows), device=box.name)
    params = await _capabilities(ctx, printer)
    defaults = box.config.print_defaults.get(port, PrintOptions())
    # A paper name may only be in paper_dimension_list (16K…), asked or from the defaults.
    wants_paper = command.needs_paper_sizes or defaults.needs_paper_sizes
    sizes: list[PaperSize] = []
    if params is not None and printer is not None and wants_paper:
        with contextlib.suppress(errors.CloudError):
            sizes = await ctx.client.paper_sizes(printer.model)
    api_request = build_print_request(
        command,
        port=port,
        printer=printer,
        params=params,
        paper_sizes=sizes,
        defaults=defaults,
    )
    try:
        job = await ctx.jobs.submit(
            lambda: ctx.client.submit_job(box.credentials, api_request),
            device=box.name,
            port=api_request.port,
            source=command.source,
            transaction=command.transaction,
        )
    except errors.ErrorLimitReachedError:
        await poller.set_error_limit(reached=True)
        await ctx.emit(None, {"event": "error_limit", "device": box.name, "port": port})
        raise
    if command.from_text_entity and command.urls:
        await ctx.publisher.publish(
            ctx.topics.print_url_state(box.name), command.urls[0][:255], retain=True
        )
    return job_answer(job)


async def cancel(ctx: RequestContext, box: Box, command: CancelCommand) -> JsonObject:
    """Cancel a job: SET_REVOKE now, REVOKED when the cloud says so."""
    port = _job_port(ctx, box, command.task_id, command.port)
    await ctx.client.cancel_job(box.credentials, command.task_id, port)
    await ctx.jobs.mark_cancelling(command.task_id)
    return {"task_id": command.task_id, "state": "cancelling"}


async def flush(ctx: RequestContext, box: Box, command: FlushCommand) -> JsonObject:
    """Drop queued jobs of one port, or of every port of the box."""
    if command.port is not None:
        ports = [_device_port(box, command.port)]
    else:
        ports = sorted({row.device_port for row in box.rows.values()}) or [box.config.default_port]
    flushed = {}
    for port in ports:
        flushed[str(port)] = await ctx.client.flush_jobs(box.credentials, port)
    box.poll_soon("tasks")
    return {"flushed": sum(flushed.values()), "ports": flushed}


async def reboot(ctx: RequestContext, box: Box, _command: NoArgCommand) -> JsonObject:
    """Reboot the box (it goes offline for a while)."""
    await ctx.client.reboot(box.credentials)
    box.poll_soon("device_info", after=REBOOT_RECHECK)
    return {"rebooting": True}


async def reset_error_limit(
    ctx: RequestContext, box: Box, command: ResetErrorLimitCommand
) -> JsonObject:
    """Lift the cloud's pause after 30 consecutive failures (11203)."""
    port = _port(box, command.port)
    await ctx.client.reset_error_limit(box.credentials, _device_port(box, port))
    await ctx.pollers[box.name].set_error_limit(reached=False)
    return {"port": port, "reset": True}


async def refresh(ctx: RequestContext, box: Box, _command: NoArgCommand) -> JsonObject:
    """Poll the box now and answer its fresh state (a refused key: its error, at once)."""
    refused = ctx.client.refused("refresh", box.credentials)
    if refused is not None:
        raise refused
    state = await ctx.pollers[box.name].poll_now()
    return {
        "state": state.to_json(),
        "printers": {str(p): s.to_json() for p, s in sorted(box.printers.items())},
    }


async def refresh_network_printers(
    ctx: RequestContext, box: Box, _command: NoArgCommand
) -> JsonObject:
    """Ask the box to rescan its LAN; printer_list is polled again right after."""
    total = await ctx.client.refresh_network_printers(box.credentials)
    box.poll_soon("printer_list")
    return {"total": total}


async def job(ctx: RequestContext, box: Box, command: JobCommand) -> JsonObject:
    """A job's status (a tracked job is updated and published too)."""
    port = _job_port(ctx, box, command.task_id, command.port)
    status = await ctx.client.job_status(box.credentials, command.task_id, port)
    tracked = ctx.jobs.jobs.get(command.task_id)
    if tracked is not None:
        return (await ctx.jobs.apply(tracked, status)).to_json()
    result = None
    if status.result_code is not None:
        result = {"code": status.result_code, "message": status.result_message}
    return {
        "task_id": status.task_id,
        "state": str(status.state),
        "api_state": status.task_state.value,
        "result": result,
        "pages": status.total_pages,
    }


async def tasks(ctx: RequestContext, box: Box, _command: NoArgCommand) -> JsonObject:
    """The box's tasks of the last day."""
    tasks = await ctx.client.device_tasks(box.credentials)
    return {"tasks": ctx.jobs.tasks_json(tasks)}


async def capabilities(ctx: RequestContext, box: Box, command: PortOrModelCommand) -> JsonObject:
    """printer_params or paper_sizes of a port's printer or of a named model (cached)."""
    model = command.model
    if model is None:
        printer = box.printer_for(command.port)
        if printer is None:
            port = _port(box, command.port)
            raise unknown_port_error(port, sorted(box.rows), device=box.name)
        model = printer.model
    client = ctx.client
    if command.name == "printer_params":
        return _flat(await client.printer_params(model))
    return {"model": model, "papers": [_flat(p) for p in await client.paper_sizes(model)]}


def _flat(record: Any) -> JsonObject:
    """A flat dataclass (scalars and flat mappings) as JSON: ``asdict`` without its deep copy.

    A cached answer is asked for often; ``asdict`` copied every value, most of its cost.
    """
    return {
        field.name: dict(value) if isinstance(value, Mapping) else value
        for field in fields(record)
        for value in (getattr(record, field.name),)
    }


async def page_count(ctx: RequestContext, box: Box, command: PageCountCommand) -> JsonObject:
    """Count a document's pages (file_pages, then its task followed to the end)."""
    port = _port(box, command.port)
    printer = box.printer_for(port)
    counted = build_page_count_request(
        command, port=port, printer=printer, params=await _capabilities(ctx, printer)
    )
    pages = await ctx.client.count_pages(
        box.credentials,
        urls=counted.urls,
        file=counted.file,
        port=counted.port,
        printer_model=counted.printer_model,
        paper_size=counted.paper_size,
        url_file_ext=counted.url_file_ext,
    )
    return {"pages": pages}


# ---- bridge commands ----------------------------------------------------------------
async def republish(ctx: RequestContext, _command: NoArgCommand) -> JsonObject:
    """Re-announce discovery and every retained state."""
    await ctx.republish()
    return {"republished": True}


async def health_check(ctx: RequestContext, _command: NoArgCommand) -> JsonObject:
    """Whether MQTT and the cloud work, and each box's last poll."""
    return ctx.health_check()


async def printer_models(ctx: RequestContext, command: PrinterModelsCommand) -> JsonObject:
    """The cloud's supported printer models, searched or whole."""
    return {"models": await ctx.client.printer_models(command.query)}


async def decode_qr(_ctx: RequestContext, command: DecodeQrCommand) -> JsonObject:
    """The device id inside a QR link or token; the key is never echoed."""
    return {"device_id": parse_qr(command.text).device_id}


async def refresh_all(ctx: RequestContext, _command: NoArgCommand) -> JsonObject:
    """Poll every box now (a refused ApiKey: its error, at once)."""
    refused = ctx.client.refused("refresh")
    if refused is not None:
        raise refused
    pollers = ctx.pollers
    states = await asyncio.gather(*(p.poll_now() for p in pollers.values()))
    return {"devices": {n: s.to_json() for n, s in zip(pollers, states, strict=True)}}
