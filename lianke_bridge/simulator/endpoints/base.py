# ruff: noqa: RUF001 - the cloud's messages are Chinese, with full-width commas
"""The base of the API's handlers: the simulator they serve and the checks every area makes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from lianke_bridge.cloud import codes
from lianke_bridge.simulator.answers import BAD_PARAMETER, ApiRefusalError
from lianke_bridge.simulator.boxes import BoxRuntime
from lianke_bridge.simulator.jobs import Job
from lianke_bridge.simulator.params import (
    param_int,
    param_text,
)
from lianke_bridge.simulator.recording import SimulatorView


class Endpoints:
    """What the handlers of every area share: the simulator, and the checks of box, port, job."""

    def __init__(self, sim: SimulatorView) -> None:
        self.sim = sim
        self.state = sim.state

    # ---- helpers ---------------------------------------------------------------------------

    def box(self, params: Mapping[str, Any]) -> BoxRuntime:
        """The box named by deviceId + deviceKey, or the cloud's 404."""
        box = self.state.boxes.get(param_text(params, "deviceId"))
        if box is None or param_text(params, "deviceKey") != box.spec.device_key:
            raise ApiRefusalError(404, "设备id或密码错误")
        return box

    def port(self, box: BoxRuntime, params: Mapping[str, Any], name: str) -> int:
        """A USB port number of the box (or 631, the network printers' port)."""
        given = param_int(params, name)
        port = 1 if given is None else given
        if port != codes.NETWORK_PRINTER_PORT and not 1 <= port <= box.spec.usb_port_num:
            raise ApiRefusalError(BAD_PARAMETER, f"{name}参数错误")
        return port

    def job(self, box: BoxRuntime, params: Mapping[str, Any]) -> Job:
        """The task named by task_id, if it belongs to the box."""
        job = self.state.jobs.get(param_text(params, "task_id"))
        if job is None or job.device_id != box.spec.device_id:
            raise ApiRefusalError(BAD_PARAMETER, "任务不存在")
        return job

    async def one_at_a_time(self, box: BoxRuntime, call: str, seconds: float) -> None:
        """Hold ``call`` busy for the box while answering; a second call meanwhile is 10009."""
        if call in box.busy:
            raise ApiRefusalError(10009, "请求频繁，单个设备同时只允许调用一次")
        box.busy.add(call)
        try:
            await asyncio.sleep(seconds)
        finally:
            box.busy.discard(call)

    def check_error_pause(self, box: BoxRuntime, limit: int) -> None:
        """11203 while the box's run of failures has reached ``limit``, for Timing.error_pause.

        The pause counts from the last failed job; once it has passed the run starts again.
        """
        if box.failures < limit:
            return
        if self.state.clock.monotonic() - box.last_failure >= self.state.timing.error_pause:
            box.failures = 0
            return
        raise ApiRefusalError(
            11203,
            f"连续发送失败任务大于{limit}次，该设备已被暂停使用，请30分钟后再试或联系客服人员解除",
        )

    def check_status_window(self, box: BoxRuntime, port: int) -> None:
        """10009 for printer_status of a port asked again within Timing.status_window."""
        last = box.status_answered.get(port)
        window = self.state.timing.status_window
        if last is not None and self.state.clock.monotonic() - last < window:
            raise ApiRefusalError(10009, "请求频繁，同设备相同USB口短时间内请勿重复请求")
