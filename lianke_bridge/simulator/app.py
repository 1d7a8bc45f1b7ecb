# ruff: noqa: RUF001 - the cloud's messages are Chinese, with full-width commas
"""The simulated Lianke cloud over HTTP: the 18 API calls, request recording, faults, admin.

Parameters are read only where the reference puts them (query string for GET and DELETE, form
fields for the print job and file_pages, a JSON body for the other POSTs), so a client that sends
them elsewhere is refused here as it would be by the real cloud.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, Self

from aiohttp import BodyPartReader, web

from lianke_bridge.cloud import codes
from lianke_bridge.cloud.models import SCALE_BY_AUTO_SCALE, is_supported_file_ext, parse_cloud_date
from lianke_bridge.simulator import catalog
from lianke_bridge.simulator.faults import Faults
from lianke_bridge.simulator.fleet import Fleet, demo_fleet, load_fleet
from lianke_bridge.simulator.state import (
    ERROR_LIMIT,
    MAX_FILE_BYTES,
    RESETS_PER_DAY,
    BoxRuntime,
    Job,
    SimState,
    Timing,
    count_pages,
    url_bytes,
    url_pages,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT = 8080
"""Where ``lianke-bridge simulate`` listens unless told otherwise."""
ADMIN_PREFIX = "/_sim/"
PHONE = re.compile(r"1[3-9]\d{9}")
"""A mainland Chinese mobile number (uninstall_driver_event's phone)."""
BAD_PARAMETER = 400
"""Not in the reference: a missing or malformed parameter (the message says which)."""
SCALE_WORDS = frozenset({"fit", "fitw", "fith", "fill", "cover", "none"})
"""jpScale's words (the reference); ``NN%`` is allowed too."""
PERCENT = re.compile(r"[1-9]\d{0,2}%")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RecordedRequest:
    """One API call as the simulator received it (secrets included: it is a test double)."""

    method: str
    path: str
    query: dict[str, str]
    fields: dict[str, Any]
    """Form fields or the JSON body; an uploaded file as ``{"filename": ..., "size": ...}``."""
    api_key: str | None


class ApiRefusalError(Exception):
    """An API answer with a code other than 200; raised by handlers, answered by middleware."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def ok(data: Any = None, *, msg: bool = True) -> web.Response:
    """``{"code": 200, "msg": "success", "data": ...}`` (no ``data`` when None).

    ``msg=False`` leaves ``msg`` out, as the reference's printer_list example does.
    """
    body: dict[str, Any] = {"code": 200, "msg": "success"} if msg else {"code": 200}
    if data is not None:
        body["data"] = data
    return web.json_response(body, dumps=_dumps)


def refusal(code: int, msg: str) -> web.Response:
    """An error answer: HTTP 200 with the API's own code, as the cloud does."""
    return web.json_response({"code": code, "msg": msg}, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# ---- parameters ---------------------------------------------------------------------------


def _query(request: web.Request) -> Mapping[str, str]:
    return request.query


@dataclass(frozen=True)
class Body:
    """A request's parsed body: form fields or a JSON object, and uploaded files aside."""

    kind: str | None
    """``form``, ``json`` or None (no body, or not a JSON object)."""
    fields: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    """Field name -> (filename, content)."""


BODY = web.RequestKey("lianke_sim_body", Body)
MAX_BODY = web.AppKey("lianke_sim_max_body", int)
MAX_BODY_BYTES = 64 * 1024 * 1024
"""The largest request body (aiohttp answers 413 above it)."""


def _form(request: web.Request) -> Mapping[str, Any]:
    body = request[BODY]
    return body.fields if body.kind == "form" else {}


def _json(request: web.Request) -> Mapping[str, Any]:
    body = request[BODY]
    return body.fields if body.kind == "json" else {}


def _document(request: web.Request) -> tuple[tuple[str, bytes] | None, list[str]]:
    """``jobFile``: an uploaded (filename, content), or the URLs of a text field."""
    urls = [u.strip() for u in _text(_form(request), "jobFile").split("\n") if u.strip()]
    return request[BODY].files.get("jobFile"), urls


def _text(params: Mapping[str, Any], name: str) -> str:
    """A parameter as text; a JSON object or list where a value belongs is refused (400)."""
    value = params.get(name)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ApiRefusalError(BAD_PARAMETER, f"{name}参数类型错误")
    return str(value).strip()


def _int(params: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    text = _text(params, name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ApiRefusalError(BAD_PARAMETER, f"{name}参数错误") from None


def _check_job_fields(
    form: Mapping[str, Any], file: tuple[str, bytes] | None, urls: list[str]
) -> int:
    """The print job's own fields as the reference requires them; returns errLimitNum."""
    ticket = _text(form, "taskTicket")
    if not (ticket or file or urls):
        raise ApiRefusalError(BAD_PARAMETER, "jobFile参数不能为空")
    if not ticket and _int(form, "dmPaperSize") is None:
        raise ApiRefusalError(BAD_PARAMETER, "dmPaperSize参数不能为空")
    if urls and not ticket and file is None:
        _check_url_file_ext(_text(form, "urlFileExt"))
    _check_scaling(_text(form, "jpScale"), _text(form, "jpAutoScale"))
    limit = _int(form, "errLimitNum", ERROR_LIMIT)
    if limit is None or not 1 <= limit <= ERROR_LIMIT:
        raise ApiRefusalError(BAD_PARAMETER, f"errLimitNum参数错误，取值范围为1-{ERROR_LIMIT}")
    return limit


def _check_url_file_ext(ext: str) -> None:
    """A job given by link needs urlFileExt, of a supported type (the jobFile row says so)."""
    if not ext:
        raise ApiRefusalError(BAD_PARAMETER, "使用链接时，需要额外传urlFileExt参数")
    if not is_supported_file_ext(ext):
        raise ApiRefusalError(BAD_PARAMETER, "urlFileExt参数错误，不支持该文件格式")


def _check_scaling(scale: str, auto_scale: str) -> None:
    """JpAutoScale is required (必填); jpScale stands in for it. Values as the reference lists."""
    if not scale and not auto_scale:
        raise ApiRefusalError(BAD_PARAMETER, "jpAutoScale参数不能为空")
    if scale and scale.lower() not in SCALE_WORDS and not PERCENT.fullmatch(scale):
        raise ApiRefusalError(BAD_PARAMETER, "jpScale参数错误")
    if auto_scale and auto_scale not in SCALE_BY_AUTO_SCALE and not PERCENT.fullmatch(auto_scale):
        raise ApiRefusalError(BAD_PARAMETER, "jpAutoScale参数错误")


class Api:
    """The handlers of the 18 calls, over one simulator's state."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.state = sim.state

    # ---- helpers ---------------------------------------------------------------------------

    def box(self, params: Mapping[str, Any]) -> BoxRuntime:
        """The box named by deviceId + deviceKey, or the cloud's 404."""
        box = self.state.boxes.get(_text(params, "deviceId"))
        if box is None or _text(params, "deviceKey") != box.spec.device_key:
            raise ApiRefusalError(404, "设备id或密码错误")
        return box

    def port(self, box: BoxRuntime, params: Mapping[str, Any], name: str) -> int:
        """A USB port number of the box (or 631, the network printers' port)."""
        given = _int(params, name)
        port = 1 if given is None else given
        if port != codes.NETWORK_PRINTER_PORT and not 1 <= port <= box.spec.usb_port_num:
            raise ApiRefusalError(BAD_PARAMETER, f"{name}参数错误")
        return port

    def job(self, box: BoxRuntime, params: Mapping[str, Any]) -> Job:
        """The task named by task_id, if it belongs to the box."""
        job = self.state.jobs.get(_text(params, "task_id"))
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
        params = _query(request)
        box = self.box(params)
        printer_type = _int(params, "printerType", codes.PrinterType.USB)
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
        model = _text(_query(request), "printerModel")
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
        query = _text(_json(request), "query")
        return ok(catalog.search_models(query, self._models()) if query else self._models())

    # ---- jobs ------------------------------------------------------------------------------

    async def submit_job(self, request: web.Request) -> web.Response:
        """POST /api/print/job: validate like the cloud, then queue the job."""
        form = _form(request)
        box = self.box(form)
        port = self.port(box, form, "devicePort")
        file, urls = _document(request)
        self.check_error_pause(box, _check_job_fields(form, file, urls))
        if _text(form, "reportDeviceStatus") != "0":
            if box.online is None:
                raise ApiRefusalError(5001, "设备未配网")
            if box.online == 0:
                raise ApiRefusalError(5002, "设备已离线，请检查云指示灯")
        printer = box.printer_for(port, _text(form, "targetIp") or None)
        if _text(form, "reportPrinterStatus") == "1" and (printer is None or not printer.plugged):
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
            callback_url=_text(form, "callbackUrl") or None,
        )
        return ok({"task_id": job.task_id})

    async def job_status(self, request: web.Request) -> web.Response:
        """GET /api/print/job: the task's state, and its result once done."""
        params = _query(request)
        return ok(self.job(self.box(params), params).status_data())

    async def cancel_job(self, request: web.Request) -> web.Response:
        """DELETE /api/print/job: revoke a task that has not ended."""
        params = _query(request)
        job = self.job(self.box(params), params)
        if job.final:
            raise ApiRefusalError(BAD_PARAMETER, "任务已结束，无法撤回")
        self.state.cancel(job)
        return ok()

    async def query_device_task(self, request: web.Request) -> web.Response:
        """POST query_device_task: the box's tasks of the last day."""
        box = self.box(_json(request))
        return ok({"task_list": [job.task_row() for job in self.state.day_tasks(box)]})

    async def flush_jobs(self, request: web.Request) -> web.Response:
        """POST flush_jobs: drop the waiting jobs (of one port, or all), not the one printing."""
        body = _json(request)
        box = self.box(body)
        port = self.port(box, body, "devicePort") if _text(body, "devicePort") else None
        return ok({"queue_num": self.state.flush(box, port)})

    async def file_pages(self, request: web.Request) -> web.Response:
        """POST file_pages: a document's page count, ``data.pages`` (slow: Timing.pages)."""
        form = _form(request)
        box = self.box(form)
        file, urls = _document(request)
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
        box = self.box(_json(request))
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
        box = self.box(_query(request))
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
        params = _query(request)
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
        box = self.box(_query(request))
        if box.refreshing:
            raise ApiRefusalError(401, "正在刷新中")
        await self.one_at_a_time(box, "refresh", self.state.timing.answer)
        if box.refreshing:
            raise ApiRefusalError(401, "正在刷新中")
        self.state.refresh(box)
        return ok()

    async def refresh_network_printer(self, request: web.Request) -> web.Response:
        """GET refresh_network_printer: how many network printers the box found."""
        box = self.box(_query(request))
        if box.online != 1:
            raise ApiRefusalError(5002, "设备已离线，请检查云指示灯")
        total = sum(1 for p in box.printers.values() if p.spec.is_network and p.plugged)
        return ok({"total": total})

    async def reboot(self, request: web.Request) -> web.Response:
        """POST async_device_reboot: offline for Timing.reboot; 401 meanwhile; 5002 offline."""
        box = self.box(_json(request))
        if box.rebooting:
            raise ApiRefusalError(401, "正在重启中")
        if box.online != 1:
            raise ApiRefusalError(5002, "设备已离线，请检查云指示灯")
        self.state.reboot(box)
        return ok()

    async def uninstall_driver_event(self, request: web.Request) -> web.Response:
        """POST uninstall_driver_event: an adaptation request; 403 for an invalid phone."""
        body = _json(request)
        self.box(body)
        if not PHONE.fullmatch(_text(body, "phone")):
            raise ApiRefusalError(403, "无效手机号")
        printer_id = _int(body, "printerId")
        if printer_id is None:
            raise ApiRefusalError(BAD_PARAMETER, "printerId参数不能为空")
        if printer_id < 1:
            raise ApiRefusalError(BAD_PARAMETER, "printerId参数错误")
        # Any printer id is taken (the reference's example sends "1"): it queues a request.
        return ok()


def _gateway(ip: str) -> str:
    parts = ip.split(".")
    return ".".join([*parts[:3], "1"]) if len(parts) == 4 else ""  # noqa: PLR2004 - IPv4


# ---- middleware and admin -----------------------------------------------------------------


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
BAD_BODY_MSG = "请求参数格式错误"
"""Not in the reference: the answer to a body that cannot be read (see ``_read_body``)."""
MAX_RECORDED_DEPTH = 16
"""Deeper parts of a recorded JSON body are shown as ``…`` (the log must stay printable)."""


class BadBodyError(Exception):
    """A request body the simulator cannot read as its content type says."""


async def _read_body(request: web.Request) -> Body:
    """Parse the body once: form (with files kept aside) or JSON; note which it was.

    Any body that cannot be read (a multipart without or with a wrong boundary, a truncated
    body, a part without a name, bytes that are not in the declared charset, an unknown
    charset, JSON nested too deep) is a ``BadBodyError``: the caller answers 400, never 500.
    """
    try:
        if request.content_type in FORM_TYPES:
            return await _read_form(request)
        if not request.body_exists:
            return Body(None, {}, {})
        raw = await request.read()
        parsed = json.loads(raw) if raw.strip() else None
    except web.HTTPException:
        raise  # 413 and the like: aiohttp's own 4xx answers
    except RecursionError as err:
        raise BadBodyError("nested too deep") from err
    except Exception as err:
        raise BadBodyError(type(err).__name__) from err
    if isinstance(parsed, dict):
        return Body("json", parsed, {})
    return Body(None, {}, {})


async def _read_form(request: web.Request) -> Body:
    if request.content_type == "application/x-www-form-urlencoded":
        return Body("form", dict((await request.post()).items()), {})
    return await _read_multipart(request)


async def _read_multipart(request: web.Request) -> Body:
    """Multipart, read part by part into memory, within the app's size limit.

    Not ``request.post()``: it leaves temporary files behind when a later part is broken.
    """
    fields: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    limit = request.app[MAX_BODY]
    total = 0
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise BadBodyError("a part without a name, or a nested multipart")
        content = bytearray()
        while chunk := await part.read_chunk():
            total += len(chunk)
            if total > limit:
                raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=total)
            content += chunk
        if part.filename is not None:
            files[part.name] = (part.filename, bytes(content))
        else:
            fields[part.name] = bytes(content).decode(part.get_charset(default="utf-8"))
    return Body("form", fields, files)


def _printable(value: Any, depth: int = 0) -> Any:
    """A recorded value that JSON can always show: no lone surrogates, no endless nesting."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if depth >= MAX_RECORDED_DEPTH and isinstance(value, dict | list):
        return "…"
    if isinstance(value, dict):
        return {_printable(str(k)): _printable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v, depth + 1) for v in value]
    return value


def _html_error(status: int, html: bool) -> web.Response:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if not html:
        return web.Response(status=status, text=f"{status} {phrase}")
    page = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=page, content_type="text/html")


class _Cloud:
    """The middleware in front of the API, and the admin endpoints."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record the call, apply request faults, check the ApiKey, answer refusals."""
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        sim = self.sim
        try:
            body, bad_body = await _read_body(request), False
        except BadBodyError:
            body, bad_body = Body(None, {}, {}), True
        request[BODY] = body
        recorded: dict[str, Any] = dict(body.fields)
        for name, (filename, content) in body.files.items():
            recorded[name] = {"filename": filename, "size": len(content)}
        sim.requests.append(
            RecordedRequest(
                method=request.method,
                path=_printable(request.path),
                query=_printable(dict(request.query)),
                fields=_printable(recorded),
                api_key=_printable(request.headers.get("ApiKey")),
            )
        )
        early = await self.request_faults(request)
        if early is not None:
            return early
        if request.headers.get("ApiKey") != sim.fleet.api_key:
            return refusal(10001, "ApiKey无效")
        if bad_body:
            return refusal(BAD_PARAMETER, BAD_BODY_MSG)
        try:
            return await handler(request)
        except ApiRefusalError as err:
            return refusal(err.code, err.msg)

    async def request_faults(self, request: web.Request) -> web.Response | None:
        """Drop, HTTP error, slow, API error: in that order; an answer ends the request."""
        faults = self.sim.faults
        if faults.take("drop", request.path):
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        error = faults.take("http_error", request.path)
        if error:
            return _html_error(error.status, error.html)
        slow = faults.take("slow", request.path)
        if slow:
            await asyncio.sleep(slow.seconds)
        api_error = faults.take("api_error", request.path)
        if api_error:
            return refusal(api_error.code, api_error.msg)
        return None

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
        return web.json_response([asdict(r) for r in self.sim.requests], dumps=_dumps)

    async def show_state(self, _request: web.Request) -> web.Response:
        """GET /_sim/state."""
        return web.json_response(self.sim.state.snapshot(), dumps=_dumps)


def _admin_error(message: str) -> web.Response:
    return web.json_response({"ok": False, "error": _printable(message)}, status=400, dumps=_dumps)


def build_app(sim: Simulator) -> web.Application:
    """The aiohttp application: API routes behind recording, faults and the ApiKey check."""
    api = Api(sim)
    cloud = _Cloud(sim)
    app = web.Application(middlewares=[cloud.middleware], client_max_size=MAX_BODY_BYTES)
    app[MAX_BODY] = MAX_BODY_BYTES
    routes = [
        web.get("/api/external_api/printer_list", api.printer_list),
        web.get("/api/print/printer_params", api.printer_params),
        web.get("/api/print/paper_dimension_list", api.paper_dimension_list),
        web.get("/api/print/printer_enum", api.printer_enum),
        web.post("/api/print/printer_enum", api.printer_enum_search),
        web.post("/api/print/job", api.submit_job),
        web.get("/api/print/job", api.job_status),
        web.delete("/api/print/job", api.cancel_job),
        web.get("/api/device/device_info", api.device_info),
        web.get("/api/device/printer_status", api.printer_status),
        # Lianke's own Python SDK asks printer_status with DELETE: answered the same.
        web.delete("/api/device/printer_status", api.printer_status),
        web.post("/api/print/query_device_task", api.query_device_task),
        web.post("/api/driver/uninstall_driver_event", api.uninstall_driver_event),
        web.get("/api/device/async_refresh_device_info", api.refresh_device_info),
        web.get("/api/printer/refresh_network_printer", api.refresh_network_printer),
        web.post("/api/print/file_pages", api.file_pages),
        web.post("/api/print/reset_printing_error_limit", api.reset_error_limit),
        web.post("/api/device/async_device_reboot", api.reboot),
        web.post("/api/print/flush_jobs", api.flush_jobs),
        web.post(ADMIN_PREFIX + "faults", cloud.add_fault),
        web.delete(ADMIN_PREFIX + "faults", cloud.clear_faults),
        web.get(ADMIN_PREFIX + "requests", cloud.list_requests),
        web.get(ADMIN_PREFIX + "state", cloud.show_state),
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
