"""The fleet report as HTML (one self-contained file: inline CSS, no script, no external resource, the same
look as the single-PC report), XLSX (one sheet per table, numbers as numbers, dates as dates, text never
parsed as a formula) and Markdown. All three print the same view; none of them judges."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..core.severity import SEVERITIES as SEVERITY_LEVELS
from ..errors import UsageError
from ..durable import write_bytes
from ..render import view as pc_view
from ..render.markdown import cell as md_cell, md as md_inline
from ..render.templating import render_template
from .tables import SEVERITIES, FleetTables
from .texts import t

TOP_SITES = 10


def _num(value: Any) -> Any:
    """pandas/numpy scalars to plain Python; NaN to None."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _fmt(value: Any) -> str:
    value = _num(value)
    if value is None or value == "":
        return pc_view.EMPTY
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return str(value)


def build_view(tb: FleetTables, lang: str) -> dict[str, Any]:
    L = lambda key, **p: t(lang, key, **p)  # noqa: E731
    site_label = lambda s: s or L("no_site")  # noqa: E731
    duties = [{"id": d["id"], "title": d["title"][lang]} for d in tb.duty_defs]

    def verdict_cell(v: Any) -> dict[str, str]:
        v = _num(v) or "not_assessed"
        return {"verdict": v, "label": L(f"verdict.{v}")}

    sd = {(r["site"], r["duty"]): r for r in tb.site_duties.to_dict("records")}
    sites = []
    for r in tb.sites.to_dict("records"):
        cells = []
        for d in duties:
            x = sd.get((r["site"], d["id"]))
            c = verdict_cell(x["verdict"] if x else None)
            c["detail"] = f"{x['not_met']}/{x['pcs']}" if x else ""
            cells.append(c)
        sites.append({**{k: _num(v) for k, v in r.items()}, "label": site_label(r["site"]), "duties": cells,
                      "avg_score_text": _fmt(r["avg_score"]), "min_score_text": _fmt(r["min_score"]),
                      "worst_grade": _num(r["worst_grade"]) or pc_view.EMPTY})
    pcs = []
    for r in tb.pcs.to_dict("records"):
        pcs.append({
            "site": site_label(r["site"]), "hostname": r["hostname"], "role": L(r["role"] or "unspecified"),
            "last_scan": pc_view.fmt_time(r["last_scan"]), "last_date": r["last_date"], "days_ago": int(r["days_ago"]),
            "score": _num(r["score"]), "grade": _num(r["grade"]) or pc_view.EMPTY, "reports": int(r["reports"]),
            "silent": bool(r["silent"]), "status": L("silent") if r["silent"] else L("reporting"),
            **{s: int(r[s]) for s in SEVERITIES},
            "duties": [verdict_cell(r.get("duty:" + d["id"])) for d in duties],
        })
    silent = []
    for r, f in zip(tb.silent.to_dict("records"), tb.silent_findings):
        silent.append({"site": site_label(r["site"]), "hostname": r["hostname"], "role": L(r["role"] or "unspecified"),
                       "last_scan": pc_view.fmt_time(r["last_scan"]), "days_ago": int(r["days_ago"]),
                       "severity": f["severity"], "severity_label": L(f["severity"]), "id": f["id"],
                       "check_id": f["check_id"], "title": f["title"][lang], "remediation": f["remediation"][lang]})
    weekly = []
    for r in tb.weekly.to_dict("records"):
        score = _num(r["avg_score"])
        weekly.append({**{k: _num(v) for k, v in r.items()}, "avg_score_text": _fmt(score),
                       "bar": max(0, min(100, round(score))) if score is not None else 0,
                       "hc": int(r["critical"]) + int(r["high"])})
    max_hc = max([w["hc"] for w in weekly] or [0]) or 1
    for w in weekly:
        w["hc_bar"] = round(100 * w["hc"] / max_hc)

    def facet_rows(df, key: Callable[[dict], str]) -> list[dict[str, Any]]:
        out = []
        for r in df.to_dict("records"):
            worst = _num(r.get("worst"))
            out.append({**{k: _num(v) for k, v in r.items()}, "label": key(r), "worst": worst,
                        "worst_label": L(worst) if worst else pc_view.EMPTY})
        return out

    tools = facet_rows(tb.tools, lambda r: r["tool"])
    for x in tools:
        cat = x.get("tool_category") or ""
        x["category_label"] = L(f"value.category.{cat}") if cat else pc_view.EMPTY
    locations = facet_rows(tb.locations, lambda r: L(f"loc.{r['location']}"))
    platforms = facet_rows(tb.platforms, lambda r: (r["platform"] if lang == "zh" else r.get("platform_en"))
                           or r["platform"])
    rejected = [{"source": r["source"], "reason": r["reason"], "first_seen": pc_view.fmt_time(r["first_seen"])}
                for r in tb.rejected.to_dict("records")]

    n_pcs = len(pcs)
    cards = [
        {"label": L("sites_n"), "value": len(sites), "cls": ""},
        {"label": L("pcs_n"), "value": n_pcs, "cls": ""},
        {"label": L("reports_n"), "value": tb.reports, "cls": ""},
        {"label": L("silent_n"), "value": len(silent), "cls": "s-high" if silent else ""},
        {"label": L("pcs_critical"), "value": int((tb.pcs["critical"] > 0).sum()) if n_pcs else 0,
         "cls": "s-critical"},
        {"label": L("pcs_not_met"), "value": int((tb.pcs["not_met"] > 0).sum()) if n_pcs else 0, "cls": "s-medium"},
        {"label": L("rejected_n"), "value": len(rejected), "cls": "s-high" if rejected else ""},
    ]
    sev_totals = [{"key": s.name, "label": L(s.name), "count": int(tb.pcs[s.name].sum()) if n_pcs else 0,
                   "css": s.css, "color": s.color} for s in SEVERITY_LEVELS]
    period = (f"{tb.since.isoformat()} {L('since')} – {tb.as_of.isoformat()}" if tb.since
              else f"{L('all_time')} – {tb.as_of.isoformat()}")
    return {
        "lang": lang, "L": L, "title": L("title"), "subtitle": L("subtitle"),
        "as_of": tb.as_of.isoformat(), "period": period,
        "generated": pc_view.fmt_time(dt.datetime.now().astimezone().isoformat(timespec="seconds")),
        "store": str(tb.store), "cards": cards, "severities": sev_totals, "duties": duties,
        "worst_sites": sites[:TOP_SITES], "sites": sites, "pcs": pcs, "silent": silent,
        "silent_days": tb.silent_days, "weekly": weekly, "tools": tools, "locations": locations,
        "platforms": platforms, "rejected": rejected, "sev_keys": SEVERITIES,
        "tool_name": "yuncang-auditor", "tool_version": _version(),
    }


def _version() -> str:

    return __version__


# --------------------------------------------------------------------------- formats

def render_html(tb: FleetTables, lang: str) -> bytes:
    return render_template("fleet.html.j2", autoescape=True, **build_view(tb, lang)).encode("utf-8")


def render_md(tb: FleetTables, lang: str) -> bytes:
    text = render_template("fleet.md.j2", autoescape=False, filters={"md": md_inline, "cell": md_cell},
                           **build_view(tb, lang))
    return re.sub(r"\n{3,}", "\n\n", text).encode("utf-8")


def render_xlsx(tb: FleetTables, lang: str) -> bytes:
    import xlsxwriter  # deferred with the spreadsheet renderer below: only an .xlsx fleet report loads them

    from ..render.xlsx import MAX_CELL, VERDICT_COLORS

    v = build_view(tb, lang)
    L = v["L"]
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    wb.set_properties({"title": v["title"], "author": v["tool_name"], "comments": v["period"]})
    f = wb.add_format
    fmt = {
        "title": f({"bold": True, "font_size": 15}),
        "head": f({"bold": True, "bg_color": "#E8EDF3", "border": 1, "text_wrap": True, "valign": "top"}),
        "text": f({"valign": "top", "border": 1, "text_wrap": True}),
        "num": f({"valign": "top", "border": 1, "num_format": "0"}),
        "dec": f({"valign": "top", "border": 1, "num_format": "0.0"}),
        "date": f({"valign": "top", "border": 1, "num_format": "yyyy-mm-dd", "align": "left"}),
        "dt": f({"valign": "top", "border": 1, "num_format": "yyyy-mm-dd hh:mm", "align": "left"}),
        "label": f({"bold": True, "valign": "top", "border": 1, "bg_color": "#F5F7FA"}),
        "note": f({"italic": True, "font_color": "#5F6B7A", "text_wrap": True, "valign": "top"}),
    }
    sev = {s.name: f({"bold": True, "font_color": "#FFFFFF", "bg_color": s.color, "border": 1}) for s in SEVERITY_LEVELS}
    ver = {k: f({"bold": True, "font_color": "#FFFFFF", "bg_color": c, "border": 1}) for k, c in VERDICT_COLORS.items()}

    def put(ws, row: int, col: int, value: Any, kind: str = "text") -> None:
        value = _num(value)
        if kind in ("num", "dec") and isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, col, value, fmt[kind])
        elif kind == "date" and isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            ws.write_datetime(row, col, dt.datetime.fromisoformat(value), fmt["date"])
        elif isinstance(kind, str) and kind.startswith("sev:") and value:
            ws.write_string(row, col, L(value), sev.get(value, fmt["text"]))
        elif isinstance(kind, str) and kind.startswith("ver:"):
            ws.write_string(row, col, L(f"verdict.{value or 'not_assessed'}"), ver[value or "not_assessed"])
        else:
            s = pc_view.EMPTY if value is None or value == "" else str(value)
            ws.write_string(row, col, s[:MAX_CELL], fmt["text"])

    def table(sheet: str, name: str, heads: list[tuple[str, int]], rows: list[list[tuple[Any, str]]], note: str = "",
              empty: str = "") -> None:
        ws = wb.add_worksheet(re.sub(r"[\[\]:*?/\\]", "-", L(f"sheet.{sheet}"))[:31])
        ws.write_string(0, 0, name, fmt["title"])
        top = 1
        if note:
            ws.merge_range(1, 0, 1, max(3, len(heads) - 1), note, fmt["note"])
            ws.set_row(1, 30)
            top = 2
        for c, (h, w) in enumerate(heads):
            ws.write_string(top, c, h, fmt["head"])
            ws.set_column(c, c, w)
        for r, cells in enumerate(rows, top + 1):
            for c, (value, kind) in enumerate(cells):
                put(ws, r, c, value, kind)
        if not rows and empty:
            ws.write_string(top + 1, 0, empty)
        ws.freeze_panes(top + 1, 0)
        if rows:
            ws.autofilter(top, 0, top + len(rows), len(heads) - 1)

    # overview
    ws = wb.add_worksheet(L("overview")[:31])
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 40)
    ws.write_string(0, 0, v["title"], fmt["title"])
    row = 2
    for label, value in [(L("as_of"), v["as_of"]), (L("period"), v["period"]), (L("store"), v["store"])]:
        ws.write_string(row, 0, label, fmt["label"])
        put(ws, row, 1, value)
        row += 1
    for c in v["cards"]:
        ws.write_string(row, 0, c["label"], fmt["label"])
        put(ws, row, 1, c["value"], "num")
        row += 1
    for s in v["severities"]:
        ws.write_string(row, 0, f"{L('severity_counts')}: {s['label']}", fmt["label"])
        put(ws, row, 1, s["count"], "num")
        row += 1
    row += 1
    ws.write_string(row, 0, L("method"), fmt["label"])
    ws.write_string(row, 1, L("method_text"), fmt["note"])

    sev_heads = [(L(s), 8) for s in SEVERITIES]
    site_heads = [(L("site"), 22), (L("pcs"), 8), (L("silent_n"), 10), *sev_heads, (L("avg_score"), 10),
                  (L("min_score"), 10), (L("worst_grade"), 8), (L("pcs_not_met"), 12), (L("last_scan"), 12)]

    def site_cells(s: dict[str, Any]) -> list[tuple[Any, str]]:
        return [(s["label"], "text"), (s["pcs"], "num"), (s["silent"], "num"), *((s[k], "num") for k in SEVERITIES),
                (s["avg_score"], "dec"), (s["min_score"], "num"), (s["worst_grade"], "text"),
                (s["pcs_not_met"], "num"), (s["last_scan"], "date")]

    table("worst", L("worst_sites"), [("#", 5), *site_heads], [[(s["rank"], "num"), *site_cells(s)] for s in v["worst_sites"]],
          L("worst_sites_note"))
    table("sites", L("sites"), site_heads, [site_cells(s) for s in v["sites"]])
    table("duties", L("site_duties"), [(L("site"), 22), *((d["title"], 16) for d in v["duties"])],
          [[(s["label"], "text"), *((c["verdict"], "ver:") for c in s["duties"])] for s in v["sites"]],
          L("site_duties_note"))
    table("pcs", L("pc_table"), [(L("site"), 18), (L("hostname"), 18), (L("role"), 12), (L("last_scan"), 20),
                          (L("days_ago"), 8), (L("status"), 10), (L("score"), 8), (L("grade"), 6), *sev_heads,
                          (L("reports"), 8), *((d["title"], 14) for d in v["duties"])],
          [[(p["site"], "text"), (p["hostname"], "text"), (p["role"], "text"), (p["last_scan"], "text"),
            (p["days_ago"], "num"), (p["status"], "text"), (p["score"], "num"), (p["grade"], "text"),
            *((p[k], "num") for k in SEVERITIES), (p["reports"], "num"),
            *((c["verdict"], "ver:") for c in p["duties"])] for p in v["pcs"]])
    table("silent", L("silent_title"), [(L("severity"), 10), (L("site"), 18), (L("hostname"), 18), (L("role"), 12),
                              (L("last_scan"), 20), (L("days_ago"), 8), ("ID", 18), (L("r.remediation"), 60)],
          [[(s["severity"], "sev:"), (s["site"], "text"), (s["hostname"], "text"), (s["role"], "text"),
            (s["last_scan"], "text"), (s["days_ago"], "num"), (s["id"], "text"), (s["remediation"], "text")]
           for s in v["silent"]], L("silent_note", days=v["silent_days"], as_of=v["as_of"]),
          L("no_silent", days=v["silent_days"]))
    table("weekly", L("trends"), [(L("week"), 10), (L("week_start"), 12), (L("reports"), 8), (L("pcs_reporting"), 10),
                        *sev_heads, (L("avg_score"), 10)],
          [[(w["week"], "text"), (w["week_start"], "date"), (w["reports"], "num"), (w["pcs"], "num"),
            *((w[k], "num") for k in SEVERITIES), (w["avg_score"], "dec")] for w in v["weekly"]], L("trends_note"))
    if not tb.weekly_sites.empty:
        weeks = list(tb.weekly_sites.columns)
        table("weekly_sites", f"{L('trends')} · {L('site')}", [(L("site"), 22), *((w, 9) for w in weeks)],
              [[(s or L("no_site"), "text"), *((r[w], "dec") for w in weeks)]
               for s, r in tb.weekly_sites.iterrows()], f"{L('avg_score')} · {L('trends_note')}")
    table("tools", L("tools"), [(L("tool"), 28), (L("category"), 16), (L("pcs"), 8), (L("sites_n"), 8), (L("findings"), 8),
                       (L("worst"), 10)],
          [[(x["label"], "text"), (x["category_label"], "text"), (x["pcs"], "num"), (x["sites"], "num"),
            (x["findings"], "num"), (x["worst"], "sev:")] for x in v["tools"]], empty=L("no_tools"))
    table("locations", L("locations"), [(L("location"), 24), (L("pcs"), 8), (L("sites_n"), 8), (L("findings"), 8),
                           (L("records"), 10), (L("worst"), 10)],
          [[(x["label"], "text"), (x["pcs"], "num"), (x["sites"], "num"), (x["findings"], "num"),
            (x["records"], "num"), (x["worst"], "sev:")] for x in v["locations"]], empty=L("no_locations"))
    table("platforms", L("platforms"), [(L("platform"), 24), (L("pcs"), 8), (L("sites_n"), 8), (L("findings"), 8),
                           (L("records"), 10), (L("worst"), 10)],
          [[(x["label"], "text"), (x["pcs"], "num"), (x["sites"], "num"), (x["findings"], "num"),
            (x["records"], "num"), (x["worst"], "sev:")] for x in v["platforms"]], empty=L("no_platforms"))
    table("rejected", L("rejected"), [(L("file"), 60), (L("reason"), 70), (L("first_seen"), 20)],
          [[(r["source"], "text"), (r["reason"], "text"), (r["first_seen"], "text")] for r in v["rejected"]],
          L("rejected_note"), L("no_rejected"))
    wb.close()
    return buf.getvalue()


RENDERERS: dict[str, Callable[[FleetTables, str], bytes]] = {
    ".html": render_html, ".htm": render_html, ".md": render_md, ".xlsx": render_xlsx,
}


def renderer_for(path: Path) -> Callable[[FleetTables, str], bytes]:
    ext = Path(path).suffix.lower()
    if ext not in RENDERERS:
        raise UsageError("usage.fleet.unknown_format", path=path, ext=ext or '(no extension)',
                         known=', '.join(sorted(RENDERERS)))
    return RENDERERS[ext]


def write(tb: FleetTables, path: Path, lang: str) -> None:
    write_bytes(Path(path), renderer_for(path)(tb, lang))
