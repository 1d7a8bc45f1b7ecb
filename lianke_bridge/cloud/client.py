"""The async client of the Lianke cloud API v3 (all 18 method/path pairs of the reference).

Polite by construction, because the real cloud bans keys and IPs that hammer it:

- one ``aiohttp`` session reused for every call, the ``ApiKey`` header on every call
  (:mod:`~lianke_bridge.cloud.transport`);
- a client-wide token bucket (``rate_limit`` calls per second) that serves commands ahead of
  polls (:func:`~lianke_bridge.cloud.limiter.background_calls`);
- at most one ``printer_status`` in flight per box (the API allows one), the same printer asked
  again only ``status_spacing`` seconds after its last answer (the cloud answers 10009 sooner),
  and one maintenance call (reboot, error-limit reset, device refresh) per box;
- ``printer_params`` and ``paper_dimension_list`` cached per printer model (the reference asks,
  :mod:`~lianke_bridge.cloud.cache`);
- retries with exponential backoff and jitter only where repeating cannot do harm: reads on
  transport errors, HTTP 5xx and 10009; writes only on 10009 (the cloud refused before acting);
  a print job and a page count are never retried (a retry could print twice, and the reference
  forbids retrying a failing file blindly).

This module holds one method per endpoint of :mod:`~lianke_bridge.cloud.endpoints`, each stating
only its parameters and its answer's model: ``_endpoint_call`` adds the box's credentials. Errors
come from one tree (:mod:`lianke_bridge.errors`) and name the call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, Unpack

import aiohttp

from lianke_bridge import errors
from lianke_bridge.cloud import codes, endpoints
from lianke_bridge.cloud.firmware import refresh_needed
from lianke_bridge.cloud.models import (
    Credentials,
    DeviceInfo,
    DeviceTask,
    FilePages,
    JobFile,
    JobStatus,
    PaperSize,
    Printer,
    PrinterParams,
    PrinterStatus,
    PrintRequest,
    as_mapping,
    int_or_none,
    normalise_file_ext,
    url_path_ext,
)
from lianke_bridge.cloud.transport import CloudTransport

_LOGGER = logging.getLogger(__name__)

MAX_FILE_PAGES_BYTES = 20 * 1024 * 1024
"""file_pages refuses files above 20 MiB (the reference's 20 MB)."""
STATUS_TIMEOUT_FACTOR = 2.0
"""printer_status asks the printer live and is slow: it gets twice the normal timeout."""


class PageDocument(TypedDict, total=False):
    """The document of a page count: what :meth:`LiankeClient.file_pages` takes."""

    urls: Iterable[str]
    file: JobFile | None
    port: int
    printer_model: str | None
    paper_size: int | None
    url_file_ext: str | None


class LiankeClient(CloudTransport):
    """The Lianke cloud, as typed async calls.

    Use it as ``async with LiankeClient(api_key) as client:`` or call ``close()``; a session
    passed in is borrowed and left open.
    """

    callback_url: str | None = None
    """Sent as ``callbackUrl`` with every print that names none of its own: where the cloud
    POSTs the job's result (https only). Secret: never logged, never in an error."""

    def __repr__(self) -> str:
        return f"LiankeClient(base_url={self.base_url!r})"

    # ------------------------------------------------------------------ printers and models

    async def printer_list(
        self, creds: Credentials, printer_type: codes.PrinterType = codes.PrinterType.ALL
    ) -> list[Printer]:
        """The printers on the box's USB ports and/or its LAN (``printerType`` 1, 2 or 3)."""
        data = await self._endpoint_call(
            endpoints.PRINTER_LIST, creds, {"printerType": str(int(printer_type))}
        )
        rows = as_mapping(data).get("row") or []
        return [Printer.from_api(row) for row in rows if isinstance(row, Mapping)]

    async def printer_params(self, model: str) -> PrinterParams:
        """Capabilities and defaults of a printer model; cached per model."""

        async def fetch() -> PrinterParams:
            data = await self._endpoint_call(
                endpoints.PRINTER_PARAMS, fields={"printerModel": model}
            )
            return PrinterParams.from_api(model, as_mapping(data))

        result: PrinterParams = await self._cache.get("printer_params", model, fetch)
        return result

    async def paper_sizes(self, model: str) -> list[PaperSize]:
        """Paper sizes of a printer model (0.1 mm; ``paper_id`` is ``dmPaperSize``); cached."""

        async def fetch() -> tuple[PaperSize, ...]:
            data = await self._endpoint_call(endpoints.PAPER_SIZES, fields={"printerModel": model})
            return tuple(
                PaperSize.from_api(str(name), entry)
                for name, entry in as_mapping(data).items()
                if isinstance(entry, Mapping)
            )

        sizes: tuple[PaperSize, ...] = await self._cache.get("paper_sizes", model, fetch)
        return list(sizes)

    async def printer_models(self, query: str | None = None) -> list[str]:
        """Every printer model the cloud supports, or those matching ``query`` (fuzzy search)."""
        if query is None:
            data = await self._endpoint_call(endpoints.PRINTER_ENUM)
        else:
            data = await self._endpoint_call(endpoints.PRINTER_SEARCH, fields={"query": query})
        return [str(name) for name in data] if isinstance(data, list) else []

    # ------------------------------------------------------------------ print jobs

    async def submit_job(self, creds: Credentials, request: PrintRequest) -> str:
        """Submit a print job; returns its ``task_id`` at once. Never retried automatically."""
        if not (request.urls or request.file or request.task_ticket):
            raise ValueError("a print job needs a file, URLs or a task ticket")
        if request.urls and request.file:
            raise ValueError("a print job takes either a file or URLs, not both")
        if request.urls and request.file_ext_for_urls is None:
            raise ValueError(
                "a print job given by URL needs urlFileExt (url_file_ext): "
                "the links' paths do not end in one supported type"
            )
        if request.callback_url is None and self.callback_url is not None:
            request = dataclasses.replace(request, callback_url=self.callback_url)
        if request.callback_url and not request.callback_url.startswith("https://"):
            raise ValueError("callbackUrl must be an https:// link (the cloud calls no other)")
        data = await self._endpoint_call(
            endpoints.PRINT_JOB, creds, request.to_form(), upload=request.file
        )
        task_id = as_mapping(data).get("task_id")
        if not task_id:
            raise errors.CloudResponseError(
                "the cloud accepted the job but sent no task_id", call="print_job", http_status=200
            )
        return str(task_id)

    async def job_status(self, creds: Credentials, task_id: str, port: int = 1) -> JobStatus:
        """Where a task is (READY … SUCCESS/FAILURE/REVOKED) and its result once done."""
        data = await self._endpoint_call(endpoints.JOB_STATUS, creds, _job(task_id, port))
        return JobStatus.from_api(task_id, as_mapping(data))

    async def cancel_job(self, creds: Credentials, task_id: str, port: int = 1) -> None:
        """Ask the cloud to revoke a task (it goes SET_REVOKE, then REVOKED)."""
        await self._endpoint_call(endpoints.CANCEL_JOB, creds, _job(task_id, port))

    async def device_tasks(self, creds: Credentials) -> list[DeviceTask]:
        """The box's tasks of the last day, newest first as the cloud sends them."""
        data = await self._endpoint_call(endpoints.DEVICE_TASKS, creds)
        rows = as_mapping(data).get("task_list") or []
        return [DeviceTask.from_api(row) for row in rows if isinstance(row, Mapping)]

    async def flush_jobs(self, creds: Credentials, port: int = 1) -> int:
        """Drop the jobs queued for a port (not the one printing); returns how many were queued."""
        data = await self._endpoint_call(endpoints.FLUSH_JOBS, creds, {"devicePort": port})
        return _int(as_mapping(data).get("queue_num"))

    async def reset_error_limit(self, creds: Credentials, port: int = 1) -> None:
        """Lift the pause after too many failed jobs (11203); at most 10 a day per box."""
        async with self._box_lock(creds, "control"):
            await self._endpoint_call(endpoints.RESET_ERROR_LIMIT, creds, {"devicePort": str(port)})

    # ------------------------------------------------------------------ page counting

    async def file_pages(
        self,
        creds: Credentials,
        *,
        urls: Iterable[str] = (),
        file: JobFile | None = None,
        port: int = 1,
        printer_model: str | None = None,
        paper_size: int | None = None,
        url_file_ext: str | None = None,
    ) -> FilePages:
        """Ask the cloud to count a document's pages (one file or one URL). Never retried.

        The answer may carry the count, or only a ``task_id`` to follow (see ``count_pages``).
        """
        links = tuple(urls)
        if bool(links) == bool(file) or len(links) > 1:
            raise ValueError("file_pages takes exactly one document: one file or one URL")
        if file is not None and len(file.content) > MAX_FILE_PAGES_BYTES:
            raise ValueError("file_pages accepts files up to 20 MiB")
        fields = {"devicePort": str(port)}
        if printer_model is not None:
            fields["printerModel"] = printer_model
        if paper_size is not None:
            fields["dmPaperSize"] = str(paper_size)
        if links:
            fields["jobFile"] = links[0]
            ext = normalise_file_ext(url_file_ext) if url_file_ext else url_path_ext(links[0])
            if ext is not None:
                fields["urlFileExt"] = ext

        data = await self._endpoint_call(endpoints.FILE_PAGES, creds, fields, upload=file)
        result = FilePages.from_api(as_mapping(data))
        if result.task_id is None and result.pages is None:
            raise errors.CloudResponseError(
                "the answer has neither a page count nor a task_id",
                call="file_pages",
                http_status=200,
            )
        return result

    async def count_pages(
        self,
        creds: Credentials,
        *,
        poll_interval: float = 1.0,
        timeout: float = 60.0,  # noqa: ASYNC109 - a deadline for the whole count, named as the bridge expects
        **document: Unpack[PageDocument],
    ) -> int:
        """The page count of a document: ``file_pages``, then its task followed to the end.

        ``document`` takes the same keywords as :meth:`file_pages`.
        """
        started = await self.file_pages(creds, **document)
        port = document.get("port", 1)
        if started.pages is not None:
            return started.pages
        task_id = str(started.task_id)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    status = await self.job_status(creds, task_id, port)
                    if status.task_state.is_final:
                        break
                    await asyncio.sleep(poll_interval)
        except TimeoutError as err:
            raise errors.CloudTimeoutError(
                f"no page count after {timeout:g} s (task {task_id})", call="file_pages"
            ) from err
        if status.state is codes.JobState.SUCCEEDED and status.total_pages is not None:
            return status.total_pages
        if status.result_code is not None and status.result_code != codes.SUCCESS:
            raise codes.error_for_code(status.result_code, status.result_message, call="file_pages")
        raise errors.CloudResponseError(
            f"page counting ended {status.task_state.value} without a page count",
            call="file_pages",
            http_status=200,
        )

    # ------------------------------------------------------------------ the box

    async def device_info(self, creds: Credentials) -> DeviceInfo:
        """Online state, subscription, USB ports, firmware and network of the box."""
        data = await self._endpoint_call(endpoints.DEVICE_INFO, creds)
        return DeviceInfo.from_api(as_mapping(data))

    async def printer_status(self, creds: Credentials, port: int) -> PrinterStatus:
        """A live reading of a printer's sensors; one at a time per box, slow by nature."""
        async with self._spaced_status(creds, port):
            data = await self._endpoint_call(
                endpoints.PRINTER_STATUS,
                creds,
                {"usbPort": str(port)},
                time_limit=self.timeout * STATUS_TIMEOUT_FACTOR,
            )
        return PrinterStatus.from_api(as_mapping(data))

    async def request_adaptation(self, creds: Credentials, printer_id: int, phone: str) -> None:
        """Ask Lianke to adapt a driver for an unsupported printer (they text ``phone``)."""
        await self._endpoint_call(
            endpoints.REQUEST_ADAPTATION, creds, {"printerId": str(printer_id), "phone": phone}
        )

    async def refresh_device_info(self, creds: Credentials, firmware: str | None = None) -> bool:
        """The deprecated refresh; skipped (False) on firmware 2.1.112 and later.

        Without ``firmware`` the box's version is read with ``device_info`` first.
        """
        if firmware is None:
            firmware = (await self.device_info(creds)).firmware
        if not refresh_needed(firmware):
            _LOGGER.debug("device refresh skipped: firmware %s does it by itself", firmware)
            return False
        async with self._box_lock(creds, "control"):
            await self._endpoint_call(endpoints.REFRESH_DEVICE_INFO, creds)
        return True

    async def refresh_network_printers(self, creds: Credentials) -> int:
        """Rescan the box's LAN for network printers; returns how many were found."""
        data = await self._endpoint_call(endpoints.REFRESH_NETWORK_PRINTERS, creds)
        if isinstance(data, Mapping):
            return _int(data.get("total"))
        return _int(data)

    async def reboot(self, creds: Credentials) -> None:
        """Reboot the box (asynchronous: it cannot print for a while)."""
        async with self._box_lock(creds, "control"):
            await self._endpoint_call(endpoints.REBOOT, creds)

    # ------------------------------------------------------------------ one call

    async def _endpoint_call(
        self,
        endpoint: endpoints.Endpoint,
        creds: Credentials | None = None,
        fields: Mapping[str, Any] | None = None,
        *,
        upload: JobFile | None = None,
        time_limit: float | None = None,
    ) -> Any:
        """One call: ``fields``, after the box's credentials if any, where the endpoint takes them.

        A box's deviceKey is kept out of error messages, and a refusal of it is remembered by the
        box's id; ``upload`` is the ``jobFile`` of a multipart form.
        """
        sent = {**(creds.as_params() if creds else {}), **(fields or {})}

        def form() -> aiohttp.FormData:
            return _multipart(sent, upload)

        in_body = not (endpoint.in_query or endpoint.multipart)
        return await self._call(
            endpoint.call,
            endpoint.method,
            endpoint.path,
            retry=endpoint.retry,
            params=(sent or None) if endpoint.in_query else None,  # printer_enum has no query
            json_body=sent if in_body else None,
            form=form if endpoint.multipart else None,
            secret=creds.device_key if creds else None,
            device=creds.device_id if creds else None,
            time_limit=time_limit,
        )


def _multipart(fields: Mapping[str, str], file: JobFile | None) -> aiohttp.FormData:
    """The form as ``multipart/form-data`` (what the reference says), with the file if any."""
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, value)
    if file is not None:
        # a file object is streamed in chunks; raw bytes of several MiB would be written in one
        # go (aiohttp warns that this blocks the event loop above 1 MiB)
        form.add_field(
            "jobFile",
            io.BytesIO(file.content),
            filename=file.filename,
            content_type=file.content_type,
        )
    return form


def _job(task_id: str, port: int) -> dict[str, str]:
    """The fields that name a task (with the box's credentials, in the query)."""
    return {"devicePort": str(port), "task_id": task_id}


def _int(value: object) -> int:
    return int_or_none(value) or 0
