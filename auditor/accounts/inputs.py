"""The accounts area's input files: HR roster, platform/WMS sub-account exports, login logs and the
account-to-employee mapping, as CSV (any Chinese encoding) or workbooks, read with ``auditor.tabular``.

Headers are recognised from the variant table in ``checks/account-headers.toml`` (data, not code);
``--map FIELD=COLUMN`` overrides it. A file whose layout cannot be recognised is a usage error naming the
columns needed and the ones found; a bad row (unparseable date, duplicate employee) is a coverage entry
with its row number. Each file becomes a pandas DataFrame (object columns, one row per record, with the
file name and row number of every fact)."""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .. import safeio
from ..errors import PackError, UsageError
from ..core.model import Coverage, SourceCoverage
from ..headers import MAX_HEADER_CHARS, norm_header
from ..messages import Worded
from ..packs import load_toml
from ..platforms import PLATFORMS_FILE, platforms
from ..resources import pack_dir
from ..table_bounds import text_rows
from ..tabular import TEXT_EXT, Sheet, UnreadableTable, iter_sheets, sniff_delimiter
from ..textcodec import RETRY_ENCODINGS, SAMPLE, open_stream
from ..textsafe import quote
from .dates import BadDate, is_never, parse_when
from .duplicate_columns import duplicate_notes

if TYPE_CHECKING:
    import pandas as pd

AREA = "accounts"
HEAD_ROWS = 15  # a title or note rows above the header are tolerated
MAX_SKIPS = 200  # per file; the rest is counted
MAX_LAYOUT_COLUMNS = 1024  # columns of a top row looked at for the header; a roster has a few dozen
SHOWN_COLUMNS = 30  # columns named in an "unknown layout" message
# who a row is about: a longer cell is no name, id or account, and matching it would take the joiner's
# patterns time in the square of its length; such a row is ignored with a coverage note
IDENTITY = ("employee_id", "name", "account", "holder")
MAX_IDENTITY_CHARS = 256
KINDS = ("roster", "subaccounts", "logins", "account_map")
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORDS = re.compile(r"[a-z0-9]+")
_NAME_SPLIT = re.compile(r"\s*[/、,，;；&|]\s*|\s+和\s*")


# --------------------------------------------------------------------------- the header table (data)

@dataclass(frozen=True)
class Spec:
    kind: str
    label: str
    needs: tuple[tuple[str, ...], ...]
    fields: dict[str, tuple[str, ...]]  # field -> normalised variants, preferred first


@dataclass(frozen=True)
class Vocab:
    specs: dict[str, Spec]
    values: dict[str, dict[str, tuple[str, ...]]]
    actions: tuple[tuple[str, tuple[str, ...]], ...]
    export_words: tuple[str, ...]
    platforms: dict[str, tuple[str, tuple[str, ...]]]  # id -> (label, words), from checks/platforms.toml
    platform_ids: dict[str, str]  # every platform id and alias -> the id

    def platform_label(self, pid: str) -> str:
        return self.platforms.get(pid, (pid, ()))[0]


def norm(text: object) -> str:
    """Header normal form (auditor.headers), a bracketed note dropped: "姓名（必填）" is a name column."""
    return norm_header(text, drop_note=True)


def norm_value(text: object) -> str:
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).strip().casefold().replace(" ", "")


def norm_account(text: object) -> str:
    """Account comparison form: NFKC (so "店铺：张三" equals "店铺:张三"), trimmed, case-folded."""
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).strip().casefold()


def clean_text(text: object) -> str:
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).strip()


@lru_cache(maxsize=None)
def vocab(base: Path | None = None) -> Vocab:
    path = (base or pack_dir("checks")) / "account-headers.toml"
    data = load_toml(path)
    specs: dict[str, Spec] = {}
    try:
        for kind in KINDS:
            raw = data[kind]
            fields = {f: tuple(dict.fromkeys(norm(v) for v in variants)) for f, variants in raw["fields"].items()}
            seen: dict[str, str] = {}
            for f, variants in fields.items():
                for v in variants:
                    if v in seen and seen[v] != f:
                        raise PackError("pack.accounts.header_twice", path=path, kind=kind, v=v, seen=seen[v], f=f)
                    seen[v] = f
            needs = tuple(tuple(group) for group in raw["needs"])
            for group in needs:
                for f in group:
                    if f not in fields:
                        raise PackError("pack.accounts.unknown_field", path=path, kind=kind, f=f)
            specs[kind] = Spec(kind, raw.get("label", kind), needs, fields)
        values = {name: {k: tuple(norm_value(w) for w in words) for k, words in table.items()}
                  for name, table in data["values"].items() if name not in ("actions", "export_permission")}
        actions = tuple((k, tuple(norm_value(w) for w in words)) for k, words in data["values"]["actions"].items())
        export_words = tuple(norm_value(w) for w in data["values"]["export_permission"]["words"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise PackError("pack.accounts.header_table", path=path, kind=type(exc).__name__, exc=exc) from None
    if "platforms" in data:
        raise PackError("pack.accounts.platforms_moved", path=path, PLATFORMS_FILE=PLATFORMS_FILE)
    pack = platforms(path.parent)
    known = {p.id: (p.name_zh, tuple(norm_value(w) for w in p.words)) for p in pack.by_id.values()}
    ids = {name: p.id for p in pack.by_id.values() for name in (p.id, *p.aliases)}
    return Vocab(specs, values, actions, export_words, known, ids)


def classify(value: object, table: dict[str, tuple[str, ...]]) -> str | None:
    """The key of ``table`` whose word equals the value, else whose Chinese word it contains (table order)."""
    v = norm_value(value)
    if not v:
        return None
    for key, words in table.items():
        if v in words:
            return key
    for key, words in table.items():
        if any(_CJK.search(w) and w in v for w in words):
            return key
    return None


def _contains_variant(header: str, words: list[str], variant: str) -> bool:
    """Whether a header (``norm`` form, and its ASCII words) contains a variant: a Chinese one of three or
    more characters as a substring, an English one as whole words."""
    if _CJK.search(variant):
        return len(variant) >= 3 and variant in header
    want = _WORDS.findall(variant) if " " in variant else [variant]
    if len(want) == 1 and len(want[0]) < 5:
        return False
    n = len(want)
    return any(words[i:i + n] == want for i in range(len(words) - n + 1))


# --------------------------------------------------------------------------- --map

FIELD_ALIASES = {"departure": "leave_date", "departure_date": "leave_date"}  # the export trail's names


@dataclass
class ColumnMap:
    """``--map`` entries: (kind or None, field) -> column header."""

    entries: dict[tuple[str | None, str], str]
    used: set[tuple[str | None, str]] = field(default_factory=set)

    @classmethod
    def parse(cls, raw: dict[str, str], voc: Vocab) -> "ColumnMap":
        entries: dict[tuple[str | None, str], str] = {}
        known = {k: sorted(s.fields) for k, s in voc.specs.items()}
        for key, column in raw.items():
            kind, dot, fname = key.partition(".")
            if not dot:
                kind, fname = None, key
            fname = fname.strip().lower()
            fname = FIELD_ALIASES.get(fname, fname)
            if kind is not None:
                kind = kind.strip().lower().replace("-", "_")
                if kind not in voc.specs:
                    raise UsageError("usage.accounts.map_unknown_kind", option=_option(key, column), kind=quote(kind),
                                     kinds=', '.join(voc.specs))
                ok = fname in voc.specs[kind].fields
            else:
                ok = any(fname in fields for fields in known.values())
            if not ok:
                listing = "; ".join(f"{k}: {', '.join(v)}" for k, v in known.items())
                raise UsageError("usage.accounts.map_unknown_field", option=_option(key, column), fname=quote(fname),
                                 listing=listing)
            entries[(kind, fname)] = column
        return cls(entries)

    def for_kind(self, kind: str, spec: Spec) -> list[tuple[tuple[str | None, str], str, str]]:
        return [(k, k[1], col) for k, col in self.entries.items()
                if (k[0] in (None, kind)) and k[1] in spec.fields]

    def check_all_used(self, found: dict[str, list[str]]) -> None:
        for key, column in self.entries.items():
            if key not in self.used:
                label = f"{key[0]}.{key[1]}" if key[0] else key[1]
                cols = "; ".join(f"{name}: {', '.join(quote(c) for c in cols[:SHOWN_COLUMNS] if c)}"
                                 for name, cols in found.items())
                raise UsageError("usage.accounts.map_no_column", option=_option(label, column), column=quote(column),
                                 found=cols or 'no input files')


def _option(key: str, column: str) -> str:
    """``FIELD=COLUMN`` as given, or quoted when it holds a line break or other control character."""
    text = f"{key}={column}"
    return text if text.isprintable() and len(text) <= 80 else quote(text, 80)


# --------------------------------------------------------------------------- layout detection

@dataclass
class Layout:
    columns: dict[str, int]
    header_row: int  # 1-based row number in the sheet
    header: list[str]


def _auto_columns(header: list[str], spec: Spec, fixed: dict[str, int]) -> dict[str, int]:
    header = header[:MAX_LAYOUT_COLUMNS]
    normed = [norm(h) for h in header]
    words = [_WORDS.findall(unicodedata.normalize("NFKC", h).casefold()) if len(h) <= MAX_HEADER_CHARS else []
             for h in header]
    taken = set(fixed.values())
    cols = dict(fixed)
    # exact matches, each field taking its most preferred variant
    for fname, variants in spec.fields.items():
        if fname in cols:
            continue
        best: tuple[int, int] | None = None
        for i, h in enumerate(normed):
            if i in taken or not h or h not in variants:
                continue
            rank = variants.index(h)
            if best is None or rank < best[0]:
                best = (rank, i)
        if best:
            cols[fname] = best[1]
            taken.add(best[1])
    # containment, longest variant first
    pairs = []
    for fname, variants in spec.fields.items():
        if fname in cols:
            continue
        for v in variants:
            for i, h in enumerate(normed):
                if i not in taken and h and len(h) <= MAX_HEADER_CHARS and _contains_variant(h, words[i], v):
                    pairs.append((-len(v), i, fname))
    for _, i, fname in sorted(pairs):
        if fname not in cols and i not in taken:
            cols[fname] = i
            taken.add(i)
    return cols


def _meets(cols: dict[str, int], spec: Spec) -> bool:
    return all(any(f in cols for f in group) for group in spec.needs)


def find_layout(head: list[list[str]], spec: Spec, cmap: ColumnMap) -> tuple[Layout | None, list[str], list]:
    """The first of the top rows that has the needed columns; else (None, the best candidate header)."""
    best: tuple[int, list[str]] = (-1, [])
    for idx, row in enumerate(head):
        if not any(c.strip() for c in row):
            continue
        fixed: dict[str, int] = {}
        used = []
        for key, fname, column in cmap.for_kind(spec.kind, spec):
            want = norm(column)
            for i, cell in enumerate(row[:MAX_LAYOUT_COLUMNS]):
                if cell.strip() == column.strip() or (want and norm(cell) == want):
                    fixed[fname] = i
                    used.append(key)
                    break
        cols = _auto_columns(row, spec, fixed)
        if _meets(cols, spec):
            return Layout(cols, idx + 1, row), row, used
        if len(cols) > best[0]:
            best = (len(cols), row)
    return None, best[1], []


def _needs_text(spec: Spec) -> str:
    parts = []
    for group in spec.needs:
        alts = []
        for f in group:
            examples = "/".join(v for v in spec.fields[f][:3])
            alts.append(f"{f} ({examples}…)")
        parts.append(" or ".join(alts))
    return "; ".join(parts)


# --------------------------------------------------------------------------- reading one file

@dataclass
class InputFile:
    kind: str
    path: Path
    records: list[dict[str, Any]]
    coverage: SourceCoverage
    columns: dict[str, str]  # field -> header as written
    platform: str | None  # from the file/sheet name
    header: list[str]

    @property
    def name(self) -> str:
        return self.path.name


class _Skips:
    def __init__(self, cov: SourceCoverage, fname: str) -> None:
        self.cov, self.fname, self.extra = cov, fname, 0

    def add(self, where: str, reason: str) -> None:
        if len(self.cov.skipped) < MAX_SKIPS:
            self.cov.skip(f"{self.fname} {where}", reason)
        else:
            self.extra += 1

    def close(self) -> None:
        if self.extra:
            self.cov.skip(f"{self.fname}", f"{self.extra} more rows with problems not listed")


def platform_of(text: str, voc: Vocab) -> str | None:
    """The platform id a platform column or a file/sheet name names: an id or alias of checks/platforms.toml as
    the whole text, else one of the platform's words in it."""
    s = unicodedata.normalize("NFKC", text).casefold()
    if s.strip() in voc.platform_ids:
        return voc.platform_ids[s.strip()]
    words = set(_WORDS.findall(s))
    for pid, (_label, keys) in voc.platforms.items():
        for k in keys:
            if (_CJK.search(k) and k in s) or (not _CJK.search(k) and k in words):
                return pid
    return None


def read_input(kind: str, path: Path, voc: Vocab, cmap: ColumnMap, coverage: Coverage,
               found: dict[str, list[str]]) -> InputFile:
    """Read one input file. A text file whose header is not recognised in the detected encoding is tried
    again in the other encodings Chinese PCs write (a short GBK file can pass for Big5)."""
    result = _read_once(kind, path, voc, cmap, None)  # tabular's encoding detection
    if result.layout is None and result.sheets_seen and path.suffix.lower() in TEXT_EXT:
        utf8 = False
        for enc in RETRY_ENCODINGS:
            try:
                again = _read_once(kind, path, voc, cmap, enc)
            except UsageError:
                continue  # does not decode in this encoding
            if again.layout is not None:
                result = again
                break
            utf8 = utf8 or enc == "utf-8-sig"
            if enc == "gb18030" and again.best_header and not utf8:
                result.best_header = again.best_header  # name the columns as a mainland PC wrote them
    return _finish(kind, path, voc, result, coverage, found, cmap)


@dataclass
class _Read:
    cov: SourceCoverage
    records: list[dict[str, Any]]
    layout: Layout | None
    best_header: list[str]
    sheets_seen: int
    used: list[tuple[str | None, str]]
    encoding: str | None


def _text_sheet(path: Path, encoding: str):
    fh = open_stream(safeio.open_regular(path), encoding, errors="strict")[0]
    try:
        head = fh.read(SAMPLE)
        rows = text_rows(head, fh, sniff_delimiter(head))  # the same bounds as every text table
        yield Sheet("", ([c.strip() for c in row] for row in rows))
    finally:
        fh.close()


def _read_once(kind: str, path: Path, voc: Vocab, cmap: ColumnMap, encoding: str | None) -> _Read:
    spec = voc.specs[kind]
    cov = SourceCoverage(AREA, f"{kind}:{path.name}")
    skips = _Skips(cov, path.name)
    records: list[dict[str, Any]] = []
    first: Layout | None = None
    best_header: list[str] = []
    sheets_seen = 0
    used: list[tuple[str | None, str]] = []
    parse = _PARSERS[kind]
    try:
        sheets = iter_sheets(path) if encoding is None else _text_sheet(path, encoding)
        for sheet in sheets:
            head: list[list[str]] = []
            for row in sheet.rows:
                head.append(row)
                if len(head) >= HEAD_ROWS:
                    break
            if not any(any(c.strip() for c in r) for r in head):
                continue
            sheets_seen += 1
            layout, cand, sheet_used = find_layout(head, spec, cmap)
            if layout is None:
                best_header = best_header or cand
                continue
            used.extend(sheet_used)
            first = first or layout
            where_sheet = f"[{sheet.name}] " if sheet.name else ""
            sheet_platform = platform_of(sheet.name, voc) if sheet.name else None
            header_norm = [norm(c) for c in layout.header]
            for rowno, row in _rows_after(head, sheet.rows, layout.header_row):
                if not any(c.strip() for c in row):
                    continue
                if [norm(c) for c in row[:len(layout.header)]] == header_norm:
                    continue  # the header repeated (concatenated exports)
                cov.examined += 1
                cell = {f: (row[i].strip() if i < len(row) else "") for f, i in layout.columns.items()}
                too_long = next((f for f in IDENTITY if len(cell.get(f, "")) > MAX_IDENTITY_CHARS), None)
                if too_long:
                    skips.add(f"{where_sheet}row {rowno}", f"{layout.header[layout.columns[too_long]]} longer than "
                                                           f"{MAX_IDENTITY_CHARS} characters: row ignored")
                    continue
                rec = parse(cell, voc, lambda reason, r=rowno, w=where_sheet: skips.add(f"{w}row {r}", reason),
                            layout, spec)
                if rec is None:
                    continue
                rec["source"], rec["row"] = path.name, rowno
                if sheet_platform and not rec.get("platform"):
                    rec["platform"] = sheet_platform
                records.append(rec)
    except UnreadableTable as exc:
        raise UsageError("usage.accounts.unreadable_table", label=spec.label, path=path, exc=exc) from None
    except OSError as exc:
        raise UsageError("usage.cannot_read_what", what=spec.label, path=path,
                         why=Worded(safeio.reason_of(exc))) from None
    except (csv.Error, UnicodeError, ValueError) as exc:
        raise UsageError("usage.accounts.unreadable_table_kind", label=spec.label, path=path, kind=type(exc).__name__,
                         exc=exc) from None
    skips.close()
    return _Read(cov, records, first, best_header, sheets_seen, used, encoding)


def _finish(kind: str, path: Path, voc: Vocab, res: _Read, coverage: Coverage, found: dict[str, list[str]],
            cmap: ColumnMap) -> InputFile:
    spec = voc.specs[kind]
    cov = res.cov
    coverage.entries.append(cov)
    cmap.used.update(res.used)
    file_platform = platform_of(path.stem, voc)
    first = res.layout
    found[path.name] = first.header if first else res.best_header
    if res.sheets_seen == 0:
        if kind == "roster":
            raise UsageError("usage.accounts.empty_file", label=spec.label, path=path)
        cov.status, cov.note = "no_data", "empty file: no header row and no records"
        return InputFile(kind, path, [], cov, {}, file_platform, [])
    if first is None:
        named = [c for c in res.best_header if c.strip()]
        shown = ", ".join(quote(c) for c in named[:SHOWN_COLUMNS]) or "none"
        if len(named) > SHOWN_COLUMNS:
            shown += f" and {len(named) - SHOWN_COLUMNS} more"
        raise UsageError("usage.accounts.unknown_layout", label=spec.label, path=path, needs_text=_needs_text(spec),
                         shown=shown, needs=spec.needs[0][0])
    columns = {f: first.header[i] for f, i in first.columns.items()}
    cov.notes += duplicate_notes(first.header, first.columns, norm)
    records = res.records
    if not records:
        if kind == "roster":
            named = [c for c in first.header if c]
            raise UsageError("usage.accounts.no_employees", label=spec.label, path=path,
                             columns=', '.join(quote(c) for c in named[:SHOWN_COLUMNS]))
        cov.status = "no_data"
        cov.note = "header only, no records"
    else:
        cov.note = "columns: " + ", ".join(f"{f}={h}" for f, h in columns.items())
        if res.encoding:
            cov.note += f"; read as {res.encoding}"
    return InputFile(kind, path, records, cov, columns, file_platform, first.header)


def _rows_after(head: list[list[str]], rest: Iterable[list[str]], header_row: int):
    for i, row in enumerate(head[header_row:], start=header_row + 1):
        yield i, row
    yield from enumerate(rest, start=len(head) + 1)


# --------------------------------------------------------------------------- row parsers (facts only)

def _date(cell: dict[str, str], fname: str, layout: Layout, spec: Spec, bad) -> Any:
    value = cell.get(fname, "")
    try:
        return parse_when(value)
    except BadDate:
        header = layout.header[layout.columns[fname]]
        bad(f"{header} {quote(value)} is not a date (left empty)")
        return None


def _roster_row(cell, voc: Vocab, bad, layout, spec):
    emp, name = clean_text(cell.get("employee_id")), clean_text(cell.get("name"))
    if not emp and not name:
        bad("no employee id and no name: row ignored")
        return None
    status = clean_text(cell.get("status"))
    state = classify(status, voc.values["roster_status"]) if status else None
    if status and state is None:
        bad(f"status {quote(status)} not recognised (see checks/account-headers.toml); judged by the leave date")
    hire = _date(cell, "hire_date", layout, spec, bad) if "hire_date" in cell else None
    leave = _date(cell, "leave_date", layout, spec, bad) if "leave_date" in cell else None
    return {"employee_id": emp, "name": name, "account": clean_text(cell.get("account")),
            "department": clean_text(cell.get("department")),
            "position": clean_text(cell.get("position")), "status": status, "state": state,
            "hire_date": hire.date() if hire else None, "leave_date": leave.date() if leave else None}


def _subaccount_row(cell, voc: Vocab, bad, layout, spec):
    account = clean_text(cell.get("account"))
    if not account:
        bad("no account name: row ignored")
        return None
    status = clean_text(cell.get("status"))
    enabled: bool | None = None
    if status:
        cls = classify(status, voc.values["account_status"])
        enabled = None if cls is None else cls == "enabled"
    flag = clean_text(cell.get("disabled_flag"))
    if flag:
        yn = classify(flag, voc.values["yes_no"])
        if yn == "yes":
            enabled = False
        elif yn == "no" and enabled is None:
            enabled = True
    if enabled is None:
        bad(f"account {quote(account)}: status {quote(status or flag)} not recognised; enabled state unknown")
    last_raw = cell.get("last_login", "")
    last = _date(cell, "last_login", layout, spec, bad) if "last_login" in cell else None
    created = _date(cell, "created", layout, spec, bad) if "created" in cell else None
    permissions = clean_text(cell.get("permissions"))
    platform = platform_of(cell.get("platform", ""), voc) or norm_value(cell.get("platform")) or None
    return {"platform": platform, "shop": clean_text(cell.get("shop")), "account": account,
            "holder": clean_text(cell.get("holder")), "employee_id": clean_text(cell.get("employee_id")),
            "status": status or flag, "enabled": enabled, "created": created, "last_login": last,
            "has_last_login": "last_login" in cell,
            "never_logged_in": "last_login" in cell and last is None and (not last_raw.strip() or is_never(last_raw)),
            "permissions": permissions,
            "can_export": bool(permissions) and any(w in norm_value(permissions) for w in voc.export_words)}


def action_of(text: str, voc: Vocab) -> tuple[str, str]:
    v = norm_value(text)
    if not v:
        return "login", ""
    for action, words in voc.actions:
        for w in words:
            if w and w in v:
                return action, w
    return "other", ""


def _count(text: str) -> int | None:
    s = text.replace(",", "").replace("，", "").strip()
    m = re.match(r"^(\d{1,12})(?:\.0+)?\s*(条|行|笔|单|records?|rows?)?$", s, re.I)
    return int(m.group(1)) if m else None


def _login_row(cell, voc: Vocab, bad, layout, spec):
    account = clean_text(cell.get("account")) or clean_text(cell.get("holder"))
    if not account:
        bad("no account: row ignored")
        return None
    raw_time = cell.get("time", "")
    try:
        when = parse_when(raw_time)
    except BadDate:
        bad(f"{layout.header[layout.columns['time']]} {quote(raw_time)} is not a date: row ignored")
        return None
    if when is None:
        bad("no time: row ignored")
        return None
    action, label = action_of(cell.get("action", ""), voc)
    result = classify(cell.get("result", ""), voc.values["login_result"]) if cell.get("result") else None
    count_raw = cell.get("count", "")
    count = _count(count_raw) if count_raw else None
    if count_raw and count is None:
        bad(f"count {quote(count_raw)} is not a number (left empty)")
    platform = platform_of(cell.get("platform", ""), voc) or norm_value(cell.get("platform")) or None
    return {"platform": platform, "shop": clean_text(cell.get("shop")), "account": account,
            "account_from_holder": not clean_text(cell.get("account")),
            "holder": clean_text(cell.get("holder")), "employee_id": clean_text(cell.get("employee_id")),
            "time": when, "ip": clean_text(cell.get("ip")), "location": clean_text(cell.get("location")),
            "action": action, "action_label": label, "count": count, "ok": result != "failed"}


def _map_row(cell, voc: Vocab, bad, layout, spec):
    account = clean_text(cell.get("account"))
    emp, name = clean_text(cell.get("employee_id")), clean_text(cell.get("name"))
    if not account or not (emp or name):
        bad("needs an account and an employee id or name: row ignored")
        return None
    platform_raw = cell.get("platform", "")
    platform = platform_of(platform_raw, voc) or norm_value(platform_raw) or None
    return {"account": account, "employee_id": emp, "name": name, "platform": platform,
            "shop": clean_text(cell.get("shop"))}


_PARSERS = {"roster": _roster_row, "subaccounts": _subaccount_row, "logins": _login_row, "account_map": _map_row}


# --------------------------------------------------------------------------- all inputs

@dataclass
class Inputs:
    roster: "pd.DataFrame | None"
    subaccounts: "pd.DataFrame | None"
    logins: "pd.DataFrame | None"
    account_map: "pd.DataFrame | None"
    files: list[InputFile]
    log_spans: list[dict[str, Any]]  # per login file: platform, first, last, source

    @property
    def has_roster(self) -> bool:
        return self.roster is not None

    @property
    def has_subaccounts(self) -> bool:
        return self.subaccounts is not None

    @property
    def has_logins(self) -> bool:
        return self.logins is not None


ROSTER_COLS = ["employee_id", "name", "account", "department", "position", "status", "state", "hire_date", "leave_date",
               "source", "row", "duplicate_rows"]
SUB_COLS = ["platform", "shop", "account", "holder", "employee_id", "status", "enabled", "created", "last_login",
            "has_last_login", "never_logged_in", "permissions", "can_export", "source", "row"]
LOGIN_COLS = ["platform", "shop", "account", "account_from_holder", "holder", "employee_id", "time", "ip",
              "location", "action", "action_label", "count", "ok", "source", "row"]
MAP_COLS = ["account", "employee_id", "name", "platform", "shop", "source", "row"]


def _frame(records: list[dict[str, Any]], columns: list[str]) -> "pd.DataFrame":
    import pandas as pd

    # object columns: ints stay ints next to empty cells, datetimes stay datetimes
    return pd.DataFrame([{c: r.get(c) for c in columns} for r in records], columns=columns, dtype=object)


def load_inputs(roster: Path | None, subaccounts: list[Path], logins: list[Path], account_map: Path | None,
                column_map: dict[str, str], coverage: Coverage, base: Path | None = None) -> Inputs:
    voc = vocab(base)
    cmap = ColumnMap.parse(column_map, voc)
    found: dict[str, list[str]] = {}
    files: list[InputFile] = []
    wanted = ([("roster", roster)] if roster else []) + [("subaccounts", p) for p in subaccounts] + \
             [("logins", p) for p in logins] + ([("account_map", account_map)] if account_map else [])
    if column_map and not wanted:
        raise UsageError("usage.accounts.map_without_input")
    for kind, path in wanted:
        files.append(read_input(kind, path, voc, cmap, coverage, found))
    cmap.check_all_used(found)

    by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    spans: list[dict[str, Any]] = []
    for f in files:
        for rec in f.records:
            if f.kind in ("subaccounts", "logins", "account_map") and not rec.get("platform"):
                rec["platform"] = f.platform
        by_kind[f.kind].extend(f.records)
        if f.kind == "logins" and f.records:
            times = [r["time"] for r in f.records]
            spans.append({"source": f.name, "platform": f.platform, "first": min(times), "last": max(times),
                          "platforms": sorted({r["platform"] for r in f.records if r.get("platform")})})
    roster_recs = _dedupe_roster(by_kind["roster"], files)
    return Inputs(
        roster=_frame(roster_recs, ROSTER_COLS) if roster else None,
        subaccounts=_frame(by_kind["subaccounts"], SUB_COLS) if subaccounts else None,
        logins=_frame(by_kind["logins"], LOGIN_COLS) if logins else None,
        account_map=_frame(by_kind["account_map"], MAP_COLS) if account_map else None,
        files=files, log_spans=spans)


def _dedupe_roster(records: list[dict[str, Any]], files: list[InputFile]) -> list[dict[str, Any]]:
    """One row per employee id. Identical repeats are dropped; conflicting ones keep the latest hire (a
    re-hire), else the last row, and are reported with their row numbers."""
    cov = next((f.coverage for f in files if f.kind == "roster"), None)
    skips = _Skips(cov, next((f.name for f in files if f.kind == "roster"), "")) if cov is not None else None
    by_id: dict[str, list[dict[str, Any]]] = {}
    out: list[dict[str, Any]] = []
    seen_no_id: set[tuple[Any, ...]] = set()
    for rec in records:
        if rec["employee_id"]:
            by_id.setdefault(rec["employee_id"].casefold(), []).append(rec)
            continue
        ident = (rec["name"], rec["state"], rec["hire_date"], rec["leave_date"])
        if ident in seen_no_id:  # the same person listed twice (a roster without employee ids)
            if skips is not None:
                skips.add(f"row {rec['row']}", f"{quote(rec['name'])} repeats an earlier row: ignored")
            continue
        seen_no_id.add(ident)
        out.append(rec)
    for emp, recs in by_id.items():
        if len(recs) == 1:
            out.append(recs[0])
            continue
        keep = max(recs, key=lambda r: (r["hire_date"] or _MIN_DAY, r["row"]))
        facts = {tuple(r[k] for k in ("name", "state", "hire_date", "leave_date")) for r in recs}
        if skips is not None:
            reason = (f"employee id {quote(recs[0]['employee_id'])} appears {len(recs)} times (rows {_rows(recs)})"
                      + ("" if len(facts) == 1 else f" with different data; row {keep['row']} is used "
                                                    f"(the latest hire date, else the last row)"))
            skips.add(f"rows {_rows(recs)}", reason)
        keep = dict(keep)
        keep["duplicate_rows"] = [r["row"] for r in recs]
        out.append(keep)
    if skips is not None:
        skips.close()
    return out


_MIN_DAY = dt.date(1, 1, 1)


def _rows(recs: list[dict[str, Any]], most: int = 20) -> str:
    """Row numbers of the records, the first ``most`` of them (a duplicate repeated 100,000 times is one note)."""
    shown = ", ".join(str(r["row"]) for r in recs[:most])
    return shown + (f" and {len(recs) - most} more" if len(recs) > most else "")


def split_names(text: str) -> list[str]:
    """"张三/李四"、"张三、李四" -> two holders."""
    return [n for n in (p.strip() for p in _NAME_SPLIT.split(text or "")) if n]
