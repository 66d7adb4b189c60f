"""Judging one table (a CSV file or one sheet): which columns hold whose data, and how many rows hold
an unmasked mobile or ID number of a person (the file's record count).

Column-aware: headers decide first (收件人手机 is a mobile column, 商品编码 never is, 寄件人证件号码 is an
ID-number column whoever it names); columns without a known header are judged from the statistics of their first
rows. A sender's phone column counts unless a few numbers fill most of it (then it is the shop's own); region and
remark columns are never names (金华市 and 普通 begin with surnames), and the phones in a remark are counted."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Iterator

from ..headers import norm_header
from ..pii import cells
from ..pii.cells import MASKED, UNMASKED
from ..pii.masking import mask_address, mask_id, mask_mobile, mask_name
from ..pii.rules import PiiRules
from ..table_bounds import BoundedRows, Overflow

SAMPLE_ROWS = 300
SAMPLE_CHARS = 8 << 20  # the rows held for judging columns: at most SAMPLE_ROWS + HEADER_SCAN, at most this much text
HEADER_SCAN = 10
PERSON_KINDS = ("mobile", "id_number", "name", "address")
TOTAL_MARKERS = ("合计", "总计", "小计", "total", "sum")
TOTAL_PREFIXES = frozenset({"合计", "总计", "小计", "to", "To", "TO", "su", "Su", "SU", " 合", " 总", " 小"})
BATCH_ROWS = 8192
BATCH_CHARS = 16 << 20  # rows held at once after the sample: at most BATCH_ROWS, at most this much text
OVERLAP = 40  # characters kept back at the end of an overflow piece: no number is cut in two
EVIDENCE_COLUMNS = 50  # columns recorded per sheet (evidence, incremental state); the rest counted
HEADER_TEXT = 200  # characters of a column's header recorded
ID_WORDS = ("身份证", "证件", "身份號", "ID")
KIND_ORDER = ("id_number", "sender", "not_personal", "mobile", "landline", "tracking", "address", "name")
PHONE_KINDS = ("mobile", "landline")
REGION_ENDS = ("省", "市", "区", "县", "州", "盟", "自治区")  # a value ending so is a place, not a name
SHOP_NUMBERS = 3  # a sender's phone column is the shop's own when this many numbers fill 80 % of its rows
NAME_VARIETY = 0.3  # a column of names has at least this share of distinct values (short-word remarks repeat)


@dataclass
class Column:
    index: int
    header: str | None = None
    kind: str | None = None
    by: str | None = None  # header | values
    excluded: str | None = None  # why a phone-like column does not count
    party: str | None = None  # "sender" when the header names the sender (寄件人电话)
    never_name: bool = False  # the header names a region or a remark

    def to_dict(self) -> dict:
        header = self.header if self.header is None or len(self.header) <= HEADER_TEXT else \
            self.header[:HEADER_TEXT] + "…"
        out = {"index": self.index, "header": header, "kind": self.kind, "by": self.by}
        if self.excluded:
            out["excluded"] = self.excluded
        if self.party:
            out["party"] = self.party
        return out


@dataclass
class TableResult:
    sheet: str
    total_rows: int = 0
    records: int = 0
    id_rows: int = 0
    masked_rows: int = 0
    header: bool = False
    columns: list[Column] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # kind -> "unmasked" | "masked" | "present"
    samples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the reading bounds cut (auditor.table_bounds.Cuts)

    def column_evidence(self) -> dict:
        """The columns recognised, as evidence and incremental state keep them: at most EVIDENCE_COLUMNS,
        the rest counted."""
        cols = [c.to_dict() for c in self.columns if c.kind]
        out: dict = {"columns": cols[:EVIDENCE_COLUMNS]}
        if len(cols) > EVIDENCE_COLUMNS:
            out["columns_omitted"] = len(cols) - EVIDENCE_COLUMNS
        return out

    @property
    def masked_share(self) -> float:
        pi_rows = self.records + self.masked_rows
        return round(self.masked_rows / pi_rows, 4) if pi_rows else 0.0


def _long_enough(word: str) -> bool:
    return len(word) >= 2 if not word.isascii() else len(word) >= 5


@lru_cache(maxsize=64)
def _long_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words of a list long enough to be looked for inside a header (one list of checks/pii.toml)."""
    return tuple(w for w in words if _long_enough(w))


def _header_kind(text: str, rules: PiiRules) -> str | None:
    """The kind a header names. An ID-number word wins over a party word (寄件人证件号码 is an ID-number column);
    a sender's phone (寄件人电话) is a phone column whose party _header_party tells; a name word beside a region
    or remark word (收件人城市, 客户备注) names no kind, the values decide."""
    h = norm_header(text)
    if not h:
        return None
    lists = {"sender": rules.sender, "not_personal": rules.not_personal, **rules.headers}
    kind = next((k for k in KIND_ORDER if h in lists[k]), None)  # exact matches first, in priority order
    if kind is None:
        kind = next((k for k in KIND_ORDER if any(w in h for w in _long_words(lists[k]))), None)
    if kind == "sender" and not any(w in h for w in rules.sender if _shop_line(w, rules)):
        kind = next((k for k in PHONE_KINDS if any(w in h for w in _long_words(lists[k]))), kind)
    if kind == "name" and _never_name(h, rules):
        return None
    return kind


def _shop_line(word: str, rules: PiiRules) -> bool:
    """A sender word that is itself a phone line of the shop (店铺电话, 客服电话)."""
    return any(p in word for k in PHONE_KINDS for p in _long_words(rules.headers[k]))


def _never_name(h: str, rules: PiiRules) -> bool:
    return any(w in h for w in rules.never_name)


def _header_party(text: str, rules: PiiRules) -> str | None:
    h = norm_header(text)
    return "sender" if any(w in h for w in _long_words(rules.sender)) else None


def _is_numberish(text: str) -> bool:
    t = text.replace(".", "").replace("-", "").replace(" ", "").replace("/", "").replace(":", "")
    return t.isdigit()


def _find_header(rows: list[list[str]], rules: PiiRules) -> int | None:
    for i, row in enumerate(rows[:HEADER_SCAN]):
        cells_ = [c for c in row if c]
        if not cells_:
            continue
        if any(rules.candidate.search(c) and (cells.mobiles(c, rules) or len(c) >= 15) for c in cells_):
            continue  # a row holding a mobile or a long number is data, not a header
        known = sum(1 for c in cells_ if len(c) <= 20 and _header_kind(c, rules))
        numeric = sum(1 for c in cells_ if _is_numberish(c))
        if known >= 1 and numeric <= len(cells_) // 2 and known * 4 >= len(cells_) // 2:
            return i
    return None


def code_like(values: list[str]) -> bool:
    """Product codes and serials: sequential, or sharing a long common prefix."""
    nums = sorted({int(v) for v in values if v.isdigit()})
    if len(nums) < 5:
        return False
    close = sum(1 for a, b in zip(nums, nums[1:]) if b - a <= 1000)
    if close * 2 >= len(nums) - 1:
        return True
    prefixes = Counter(str(n)[:7] for n in nums)
    return prefixes.most_common(1)[0][1] * 10 >= len(nums) * 8


def _not_names(col: Column, values: list[str]) -> bool:
    """Values that look like names but are not: a region or remark column by its header, places (金华市, 婺城区),
    or a few short words repeated (普通, 加急, 易碎)."""
    if col.never_name:
        return True
    places = sum(1 for v in values if v.strip().endswith(REGION_ENDS))
    if places * 2 >= len(values):
        return True
    return len(values) >= 10 and len(set(values)) < len(values) * NAME_VARIETY


def _shop_numbers(numbers: list[str]) -> bool:
    """Whether a sender's phone column holds the shop's own numbers: a few of them on most rows. A register of
    walk-in senders has a different number on nearly every row."""
    if len(numbers) < 5:
        return len(set(numbers)) < len(numbers)
    top = sum(c for _, c in Counter(numbers).most_common(SHOP_NUMBERS))
    return top * 10 >= len(numbers) * 8


@dataclass
class _Plan:
    ids: list[int]
    mobiles: list[int]
    free_text: list[int]


def _is_total(row: list[str]) -> bool:
    return row[0][:2] in TOTAL_PREFIXES and row[0].strip().casefold().startswith(TOTAL_MARKERS)


def _take(it: Iterator[list[str]], rows: int, chars: int, src: BoundedRows | None) -> list[list[str]]:
    """The next rows, at most ``rows`` of them and at most about ``chars`` characters of text (as counted by
    the reader, ``src.chars``; by the cells of plain lists)."""
    out: list[list[str]] = []
    if src is not None:
        stop = src.chars + chars
        for row in it:
            out.append(row)
            if len(out) >= rows or src.chars >= stop:
                break
        return out
    size = 0
    for row in it:
        out.append(row)
        size += sum(map(len, row))
        if len(out) >= rows or size >= chars:
            break
    return out


class _OverflowCounter:
    """The people's numbers in text beyond the reading bounds (an over-long line, piece by piece): every
    unmasked mobile, and every valid ID number next to an ID word, is one record; a masked mobile one masked
    row. A line counts as one row. Pieces overlap by OVERLAP characters so that no number is cut or counted
    twice. Numbers written without separators are counted by the regex engine alone (millions in seconds)."""

    def __init__(self, analyzer: "TableAnalyzer", res: "TableResult", cuts) -> None:
        self.analyzer, self.res, self.cuts = analyzer, res, cuts
        self.carry, self.start = "", 0

    def _count(self, pattern, text: str, stop: int) -> int:
        """Matches of ``pattern`` that start in [self.start, stop)."""
        return len(pattern.findall(text, self.start)) - (len(pattern.findall(text, stop)) if stop < len(text) else 0)

    def feed(self, piece: Overflow) -> None:
        an, res = self.analyzer, self.res
        rules = an.rules
        text = self.carry + piece.text
        stop = len(text) if piece.end else max(len(text) - OVERLAP, self.start)
        mobiles = self._count(an.plain_mobile, text, stop)
        if mobiles and len(res.samples) < 3:
            m = an.plain_mobile.search(text, self.start)
            an._sample(res, mask_mobile(re.sub(r"\D", "", m.group(0))[-11:]))
        for m in an.spaced_mobile.finditer(text, self.start):  # 138 1234 5678, 138-1234-5678: rare, checked one by one
            if m.start() >= stop:
                break
            digits = re.sub(r"\D", "", m.group(0))[-11:]
            if rules.mobile_full.fullmatch(digits) and not rules.virtual.match(text, m.start()):  # noqa: E501
                mobiles += 1
        ids = 0
        if any(k in text for k in ID_WORDS):
            for m in rules.id18.finditer(text, self.start):
                if m.start() >= stop:
                    break
                if cells.id_valid(m.group(1), rules, allow15=False):
                    ids += 1
                    if len(res.samples) < 3:
                        an._sample(res, mask_id(m.group(1)))
        masked = self._count(rules.masked_mobile, text, stop) if any(c in text for c in rules.mask_chars) else 0
        res.records += mobiles + ids
        res.id_rows += ids
        res.masked_rows += masked
        if mobiles:
            res.kinds["mobile"] = UNMASKED
        elif masked:
            res.kinds.setdefault("mobile", MASKED)
        if ids:
            res.kinds["id_number"] = UNMASKED
        if self.cuts is not None:
            self.cuts.overflow_mobiles += mobiles
            self.cuts.overflow_ids += ids
        if piece.end:
            res.total_rows += 1
            self.carry, self.start = "", 0
        else:
            keep = max(stop - 8, 0)  # a little context before ``stop`` for the look-behind of the patterns
            self.carry, self.start = text[keep:], stop - keep


def _value_stats(v: str, rules: PiiRules) -> tuple[str, ...]:
    """The statistics one cell value adds to its column's (``_judge_by_values``; a column whose kind is not
    yet known, so not an ID-number column)."""
    out = []
    ms, _ = cells.mobile_status(v, rules)
    if ms:
        out.append(f"mobile_{ms}")
    ids, _ = cells.id_status(v, rules, id_column=False)
    if ids:
        out.append(f"id_{ids}")
    ns = cells.name_status(v, rules)
    if ns:
        out.append(f"name_{ns}")
    ad = cells.address_status(v, rules)
    if ad:
        out.append(f"address_{ad}")
    if cells.tracking(v, rules):
        out.append("tracking")
    return tuple(out)


def _until(values: list[str], status, stop: str) -> list[str | None]:
    """``status`` of each value in turn, up to and including the first that is ``stop``."""
    out = []
    for v in values:
        out.append(status(v))
        if out[-1] == stop:
            break
    return out


def _line_hits(pattern, text: str):
    """(line number, match) for every match of a pattern in newline-joined cells."""
    line = pos = 0
    for m in pattern.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        yield line, m


class TableAnalyzer:
    def __init__(self, rules: PiiRules) -> None:
        self.rules = rules
        # for text beyond the reading bounds (_OverflowCounter): a real mobile written as 11 digits (not a
        # platform privacy number with an extension), and one written with spaces or dashes inside
        edge = rules.run_chars  # a mobile is no part of a longer run of these (checks/pii.toml)
        self.plain_mobile = re.compile(rf"(?<![{edge}])(?:(?:\+|00)?86)?(?:{rules.mobile_full.pattern})(?![{edge}])"
                                       r"(?![-_转]\d)")
        self.spaced_mobile = re.compile(rf"1(?<![{edge}]1)[3-9]\d(?:[\s\-]\d{{4}}[\s\-]?|\d{{4}}[\s\-])\d{{4}}(?![{edge}])")

    def analyze(self, rows: Iterable[list[str]], sheet: str = "") -> TableResult:
        """Judge one table. ``rows`` from auditor.tabular (BoundedRows) also hands over the text beyond the
        reading bounds, whose numbers are counted; what was cut ends up in ``notes``."""
        res = TableResult(sheet)
        bounded = rows if isinstance(rows, BoundedRows) else None
        cuts = bounded.cuts if bounded is not None else None
        if bounded is not None:
            bounded.on_overflow = _OverflowCounter(self, res, cuts).feed
        it: Iterator[list[str]] = iter(rows)
        head = _take(it, SAMPLE_ROWS + HEADER_SCAN, SAMPLE_CHARS, bounded)
        plan = self.begin(res, head)
        while True:  # the rest in batches, column-wise, with one regex pass per column
            batch = _take(it, BATCH_ROWS, BATCH_CHARS, bounded)
            if not batch:
                break
            if not self._batch(batch, res, plan):
                for row in batch:
                    self._row(row, res, plan)
        if cuts is not None:
            res.notes = cuts.notes()
        return res

    def begin(self, res: TableResult, head: list[list[str]]) -> _Plan:
        """Judge a table's first rows (at most SAMPLE_ROWS + HEADER_SCAN): its header and the kind of each
        column, the kinds and samples they show, and the records among them. The plan names the columns the
        rest of the table is counted in (by ``analyze``'s batches, or by auditor.files.kernel)."""
        rules = self.rules
        hdr_i = _find_header(head, rules)
        width = max((len(r) for r in head), default=0)
        columns = [Column(i) for i in range(width)]
        if hdr_i is not None:
            res.header = True
            for i, text in enumerate(head[hdr_i]):
                if i < width and text:
                    columns[i].header = text
                    kind = _header_kind(text, rules)
                    if kind:
                        columns[i].kind, columns[i].by = kind, "header"
                    if kind in ("id_number", *PHONE_KINDS):
                        columns[i].party = _header_party(text, rules)
                    columns[i].never_name = _never_name(norm_header(text), rules)
            sample = head[hdr_i + 1:]
        else:
            sample = head
        sample = [[cells.clean(c) for c in r] for r in sample]
        self._judge_by_values(columns, sample, headerless=hdr_i is None)
        res.columns = columns
        counted_ids = [c.index for c in columns if c.kind == "id_number"]
        counted_mobiles = [c.index for c in columns if c.kind in ("mobile", "landline") and not c.excluded]
        person_sheet = any(c.kind in PERSON_KINDS and not c.excluded for c in columns)
        free_text = [c.index for c in columns if c.kind is None] if person_sheet else []
        kind_cols = [c for c in columns if c.kind in ("name", "address", "tracking", "landline")]
        self._kinds_from_sample(res, kind_cols, sample)
        plan = _Plan(counted_ids, counted_mobiles, free_text)
        for row in sample:
            self._row(row, res, plan)
        return plan

    # ------------------------------------------------------------------ rows
    def _row(self, row: list[str], res: TableResult, plan: _Plan) -> None:
        """One row, cell by cell (the sample, and batches the fast path cannot take)."""
        rules = self.rules
        if not any(row) or _is_total(row):
            return
        res.total_rows += 1
        unmasked = masked = False
        for i in plan.ids:
            if i < len(row) and row[i]:
                status, value = cells.id_status(cells.clean(row[i]), rules, id_column=True)
                if status == UNMASKED:
                    unmasked = True
                    res.id_rows += 1
                    res.kinds["id_number"] = UNMASKED
                    if len(res.samples) < 3:
                        self._sample(res, mask_id(value))
                    break
                if status == MASKED:
                    masked = True
                    res.kinds.setdefault("id_number", MASKED)
        for i in plan.mobiles:
            if i < len(row) and row[i]:
                status, value = cells.mobile_status(row[i], rules)
                if status == UNMASKED:
                    unmasked = True
                    res.kinds["mobile"] = UNMASKED
                    if len(res.samples) < 3:
                        self._sample(res, mask_mobile(value))
                    break
                if status == MASKED:
                    masked = True
                    res.kinds.setdefault("mobile", MASKED)
        if not unmasked:
            unmasked = self._free_text(row, res, plan)
        if unmasked:
            res.records += 1
        elif masked:
            res.masked_rows += 1

    def _free_text(self, row: list[str], res: TableResult, plan: _Plan) -> bool:
        rules = self.rules
        for i in plan.free_text:
            if i < len(row) and row[i] and rules.candidate.search(row[i]):
                # an 18-digit number in free text is far more often an order number than an ID number (one in
                # a few hundred random ones passes the checksum): only count it next to an ID keyword
                status = None
                if any(k in row[i] for k in ID_WORDS):
                    status, _ = cells.id_status(row[i], rules, id_column=False)
                if status == UNMASKED:
                    res.id_rows += 1
                    res.kinds["id_number"] = UNMASKED
                    return True
                if cells.mobiles(row[i], rules):
                    res.kinds["mobile"] = UNMASKED
                    return True
        return False

    def _batch(self, batch: list[list[str]], res: TableResult, plan: _Plan) -> bool:
        """The same judgement as _row for many rows at once: each counted column is joined into one
        text and searched with one regex pass. False when a cell holds a line break (then _row)."""
        rules = self.rules
        rows = [r for r in batch if any(r) and (r[0][:2] not in TOTAL_PREFIXES or not _is_total(r))]
        if not plan.ids and plan.mobiles and self._count_lines(rows, res, plan):
            return True
        unmasked: set[int] = set()
        masked: set[int] = set()
        id_hits: set[int] = set()
        for i in plan.ids:
            col = [r[i] if i < len(r) else "" for r in rows]
            text = "\n".join(col)
            if text.count("\n") != len(col) - 1:
                return False
            for line, m in _line_hits(rules.id18, text):
                if line not in id_hits and cells.id_valid(m.group(1), rules, allow15=True):
                    id_hits.add(line)
                    if len(res.samples) < 3:
                        self._sample(res, mask_id(m.group(1)))
            for line, _m in _line_hits(rules.masked_id, text):
                masked.add(line)
        unmasked |= id_hits
        for i in plan.mobiles:
            col = [r[i] if i < len(r) else "" for r in rows]
            text = "\n".join(col)
            if text.count("\n") != len(col) - 1:
                return False
            for line, m in _line_hits(rules.mobile, text):
                if line in unmasked:
                    continue
                digits = "".join(m.groups())
                if not rules.mobile_full.fullmatch(digits) or rules.virtual.match(text, m.start(1)):
                    if not cells.mobiles(col[line], rules):  # another number in the same cell may be real
                        continue
                unmasked.add(line)
                if len(res.samples) < 3:
                    self._sample(res, mask_mobile(digits))
            for line, _m in _line_hits(rules.masked_mobile, text):
                masked.add(line)
            for line, _m in _line_hits(rules.virtual, text):
                masked.add(line)
        if plan.free_text:
            for line, row in enumerate(rows):
                if line not in unmasked and self._free_text(row, res, plan):
                    unmasked.add(line)
        if id_hits:
            res.kinds["id_number"] = UNMASKED
        elif masked and plan.ids:
            res.kinds.setdefault("id_number", MASKED)
        if unmasked - id_hits:
            res.kinds["mobile"] = UNMASKED
        elif masked and plan.mobiles:
            res.kinds.setdefault("mobile", MASKED)
        res.total_rows += len(rows)
        res.records += len(unmasked)
        res.id_rows += len(id_hits)
        res.masked_rows += len(masked - unmasked)
        return True

    def _count_lines(self, rows: list[list[str]], res: TableResult, plan: _Plan) -> bool:
        """Fastest path, for mobile columns only: join the counted cells row by row, remove separators
        inside numbers, and count the lines that hold a real mobile with one regex pass (at most one
        match per line). Declines (False) for mixed batches, where exact per-line sets are needed."""
        rules = self.rules
        cols = [[r[i] if i < len(r) else "" for r in rows] for i in plan.mobiles]
        lines = cols[0] if len(cols) == 1 else list(map("\x1f".join, zip(*cols)))
        text = "\n".join(lines)
        if text.count("\n") != len(lines) - 1:
            return False
        text = rules.digit_sep.sub("", text)
        hits = rules.mobile_line.findall(text)
        masked = rules.masked_line.findall(text)
        if hits and masked:
            return False
        if hits and len(hits) < len(lines) and plan.free_text:
            return False  # rows without a mobile may still hold one in free text: take the exact path
        res.total_rows += len(rows)
        res.records += len(hits)
        res.masked_rows += len(masked)
        if hits:
            res.kinds["mobile"] = UNMASKED
            if len(res.samples) < 3:
                m = rules.mobile.search(hits[0][-16:])
                if m:
                    self._sample(res, mask_mobile("".join(m.groups())))
        elif masked:
            res.kinds.setdefault("mobile", MASKED)
        if not hits and plan.free_text:
            for row in rows:
                if self._free_text(row, res, plan):
                    res.records += 1
        return True

    # ------------------------------------------------------------------ column judgement
    def _judge_by_values(self, columns: list[Column], sample: list[list[str]], headerless: bool) -> None:
        rules = self.rules
        stats: dict[int, Counter] = {}
        seen: dict[str, tuple[str, ...]] = {}  # value -> its statistics
        for col in columns:
            if col.kind is not None:
                continue  # its header named its kind (so the table has a header): its statistics decide nothing
            values = [r[col.index] for r in sample if col.index < len(r) and r[col.index]]
            if not values:
                continue
            c: Counter = Counter()
            for v, times in Counter(values).items():  # each distinct value judged once
                found = seen.get(v)
                if found is None:
                    found = seen[v] = _value_stats(v, rules)
                for stat in found:
                    c[stat] += times
            c["n"] = len(values)
            stats[col.index] = c
            n = len(values)
            mob = c["mobile_unmasked"] + c["mobile_masked"]
            if c["id_unmasked"] + c["id_masked"] >= n / 2:
                col.kind, col.by = "id_number", "values"
            elif mob >= n / 2:
                col.kind, col.by = "mobile", "values"
            elif c["address_unmasked"] + c["address_masked"] >= n / 2:
                col.kind, col.by = "address", "values"
            elif c["name_unmasked"] + c["name_masked"] >= n * 0.6 and not _not_names(col, values):
                col.kind, col.by = "name", "values"
            elif c["tracking"] >= n * 0.6:
                col.kind, col.by = "tracking", "values"
        # phone columns that are not people's numbers
        for col in columns:
            if col.kind not in ("mobile", "landline"):
                continue
            values = [r[col.index] for r in sample if col.index < len(r) and r[col.index]]
            digits = ["".join(cells.mobiles(v, rules)[:1]) for v in values]
            digits = [d for d in digits if d]
            if col.party == "sender":
                if _shop_numbers(digits or values):
                    col.excluded = "a few numbers on most rows (the shop's own as sender)"
                continue
            if len(values) >= 5:
                top = Counter(values).most_common(1)[0][1]
                if top * 10 >= len(values) * 8:
                    col.excluded = "one number on most rows (the sender's own number)"
                    continue
            if col.by == "values" and code_like(digits):
                col.excluded = "sequential or clustered codes, not people's numbers"
        if headerless:
            others = any(c.kind in ("name", "address", "id_number") for c in columns)
            for col in columns:
                c = stats.get(col.index, Counter())
                # a combined cell ("张三，138…，浙江省…") carries its own person signal
                combined = c["address_unmasked"] + c["address_masked"] >= c["n"] * 0.3
                if col.kind == "mobile" and col.by == "values" and not col.excluded and not others and not combined:
                    digits = [d for r in sample if col.index < len(r) for d in cells.mobiles(r[col.index], rules)]
                    diverse = len({d[:3] for d in digits}) >= 8
                    if not (diverse and c["mobile_unmasked"] * 10 >= c["n"] * 9):
                        col.excluded = "numbers alone without names, addresses or headers"

    def _kinds_from_sample(self, res: TableResult, kind_cols: list[Column], sample: list[list[str]]) -> None:
        rules = self.rules
        for col in kind_cols:
            values = [r[col.index] for r in sample if col.index < len(r) and r[col.index]]
            if not values:
                continue
            # the values are judged up to the first that decides (an unmasked name or address, a landline or
            # tracking number present): what comes after it changes neither the kind nor the sample
            if col.kind == "name":
                st = _until(values, lambda v: cells.name_status(v, rules), UNMASKED)
                sample_value = values[len(st) - 1] if st[-1] == UNMASKED else None
                if sample_value and len(res.samples) < 3:
                    self._sample(res, mask_name(sample_value))
            elif col.kind == "address":
                st = _until(values, lambda v: cells.address_status(v, rules), UNMASKED)
                sample_value = values[len(st) - 1] if st[-1] == UNMASKED else None
                if sample_value and len(res.samples) < 3:
                    self._sample(res, mask_address(sample_value))
            elif col.kind == "landline":
                st = _until(values, lambda v: "present" if cells.landline(v, rules) else None, "present")
            else:
                st = _until(values, lambda v: "present" if cells.tracking(v, rules) else None, "present")
            if UNMASKED in st:
                res.kinds[col.kind] = UNMASKED
            elif MASKED in st:
                res.kinds.setdefault(col.kind, MASKED)
            elif "present" in st:
                res.kinds.setdefault(col.kind, "present")

    @staticmethod
    def _sample(res: TableResult, masked_value: str) -> None:
        if masked_value not in res.samples:
            res.samples.append(masked_value)
