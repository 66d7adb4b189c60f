"""Masked versions of CSV and XLSX exports, judged column by column exactly as the files area judges them.

Which columns: the files area's TableAnalyzer decides (headers first, then the values); mobile and landline
columns, ID-number columns, name columns and address columns are masked, and, on a sheet holding people's
data, mobiles and valid ID numbers inside any other free-text column (a remark with a phone number). Sender
columns, order numbers, product codes and tracking numbers are left alone.

How (GB/T 41833 and auditor.pii.masking): a mobile keeps 3 + 2 digits (6 hidden), an ID number its first 3
and last character (the birth date hidden), a name its first character, an address loses its
building/unit/room part.

Formats are kept: a CSV keeps its encoding, byte-order mark, delimiter, quoting and line ends — only the bytes
of the changed fields differ; an XLSX/XLSM is rewritten as such with openpyxl, every other cell, style and
sheet kept. Formula cells count by what they hold (their value worked out from constants, else the value Excel
cached): one that holds personal data becomes its masked value as text, the formula removed. The result is
scanned again (values with calamine, formulas, defined names and external-link caches with openpyxl) and
refused when any unmasked record is left."""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .. import safeio
from ..messages import Text, Worded
from ..pii import cells
from ..files.file_scan import FileScanner, _sheet_xml_bytes
from ..pii.masking import mask_address_unit, mask_id, mask_mobile, mask_name
from ..pii.rules import PiiRules
from ..files.table_scan import HEADER_SCAN, PERSON_KINDS, SAMPLE_ROWS, TableAnalyzer, _find_header, _is_total
from ..tabular import cell_text, sniff_delimiter
from ..textcodec import SAMPLE, is_binary, sniff
from .formulas import evaluate, formula_of, hidden_values

TEXT_FORMATS = {".csv", ".tsv", ".txt", ".tab"}
SHEET_FORMATS = {".xlsx", ".xlsm"}
SUPPORTED = TEXT_FORMATS | SHEET_FORMATS
MAX_TEXT_BYTES = 128 << 20  # rewritten in memory: about 5x this at the peak
MAX_COLUMNS = 2048  # per record or sheet; a waybill or order export has a few dozen
MAX_FIELD = 1 << 16  # characters in one field (Excel holds at most 32,767 in a cell)
MAX_SHEET_XML = 24 << 20  # openpyxl holds every cell as an object: about 10x this in memory (~250 MB)
MAX_WORKBOOK_PARTS = 64 << 20  # every part of the workbook, inflated (styles, strings, sheets, …)
MAX_WORKBOOK_MEMBERS = 10_000
MAX_SHEET_CELLS = 20_000_000  # rows holding cells x columns: each such row is read as a list of that width
MAX_LINK_CACHE = 8 << 20
# parts of a workbook openpyxl does not carry over: refuse rather than silently drop them
XLSX_UNSAFE = ("xl/charts/", "xl/drawings/", "xl/media/", "xl/pivotTables/", "xl/pivotCache/", "xl/embeddings/",
               "xl/chartsheets/")


class CannotMask(Exception):
    """This file cannot be masked in place; the message says why (a messages.Text, shown in the command's
    --lang through ``messages.localized``, or a text worded elsewhere). The file is left as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class SheetPlan:
    sheet: str
    header_row: int | None
    columns: list[dict]  # {"index", "header", "kind", "how"}
    rows_changed: int = 0
    cells_changed: int = 0


@dataclass
class MaskOutcome:
    format: str
    sheets: list[SheetPlan] = field(default_factory=list)
    encoding: str | None = None
    bom: bool = False
    delimiter: str | None = None

    @property
    def cells_changed(self) -> int:
        return sum(s.cells_changed for s in self.sheets)

    @property
    def rows_changed(self) -> int:
        return sum(s.rows_changed for s in self.sheets)

    def describe(self, lang: str = "en") -> str:
        """What masking changes (format, counts, the columns by header and kind), in ``lang``."""
        cols = []
        for s in self.sheets:
            if not s.cells_changed:
                continue
            names = ", ".join(Text("remediate.outcome.column", header=c["header"] or "#" + str(c["index"] + 1),
                                   kind=c["kind"] or Text("remediate.outcome.free_text")).text(lang)
                              for c in s.columns if c.get("changed"))
            cols.append(Text("remediate.outcome.sheet", sheet=s.sheet, names=names) if s.sheet else names)
        fmt = self.format.upper()
        if self.format == "csv":
            fmt = Text("remediate.outcome.csv_bom" if self.bom else "remediate.outcome.csv", encoding=self.encoding,
                       delimiter=repr(self.delimiter))
        return Text("remediate.outcome.summary", fmt=fmt, rows=self.rows_changed, cells=self.cells_changed,
                    columns=cols).text(lang)


class CellMasker:
    def __init__(self, rules: PiiRules) -> None:
        self.rules = rules
        self.analyzer = TableAnalyzer(rules)
        self._weak: re.Pattern | None = None

    def plan(self, head: list[list[str]], sheet: str = "") -> SheetPlan:
        res = self.analyzer.analyze(iter(head), sheet)
        hdr = _find_header(head, self.rules) if res.header else None
        person = any(c.kind in PERSON_KINDS and not c.excluded for c in res.columns)
        columns = []
        body = head[hdr + 1:] if hdr is not None else head
        for c in res.columns:
            if c.excluded or (c.kind == "name" and c.by == "values" and _place_names(body, c.index)):
                continue
            how = {"mobile": "mobile", "landline": "mobile", "id_number": "id_number", "name": "name",
                   "address": "address"}.get(c.kind or "", "text" if (c.kind is None and person) else None)
            if how:
                columns.append({"index": c.index, "header": c.header, "kind": c.kind, "how": how})
        return SheetPlan(sheet, hdr, columns)

    def mask(self, value: str, how: str) -> str:
        if not value:
            return value
        rules = self.rules
        if how == "name":
            v = cells.clean(value)
            if v and any(ch.isalpha() for ch in v) and not any(c in rules.mask_chars and not c.isalpha() for c in v):
                value = value.replace(v, mask_name(v), 1)
        elif how == "address":
            value = mask_address_unit(value, rules.room)
        return self._numbers(value, how)

    def _numbers(self, value: str, how: str) -> str:
        rules = self.rules
        if how == "mobile":
            value = self._weak_masks(value)
        if not rules.candidate.search(value):
            return value

        def id_sub(m: re.Match) -> str:
            num = m.group(1)
            if how == "id_number" or cells.id_valid(num, rules, allow15=False):
                return mask_id(num)
            return num

        value = rules.id18.sub(id_sub, value)
        virtual = [m.span() for m in rules.virtual.finditer(value)]  # platform privacy numbers stay as they are

        def mobile_sub(m: re.Match) -> str:
            if any(s <= m.start() < e for s, e in virtual):
                return m.group(0)
            digits = "".join(m.groups())
            if how != "mobile" and not rules.mobile_full.fullmatch(digits):
                return m.group(0)
            return mask_mobile(digits)

        return rules.mobile.sub(mobile_sub, value)

    def _weak_masks(self, value: str) -> str:
        """A mobile masked by an export with fewer than 6 digits hidden (138****5678) is masked again to the
        rule: 3 + 2 digits visible."""
        if not any(c in value for c in self.rules.mask_chars):
            return value
        if self._weak is None:
            chars = re.escape(self.rules.mask_chars)
            self._weak = re.compile(rf"(?<![\d{chars}])(1\d{{1,3}})([{chars}]{{3,}})(\d{{2,4}})(?![\d{chars}])")

        def sub(m: re.Match) -> str:
            head, stars, tail = m.groups()
            if len(head) + len(stars) + len(tail) != 11 or len(head) + len(tail) <= 5:
                return m.group(0)
            return head[:3] + "*" * 6 + tail[-2:]

        return self._weak.sub(sub, value)

    def holds_unmasked(self, value: str) -> bool:
        """Whether ``value`` holds a real mobile or a valid ID number in clear (wherever it sits)."""
        return bool(value) and self._numbers(value, "text") != value

    def row(self, values: list[str], plan: SheetPlan) -> dict[int, str]:
        """{column index: masked value} for the cells of one data row that change."""
        if not any(values) or _is_total(values):
            return {}
        out = {}
        for col in plan.columns:
            i = col["index"]
            if i < len(values) and values[i]:
                new = self.mask(values[i], col["how"])
                if new != values[i]:
                    out[i] = new
                    col["changed"] = True
        return out


_PLACE_SUFFIX = tuple("省市区县旗州盟镇乡")


def _place_names(rows: list[list[str]], index: int) -> bool:
    """A column judged to hold names from its values alone that really holds city or district names (金华市,
    白云区: a common surname followed by a place suffix): not masked."""
    values = [r[index].strip() for r in rows if index < len(r) and r[index].strip()]
    return bool(values) and sum(v.endswith(_PLACE_SUFFIX) for v in values) * 2 >= len(values)


# --------------------------------------------------------------------------- CSV and other delimited text

def _decode(raw: bytes) -> tuple[bytes, str, str]:
    """(byte-order mark, codec, text); CannotMask when the bytes would not come back identical."""
    if is_binary(raw[:SAMPLE]):
        raise CannotMask(Text("remediate.problem.binary"))
    bom, codec = sniff(raw[:SAMPLE])
    body = raw[len(bom):]
    codec = codecs.lookup(codec).name
    try:
        text = body.decode(codec, "surrogateescape")
        same = text.encode(codec, "surrogateescape") == body
    except (UnicodeError, LookupError):
        same, text = False, ""
    if not same:
        raise CannotMask(Text("remediate.problem.no_round_trip", codec=codec))
    return bom, codec, text


def _field_re(delim: str) -> re.Pattern:
    d = re.escape(delim)
    return re.compile(rf'"[^"]*(?:""[^"]*)*(?:"|\Z)[^{d}\r\n]*|[^{d}\r\n]*')


def _records(text: str, delim: str) -> Iterator[list[tuple[int, int]]]:
    """Field spans of each record, as the csv module splits them (RFC 4180 quoting, CRLF/LF/CR line ends)."""
    rx = _field_re(delim)
    n, pos = len(text), 0
    while pos < n:
        row = []
        while True:
            m = rx.match(text, pos)
            if m.end() - m.start() > MAX_FIELD:
                raise CannotMask(Text("remediate.problem.long_field", limit=MAX_FIELD))
            if len(row) >= MAX_COLUMNS:
                raise CannotMask(Text("remediate.problem.many_columns", limit=MAX_COLUMNS))
            row.append((m.start(), m.end()))
            pos = m.end()
            if pos < n and text[pos] == delim:
                pos += 1
                if pos == n:
                    row.append((n, n))
                    break
                continue
            break
        if text.startswith("\r\n", pos):
            pos += 2
        elif pos < n:
            pos += 1
        yield row


def _unquote(raw: str) -> str:
    if not raw.startswith('"'):
        return raw
    out, i = [], 1
    while True:
        j = raw.find('"', i)
        if j < 0:
            return "".join(out) + raw[i:]
        if raw.startswith('""', j):
            out.append(raw[i:j + 1])
            i = j + 2
            continue
        return "".join(out) + raw[i:j] + raw[j + 1:]


def _requote(raw: str, value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if raw.startswith('"') else value


def mask_text_table(src: Path, dest: Path, rules: PiiRules) -> MaskOutcome:
    try:
        raw = safeio.read_bytes(src, max_size=MAX_TEXT_BYTES)
    except safeio.Refused as exc:
        raise CannotMask(Text("remediate.problem.cannot_rewrite", why=Worded(exc.reason))) from None
    bom, codec, text = _decode(raw)
    delim = sniff_delimiter(text[:SAMPLE])
    masker = CellMasker(rules)
    head = []
    for spans in _records(text, delim):
        head.append([_unquote(text[s:e]) for s, e in spans])
        if len(head) >= SAMPLE_ROWS + HEADER_SCAN:
            break
    plan = masker.plan(head)
    pieces, last = [], 0
    if plan.columns:
        for r, spans in enumerate(_records(text, delim)):
            if plan.header_row is not None and r <= plan.header_row:
                continue
            values = [_unquote(text[s:e]) for s, e in spans]
            changed = masker.row(values, plan)
            if not changed:
                continue
            plan.rows_changed += 1
            for i in sorted(changed):
                s, e = spans[i]
                pieces.append(text[last:s])
                pieces.append(_requote(text[s:e], changed[i]))
                last = e
                plan.cells_changed += 1
    pieces.append(text[last:])
    dest.write_bytes(bom + "".join(pieces).encode(codec, "surrogateescape"))
    return MaskOutcome("csv", [plan], encoding=codec, bom=bool(bom), delimiter=delim)


# --------------------------------------------------------------------------- XLSX / XLSM

def mask_workbook(src: Path, dest: Path, rules: PiiRules) -> MaskOutcome:
    try:
        with zipfile.ZipFile(src) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CannotMask(Text("remediate.problem.unreadable_workbook", kind=type(exc).__name__)) from None
    unsafe = sorted({i.filename.split("/")[1] for i in infos if i.filename.startswith(XLSX_UNSAFE)})
    if unsafe:
        raise CannotMask(Text("remediate.problem.workbook_parts", parts=", ".join(unsafe)))
    with open(src, "rb") as fh:
        sheet_xml = _sheet_xml_bytes(fh)
    parts = sum(i.file_size for i in infos)  # zipfile never inflates a member past its declared size
    if sheet_xml > MAX_SHEET_XML or parts > MAX_WORKBOOK_PARTS or len(infos) > MAX_WORKBOOK_MEMBERS:
        raise CannotMask(Text("remediate.problem.workbook_too_large", sheet_mib=sheet_xml >> 20, parts_mib=parts >> 20,
                              parts=len(infos), max_sheet_mib=MAX_SHEET_XML >> 20,
                              max_parts_mib=MAX_WORKBOOK_PARTS >> 20, max_parts=MAX_WORKBOOK_MEMBERS))
    import openpyxl

    try:
        wb = openpyxl.load_workbook(src, keep_vba=src.suffix.lower() == ".xlsm", keep_links=True)
        cached = _cached_formula_values(src, wb)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds of errors on odd files
        raise CannotMask(Text("remediate.problem.cannot_open_workbook", kind=type(exc).__name__)) from None
    masker = CellMasker(rules)
    outcome = MaskOutcome(src.suffix.lower().lstrip("."))
    for n, ws in enumerate(wb.worksheets, 1):
        width = ws.max_column or 0
        rows = _rows(ws)
        if width > MAX_COLUMNS or width * len(rows) > MAX_SHEET_CELLS:
            wb.close()
            raise CannotMask(Text("remediate.problem.sheet_too_large", sheet=n, rows=len(rows), columns=width,
                                  max_columns=MAX_COLUMNS, max_cells=MAX_SHEET_CELLS))
        formulas = cached.get(ws.title, {})

        def values(cells: dict) -> list[str]:
            return [_cell_value(cells[c], formulas) if c in cells else "" for c in range(1, width + 1)]

        head = [values(cells) for _, cells in rows[:SAMPLE_ROWS + HEADER_SCAN]]
        plan = masker.plan(head, ws.title)
        outcome.sheets.append(plan)
        if not plan.columns:
            continue
        for r, (_, cells) in enumerate(rows):
            if plan.header_row is not None and r <= plan.header_row:
                continue
            changed = masker.row(values(cells), plan)
            if not changed:
                continue
            plan.rows_changed += 1
            for i, new in changed.items():
                cell = cells[i + 1]
                cell.value = new  # a formula cell becomes its masked value: the formula is gone
                if new.startswith("="):
                    cell.data_type = "s"  # text stays text, never a formula
                plan.cells_changed += 1
    try:
        wb.save(dest)
    except Exception as exc:  # noqa: BLE001 - openpyxl cannot write back what it read from an odd file
        raise CannotMask(Text("remediate.problem.cannot_write_workbook", kind=type(exc).__name__)) from None
    finally:
        wb.close()
    return outcome


def _rows(ws) -> list[tuple[int, dict]]:
    """The rows that hold cells, in order: (row number, {column number: cell}). Only the cells the sheet
    really has are touched (walking its dimension would create an object for every empty position)."""
    by_row: dict[int, dict] = {}
    for (r, c), cell in ws._cells.items():
        by_row.setdefault(r, {})[c] = cell
    return sorted(by_row.items())


def _cell_value(cell, formulas: dict[tuple[int, int], object]) -> str:
    """What a cell holds as text; for a formula, its value from its constants, else the value Excel cached."""
    if cell.data_type != "f":
        return cell_text(cell.value)
    formula = formula_of(cell.value)
    if formula is not None:
        value = evaluate(formula)
        if value is not None:
            return value
    return cell_text(formulas.get((cell.row, cell.column)))


def _cached_formula_values(src: Path, wb) -> dict[str, dict[tuple[int, int], object]]:
    """{sheet: {(row, column): cached value}} of the formula cells (openpyxl keeps formulas or values, not both)."""
    wanted = {ws.title: {key for key, c in ws._cells.items() if c.data_type == "f"} for ws in wb.worksheets}
    wanted = {title: coords for title, coords in wanted.items() if coords}
    if not wanted:
        return {}
    import openpyxl

    out: dict[str, dict[tuple[int, int], object]] = {}
    ro = openpyxl.load_workbook(src, read_only=True, data_only=True, keep_links=False)
    try:
        for title, coords in wanted.items():
            got = out.setdefault(title, {})
            for row in ro[title].iter_rows():
                for c in row:
                    key = (getattr(c, "row", None), getattr(c, "column", None))
                    if key in coords:
                        got[key] = c.value
    finally:
        ro.close()
    return out


_CACHED_V = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")


def workbook_residue(path: Path, masker: "CellMasker") -> Text | None:
    """Why a (masked) workbook still holds personal data where the value scan cannot see it: a formula whose
    constants hold a mobile or ID number, a defined name, or the cached values of an external link."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, keep_links=False)
    try:
        for n, ws in enumerate(wb.worksheets, 1):
            for row in ws.iter_rows():
                for c in row:
                    if getattr(c, "data_type", None) != "f":
                        continue
                    formula = formula_of(c.value)
                    if formula and any(masker.holds_unmasked(v) for v in hidden_values(formula)):
                        return Text("remediate.problem.formula_in_clear", cell=c.coordinate, sheet=n)
        scoped = [d for ws in wb.worksheets for d in getattr(ws, "defined_names", {}).values()]
        for dn in [*wb.defined_names.values(), *scoped]:
            text = dn.attr_text or ""
            if any(masker.holds_unmasked(v) for v in hidden_values(text)):
                return Text("remediate.problem.defined_name_in_clear")
    finally:
        wb.close()
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.startswith("xl/externalLinks/") or not info.filename.endswith(".xml"):
                continue
            if info.file_size > MAX_LINK_CACHE:
                return Text("remediate.problem.link_cache_too_large")
            for m in _CACHED_V.finditer(zf.read(info)):
                if masker.holds_unmasked(m.group(1).decode("utf-8", "replace")):
                    return Text("remediate.problem.link_cache_in_clear")
    return None


def format_problem(path: Path) -> Text | None:
    """Why a file of this type cannot be masked in place; None when it can."""
    ext = path.suffix.lower()
    if ext in SUPPORTED:
        return None
    if ext in (".xls", ".xlsb", ".ods", ".et"):
        return Text("remediate.problem.old_workbook", ext=ext)
    if ext in (".zip", ".rar", ".7z"):
        return Text("remediate.problem.archive")
    return Text("remediate.problem.not_table", ext=ext or Text("remediate.problem.no_extension"))


def mask_file(src: Path, dest: Path, rules: PiiRules) -> MaskOutcome:
    """Write the masked version of ``src`` to ``dest`` (same extension) and check it: CannotMask when the format
    cannot be rewritten in place or unmasked records would be left."""
    problem = format_problem(src)
    if problem:
        raise CannotMask(problem)
    if src.suffix.lower() in TEXT_FORMATS:
        outcome = mask_text_table(src, dest, rules)
    else:
        outcome = mask_workbook(src, dest, rules)
    if outcome.cells_changed:
        try:
            left = FileScanner(rules).scan(dest)
        except Exception as exc:  # noqa: BLE001 - whatever stops the read-back, the masking is not proven
            raise CannotMask(Text("remediate.problem.unreadable_result_kind", kind=type(exc).__name__)) from None
        bad = [o for o in left if o.skipped]
        if bad:
            raise CannotMask(Text("remediate.problem.unreadable_result", why=Worded(str(bad[0].skipped))))
        records = sum(o.records for o in left)
        if records:
            raise CannotMask(Text("remediate.problem.rows_left", rows=records))
    if src.suffix.lower() in SHEET_FORMATS:
        try:
            residue = workbook_residue(dest if outcome.cells_changed else src, CellMasker(rules))
        except Exception as exc:  # noqa: BLE001 - openpyxl on a workbook it wrote itself: still a refusal
            residue = Text("remediate.problem.unreadable_back", kind=type(exc).__name__)
        if residue:
            raise CannotMask(Text("remediate.problem.left_unchanged", why=residue))
    return outcome
