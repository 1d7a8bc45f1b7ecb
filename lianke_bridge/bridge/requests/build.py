"""Typed print and page-count requests -> the cloud's ``PrintRequest``: words to API numbers.

Pure: a print's options, laid over the port's ``print_defaults``, become ``POST
/api/print/job`` fields; a paper name is looked up in the printer's own lists; what the printer
does not offer is refused naming what it does. When those lists could not be read (the cloud did
not answer), what only they would settle is answered with the cloud's error, never refused as
unknown nor guessed: a valid print is not turned down, nor printed on the wrong paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from lianke_bridge.bridge.records.envelope import ErrorCode
from lianke_bridge.cloud import models
from lianke_bridge.cloud.models import JobFile, PaperSize, Printer, PrinterParams, PrintRequest
from lianke_bridge.errors import CommandError, InvalidValueError
from lianke_bridge.print_options import CustomPaper, Paper, PrintOptions
from lianke_bridge.print_options.readers import show
from lianke_bridge.print_options.words import COLORS, DUPLEX, ORIENTATIONS


class PrintCommand(Protocol):
    """What a print request's builder reads of it (``commands/print.py``'s ``PrintCommand``).

    Protocols, not the commands' classes: the commands' modules import this one.
    """

    @property
    def urls(self) -> tuple[str, ...]:
        """The links to print (none for a file or a page)."""

    @property
    def file(self) -> JobFile | None:
        """The document, when it came as a file."""

    @property
    def text(self) -> str | None:
        """Plain text to print as a page."""

    @property
    def html(self) -> str | None:
        """HTML to print as a page."""

    @property
    def title(self) -> str | None:
        """The heading of a text or html page."""

    @property
    def options(self) -> PrintOptions:
        """How to print, as asked."""

    @property
    def transaction(self) -> str | None:
        """The requester's, for an error."""


class PageCountCommand(Protocol):
    """What a page count's builder reads of it (``commands/page_count.py``'s)."""

    @property
    def urls(self) -> tuple[str, ...]:
        """The document's link (none for a file)."""

    @property
    def file(self) -> JobFile | None:
        """The document, when it came as a file."""

    @property
    def paper(self) -> Paper | None:
        """The paper to count the pages on."""

    @property
    def file_ext(self) -> str | None:
        """The link's document type, when given."""

    @property
    def transaction(self) -> str | None:
        """The requester's, for an error."""


DEFAULT_PAPER_SIZE = 9
"""A4: dmPaperSize when neither the request nor the printer's defaults name a paper."""
DEFAULT_SCALE = "fit"
"""jpScale when the request does not say: the reference's recommended scaling."""
STANDARD_PAPERS: Mapping[str, int] = {
    "letter": 1,
    "legal": 5,
    "executive": 7,
    "a3": 8,
    "a4": 9,
    "a5": 11,
    "b4": 12,
    "b5": 13,
    "a6": 70,
}
"""Windows ``DMPAPER_*`` numbers, used only when the printer's own list is unknown."""
STANDARD_PAPER_NAMES = ("A3", "A4", "A5", "A6", "B4", "B5", "Letter", "Legal", "Executive")

TEXT_FILENAME = "text.html"


def _lists_needed(what: str, missing: CommandError) -> CommandError:
    """The cloud's error (its code) for ``what`` only the printer's unread lists would settle."""
    return CommandError(
        missing.code,
        f"{what} cannot be looked up, so nothing was sent: {missing.message}",
        api_message=missing.api_message,
    )


def _for(cmd: PrintCommand | PageCountCommand, err: CommandError) -> CommandError:
    """``err`` carrying the command's transaction."""
    return CommandError(
        err.code, err.message, api_message=err.api_message, transaction=cmd.transaction
    )


def build_print_request(
    cmd: PrintCommand,
    *,
    port: int,
    printer: Printer | None,
    params: PrinterParams | None,
    paper_sizes: Sequence[PaperSize] = (),
    defaults: PrintOptions | None = None,
    missing: CommandError | None = None,
) -> PrintRequest:
    """The ``POST /api/print/job`` request for a print command on ``port``.

    ``defaults`` are the port's configured print options (same words as a request), applied
    where the request says nothing. Words become the API's numbers; a paper name is looked up in
    the printer's own list; what the printer's ``params`` do not offer is refused with the
    allowed values named. Without ``params`` (unknown model) only the words are checked.
    ``missing`` is why the printer's params or paper list could not be read (the cloud's error):
    a paper name only they would resolve, or the printer's default paper, is then answered with
    it. Raises :class:`CommandError` (``invalid_payload``, or ``missing``'s code), carrying the
    command's transaction.
    """
    try:
        merged = cmd.options.merged_over(defaults or PrintOptions())
        return _build(
            cmd,
            merged,
            port=port,
            printer=printer,
            params=params,
            sizes=paper_sizes,
            missing=missing,
        )
    except InvalidValueError as err:
        raise CommandError(
            ErrorCode.INVALID_PAYLOAD, str(err), transaction=cmd.transaction
        ) from None
    except CommandError as err:  # the cloud's, for lists it did not give (_lists_needed)
        raise _for(cmd, err) from None


def _build(
    cmd: PrintCommand,
    opts: PrintOptions,
    *,
    port: int,
    printer: Printer | None,
    params: PrinterParams | None,
    sizes: Sequence[PaperSize],
    missing: CommandError | None,
) -> PrintRequest:
    who = _printer_label(printer, params)
    copies = opts.copies
    max_copies = params.max_copies if params is not None else None
    if copies is not None and max_copies and copies > max_copies:
        raise InvalidValueError(f"copies {copies} is more than {who} allows (at most {max_copies})")
    paper = _resolve_paper(opts.paper, params=params, sizes=sizes, who=who, missing=missing)
    if paper is None and params is None and printer is not None and missing is not None:
        # the printer's own default paper (DevMode) is in its params: A4 could be wrong for it
        raise _lists_needed(f"{who}'s default paper", missing)
    file = cmd.file
    if cmd.text is not None or cmd.html is not None:
        from lianke_bridge.bridge.requests import render  # noqa: PLC0415 - text prints only

        page = render.render_page(text=cmd.text, html=cmd.html, title=cmd.title)
        file = JobFile(TEXT_FILENAME, page, "text/html")
    target_ip = None
    if printer is not None and printer.is_network and printer.ip_addr:
        target_ip = printer.ip_addr
    # dmPaperSize and the scale are required by the API (必填): the printer's own default
    # paper (DevMode) or A4, and "fit", the reference's recommended scaling.
    default_paper = params.default_paper if params is not None else None
    return PrintRequest(
        port=printer.device_port if printer is not None else port,
        urls=cmd.urls,
        file=file,
        url_file_ext=_url_file_ext(cmd.urls, opts.file_ext) if cmd.urls else None,
        printer_model=(printer.model or None) if printer is not None else None,
        paper_size=paper[0] if paper else (default_paper or DEFAULT_PAPER_SIZE),
        paper_width=paper[1] if paper else None,
        paper_length=paper[2] if paper else None,
        orientation=_capability(
            opts.orientation,
            "orientation",
            ORIENTATIONS,
            params.orientations if params else None,
            who,
        ),
        copies=copies,
        color=_capability(opts.color, "color", COLORS, params.colors if params else None, who),
        duplex=_capability(opts.duplex, "duplex", DUPLEX, params.duplex if params else None, who),
        scale=opts.scale or DEFAULT_SCALE,
        auto_align=opts.align,
        page_range=opts.pages,
        auto_rotate=opts.auto_rotate,
        pdf_rev=opts.reverse,
        target_ip=target_ip,
        extra=dict(opts.api_fields),
    )


def _url_file_ext(urls: Sequence[str], file_ext: str | None) -> str:
    """``urlFileExt``, required with links: never a guess.

    ``file_ext`` (the request's, then the port's default), else the type the links' paths end in.
    """
    supported = ", ".join(models.SUPPORTED_FILE_EXTS)
    if file_ext is not None:
        if not models.is_supported_file_ext(file_ext):
            raise InvalidValueError(
                f"file_ext {show(file_ext)} is not a type the cloud prints; one of {supported}"
            )
        return models.normalise_file_ext(file_ext)
    found = models.urls_file_ext(urls)
    if found is not None:
        return found
    types = sorted({ext for ext in map(models.url_path_ext, urls) if ext})
    if len(types) > 1:
        raise InvalidValueError(
            f"the links are of different types ({', '.join(types)}) but a job takes one "
            "file_ext: send them as separate jobs, or give file_ext"
        )
    raise InvalidValueError(
        "cannot tell the document type from the link (its path does not end in a supported "
        f"extension); give file_ext, one of {supported}"
    )


def build_page_count_request(
    cmd: PageCountCommand,
    *,
    port: int,
    printer: Printer | None,
    params: PrinterParams | None,
    paper_sizes: Sequence[PaperSize] = (),
    missing: CommandError | None = None,
) -> PrintRequest:
    """What ``file_pages`` needs, as a :class:`PrintRequest`: the document, port, model, paper.

    Use ``urls``, ``file``, ``port``, ``printer_model``, ``paper_size`` and ``url_file_ext``.
    ``missing`` as for :func:`build_print_request`.
    """
    try:
        who = _printer_label(printer, params)
        paper = _resolve_paper(
            cmd.paper, params=params, sizes=paper_sizes, who=who, missing=missing
        )
    except InvalidValueError as err:
        raise CommandError(
            ErrorCode.INVALID_PAYLOAD, str(err), transaction=cmd.transaction
        ) from None
    except CommandError as err:  # the cloud's, for lists it did not give (_lists_needed)
        raise _for(cmd, err) from None
    return PrintRequest(
        port=printer.device_port if printer is not None else port,
        urls=cmd.urls,
        file=cmd.file,
        url_file_ext=(cmd.file_ext or models.urls_file_ext(cmd.urls)) if cmd.urls else None,
        printer_model=(printer.model or None) if printer is not None else None,
        paper_size=paper[0] if paper else None,
        paper_width=paper[1] if paper else None,
        paper_length=paper[2] if paper else None,
    )


def _printer_label(printer: Printer | None, params: PrinterParams | None) -> str:
    if printer is not None and printer.name:
        return printer.name
    if params is not None and params.model:
        return params.model
    return "this printer"


def _capability(
    word: str | None,
    key: str,
    numbers: Mapping[str, int],
    offered: Mapping[str, int] | None,
    who: str,
) -> int | None:
    """A word's API number, refused when the printer's capability table lacks it."""
    if word is None:
        return None
    number = numbers[word]
    if not offered or number in offered.values() or (key == "duplex" and word == "off"):
        return number
    allowed = [name for name, value in numbers.items() if value in offered.values()]
    raise InvalidValueError(
        f"{key} {word!r} is not offered by {who}; allowed: {', '.join(allowed)}"
    )


def paper_key(name: str) -> str:
    """How paper names compare: case and whitespace ignored (``b5 (jis)`` = ``B5 (JIS)``)."""
    return "".join(name.split()).casefold()


def _resolve_paper(
    paper: Paper | None,
    *,
    params: PrinterParams | None,
    sizes: Sequence[PaperSize],
    who: str,
    missing: CommandError | None,
) -> tuple[int, int | None, int | None] | None:
    """``(dmPaperSize, width, length)``; width and length (0.1 mm) only for a custom size.

    With ``missing`` the lists are incomplete: a number is the API's own and goes through; a
    name they do not hold (beyond the standard ones when there is no list at all) cannot be
    judged, and is answered with ``missing``.
    """
    if paper is None:
        return None
    if isinstance(paper, CustomPaper):
        return 0, paper.width, paper.length
    offered: dict[str, int] = {}
    for name, number in (params.papers if params else {}).items():
        offered.setdefault(name.strip(), number)
    for size in sizes:
        offered.setdefault(size.name.strip(), size.paper_id)
    if isinstance(paper, int):
        if offered and paper not in offered.values() and missing is None:
            raise InvalidValueError(
                f"paper {paper} is not offered by {who}; allowed: {_papers(offered)}"
            )
        return paper, None, None
    return _named_paper(paper, offered, who=who, missing=missing), None, None


def _named_paper(
    paper: str, offered: Mapping[str, int], *, who: str, missing: CommandError | None
) -> int:
    """A paper name's ``dmPaperSize``: from the printer's lists, else a standard one's."""
    by_key = {paper_key(name): number for name, number in offered.items()}
    if paper_key(paper) in by_key:
        return by_key[paper_key(paper)]
    if not offered and paper_key(paper) in STANDARD_PAPERS:
        return STANDARD_PAPERS[paper_key(paper)]
    if missing is not None:
        raise _lists_needed(f"paper {show(paper)}", missing)
    if offered:
        raise InvalidValueError(
            f"paper {show(paper)} is not offered by {who}; allowed: {_papers(offered)}"
        )
    raise InvalidValueError(
        f"paper {show(paper)} is unknown and {who}'s paper list is not available; use "
        f"{', '.join(STANDARD_PAPER_NAMES)}, "
        'the API\'s paper number, or {"width_mm": …, "height_mm": …}'
    )


def _papers(offered: Mapping[str, int], limit: int = 40) -> str:
    names = list(offered)
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")
