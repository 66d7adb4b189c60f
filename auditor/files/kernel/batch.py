"""One batch of a text table (BATCH_ROWS records after the first rows), judged exactly as
auditor.files.table_scan.TableAnalyzer judges it: the same path (its line-wise count, its column-wise
``_batch``, or row by row), the same records, ID rows, masked rows, kinds and samples.

The regular cells of the counted columns are decided by column at once (kernel.shapes); only the irregular
ones — masked numbers, numbers with separators or words around them, non-ASCII text — are read as text and
searched with the reference's own patterns, in one pass per column over just those cells. Free-text columns
are searched only in the rows the reference searches, and only in cells whose bytes may hold a number.

``judge`` returns False when the batch needs the reference itself (a counted cell holding a line break:
the reference then goes row by row, after a partial column pass whose samples count); the caller runs the
reference code on that batch's rows."""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from ...pii import cells as cellrules
from ...pii.cells import MASKED, UNMASKED
from ...pii.masking import mask_id, mask_mobile
from ..table_scan import ID_WORDS, TOTAL_PREFIXES, TableAnalyzer, TableResult, _is_total, _line_hits
from .grid import Grid, join_spans
from .shapes import Cells, Shapes

# the end of a cell a match of the reference's mobile pattern (whose separators include a line break) may
# run on from into the next row's cell: "86", "138", "138 1234" (with an optional +86 / 0086 before), not
# inside a longer run of letters and digits (the pattern's own boundary, PiiRules.run_chars)
_MAY_CONTINUE = r"(?<![{edge}])(?:(?:\+|00)?86|(?:(?:\+|00)?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d{{4}})?)\Z"
_GAP = "\n#\n"  # between separate runs of cells: no match crosses it


def _anywhere(pattern: re.Pattern) -> re.Pattern:
    """A pattern matching from the start of each line that holds a match of ``pattern``."""
    return re.compile(r"(?m)^[^\n]*?(?:" + pattern.pattern + ")")


def _flags(pattern: re.Pattern, text: str, n: int) -> np.ndarray:
    """For the n lines of ``text`` (each ending with a line break), whether ``pattern`` — anchored at the line
    start as ``_anywhere`` makes it — matches."""
    if not n:
        return np.zeros(0, bool)
    # the lines of the text with every match replaced by a NUL, as text.split would cut them: a line is flagged
    # when it starts with a NUL (found in the bytes, where a line break and a NUL are single bytes)
    a = np.frombuffer(pattern.sub("\x00", text).encode("utf-8", "surrogatepass"), np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(a == 0x0A)[:n - 1] + 1))
    if len(starts) < n:
        raise ValueError("fewer lines than cells")  # as np.fromiter over too few lines did: the reference reads it
    flags = np.zeros(n, bool)
    inside = starts < len(a)
    flags[inside] = a[starts[inside]] == 0
    return flags


class Column:
    """A counted column of a batch: the regular cells' verdicts, the irregular cells as text."""

    def __init__(self, index: int, cells: Cells, texts: dict[int, str]) -> None:
        self.index, self.cells, self.texts = index, cells, texts

    @property
    def irregular(self) -> np.ndarray:
        return np.flatnonzero(~self.cells.regular)


class BatchJudge:
    def __init__(self, analyzer: TableAnalyzer, shapes: Shapes, decode: Callable[[bytes], str],
                 encode: Callable[[str], bytes]) -> None:
        self.an, self.rules, self.shapes, self.decode = analyzer, analyzer.rules, shapes, decode
        rules = self.rules
        self.total_prefixes = sorted({encode(p) for p in TOTAL_PREFIXES})
        self.id_words = [encode(w) for w in ID_WORDS]
        self.may_continue = re.compile(_MAY_CONTINUE.format(edge=rules.run_chars))
        self.mobile_line = rules.mobile_line
        self.masked_line = rules.masked_line
        self.masked_mobile = _anywhere(rules.masked_mobile)
        self.virtual = _anywhere(rules.virtual)
        self.masked_id = _anywhere(rules.masked_id)

    # ------------------------------------------------------------------ text of cells
    def texts(self, grid: Grid, start: np.ndarray, end: np.ndarray, quoted: np.ndarray) -> list[str] | None:
        """The cells' text as the csv reader gives it; None when one holds a line break."""
        if not len(start):
            return []
        text = self.decode(grid.text(start, end))
        if grid.rfc and quoted.any():
            text = text.replace('""', '"')
        parts = text.split("\n")
        if len(parts) != len(start) + 1:
            return None
        parts.pop()
        return parts

    def each_text(self, grid: Grid, start: np.ndarray, end: np.ndarray, quoted: np.ndarray) -> list[str]:
        """The cells' text as the csv reader gives it, line breaks inside cells included."""
        texts = self.texts(grid, start, end, quoted)
        if texts is not None:
            return texts
        return [self._with_breaks(grid, int(s), int(e), bool(q)) for s, e, q in zip(start, end, quoted)]

    def _with_breaks(self, grid: Grid, start: int, end: int, quoted: bool) -> str:
        text = self.decode(grid.buf[start:end])
        return text.replace('""', '"') if grid.rfc and quoted else text

    def kept(self, grid: Grid, recs: np.ndarray) -> np.ndarray:
        """The records the reference counts: not empty, not a total row."""
        full, undecided = grid.nonempty(recs)
        if undecided.any():
            import csv

            for i in np.flatnonzero(undecided):
                r = recs[i]
                line = self.decode(grid.buf[grid.starts[r]:grid.ends[r]] + b"\n")[:-1]
                full[i] = any(next(csv.reader([line], delimiter=grid.delimiter), []))
        maybe = np.flatnonzero(full & grid.starting_with(recs, self.total_prefixes))
        if len(maybe):
            start, end, quoted = grid.cell(0, recs[maybe])
            for i, first in zip(maybe, self.texts(grid, start, end, quoted) or []):
                if _is_total([first]):
                    full[i] = False
        return recs[full]

    def column(self, grid: Grid, index: int, rows: np.ndarray, kind: str) -> Column | None:
        start, end, quoted = grid.cell(index, rows)
        shape = self.shapes.mobile if kind == "mobile" else self.shapes.id_number
        cells = shape(grid.a, start, end, quoted)
        irregular = np.flatnonzero(~cells.regular)
        texts = self.texts(grid, start[irregular], end[irregular], quoted[irregular])
        if texts is None:
            return None
        return Column(index, cells, dict(zip(irregular.tolist(), texts)))

    def cell_texts(self, grid: Grid, index: int, rows: np.ndarray) -> list[str]:
        start, end, quoted = grid.cell(index, rows)
        return self.each_text(grid, start, end, quoted)

    def digits(self, grid: Grid, col: Column, i: int) -> str:
        c = col.cells
        at = int(c.start[i] + c.digits_at[i])
        return grid.buf[at:at + int(c.digits_len[i])].decode("ascii")

    # ------------------------------------------------------------------ the batch
    def judge(self, grid: Grid, recs: np.ndarray, res: TableResult, plan) -> bool:
        rows = self.kept(grid, recs)
        n = len(rows)
        ids = [self.column(grid, i, rows, "id") for i in plan.ids]
        mobiles = [self.column(grid, i, rows, "mobile") for i in plan.mobiles]
        if any(c is None for c in ids + mobiles):
            return False  # a counted cell holds a line break: the reference goes row by row
        if not plan.ids and plan.mobiles and self._count_lines(grid, rows, mobiles, res, plan):
            return True
        self._columns(grid, rows, ids, mobiles, res, plan)
        return True

    # ---- the reference's _count_lines: mobile columns only, one line per row
    def _count_lines(self, grid: Grid, rows: np.ndarray, mobiles: list[Column], res: TableResult, plan) -> bool:
        n = len(rows)
        hits = np.zeros(n, bool)
        for col in mobiles:
            hits |= col.cells.hit & col.cells.regular
        masked = np.zeros(n, bool)
        odd = np.unique(np.concatenate([col.irregular for col in mobiles])) if mobiles else np.zeros(0, int)
        if len(odd):
            text = self.rules.digit_sep.sub("", "".join(line + "\n" for line in self._lines(grid, rows, mobiles, odd)))
            hits[odd] = _flags(self.mobile_line, text, len(odd))
            masked[odd] = _flags(self.masked_line, text, len(odd))
        h, m = int(hits.sum()), int(masked.sum())
        if h and m:
            return False
        if h and h < n and plan.free_text:
            return False
        res.total_rows += n
        res.records += h
        res.masked_rows += m
        if h:
            res.kinds["mobile"] = UNMASKED
            if len(res.samples) < 3:
                first = int(np.flatnonzero(hits)[0])
                line = self.rules.digit_sep.sub("", self._line(grid, rows, mobiles, first))
                found = self.mobile_line.findall(line)
                sm = self.rules.mobile.search(found[0][-16:]) if found else None
                if sm:
                    self.an._sample(res, mask_mobile("".join(sm.groups())))
        elif m:
            res.kinds.setdefault("mobile", MASKED)
        if not h and plan.free_text:
            res.records += int(self._free_text(grid, rows, np.arange(n), res, plan).sum())
        return True

    def _line(self, grid: Grid, rows: np.ndarray, mobiles: list[Column], i: int) -> str:
        """The reference's line of row i: its mobile cells joined by \\x1f."""
        return self._lines(grid, rows, mobiles, np.array([i]))[0]

    def _lines(self, grid: Grid, rows: np.ndarray, mobiles: list[Column], which: np.ndarray) -> list[str]:
        """The reference's lines of rows ``which``: their mobile cells joined by \\x1f (the texts of a column's
        regular cells among them read at once)."""
        columns = []
        for col in mobiles:
            regular = which[col.cells.regular[which]]
            if not len(regular):
                columns.append([col.texts[i] for i in which.tolist()])
                continue
            texts = dict(zip(regular.tolist(), self.cell_texts(grid, col.index, rows[regular])))
            texts.update((i, col.texts[i]) for i in which.tolist() if i not in texts)
            columns.append([texts[i] for i in which.tolist()])
        return columns[0] if len(columns) == 1 else list(map("\x1f".join, zip(*columns)))

    # ---- the reference's _batch: column by column
    def _columns(self, grid: Grid, rows: np.ndarray, ids: list[Column], mobiles: list[Column],
                 res: TableResult, plan) -> None:
        n = len(rows)
        rules = self.rules
        unmasked = np.zeros(n, bool)
        masked = np.zeros(n, bool)
        id_hits = np.zeros(n, bool)
        samples: list[tuple[int, int, str]] = []  # (column order, row, masked value)
        want = len(res.samples) < 3
        for order, col in enumerate(ids):
            hit = col.cells.hit & col.cells.regular
            firsts: dict[int, str] = {}
            odd = col.irregular
            if len(odd):
                lines = [col.texts[i] for i in odd.tolist()]
                text = "\n".join(lines)
                for line, m in _line_hits(rules.id18, text):
                    r = int(odd[line])
                    if r not in firsts and cellrules.id_valid(m.group(1), rules, allow15=True):
                        firsts[r] = m.group(1)
                        hit[r] = True
                masked[odd] |= _flags(self.masked_id, text + "\n", len(odd))
            if want:
                for r in np.flatnonzero(hit & ~id_hits).tolist():
                    value = firsts.get(r) or self.digits(grid, col, r)
                    samples.append((order, r, mask_id(value)))
            id_hits |= hit
        unmasked |= id_hits
        for order, col in enumerate(mobiles, len(ids)):
            qual, firsts, col_masked = self._mobile_column(grid, col)
            masked |= col_masked
            if want:
                for r in np.flatnonzero(qual & ~unmasked).tolist():
                    value = firsts.get(r) or self.digits(grid, col, r)
                    samples.append((order, r, mask_mobile(value)))
            unmasked |= qual
        for _order, _r, value in samples:
            if len(res.samples) >= 3:
                break
            self.an._sample(res, value)
        if plan.free_text:
            todo = np.flatnonzero(~unmasked)
            unmasked[todo] |= self._free_text(grid, rows, todo, res, plan)
        if id_hits.any():
            res.kinds["id_number"] = UNMASKED
        elif masked.any() and plan.ids:
            res.kinds.setdefault("id_number", MASKED)
        if (unmasked & ~id_hits).any():
            res.kinds["mobile"] = UNMASKED
        elif masked.any() and plan.mobiles:
            res.kinds.setdefault("mobile", MASKED)
        res.total_rows += n
        res.records += int(unmasked.sum())
        res.id_rows += int(id_hits.sum())
        res.masked_rows += int((masked & ~unmasked).sum())

    def _mobile_column(self, grid: Grid, col: Column) -> tuple[np.ndarray, dict[int, str], np.ndarray]:
        """(rows holding a mobile as _batch counts it, the digits of each one's first, masked rows). The
        irregular cells are searched in runs, each with the next row when a number may run on into it."""
        rules = self.rules
        c = col.cells
        n = len(c.hit)
        qual = c.hit & c.regular
        masked = np.zeros(n, bool)
        firsts: dict[int, str] = {}
        odd = col.irregular
        if not len(odd):
            return qual, firsts, masked
        texts = col.texts
        plain = "".join(texts[i] + "\n" for i in odd.tolist())
        masked[odd] = _flags(self.masked_mobile, plain, len(odd)) | _flags(self.virtual, plain, len(odd))
        # runs of consecutive irregular rows, with the following row where a match may run on into it
        rowmap: list[int] = []
        chunks: list[str] = []
        odd_rows = odd.tolist()
        bounds = [0, *(np.flatnonzero(np.diff(odd) != 1) + 1).tolist(), len(odd_rows)]
        for a, b in zip(bounds, bounds[1:]):
            members = odd_rows[a:b]
            last = members[-1]
            if last + 1 < n and self.may_continue.search(texts[last]):
                members.append(last + 1)
                qual[last + 1] = False  # decided again below, with what runs on into it
            if chunks:
                chunks.append(_GAP)
                rowmap.append(-1)
            chunks.append("\n".join(texts[i] if i in texts else self._regular_text(grid, col, i) for i in members))
            rowmap.extend(members)
        text = "".join(chunks)
        lines = text.split("\n")
        for line, m in _line_hits(rules.mobile, text):
            r = rowmap[line]
            if r < 0 or r in firsts:
                continue
            digits = "".join(m.groups())
            if not rules.mobile_full.fullmatch(digits) or rules.virtual.match(text, m.start(1)):
                if not cellrules.mobiles(lines[line], rules):
                    continue
            firsts[r] = digits
            qual[r] = True
        return qual, firsts, masked

    def _regular_text(self, grid: Grid, col: Column, i: int) -> str:
        c = col.cells
        return self.texts(grid, c.start[i:i + 1], c.end[i:i + 1], c.quoted[i:i + 1])[0]

    # ---- free text
    def _free_text(self, grid: Grid, rows: np.ndarray, todo: np.ndarray, res: TableResult, plan) -> np.ndarray:
        """The reference's _free_text for rows[todo], in order (it counts ID rows and kinds itself): only rows
        whose free-text cells' bytes may hold a mobile (1, 3-9, a digit) or an ID word are read as text."""
        out = np.zeros(len(todo), bool)
        if not len(todo):
            return out
        recs = rows[todo]
        maybe = np.zeros(len(todo), bool)
        spans = []
        for index in plan.free_text:
            start, end, quoted = grid.cell(index, recs)
            spans.append((index, start, end, quoted))
            buf = join_spans(grid.a, start, end, b"\n")
            b = np.frombuffer(buf, np.uint8)
            if len(b) < 3 and not any(w in buf for w in self.id_words):
                continue
            at = np.flatnonzero((b[:-2] == 0x31) & ((b[1:-1] - 0x33) < 7) & (((b[2:] - 0x30) < 10) | (b[2:] >= 0x80)))
            for word in self.id_words:
                pos = buf.find(word)
                found = []
                while pos >= 0:
                    found.append(pos)
                    pos = buf.find(word, pos + 1)
                if found:
                    at = np.concatenate([at, np.array(found, np.int64)])
            if len(at):
                offsets = np.cumsum(end - start + 1) - (end - start + 1)
                maybe[np.searchsorted(offsets, at, side="right") - 1] = True
        which = np.flatnonzero(maybe)
        if not len(which):
            return out
        widths = grid.widths(recs[which])
        columns = {index: self.each_text(grid, s[which], e[which], q[which])
                   for index, s, e, q in spans}
        for j, (i, width) in enumerate(zip(which.tolist(), widths.tolist())):
            row = [""] * width
            for index, texts in columns.items():
                if index < width:
                    row[index] = texts[j]
            out[i] = self.an._free_text(row, res, plan)
        return out
