"""Reading tables as office PCs hold them: CSV/TSV/TXT in any Chinese or Unicode encoding, and
XLSX/XLSM/XLS/XLSB/ODS workbooks (every sheet, via python-calamine). Rows are streamed, never loaded whole
for text files; cells come back as strings (numbers without a spurious ".0"). Lines, rows and sheets are read
within the bounds of auditor.table_bounds: what is beyond them comes as Overflow pieces, counted in Cuts."""

from __future__ import annotations

import codecs
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from charset_normalizer import from_bytes

from .table_bounds import MAX_SHEETS, BoundedRows, Cuts, sheet_rows, text_rows

TEXT_EXT = {".csv", ".tsv", ".txt", ".tab"}
SHEET_EXT = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
SAMPLE = 64 << 10
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class UnreadableTable(Exception):
    """A file that is not a readable table: the reason goes to the report's coverage."""


def detect_encoding(sample: bytes) -> str:
    """BOM first; then UTF-8 if it decodes; then charset-normalizer among the encodings Chinese PCs use.

    GB18030 is used for anything GBK-like: it is a superset of GBK and GB2312."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if not sample:
        return "utf-8"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # a multi-byte character cut by the sample's end
            return "utf-8"
    guess = _utf16_guess(sample)
    if guess:
        return guess
    # Chinese Windows writes GBK (GB18030 is its superset): accept it when it decodes cleanly and
    # reads as Chinese text; otherwise let charset-normalizer decide among the other candidates.
    try:
        text = sample.decode("gb18030")
    except UnicodeDecodeError as exc:
        text = sample[: exc.start].decode("gb18030") if exc.start >= len(sample) - 3 else ""
    if text and _plausible(text) > 0.95:
        return "gb18030"
    best = from_bytes(sample, cp_isolation=["gb18030", "big5", "utf_16", "cp1252"]).best()
    if best is None:
        return "gb18030"  # binary content was screened out before; decode with replacement
    enc = best.encoding.lower()
    return "gb18030" if enc in ("gb2312", "gbk", "gb18030", "hz") else enc


def _plausible(text: str) -> float:
    """Share of characters that occur in tables: CJK, ASCII printable, whitespace, CJK punctuation."""
    ok = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t") - text.count("\ufffd")
    odd = sum(1 for ch in text if "\ue000" <= ch <= "\uf8ff" or "\u0100" <= ch <= "\u2fff")
    return (ok - 3 * odd) / max(len(text), 1)


def _utf16_guess(sample: bytes) -> str | None:
    """UTF-16 without a BOM: NUL bytes (ASCII digits and separators) on one byte position only, and the
    text decodes to something that looks like a table."""
    if sample.count(0) < len(sample) // 20:
        return None
    even = sample[: len(sample) // 2 * 2]
    best, score = None, 0.0
    for enc in ("utf-16-le", "utf-16-be"):
        text = even.decode(enc, errors="replace")
        s = _plausible(text)
        if s > score:
            best, score = enc, s
    return best if score > 0.9 else None


def is_binary(sample: bytes) -> bool:
    if any(sample.startswith(b) for b, _ in _BOMS):
        return False
    if sample.count(0) > len(sample) // 20:
        return _utf16_guess(sample) is None
    control = sum(1 for b in sample[:4096] if b < 9 or 13 < b < 32)
    return control > len(sample[:4096]) // 20


def open_text(fh: IO[bytes]) -> tuple[io.TextIOWrapper, str]:
    """Wrap a binary stream as text with the detected encoding (stream position reset to 0)."""
    sample = fh.read(SAMPLE)
    if is_binary(sample):
        raise UnreadableTable("binary content, not text")
    enc = detect_encoding(sample)
    fh.seek(0)
    return io.TextIOWrapper(fh, encoding=enc, errors="replace", newline=""), enc


def sniff_delimiter(head: str) -> str:
    lines = [l for l in head.splitlines()[:20] if l.strip()]
    best, best_score = ",", 0
    for delim in (",", "\t", ";", "|"):
        counts = [l.count(delim) for l in lines]
        if not counts or max(counts) == 0:
            continue
        common = max(set(counts), key=counts.count)
        score = counts.count(common) * (common > 0)
        if score > best_score:
            best, best_score = delim, score
    return best


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e17 else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


@dataclass
class Sheet:
    name: str  # "" for text files
    rows: BoundedRows  # lists of cells within the bounds; rows.cuts says what was cut


def iter_text_rows(fh: IO[bytes]) -> tuple[str, BoundedRows]:
    """(encoding, rows): the rows within the bounds of auditor.table_bounds."""
    text, enc = open_text(fh)
    head = text.read(SAMPLE)
    return enc, text_rows(head, text, sniff_delimiter(head))


def iter_sheets(path: Path | str, fh: IO[bytes] | None = None, ext: str | None = None) -> Iterator[Sheet]:
    """Every sheet of a table file (text files are one sheet named ""), read from ``fh``, an opened file (a
    file opened through auditor.safeio, a ZIP member). Without ``fh`` the path is opened through
    auditor.safeio (a regular file only, no user's link). Workbooks are read from the file object too, never
    by path."""
    ext = (ext or Path(path).suffix).lower()
    if ext not in TEXT_EXT and ext not in SHEET_EXT:
        raise UnreadableTable(f"unsupported format {ext or '(none)'}")
    if fh is None:
        from . import safeio

        stream = safeio.open_regular(path)
        try:
            if ext in TEXT_EXT:
                rows = iter_text_rows(stream)[1]
            else:
                wb = _workbook(stream)  # calamine holds its own copy: the file can be closed
        except BaseException:
            stream.close()
            raise
        if ext in TEXT_EXT:
            yield Sheet("", _then_close(rows, stream))
        else:
            stream.close()
            yield from _workbook_sheets(wb)
        return
    if ext in TEXT_EXT:
        yield Sheet("", iter_text_rows(fh)[1])
        return
    yield from _workbook_sheets(_workbook(fh))


def _then_close(rows: BoundedRows, stream: IO[bytes]) -> BoundedRows:
    return rows.closing(stream)


def _workbook(fh: IO[bytes]):
    import python_calamine as pc

    try:
        return pc.CalamineWorkbook.from_filelike(fh)
    except pc.PasswordError:
        raise UnreadableTable("encrypted (password-protected workbook)") from None
    except (pc.CalamineError, pc.ZipError, pc.XmlError, ValueError, OSError) as exc:
        raise UnreadableTable(f"corrupt or unreadable workbook ({type(exc).__name__})") from None
    except _ESCAPES:
        raise
    except BaseException as exc:  # noqa: BLE001 - calamine raises a variety of errors on garbage, and a Rust
        # panic arrives as pyo3's PanicException, a BaseException: a crafted workbook must not end the scan
        raise UnreadableTable(f"corrupt or unreadable workbook ({type(exc).__name__})") from None


#: what a reader's failure must never swallow
_ESCAPES = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


def _sheet_cells(rows, name: str) -> Iterator[list[str]]:
    """The rows of one sheet as text; a reader failure while iterating (a Rust panic too) is UnreadableTable."""
    try:
        for row in rows:
            yield [cell_text(c) for c in row]
    except _ESCAPES:
        raise
    except BaseException as exc:  # noqa: BLE001 - see _workbook
        raise UnreadableTable(f"sheet {name!r} unreadable ({type(exc).__name__})") from None


def _workbook_sheets(wb) -> Iterator[Sheet]:
    names = list(wb.sheet_names)
    for i, name in enumerate(names[:MAX_SHEETS]):
        try:
            sheet = wb.get_sheet_by_name(name)
            rows = sheet.iter_rows()
        except _ESCAPES:
            raise
        except BaseException as exc:  # noqa: BLE001 - see _workbook
            raise UnreadableTable(f"sheet {name!r} unreadable ({type(exc).__name__})") from None
        cuts = Cuts(sheets_left_out=len(names) - MAX_SHEETS if i == MAX_SHEETS - 1 else 0)
        yield Sheet(name, sheet_rows(_sheet_cells(rows, name), cuts))


def read_table(path: Path | str) -> list[list[str]]:
    """All rows of the first non-empty sheet (for small input files such as rosters)."""
    for sheet in iter_sheets(path):
        rows = [r for r in sheet.rows if any(c for c in r)]
        if rows:
            return rows
    return []
