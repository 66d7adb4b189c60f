"""Verdicts on whole columns of cells at once, for the cells whose reading is certain: plain digits, Excel's
="digits" wrapping, and cells without any digit, mask character or non-ASCII byte. Every other cell is
"irregular" and goes to the exact regex path (auditor.files.kernel.batch) — so a verdict here is always the
one the reference (auditor.files.table_scan) gives, whichever of its paths takes the row.

Why these shapes are certain, for a mobile column: a plain run of digits of 12 or more, or of 11 not starting
0086, can hold a mobile only as the whole run (optionally after 86 / 0086) and no match of the reference's
patterns can run from it into the next row; a wrapped run is closed by quotes on both sides."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from ...pii.rules import PiiRules

WIDTH = 24  # bytes of a cell looked at; longer cells are irregular
ZERO, QUOTE, EQUALS = 0x30, 0x22, 0x3D
ASCII_MASKS = b"*xX#"
_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), np.int64)
_CHECK = np.frombuffer(b"10X98765432", np.uint8)
_SUFFIXES = ("000000", "999999", "135792", "864201", "505050")


def _first_bytes(a: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The WIDTH bytes from each ``start`` (a row each), past the end of ``a`` its last byte repeated: rows of
    a strided view copied at once, only the few starts within WIDTH of the end gathered byte by byte."""
    n = len(start)
    if not len(a) or not n:
        return np.zeros((n, WIDTH), np.uint8)
    last = len(a) - WIDTH
    if last < 0:
        return a[np.minimum(start[:, None] + np.arange(WIDTH), len(a) - 1)]
    windows = np.lib.stride_tricks.sliding_window_view(a, WIDTH)
    mat = windows[np.minimum(start, last)]
    late = np.flatnonzero(start > last)
    if len(late):
        mat[late] = a[np.minimum(start[late][:, None] + np.arange(WIDTH), len(a) - 1)]
    return mat


def _row_counts(flags: np.ndarray) -> np.ndarray:
    """The true values in each row of a (n, WIDTH) boolean matrix: its bytes (0 or 1) summed as three 64-bit
    words at once."""
    w = np.ascontiguousarray(flags).view(np.uint64)
    total = w[:, 0] + w[:, 1] + w[:, 2]  # each byte at most 3: no carry between bytes
    return ((total * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.int64)


def _row_any(flags: np.ndarray) -> np.ndarray:
    """Whether each row of a (n, WIDTH) boolean matrix holds a true value."""
    w = np.ascontiguousarray(flags).view(np.uint64)
    return (w[:, 0] | w[:, 1] | w[:, 2]) != 0


class MobileStarts:
    """Whether an 11-digit number is a mobile under the pattern of checks/pii.toml, by its first five digits:
    each start met is decided once with the pattern itself, on several endings; a start whose endings
    disagree (a pattern not decided by five digits) is left undecided, and its cells take the exact path."""

    UNKNOWN, YES, NO, UNDECIDED = 0, 1, 2, 3

    def __init__(self, pattern: re.Pattern) -> None:
        self.full = pattern
        self.state = np.zeros(100_000, np.int8)

    def lookup(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mobile, undecided) for each 5-digit start."""
        state = self.state
        new = np.unique(starts[state[starts] == self.UNKNOWN])
        for p in new.tolist():
            head = f"{p:05d}"
            verdicts = {self.full.fullmatch(head + tail) is not None for tail in _SUFFIXES}
            if len(verdicts) > 1 or (True in verdicts and not re.match("1[3-9]", head)):
                # not decided by five digits, or a mobile the reference's own pattern (1[3-9]...) would not see
                state[p] = self.UNDECIDED
            else:
                state[p] = self.YES if verdicts.pop() else self.NO
        got = state[starts]
        return got == self.YES, got == self.UNDECIDED


class Cells:
    """Cells of one column: their bytes' spans, which are certain (``regular``), and for those the verdict."""

    __slots__ = ("start", "end", "quoted", "regular", "hit", "digits_at", "digits_len")

    def __init__(self, start, end, quoted, regular, hit, digits_at, digits_len) -> None:
        self.start, self.end, self.quoted = start, end, quoted
        self.regular, self.hit = regular, hit
        self.digits_at, self.digits_len = digits_at, digits_len  # where the number of a hit starts, its length


class Shapes:
    def __init__(self, rules: PiiRules) -> None:
        self.rules = rules
        self.starts = MobileStarts(rules.mobile_full)
        self.provinces = np.zeros(100, bool)
        for p in rules.provinces:
            if len(p) == 2 and p.isdigit():
                self.provinces[int(p)] = True

    # ------------------------------------------------------------------ the shapes
    @staticmethod
    def _layout(a: np.ndarray, start: np.ndarray, end: np.ndarray, quoted: np.ndarray):
        """(matrix of the first WIDTH bytes, length, where the digits start, how many, plain/wrapped, empty of
        digits) per cell. Wrapped: ="D" in an unquoted cell, =""D"" (doubled quotes) in a quoted one."""
        n = len(start)
        length = end - start
        mat = _first_bytes(a, start)
        within = np.arange(WIDTH) < length[:, None]
        digit = ((mat - ZERO) < 10) & within
        ndig = _row_counts(digit)
        fits = length <= WIDTH
        plain = fits & (ndig == length) & (length > 0)
        lead = np.where(quoted, 3, 2)  # ="  /  =""
        tail = np.where(quoted, 2, 1)
        wrapped = fits & (length > lead + tail) & (mat[:, 0] == EQUALS) & (mat[:, 1] == QUOTE) & \
            (~quoted | (mat[:, 2] == QUOTE))
        last = np.clip(length - 1, 0, WIDTH - 1)
        rows = np.arange(n)
        wrapped &= mat[rows, last] == QUOTE
        wrapped &= ~quoted | (mat[rows, np.clip(length - 2, 0, WIDTH - 1)] == QUOTE)
        wrapped &= ndig == length - lead - tail
        at = np.where(wrapped, lead, 0)
        count = np.where(wrapped, length - lead - tail, np.where(plain, length, 0))
        odd = (mat >= 0x80) & within  # a non-ASCII byte, or an ASCII mask character, in the cell
        for ch in ASCII_MASKS:
            odd |= (mat == ch) & within
        bare = fits & (ndig == 0) & ~_row_any(odd)
        return mat, length, at, count, plain, wrapped, bare

    @staticmethod
    def _number(mat: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
        """The ``width`` digits from ``at`` of each row of ``mat`` as an integer."""
        rows = np.arange(len(mat))
        number = np.zeros(len(mat), np.int64)
        for k in range(width):  # a column of digits at a time
            number = number * 10 + (mat[rows, np.minimum(at + k, WIDTH - 1)].astype(np.int64) - ZERO) % 10
        return number

    def mobile(self, a: np.ndarray, start, end, quoted) -> Cells:
        """A mobile (or landline) column: regular cells and whether each holds a mobile the reference counts."""
        mat, length, at, count, plain, wrapped, bare = self._layout(a, start, end, quoted)
        n = len(start)
        hit = np.zeros(n, bool)
        digits_at = at.copy()
        first4 = self._number(mat, at, 4)
        first2 = first4 // 100
        plain_ok = plain & ((count >= 12) | ((count == 11) & (first4 != 86)))
        regular = bare | plain_ok | wrapped
        for size, skip, ok in ((11, 0, None), (13, 2, first2 == 86), (15, 4, first4 == 86)):
            sel = (plain_ok | wrapped) & (count == size)
            if ok is not None:
                sel &= ok
            rows = np.flatnonzero(sel)
            if len(rows):
                yes, undecided = self.starts.lookup(self._number(mat[rows], at[rows] + skip, 5))
                regular[rows[undecided]] = False
                good = rows[yes]
                hit[good] = True
                digits_at[good] = at[good] + skip
        return Cells(start, end, quoted, regular, hit, digits_at, np.where(hit, 11, count))

    def id_number(self, a: np.ndarray, start, end, quoted) -> Cells:
        """An ID-number column: regular cells (digits, 17 digits and X) and whether each holds a valid ID."""
        mat, length, at, count, plain, wrapped, bare = self._layout(a, start, end, quoted)
        n = len(start)
        rows = np.arange(n)
        # 17 digits and a final X/x, plain or wrapped
        endx = np.clip(np.where(quoted, length - 3, length - 2), 0, WIDTH - 1)
        lastx_plain = np.clip(length - 1, 0, WIDTH - 1)
        digit = ((mat - ZERO) < 10) & (np.arange(WIDTH) < length[:, None])
        ndig = digit.sum(axis=1)
        xp = (length == 18) & (ndig == 17) & np.isin(mat[rows, lastx_plain], (0x58, 0x78)) & \
            ((mat[:, :17] - ZERO) < 10).all(axis=1)
        lead = np.where(quoted, 3, 2)
        tail = np.where(quoted, 2, 1)
        xw = (mat[:, 0] == EQUALS) & (mat[:, 1] == QUOTE) & (~quoted | (mat[:, 2] == QUOTE)) & \
            (length == 18 + lead + tail) & (ndig == 17) & np.isin(mat[rows, endx], (0x58, 0x78)) & \
            (mat[rows, np.clip(length - 1, 0, WIDTH - 1)] == QUOTE) & \
            (~quoted | (mat[rows, np.clip(length - 2, 0, WIDTH - 1)] == QUOTE))
        at = np.where(xw, lead, at)
        count = np.where(xp | xw, 18, count)
        regular = bare | plain | wrapped | xp | xw
        cand = (plain | wrapped | xp | xw) & ((count == 18) | ((count == 15) & ~(xp | xw)))
        hit = np.zeros(n, bool)
        if cand.any():
            hit = cand & self._valid(mat, at, count, cand)
        return Cells(start, end, quoted, regular, hit, at, count)

    def _valid(self, mat, at, count, cand) -> np.ndarray:
        """cells.id_valid(number, allow15=True) for the digits at ``at`` (18 or 15 characters)."""
        n = len(mat)
        cols = np.minimum(at[:, None] + np.arange(18), WIDTH - 1)
        ch = mat[np.arange(n)[:, None], cols]
        d = (ch.astype(np.int64) - ZERO) % 10
        ok = cand & self.provinces[d[:, 0] * 10 + d[:, 1]]
        is18 = count == 18
        year = np.where(is18, d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9], 1900 + d[:, 6] * 10 + d[:, 7])
        month = np.where(is18, d[:, 10] * 10 + d[:, 11], d[:, 8] * 10 + d[:, 9])
        day = np.where(is18, d[:, 12] * 10 + d[:, 13], d[:, 10] * 10 + d[:, 11])
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        mdays = np.array((0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31))[np.clip(month, 0, 12)] + \
            ((month == 2) & leap)
        ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= mdays)
        ok &= ~is18 | ((year >= 1900) & (year <= dt.date.today().year))
        check = _CHECK[(d[:, :17] * _WEIGHTS).sum(axis=1) % 11]
        last = ch[:, 17]
        upper = np.where(last == 0x78, 0x58, last)
        ok &= ~is18 | (check == upper)
        return ok
