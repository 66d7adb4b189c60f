"""The records and cells of CSV/TSV bytes, found with vectorised byte operations, exactly where the csv
module reading the decoded text (auditor.table_bounds.text_rows) puts them.

Bytes, not text: this holds for encodings in which the delimiter, the quote and the line breaks are single
bytes that no other character contains (UTF-8; GBK/GB18030 with a comma, tab or semicolon). Whatever the
exact reading is not proven for is refused (``Unsupported``, with the reason) and the caller reads the file the
reference way: a NUL byte, a carriage return not followed by a line feed, quotes other than RFC 4180 quoting
or quotes that are all literal (Excel's ="…" written unquoted), a logical row over the line bound, a row over
the column bound."""

from __future__ import annotations

import numpy as np

from ...table_bounds import MAX_COLUMNS, MAX_LINE

QUOTE, LF, CR = 0x22, 0x0A, 0x0D
MAX_MARKS = 2_000_000  # quotes and delimiters in one buffer: the index arrays stay within the memory bound


class Unsupported(Exception):
    """Bytes the kernel does not read exactly: the reference reader takes the file."""


class Grid:
    """The complete records at the start of ``buf`` (which starts at a record's start).

    ``starts``/``ends``: where each record's content begins and ends (before its line break); ``sdl``: the
    delimiters that separate cells (not those inside quotes), ``k0``/``k1``: the slice of ``sdl`` inside each
    record; ``rfc``: quoted cells exist (their content is between the quotes, ``""`` standing for ``"``);
    ``consumed``: bytes of ``buf`` the records take (the rest starts the next record)."""

    def __init__(self, buf: bytes, delimiter: str, final: bool) -> None:
        if b"\x00" in buf:
            raise Unsupported("NUL byte")
        self.buf, self.delimiter = buf, delimiter
        a = self.a = np.frombuffer(buf, np.uint8)
        d = ord(delimiter)
        is_q, is_d = a == QUOTE, a == d  # (numpy counts a byte several times faster than bytes.count)
        quotes = int(np.count_nonzero(is_q))
        if quotes + int(np.count_nonzero(is_d)) > MAX_MARKS:
            raise Unsupported("more quotes and delimiters at once than the memory bound allows")
        nl = np.flatnonzero(a == LF)
        dl = np.flatnonzero(is_d)
        if b"\r" in buf:
            cr = np.flatnonzero(a == CR)
            crlf = int(np.count_nonzero(a[cr[cr + 1 < len(a)] + 1] == LF))
            if len(cr) - (not final and buf.endswith(b"\r")) != crlf:
                raise Unsupported("carriage return without line feed")
        self.rfc = False
        self.q = None
        if quotes:
            nl, dl = self._quoted(a, d, nl, dl, final, np.flatnonzero(is_q))
        end = len(buf)
        if final and (not len(nl) or nl[-1] != end - 1) and end > 0:
            closes = np.append(nl, end)  # the last record has no line break
            self.consumed = end
        else:
            closes = nl
            self.consumed = int(nl[-1]) + 1 if len(nl) else 0
        n = self.n = len(closes)
        starts = np.empty(n, np.int64)
        if n:
            starts[0] = 0
            starts[1:] = closes[:-1] + 1
        ends = closes.astype(np.int64, copy=True)
        if n:
            has_cr = np.zeros(n, bool)
            inside = (closes > starts) & (closes < end)
            has_cr[inside] = a[closes[inside] - 1] == CR
            ends -= has_cr
        self.starts, self.ends = starts, ends
        sdl = dl[dl < self.consumed] if len(dl) else dl
        self.sdl = sdl.astype(np.int64, copy=False)
        self.k0 = np.searchsorted(self.sdl, starts)
        self.k1 = np.searchsorted(self.sdl, ends)
        if n:
            if int((self.k1 - self.k0).max()) >= MAX_COLUMNS:
                raise Unsupported("a row wider than the column bound")
            if int((closes - starts).max()) + 1 >= MAX_LINE:
                raise Unsupported("a row longer than the line bound")

    # ------------------------------------------------------------------ quoting
    def _quoted(self, a: np.ndarray, d: int, nl: np.ndarray, dl: np.ndarray, final: bool, q: np.ndarray):
        """Line breaks and delimiters outside quoted cells (``q``: where the quotes are); quoting checked to be
        RFC 4180 (or every quote literal, inside unquoted cells)."""
        prev = np.empty(len(q), np.uint8)
        prev[q > 0] = a[q[q > 0] - 1]
        at_start = (q == 0) | (prev == d) | (prev == LF)
        if not at_start.any():
            return nl, dl  # every quote is inside an unquoted cell: literal, as csv reads it
        parity = np.searchsorted(q, nl) & 1
        nl = nl[parity == 0]
        last = int(nl[-1]) + 1 if len(nl) else 0
        if final:
            last = len(a)
        qi = q[q < last]
        k = np.arange(len(qi))
        opening = (k & 1) == 0
        pair_before = np.zeros(len(qi), bool)
        pair_before[1:] = qi[1:] == qi[:-1] + 1
        pair_after = np.zeros(len(qi), bool)
        pair_after[:-1] = pair_before[1:]
        nxt = np.full(len(qi), LF, np.uint8)
        inside = qi + 1 < len(a)
        nxt[inside] = a[qi[inside] + 1]
        closes_ok = (nxt == d) | (nxt == LF) | (nxt == CR) | pair_after | (qi + 1 == len(a))
        ok = np.where(opening, at_start[: len(qi)] | pair_before, closes_ok)
        if not ok.all() or (final and len(qi) & 1):
            raise Unsupported("quoting other than RFC 4180")
        self.rfc, self.q = True, q.astype(np.int64, copy=False)
        dl = dl[(np.searchsorted(q, dl) & 1) == 0]
        return nl, dl

    # ------------------------------------------------------------------ cells
    def widths(self, rows: np.ndarray) -> np.ndarray:
        """Cells in each of ``rows`` (a line without delimiters is one cell, an empty line too)."""
        return self.k1[rows] - self.k0[rows] + 1

    def cell(self, col: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, quoted) of the content of cell ``col`` in each of ``rows``: for a quoted cell the bytes
        between its quotes (``""`` still doubled); start == end where the row has no such cell."""
        k0, k1 = self.k0[rows], self.k1[rows]
        inner = k1 - k0  # delimiters in the row
        has = col <= inner
        last = len(self.sdl) - 1
        if col == 0:
            start = self.starts[rows].copy()
        elif last < 0:
            start = np.zeros(len(rows), np.int64)
        else:
            start = np.where(has, self.sdl[np.minimum(k0 + (col - 1), last)] + 1, 0)
        if last < 0:
            end = self.ends[rows].copy()
        else:
            end = np.where(col < inner, self.sdl[np.minimum(k0 + col, last)], self.ends[rows])
        end = np.where(has, end, start)
        quoted = np.zeros(len(rows), bool)
        if self.rfc:
            filled = end > start
            quoted[filled] = self.a[start[filled]] == QUOTE
            start = start + quoted
            end = end - quoted
        return start.astype(np.int64, copy=False), end.astype(np.int64, copy=False), quoted

    def nonempty(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(certainly not empty, undecided) for ``rows``: a row is empty when every cell is "" (a blank line,
        delimiters only, empty quoted cells); rows of delimiters and quotes only are left undecided."""
        length = self.ends[rows] - self.starts[rows] - (self.k1[rows] - self.k0[rows])
        if not self.rfc:
            return length > 0, np.zeros(len(rows), bool)
        quotes = np.searchsorted(self.q, self.ends[rows]) - np.searchsorted(self.q, self.starts[rows])
        content = length - quotes
        return content > 0, (content == 0) & (quotes > 0)

    def starting_with(self, rows: np.ndarray, prefixes: list[bytes]) -> np.ndarray:
        """Rows whose first cell's content starts with one of ``prefixes``."""
        hit = np.zeros(len(rows), bool)
        if not len(self.a) or not len(rows):
            return hit
        start, end, _ = self.cell(0, rows)
        a = self.a
        # only the rows whose first byte starts a prefix are compared further (a few, if any)
        firsts = np.frombuffer(bytes({p[0] for p in prefixes}), np.uint8)
        maybe = np.flatnonzero((end > start) & np.isin(a[np.minimum(start, len(a) - 1)], firsts))
        if not len(maybe):
            return hit
        start, end = start[maybe], end[maybe]
        width = max(map(len, prefixes))
        head = a[np.minimum(start[:, None] + np.arange(width), len(a) - 1)]
        found = np.zeros(len(maybe), bool)
        for p in prefixes:
            want = np.frombuffer(p, np.uint8)
            found |= (end - start >= len(p)) & (head[:, : len(p)] == want).all(axis=1)
        hit[maybe] = found
        return hit

    def text(self, start: np.ndarray, end: np.ndarray, sep: bytes = b"\n") -> bytes:
        """The bytes start[i]:end[i] of every i, each followed by ``sep``."""
        return join_spans(self.a, start, end, sep)


def join_spans(a: np.ndarray, start: np.ndarray, end: np.ndarray, sep: bytes) -> bytes:
    """a[start[i]:end[i]] + sep for every i, gathered in one vectorised pass."""
    n = len(start)
    if not n:
        return b""
    lengths = (end - start).astype(np.int64)
    step = lengths + len(sep)
    total = int(step.sum())
    offsets = np.cumsum(step) - step
    src = np.arange(total, dtype=np.int64) + np.repeat(start - offsets, step)
    out = a[np.minimum(src, len(a) - 1)]
    if sep:
        for j, byte in enumerate(sep):
            out[offsets + lengths + j] = byte
    return out.tobytes()
