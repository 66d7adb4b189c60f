"""Workbooks (XLSX/XLSM/XLS/XLSB/ODS) judged by the kernel, with the result the reference reader and analyzer
(auditor.tabular via python-calamine, auditor.files.table_scan) give for them.

fastexcel (calamine, as the reference) hands each sheet over as Arrow columns (kernel.arrowc); their text is
laid out as a text table's cells are (kernel.sheetgrid); the first rows are judged by the reference itself,
the rest batch by batch (kernel.batch), so no cell becomes a Python object except in the first rows and in
what the batch judge reads as text. A sheet is read, judged and released before the next one.

fastexcel writes some cells otherwise than cell_text does: true/false for a boolean, "2024-01-02 03:04:05"
for a date, a number of 1e17 or more in full, a tiny one without an exponent; and a text cell may read the
same. The first rows are judged both ways (every such text as it stands, and as cell_text would write the
value behind it) and must come out the same; beyond them such a text changes no count except in a counted
column (a boolean or tiny number there, or a float-exact number of 18 digits or more in an ID-number column),
and there the reference reads the workbook (Unsupported). So does it for a column of another type than
strings and numbers, more sheets than the bound, a row over the line or column bound, first rows or a batch
over the character bounds (counted in bytes, which are never fewer than the characters the reference
counts), and whatever fastexcel cannot read."""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import logging
import re
import sys
from typing import IO

import numpy as np

from ...table_bounds import MAX_COLUMNS, MAX_LINE, MAX_SHEETS
from ...tabular import _ESCAPES  # what a reader's failure must never swallow
from ..table_scan import BATCH_CHARS, BATCH_ROWS, HEADER_SCAN, SAMPLE_CHARS, SAMPLE_ROWS, TableAnalyzer, TableResult
from .arrowc import ArrowLayoutError, Batch
from .batch import BatchJudge
from .grid import Unsupported
from .sheetgrid import SheetGrid, sheet_grid
from .shapes import Shapes

HEAD_ROWS = SAMPLE_ROWS + HEADER_SCAN
_LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if sys.platform.startswith("linux") else None
if _LIBC is not None and not hasattr(_LIBC, "malloc_trim"):  # a C library other than glibc (musl)
    _LIBC = None
_DATE = re.compile(r"\d{4}-\d\d-\d\d(?: \d\d:\d\d:\d\d(?:\.\d+)?)?|\d\d:\d\d:\d\d(?:\.\d+)?")
_TINY = re.compile(r"-?0\.0000\d*")
_LONG = re.compile(r"-?\d{18,}")
_LONG_LINE = re.compile(rb"(?m)^-?\d{18,}$")


def available() -> bool:
    """Whether fastexcel is installed here (CPython 3.10 and later; a wheel for this platform)."""
    return importlib.util.find_spec("fastexcel") is not None


def release_memory() -> None:
    """Give the C heap's free pages back to the system (glibc), so that the next sheet's or stage's memory
    does not come on top of the last one's in the peak."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _a_float(digits: str | bytes) -> bool:
    """Whether a number of 18 digits or more may be fastexcel's writing of a number cell (which cell_text
    writes with an exponent): only a value a float holds exactly may be, or one beyond a 64-bit integer."""
    v = int(digits)
    return abs(v) >= 1 << 63 or int(float(v)) == v


def _reference_text(cell: str) -> str:
    """How cell_text writes the value behind a text fastexcel may have written from a boolean, a date, a tiny
    or a huge number (the text itself when it cannot be one of those)."""
    if cell in ("true", "false"):
        return cell.title()
    if _DATE.fullmatch(cell):
        return cell.replace(" ", "T") + "T"  # any writing with a letter: not a number to the header search
    if _TINY.fullmatch(cell) or (_LONG.fullmatch(cell) and _a_float(cell)):
        return repr(float(cell))
    return cell


class WorkbookKernel:
    def __init__(self, analyzer: TableAnalyzer) -> None:
        self.analyzer = analyzer
        self.shapes = Shapes(analyzer.rules)
        self.judge = BatchJudge(analyzer, self.shapes, lambda b: b.decode("utf-8"), lambda s: s.encode("utf-8"))
        logging.getLogger("fastexcel").setLevel(logging.ERROR)  # its dtype guesses are not the user's business

    def read(self, fh: IO[bytes]) -> list[TableResult]:
        """Every sheet's judgement. Unsupported when the reference must read the workbook (the caller then
        reads it from the start, and says what is wrong with it if anything is)."""
        fh.seek(0)
        return self.read_bytes(fh.read())

    def read_bytes(self, data: bytes) -> list[TableResult]:
        opened = [self.open(data)]
        del data
        return self.sheets(opened)

    @staticmethod
    def open(data: bytes):
        """fastexcel's reader of the workbook (its shared strings read, no sheet yet): what kernel.sheetchild
        does while the scan process still checks the workbook's extent. Unsupported as read_bytes."""
        try:
            import fastexcel  # heavy optional reader: imported when a workbook is first read
        except ImportError as exc:  # installed but not loadable here (a DLL missing): the reference reads
            raise Unsupported(f"fastexcel not loadable ({exc})") from None
        try:
            reader = fastexcel.read_excel(data)
            if len(reader.sheet_names) > MAX_SHEETS:
                raise Unsupported("more sheets than the bound")
        except (Unsupported, *_ESCAPES):
            raise
        except BaseException as exc:  # noqa: BLE001 - whatever fastexcel refuses (a Rust panic too: pyo3's
            # PanicException is a BaseException), the reference reads or explains
            raise Unsupported(f"fastexcel: {type(exc).__name__}") from None
        return reader

    def sheets(self, opened: list) -> list[TableResult]:
        """Every sheet of an opened workbook, judged one after the other. ``opened`` holds the one reference
        to the reader (``open``) and is emptied here: the reader's memory goes before the last sheet's cells
        are laid out."""
        reader = opened.pop()
        names = list(reader.sheet_names)
        out = []
        for i, name in enumerate(names):
            sheet = self._load(reader, i)
            if i == len(names) - 1:
                del reader  # the workbook's shared strings: released before the last sheet's cells are laid out
                release_memory()
            out.append(self._sheet(sheet, name))
        return out

    @staticmethod
    def _load(reader, index: int):
        try:
            return reader.load_sheet(index, header_row=None, skip_rows=0, schema_sample_rows=None)
        except _ESCAPES:
            raise
        except BaseException as exc:  # noqa: BLE001 - see read_bytes
            raise Unsupported(f"fastexcel: {type(exc).__name__}") from None

    def _sheet(self, sheet, name: str) -> TableResult:
        """One sheet, in memory once at a time: the reader's cells, then Arrow's, then the grid's."""
        try:
            height = int(sheet.height)
            if int(sheet.width) > MAX_COLUMNS:
                raise Unsupported("a row wider than the column bound")
            batch = Batch(sheet)
        except ArrowLayoutError as exc:
            raise Unsupported(str(exc)) from None
        except (Unsupported, *_ESCAPES):
            raise
        except BaseException as exc:  # noqa: BLE001 - see read_bytes
            raise Unsupported(f"fastexcel: {type(exc).__name__}") from None
        del sheet  # the reader's cells: released before the text is laid out
        release_memory()
        columns = batch.columns
        odd = [c.kind for c in columns if c.kind not in ("string", "float", "int", "null")]
        if odd:
            raise Unsupported(f"a column of {odd[0]}")
        if any(c.length != height for c in columns):
            raise Unsupported("columns of different heights")
        grid = sheet_grid(columns, height)
        del batch, columns
        release_memory()
        return self._judge(grid, name)

    def _judge(self, grid: SheetGrid, name: str) -> TableResult:
        an = self.analyzer
        size = grid.sizes()  # bytes, at least the characters the reference's bounds count
        if len(size) and int(size.max()) > MAX_LINE:
            raise Unsupported("a row over the line bound")
        n = grid.n
        pos = min(HEAD_ROWS, n)
        if int(size[:pos].sum()) >= SAMPLE_CHARS:
            raise Unsupported("first rows over the sample bound")
        for start in range(pos, n, BATCH_ROWS):
            if int(size[start:start + BATCH_ROWS].sum()) >= BATCH_CHARS:
                raise Unsupported("a batch over the batch bound")
        head = grid.rows(np.arange(pos))
        res, plan = self._begin(name, head)
        self._refuse_ambiguous(grid, plan, pos)
        judge = self.judge
        for start in range(pos, n, BATCH_ROWS):
            recs = np.arange(start, min(start + BATCH_ROWS, n))
            if not judge.judge(grid, recs, res, plan):
                rows = grid.rows(recs)
                if not an._batch(rows, res, plan):
                    for row in rows:
                        an._row(row, res, plan)
        return res

    def _begin(self, name: str, head: list[list[str]]):
        """The reference's judgement of the first rows, which must be the same with every cell fastexcel may
        have written otherwise written the way cell_text writes it."""
        an = self.analyzer
        res = TableResult(name)
        plan = an.begin(res, head)
        other = [[_reference_text(c) if c else c for c in row] for row in head]
        if other != head:
            res2 = TableResult(name)
            plan2 = an.begin(res2, other)
            if res2 != res or plan2 != plan:
                raise Unsupported("the first rows judged otherwise with cells written as cell_text writes them")
        return res, plan

    def _refuse_ambiguous(self, grid: SheetGrid, plan, pos: int) -> None:
        """Unsupported when a counted column holds text fastexcel may have written otherwise than cell_text."""
        rows = np.arange(pos, grid.n)
        if not len(rows):
            return
        for index in plan.ids + plan.mobiles:
            start, end, _ = grid.cell(index, rows)
            text = grid.text(start, end)
            if b"true\n" in text or b"false\n" in text or b"0.0000" in text or \
                    (index in plan.ids and any(_a_float(m.group(0)) for m in _LONG_LINE.finditer(text))):
                # the byte search over-approximates (a cell ending in "true"): the reference then decides
                raise Unsupported("a boolean, a tiny or a huge number in a counted column")
