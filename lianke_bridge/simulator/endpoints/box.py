# ruff: noqa: RUF001 - the cloud's messages are Chinese, with full-width commas
"""The handlers of the box calls: device_info, printer_status, refreshes, reboot, driver events."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lianke_bridge.cloud.models import parse_cloud_date
from lianke_bridge.simulator.answers import BAD_PARAMETER, ApiRefusalError, ok
from lianke_bridge.simulator.endpoints.base import Endpoints
from lianke_bridge.simulator.params import (
    PHONE,
    json_fields,
    param_int,
    param_text,
    query_params,
)


class BoxEndpoints(Endpoints):
    """device_info, printer_status, the two refreshes, reboot, uninstall_driver_event."""

    async def device_info(self, request: web.Request) -> web.Response:
        """GET device_info: online state, subscription, network, versions."""
        box = self.box(query_params(request))
        spec = box.spec
        expire = parse_cloud_date(spec.expire_date)
        return ok(
            {
                "info": {
                    "api_support": 1,
                    "device_type": 2,
                    "expire_date": spec.expire_date,
                    "is_expire": bool(expire and expire < self.state.clock.today().isoformat()),
                    "mobile_support": 1,
                    "online": box.online,
                    "remote_support": 1,
                    "usb_port_num": spec.usb_port_num,
                },
                "network": {
                    "lan": {
                        "dns": "",
                        "gateway": "",
                        "ipaddr": spec.lan_ip,
                        "link": [False],
                        "macaddr": "",
                        "netmask": "255.255.0.0",
                        "proto": "dhcp",
                    },
                    "wwan": {
                        "dns": [_gateway(spec.wwan_ip)] if spec.wwan_ip else [],
                        "gateway": _gateway(spec.wwan_ip),
                        "ipaddr": spec.wwan_ip,
                        "macaddr": "",
                        "netmask": "255.255.252.0",
                        "proto": "dhcp",
                    },
                },
                "version": {"hardware": spec.hardware, "software": spec.software},
            }
        )

    async def printer_status(self, request: web.Request) -> web.Response:
        """GET printer_status: slow, one at a time per box, 497 without a printer."""
        params = query_params(request)
        box = self.box(params)
        port = self.port(box, params, "usbPort")
        if box.online != 1:
            raise ApiRefusalError(5002, "设备已离线，请检查云指示灯")
        self.check_status_window(box, port)
        await self.one_at_a_time(box, "printer_status", self.state.timing.printer_status)
        box.status_answered[port] = self.state.clock.monotonic()
        printer = box.printers.get(port)
        if printer is None or not printer.plugged:
            raise ApiRefusalError(497, "未检测到打印机，请插好打印机并刷新再试")
        if printer.unresponsive:
            raise ApiRefusalError(500, "设备无响应")
        if not printer.spec.support_status:
            data: dict[str, Any] = dict.fromkeys(printer.status_data(), False)
            data.update(errCode=None, statusCode=None, msg="该打印机暂不支持状态查询")
            return ok(data)
        return ok(printer.status_data())

    async def refresh_device_info(self, request: web.Request) -> web.Response:
        """GET async_refresh_device_info: 401 while refreshing, 10009 when called concurrently."""
        box = self.box(query_params(request))
        if box.refreshing:
            raise ApiRefusalError(401, "正在刷新中")
        await self.one_at_a_time(box, "refresh", self.state.timing.answer)
        if box.refreshing:
            raise ApiRefusalError(401, "正在刷新中")
        self.state.refresh(box)
        return ok()

    async def refresh_network_printer(self, request: web.Request) -> web.Response:
        """GET refresh_network_printer: how many network printers the box found."""
        box = self.box(query_params(request))
        if box.online != 1:
            raise ApiRefusalError(5002, "设备已离线，请检查云指示灯")
        total = sum(1 for p in box.printers.values() if p.spec.is_network and p.plugged)
        return ok({"total": total})

    async def reboot(self, request: web.Request) -> web.Response:
        """POST async_device_reboot: offline for Timing.reboot; 401 meanwhile; 5002 offline."""
        box = self.box(json_fields(request))
        if box.rebooting:
            raise ApiRefusalError(401, "正在重启中")
        if box.online != 1:
            raise ApiRefusalError(5002, "设备已离线，请检查云指示灯")
        self.state.reboot(box)
        return ok()

    async def uninstall_driver_event(self, request: web.Request) -> web.Response:
        """POST uninstall_driver_event: an adaptation request; 403 for an invalid phone."""
        body = json_fields(request)
        self.box(body)
        if not PHONE.fullmatch(param_text(body, "phone")):
            raise ApiRefusalError(403, "无效手机号")
        printer_id = param_int(body, "printerId")
        if printer_id is None:
            raise ApiRefusalError(BAD_PARAMETER, "printerId参数不能为空")
        if printer_id < 1:
            raise ApiRefusalError(BAD_PARAMETER, "printerId参数错误")
        # Any printer id is taken (the reference's example sends "1"): it queues a request.
        return ok()


def _gateway(ip: str) -> str:
    parts = ip.split(".")
    return ".".join([*parts[:3], "1"]) if len(parts) == 4 else ""  # noqa: PLR2004 - IPv4
