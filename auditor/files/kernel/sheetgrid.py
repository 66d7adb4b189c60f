"""The cells of one workbook sheet (columns from kernel.arrowc) as the file kernel reads a text table's: one
buffer of UTF-8 bytes and, per column, where each row's cell starts and ends, with the interface of
kernel.grid.Grid that kernel.batch judges through.

Each cell holds the text auditor.tabular.cell_text gives for it: strings stripped of the whitespace
``str.strip`` removes (trimmed in bytes), numbers written as Python writes them (whole numbers below 1e17 as
integers, in bytes computed at once; any other number with ``repr``), an empty cell empty."""

from __future__ import annotations

import numpy as np

from .arrowc import ArrowColumn
from .grid import join_spans

WS1 = np.zeros(256, bool)  # one-byte whitespace of str.strip
WS1[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = True
WS2 = (b"\xc2\x85", b"\xc2\xa0")  # U+0085, U+00A0
WS3 = tuple(bytes.fromhex(h) for h in ("e19a80", "e280a8", "e280a9", "e280af", "e2819f", "e38080")) + \
    tuple(b"\xe2\x80" + bytes([0x80 + i]) for i in range(11))  # U+1680, U+2028/9, U+202F, U+205F, U+3000, U+2000-200A
DIGITS = 17  # whole numbers below 1e17 have at most 17 digits


class SheetGrid:
    rfc = False  # no quoting: a cell's bytes are its text

    def __init__(self, buf: bytes, spans: list[tuple[np.ndarray, np.ndarray]], height: int) -> None:
        self.buf = buf
        self.a = np.frombuffer(buf, np.uint8)
        self.spans = spans
        self.n = height
        self.width = len(spans)

    # ------------------------------------------------------------------ what kernel.batch asks of a grid
    def cell(self, col: int, rows: np.ndarray):
        if col >= self.width:
            z = np.zeros(len(rows), np.int64)
            return z, z.copy(), np.zeros(len(rows), bool)
        start, end = self.spans[col]
        return start[rows], end[rows], np.zeros(len(rows), bool)

    def nonempty(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = np.zeros(len(rows), bool)
        for start, end in self.spans:
            full |= end[rows] > start[rows]
        return full, np.zeros(len(rows), bool)

    def starting_with(self, rows: np.ndarray, prefixes: list[bytes]) -> np.ndarray:
        start, end, _ = self.cell(0, rows)
        hit = np.zeros(len(rows), bool)
        if not len(self.a):
            return hit
        width = max(map(len, prefixes))
        head = self.a[np.minimum(start[:, None] + np.arange(width), len(self.a) - 1)]
        for p in prefixes:
            hit |= (end - start >= len(p)) & (head[:, :len(p)] == np.frombuffer(p, np.uint8)).all(axis=1)
        return hit

    def widths(self, rows: np.ndarray) -> np.ndarray:
        return np.full(len(rows), self.width, np.int64)

    def text(self, start: np.ndarray, end: np.ndarray, sep: bytes = b"\n") -> bytes:
        return join_spans(self.a, start, end, sep)

    # ------------------------------------------------------------------ rows as the reference reads them
    def rows(self, rows: np.ndarray) -> list[list[str]]:
        """The rows as lists of cells (the first rows, and a batch left to the reference)."""
        cols = []
        for start, end in self.spans:
            s, e = start[rows], end[rows]
            cols.append(join_spans(self.a, s, e, b"\x00").decode("utf-8").split("\x00")[:len(rows)])
        return [list(r) for r in zip(*cols)] if cols else [[] for _ in range(len(rows))]

    def sizes(self) -> np.ndarray:
        """The bytes of each row's cells: at least its characters (what the reference's bounds count)."""
        total = np.zeros(self.n, np.int64)
        for start, end in self.spans:
            total += end - start
        return total


def _trim(a: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The spans without the whitespace str.strip removes at either end."""
    size = len(a)
    if not size:
        return start, end

    def at(pos: np.ndarray, k: int, ok: np.ndarray, seqs) -> np.ndarray:
        hit = np.zeros(len(pos), bool)
        for seq in seqs:
            m = ok.copy()
            for j, byte in enumerate(seq):
                m &= a[np.clip(pos + j, 0, size - 1)] == byte
            hit |= m
        return hit

    lead = np.zeros(256, bool)  # first bytes of the whitespace str.strip removes
    lead[WS1] = True
    lead[[0xC2, 0xE1, 0xE2, 0xE3]] = True
    todo = np.flatnonzero((end > start) & lead[a[np.clip(start, 0, size - 1)]])
    while len(todo):  # leading
        s, e = start[todo], end[todo]
        length = e - s
        step = np.where(WS1[a[np.clip(s, 0, size - 1)]], 1, 0)
        step = np.where((step == 0) & at(s, 2, length >= 2, WS2), 2, step)
        step = np.where((step == 0) & at(s, 3, length >= 3, WS3), 3, step)
        moved = step > 0
        start[todo] = s + step
        todo = todo[moved & (start[todo] < end[todo])]
    before = np.clip(end - 2, 0, size - 1)  # a two-byte space starts with C2, a three-byte one with E1-E3
    todo = np.flatnonzero((end > start) & (WS1[a[np.clip(end - 1, 0, size - 1)]] | (a[before] == 0xC2) |
                                          ((a[np.clip(end - 3, 0, size - 1)] - 0xE1) < 3)))
    while len(todo):  # trailing
        s, e = start[todo], end[todo]
        length = e - s
        step = np.where(WS1[a[np.clip(e - 1, 0, size - 1)]], 1, 0)
        step = np.where((step == 0) & at(e - 2, 2, length >= 2, WS2), 2, step)
        step = np.where((step == 0) & at(e - 3, 3, length >= 3, WS3), 3, step)
        moved = step > 0
        end[todo] = e - step
        todo = todo[moved & (end[todo] > start[todo])]
    return start, end


def _whole_numbers(values: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Whole numbers (|v| < 1e17) written in decimal: (bytes, start, end), DIGITS + 1 bytes per number."""
    n = len(values)
    width = DIGITS + 1
    neg = values < 0
    mag = np.abs(values)
    powers = 10 ** np.arange(DIGITS - 1, -1, -1, dtype=np.int64)
    digits = (mag[:, None] // powers) % 10
    ndig = np.maximum(DIGITS - np.argmax(np.concatenate([digits, np.ones((n, 1), np.int64)], axis=1) > 0, axis=1), 1)
    mat = np.empty((n, width), np.uint8)
    mat[:, 0] = 0x2D
    mat[:, 1:] = digits + 0x30
    first = width - ndig - neg
    mat[np.arange(n)[neg], first[neg]] = 0x2D
    base = np.arange(n, dtype=np.int64) * width
    return mat.tobytes(), base + first, base + width


def column_text(col: ArrowColumn) -> tuple[bytes, np.ndarray, np.ndarray]:
    """(bytes, start, end) of a column's cells as auditor.tabular.cell_text writes them."""
    n = col.length
    valid = col.valid if col.valid is not None else np.ones(n, bool)
    if col.kind == "string":
        start, end = col.offsets[:-1].astype(np.int64), col.offsets[1:].astype(np.int64)
        end = np.where(valid, end, start)
        start, end = _trim(np.frombuffer(col.data, np.uint8), start, end)
        return col.data, start, end
    if col.kind == "null":
        z = np.zeros(n, np.int64)
        return b"", z, z.copy()
    values = col.values
    if col.kind == "float":
        whole = valid & np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 1e17)
        ints = np.where(whole, values, 0).astype(np.int64)
    else:
        whole = valid & (np.abs(values) < 10 ** DIGITS)
        ints = np.where(whole, values, 0)
    buf, start, end = _whole_numbers(ints)
    other = np.flatnonzero(valid & ~whole)
    if len(other):  # fractions and very large numbers, one by one as Python writes them
        texts = [repr(float(v)) if col.kind == "float" else str(int(v)) for v in values[other]]
        tail = "".join(texts).encode("ascii")
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
        at = len(buf) + np.cumsum(lengths) - lengths
        start[other], end[other] = at, at + lengths
        buf += tail
    empty = ~valid
    end[empty] = start[empty]
    return buf, start, end


def sheet_grid(columns: list[ArrowColumn], height: int) -> SheetGrid:
    """One grid of every column's text (the columns' bytes joined once)."""
    parts, spans, base = [], [], 0
    for col in columns:
        buf, start, end = column_text(col)
        parts.append(buf)
        spans.append((start + base, end + base))
        base += len(buf)
    return SheetGrid(b"".join(parts), spans, height)
