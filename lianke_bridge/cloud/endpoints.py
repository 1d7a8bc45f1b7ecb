"""The reference's 18 method/path pairs, as the client sends them.

One line per call: the name errors, logs and ``stats`` give it, its method and path, and when it
may be repeated (:class:`~lianke_bridge.cloud.transport.Retry`). Where its parameters go follows
the reference: the query string of a GET or DELETE, the JSON body of a POST, a multipart form for
the print job and the page count. No I/O here; :mod:`~lianke_bridge.cloud.client` makes the calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from lianke_bridge.cloud.transport import Retry

_QUERY_METHODS = frozenset({"GET", "DELETE"})


@dataclass(frozen=True)
class Endpoint:
    """One method/path pair of the reference, and how the client sends it."""

    call: str
    """The name errors, logs and ``stats`` give the call."""
    method: str
    path: str
    retry: Retry
    """When the call may be repeated (only where repeating cannot do harm)."""
    multipart: bool = False
    """Its parameters go as a ``multipart/form-data`` form (the print job and the page count)."""

    @property
    def in_query(self) -> bool:
        """Its parameters go in the query string (a GET or DELETE), not in a body."""
        return self.method in _QUERY_METHODS


PRINTER_LIST = Endpoint("printer_list", "GET", "/api/external_api/printer_list", Retry.READ)
PRINTER_PARAMS = Endpoint("printer_params", "GET", "/api/print/printer_params", Retry.READ)
PAPER_SIZES = Endpoint("paper_dimension_list", "GET", "/api/print/paper_dimension_list", Retry.READ)
PRINTER_ENUM = Endpoint("printer_enum", "GET", "/api/print/printer_enum", Retry.READ)
PRINTER_SEARCH = Endpoint("printer_enum_search", "POST", "/api/print/printer_enum", Retry.READ)
PRINT_JOB = Endpoint("print_job", "POST", "/api/print/job", Retry.NEVER, multipart=True)
JOB_STATUS = Endpoint("job_status", "GET", "/api/print/job", Retry.READ)
CANCEL_JOB = Endpoint("cancel_job", "DELETE", "/api/print/job", Retry.ON_TOO_FREQUENT)
DEVICE_TASKS = Endpoint("query_device_task", "POST", "/api/print/query_device_task", Retry.READ)
FLUSH_JOBS = Endpoint("flush_jobs", "POST", "/api/print/flush_jobs", Retry.ON_TOO_FREQUENT)
RESET_ERROR_LIMIT = Endpoint(
    "reset_printing_error_limit",
    "POST",
    "/api/print/reset_printing_error_limit",
    Retry.ON_TOO_FREQUENT,
)
FILE_PAGES = Endpoint("file_pages", "POST", "/api/print/file_pages", Retry.NEVER, multipart=True)
DEVICE_INFO = Endpoint("device_info", "GET", "/api/device/device_info", Retry.READ)
PRINTER_STATUS = Endpoint("printer_status", "GET", "/api/device/printer_status", Retry.READ)
REQUEST_ADAPTATION = Endpoint(
    "uninstall_driver_event", "POST", "/api/driver/uninstall_driver_event", Retry.ON_TOO_FREQUENT
)
REFRESH_DEVICE_INFO = Endpoint(
    "async_refresh_device_info",
    "GET",
    "/api/device/async_refresh_device_info",
    Retry.ON_TOO_FREQUENT,
)
REFRESH_NETWORK_PRINTERS = Endpoint(
    "refresh_network_printer", "GET", "/api/printer/refresh_network_printer", Retry.ON_TOO_FREQUENT
)
REBOOT = Endpoint(
    "async_device_reboot", "POST", "/api/device/async_device_reboot", Retry.ON_TOO_FREQUENT
)
