"""The report as a reader sees it: labelled, ordered and formatted for one language. Every human-readable
renderer (HTML, Markdown, XLSX, CSV) builds from this, so they all show the same things. No judgement here:
verdicts, score, clauses and changes come from the report (auditor.compliance)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..core.severity import SEVERITIES
from ..i18n import has, t
from ..integrity import signature_kind
from . import evidence as ev_view

EMPTY = ev_view.EMPTY


def parse_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def fmt_time(value: Any) -> str:
    when = parse_time(value)
    if when is None:
        return str(value) if value else EMPTY
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    if when.utcoffset() is not None:
        text += " " + when.strftime("%z")[:3] + ":" + when.strftime("%z")[3:]
    return text


def scalar(value: Any, lang: str) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return t(lang, "r.yes") if value else t(lang, "r.no_")
    return str(value)


def clause_view(cid: str, clauses: dict[str, Any], lang: str) -> dict[str, Any]:
    rec = clauses.get(cid)
    if not rec:
        return {"id": cid, "label": cid, "law": "", "article": "", "text": "", "effective": "", "verified": None,
                "note": "", "penalty": "", "anchor": f"c-{_anchor(cid)}"}
    zh = lang == "zh"
    return {
        "id": cid,
        "label": f"{rec['short']}{rec['article']}" if zh else f"{rec['short_en']} {rec['article_en']}",
        "law": rec["law"] if zh else rec["law_en"],
        "article": rec["article"] if zh else rec["article_en"],
        "text": rec["text_zh"] if zh else rec["summary_en"],
        "effective": rec.get("effective", ""),
        "verified": rec.get("verified"),
        "note": (rec.get("note_zh") if zh else None) or rec.get("note", ""),
        "penalty": (rec.get("penalty_zh") if zh else None) or rec.get("penalty", ""),
        "anchor": f"c-{_anchor(cid)}",
    }


def _anchor(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)


def build(report: dict[str, Any], lang: str) -> dict[str, Any]:
    """Everything a renderer prints, in order, in ``lang``."""
    L = lambda key, **p: t(lang, key, **p)  # noqa: E731
    findings = report.get("findings", [])
    clauses = report.get("clauses", {})
    changes = report.get("changes")
    new_ids = set(changes["new"]) if changes else set()
    open_ids = set(changes["still_open"]) if changes else set()
    duty_of: dict[str, list[str]] = {}
    for d in report.get("duties", []):
        for fid in d["findings"]:
            duty_of.setdefault(fid, []).append(d["id"])

    fviews = []
    index: dict[str, dict[str, Any]] = {}
    platforms = ev_view.platform_names(findings)
    described = report.get("checks") or {}
    width = max(2, len(str(len(findings))))
    for n, f in enumerate(findings, 1):
        change = "new" if f["id"] in new_ids else "still_open" if f["id"] in open_ids else None
        target = f.get("target", {})
        evidence = ev_view.present(f.get("evidence", {}), lang, platforms)
        fv = {
            "no": n, "ref": f"F{n:0{width}d}", "id": f["id"], "anchor": f"f-{f['id']}",
            "check_id": f["check_id"], "severity": f["severity"], "severity_label": L(f["severity"]),
            "area": f["area"], "area_label": area_label(lang, f["area"]),
            "title": f["title"].get(lang) or f["title"].get("zh", ""),
            "description": ((described.get(f["check_id"]) or {}).get("description") or {}).get(lang, ""),
            "target": target.get("label", ""), "target_ref": target.get("ref", ""),
            "target_kind": target.get("kind", ""), "target_kind_label": _kind(lang, target.get("kind", "")),
            "evidence": evidence.rows, "evidence_tables": evidence.tables, "evidence_text": evidence.text(),
            "basis": [clause_view(c, clauses, lang) for c in f.get("legal_basis", [])],
            "remediation": f.get("remediation", {}).get(lang, ""),
            "note": (f.get("note") or {}).get(lang, ""),
            "change": change, "change_label": L(f"change.{change}") if change else "",
            "duties": duty_of.get(f["id"], []),
        }
        fviews.append(fv)
        index[f["id"]] = fv

    def refs(ids: list[str]) -> list[dict[str, Any]]:
        return [index[i] for i in ids if i in index]

    duties = []
    for d in report.get("duties", []):
        duties.append({
            "id": d["id"], "title": d["title"][lang], "description": d["description"][lang],
            "verdict": d["verdict"], "verdict_label": L(f"verdict.{d['verdict']}"), "reason": d["reason"][lang],
            "findings": refs(d["findings"]), "failing": set(d["failing"]),
            "areas": [area_label(lang, a) for a in d["areas"]],
            "clauses": [clause_view(c, clauses, lang) for c in d["clauses"]],
        })

    summary = report.get("summary", {})
    by_sev = summary.get("by_severity", {})
    areas = []
    for a in report.get("areas", []):
        areas.append({"area": a["area"], "label": area_label(lang, a["area"]), "state": a["state"],
                      "state_label": L(f"state.{a['state']}"), "count": summary.get("by_area", {}).get(a["area"], 0),
                      "examined": a["examined"], "skipped": a["skipped"], "sources": a["sources"],
                      "reason": (a.get("reason") or {}).get(lang, "")})

    coverage = []
    for c in report.get("coverage", []):
        skipped = list(c["skipped"])
        if c.get("skipped_more"):
            skipped.append({"item": "…", "reason": L("skipped_more", n=c["skipped_more"])})
        coverage.append({"area": c["area"], "area_label": area_label(lang, c["area"]), "source": c["source"],
                         "status": c["status"], "status_label": L(f"coverage_status.{c['status']}"), "examined": c["examined"],
                         "skipped": skipped,
                         "note": "; ".join(x for x in (c.get("note", ""), *reader_notes(c, lang)) if x)})

    score = report.get("score") or {}
    cap = score.get("grade_cap")
    assessed = score.get("assessment") if isinstance(score.get("assessment"), dict) else {}
    score_view = {
        "value": score.get("value"), "grade": score.get("grade", ""), "formula": L("r.score_formula"),
        "deductions": score.get("deductions", []),
        "cap": (f"{cap['grade']} ({L(cap['severity'])})" if cap else ""),
        "basis": ", ".join(area_label(lang, a) for a in score.get("assessed_areas", [])) or EMPTY,
        "complete": assessed.get("complete"), "assessment": assessment_text(score, lang),
        "limit": L("r.grade_limit", grade=assessed["grade_limit"]) if assessed.get("grade_limit") else "",
        "checks_not_assessed": ", ".join(str(c) for c in assessed.get("checks_not_assessed", [])),
    }

    risks = []
    for r in report.get("accepted_risks", report.get("allowlist", [])):
        risks.append({"tool": r.get("tool", ""), "hosts": ", ".join(r.get("hosts", [])), "approver": r.get("approver", ""),
                      "reason": r.get("reason", ""), "expires": r.get("expires", ""), "ticket": r.get("ticket") or "",
                      "status": r.get("status", ""), "status_label": L(f"approval.{r.get('status', 'active')}"),
                      "days_left": r.get("days_left"), "findings": refs(r.get("findings", []))})

    change_view = None
    if changes:
        base = changes["baseline"]
        change_view = {
            "baseline_time": fmt_time(base.get("finished_at")), "baseline_host": base.get("hostname") or EMPTY,
            "same_host": base.get("same_host", True), "other_host": other_host_note(report, lang),
            "baseline_digest": base.get("digest") or EMPTY,
            "baseline_intact": base.get("intact"), "score_before": base.get("score"),
            "score_now": score.get("value"),
            "new": refs(changes["new"]), "still_open": refs(changes["still_open"]),
            "resolved": [_brief_view(b, lang) for b in changes["resolved"]],
            "not_rechecked": [_brief_view(b, lang) for b in changes["not_rechecked"]],
            "severity_changed": [{"finding": index.get(s["id"]), "before": L(s["before"]), "after": L(s["after"])}
                                 for s in changes["severity_changed"] if s["id"] in index],
        }

    host = report.get("host", {})
    tool = report.get("tool", {})
    scope = report.get("scope", {})
    host_rows = [
        (L("r.hostname"), host.get("hostname", "")),
        (L("r.site"), host.get("site") or EMPTY),
        (L("r.role"), L(host.get("role") or "unspecified")),
        (L("r.os"), " ".join(x for x in (host.get("os", ""), host.get("os_version", "")) if x) or EMPTY),
        (L("r.kernel"), host.get("kernel") or EMPTY),
        (L("r.user"), host.get("user", "")),
        (L("r.mode"), L("r.live") if host.get("live") else f"{L('r.offline')}: {host.get('root') or scope.get('root') or ''}"),
        (L("r.boot_time"), fmt_time(host.get("boot_time")) if host.get("boot_time") else EMPTY),
        (L("r.started"), fmt_time(report.get("started_at"))),
        (L("r.finished"), fmt_time(report.get("finished_at"))),
        (L("r.areas"), ", ".join(area_label(lang, a) for a in scope.get("areas", []))),
        (L("r.tool_name"), tool.get("name", "")),
        (L("r.tool_version"), tool.get("version", "")),
        (L("r.catalog_tools"), scalar(scope.get("catalog_tools"), lang)),
        (L("r.checks"), scalar(scope.get("checks"), lang)),
        (L("r.python"), host.get("python") or EMPTY),
        (L("r.platform"), host.get("platform") or EMPTY),
    ]

    integ = report.get("integrity") or {}
    cited = [clause_view(cid, clauses, lang) for cid in clauses]
    return {
        "lang": lang, "L": L, "sep": L("sep.items"),
        "title": L("r.title"),
        "host": host, "hostname": host.get("hostname", ""), "site": host.get("site") or "",
        "role_label": L(host.get("role") or "unspecified"),
        "tool_name": tool.get("name", ""), "tool_version": tool.get("version", ""),
        "finished": fmt_time(report.get("finished_at")), "host_rows": host_rows,
        "score": score_view,
        "total": summary.get("total", len(findings)),
        "severities": [{"key": s.name, "label": L(s.name), "count": by_sev.get(s.name, 0), "css": s.css, "color": s.color}
                       for s in SEVERITIES],
        "areas": areas,
        "not_assessed": [a for a in areas if a["state"] != "assessed"],
        "duties": duties,
        "findings": fviews,
        "coverage": coverage,
        "risks": risks,
        "changes": change_view,
        "first_report": L("r.first_report") if not change_view and report.get("first_report") is True else "",
        "clauses": cited,
        "no_findings": no_findings_text(report, lang, "r."),
        "digest": integ.get("digest", ""), "signed": signature_kind(integ) is not None,
        "rendered_from": report.get("rendered_from"),
        "schema_version": report.get("schema_version", ""),
    }


def assessment_text(score: Any, lang: str) -> str:
    """How much the score and grade rest on: "complete: …" or "incomplete: 5 of 8 duties assessed, …"; "" for
    a report judged before this was recorded."""
    a = score.get("assessment") if isinstance(score, dict) else None
    if not isinstance(a, dict):
        return ""
    params = {"done": a.get("duties_assessed"), "total": a.get("duties_total"), "checks": a.get("checks_total"),
              "missing": len(a.get("checks_not_assessed") or [])}
    return t(lang, "r.complete" if a.get("complete") else "r.incomplete", **params)


def no_findings_text(report: dict[str, Any], lang: str, prefix: str = "") -> str:
    """What a report without findings says: never "no problems" when duties or checks were not assessed.
    ``prefix`` "r." for the reports' wording, "" for the terminal's."""
    score = report.get("score")
    a = score.get("assessment") if isinstance(score, dict) else None
    if isinstance(a, dict) and not a.get("complete"):
        return t(lang, f"{prefix}no_findings_incomplete",
                 duties=_count(a.get("duties_total")) - _count(a.get("duties_assessed")),
                 checks=len(a.get("checks_not_assessed") or []))
    return t(lang, f"{prefix}no_findings")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def area_label(lang: str, area: str) -> str:
    return t(lang, f"area.{area}") if has(f"area.{area}") else area


def _kind(lang: str, kind: str) -> str:
    return t(lang, f"kind.{kind}") if has(f"kind.{kind}") else kind


def _brief_view(b: dict[str, Any], lang: str) -> dict[str, Any]:
    return {"id": b["id"], "check_id": b["check_id"], "severity": b["severity"], "severity_label": t(lang, b["severity"]),
            "area_label": area_label(lang, b["area"]), "title": b["title"].get(lang, ""), "target": b["target"]}


def other_host_note(report: dict[str, Any], lang: str) -> str:
    """The warning that the baseline is another host's report ('' when it is this host's, or no baseline)."""
    changes = report.get("changes") if isinstance(report.get("changes"), dict) else {}
    base = changes.get("baseline") if isinstance(changes.get("baseline"), dict) else {}
    if base.get("same_host", True) is not False:
        return ""
    now = (report.get("host") or {}).get("hostname") or EMPTY
    return t(lang, "r.baseline_other_host", host=base.get("hostname") or EMPTY, now=now)


def reader_notes(entry: dict[str, Any], lang: str) -> list[str]:
    """A coverage entry's notes for the reader (``notes``: {"zh", "en"} each), in ``lang``."""
    notes = entry.get("notes") if isinstance(entry.get("notes"), list) else []
    return [str(n.get(lang) or n.get("en") or "") for n in notes if isinstance(n, dict)]
