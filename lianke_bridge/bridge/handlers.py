"""Executing parsed requests: one small method per command, found through a table.

The service parses a request (``commands.parse_request``), checks duplicates and answers; this
module turns each typed command into cloud calls and the data of the ``ok`` envelope. Errors
are raised (``CommandError`` or the cloud's own) and become the error envelope in the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

from lianke_bridge import errors
from lianke_bridge.bridge import commands as cmd
from lianke_bridge.bridge.jobs import job_answer
from lianke_bridge.bridge.poller import Box, BoxPoller
from lianke_bridge.cloud.models import PaperSize, Printer, PrinterParams
from lianke_bridge.cloud.qr import parse_qr
from lianke_bridge.print_options import PrintOptions

if TYPE_CHECKING:
    from lianke_bridge.bridge.service import BridgeService

_LOGGER = logging.getLogger(__name__)

REBOOT_RECHECK = 5.0
"""Seconds after a reboot request before device_info is asked again (the box goes offline)."""

R = TypeVar("R", bound=cmd.Request)
DeviceHandler = Callable[[Box, cmd.Request], Awaitable[Any]]
BridgeHandler = Callable[[cmd.Request], Awaitable[Any]]


def expect(request: cmd.Request, kind: type[R]) -> R:
    """Narrow a request to the type its command parses to."""
    if not isinstance(request, kind):
        raise errors.CommandError("internal_error", f"{request.command} parsed to the wrong type")
    return request


class RequestHandlers:
    """Every command of the contract, against the service's boxes, client and jobs."""

    def __init__(self, service: BridgeService) -> None:
        self._service = service
        self._device: dict[str, DeviceHandler] = {
            "print": self.print,
            "cancel": self.cancel,
            "flush": self.flush,
            "reboot": self.reboot,
            "reset_error_limit": self.reset_error_limit,
            "refresh": self.refresh,
            "refresh_network_printers": self.refresh_network_printers,
            "job": self.job,
            "tasks": self.tasks,
            "printer_params": self.capabilities,
            "paper_sizes": self.capabilities,
            "page_count": self.page_count,
        }
        self._bridge: dict[str, BridgeHandler] = {
            "republish": self.republish,
            "health_check": self.health_check,
            "printer_models": self.printer_models,
            "decode_qr": self.decode_qr,
            "refresh": self.refresh_all,
        }

    async def device(self, box: Box, request: cmd.Request) -> Any:
        """Run a device command."""
        handler = self._device.get(request.command)
        if handler is None:
            raise errors.CommandError("unknown_command", f"unknown command {request.command!r}")
        return await handler(box, request)

    async def bridge(self, request: cmd.Request) -> Any:
        """Run a bridge command."""
        handler = self._bridge.get(request.command)
        if handler is None:
            raise errors.CommandError("unknown_command", f"unknown command {request.command!r}")
        return await handler(request)

    # ---- helpers ------------------------------------------------------------------------
    def _poller(self, box: Box) -> BoxPoller:
        return self._service.pollers[box.name]

    async def _capabilities(self, printer: Printer | None) -> PrinterParams | None:
        """The printer's cached printer_params, or None (checks then stay word-level)."""
        if printer is None or not printer.model:
            return None
        try:
            return await self._service.client.printer_params(printer.model)
        except errors.CloudError as err:
            _LOGGER.debug("no capabilities for %s: %s", printer.model, err)
            return None

    def _port(self, box: Box, port: int | None) -> int:
        return box.config.default_port if port is None else port

    def _device_port(self, box: Box, port: int) -> int:
        """The API's ``devicePort`` for a port: a network printer (631) is sent as 1."""
        printer = box.printer_for(port)
        return printer.device_port if printer is not None else port

    def _job_port(self, box: Box, task_id: str, port: int | None) -> int:
        if port is not None:
            return port
        job = self._service.jobs.jobs.get(task_id)
        return job.port if job else box.config.default_port

    # ---- device commands ----------------------------------------------------------------
    async def print(self, box: Box, request: cmd.Request) -> Any:
        """Submit a print job and start following it."""
        command = expect(request, cmd.PrintCommand)
        service = self._service
        poller = self._poller(box)
        port = self._port(box, command.port)
        if not box.rows and box.state.online:
            await poller.poll_now()
        printer = box.printer_for(port)
        if box.rows and printer is None:
            raise cmd.unknown_port_error(port, sorted(box.rows), device=box.name)
        params = await self._capabilities(printer)
        defaults = box.config.print_defaults.get(port, PrintOptions())
        # A paper name may only be in paper_dimension_list (16K…), asked or from the defaults.
        wants_paper = command.needs_paper_sizes or defaults.needs_paper_sizes
        sizes: list[PaperSize] = []
        if params is not None and printer is not None and wants_paper:
            with contextlib.suppress(errors.CloudError):
                sizes = await service.client.paper_sizes(printer.model)
        api_request = cmd.build_print_request(
            command,
            port=port,
            printer=printer,
            params=params,
            paper_sizes=sizes,
            defaults=defaults,
        )
        try:
            job = await service.jobs.submit(
                lambda: service.client.submit_job(box.credentials, api_request),
                device=box.name,
                port=api_request.port,
                source=command.source,
                transaction=command.transaction,
            )
        except errors.ErrorLimitReachedError:
            await poller.set_error_limit(port, reached=True)
            await service.emit(None, {"event": "error_limit", "device": box.name, "port": port})
            raise
        if command.from_text_entity and command.urls:
            await service.publisher.publish(
                service.topics.print_url_state(box.name), command.urls[0][:255], retain=True
            )
        return job_answer(job)

    async def cancel(self, box: Box, request: cmd.Request) -> Any:
        """Cancel a job: SET_REVOKE now, REVOKED when the cloud says so."""
        command = expect(request, cmd.CancelCommand)
        port = self._job_port(box, command.task_id, command.port)
        await self._service.client.cancel_job(box.credentials, command.task_id, port)
        await self._service.jobs.mark_cancelling(command.task_id)
        return {"task_id": command.task_id, "state": "cancelling"}

    async def flush(self, box: Box, request: cmd.Request) -> Any:
        """Drop queued jobs of one port, or of every port of the box."""
        command = expect(request, cmd.FlushCommand)
        if command.port is not None:
            ports = [self._device_port(box, command.port)]
        else:
            ports = sorted({row.device_port for row in box.rows.values()}) or [
                box.config.default_port
            ]
        flushed = {}
        for port in ports:
            flushed[str(port)] = await self._service.client.flush_jobs(box.credentials, port)
        box.poll_soon("tasks")
        return {"flushed": sum(flushed.values()), "ports": flushed}

    async def reboot(self, box: Box, _request: cmd.Request) -> Any:
        """Reboot the box (it goes offline for a while)."""
        await self._service.client.reboot(box.credentials)
        box.poll_soon("device_info", after=REBOOT_RECHECK)
        return {"rebooting": True}

    async def reset_error_limit(self, box: Box, request: cmd.Request) -> Any:
        """Lift the cloud's pause after 30 consecutive failures (11203)."""
        command = expect(request, cmd.ResetErrorLimitCommand)
        port = self._port(box, command.port)
        await self._service.client.reset_error_limit(box.credentials, self._device_port(box, port))
        await self._poller(box).set_error_limit(port, reached=False)
        return {"port": port, "reset": True}

    async def refresh(self, box: Box, _request: cmd.Request) -> Any:
        """Poll the box now and answer its fresh state (a refused key: its error, at once)."""
        refused = self._service.client.refused("refresh", box.credentials)
        if refused is not None:
            raise refused
        state = await self._poller(box).poll_now()
        return {
            "state": state.to_json(),
            "printers": {str(p): s.to_json() for p, s in sorted(box.printers.items())},
        }

    async def refresh_network_printers(self, box: Box, _request: cmd.Request) -> Any:
        """Ask the box to rescan its LAN; printer_list is polled again right after."""
        total = await self._service.client.refresh_network_printers(box.credentials)
        box.poll_soon("printer_list")
        return {"total": total}

    async def job(self, box: Box, request: cmd.Request) -> Any:
        """A job's status (a tracked job is updated and published too)."""
        command = expect(request, cmd.JobCommand)
        port = self._job_port(box, command.task_id, command.port)
        status = await self._service.client.job_status(box.credentials, command.task_id, port)
        tracked = self._service.jobs.jobs.get(command.task_id)
        if tracked is not None:
            return (await self._service.jobs.apply(tracked, status)).to_json()
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

    async def tasks(self, box: Box, _request: cmd.Request) -> Any:
        """The box's tasks of the last day."""
        tasks = await self._service.client.device_tasks(box.credentials)
        return {"tasks": self._service.jobs.tasks_json(tasks)}

    async def capabilities(self, box: Box, request: cmd.Request) -> Any:
        """printer_params or paper_sizes of a port's printer or of a named model (cached)."""
        command = expect(request, cmd.PortOrModelCommand)
        model = command.model
        if model is None:
            printer = box.printer_for(command.port)
            if printer is None:
                port = self._port(box, command.port)
                raise cmd.unknown_port_error(port, sorted(box.rows), device=box.name)
            model = printer.model
        client = self._service.client
        if command.name == "printer_params":
            return asdict(await client.printer_params(model))
        return {"model": model, "papers": [asdict(p) for p in await client.paper_sizes(model)]}

    async def page_count(self, box: Box, request: cmd.Request) -> Any:
        """Count a document's pages (file_pages, then its task followed to the end)."""
        command = expect(request, cmd.PageCountCommand)
        port = self._port(box, command.port)
        printer = box.printer_for(port)
        counted = cmd.build_page_count_request(
            command, port=port, printer=printer, params=await self._capabilities(printer)
        )
        pages = await self._service.client.count_pages(
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
    async def republish(self, _request: cmd.Request) -> Any:
        """Re-announce discovery and every retained state."""
        await self._service.republish()
        return {"republished": True}

    async def health_check(self, _request: cmd.Request) -> Any:
        """Whether MQTT and the cloud work, and each box's last poll."""
        return self._service.health_check()

    async def printer_models(self, request: cmd.Request) -> Any:
        """The cloud's supported printer models, searched or whole."""
        command = expect(request, cmd.PrinterModelsCommand)
        return {"models": await self._service.client.printer_models(command.query)}

    async def decode_qr(self, request: cmd.Request) -> Any:
        """The device id inside a QR link or token; the key is never echoed."""
        command = expect(request, cmd.DecodeQrCommand)
        return {"device_id": parse_qr(command.text).device_id}

    async def refresh_all(self, _request: cmd.Request) -> Any:
        """Poll every box now (a refused ApiKey: its error, at once)."""
        refused = self._service.client.refused("refresh")
        if refused is not None:
            raise refused
        pollers = self._service.pollers
        states = await asyncio.gather(*(p.poll_now() for p in pollers.values()))
        return {"devices": {n: s.to_json() for n, s in zip(pollers, states, strict=True)}}
