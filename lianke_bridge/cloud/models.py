"""Typed results of the Lianke API.

Each model is a frozen dataclass with ``from_api()`` that does the wire-to-domain clean-up
(codes to words, ``null`` to ``None``, strings to numbers) in one place, so nothing downstream
touches raw JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from lianke_bridge.cloud import codes


def int_or_none(value: object) -> int | None:
    """An API number (the cloud sends some as strings), or None when it is not one."""
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


def _str_or_none(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def as_mapping(value: object) -> Mapping[str, Any]:
    """An API object, or an empty one when the cloud sent something else (null, a list)."""
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Credentials:
    """A box's cloud account: the two halves of its QR token."""

    device_id: str
    device_key: str = field(repr=False)

    def as_params(self) -> dict[str, str]:
        """The two fields every per-box call carries."""
        return {"deviceId": self.device_id, "deviceKey": self.device_key}


@dataclass(frozen=True)
class InkMarker:
    """One ink or toner cartridge a network printer reports in ``markers``."""

    name: str
    """The cartridge's name as the printer reports it (``Black``, ``Cyan``…)."""
    level: int | None
    """Fill level in percent, if known."""
    color: str | None = None
    """The printer's colour hint (``#000000``), if any."""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> InkMarker:
        """Parse one marker; the API's key names vary, so accept the common spellings."""
        name = data.get("name") or data.get("marker_name") or data.get("type") or "ink"
        level = int_or_none(data.get("level", data.get("marker_level")))
        return cls(name=str(name), level=level, color=_str_or_none(data.get("color")))


@dataclass(frozen=True)
class Printer:
    """One row of ``printer_list``: a printer on a USB port or the box's LAN."""

    id: int | None
    """The cloud's printer id (``printerId`` of an adaptation request)."""
    port: int
    """The port as printer_list reports it (631 for network printers)."""
    name: str
    """``printer_name``: the printer's own model name."""
    model: str
    """``driver_name``: what print calls take as ``printerModel``."""
    driver_type: codes.DriverType
    is_printer: bool
    support_status: bool
    """Whether ``printer_status`` can be asked for this printer."""
    kind: codes.PrinterKind
    printer_state: str | None
    """The list's own coarse state (``idle``, ``printing``, ``stopped``, ``outOfPaper``…)."""
    ip_addr: str | None = None
    """Network printers only."""
    markers: tuple[InkMarker, ...] = ()
    """Network printers only: ink or toner levels."""

    @property
    def is_network(self) -> bool:
        """Network printers have an IP address or the IPP port."""
        return self.ip_addr is not None or self.port == codes.NETWORK_PRINTER_PORT

    @property
    def device_port(self) -> int:
        """The ``devicePort`` to send jobs to: 1 for a network printer (the API's rule)."""
        return 1 if self.port == codes.NETWORK_PRINTER_PORT else self.port

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> Printer:
        """Parse a printer_list row (``species`` or ``printer_species``; ``drivce_name`` typo)."""
        species = row.get("species", row.get("printer_species"))
        markers = row.get("markers") or ()
        model = row.get("driver_name") or row.get("drivce_name") or row.get("printer_name") or ""
        return cls(
            id=int_or_none(row.get("id")),
            port=int_or_none(row.get("port")) or 1,
            name=str(row.get("printer_name") or model),
            model=str(model),
            driver_type=codes.driver_type(row.get("driver_type")),
            is_printer=row.get("isPrinter") in (1, "1", True),
            support_status=bool(row.get("support_status")),
            kind=codes.printer_kind(species),
            printer_state=_str_or_none(row.get("printer_state")),
            ip_addr=_str_or_none(row.get("ip_addr")),
            markers=tuple(InkMarker.from_api(m) for m in markers if isinstance(m, Mapping)),
        )


@dataclass(frozen=True)
class PrinterParams:
    """``printer_params`` of one printer model: what a job may ask for, and the defaults."""

    model: str
    papers: Mapping[str, int]
    """Paper name -> ``dmPaperSize`` (names are stripped of stray whitespace)."""
    bins: Mapping[str, int]
    colors: Mapping[str, int]
    duplex: Mapping[str, int]
    orientations: Mapping[str, int]
    media_types: Mapping[str, int]
    max_copies: int | None
    default_paper: int | None
    default_color: int | None
    default_duplex: int | None
    default_orientation: int | None
    default_source: int | None

    @property
    def supports_color(self) -> bool:
        """Colour is value 2 in ``Capabilities.Color``."""
        return 2 in self.colors.values()  # noqa: PLR2004 - the API's colour value

    @property
    def supports_duplex(self) -> bool:
        """Long or short edge (2, 3) are offered."""
        return any(v in (2, 3) for v in self.duplex.values())

    @classmethod
    def from_api(cls, model: str, data: Mapping[str, Any]) -> PrinterParams:
        """Parse the Capabilities and DevMode blocks."""
        caps = as_mapping(data.get("Capabilities"))
        dev = as_mapping(data.get("DevMode"))

        def table(key: str) -> dict[str, int]:
            out: dict[str, int] = {}
            for name, value in as_mapping(caps.get(key)).items():
                number = int_or_none(value)
                if number is not None:
                    out[str(name).strip()] = number
            return out

        return cls(
            model=model,
            papers=table("Papers"),
            bins=table("Bins"),
            colors=table("Color"),
            duplex=table("Duplex"),
            orientations=table("Orientation"),
            media_types=table("MediaTypes"),
            max_copies=int_or_none(caps.get("Copies")),
            default_paper=int_or_none(dev.get("PaperSize")),
            default_color=int_or_none(dev.get("Color")),
            default_duplex=int_or_none(dev.get("Duplex")),
            default_orientation=int_or_none(dev.get("Orientation")),
            default_source=int_or_none(dev.get("DefaultSource")),
        )


@dataclass(frozen=True)
class PaperSize:
    """One entry of ``paper_dimension_list``; sizes in 0.1 mm."""

    name: str
    paper_id: int
    physical_width: int
    physical_height: int
    printable_width: int
    printable_height: int

    @classmethod
    def from_api(cls, name: str, data: Mapping[str, Any]) -> PaperSize:
        """Parse one named size."""
        return cls(
            name=name.strip(),
            paper_id=int_or_none(data.get("paper_id")) or 0,
            physical_width=int_or_none(data.get("physical_width")) or 0,
            physical_height=int_or_none(data.get("physical_height")) or 0,
            printable_width=int_or_none(data.get("printable_width")) or 0,
            printable_height=int_or_none(data.get("printable_height")) or 0,
        )


@dataclass(frozen=True)
class DeviceInfo:
    """``device_info``: the box's cloud connection, subscription, hardware and network."""

    online: codes.OnlineState
    expire_date: str | None
    """As the cloud writes it (``2024年8月25日``); see ``expire_iso``."""
    is_expired: bool
    usb_ports: int
    device_type: int | None
    hardware: str | None
    firmware: str | None
    lan_ip: str | None
    wwan_ip: str | None

    @property
    def is_online(self) -> bool:
        """Only ``online == 1`` counts as online."""
        return self.online is codes.OnlineState.ONLINE

    @property
    def ip(self) -> str | None:
        """The address the box reports: Wi-Fi/WAN first, then LAN (169.254.x is link-local)."""
        for address in (self.wwan_ip, self.lan_ip):
            if address and not address.startswith("169.254."):
                return address
        return self.wwan_ip or self.lan_ip

    @property
    def expire_iso(self) -> str | None:
        """``2024年8月25日`` (or ``2024-08-25``) as ISO ``2024-08-25``; None if unparseable."""
        return parse_cloud_date(self.expire_date)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> DeviceInfo:
        """Parse ``info``, ``network`` and ``version``."""
        info = as_mapping(data.get("info"))
        network = as_mapping(data.get("network"))
        version = as_mapping(data.get("version"))
        return cls(
            online=codes.online_state(info.get("online")),
            expire_date=_str_or_none(info.get("expire_date")),
            is_expired=bool(info.get("is_expire")),
            usb_ports=int_or_none(info.get("usb_port_num")) or 0,
            device_type=int_or_none(info.get("device_type")),
            hardware=_str_or_none(version.get("hardware")),
            firmware=_str_or_none(version.get("software")),
            lan_ip=_str_or_none(as_mapping(network.get("lan")).get("ipaddr")),
            wwan_ip=_str_or_none(as_mapping(network.get("wwan")).get("ipaddr")),
        )


def parse_cloud_date(value: str | None) -> str | None:
    """Turn ``2024年8月25日`` or ``2024-8-25`` into ``2024-08-25``."""
    if not value:
        return None
    cleaned = value.replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-")
    parts = cleaned.strip().split(" ")[0].split("-")
    try:
        year, month, day = (int(p) for p in parts[:3])
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


@dataclass(frozen=True)
class PrinterStatus:
    """``printer_status``: a live reading of one printer's sensors."""

    head_opened: bool
    paper_jam: bool
    out_of_paper: bool
    out_of_ribbon: bool
    out_of_ink: bool
    paused: bool
    printing: bool
    message: str | None
    status_code: str | None
    error_code: str | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> PrinterStatus:
        """Parse the booleans; missing ones (some models omit fields) are False."""
        return cls(
            head_opened=bool(data.get("headOpened")),
            paper_jam=bool(data.get("paperJam")),
            out_of_paper=bool(data.get("outOfPaper")),
            out_of_ribbon=bool(data.get("outOfRibbon")),
            out_of_ink=bool(data.get("outOfInk")),
            paused=bool(data.get("pause")),
            printing=bool(data.get("printing")),
            message=_str_or_none(data.get("msg")),
            status_code=_str_or_none(data.get("statusCode")),
            error_code=_str_or_none(data.get("errCode")),
        )


@dataclass(frozen=True)
class JobStatus:
    """``GET /api/print/job``: where a task is, and its result once done."""

    task_id: str
    task_state: codes.TaskState
    result_code: int | None
    result_message: str | None
    total_pages: int | None
    file_total: int | None
    send_total: int | None
    done_time: str | None
    preview_url: str | None = None

    @property
    def state(self) -> codes.JobState:
        """The contract's word for it (SUCCESS with a non-200 result is a failure)."""
        return codes.job_state(self.task_state, self.result_code)

    @classmethod
    def from_api(cls, task_id: str, data: Mapping[str, Any]) -> JobStatus:
        """Parse task_state and task_result."""
        result = as_mapping(data.get("task_result"))
        result_data = as_mapping(result.get("data"))
        preview = result_data.get("preview") or result_data.get("preview_url")
        return cls(
            task_id=task_id,
            task_state=codes.TaskState.parse(data.get("task_state")),
            result_code=int_or_none(result.get("code")),
            result_message=_str_or_none(result.get("msg")),
            total_pages=int_or_none(result_data.get("total_page")),
            file_total=int_or_none(result_data.get("file_total")),
            send_total=int_or_none(result_data.get("send_total")),
            done_time=_str_or_none(data.get("task_done_time")),
            preview_url=_str_or_none(preview),
        )


@dataclass(frozen=True)
class DeviceTask:
    """One row of ``query_device_task``: a task of the box's last day."""

    task_id: str
    task_state: codes.TaskState
    result_code: int | None
    result_message: str | None
    created_at: str | None
    updated_at: str | None

    @property
    def state(self) -> codes.JobState:
        """The contract's word for it."""
        return codes.job_state(self.task_state, self.result_code)

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> DeviceTask:
        """Parse a task_list row."""
        result = as_mapping(row.get("result"))
        return cls(
            task_id=str(row.get("task_id", "")),
            task_state=codes.TaskState.parse(row.get("status")),
            result_code=int_or_none(result.get("code")),
            result_message=_str_or_none(result.get("msg")),
            created_at=_str_or_none(row.get("create_at")),
            updated_at=_str_or_none(row.get("updated_at")),
        )


@dataclass(frozen=True)
class FilePages:
    """``file_pages``: the page count of a document.

    The cloud answers the count itself, ``{"code": 200, "data": {"pages": 3}}`` (what public
    code calling the real cloud reads). The reference's example script stores a ``task_id``
    instead, copied from the print job's: should an answer ever carry only that, the count is
    the task's ``task_result.data.total_page`` (see ``LiankeClient.count_pages``).
    """

    task_id: str | None
    pages: int | None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> FilePages:
        """Parse ``task_id`` and whichever page field the answer carries."""
        pages = data.get("pages", data.get("total_page", data.get("page_num")))
        return cls(task_id=_str_or_none(data.get("task_id")), pages=int_or_none(pages))


AUTO_SCALE_BY_SCALE: Mapping[str, str] = {
    "fit": "4",
    "fitw": "1",
    "fith": "2",
    "fill": "3",
    "cover": "4",
    "none": "0",
}
"""``jpScale`` word -> the ``jpAutoScale`` number the reference gives for the same scaling.

``cover`` (crop to fill the paper) has no ``jpAutoScale`` number; it maps to 4, fit: the cloud
uses ``jpScale`` when it knows it, and a cloud that only reads ``jpAutoScale`` then neither crops
nor distorts the page.
"""
SCALE_BY_AUTO_SCALE: Mapping[str, str] = {
    "4": "fit",
    "1": "fitw",
    "2": "fith",
    "3": "fill",
    "0": "none",
}
"""``jpAutoScale`` number -> ``jpScale`` word (the inverse, without ``cover``)."""
DEFAULT_SCALE = "fit"
"""The reference's recommended scaling (``jpAutoScale`` 4, 自适应)."""


def auto_scale_for(scale: str) -> str:
    """The ``jpAutoScale`` that means the same as ``jpScale`` (``NN%`` is the same in both)."""
    return AUTO_SCALE_BY_SCALE.get(scale.strip().lower(), scale.strip())


def scale_for(auto_scale: str) -> str | None:
    """The ``jpScale`` that means the same as ``jpAutoScale``; None if there is none."""
    text = auto_scale.strip()
    if text.endswith("%"):
        return text
    return SCALE_BY_AUTO_SCALE.get(text)


SUPPORTED_FILE_EXTS: tuple[str, ...] = (
    ".pdf",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".html",
    ".htm",
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".prn",
)
"""The document types the reference names for ``jobFile``: images, Office files, pdf, html
("支持图片、Office文件、pdf、html文件") and ``.prn`` for raw printer commands."""


def normalise_file_ext(value: str) -> str:
    """``PDF`` or ``.pdf`` as ``.pdf``."""
    text = value.strip().lower()
    return text if text.startswith(".") else f".{text}"


def is_supported_file_ext(value: str) -> bool:
    """Whether the cloud takes documents of this type (``.pdf``, ``png``…)."""
    return normalise_file_ext(value) in SUPPORTED_FILE_EXTS


def url_path_ext(url: str) -> str | None:
    """The supported type a URL's path ends in (``.pdf``), or None.

    Only the path counts: ``https://x/a.pdf?sig=1`` is ``.pdf``, ``https://x/get?f=a.pdf`` is
    None; percent-encoding is undone first (``report%2Epdf`` is ``.pdf``).
    """
    try:
        path = unquote(urlsplit(url.strip()).path)
    except ValueError:
        return None
    suffix = PurePosixPath(path).suffix.lower()
    return suffix if suffix in SUPPORTED_FILE_EXTS else None


def urls_file_ext(urls: Iterable[str]) -> str | None:
    """The one supported type every URL's path ends in, or None (none, or different types)."""
    found = {url_path_ext(url) for url in urls}
    if len(found) != 1:
        return None
    return found.pop()


@dataclass(frozen=True)
class JobFile:
    """A document to upload as ``jobFile`` (multipart)."""

    filename: str
    content: bytes = field(repr=False)
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class PrintRequest:
    """Everything ``POST /api/print/job`` accepts, with the API's field names in ``to_form``.

    Exactly one of ``urls``, ``file`` or ``task_ticket`` gives the document. ``None`` means
    "leave it out" so the cloud applies the printer's defaults, except where the reference
    marks a field required: ``jpAutoScale`` and ``jpScale`` always go together and agree (see
    ``scaling``), and URLs always carry ``urlFileExt`` (``url_file_ext``, else the type their
    paths end in; see ``file_ext_for_urls``).
    """

    port: int = 1
    urls: tuple[str, ...] = ()
    file: JobFile | None = None
    url_file_ext: str | None = None
    """``urlFileExt`` (``.pdf``) of URLs; None: the type the URLs' paths end in."""
    printer_model: str | None = None
    paper_size: int | None = None
    """``dmPaperSize``; 0 = custom with ``paper_width``/``paper_length`` in 0.1 mm."""
    paper_width: int | None = None
    paper_length: int | None = None
    orientation: int | None = None
    copies: int | None = None
    default_source: int | None = None
    color: int | None = None
    duplex: int | None = None
    media_type: int | None = None
    print_quality: int | None = None
    scale: str | None = None
    """``jpScale`` (fit, fitw, fith, fill, cover, none, NN%): preferred over ``auto_scale``."""
    auto_scale: str | None = None
    """``jpAutoScale`` (0-4, NN%): used only without ``scale``."""
    auto_align: str | None = None
    page_range: str | None = None
    auto_rotate: bool | None = None
    pdf_rev: bool | None = None
    is_preview: bool | None = None
    html_kernel: str | None = None
    target_ip: str | None = None
    report_device_status: bool | None = None
    report_printer_status: bool | None = None
    callback_url: str | None = None
    task_ticket: str | None = None
    err_limit_num: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    """Raw API fields passed through as they are (the contract's ``options``)."""

    @property
    def file_ext_for_urls(self) -> str | None:
        """The ``urlFileExt`` the URLs go with: the one given, else their paths' common type."""
        if self.url_file_ext:
            return normalise_file_ext(self.url_file_ext)
        return urls_file_ext(self.urls) if self.urls else None

    def scaling(self) -> tuple[str, str]:
        """``(jpScale, jpAutoScale)``, always both and meaning the same (``fit``/4 by default)."""
        if self.scale is not None:
            return self.scale, auto_scale_for(self.scale)
        if self.auto_scale is not None:
            auto = self.auto_scale.strip()
            return scale_for(auto) or DEFAULT_SCALE, auto
        return DEFAULT_SCALE, auto_scale_for(DEFAULT_SCALE)

    def to_form(self) -> dict[str, str]:
        """The text fields of the form, without credentials and without the file itself."""
        form: dict[str, str] = {"devicePort": str(self.port)}

        def put(name: str, value: object) -> None:
            if value is None:
                return
            if isinstance(value, bool):
                form[name] = "1" if value else "0"
            else:
                form[name] = str(value)

        if self.urls:
            form["jobFile"] = "\n".join(self.urls)
            put("urlFileExt", self.file_ext_for_urls)
        put("printerModel", self.printer_model)
        put("dmPaperSize", self.paper_size)
        if self.paper_size == 0:
            put("dmPaperWidth", self.paper_width)
            put("dmPaperLength", self.paper_length)
        put("dmOrientation", self.orientation)
        put("dmCopies", self.copies)
        put("dmDefaultSource", self.default_source)
        put("dmColor", self.color)
        put("dmDuplex", self.duplex)
        put("dmMediaType", self.media_type)
        put("dmPrintQuality", self.print_quality)
        form["jpScale"], form["jpAutoScale"] = self.scaling()
        put("jpAutoAlign", self.auto_align)
        put("jpPageRange", self.page_range)
        put("jpAutoRotate", self.auto_rotate)
        put("pdfRev", self.pdf_rev)
        put("isPreview", self.is_preview)
        put("htmlKernel", self.html_kernel)
        put("targetIp", self.target_ip)
        put("reportDeviceStatus", self.report_device_status)
        put("reportPrinterStatus", self.report_printer_status)
        put("callbackUrl", self.callback_url)
        put("taskTicket", self.task_ticket)
        put("errLimitNum", self.err_limit_num)
        for name, value in self.extra.items():
            form[name] = str(value)
        _agree_on_scaling(form, self.extra)
        return form


def _agree_on_scaling(form: dict[str, str], extra: Mapping[str, str]) -> None:
    """A raw ``jpScale`` or ``jpAutoScale`` in ``extra`` brings its partner along.

    ``jpScale`` wins over ``jpAutoScale`` at the cloud, so a raw ``jpAutoScale`` alone must not
    be overruled by the default ``jpScale``: the partner follows it (or is left out if it has
    no equivalent).
    """
    if "jpScale" in extra and "jpAutoScale" not in extra:
        form["jpAutoScale"] = auto_scale_for(form["jpScale"])
    elif "jpAutoScale" in extra and "jpScale" not in extra:
        scale = scale_for(form["jpAutoScale"])
        if scale is None:
            del form["jpScale"]
        else:
            form["jpScale"] = scale
