"""The simulated Lianke cloud over HTTP: the server, its routes, and ``lianke-bridge simulate``.

A request passes the gate (:mod:`~lianke_bridge.simulator.gate`: recording, faults, the ApiKey),
then its handler (:mod:`~lianke_bridge.simulator.endpoints`, one module per area), which reads
its parameters where the reference puts them (:mod:`~lianke_bridge.simulator.params`);
``/_sim/`` is the simulator's own (:mod:`~lianke_bridge.simulator.admin`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Self

from aiohttp import web

from lianke_bridge.simulator.admin import Admin
from lianke_bridge.simulator.bodies import MAX_BODY, MAX_BODY_BYTES
from lianke_bridge.simulator.clock import Timing
from lianke_bridge.simulator.endpoints.box import BoxEndpoints
from lianke_bridge.simulator.endpoints.jobs import JobEndpoints
from lianke_bridge.simulator.endpoints.printers import PrinterEndpoints
from lianke_bridge.simulator.faults import Faults
from lianke_bridge.simulator.fleet import Fleet, demo_fleet, load_fleet
from lianke_bridge.simulator.gate import ADMIN_PREFIX, Gate
from lianke_bridge.simulator.recording import RecordedRequest
from lianke_bridge.simulator.state import SimState

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT = 8080
"""Where ``lianke-bridge simulate`` listens unless told otherwise."""


def build_app(sim: Simulator) -> web.Application:
    """The aiohttp application: API routes behind recording, faults and the ApiKey check."""
    printers, jobs, box = PrinterEndpoints(sim), JobEndpoints(sim), BoxEndpoints(sim)
    gate, admin = Gate(sim), Admin(sim)
    app = web.Application(middlewares=[gate.middleware], client_max_size=MAX_BODY_BYTES)
    app[MAX_BODY] = MAX_BODY_BYTES
    routes = [
        web.get("/api/external_api/printer_list", printers.printer_list),
        web.get("/api/print/printer_params", printers.printer_params),
        web.get("/api/print/paper_dimension_list", printers.paper_dimension_list),
        web.get("/api/print/printer_enum", printers.printer_enum),
        web.post("/api/print/printer_enum", printers.printer_enum_search),
        web.post("/api/print/job", jobs.submit_job),
        web.get("/api/print/job", jobs.job_status),
        web.delete("/api/print/job", jobs.cancel_job),
        web.get("/api/device/device_info", box.device_info),
        web.get("/api/device/printer_status", box.printer_status),
        # Lianke's own Python SDK asks printer_status with DELETE: answered the same.
        web.delete("/api/device/printer_status", box.printer_status),
        web.post("/api/print/query_device_task", jobs.query_device_task),
        web.post("/api/driver/uninstall_driver_event", box.uninstall_driver_event),
        web.get("/api/device/async_refresh_device_info", box.refresh_device_info),
        web.get("/api/printer/refresh_network_printer", box.refresh_network_printer),
        web.post("/api/print/file_pages", jobs.file_pages),
        web.post("/api/print/reset_printing_error_limit", jobs.reset_error_limit),
        web.post("/api/device/async_device_reboot", box.reboot),
        web.post("/api/print/flush_jobs", jobs.flush_jobs),
        web.post(ADMIN_PREFIX + "faults", admin.add_fault),
        web.delete(ADMIN_PREFIX + "faults", admin.clear_faults),
        web.get(ADMIN_PREFIX + "requests", admin.list_requests),
        web.get(ADMIN_PREFIX + "state", admin.show_state),
    ]
    app.add_routes(routes)
    return app


# ---- the simulator ------------------------------------------------------------------------


class Simulator:
    """The fake Lianke cloud: an aiohttp server with a fleet, timings, faults and a request log."""

    def __init__(self, fleet: Fleet | None = None, timing: Timing | None = None) -> None:
        self.fleet = fleet if fleet is not None else demo_fleet()
        self.timing = timing if timing is not None else Timing()
        self.state = SimState(self.fleet, self.timing)
        self.faults = Faults(self.state)
        self.requests: list[RecordedRequest] = []
        self.app = build_app(self)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._host, self._port = "", 0

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._url is None:
            raise RuntimeError("the simulator is not started")
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0: a free one; see ``url``).

        Starting a running simulator again on the same host (port 0 or its port) does nothing,
        so ``async with Simulator() as sim: await sim.start()`` is harmless.
        """
        if self._runner is not None:
            if (host, port) in ((self._host, 0), (self._host, self._port)):
                return
            raise RuntimeError(f"the simulator already runs at {self.url}")
        # handler_cancellation: a client that hangs up ends its handler (as a real server does),
        # so stopping never waits for a request whose caller is gone.
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound = runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in str(bound[0]) else bound[0]
        self._url = f"http://{shown}:{bound[1]}"
        self._host, self._port = host, int(bound[1])

    async def stop(self) -> None:
        """Stop background work and the server."""
        await self.state.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._url = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def count(self, path: str, method: str | None = None) -> int:
        """How many recorded requests reached ``path`` (with ``method``, if given)."""
        return sum(
            1
            for r in self.requests
            if r.path == path and (method is None or r.method == method.upper())
        )

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self.requests.clear()


async def serve(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, fleet_path: str | Path | None = None
) -> None:
    """Run the simulator until cancelled (``lianke-bridge simulate``)."""
    fleet = load_fleet(fleet_path) if fleet_path else demo_fleet()
    sim = Simulator(fleet=fleet)
    await sim.start(host, port)
    _LOGGER.info(
        "Lianke cloud simulator listening on %s with %d boxes "
        "(lianke-bridge simulate --print-fleet shows the keys)",
        sim.url,
        len(fleet.boxes),
    )
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def fleet_json(fleet_path: str | Path | None = None) -> str:
    """The fleet (demo or from a file) as JSON, for ``--print-fleet``."""
    return (load_fleet(fleet_path) if fleet_path else demo_fleet()).to_json()
