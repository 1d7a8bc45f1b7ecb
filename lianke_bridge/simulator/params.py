# ruff: noqa: RUF001 - the cloud's messages are Chinese, with full-width commas
"""The parameters of a call, read only where the reference puts them, and checked as it says.

Query string for GET and DELETE, form fields for the print job and file_pages, a JSON body
for the other POSTs: a client that sends them elsewhere is refused, as by the real cloud.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from lianke_bridge.cloud.models import SCALE_BY_AUTO_SCALE, is_supported_file_ext
from lianke_bridge.simulator.answers import BAD_PARAMETER, ApiRefusalError
from lianke_bridge.simulator.bodies import BODY
from lianke_bridge.simulator.boxes import ERROR_LIMIT

PHONE = re.compile(r"1[3-9]\d{9}")
"""A mainland Chinese mobile number (uninstall_driver_event's phone)."""
SCALE_WORDS = frozenset({"fit", "fitw", "fith", "fill", "cover", "none"})
"""jpScale's words (the reference); ``NN%`` is allowed too."""
PERCENT = re.compile(r"[1-9]\d{0,2}%")


def query_params(request: web.Request) -> Mapping[str, str]:
    """The query string: where GET and DELETE calls carry their parameters."""
    return request.query


def form_fields(request: web.Request) -> Mapping[str, Any]:
    """The form fields (print job, file_pages); empty when the body is no form."""
    body = request[BODY]
    return body.fields if body.kind == "form" else {}


def json_fields(request: web.Request) -> Mapping[str, Any]:
    """The JSON object of the other POSTs; empty when the body is no JSON object."""
    body = request[BODY]
    return body.fields if body.kind == "json" else {}


def document(request: web.Request) -> tuple[tuple[str, bytes] | None, list[str]]:
    """``jobFile``: an uploaded (filename, content), or the URLs of a text field."""
    urls = [u.strip() for u in param_text(form_fields(request), "jobFile").split("\n") if u.strip()]
    return request[BODY].files.get("jobFile"), urls


def param_text(params: Mapping[str, Any], name: str) -> str:
    """A parameter as text; a JSON object or list where a value belongs is refused (400)."""
    value = params.get(name)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ApiRefusalError(BAD_PARAMETER, f"{name}参数类型错误")
    return str(value).strip()


def param_int(params: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    """A whole-number parameter, ``default`` when absent; anything else is refused (400)."""
    text = param_text(params, name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ApiRefusalError(BAD_PARAMETER, f"{name}参数错误") from None


def check_job_fields(
    form: Mapping[str, Any], file: tuple[str, bytes] | None, urls: list[str]
) -> int:
    """The print job's own fields as the reference requires them; returns errLimitNum."""
    ticket = param_text(form, "taskTicket")
    if not (ticket or file or urls):
        raise ApiRefusalError(BAD_PARAMETER, "jobFile参数不能为空")
    if not ticket and param_int(form, "dmPaperSize") is None:
        raise ApiRefusalError(BAD_PARAMETER, "dmPaperSize参数不能为空")
    if urls and not ticket and file is None:
        check_url_file_ext(param_text(form, "urlFileExt"))
    check_scaling(param_text(form, "jpScale"), param_text(form, "jpAutoScale"))
    limit = param_int(form, "errLimitNum", ERROR_LIMIT)
    if limit is None or not 1 <= limit <= ERROR_LIMIT:
        raise ApiRefusalError(BAD_PARAMETER, f"errLimitNum参数错误，取值范围为1-{ERROR_LIMIT}")
    return limit


def check_url_file_ext(ext: str) -> None:
    """A job given by link needs urlFileExt, of a supported type (the jobFile row says so)."""
    if not ext:
        raise ApiRefusalError(BAD_PARAMETER, "使用链接时，需要额外传urlFileExt参数")
    if not is_supported_file_ext(ext):
        raise ApiRefusalError(BAD_PARAMETER, "urlFileExt参数错误，不支持该文件格式")


def check_scaling(scale: str, auto_scale: str) -> None:
    """JpAutoScale is required (必填); jpScale stands in for it. Values as the reference lists."""
    if not scale and not auto_scale:
        raise ApiRefusalError(BAD_PARAMETER, "jpAutoScale参数不能为空")
    if scale and scale.lower() not in SCALE_WORDS and not PERCENT.fullmatch(scale):
        raise ApiRefusalError(BAD_PARAMETER, "jpScale参数错误")
    if auto_scale and auto_scale not in SCALE_BY_AUTO_SCALE and not PERCENT.fullmatch(auto_scale):
        raise ApiRefusalError(BAD_PARAMETER, "jpAutoScale参数错误")
