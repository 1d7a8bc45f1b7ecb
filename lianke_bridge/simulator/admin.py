"""The simulator's own endpoints under ``/_sim/``: faults, the request log, the state."""

from __future__ import annotations

import json
from dataclasses import asdict

from aiohttp import web

from lianke_bridge.simulator.answers import dumps
from lianke_bridge.simulator.recording import SimulatorView, printable


class Admin:
    """The ``/_sim/`` endpoints of one simulator (the gate lets them through untouched)."""

    def __init__(self, sim: SimulatorView) -> None:
        self.sim = sim

    async def add_fault(self, request: web.Request) -> web.Response:
        """POST /_sim/faults {"fault": name, ...arguments}; anything else is a clear 400."""
        try:
            raw = await request.read()
        except web.HTTPException:
            raise
        except Exception:  # noqa: BLE001 - a truncated or undecodable upload
            return _admin_error("the body could not be read")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return _admin_error('the body must be JSON like {"fault": "clear"}')
        try:
            self.sim.faults.apply(body)
        except ValueError as err:
            return _admin_error(str(err))
        return web.json_response({"ok": True})

    async def clear_faults(self, _request: web.Request) -> web.Response:
        """DELETE /_sim/faults."""
        self.sim.faults.clear()
        return web.json_response({"ok": True})

    async def list_requests(self, _request: web.Request) -> web.Response:
        """GET /_sim/requests."""
        return web.json_response([asdict(r) for r in self.sim.requests], dumps=dumps)

    async def show_state(self, _request: web.Request) -> web.Response:
        """GET /_sim/state."""
        return web.json_response(self.sim.state.snapshot(), dumps=dumps)


def _admin_error(message: str) -> web.Response:
    return web.json_response({"ok": False, "error": printable(message)}, status=400, dumps=dumps)
