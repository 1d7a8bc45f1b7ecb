"""A print request before submission: the file, its type, scaling, and the form the cloud takes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

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
