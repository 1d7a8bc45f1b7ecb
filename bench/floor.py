"""The floor: the least any MQTT-to-cloud bridge must do, as its own process.

It answers ``floor/request/<kind>`` on ``floor/response/<kind>`` with the request's transaction:
``mqtt`` at once (the raw MQTT round trip), ``cloud`` after one raw aiohttp call to the simulator
(query_device_task), ``print`` after one raw print submission. Same client library, protocol, QoS
and socket options as the bridge, so the ratio shows only what the bridge adds.

Run: ``python -m bench.floor HOST PORT SIM_URL API_KEY DEVICE_ID DEVICE_KEY``; it prints
``ready`` once subscribed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp
import aiomqtt

from bench.tuning import SOCKET_OPTIONS

PREFIX = "floor"


class Floor:
    """The echo, with one HTTP session for every cloud call (as the bridge keeps one)."""

    def __init__(self, sim_url: str, api_key: str, device_id: str, device_key: str) -> None:
        self.sim_url = sim_url
        self.headers = {"ApiKey": api_key}
        self.creds = {"deviceId": device_id, "deviceKey": device_key}
        self.session: aiohttp.ClientSession | None = None

    async def cloud(self, session: aiohttp.ClientSession) -> Any:
        """One query_device_task, as the bridge's ``tasks`` command sends it."""
        async with session.post(
            self.sim_url + "/api/print/query_device_task", json=self.creds, headers=self.headers
        ) as response:
            return (await response.json()).get("data")

    async def print(self, session: aiohttp.ClientSession, url: str) -> Any:
        """One print submission (a URL), as multipart form like the bridge's."""
        form = aiohttp.FormData(default_to_multipart=True)
        fields = {
            **self.creds,
            "devicePort": "1",
            "printerModel": "Kyocera MA2000w GX",
            "jobFile": url,
            "urlFileExt": ".pdf",
            "dmPaperSize": "9",
            "jpScale": "fit",
            "jpAutoScale": "4",
        }
        for name, value in fields.items():
            form.add_field(name, value)
        async with session.post(
            self.sim_url + "/api/print/job", data=form, headers=self.headers
        ) as response:
            return (await response.json()).get("data")

    async def answer(self, mqtt: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Answer one request like the bridge does: a JSON envelope with the transaction."""
        assert self.session is not None  # noqa: S101 - set in run() before any message
        kind = message.topic.value.rsplit("/", 1)[-1]
        raw = message.payload if isinstance(message.payload, bytes) else b"{}"
        request = json.loads(raw)
        data: Any = None
        if kind == "cloud":
            data = await self.cloud(self.session)
        elif kind == "print":
            data = await self.print(self.session, str(request.get("url", "")))
        envelope = {"status": "ok", "data": data, "transaction": request.get("transaction")}
        await mqtt.publish(f"{PREFIX}/response/{kind}", json.dumps(envelope), qos=1)

    async def run(self, host: str, port: int) -> None:
        """Serve until killed."""
        async with (
            aiohttp.ClientSession() as session,
            aiomqtt.Client(
                host, port, protocol=aiomqtt.ProtocolVersion.V5, socket_options=SOCKET_OPTIONS
            ) as mqtt,
        ):
            self.session = session
            await mqtt.subscribe(f"{PREFIX}/request/+", qos=1)
            print("ready", flush=True)  # noqa: T201 - the harness waits for this line
            async with asyncio.TaskGroup() as group:
                async for message in mqtt.messages:
                    group.create_task(self.answer(mqtt, message))


def main(argv: list[str]) -> None:
    """``host port sim_url api_key device_id device_key``."""
    host, port, sim_url, api_key, device_id, device_key = argv
    floor = Floor(sim_url, api_key, device_id, device_key)
    asyncio.run(floor.run(host, int(port)))


if __name__ == "__main__":
    main(sys.argv[1:])
