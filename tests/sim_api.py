"""A thin caller for the simulator's tests: plain aiohttp, parameters where the reference puts them.

Deliberately not the project's client: these tests check the simulator against the reference,
so they speak raw HTTP.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import aiohttp

from lianke_bridge.simulator import BoxSpec, Simulator

EXAMPLES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "reference_responses.json").read_text(encoding="utf-8")
)["examples"]


def example(method: str, path: str, index: int = 0) -> dict[str, Any]:
    """The reference's example answer for a call (``index`` picks among several)."""
    found = [e["body"] for e in EXAMPLES if e["method"] == method and e["path"] == path]
    body: dict[str, Any] = found[index]
    return body


def assert_same_shape(
    actual: Any, expected: Any, where: str = "", *, free_keys: tuple[str, ...] = ()
) -> None:
    """Same keys and value types as ``expected`` (an example's ``null`` accepts anything).

    ``free_keys`` names the paths (``data.Capabilities.Papers``) whose keys are data, not
    structure (paper names…): there only the value types are compared.
    """
    if expected is None:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        if where in free_keys:
            for value in actual.values():
                assert_same_shape(value, next(iter(expected.values())), where + ".*")
            return
        assert set(actual) == set(expected), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key, value in expected.items():
            assert_same_shape(actual[key], value, f"{where}.{key}".strip("."), free_keys=free_keys)
        return
    if isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: {actual!r} is not a list"
        if expected and actual:
            for item in actual:
                assert_same_shape(item, expected[0], where + "[]", free_keys=free_keys)
        return
    assert type(actual) is type(expected), f"{where}: {actual!r} is not a {type(expected)}"


class SimApi:
    """Calls to a running simulator with its fleet's ApiKey."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.box = sim.fleet.boxes[0]
        self.headers = {"ApiKey": sim.fleet.api_key}

    def creds(self, box: BoxSpec | None = None) -> dict[str, str]:
        """DeviceId and deviceKey of ``box`` (the first box by default)."""
        box = box or self.box
        return {"deviceId": box.device_id, "deviceKey": box.device_key}

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One call; the answer's JSON (the simulator always answers HTTP 200 JSON)."""
        params = {k: str(v) for k, v in (query or {}).items()}
        async with self.session.request(
            method,
            self.sim.url + path,
            params=params,
            headers=self.headers if headers is None else headers,
            **kwargs,
        ) as response:
            assert response.status == 200
            body: dict[str, Any] = await response.json()
            return body

    async def get(self, path: str, **query: Any) -> dict[str, Any]:
        """GET with a query string."""
        return await self.request("GET", path, query=query)

    async def post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a JSON body."""
        return await self.request("POST", path, json=dict(body))

    async def post_form(
        self,
        path: str,
        fields: Mapping[str, Any],
        file: tuple[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """POST a form: multipart with ``file`` as ``jobFile``, else urlencoded."""
        if file is None:
            return await self.request("POST", path, data={k: str(v) for k, v in fields.items()})
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, str(value))
        form.add_field("jobFile", io.BytesIO(file[1]), filename=file[0])
        return await self.request("POST", path, data=form)

    async def submit(
        self,
        box: BoxSpec | None = None,
        *,
        file: tuple[str, bytes] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """POST /api/print/job with the required fields (A4, fit; a PDF link unless a file)."""
        form: dict[str, Any] = {
            **self.creds(box),
            "devicePort": 1,
            "dmPaperSize": 9,
            "jpAutoScale": 4,
        }
        if file is None:
            form["jobFile"] = "https://example.com/doc.pdf"
            form["urlFileExt"] = ".pdf"
        form.update(fields)
        return await self.post_form("/api/print/job", form, file)

    async def submit_ok(self, box: BoxSpec | None = None, **fields: Any) -> str:
        """Submit and return the task_id, asserting the job was accepted."""
        answer = await self.submit(box, **fields)
        assert answer["code"] == 200, answer
        task_id: str = answer["data"]["task_id"]
        return task_id

    async def job(self, task_id: str, box: BoxSpec | None = None, port: int = 1) -> dict[str, Any]:
        """GET /api/print/job's answer."""
        return await self.get("/api/print/job", **self.creds(box), devicePort=port, task_id=task_id)

    async def wait_state(
        self,
        task_id: str,
        state: str | Collection[str],
        box: BoxSpec | None = None,
        timeout: float = 3.0,
    ) -> dict[str, Any]:
        """Poll (as a client would) until the task is in ``state`` (or one of them); its data."""
        states = {state} if isinstance(state, str) else set(state)
        async with asyncio.timeout(timeout):
            while True:
                data: dict[str, Any] = (await self.job(task_id, box))["data"]
                if data["task_state"] in states:
                    return data
                await asyncio.sleep(0.005)

    async def wait_answer(
        self,
        path: str,
        predicate: Callable[[dict[str, Any]], bool],
        query: Mapping[str, Any],
        timeout: float = 3.0,
    ) -> dict[str, Any]:
        """GET ``path`` again and again, as a polling client would, until ``predicate`` holds."""
        async with asyncio.timeout(timeout):
            while True:
                answer = await self.get(path, **query)
                if predicate(answer):
                    return answer
                await asyncio.sleep(0.01)

    async def wait_final(
        self, task_id: str, box: BoxSpec | None = None, timeout: float = 3.0
    ) -> dict[str, Any]:
        """Poll until the task has ended; its ``data``."""
        async with asyncio.timeout(timeout):
            while True:
                data: dict[str, Any] = (await self.job(task_id, box))["data"]
                if data["task_state"] in ("SUCCESS", "FAILURE", "REVOKED"):
                    return data
                await asyncio.sleep(0.01)
