# ruff: noqa: RUF001 - the cloud's messages are Chinese, with full-width commas
"""The handlers of the 18 API calls, over one simulator's state."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models import parse_cloud_date
from lianke_bridge.simulator import catalog
from lianke_bridge.simulator.answers import BAD_PARAMETER, ApiRefusalError, ok
from lianke_bridge.simulator.boxes import RESETS_PER_DAY, BoxRuntime
from lianke_bridge.simulator.documents import MAX_FILE_BYTES, count_pages, url_bytes, url_pages
from lianke_bridge.simulator.jobs import Job
from lianke_bridge.simulator.params import (
    PHONE,
    check_job_fields,
    document,
    form_fields,
    json_fields,
    param_int,
    param_text,
    query_params,
)
from lianke_bridge.simulator.recording import SimulatorView


class Api:
    """The handlers of the 18 calls, over one simulator's state."""

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

    def model_kind(self, model: str) -> codes.PrinterKind | None:
        """The kind of a fleet printer with this model, so any fleet model has params."""
        for box in self.sim.fleet.boxes:
            for printer in box.printers:
                if printer.driver_name == model:
                    return printer.kind
        return None

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

    # ---- printers and models ---------------------------------------------------------------

    async def printer_list(self, request: web.Request) -> web.Response:
        """GET printer_list: plugged printers, by printerType (1 USB, 2 network, 3 both)."""
        params = query_params(request)
        box = self.box(params)
        printer_type = param_int(params, "printerType", codes.PrinterType.USB)
        if printer_type not in tuple(codes.PrinterType):
            raise ApiRefusalError(BAD_PARAMETER, "printerType参数错误")
        rows = []
        for printer in box.printers.values():
            spec = printer.spec
            wanted = codes.PrinterType.NETWORK if spec.is_network else codes.PrinterType.USB
            if not printer.plugged or box.never_booted or printer_type not in (wanted, 3):
                continue
            row: dict[str, Any] = {
                "MDL": spec.product,
                "device": None,
                "drivce_name": spec.driver_name,
                "driver_name": spec.driver_name,
                "driver_type": spec.driver_type,
                "id": spec.printer_id,
                "idProduct": None,
                "idVendor": None,
                "isPrinter": 1,
                "port": spec.port,
                "printer_name": spec.printer_name or spec.driver_name,
                "printer_state": printer.list_state(),
                "product": spec.product,
                "species": spec.species,
                "support_status": spec.support_status,
                "vendor": None,
            }
            if spec.is_network:
                row["ip_addr"] = spec.ip_addr
                row["markers"] = [m.to_api() for m in spec.markers]
            rows.append(row)
        return ok({"row": rows, "total": len(rows)}, msg=False)

    def _model(self, request: web.Request) -> tuple[str, codes.PrinterKind | None]:
        model = param_text(query_params(request), "printerModel")
        if not model:
            raise ApiRefusalError(BAD_PARAMETER, "printerModel参数不能为空")
        return model, self.model_kind(model)

    async def printer_params(self, request: web.Request) -> web.Response:
        """GET printer_params of a model."""
        model, kind = self._model(request)
        data = catalog.printer_params(model, kind)
        if data is None:
            raise ApiRefusalError(BAD_PARAMETER, "暂不支持该打印机型号")
        return ok(data)

    async def paper_dimension_list(self, request: web.Request) -> web.Response:
        """GET paper_dimension_list of a model."""
        model, kind = self._model(request)
        data = catalog.paper_list(model, kind)
        if data is None:
            raise ApiRefusalError(BAD_PARAMETER, "暂不支持该打印机型号")
        return ok(data)

    def _models(self) -> list[str]:
        fleet_models = tuple(p.driver_name for b in self.sim.fleet.boxes for p in b.printers)
        return catalog.supported_models(fleet_models)

    async def printer_enum(self, _request: web.Request) -> web.Response:
        """GET printer_enum: every supported model."""
        return ok(self._models())

    async def printer_enum_search(self, request: web.Request) -> web.Response:
        """POST printer_enum {"query"}: fuzzy search."""
        query = param_text(json_fields(request), "query")
        return ok(catalog.search_models(query, self._models()) if query else self._models())

    # ---- jobs ------------------------------------------------------------------------------

    async def submit_job(self, request: web.Request) -> web.Response:
        """POST /api/print/job: validate like the cloud, then queue the job."""
        form = form_fields(request)
        box = self.box(form)
        port = self.port(box, form, "devicePort")
        file, urls = document(request)
        self.check_error_pause(box, check_job_fields(form, file, urls))
        if param_text(form, "reportDeviceStatus") != "0":
            if box.online is None:
                raise ApiRefusalError(5001, "设备未配网")
            if box.online == 0:
                raise ApiRefusalError(5002, "设备已离线，请检查云指示灯")
        printer = box.printer_for(port, param_text(form, "targetIp") or None)
        if param_text(form, "reportPrinterStatus") == "1" and (
            printer is None or not printer.plugged
        ):
            raise ApiRefusalError(5011, "该USB接口未插入打印机")
        if file is not None:
            pages, size = count_pages(*file), len(file[1])
        elif urls:
            pages, size = sum(map(url_pages, urls)), sum(map(url_bytes, urls))
        else:
            pages, size = 1, 0
        job = self.state.submit(
            box,
            port,
            printer,
            total_page=pages,
            file_total=size,
            callback_url=param_text(form, "callbackUrl") or None,
        )
        return ok({"task_id": job.task_id})

    async def job_status(self, request: web.Request) -> web.Response:
        """GET /api/print/job: the task's state, and its result once done."""
        params = query_params(request)
        return ok(self.job(self.box(params), params).status_data())

    async def cancel_job(self, request: web.Request) -> web.Response:
        """DELETE /api/print/job: revoke a task that has not ended."""
        params = query_params(request)
        job = self.job(self.box(params), params)
        if job.final:
            raise ApiRefusalError(BAD_PARAMETER, "任务已结束，无法撤回")
        self.state.cancel(job)
        return ok()

    async def query_device_task(self, request: web.Request) -> web.Response:
        """POST query_device_task: the box's tasks of the last day."""
        box = self.box(json_fields(request))
        return ok({"task_list": [job.task_row() for job in self.state.day_tasks(box)]})

    async def flush_jobs(self, request: web.Request) -> web.Response:
        """POST flush_jobs: drop the waiting jobs (of one port, or all), not the one printing."""
        body = json_fields(request)
        box = self.box(body)
        port = self.port(box, body, "devicePort") if param_text(body, "devicePort") else None
        return ok({"queue_num": self.state.flush(box, port)})

    async def file_pages(self, request: web.Request) -> web.Response:
        """POST file_pages: a document's page count, ``data.pages`` (slow: Timing.pages)."""
        form = form_fields(request)
        box = self.box(form)
        file, urls = document(request)
        if file is not None:
            if len(file[1]) > MAX_FILE_BYTES:
                raise ApiRefusalError(BAD_PARAMETER, "传入文件不得大于20M")
            pages, size = count_pages(*file), len(file[1])
        elif len(urls) == 1:
            pages, size = url_pages(urls[0]), url_bytes(urls[0])
        elif urls:
            raise ApiRefusalError(BAD_PARAMETER, "每次仅支持单个文件")
        else:
            raise ApiRefusalError(BAD_PARAMETER, "jobFile参数不能为空")
        port = self.port(box, form, "devicePort")
        if self.state.pages_as_task:
            job = self.state.submit(
                box, port, None, total_page=pages, file_total=size, pages_only=True
            )
            return ok({"task_id": job.task_id})
        await asyncio.sleep(self.state.timing.pages)
        return ok({"pages": pages})

    async def reset_error_limit(self, request: web.Request) -> web.Response:
        """POST reset_printing_error_limit: 10 calls a day; clears only when there are failures."""
        box = self.box(json_fields(request))
        await self.one_at_a_time(box, "reset", self.state.timing.answer)
        day = self.state.clock.today()
        if box.resets_on(day) >= RESETS_PER_DAY:
            raise ApiRefusalError(11200, "重置打印失败限制失败，当天重置次数超过限制")
        box.resets[day] = box.resets_on(day) + 1  # every call counts, 11201 too
        if box.failures == 0:
            raise ApiRefusalError(11201, "暂无打印失败记录，无法重置")
        box.failures = 0
        return ok()

    # ---- the box ---------------------------------------------------------------------------

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
