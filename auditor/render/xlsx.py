"""XLSX workbook for compliance officers: a summary sheet, one sheet per area, then duties, coverage, accepted
risks, changes and the legal clauses. Counts are numbers, times and dates are real Excel dates, and every text
goes in with write_string (never parsed as a formula)."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import xlsxwriter

from ..core.severity import SEVERITIES
from . import view

MAX_CELL = 32000  # Excel's limit is 32767 characters per cell
VERDICT_COLORS = {"met": "#15803D", "not_met": "#B91C1C", "not_assessed": "#6B7280"}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _naive(value: Any) -> dt.datetime | None:
    when = view.parse_time(value)
    return when.replace(tzinfo=None) if when else None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


class _Book:
    def __init__(self, report: dict[str, Any], lang: str) -> None:
        self.buf = io.BytesIO()
        self.wb = xlsxwriter.Workbook(self.buf, {"in_memory": True, "strings_to_formulas": False,
                                                 "strings_to_urls": False, "strings_to_numbers": False})
        f = self.wb.add_format
        self.f_title = f({"bold": True, "font_size": 15})
        self.f_h2 = f({"bold": True, "font_size": 12, "top": 0})
        self.f_head = f({"bold": True, "bg_color": "#E8EDF3", "border": 1, "text_wrap": True, "valign": "top"})
        self.f_text = f({"text_wrap": True, "valign": "top", "border": 1})
        self.f_plain = f({"valign": "top"})
        self.f_wrap = f({"text_wrap": True, "valign": "top"})
        self.f_mono = f({"text_wrap": True, "valign": "top", "border": 1, "font_name": "Consolas", "font_size": 9})
        self.f_num = f({"valign": "top", "border": 1, "num_format": "0"})
        self.f_big = f({"bold": True, "font_size": 14, "num_format": "0", "align": "left"})
        self.f_dt = f({"valign": "top", "border": 1, "num_format": "yyyy-mm-dd hh:mm:ss", "align": "left"})
        self.f_date = f({"valign": "top", "border": 1, "num_format": "yyyy-mm-dd", "align": "left"})
        self.f_label = f({"bold": True, "valign": "top", "border": 1, "bg_color": "#F5F7FA"})
        self.f_sev = {s.name: f({"bold": True, "font_color": "#FFFFFF", "bg_color": s.color, "border": 1,
                                 "valign": "top"}) for s in SEVERITIES}
        self.f_verdict = {v: f({"bold": True, "font_color": "#FFFFFF", "bg_color": c, "border": 1, "valign": "top"})
                          for v, c in VERDICT_COLORS.items()}
        self.names: set[str] = set()
        when = _naive(report.get("finished_at"))
        v = view.build(report, lang)
        self.v = v
        self.wb.set_properties({"title": v["title"], "subject": v["hostname"], "author": v["tool_name"],
                                "comments": f"SHA-256 {v['digest']}", **({"created": when} if when else {})})

    def sheet(self, name: str):
        name = _BAD_SHEET_CHARS.sub("-", name).strip("'")[:31] or "Sheet"
        base, n = name, 2
        while name.lower() in self.names:
            suffix = f" ({n})"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        self.names.add(name.lower())
        return self.wb.add_worksheet(name)

    def text(self, ws, row: int, col: int, value: Any, fmt=None) -> None:
        s = "" if value is None else str(value)
        if len(s) > MAX_CELL:
            s = s[:MAX_CELL] + "…"
        ws.write_string(row, col, s, fmt or self.f_text)

    def num(self, ws, row: int, col: int, value: Any, fmt=None) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, col, value, fmt or self.f_num)
        else:
            self.text(ws, row, col, view.EMPTY if value is None else value)

    def when(self, ws, row: int, col: int, value: Any, fmt=None) -> None:
        stamp = _naive(value)
        if stamp is not None:
            ws.write_datetime(row, col, stamp, fmt or self.f_dt)
        else:
            self.text(ws, row, col, value or view.EMPTY)

    def day(self, ws, row: int, col: int, value: Any) -> None:
        day = _date(value)
        if day is not None:
            ws.write_datetime(row, col, dt.datetime.combine(day, dt.time()), self.f_date)
        else:
            self.text(ws, row, col, value or view.EMPTY)

    def header(self, ws, row: int, labels: list[str], widths: list[int] | None = None) -> None:
        for col, lab in enumerate(labels):
            ws.write_string(row, col, lab, self.f_head)
            if widths:
                ws.set_column(col, col, widths[col])

    def close(self) -> bytes:
        self.wb.close()
        return self.buf.getvalue()


def render(report: dict[str, Any], lang: str = "zh") -> bytes:
    b = _Book(report, lang)
    v, L = b.v, b.v["L"]
    _summary(b, report, v, L)
    by_area: dict[str, list[dict[str, Any]]] = {}
    for f in v["findings"]:
        by_area.setdefault(f["area"], []).append(f)
    area_order = [a["area"] for a in v["areas"] if a["area"] in report.get("scope", {}).get("areas", [])]
    area_order += [a for a in by_area if a not in area_order]
    for area in area_order:
        _area_sheet(b, area, by_area.get(area, []), L, v)
    _duties(b, v, L)
    _coverage(b, v, L)
    _risks(b, v, L)
    if v["changes"]:
        _changes(b, v, L)
    _legal(b, v, L)
    return b.close()


def _summary(b: _Book, report: dict[str, Any], v: dict[str, Any], L) -> None:
    ws = b.sheet(L("r.sheet_summary"))
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 44)
    ws.set_column(2, 5, 14)
    ws.write_string(0, 0, v["title"], b.f_title)
    row = 2
    ws.write_string(row, 0, L("r.score"), b.f_label)
    ws.write_number(row, 1, v["score"]["value"] if v["score"]["value"] is not None else 0, b.f_big)
    row += 1
    ws.write_string(row, 0, L("r.grade"), b.f_label)
    b.text(ws, row, 1, v["score"]["grade"], b.f_big)
    row += 1
    if v["score"]["cap"]:
        ws.write_string(row, 0, L("r.grade_cap"), b.f_label)
        b.text(ws, row, 1, v["score"]["cap"])
        row += 1
    if v["score"]["assessment"]:
        ws.write_string(row, 0, L("r.assessment"), b.f_label)
        b.text(ws, row, 1, "; ".join(x for x in (v["score"]["assessment"], v["score"]["limit"]) if x))
        row += 1
        if v["score"]["checks_not_assessed"]:
            ws.write_string(row, 0, L("r.checks_not_assessed"), b.f_label)
            b.text(ws, row, 1, v["score"]["checks_not_assessed"])
            row += 1
    ws.write_string(row, 0, L("r.total"), b.f_label)
    ws.write_number(row, 1, v["total"], b.f_big)
    row += 1
    ws.write_string(row, 0, L("r.score_basis"), b.f_label)
    b.text(ws, row, 1, v["score"]["basis"])
    row += 1
    ws.merge_range(row, 0, row, 5, v["score"]["formula"], b.f_wrap)
    ws.set_row(row, 48)
    row += 2

    ws.write_string(row, 0, L("r.host_facts"), b.f_h2)
    row += 1
    host, times = report.get("host", {}), {L("r.started"): report.get("started_at"),
                                           L("r.finished"): report.get("finished_at")}
    if host.get("boot_time"):
        times[L("r.boot_time")] = host["boot_time"]
    for label, value in v["host_rows"]:
        ws.write_string(row, 0, label, b.f_label)
        if label in times:
            b.when(ws, row, 1, times[label])
            when = view.parse_time(times[label])
            if when and when.utcoffset() is not None:
                b.text(ws, row, 2, f"{L('r.time_offset')} {view.fmt_time(times[label])[-6:]}", b.f_plain)
        elif label in (L("r.catalog_tools"), L("r.checks")):
            b.num(ws, row, 1, report.get("scope", {}).get("catalog_tools" if label == L("r.catalog_tools") else "checks"))
        else:
            b.text(ws, row, 1, value)
        row += 1
    row += 1

    ws.write_string(row, 0, L("r.by_severity"), b.f_h2)
    row += 1
    b.header(ws, row, [L("r.severity"), L("r.total")])
    row += 1
    for s in v["severities"]:
        b.text(ws, row, 0, s["label"], b.f_sev[s["key"]])
        ws.write_number(row, 1, s["count"], b.f_num)
        row += 1
    row += 1

    ws.write_string(row, 0, L("r.by_area"), b.f_h2)
    row += 1
    b.header(ws, row, [L("r.area"), L("r.area_state"), L("r.total"), L("r.examined"), L("r.skipped"), L("r.reason")])
    row += 1
    for a in v["areas"]:
        b.text(ws, row, 0, a["label"])
        b.text(ws, row, 1, a["state_label"])
        ws.write_number(row, 2, a["count"], b.f_num)
        ws.write_number(row, 3, a["examined"], b.f_num)
        ws.write_number(row, 4, a["skipped"], b.f_num)
        b.text(ws, row, 5, a["reason"] or view.EMPTY)
        row += 1
    row += 1

    ws.write_string(row, 0, L("r.duties"), b.f_h2)
    row += 1
    b.header(ws, row, [L("r.duty"), L("r.why"), L("r.verdict"), L("r.findings_behind")])
    row += 1
    for d in v["duties"]:
        b.text(ws, row, 0, f"{d['title']} ({d['id']})")
        b.text(ws, row, 1, d["reason"])
        b.text(ws, row, 2, d["verdict_label"], b.f_verdict[d["verdict"]])
        ws.write_number(row, 3, len(d["findings"]), b.f_num)
        row += 1
    row += 1

    if v["changes"]:
        c = v["changes"]
        ws.write_string(row, 0, L("r.changes"), b.f_h2)
        row += 1
        ws.write_string(row, 0, L("r.baseline"), b.f_label)
        b.when(ws, row, 1, report["changes"]["baseline"].get("finished_at"))
        row += 1
        ws.write_string(row, 0, L("r.score_before"), b.f_label)
        b.num(ws, row, 1, c["score_before"])
        row += 1
        for key in ("new", "still_open", "resolved", "not_rechecked"):
            ws.write_string(row, 0, L(f"change.{key}"), b.f_label)
            ws.write_number(row, 1, len(c[key]), b.f_num)
            row += 1
        row += 1

    ws.write_string(row, 0, L("r.integrity"), b.f_h2)
    row += 1
    ws.write_string(row, 0, L("r.digest"), b.f_label)
    b.text(ws, row, 1, v["digest"], b.f_mono)
    row += 1
    ws.write_string(row, 0, L("r.hmac"), b.f_label)
    b.text(ws, row, 1, L("r.signed") if v["signed"] else L("r.unsigned"))
    row += 2
    ws.merge_range(row, 0, row, 5, L("r.verify_hint"), b.f_wrap)
    ws.set_row(row, 32)
    row += 1
    ws.merge_range(row, 0, row, 5, L("r.disclaimer"), b.f_wrap)
    ws.set_row(row, 32)
    ws.activate()


def _area_sheet(b: _Book, area: str, findings: list[dict[str, Any]], L, v: dict[str, Any]) -> None:
    ws = b.sheet(view.area_label(v["lang"], area))
    cols = [L("r.no"), L("r.severity"), L("r.check"), L("r.title_col"), L("r.target_kind"), L("r.target"),
            L("r.target_ref"), L("r.evidence"), L("r.basis_text"), L("r.basis"), L("r.duties_col"),
            L("r.remediation"), L("r.note"), L("r.change"), L("r.id"), L("r.description")]
    b.header(ws, 0, cols, [6, 9, 9, 36, 9, 26, 30, 60, 40, 22, 14, 48, 30, 10, 18, 48])
    ws.freeze_panes(1, 0)
    if not findings:
        ws.write_string(1, 0, v["no_findings"], b.f_plain)
        return
    sep = v["sep"]
    for r, f in enumerate(findings, 1):
        ws.write_number(r, 0, f["no"], b.f_num)
        b.text(ws, r, 1, f["severity_label"], b.f_sev[f["severity"]])
        b.text(ws, r, 2, f["check_id"])
        b.text(ws, r, 3, f["title"])
        b.text(ws, r, 4, f["target_kind_label"])
        b.text(ws, r, 5, f["target"])
        b.text(ws, r, 6, f["target_ref"], b.f_mono)
        b.text(ws, r, 7, f["evidence_text"], b.f_mono)
        b.text(ws, r, 8, sep.join(c["label"] for c in f["basis"]))
        b.text(ws, r, 9, ", ".join(c["id"] for c in f["basis"]))
        b.text(ws, r, 10, ", ".join(f["duties"]))
        b.text(ws, r, 11, f["remediation"])
        b.text(ws, r, 12, f["note"])
        b.text(ws, r, 13, f["change_label"])
        b.text(ws, r, 14, f["id"], b.f_mono)
        b.text(ws, r, 15, f["description"])
    ws.autofilter(0, 0, len(findings), len(cols) - 1)


def _duties(b: _Book, v: dict[str, Any], L) -> None:
    ws = b.sheet(L("r.sheet_duties"))
    b.header(ws, 0, [L("r.duty"), L("r.id"), L("r.verdict"), L("r.why"), L("r.total"), L("r.findings_behind"),
                     L("r.duty_areas"), L("r.clauses"), L("r.text")], [30, 14, 10, 44, 8, 24, 24, 50, 60])
    ws.freeze_panes(1, 0)
    sep = v["sep"]
    for r, d in enumerate(v["duties"], 1):
        b.text(ws, r, 0, d["title"])
        b.text(ws, r, 1, d["id"])
        b.text(ws, r, 2, d["verdict_label"], b.f_verdict[d["verdict"]])
        b.text(ws, r, 3, d["reason"])
        ws.write_number(r, 4, len(d["findings"]), b.f_num)
        b.text(ws, r, 5, ", ".join(f"{f['ref']} ({f['check_id']}, {f['severity_label']})" for f in d["findings"]))
        b.text(ws, r, 6, ", ".join(d["areas"]))
        b.text(ws, r, 7, sep.join(c["label"] for c in d["clauses"]))
        b.text(ws, r, 8, d["description"])


def _coverage(b: _Book, v: dict[str, Any], L) -> None:
    ws = b.sheet(L("r.sheet_coverage"))
    b.header(ws, 0, [L("r.area"), L("r.source"), L("r.status"), L("r.examined"), L("r.skipped"),
                     L("r.skip_reasons"), L("r.note")], [18, 28, 10, 10, 10, 60, 50])
    ws.freeze_panes(1, 0)
    r = 0
    for r, c in enumerate(v["coverage"], 1):
        b.text(ws, r, 0, c["area_label"])
        b.text(ws, r, 1, c["source"], b.f_mono)
        b.text(ws, r, 2, c["status_label"])
        ws.write_number(r, 3, c["examined"], b.f_num)
        ws.write_number(r, 4, len(c["skipped"]), b.f_num)
        b.text(ws, r, 5, "\n".join(f"{s['item']}: {s['reason']}" for s in c["skipped"]) or view.EMPTY, b.f_mono)
        b.text(ws, r, 6, c["note"] or view.EMPTY)
    r += 2
    ws.write_string(r, 0, L("r.not_assessed_areas"), b.f_h2)
    for a in v["not_assessed"]:
        r += 1
        b.text(ws, r, 0, a["label"])
        b.text(ws, r, 1, a["state_label"])
        ws.merge_range(r, 2, r, 6, a["reason"] or view.EMPTY, b.f_text)


def _risks(b: _Book, v: dict[str, Any], L) -> None:
    ws = b.sheet(L("r.sheet_risks"))
    b.header(ws, 0, [L("r.tool"), L("r.hosts"), L("r.approver"), L("r.approval_reason"), L("r.expires"),
                     L("r.days_left"), L("r.ticket"), L("r.approval_status"), L("r.findings_behind")],
             [16, 20, 18, 30, 12, 10, 14, 10, 24])
    ws.freeze_panes(1, 0)
    if not v["risks"]:
        ws.write_string(1, 0, L("r.no_accepted_risks"), b.f_plain)
    for r, x in enumerate(v["risks"], 1):
        b.text(ws, r, 0, x["tool"])
        b.text(ws, r, 1, x["hosts"])
        b.text(ws, r, 2, x["approver"])
        b.text(ws, r, 3, x["reason"])
        b.day(ws, r, 4, x["expires"])
        b.num(ws, r, 5, x["days_left"])
        b.text(ws, r, 6, x["ticket"] or view.EMPTY)
        b.text(ws, r, 7, x["status_label"])
        b.text(ws, r, 8, ", ".join(f["ref"] for f in x["findings"]) or view.EMPTY)


def _changes(b: _Book, v: dict[str, Any], L) -> None:
    ws = b.sheet(L("r.sheet_changes"))
    b.header(ws, 0, [L("r.change"), L("r.severity"), L("r.check"), L("r.title_col"), L("r.target"), L("r.no"),
                     L("r.id")], [12, 9, 9, 44, 30, 6, 18])
    ws.freeze_panes(1, 0)
    r = 0
    c = v["changes"]
    for key in ("new", "still_open", "resolved", "not_rechecked"):
        for f in c[key]:
            r += 1
            b.text(ws, r, 0, L(f"change.{key}"))
            b.text(ws, r, 1, f["severity_label"], b.f_sev[f["severity"]])
            b.text(ws, r, 2, f["check_id"])
            b.text(ws, r, 3, f["title"])
            b.text(ws, r, 4, f["target"])
            if "no" in f:
                ws.write_number(r, 5, f["no"], b.f_num)
            else:
                b.text(ws, r, 5, view.EMPTY)
            b.text(ws, r, 6, f["id"], b.f_mono)


def _legal(b: _Book, v: dict[str, Any], L) -> None:
    ws = b.sheet(L("r.sheet_legal"))
    b.header(ws, 0, [L("r.clause_id"), L("r.law"), L("r.article"), L("r.effective"), L("r.text"), L("r.verified"),
                     L("r.penalty"), L("r.clause_note")], [18, 34, 18, 12, 70, 8, 30, 40])
    ws.freeze_panes(1, 0)
    for r, c in enumerate(v["clauses"], 1):
        b.text(ws, r, 0, c["id"])
        b.text(ws, r, 1, c["law"])
        b.text(ws, r, 2, c["article"])
        b.day(ws, r, 3, c["effective"])
        b.text(ws, r, 4, c["text"])
        b.text(ws, r, 5, L("r.yes") if c["verified"] else L("r.unverified"))
        b.text(ws, r, 6, c["penalty"] or view.EMPTY)
        b.text(ws, r, 7, c["note"] or view.EMPTY)
