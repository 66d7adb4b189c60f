"""Rows of tables written as markup, shared by the two markup readers (auditor.html_tables for HTML tables,
auditor.xml_sheets for "XML Spreadsheet 2003"): what Chinese back offices, ERPs and printing tools save under
``.xls``, ``.htm(l)`` and ``.xml`` names, and what Excel and WPS open with a warning.

A markup parser calls back; the files area pulls rows. ``TableStream`` sits between them: the parser's callbacks
build rows cell by cell within the bounds of auditor.table_bounds (at most MAX_COLUMNS cells, the rest joined
into the last one; a row of more than MAX_LINE characters goes on in Overflow pieces so that its numbers are
still counted), with ``colspan``/``rowspan`` (``ss:MergeAcross``/``ss:MergeDown``) leaving empty cells where
Excel shows a merged one, and queue them. ``sheets()`` feeds the parser one chunk of text at a time and hands
each table on as (name, BoundedRows) while it is being parsed: a document of any size is held one chunk and one
row at a time. At most MAX_SHEETS tables are examined; a document that turns out malformed after some rows
keeps those rows and says where reading stopped.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import IO, Callable, Iterator

from .table_bounds import JOIN, MAX_COLUMNS, MAX_LINE, MAX_SHEETS, BoundedRows, Cuts, Overflow
from .tabular import UnreadableTable
from .textcodec import SAMPLE, open_stream, sniff_declared, split_bom

CHUNK = 1 << 16  # characters handed to the parser at a time
MAX_SPAN = 1000  # columns one cell may span (HTML's own maximum for colspan)
MAX_ROWSPAN = 65534  # rows one cell may span (HTML's own maximum for rowspan)
MAX_NESTING = 32  # tables inside tables followed; deeper ones are read as text of the cell around them

_XML_DECL = re.compile(r"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([\w.:-]{1,40})", re.I)
_META = re.compile(r"<meta\b[^>]{0,400}?charset\s*=\s*[\"']?\s*([\w.:-]{1,40})", re.I)
_HTML_START = re.compile(r"(?:<!--.*?-->\s*|<\?xml[^>]*>\s*)*<(?:!doctype\s+html|html|head|meta|table|body|style|title)\b",
                         re.I | re.S)
SPREADSHEET_NS = "urn:schemas-microsoft-com:office:spreadsheet"


def markup_kind(head: bytes) -> str | None:
    """"html" for an HTML document, "xml" for an XML Spreadsheet 2003 workbook, None for anything else (the
    start of the file, a few KB, is enough)."""
    mark, codec = split_bom(head)
    body = head[len(mark):]
    text = body.decode(codec, "replace") if codec and codec != "utf-8" else body.decode("latin-1")
    start = text.lstrip()[:SAMPLE]
    low = start[:4096].lower()
    if low.startswith("<?xml") or low.startswith("<workbook"):
        if SPREADSHEET_NS in start and re.search(r"<(?:\w+:)?workbook\b", start, re.I):
            return "xml"
    return "html" if _HTML_START.match(low) else None


def declared_encoding(sample: bytes) -> str | None:
    """The encoding a document names for itself: an XML declaration, else an HTML ``<meta charset>``."""
    head = sample.decode("latin-1")
    m = _XML_DECL.search(head[:512]) or _META.search(head)
    return m.group(1) if m else None


def open_markup(fh: IO[bytes]):
    """The document as text in its encoding (auditor.textcodec: byte-order mark, then the bytes, then the
    declared encoding) and the codec."""
    sample = fh.read(SAMPLE)
    mark, codec = sniff_declared(sample, declared_encoding(sample))
    fh.seek(len(mark))
    return open_stream(fh, codec)


@dataclass
class MarkupCuts(Cuts):
    """The cuts of one markup table, and why reading stopped early (a document malformed after some rows, tables
    beyond MAX_SHEETS)."""

    stopped: str = ""

    def notes(self) -> list[str]:
        return super().notes() + ([self.stopped] if self.stopped else [])


class _Level:
    """One open table: its row being built, the open cell and the cells covered by row spans from above."""

    def __init__(self) -> None:
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.cells_seen = 0  # cells of the row, also those joined beyond MAX_COLUMNS
        self.extra: list[str] = []  # texts of the cells beyond MAX_COLUMNS, joined into the last one at the end
        self.spans: dict[int, int] = {}  # column -> rows below still covered by a cell above
        self.covered: set[int] = set()  # columns covered in the row being built
        self.chars = 0  # characters of the row being built
        self.spill: list[str] | None = None  # the row's text once it passed MAX_LINE (sent on as Overflow)
        self.spill_chars = 0  # characters sent on as Overflow, in all
        self.held = 0  # characters of ``spill`` not sent on yet
        self.pending = (1, 1)  # (colspan, rowspan) of the open cell


class TableStream:
    """The rows the parser's callbacks build, queued as events: ("table", name, cuts), ("row", cells),
    ("overflow", piece), ("end",)."""

    def __init__(self) -> None:
        self.events: deque = deque()
        self.tables = 0  # tables begun (top level)
        self.levels: list[_Level] = []
        self.deeper = 0  # tables open beyond MAX_NESTING (their rows and cells are the deepest level's)
        self.cuts = MarkupCuts()
        self.stopped = ""  # why the document ended early, for the table being read

    # ------------------------------------------------------------------ tables
    def begin_table(self, name: str) -> None:
        if self.levels:  # a table inside a cell: its rows join the same sheet
            if len(self.levels) < MAX_NESTING:
                self.levels.append(_Level())
            else:
                self.deeper += 1
            return
        self.tables += 1
        self.cuts = MarkupCuts()
        self.levels = [_Level()]
        self.events.append(("table", name, self.cuts))

    def end_table(self) -> None:
        if not self.levels:
            return
        if self.deeper:
            self.deeper -= 1
            return
        self.end_row()
        self.levels.pop()
        if not self.levels:
            self.events.append(("end",))

    @property
    def open(self) -> bool:
        return bool(self.levels)

    def finish(self) -> None:
        """The document ended: close whatever is open."""
        while self.levels:
            self.end_table()

    # ------------------------------------------------------------------ rows and cells
    def begin_row(self) -> None:
        if not self.levels:
            return
        self.end_row()
        lv = self.levels[-1]
        lv.row, lv.cells_seen, lv.chars, lv.spill, lv.spill_chars, lv.held, lv.extra = [], 0, 0, None, 0, 0, []
        lv.covered = set(lv.spans)

    def end_row(self) -> None:
        if not self.levels:
            return
        self.end_cell()
        lv = self.levels[-1]
        if lv.row is None:
            return
        for col in lv.covered:
            left = lv.spans.pop(col, 1) - 1
            if left > 0:
                lv.spans[col] = left
        if lv.cells_seen > MAX_COLUMNS:
            self.cuts.wide_rows += 1
            self.cuts.widest_row = max(self.cuts.widest_row, lv.cells_seen)
        if lv.spill is not None:
            self.events.append(("overflow", Overflow("".join(lv.spill), end=True)))
            self.cuts.long_lines += 1
            self.cuts.longest_line = max(self.cuts.longest_line, lv.spill_chars)
        elif any(lv.row) or lv.extra:  # a row without text is nothing to judge (nor to hold)
            if lv.extra:
                lv.row[-1] = JOIN.join(([lv.row[-1]] if lv.row[-1] else []) + lv.extra)
            self.events.append(("row", lv.row))
        lv.row, lv.extra = None, []

    def begin_cell(self, colspan: int = 1, rowspan: int = 1, index: int | None = None) -> None:
        """A cell begins; ``index`` (1-based, XML Spreadsheet's ss:Index) places it further right."""
        if not self.levels:
            return
        lv = self.levels[-1]
        if lv.row is None:
            self.begin_row()
        if lv.cell is not None:
            self.end_cell()
        if lv.covered:
            self._skip_covered(lv)
        if index is not None:
            while len(lv.row) < min(index - 1, MAX_COLUMNS - 1) and lv.spill is None:
                self._put(lv, "")
                self._skip_covered(lv)
        lv.cell = []
        lv.pending = (max(1, min(colspan, MAX_SPAN)), max(1, min(rowspan, MAX_ROWSPAN)))
        if lv.spill is not None:
            self._spill_more(lv, JOIN)  # cells of a spilled row stay apart: no two numbers run together

    def text(self, data: str) -> None:
        if not self.levels:
            return
        lv = self.levels[-1]
        if lv.cell is None:
            return
        lv.chars += len(data)
        if lv.spill is not None:
            self._spill_more(lv, data)
        else:
            lv.cell.append(data)
            if lv.chars > MAX_LINE:
                self._start_spill(lv)

    def end_cell(self) -> None:
        if not self.levels:
            return
        lv = self.levels[-1]
        if lv.cell is None:
            return
        text = " ".join("".join(lv.cell).split())
        lv.cell = None
        if lv.spill is not None:
            lv.cells_seen += 1  # its text went on as it came (text())
            return
        colspan, rowspan = lv.pending
        start = len(lv.row)
        self._put(lv, text)
        for _ in range(colspan - 1):
            if len(lv.row) >= MAX_COLUMNS:
                break
            self._put(lv, "")
        if rowspan > 1 and start < MAX_COLUMNS:
            for col in range(start, min(start + colspan, MAX_COLUMNS)):
                lv.spans[col] = max(lv.spans.get(col, 0), rowspan - 1)

    # ------------------------------------------------------------------ within the bounds
    def _skip_covered(self, lv: _Level) -> None:
        while lv.spill is None and len(lv.row) in lv.covered and len(lv.row) < MAX_COLUMNS:
            self._put(lv, "")

    def _put(self, lv: _Level, text: str) -> None:
        lv.cells_seen += 1
        if lv.spill is not None:
            self._spill_more(lv, JOIN + text if text else "")
        elif len(lv.row) < MAX_COLUMNS:
            lv.row.append(text)
        elif text:
            lv.extra.append(text)
            lv.chars += len(JOIN)
            if lv.chars > MAX_LINE:
                self._start_spill(lv)

    def _start_spill(self, lv: _Level) -> None:
        """The row passed MAX_LINE characters: its text so far, and all that follows, goes on as Overflow."""
        cells = [c for c in lv.row if c] + lv.extra
        lv.extra = []
        if lv.cell:
            cells.append("".join(lv.cell))
            lv.cell = []
        lv.spill, lv.spill_chars, lv.held = [], 0, 0
        lv.row = []
        self._spill_more(lv, JOIN.join(cells))

    def _spill_more(self, lv: _Level, data: str) -> None:
        if not data:
            return
        lv.spill.append(data)
        lv.spill_chars += len(data)
        lv.held += len(data)
        if lv.held >= MAX_LINE:
            self.events.append(("overflow", Overflow("".join(lv.spill), end=False)))
            lv.spill, lv.held = [], 0


def sheets(stream: TableStream, feed: Callable[[], bool]) -> Iterator[tuple[str, BoundedRows]]:
    """(name, rows) of each table while the document is parsed; ``feed`` parses one more chunk (False at the
    end). A table's rows are read before the next table is asked for (what is left unread is passed over).
    Tables beyond MAX_SHEETS are not examined, and the last one examined says so."""
    pump = _Pump(stream, feed)
    seen = 0
    while True:
        event = pump.next()
        if event is None:
            return
        if event[0] != "table":
            continue  # the rest of a table its reader left unread
        seen += 1
        _, name, cuts = event
        yield name or f"table {seen}", BoundedRows(cuts, _table_rows(pump, cuts, last=seen >= MAX_SHEETS))
        if seen >= MAX_SHEETS:
            return


class _Pump:
    def __init__(self, stream: TableStream, feed: Callable[[], bool]) -> None:
        self.stream, self.feed, self.done = stream, feed, False

    def next(self):
        events = self.stream.events
        while not events:
            if self.done:
                return None
            if not self.feed():
                self.done = True
                self.stream.finish()
        return events.popleft()

    def peek(self):
        event = self.next()
        if event is not None:
            self.stream.events.appendleft(event)
        return event


def _table_rows(pump: _Pump, cuts: MarkupCuts, last: bool) -> Callable[[BoundedRows], Iterator[list[str]]]:
    def produce(out: BoundedRows) -> Iterator[list[str]]:
        while True:
            event = pump.next()
            if event is None or event[0] == "end":
                break
            if event[0] == "row":
                out.chars += sum(map(len, event[1]))
                yield event[1]
            else:
                out.chars += len(event[1].text)
                out.overflow(event[1])
        # read on to the next table (or the end) before this table is judged: a document that breaks off after
        # it, or tables beyond the bound, are said in this table's notes
        nxt = pump.peek()
        if last and nxt is not None and nxt[0] == "table":
            cuts.stopped = f"tables beyond the first {MAX_SHEETS} not examined"
        elif nxt is None and pump.stream.stopped:
            cuts.stopped = pump.stream.stopped

    return produce


def feeder(text: IO[str], parse: Callable[[str, bool], None], stream: TableStream,
           broken: tuple[type[BaseException], ...], reason: Callable[[BaseException], str]) -> Callable[[], bool]:
    """``feed`` for sheets(): parse the next CHUNK characters of ``text``. A parser error (``broken``) before
    any table is an UnreadableTable; after one, reading stops there and the table says so."""

    def feed() -> bool:
        chunk = text.read(CHUNK)
        try:
            parse(chunk, not chunk)
        except broken as exc:
            if not stream.tables:
                raise UnreadableTable(reason(exc)) from None
            stream.stopped = f"reading stopped: {reason(exc)}; the rest of the document not examined"
            return False
        return bool(chunk)

    return feed
