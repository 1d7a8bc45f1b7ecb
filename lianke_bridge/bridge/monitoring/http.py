"""The optional HTTP endpoint: ``/healthz`` for probes, ``/metrics`` for Prometheus, pushes.

Off unless ``http.enabled``; only then does the service import this module, and with it aiohttp's
server half and prometheus_client. It runs for the service's whole life (across broker
reconnects, so a probe sees 503 while the broker is lost rather than a refused connection). A
port that cannot be bound is logged as an error and the bridge goes on without it: MQTT is what
it is for.

With ``lianke.callback_url`` ending in ``{token}`` it also takes the cloud's pushes: ``POST
<path>/<token>``, the token compared in constant time. A wrong token is answered 404 (as any
unknown path), a body that is not JSON 400, anything else 200 once acted on (the cloud retries
what is not answered 200, and a push it cannot make count is not worth a retry). Neither the
path nor the body is logged (no access log).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any, Protocol

from aiohttp import web

from lianke_bridge.bridge.jobs.pushes import Pushes
from lianke_bridge.bridge.monitoring.metrics import CONTENT_TYPE, BridgeMetrics
from lianke_bridge.bridge.records.push import MAX_PUSH_BYTES
from lianke_bridge.config import Config

_LOGGER = logging.getLogger(__name__)


class HttpSource(Protocol):
    """What the endpoint serves from (the service is one)."""

    http_port: int | None
    """Set to the bound port once serving."""

    @property
    def config(self) -> Config:
        """Its ``http`` section says where to listen."""

    @property
    def pushes(self) -> Pushes:
        """Where the cloud's pushes come to (``route``) and what acts on them."""

    def healthz(self) -> dict[str, Any]:
        """The ``/healthz`` answer."""


SERVICE_KEY: web.AppKey[HttpSource] = web.AppKey("service")
METRICS_KEY: web.AppKey[BridgeMetrics] = web.AppKey("metrics")
HEALTHY, UNHEALTHY = 200, 503


def make_app(service: HttpSource, metrics: BridgeMetrics) -> web.Application:
    """The two routes, answering from this service and its metrics registry."""
    app = web.Application(client_max_size=MAX_PUSH_BYTES)
    app[SERVICE_KEY] = service
    app[METRICS_KEY] = metrics
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    route = service.pushes.route
    if route is not None:
        app.router.add_post(f"{route[0]}/{{token}}", _push)
    return app


async def _healthz(request: web.Request) -> web.Response:
    summary = request.app[SERVICE_KEY].healthz()
    return web.json_response(
        summary,
        status=HEALTHY if summary["healthy"] else UNHEALTHY,
        dumps=lambda data: json.dumps(data, separators=(",", ":")),
    )


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS_KEY].exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def _push(request: web.Request) -> web.Response:
    """A push from the cloud (or anyone who knows the address)."""
    pushes = request.app[SERVICE_KEY].pushes
    receiver, route = pushes.receiver, pushes.route
    if receiver is None or route is None:
        raise web.HTTPServiceUnavailable
    given = request.match_info["token"].encode()
    if not hmac.compare_digest(given, route[1].encode()):
        receiver.refuse("http", "bad_token")
        raise web.HTTPNotFound
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        receiver.refuse("http", "too_large")
        raise
    outcome = await receiver.receive(body, "http")
    if outcome == "bad_json":
        raise web.HTTPBadRequest(text="not JSON")
    return web.Response(text="ok")


async def serve(
    service: HttpSource, metrics: BridgeMetrics, bound: asyncio.Event | None = None
) -> None:
    """Serve until cancelled; ``service.http_port`` holds the bound port once ``bound`` is set."""
    config = service.config.http
    runner = web.AppRunner(make_app(service, metrics), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        try:
            await site.start()
        except OSError as err:
            _LOGGER.error(  # noqa: TRY400 - the reason is enough; a traceback would alarm
                "cannot serve /healthz and /metrics on %s:%d (%s); going on without them",
                config.host,
                config.port,
                err.strerror or err,
            )
            return
        service.http_port = int(runner.addresses[0][1])
        route = service.pushes.route
        _LOGGER.info(
            "serving /healthz and /metrics%s on http://%s:%d",
            "" if route is None else f" and the cloud's pushes (POST {route[0]}/<token>)",
            config.host,
            service.http_port,
        )
        if bound is not None:
            bound.set()
        await asyncio.get_running_loop().create_future()
    finally:
        await runner.cleanup()
