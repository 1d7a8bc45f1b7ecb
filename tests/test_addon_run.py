"""The add-on's entry point (``lianke-bridge addon``) as the Supervisor runs it, end to end.

The real Supervisor cannot run here (it manages the Docker containers of a Home Assistant OS
host), so a stand-in aiohttp server answers ``GET /services/mqtt`` the way its API does
(supervisor/api/services.py and services/modules/mqtt.py: ``{"result": "ok", "data": {host,
port, ssl, protocol, username, password, app}}``, HTTP 400 "Service not enabled" before the
Mosquitto add-on registers, 401 for a token it does not know). Everything else is real: the
command as the image runs it (a subprocess), options.json and config.yaml as files, a Mosquitto
that takes no anonymous client, the simulated Lianke cloud, and a probe client on the broker.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from mqtt_broker import MosquittoBroker, MqttProbe, sentinel_round_trip
from test_cli import START_TIMEOUT, clean_env, cli, run_cli

from lianke_bridge.addon.supervisor import (
    MqttService,
    fetch_mqtt_service,
    wait_for_mqtt_service,
)
from lianke_bridge.errors import SupervisorError, SupervisorWaitError
from lianke_bridge.simulator import Simulator

TOKEN = "supervisor-token-0123456789"
MQTT_USER = "addons"
MQTT_PASSWORD = "mqtt-pass-for-addons"


class StandInSupervisor:
    """``GET /services/mqtt`` as the Supervisor answers it; ``service`` None until registered."""

    def __init__(self) -> None:
        self.service: dict[str, Any] | None = None
        self.raw: tuple[int, str] | None = None
        """An answer of another kind (status, body) instead of the API's."""
        self.authorizations: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def mqtt(self, request: web.Request) -> web.Response:
        """The broker's description, or the Supervisor's refusals."""
        authorization = request.headers.get("Authorization", "")
        self.authorizations.append(authorization)
        if authorization != f"Bearer {TOKEN}":
            return web.Response(status=401, text="401: Unauthorized")
        if self.raw is not None:
            return web.Response(status=self.raw[0], text=self.raw[1])
        if self.service is None:
            body = {"result": "error", "message": "Service not enabled", "data": {}}
            return web.json_response(body, status=400)
        return web.json_response(
            {"result": "ok", "data": {"app": "core_mosquitto", **self.service}}
        )

    async def start(self) -> None:
        """Serve on a free loopback port."""
        app = web.Application()
        app.router.add_get("/services/mqtt", self.mqtt)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def supervisor() -> AsyncIterator[StandInSupervisor]:
    """A started stand-in Supervisor with no MQTT service registered yet."""
    stand_in = StandInSupervisor()
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


def qr_link(device_id: str, device_key: str) -> str:
    """The link in a box's QR code."""
    token = base64.b64encode(f"{device_id}:{device_key}".encode()).decode()
    return f"https://cloud.liankenet.com/qr?token={token}"


def write_addon_files(
    folder: Path, options: dict[str, Any], config_yaml: str | None = None
) -> list[str]:
    """options.json (as the Supervisor writes it) and config.yaml; the command's arguments."""
    (folder / "data").mkdir()
    (folder / "config").mkdir()
    options_path = folder / "data" / "options.json"
    options_path.write_text(json.dumps(options), encoding="utf-8")
    config_path = folder / "config" / "config.yaml"
    if config_yaml is not None:
        config_path.write_text(config_yaml, encoding="utf-8")
    return ["addon", "--options", str(options_path), "--config", str(config_path)]


def addon_env(supervisor: StandInSupervisor, token: str = TOKEN) -> dict[str, str]:
    """What the Supervisor gives the add-on's container (its URL replaced by the stand-in's)."""
    return clean_env(SUPERVISOR_URL=supervisor.url, SUPERVISOR_TOKEN=token)


async def test_the_addon_runs_from_its_options_and_the_supervisors_broker(
    simulator: Simulator,
    mosquitto_factory: Callable[..., MosquittoBroker],
    supervisor: StandInSupervisor,
    base_topic: str,
    tmp_path: Path,
) -> None:
    """Options + the Supervisor's broker -> the bridge runs, publishes, answers a print once.

    The add-on starts before the Mosquitto add-on has registered (as at boot): it says so and
    waits; once the Supervisor describes the password-protected broker it connects with those
    credentials. The image's HEALTHCHECK (``health -c /data/options.json``) finds it healthy;
    SIGTERM (the Supervisor stopping it) ends it cleanly. The log, at DEBUG, holds none of the
    ApiKey, the QR link's token, the box's key, the MQTT password or the Supervisor's token.
    """
    broker = mosquitto_factory(users={MQTT_USER: MQTT_PASSWORD})
    await broker.wait_ready()
    box = simulator.fleet.boxes[0]
    link = qr_link(box.device_id, box.device_key)
    options = {
        "api_key": simulator.fleet.api_key,
        "boxes": [{"name": "office", "qr": link}],
        "poll": {"job": 5},
        "discovery": "device",
        "log_level": "debug",
        "mqtt": {},
    }
    # what the page leaves out: the simulator instead of the cloud, this test's topics
    config_yaml = f"""\
lianke:
  base_url: {simulator.url}
  rate_limit: 10
mqtt:
  base_topic: {base_topic}
  client_id: {base_topic}
homeassistant:
  prefix: {base_topic}_ha
"""
    args = write_addon_files(tmp_path, options, config_yaml)
    env = addon_env(supervisor)
    async with (
        MqttProbe(broker.host, broker.port, subscribe=[f"{base_topic}/#"], **broker.login) as probe,
        cli(*args, env=env) as process,
    ):
        await process.wait_output(
            lambda text: "no MQTT broker yet" in text, stream="stderr", timeout=START_TIMEOUT
        )
        supervisor.service = {
            "host": broker.host,
            "port": broker.port,
            "ssl": False,
            "protocol": "3.1.1",
            "username": MQTT_USER,
            "password": MQTT_PASSWORD,
        }
        await probe.wait_for(
            f"{base_topic}/bridge/state", lambda m: m.text == "online", START_TIMEOUT
        )
        state = await probe.wait_for(
            f"{base_topic}/office/state", lambda m: m.json()["online"] is True, START_TIMEOUT
        )
        assert state.retain
        answer = await probe.request(
            f"{base_topic}/office/request/print",
            {"url": "https://x.test/menu.pdf"},
            timeout=START_TIMEOUT,
            settle=lambda: sentinel_round_trip(probe, base_topic),
        )
        assert answer.json()["status"] == "ok", answer.json()
        assert simulator.count("/api/print/job", method="POST") == 1
        code, out, _err = await run_cli("health", "-c", args[2], env=env)
        assert (code, out.split(":")[0]) == (0, "healthy")
        mark = probe.mark()
        process.send(signal.SIGTERM)
        assert await process.wait() == 0
        offline = await probe.wait_for(f"{base_topic}/bridge/state", since=mark)
        assert offline.text == "offline"
    log = process.out + process.err
    assert "Traceback" not in log
    assert f"MQTT broker from the Supervisor: {broker.host}:{broker.port} (user addons" in log
    assert " DEBUG " in log
    secrets = (simulator.fleet.api_key, link.split("=", 1)[1], box.device_key, MQTT_PASSWORD)
    for secret in (*secrets, TOKEN):
        assert secret not in log
    assert set(supervisor.authorizations) == {f"Bearer {TOKEN}"}
    assert len(supervisor.authorizations) >= 2  # asked again after "not enabled"


@pytest.mark.parametrize(
    ("bad_option", "token", "says"),
    [
        (
            {"boxes": [{"name": "office", "qr": "https://cloud.liankenet.com/qr?token=%%%"}]},
            TOKEN,
            "bad add-on configuration: boxes[0].qr: this is neither a QR link",
        ),
        ({"poll": {"printer_list": 10}}, TOKEN, "bad add-on configuration: poll.printer_list"),
        ({}, "a-token-it-does-not-know", "cannot start: the Supervisor refused"),
    ],
    ids=["bad-qr-link", "poll-too-fast", "refused-token"],
)
async def test_a_bad_option_stops_the_addon_with_one_line(  # noqa: PLR0917 - fixtures
    simulator: Simulator,
    supervisor: StandInSupervisor,
    tmp_path: Path,
    bad_option: dict[str, Any],
    token: str,
    says: str,
) -> None:
    """A bad option (or a refused token): one ERROR line in the log, exit 2, no secret.

    The process ends (the container with it); with its watchdog off, Home Assistant leaves the
    add-on stopped: no restart loop. Options are checked before the Supervisor is asked.
    """
    box = simulator.fleet.boxes[0]
    options: dict[str, Any] = {
        "api_key": simulator.fleet.api_key,
        "boxes": [{"name": "office", "qr": qr_link(box.device_id, box.device_key)}],
        "discovery": "device",
        "mqtt": {},
        **bad_option,
    }
    args = write_addon_files(tmp_path, options)
    code, out, err = await run_cli(*args, env=addon_env(supervisor, token))
    assert code == 2
    assert out == ""
    (line,) = err.strip().splitlines()
    assert " ERROR " in line
    assert says in line
    for secret in (simulator.fleet.api_key, box.device_key, token):
        assert secret not in err
    asked = token != TOKEN
    assert bool(supervisor.authorizations) is asked


async def test_the_addon_stops_at_once_while_it_waits_for_the_broker(
    simulator: Simulator, supervisor: StandInSupervisor, tmp_path: Path
) -> None:
    """Stopped while Home Assistant has no broker yet: it ends at once, exit 0, no error."""
    box = simulator.fleet.boxes[0]
    options = {"api_key": "k", "boxes": [{"qr": qr_link(box.device_id, box.device_key)}]}
    args = write_addon_files(tmp_path, {**options, "discovery": "device", "mqtt": {}})
    async with cli(*args, env=addon_env(supervisor)) as process:
        await process.wait_output(
            lambda text: "no MQTT broker yet" in text, stream="stderr", timeout=START_TIMEOUT
        )
        process.send(signal.SIGTERM)
        assert await process.wait() == 0
    assert " ERROR " not in process.err
    assert "Traceback" not in process.err


# ---- the question to the Supervisor, in this process -----------------------------------------
@pytest.mark.parametrize(
    ("raw", "error", "says"),
    [
        ((500, "oops"), SupervisorWaitError, "answered HTTP 500"),
        (
            (400, '{"result": "error", "message": "Service not enabled"}'),
            SupervisorWaitError,
            "no MQTT broker yet",
        ),
        ((200, "<html>"), SupervisorError, "did not answer with JSON"),
        ((200, '{"result": "ok", "data": {"port": 1883}}'), SupervisorError, "no broker host"),
        (
            (200, '{"result": "ok", "data": {"host": "h", "port": true}}'),
            SupervisorError,
            "no broker port",
        ),
        ((200, '{"result": "ok", "data": []}'), SupervisorError, "holds no broker"),
    ],
    ids=["busy", "not-registered", "not-json", "no-host", "no-port", "no-data"],
)
async def test_what_each_answer_of_the_supervisor_means(
    supervisor: StandInSupervisor, raw: tuple[int, str], error: type[Exception], says: str
) -> None:
    """Worth waiting (SupervisorWaitError) or not (SupervisorError), said in words."""
    supervisor.raw = raw
    with pytest.raises(error, match=says) as caught:
        await fetch_mqtt_service(addon_env(supervisor))
    assert TOKEN not in str(caught.value)


async def test_the_supervisor_missing_or_unreachable() -> None:
    """No token: not under the Supervisor, stop; nothing listening: wait for it."""
    with pytest.raises(SupervisorError, match="SUPERVISOR_TOKEN is not set"):
        await fetch_mqtt_service({})
    with pytest.raises(SupervisorWaitError, match="cannot be reached"):
        await fetch_mqtt_service(
            {"SUPERVISOR_TOKEN": TOKEN, "SUPERVISOR_URL": "http://127.0.0.1:9"}
        )


async def test_waiting_for_the_broker_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    """The first wait is a WARNING, the next ones DEBUG, the broker's arrival INFO."""
    answers: list[MqttService | Exception] = [
        SupervisorWaitError("not yet"),
        SupervisorWaitError("not yet"),
        MqttService("core-mosquitto", 1883, username="addons", password="pw"),
    ]

    async def ask() -> MqttService:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with caplog.at_level(logging.DEBUG, logger="lianke_bridge.addon"):
        async with asyncio.timeout(5):
            service = await wait_for_mqtt_service(ask, first_delay=0, max_delay=0)
    assert service.describe() == "core-mosquitto:1883 (user addons, TLS off)"
    assert "pw" not in repr(service)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "not yet; asking again shortly"),
        ("DEBUG", "not yet; asking again shortly"),
        ("INFO", "the Supervisor now describes an MQTT broker"),
    ]
