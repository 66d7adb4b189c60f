"""The judgement layer of a report: per-duty verdicts, a score a manager can track, the cited legal clauses,
the accepted risks and the change since a previous report.

``finish_report`` adds these top-level keys to a report dict (all optional in the schema): ``areas``,
``duties``, ``score``, ``accepted_risks``, ``clauses`` and, with a baseline, ``changes``. It is called after a
scan (before the report is sealed) and again by ``auditor report`` (re-reading the packs), so a JSON report
written by an older version renders with the current duties and clauses. Renderers print these keys; they
never judge.

Honest verdicts: an area is *assessed* only when its sources ran (``failed`` when every source that ran failed);
a duty is *met* only when every area and every check it depends on was assessed; the score says how much was
assessed (``score.assessment``: duties assessed of all, checks not assessed), and only a complete assessment
can earn grade A.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from pathlib import Path
from typing import Any

from .core.checks import CheckDef, checks as load_checks
from . import packs
from .leakguard import guard_report
from .messages import Text
from .report_input import load as load_report_input
from .errors import PackError, UsageError
from .i18n import LANGS, both, t
from .integrity import check as integrity_check
from .core.model import SCHEMA_VERSION
from .resources import pack_dir
from .core.severity import NAMES as SEVERITIES, at_least, rank, severity

# --------------------------------------------------------------------------- constants (documented in README)

#: a counted finding at or above this severity means the duty is not met
FAILING_AT = "medium"
#: at most this many times the weight of its worst severity is deducted per check
CHECK_CAP = 2
#: each deduction point keeps this share of the score: 100 x 0.99^points (decays smoothly, no floor at a few
#: findings, so fixing one problem always shows)
DECAY = 0.99
#: (lowest score, grade)
GRADES = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (0, "F"))
#: worst grade a report with a finding of this severity can get
GRADE_CAPS = {"critical": "D", "high": "C"}
SCORE_FORMULA = "v1"
#: best grade of an incomplete assessment (a duty or a check not assessed): A means "assessed and clean"
INCOMPLETE_GRADE = "B"

DUTY_AREAS = ("remote", "files", "accounts", "trail", "organisation")
ASSESSED_STATUSES = ("ok", "partial", "no_data")  # a source with one of these ran
INCOMPLETE_STATUSES = ("partial", "skipped", "failed", "not_assessed")


# --------------------------------------------------------------------------- duties pack

def load_duties(root: Path | None = None, clauses: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The duties of ``checks/duties.toml``, validated (unknown clause ids or areas are pack errors)."""
    path = (root or pack_dir("checks")) / "duties.toml"
    clauses = clauses if clauses is not None else packs.legal_clauses(root)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    raws = packs.load_toml(path).get("duty")
    if not raws or not isinstance(raws, list):
        raise PackError("pack.duties.none", path=path)
    for raw in raws:
        did = raw.get("id")
        where = Text("where.duty", path=path, id=did or "?")
        if not isinstance(did, str) or not did.startswith("D-"):
            raise PackError("pack.duties.bad_id", where=where)
        if did in seen:
            raise PackError("pack.duplicate_id", where=where)
        seen.add(did)
        for key in ("title_zh", "title_en", "description_zh", "description_en"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise PackError("pack.missing_or_empty", where=where, key=key)
        lists: dict[str, Any] = {}
        for key in ("clauses", "areas", "checks", "exclude_checks"):
            if key == "checks" and key not in raw:
                lists[key] = None  # no explicit mapping: the clause rule applies
                continue
            value = raw.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise PackError("pack.not_string_list", where=where, key=key)
            lists[key] = value
        if not lists["clauses"] or not lists["areas"]:
            raise PackError("pack.duties.needs_clauses_areas", where=where)
        missing = [c for c in lists["clauses"] if c not in clauses]
        if missing:
            raise PackError("pack.duties.unknown_clauses", where=where, missing=', '.join(missing))
        unknown = [a for a in lists["areas"] if a not in DUTY_AREAS]
        if unknown:
            raise PackError("pack.duties.unknown_areas", where=where, unknown=', '.join(unknown),
                            areas=', '.join(DUTY_AREAS))
        out.append({"id": did, "title": {"zh": raw["title_zh"], "en": raw["title_en"]},
                    "description": {"zh": raw["description_zh"], "en": raw["description_en"]}, **lists})
    return out


def counts_for(duty: dict[str, Any], finding: dict[str, Any]) -> bool:
    """Does this finding count for this duty? (rule documented in checks/duties.toml)"""
    cid = finding.get("check_id", "")
    if any(fnmatch.fnmatchcase(cid, p) for p in duty.get("exclude_checks", [])):
        return False
    if duty.get("checks") is not None:
        return any(fnmatch.fnmatchcase(cid, p) for p in duty["checks"])
    return finding.get("area") in duty["areas"] and bool(set(finding.get("legal_basis", [])) & set(duty["clauses"]))


# --------------------------------------------------------------------------- helpers

def _join(lang: str, items: list[str]) -> str:
    return t(lang, "sep.list").join(items)


def _area_names(lang: str, areas: list[str]) -> str:
    return _join(lang, [t(lang, f"area.{a}") for a in areas])


def _worst(findings: list[dict[str, Any]]) -> str | None:
    return max((f["severity"] for f in findings), key=rank, default=None)


def _report_date(report: dict[str, Any]) -> dt.date:
    for key in ("finished_at", "started_at"):
        try:
            return dt.datetime.fromisoformat(str(report.get(key))).date()
        except ValueError:
            continue
    return dt.date.today()


# --------------------------------------------------------------------------- areas

def area_status(report: dict[str, Any], duties: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per area: assessed / partial / not_assessed, from the scope and the coverage entries."""
    scope = list(report.get("scope", {}).get("areas", []))
    coverage = report.get("coverage", [])
    names: list[str] = []
    for name in [*scope, *(c["area"] for c in coverage), *(a for d in duties for a in d["areas"])]:
        if name not in names:
            names.append(name)
    out = []
    for area in names:
        entries = [c for c in coverage if c["area"] == area]
        ran = [c for c in entries if c["status"] in ASSESSED_STATUSES]
        incomplete = [c for c in entries if c["status"] in INCOMPLETE_STATUSES]
        reason: dict[str, str] | None = None
        if not ran and any(c["status"] == "failed" for c in entries):
            state = "failed"  # it ran and could read nothing: never assessed, never clean
            srcs = ", ".join(c["source"] for c in entries if c["status"] == "failed")
            reason = both("reason.failed", sources=srcs)
        elif area == "organisation" and not ran:
            state, reason = "not_assessed", both("reason.organisation")
        elif not entries and area not in scope:
            state, reason = "not_assessed", both("reason.not_selected")
        elif not ran:
            state = "not_assessed"
            if any(c.get("note", "").startswith("not available in this version") for c in entries):
                reason = both("reason.not_available")
            else:
                reason = both("reason.no_source")
        elif incomplete:
            state = "partial"
            srcs = ", ".join(f"{c['source']} ({c['status']})" for c in incomplete)
            reason = both("reason.partial", sources=srcs)
        else:
            state = "assessed"
        out.append({"area": area, "state": state, "sources": len(entries),
                    "examined": sum(c.get("examined", 0) for c in entries if not is_listing(c)),
                    "skipped": sum(len(c.get("skipped", [])) + _count(c.get("skipped_more")) for c in entries),
                    "reason": reason})
    return out


def is_listing(entry: dict[str, Any]) -> bool:
    """A folder's coverage entry (``root:FOLDER`` of the files area, in reports of every version): what was found
    under that folder and what could not be listed. Its files are examined, and counted, by the area's content
    source (``files:content``); the area's figure counts them once."""
    return str(entry.get("source", "")).startswith("root:")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def checks_not_assessed(report: dict[str, Any], areas: list[dict[str, Any]],
                        checks: dict[str, Any]) -> dict[str, str]:
    """Check id -> why it was not assessed: its area was not (fully) run, or the area said so for the check
    (coverage source ``check <ID>`` with status not_assessed, e.g. AC-001 without a roster)."""
    states = {a["area"]: a["state"] for a in areas}
    out: dict[str, str] = {}
    for cid, chk in sorted(checks.items()):
        if states.get(chk.area) not in ("assessed", "partial"):
            out[cid] = f"area {chk.area}: {states.get(chk.area, 'not_assessed')}"
    for c in report.get("coverage", []):
        src = str(c.get("source", ""))
        if src.startswith("check ") and c.get("status") == "not_assessed":
            out.setdefault(src[6:].strip(), str(c.get("note") or "not assessed"))
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- duties

def judge_duties(report: dict[str, Any], duties: list[dict[str, Any]], areas: list[dict[str, Any]],
                 missing: dict[str, str] | None = None, checks: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One verdict per duty. ``missing`` (checks_not_assessed) and ``checks`` (the pack): a duty with a check
    that was not assessed is not met, but never *met* either."""
    states = {a["area"]: a["state"] for a in areas}
    out = []
    for duty in duties:
        counted = [f for f in report.get("findings", []) if counts_for(duty, f)]
        failing = [f for f in counted if at_least(f["severity"], FAILING_AT)]
        lower = [f for f in counted if not at_least(f["severity"], FAILING_AT)]
        done = [a for a in duty["areas"] if states.get(a) in ("assessed", "partial")]
        todo = [a for a in duty["areas"] if a not in done]
        unchecked = [cid for cid in (missing or {}) if checks and cid in checks and counts_for(duty, {
            "check_id": cid, "area": checks[cid].area, "legal_basis": list(checks[cid].legal_basis)})]
        if failing:
            verdict = "not_met"
            why = {lang: t(lang, "why.not_met", n=len(failing), sev=t(lang, _worst(failing))) for lang in LANGS}
        elif not todo and unchecked:
            verdict = "not_assessed"
            why = {lang: t(lang, "why.checks_missing", areas=_area_names(lang, done), checks=_join(lang, unchecked))
                   for lang in LANGS}
        elif not todo:
            verdict = "met"
            key = "why.met_partial" if any(states.get(a) == "partial" for a in done) else "why.met"
            why = {lang: t(lang, key, areas=_area_names(lang, done)) for lang in LANGS}
        else:
            verdict = "not_assessed"
            if done:
                why = {lang: t(lang, "why.some_assessed", done=_area_names(lang, done), todo=_area_names(lang, todo))
                       for lang in LANGS}
            else:
                why = {lang: t(lang, "why.none_assessed", areas=_area_names(lang, todo)) for lang in LANGS}
        if lower:
            why = {lang: f"{text}{t(lang, 'sep.sentence')}{t(lang, 'why.observations', n=len(lower))}"
                   for lang, text in why.items()}
        out.append({
            "id": duty["id"], "title": duty["title"], "description": duty["description"],
            "verdict": verdict, "reason": why, "areas": duty["areas"],
            "assessed_areas": done, "unassessed_areas": todo, **({"checks_not_assessed": unchecked} if unchecked else {}),
            "findings": [f["id"] for f in counted], "failing": [f["id"] for f in failing],
            "worst_severity": _worst(counted), "clauses": duty["clauses"],
        })
    return out


# --------------------------------------------------------------------------- score

def assessment(duties: list[dict[str, Any]], areas: list[dict[str, Any]], missing: dict[str, str],
               checks: dict[str, Any]) -> dict[str, Any]:
    """How much of what the score is about was assessed: duties with a verdict (met or not met) of all duties,
    checks not assessed of all checks, and the areas not fully assessed (partial, failed, not assessed).
    Complete only when nothing is left out."""
    judged = [d for d in duties if d["verdict"] != "not_assessed"]
    incomplete = [a["area"] for a in areas if a["state"] != "assessed"]
    return {
        "complete": len(judged) == len(duties) and not missing and not incomplete,
        "duties_assessed": len(judged), "duties_total": len(duties),
        "checks_assessed": len([c for c in checks if c not in missing]), "checks_total": len(checks),
        "checks_not_assessed": sorted(missing),
        "areas_incomplete": incomplete,
        "grade_limit": None,
    }


def score(findings: list[dict[str, Any]], areas: list[dict[str, Any]] | None = None,
          assessed: dict[str, Any] | None = None) -> dict[str, Any]:
    """round(100 x DECAY^points), points summed per check (the severities' weights, CHECK_CAP); graded by GRADES, capped by
    GRADE_CAPS; with ``assessed`` (``assessment``) that is not complete, graded INCOMPLETE_GRADE at best."""
    by_check: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_check.setdefault(f["check_id"], []).append(f)
    deductions = []
    for cid in sorted(by_check):
        fs = by_check[cid]
        worst = _worst(fs)
        points = min(sum(severity(f["severity"]).weight for f in fs), CHECK_CAP * severity(worst).weight)
        if points:
            deductions.append({"check_id": cid, "findings": len(fs), "worst_severity": worst, "points": points})
    value = score_value(sum(d["points"] for d in deductions))
    grade = next(g for floor, g in GRADES if value >= floor)
    cap = None
    for sev in SEVERITIES:  # critical first: the strictest cap that applies
        if sev in GRADE_CAPS and any(f["severity"] == sev for f in findings):
            cap = {"grade": GRADE_CAPS[sev], "severity": sev}
            break
    if cap and grade < cap["grade"]:  # letters sort best first ("A" < "D" < "F"): a better grade is capped
        grade = cap["grade"]
    else:
        cap = None  # recorded only when it lowered the grade
    if assessed is not None:
        assessed = dict(assessed)
        if not assessed["complete"] and grade < INCOMPLETE_GRADE:  # letters sort best first: "A" < "B"
            grade, assessed["grade_limit"] = INCOMPLETE_GRADE, INCOMPLETE_GRADE
    out: dict[str, Any] = {"value": value, "grade": grade, "formula": SCORE_FORMULA, "deductions": deductions,
                           "grade_cap": cap}
    if areas is not None:
        out["assessed_areas"] = [a["area"] for a in areas if a["state"] in ("assessed", "partial")]
    if assessed is not None:
        out["assessment"] = assessed
    return out


def score_value(points: int) -> int:
    return int(round(100 * DECAY ** points))


# --------------------------------------------------------------------------- accepted risks

def accepted_risks(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Allowlist entries with the findings they govern and the days left until they expire."""
    today = _report_date(report)
    out = []
    for entry in report.get("allowlist", []):
        ids = [f["id"] for f in report.get("findings", [])
               if isinstance(f.get("evidence"), dict) and isinstance(f["evidence"].get("approval"), dict)
               and f["evidence"]["approval"].get("tool") == entry.get("tool")
               and f["evidence"]["approval"].get("expires") == entry.get("expires")]
        try:
            days_left = (dt.date.fromisoformat(str(entry.get("expires"))) - today).days
        except ValueError:
            days_left = None
        out.append({**entry, "findings": ids, "days_left": days_left})
    return out


# --------------------------------------------------------------------------- change since a baseline

def load_baseline(path: Path) -> dict[str, Any]:
    """The baseline report: bounded and schema-checked (it is a file from outside)."""
    return load_report_input(path, f"--baseline {path}")


def _brief(f: dict[str, Any]) -> dict[str, Any]:
    return {"id": f["id"], "check_id": f["check_id"], "area": f["area"], "severity": f["severity"],
            "title": f.get("title") or {"zh": f["check_id"], "en": f["check_id"]},
            "target": (f.get("target") or {}).get("label", "")}


def compare(report: dict[str, Any], old: dict[str, Any], areas: list[dict[str, Any]]) -> dict[str, Any]:
    """new / still_open / resolved by finding id. A finding that disappeared is only *resolved* when its area was
    assessed now and every source of that area that ran in the baseline ran again; otherwise not_rechecked."""
    now = {f["id"]: f for f in report.get("findings", [])}
    before = {f["id"]: f for f in old.get("findings", [])}
    states = {a["area"]: a["state"] for a in areas}
    ran_now = {(c["area"], c["source"]) for c in report.get("coverage", []) if c["status"] in ASSESSED_STATUSES}
    ran_before = {(c["area"], c["source"]) for c in old.get("coverage", []) if c.get("status") in ASSESSED_STATUSES}
    lost = {area for area, source in ran_before - ran_now}

    resolved, not_rechecked = [], []
    for fid, f in before.items():
        if fid in now:
            continue
        rechecked = states.get(f["area"]) in ("assessed", "partial") and f["area"] not in lost
        (resolved if rechecked else not_rechecked).append(_brief(f))
    severity_changed = [{"id": fid, "before": before[fid]["severity"], "after": f["severity"]}
                        for fid, f in now.items() if fid in before and before[fid]["severity"] != f["severity"]]
    host_then = (old.get("host") or {}).get("hostname")
    integ = old.get("integrity") if isinstance(old.get("integrity"), dict) else {}
    return {
        "baseline": {
            "finished_at": old.get("finished_at"),
            "hostname": host_then,
            "same_host": host_then == (report.get("host") or {}).get("hostname"),
            "digest": integ.get("digest"),
            "intact": not integrity_check(old),
            "score": score(list(before.values()))["value"],
        },
        "new": [fid for fid in now if fid not in before],
        "still_open": [fid for fid in now if fid in before],
        "resolved": resolved,
        "not_rechecked": not_rechecked,
        "severity_changed": severity_changed,
    }


# --------------------------------------------------------------------------- clauses

def cited_clauses(report: dict[str, Any], clauses: dict[str, Any],
                  duties: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The clause records cited by the findings and the duties, in order of first citation."""
    order: list[str] = []
    for cid in [*(c for f in report.get("findings", []) for c in f.get("legal_basis", [])),
                *(c for d in duties for c in d["clauses"])]:
        if cid not in order:
            order.append(cid)
    out = {}
    for cid in order:
        raw = clauses.get(cid)
        if raw is None:
            continue
        rec = {k: raw[k] for k in ("law", "law_en", "short", "short_en", "article", "article_en", "text_zh",
                                   "summary_en", "verified", "source") if k in raw}
        eff = raw.get("effective")
        rec["effective"] = eff.isoformat() if isinstance(eff, (dt.date, dt.datetime)) else str(eff or "")
        for k in ("note", "note_zh", "penalty", "penalty_zh"):
            if raw.get(k):
                rec[k] = raw[k]
        out[cid] = rec
    return out


def cited_checks(report: dict[str, Any], checks: dict[str, CheckDef]) -> dict[str, Any]:
    """What each check the findings name is about (its description from the rules packs), so every renderer
    can show it next to the finding's title."""
    out: dict[str, Any] = {}
    for f in report.get("findings", []):
        chk = checks.get(f.get("check_id"))
        if chk is not None and f["check_id"] not in out and all(chk.description.get(lang) for lang in LANGS):
            out[f["check_id"]] = {"description": dict(chk.description)}
    return out


# --------------------------------------------------------------------------- entry point

def finish_report(report: dict[str, Any], baseline: Path | str | dict | None = None,
                  checks_root: Path | None = None, first_report: bool = False,
                  findings_guarded: bool = False) -> dict[str, Any]:
    """Add areas, duties, score, accepted_risks, clauses (and changes with a baseline) to ``report``.
    ``first_report``: no baseline because this host has no report before this one (a first scheduled run): the
    report says so (``first_report: true``, schema 1.3), so its changes section can say there is nothing to
    compare with. ``findings_guarded``: the report's findings are those the scan of this process made
    (``Finding.to_dict`` checked each one), so the report-boundary guard checks everything else; a report read
    from a file is checked whole."""
    clauses = packs.legal_clauses(checks_root)
    duties = load_duties(checks_root, clauses)
    checks = load_checks(checks_root)
    areas = area_status(report, duties)
    missing = checks_not_assessed(report, areas, checks)
    report["areas"] = areas
    report["duties"] = judge_duties(report, duties, areas, missing, checks)
    report["score"] = score(report.get("findings", []), areas, assessment(report["duties"], areas, missing, checks))
    report["accepted_risks"] = accepted_risks(report)
    if baseline is not None:
        old = baseline if isinstance(baseline, dict) else load_baseline(Path(baseline))
        report["changes"] = compare(report, old, areas)
        report.pop("first_report", None)  # compared now, with a baseline given later (auditor report --baseline)
    elif first_report:
        report["first_report"] = True
    report["clauses"] = cited_clauses(report, clauses, duties)
    report["checks"] = cited_checks(report, checks)
    if _minor(report.get("schema_version")) < _minor(SCHEMA_VERSION):
        report["schema_version"] = SCHEMA_VERSION
    # a baseline or re-rendered report of an older version may hold raw names
    return guard_report(report, checked=("findings",) if findings_guarded else ())


def _minor(version: Any) -> int:
    try:
        return int(str(version).split(".")[1])
    except (IndexError, ValueError):
        return 0
