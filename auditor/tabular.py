"""Reading tables as office PCs hold them: CSV/TSV/TXT in any Chinese or Unicode encoding, and
XLSX/XLSM/XLS/XLSB/ODS workbooks (every sheet, via python-calamine). Rows are streamed, never loaded whole
for text files; cells come back as strings (numbers without a spurious ".0"). Lines, rows and sheets are read
within the bounds of auditor.table_bounds: what is beyond them comes as Overflow pieces, counted in Cuts."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from . import safeio

from .table_formats import SHEET_EXT, TEXT_EXT
from .table_bounds import MAX_SHEETS, BoundedRows, Cuts, sheet_rows, text_rows
from .textcodec import SAMPLE, is_binary, open_stream, sniff


class UnreadableTable(Exception):
    """A file that is not a readable table: the reason goes to the report's coverage."""


def open_text(fh: IO[bytes]) -> tuple[io.TextIOWrapper, str]:
    """A binary stream as text in its encoding (auditor.textcodec), positioned after any byte-order mark."""
    sample = fh.read(SAMPLE)
    if is_binary(sample):
        raise UnreadableTable("binary content, not text")
    mark, codec = sniff(sample)
    fh.seek(len(mark))
    return open_stream(fh, codec)


def tab_separated(sample: bytes) -> bool:
    """Whether the start of a file is text whose first lines are separated by tabs (a TSV, as many back offices
    save one under an .xls name): most of the first five non-blank lines hold a tab, two of them at least (or
    the only one). Binary content never is."""
    if not sample or is_binary(sample):
        return False
    mark, codec = sniff(sample)
    text = sample[len(mark):].decode(codec, "replace")
    lines = [l for l in text.splitlines()[:6] if l.strip()][:5]
    tabbed = sum("\t" in l for l in lines)
    return bool(lines) and tabbed >= min(2, len(lines)) and tabbed * 2 > len(lines)


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
