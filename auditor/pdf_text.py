"""The text layer of a PDF: what label-printing tools and platform back offices write when they save a batch of
waybills or labels (one page per parcel: recipient, mobile, address as text). Read with pypdf (pure Python, so
the same code runs on Linux and in the Windows build), from an opened file, within stated bounds:

* pypdf's own limits, lowered: a stream inflates to at most MAX_STREAM bytes (a "PDF bomb" of a few KB that
  inflates to gigabytes stops there), at most MAX_STREAM of decoding work per stream, no external ``jbig2dec``
  process is ever started;
* at most MAX_PAGES pages, MAX_PAGE_TEXT characters per page and MAX_TEXT characters per document are kept;
  what is beyond is said in the notes;
* a page that cannot be read (a bomb stream, a broken content stream) is left out and counted; a document none
  of whose pages can be read, an encrypted one that does not open without a password, one without any text
  layer (a scan) or a file that is not a readable PDF is an ``UnreadablePdf`` with the reason for the coverage.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import IO

MAX_STREAM = 16 << 20  # bytes one stream may inflate to (a label page's content stream is a few KB)
MAX_PAGES = 10_000  # pages examined per document (a day's label batch of a large warehouse)
MAX_PAGE_TEXT = 256 << 10  # characters kept per page
MAX_TEXT = 64 << 20  # characters kept per document
MIN_TEXT = 8  # non-blank characters a document needs to have a text layer at all
MAX_XOBJECTS = 64  # form XObjects of a blank page decoded to tell a bomb from a scan


class UnreadablePdf(Exception):
    """A PDF whose text could not be read; the message is the reason shown in the coverage."""


@dataclass
class PdfText:
    pages: int  # pages in the document
    texts: list[str] = field(default_factory=list)  # the text of each page examined ("" for a page left out)
    notes: list[str] = field(default_factory=list)  # what the bounds cut, which pages could not be read


_ESCAPES = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


def _why(exc: BaseException) -> str:
    if type(exc).__name__ == "LimitReachedError":  # pypdf.errors.LimitReachedError: one of the limits above
        return f"decompression bomb suspected (a stream inflates beyond {MAX_STREAM >> 20} MiB)"
    if isinstance(exc, RecursionError):
        return "objects nested too deeply"
    return f"corrupt or unreadable PDF ({type(exc).__name__})"


def read_pdf(fh: IO[bytes]) -> PdfText:
    """The text of every page of the PDF in ``fh`` (an opened file, read from its start)."""
    # deferred: pypdf takes about a second to import under Wine, and only PDFs need it
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # its warnings would reach the terminal
    limits = dict(zlib_maximum_output_length=MAX_STREAM, lzw_maximum_output_length=MAX_STREAM,
                  run_length_maximum_output_length=MAX_STREAM, jbig2_maximum_output_length=MAX_STREAM,
                  array_based_stream_maximum_output_length=MAX_STREAM, maximum_declared_stream_length=MAX_STREAM,
                  image_maximum_buffer_size=MAX_STREAM, stream_decoding_work_maximum_length=4 * MAX_STREAM,
                  brotli_maximum_output_length=MAX_STREAM, xform_maximum_invocations_per_extraction=1000,
                  jbig2dec_binary=None, disable_legacy_handling=True)
    fh.seek(0)
    if fh.read(1024).find(b"%PDF-") < 0:
        raise UnreadablePdf("not a PDF (no %PDF header)")
    fh.seek(0)
    with warnings.catch_warnings(), pypdf.apply_configuration(**limits):
        warnings.simplefilter("ignore")
        try:
            reader = pypdf.PdfReader(fh)
            if reader.is_encrypted and not _opens_without_password(reader):
                raise UnreadablePdf("encrypted (password-protected PDF)")
            count = len(reader.pages)
        except UnreadablePdf:
            raise
        except _ESCAPES:
            raise
        except BaseException as exc:  # noqa: BLE001 - a crafted PDF must not end the scan
            raise UnreadablePdf(_why(exc)) from None
        return _texts(reader, count)


def _opens_without_password(reader) -> bool:
    """Whether an encrypted PDF opens with the empty user password (printing tools often set an owner
    password only, to stop editing)."""
    try:
        return bool(reader.decrypt(""))
    except _ESCAPES:
        raise
    except BaseException:  # noqa: BLE001 - an unknown handler, AES without a crypto library: not readable
        return False


def _probe_streams(page) -> None:
    """Decode a page's content streams and (at most MAX_XOBJECTS of) its form XObjects within the limits, so that
    a page without text because a stream was a bomb raises the limit's error instead of reading as blank."""
    contents = page.get_contents()
    if contents is not None:
        contents.get_data()
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None:
        return
    for k, ref in enumerate(xobjects.get_object().values()):
        if k >= MAX_XOBJECTS:
            break
        obj = ref.get_object()
        if obj.get("/Subtype") == "/Form":
            obj.get_data()


def _texts(reader, count: int) -> PdfText:
    out = PdfText(count)
    failed: dict[str, int] = {}
    total = cut_pages = 0
    for i in range(min(count, MAX_PAGES)):
        try:
            page = reader.pages[i]
            text = page.extract_text() or ""
            if not text.strip():
                _probe_streams(page)  # pypdf's text extraction passes over a stream it stopped decoding
        except _ESCAPES:
            raise
        except BaseException as exc:  # noqa: BLE001 - one bad page leaves the others readable
            reason = _why(exc)
            failed[reason] = failed.get(reason, 0) + 1
            out.texts.append("")
            continue
        if len(text) > MAX_PAGE_TEXT:
            text, cut_pages = text[:MAX_PAGE_TEXT], cut_pages + 1
        total += len(text)
        out.texts.append(text)
        if total > MAX_TEXT:
            out.notes.append(f"text beyond {MAX_TEXT >> 20} Mi characters not examined (pages after {i + 1})")
            break
    if failed and not any(t.strip() for t in out.texts):
        raise UnreadablePdf(next(iter(failed)))
    for reason, n in failed.items():
        out.notes.append(f"{n} page(s) not examined: {reason}")
    if cut_pages:
        out.notes.append(f"{cut_pages} page(s) with more than {MAX_PAGE_TEXT:,} characters of text cut there")
    if count > MAX_PAGES:
        out.notes.append(f"{count - MAX_PAGES:,} page(s) beyond the first {MAX_PAGES:,} not examined")
    if count and sum(len("".join(t.split())) for t in out.texts) < MIN_TEXT:
        raise UnreadablePdf("no text layer (scanned or image-only PDF), not examined")
    if not count:
        raise UnreadablePdf("a PDF without pages")
    return out
