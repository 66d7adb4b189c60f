"""The bounds on reading one table (README: Bounds), and what reading cut because of them.

A text table is read line by line, never more than ``MAX_LINE`` characters at a time: a longer line (one 50 MB
line of mobiles, a million-column row) or a longer logical row (a quoted cell spanning many lines) is not parsed
into cells; it is handed on in pieces (``Overflow``) so that the people's numbers in it are still counted. A row
keeps at most ``MAX_COLUMNS`` cells: the cells beyond are joined into its last cell, so what they hold is still
examined. A workbook row longer than ``MAX_LINE`` characters goes on as ``Overflow`` the same way. At most
``MAX_SHEETS`` sheets of a workbook are examined. Every cut is counted in ``Cuts``, which becomes a note in the
report's coverage: nothing is dropped silently.

A workbook is opened only when no sheet spans more than ``MAX_SHEET_CELLS`` (``workbook_extent``): the reader
allocates every cell between the first and the last one, so two cells at A1 and XFD1048576 in a 5 KB file
would ask for 550 GB.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from dataclasses import dataclass
from typing import IO, Callable, Iterator

MAX_LINE = 1 << 20  # characters of one line, or one logical row, of a text table (and of a workbook row)
MAX_COLUMNS = 1024  # cells examined per row; the rest are joined into the last one
MAX_SHEETS = 256  # sheets examined per workbook
MAX_SHEET_CELLS = 8_000_000  # rows x columns of one sheet: the workbook reader holds 32 bytes for each
JOIN = " | "  # between cells joined beyond MAX_COLUMNS: no digit, space or dash, so numbers never merge

csv.field_size_limit(2 * MAX_LINE)  # a logical row is cut at MAX_LINE first (_State.lines); this is a backstop


class Overflow:
    """Text beyond a bound, to be searched for numbers only. ``end``: the last piece of its line or row."""

    __slots__ = ("text", "end")

    def __init__(self, text: str, end: bool = True) -> None:
        self.text, self.end = text, end


@dataclass
class Cuts:
    """What the bounds cut while one table was read; the analyzer adds what it counted in the overflow."""

    long_lines: int = 0  # lines or logical rows over MAX_LINE characters: not parsed into cells
    longest_line: int = 0
    wide_rows: int = 0  # rows over MAX_COLUMNS cells
    widest_row: int = 0
    sheets_left_out: int = 0
    overflow_mobiles: int = 0
    overflow_ids: int = 0

    def notes(self) -> list[str]:
        out = []
        if self.long_lines:
            out.append(f"{self.long_lines} line(s) longer than {MAX_LINE:,} characters (longest "
                       f"{self.longest_line:,}) read in pieces, not as table rows: {self.overflow_mobiles:,} "
                       f"mobile(s) and {self.overflow_ids:,} ID number(s) in them counted, one record each")
        if self.wide_rows:
            out.append(f"{self.wide_rows} row(s) with more than {MAX_COLUMNS:,} cells (widest {self.widest_row:,}): "
                       f"the cells beyond column {MAX_COLUMNS - 1:,} examined together as one column")
        if self.sheets_left_out:
            out.append(f"{self.sheets_left_out} sheet(s) beyond the first {MAX_SHEETS} not examined")
        return out


class BoundedRows:
    """The rows (lists of cells) of one table within the bounds, with the Cuts of that table and the
    characters read so far (``chars``). Overflow pieces go to ``on_overflow`` when it is set (the files area
    counts the numbers in them); other readers (rosters, account exports) see rows only, and ``cuts`` says what
    they did not see. Iterating it iterates the producer itself (no per-row indirection)."""

    def __init__(self, cuts: Cuts, produce: Callable[["BoundedRows"], Iterator[list[str]]]) -> None:
        self.cuts = cuts
        self.chars = 0
        self.on_overflow: Callable[[Overflow], None] | None = None
        self._rows = produce(self)

    def overflow(self, piece: Overflow) -> None:
        if self.on_overflow is not None:
            self.on_overflow(piece)

    def __iter__(self) -> Iterator[list[str]]:
        return self._rows

    def __next__(self) -> list[str]:
        return next(self._rows)

    def closing(self, stream: IO[bytes]) -> "BoundedRows":
        """The same rows; ``stream`` is closed once they are read (or abandoned)."""
        rows = self._rows

        def closing_rows() -> Iterator[list[str]]:
            try:
                yield from rows
            finally:
                stream.close()

        self._rows = closing_rows()
        return self


# --------------------------------------------------------------------------- rows of any table

def bound_row(row: list[str], cuts: Cuts) -> list[str]:
    """At most MAX_COLUMNS cells: the cells from column MAX_COLUMNS on are joined into the last one."""
    if len(row) <= MAX_COLUMNS:
        return row
    cuts.wide_rows += 1
    cuts.widest_row = max(cuts.widest_row, len(row))
    return row[:MAX_COLUMNS - 1] + [JOIN.join(c for c in row[MAX_COLUMNS - 1:] if c)]


def sheet_rows(rows: Iterator[list[str]], cuts: Cuts) -> BoundedRows:
    """A workbook sheet's rows, bounded: a row of more than MAX_LINE characters goes on as Overflow."""

    def produce(out: BoundedRows) -> Iterator[list[str]]:
        for row in rows:
            size = sum(map(len, row))
            out.chars += size
            if size > MAX_LINE:
                cuts.long_lines += 1
                text = JOIN.join(c for c in row if c)
                cuts.longest_line = max(cuts.longest_line, len(text))
                for i in range(0, len(text), MAX_LINE):
                    out.overflow(Overflow(text[i:i + MAX_LINE], end=i + MAX_LINE >= len(text)))
                continue
            yield bound_row(row, cuts) if len(row) > MAX_COLUMNS else row

    return BoundedRows(cuts, produce)


# --------------------------------------------------------------------------- text tables

class _Reader:
    """Physical lines of a text table, at most MAX_LINE characters each: first those of the sample already
    read for sniffing (``head``), then the rest of the stream. ``read()`` gives the next one ("" at the end)."""

    def __init__(self, head: str, rest: IO[str]) -> None:
        self.rest = rest
        self._head = io.StringIO(head, newline="")
        self.read: Callable[[], str] = self._from_head

    def _from_head(self) -> str:
        part = self._head.readline(MAX_LINE)
        if len(part) == MAX_LINE or part.endswith(("\n", "\r")):
            return part
        self.read = functools.partial(self.rest.readline, MAX_LINE)  # the sample is used up: from the stream
        return part + self.rest.readline(MAX_LINE - len(part))


class _RowTooLong(Exception):
    pass


class _State:
    """What the line feeder shares with the row loop: the lines of the logical row being read (so that a
    row cut short is still searched), their size, and an over-long line held back from the csv reader."""

    def __init__(self, head: str, rest: IO[str]) -> None:
        self.reader = _Reader(head, rest)
        self.since: list[str] = []
        self.size = 0
        self.held = ""

    def lines(self) -> Iterator[str]:
        """Lines for one csv.reader: it ends at the end of the text, or before a line longer than MAX_LINE
        (held back), and raises _RowTooLong once a logical row passes MAX_LINE characters."""
        reader, since, limit = self.reader, self.since, MAX_LINE
        while True:
            line = reader.read()  # (reader.read changes once the sample is used up)
            if not line:
                return
            if len(line) == limit and not line.endswith(("\n", "\r")):
                self.held = line
                return
            since.append(line)
            self.size += len(line)
            if self.size > limit:
                raise _RowTooLong
            yield line


def text_rows(head: str, rest: IO[str], delimiter: str) -> BoundedRows:
    """The rows of a text table (``head``: what was read of ``rest`` already), within the bounds."""
    cuts = Cuts()

    def produce(out: BoundedRows) -> Iterator[list[str]]:
        st = _State(head, rest)
        read = lambda: st.reader.read()  # noqa: E731 - the reader switches from the sample to the stream
        while True:
            try:
                for row in csv.reader(st.lines(), delimiter=delimiter):
                    out.chars += st.size
                    st.since.clear()
                    st.size = 0
                    yield bound_row(row, cuts) if len(row) > MAX_COLUMNS else row
            except (_RowTooLong, csv.Error):  # a logical row (a quoted cell over many lines) too long
                cuts.long_lines += 1
                size = st.size
                # the rest of the row too, up to the line that closes its quoted cell (quotes come in pairs)
                open_quote = sum(line.count('"') for line in st.since) % 2 == 1
                pending, held = list(st.since), st.size
                st.since.clear()
                st.size = 0
                while open_quote:
                    text = read()
                    if not text:
                        break
                    size += len(text)
                    pending.append(text)
                    held += len(text)
                    if held >= MAX_LINE:  # handed on in pieces of about MAX_LINE, not line by line
                        out.overflow(Overflow("".join(pending), end=False))
                        pending, held = [], 0
                    open_quote = text.count('"') % 2 == 0
                out.overflow(Overflow("".join(pending), end=True))
                out.chars += size
                cuts.longest_line = max(cuts.longest_line, size)
                continue
            if not st.held:
                return
            # a physical line longer than MAX_LINE: not a row; its pieces go to the overflow
            piece, st.held = st.held, ""
            cuts.long_lines += 1
            total = 0
            while True:
                total += len(piece)
                end = piece.endswith(("\n", "\r"))
                nxt = "" if end else read()
                out.overflow(Overflow(piece, end=end or not nxt))
                if end or not nxt:
                    break
                piece = nxt
            out.chars += total
            cuts.longest_line = max(cuts.longest_line, total)

    return BoundedRows(cuts, produce)


# --------------------------------------------------------------------------- workbook extents

# r="XFD1048576" in a cell that is not self-closing (a styled empty cell holds no value: the reader skips it)
_REF = re.compile(rb"""\sr\s*=\s*["']\s*([A-Za-z]{1,4})0*(\d{0,10})\s*["'](?=[^<>]*(?<!/)>)""")
_ODD_CELL = re.compile(rb'<c(?:[>\t\n\r/]| (?!r="))')  # a cell tag not written <c r="...
_PREFIXED_CELL = re.compile(rb":c[\s>/]")  # <x:c ...>
_CELL = re.compile(rb"<(?:[\w.-]+:)?c[\s>/]")
_ROW = re.compile(rb"<(?:[\w.-]+:)?row(?=[\s>/])([^>]*)>")
_ROW_NUM = re.compile(rb"""\sr\s*=\s*["']\s*0*(\d{1,10})""")
_ODS_TAG = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>")
_ODS_REPEAT = re.compile(rb"""number-(rows|columns)-repeated\s*=\s*["']\s*(\d{1,10})""")
_CHUNK = 4 << 20


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A member in pieces that end before a tag, so no tag is cut in two."""
    with zf.open(info) as fh:
        tail = b""
        while True:
            data = fh.read(_CHUNK)
            if not data:
                if tail:
                    yield tail
                return
            buf = tail + data
            cut = buf.rfind(b"<")
            if cut <= 0:
                cut = len(buf)
            yield buf[:cut]
            tail = buf[cut:]


def _int_above(n: int) -> str:
    """A regex for decimal numbers (leading zeros allowed) greater than n."""
    digits = str(n)
    alts = [rf"[1-9]\d{{{len(digits)},}}"]
    for i, ch in enumerate(digits):
        if ch != "9":
            rest = len(digits) - i - 1
            alts.append(f"{digits[:i]}[{int(ch) + 1}-9]" + (rf"\d{{{rest}}}" if rest else ""))
    return "0*(?:" + "|".join(alts) + ")"


def _letters_above(col: int) -> str:
    """A regex for column letters (either case) after column number ``col`` (A = 1)."""
    letters = ""
    while col > 0:
        col, r = divmod(col - 1, 26)
        letters = chr(65 + r) + letters
    alts = [f"[A-Za-z]{{{len(letters) + 1},}}"]
    for i, ch in enumerate(letters):
        if ch != "Z":
            nxt = chr(ord(ch) + 1)
            rest = len(letters) - i - 1
            alts.append(letters[:i] + f"[{nxt}-Z{nxt.lower()}-z]" + (f"[A-Za-z]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(alts) + ")"


def _refs_max(buf: bytes) -> tuple[int, int]:
    """(largest row, largest column) named by the cell references in ``buf`` (every one examined)."""
    cells = _REF.findall(buf)
    if not cells:
        return 0, 0
    numbers = [b for _, b in cells if b]
    longest = max(map(len, numbers), default=0)
    row = int(max((n for n in numbers if len(n) == longest), default=b"0"))
    return row, max(_column(a) for a in {a for a, _ in cells})


class _Extent:
    """(rows, columns) an OOXML sheet part can span, read chunk by chunk: the largest row and column any cell
    names, and for cells without a reference the place the reader numbers them on to."""

    def __init__(self) -> None:
        self.rows = self.cols = 0
        self.row_no = 0  # rows seen, for rows without r
        self.run = 0  # cells without r in the current row

    def feed(self, buf: bytes) -> None:
        if not _PREFIXED_CELL.search(buf):
            # Excel writes every cell <c r="A1" ...> and in order: the largest one is at the end. One pass makes
            # sure of it: no cell written otherwise (then the long way below), none beyond the last one.
            row, col = map(max, zip(_refs_max(buf[:65536]), _refs_max(buf[-65536:])))
            other = re.compile(rb'<c(?:[>\t\n\r/]| (?!r=")| r="(?:' + _letters_above(col).encode()
                               + rb"\d+|[A-Za-z]{1,4}" + _int_above(row).encode() + rb')"[^<>]*(?<!/)>)')
            m = other.search(buf)
            if m is None:
                self.rows, self.cols = max(self.rows, row), max(self.cols, col)
                return
            if m.group(0).startswith(b'<c r="'):  # a cell beyond the last one: every reference counts
                row, col = _refs_max(buf)
                if not _ODD_CELL.search(buf):
                    self.rows, self.cols = max(self.rows, row), max(self.cols, col)
                    return
        # any other writing: every reference, and rows and cells without one numbered on as the reader does
        row, col = _refs_max(buf)
        self.rows, self.cols = max(self.rows, row), max(self.cols, col)
        pos = 0
        for m in _ROW.finditer(buf):
            self._cells(len(_CELL.findall(buf, pos, m.start())))
            num = _ROW_NUM.search(m.group(1))
            self.row_no = int(num.group(1)) if num else self.row_no + 1
            self.run = 0
            pos = m.end()
        self._cells(len(_CELL.findall(buf, pos)))

    def _cells(self, n: int) -> None:
        """``n`` more cells in the current row (row_no)."""
        if n:
            self.run += n
            self.cols = max(self.cols, self.run)
            self.rows = max(self.rows, self.row_no)


def _ooxml_extent(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
    ext = _Extent()
    for buf in _chunks(zf, info):
        ext.feed(buf)
    return ext.rows, ext.cols


def _ods_extents(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[tuple[int, int]]:
    """(rows, columns) of each table of an ODS content.xml up to its last cell with content (repeats
    counted: a cell repeated 16384 times is 16384 cells)."""
    height = max_h = max_w = col = last_col = 0
    row_rep = 1
    for buf in _chunks(zf, info):
        for m in _ODS_TAG.finditer(buf):
            closing, name, attrs, empty = m.groups()
            reps = {k: int(v) for k, v in _ODS_REPEAT.findall(attrs)}
            if name == b"table":
                if not closing and max_h:
                    yield max_h, max_w
                if not closing:
                    height = max_h = max_w = 0
            elif name == b"table-row":
                if closing:
                    if last_col:
                        max_w, max_h = max(max_w, last_col), height + row_rep
                    height += row_rep
                else:
                    row_rep, col, last_col = reps.get(b"rows", 1), 0, 0
                    if empty:
                        height += row_rep
            else:
                col += reps.get(b"columns", 1)
                if not empty or b"value-type" in attrs:
                    last_col = col
    if max_h:
        yield max_h, max_w


def workbook_extent(fh: IO[bytes]) -> str | None:
    """Why an XLSX/XLSM/ODS workbook must not be opened (a sheet spanning more than MAX_SHEET_CELLS), or
    None. XLS/XLSB (binary records) are bounded by the workbook size limits only."""
    try:
        fh.seek(0)
        with zipfile.ZipFile(fh) as zf:
            for info in zf.infolist():
                name = info.filename.lower()
                if name.endswith("content.xml"):
                    extents = list(_ods_extents(zf, info))
                elif name.endswith(".xml"):  # every part: a sheet may be stored under any name
                    extents = [_ooxml_extent(zf, info)]
                else:
                    continue
                for rows, cols in extents:
                    if rows * cols > MAX_SHEET_CELLS:
                        return (f"workbook too large to open safely: a sheet spans {rows:,} rows x {cols:,} columns "
                                f"({rows * cols:,} cells; bound {MAX_SHEET_CELLS:,})")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, RuntimeError):
        return None  # not a readable zip: the workbook reader says why
    finally:
        fh.seek(0)
    return None
