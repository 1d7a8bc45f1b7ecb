"""Typed results and requests of the Lianke API, one module per area.

Each model is a frozen dataclass with ``from_api()`` that does the wire-to-domain clean-up
(codes to words, ``null`` to ``None``, strings to numbers) in one place, so nothing downstream
touches raw JSON. ``values`` holds that clean-up; ``device``, ``printer``, ``job`` and
``print_request`` the models. Import them from here.
"""

from lianke_bridge.cloud.models.device import Credentials, DeviceInfo
from lianke_bridge.cloud.models.job import DeviceTask, FilePages, JobStatus
from lianke_bridge.cloud.models.print_request import (
    AUTO_SCALE_BY_SCALE,
    DEFAULT_SCALE,
    SCALE_BY_AUTO_SCALE,
    SUPPORTED_FILE_EXTS,
    JobFile,
    PrintRequest,
    auto_scale_for,
    is_supported_file_ext,
    normalise_file_ext,
    scale_for,
    url_path_ext,
    urls_file_ext,
)
from lianke_bridge.cloud.models.printer import (
    InkMarker,
    PaperSize,
    Printer,
    PrinterParams,
    PrinterStatus,
)
from lianke_bridge.cloud.models.values import as_mapping, int_or_none, parse_cloud_date

__all__ = [
    "AUTO_SCALE_BY_SCALE",
    "DEFAULT_SCALE",
    "SCALE_BY_AUTO_SCALE",
    "SUPPORTED_FILE_EXTS",
    "Credentials",
    "DeviceInfo",
    "DeviceTask",
    "FilePages",
    "InkMarker",
    "JobFile",
    "JobStatus",
    "PaperSize",
    "PrintRequest",
    "Printer",
    "PrinterParams",
    "PrinterStatus",
    "as_mapping",
    "auto_scale_for",
    "int_or_none",
    "is_supported_file_ext",
    "normalise_file_ext",
    "parse_cloud_date",
    "scale_for",
    "url_path_ext",
    "urls_file_ext",
]
