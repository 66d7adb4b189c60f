"""The fleet's tables, built with pandas from the store: the latest report of every PC (a PC is site + host
name), per-site roll-ups of the duty verdicts each report carries, weekly trends, the most common remote tools,
where export files lay, the back offices they came from, PCs that stopped reporting (FL-001) and rejected files.

No judgement is made here: duty verdicts, scores and grades come from the reports (auditor.compliance). A site's
verdict for a duty is a roll-up: not_met if any of its PCs does not meet it, met if all do, else not_assessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.checks import fleet_checks
from ..core.factory import FindingFactory
from ..core.model import Subject, Target
from ..core.severity import NAMES as SEVERITIES, rank
from . import DEFAULT_SILENT_DAYS
from .store import Store

VERDICTS = ["not_met", "not_assessed", "met"]


@dataclass
class FleetTables:
    as_of: dt.date
    since: dt.date | None
    silent_days: int
    store: Path
    reports: int
    duty_defs: list[dict[str, Any]]
    pcs: pd.DataFrame
    sites: pd.DataFrame
    site_duties: pd.DataFrame
    weekly: pd.DataFrame
    weekly_sites: pd.DataFrame
    tools: pd.DataFrame
    locations: pd.DataFrame
    platforms: pd.DataFrame
    silent: pd.DataFrame
    rejected: pd.DataFrame
    silent_findings: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- the fleet check

def silent_finding(row: dict[str, Any], as_of: dt.date, silent_days: int) -> dict[str, Any]:
    """FL-001 for one PC that stopped reporting, in the shape of a report finding."""
    site = row["site"] or ""
    params = {"host": row["hostname"], "site": site or "—", "days": row["days_ago"], "last": row["last_date"]}
    f = FindingFactory(fleet_checks(), row.get("role")).make(
        "FL-001", Target("pc", f"{site}/{row['hostname']}", f"{row['hostname']} ({site or '—'})"),
        {"hostname": row["hostname"], "site": site or None, "role": row.get("role"),
         "last_report_at": row["last_scan"], "last_report_digest": row["digest"],
         "days_since_last_report": int(row["days_ago"]), "silent_after_days": silent_days,
         "as_of": as_of.isoformat()}, params,
        subject=Subject("device", device=row["hostname"], time=row["last_scan"]))
    return f.to_dict()


# --------------------------------------------------------------------------- building the tables

def _latest(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["finished_utc", "digest"]).groupby("pc", sort=False).tail(1)


def _worst(series: pd.Series) -> str | None:
    vals = [s for s in series.dropna() if s in SEVERITIES]
    return max(vals, key=rank) if vals else None


def build(store: Store, as_of: dt.date | None = None, since: dt.date | None = None,
          silent_days: int = DEFAULT_SILENT_DAYS) -> FleetTables:
    as_of = as_of or dt.date.today()
    allr = store.frame("SELECT digest, pc, hostname, site, role, os, os_version, finished_at, finished_utc, "
                       "local_date, score, grade, total, critical, high, medium, low, info FROM reports "
                       "WHERE local_date <= ?", (as_of.isoformat(),))
    period = allr[allr["local_date"] >= since.isoformat()] if since else allr
    latest = _latest(period).set_index("pc", drop=False)
    last_any = _latest(allr).set_index("pc", drop=False)

    # PCs: the latest report in the period, or (silent PCs without one) the latest report at all
    pcs = pd.concat([latest, last_any[~last_any.index.isin(latest.index)]]) if len(last_any) else latest
    pcs = pcs.copy()
    counts = period.groupby("pc").size()
    pcs["reports"] = pcs["pc"].map(counts).fillna(0).astype(int)
    last_date = last_any["local_date"].reindex(pcs.index)
    pcs["last_date"] = last_date.values
    pcs["last_scan"] = last_any["finished_at"].reindex(pcs.index).values
    pcs["days_ago"] = [(as_of - dt.date.fromisoformat(d)).days for d in pcs["last_date"]]
    pcs["silent"] = pcs["days_ago"] > silent_days
    pcs["in_period"] = pcs.index.isin(latest.index)

    duty_defs = [{"id": i, "title": {"zh": zh, "en": en}}
                 for i, _, zh, en in store.query("SELECT id, ord, title_zh, title_en FROM duty_defs ORDER BY ord, id")]
    digests = list(pcs["digest"])
    store.db.execute("CREATE TEMP TABLE IF NOT EXISTS latest (digest TEXT PRIMARY KEY)")
    store.db.execute("DELETE FROM latest")
    store.db.executemany("INSERT OR IGNORE INTO latest VALUES (?)", ((d,) for d in digests))
    duties = store.frame("SELECT d.digest, d.duty, d.verdict FROM duties d JOIN latest USING (digest)")
    finds = store.frame("SELECT f.digest, f.fid, f.check_id, f.severity, f.tool, f.tool_category, f.location, "
                        "f.platform, f.platform_en, f.records FROM findings f JOIN latest USING (digest)")
    rejected = store.frame("SELECT source, reason, first_seen FROM rejected ORDER BY first_seen DESC, source")

    by_digest = pcs.set_index("digest")[["pc", "site"]]
    if len(duties):
        wide = duties.pivot_table(index="digest", columns="duty", values="verdict", aggfunc="first")
        for d in duty_defs:
            pcs["duty:" + d["id"]] = pcs["digest"].map(wide[d["id"]]) if d["id"] in wide else None
    else:
        for d in duty_defs:
            pcs["duty:" + d["id"]] = None
    pcs["not_met"] = sum((pcs["duty:" + d["id"]] == "not_met").astype(int) for d in duty_defs) if duty_defs else 0
    pcs = pcs.sort_values(["site", "hostname"]).reset_index(drop=True)

    # sites
    grp = pcs.groupby("site", sort=True)
    sites = pd.DataFrame({
        "pcs": grp.size(),
        "silent": grp["silent"].sum().astype(int),
        "reports": grp["reports"].sum().astype(int),
        **{s: grp[s].sum().astype(int) for s in SEVERITIES},
        "avg_score": grp["score"].mean().round(1),
        "min_score": grp["score"].min(),
        "worst_grade": grp["grade"].max(),  # letters sort best first: max is the worst
        "pcs_not_met": grp["not_met"].apply(lambda s: int((s > 0).sum())),
        "pcs_critical": grp["critical"].apply(lambda s: int((s > 0).sum())),
        "last_scan": grp["last_date"].max(),
    }).reset_index()
    sites = sites.sort_values(["critical", "high", "min_score", "silent", "site"],
                              ascending=[False, False, True, False, True], na_position="last").reset_index(drop=True)
    sites["rank"] = range(1, len(sites) + 1)

    # duties per site (roll-up of the PCs' verdicts)
    site_duties = _site_duties(pcs, duty_defs)

    # weekly trends: each PC's last report of each ISO week in the period
    weekly, weekly_sites = _weekly(period)

    # remote tools, export locations and back offices in the latest reports
    finds = finds.join(by_digest, on="digest")
    rc = finds[finds["tool"].notna()]
    tools = _facet(rc, ["tool", "tool_category"])
    exp = finds[finds["location"].notna()]
    locations = _facet(exp, ["location"], records=True)
    plat = finds[finds["platform"].notna()]
    platforms = _facet(plat, ["platform", "platform_en"], records=True)

    silent = pcs[pcs["silent"]].sort_values(["days_ago", "site", "hostname"], ascending=[False, True, True])
    silent = silent.reset_index(drop=True)
    silent_findings = [silent_finding(r, as_of, silent_days) for r in silent.to_dict("records")]
    silent["severity"] = [f["severity"] for f in silent_findings]
    silent["fid"] = [f["id"] for f in silent_findings]

    return FleetTables(as_of=as_of, since=since, silent_days=silent_days, store=store.path, reports=len(period),
                       duty_defs=duty_defs, pcs=pcs, sites=sites, site_duties=site_duties, weekly=weekly,
                       weekly_sites=weekly_sites, tools=tools, locations=locations, platforms=platforms,
                       silent=silent, rejected=rejected, silent_findings=silent_findings)


def _site_duties(pcs: pd.DataFrame, duty_defs: list[dict[str, Any]]) -> pd.DataFrame:
    cols = ["site", "duty", "verdict", "not_met", "met", "not_assessed", "pcs"]
    if pcs.empty or not duty_defs:
        return pd.DataFrame(columns=cols)
    dcols = ["duty:" + d["id"] for d in duty_defs]
    long = pcs[["site", *dcols]].melt(id_vars="site", var_name="duty", value_name="verdict")
    long["verdict"] = long["verdict"].fillna("not_assessed")
    ct = pd.crosstab([long["site"], long["duty"]], long["verdict"])
    for v in VERDICTS:
        if v not in ct:
            ct[v] = 0
    out = ct[VERDICTS].reset_index()
    out["pcs"] = out[VERDICTS].sum(axis=1)
    out["verdict"] = "not_assessed"
    out.loc[out["met"] == out["pcs"], "verdict"] = "met"
    out.loc[out["not_met"] > 0, "verdict"] = "not_met"
    out["duty"] = out["duty"].str.slice(5)
    out["_order"] = out["duty"].map({d["id"]: i for i, d in enumerate(duty_defs)})
    out = out.sort_values(["_order", "site"]).reset_index(drop=True)
    return out[cols].astype({"not_met": int, "met": int, "not_assessed": int, "pcs": int})


def _facet(df: pd.DataFrame, keys: list[str], records: bool = False) -> pd.DataFrame:
    cols = [*keys, "findings", "pcs", "sites", "worst", *(["records"] if records else [])]
    if df.empty:
        return pd.DataFrame(columns=cols)
    grp = df.groupby(keys, dropna=False, sort=False)
    out = pd.DataFrame({"findings": grp.size(), "pcs": grp["pc"].nunique(), "sites": grp["site"].nunique(),
                        "worst": grp["severity"].agg(_worst)})
    if records:
        out["records"] = grp["records"].sum(min_count=1).fillna(0).astype(int)
    out = out.reset_index()
    out["_rank"] = out["worst"].map(lambda s: rank(s) if s else 0)
    out = out.sort_values(["pcs", "findings", "_rank", keys[0]], ascending=[False, False, False, True])
    return out.drop(columns="_rank").reset_index(drop=True)[cols]


def _weekly(period: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = ["week", "week_start", "reports", "pcs", *SEVERITIES, "avg_score"]
    if period.empty:
        return pd.DataFrame(columns=cols), pd.DataFrame()
    df = period.copy()
    days = pd.to_datetime(df["local_date"])
    iso = days.dt.isocalendar()
    df["week"] = iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)
    df["week_start"] = (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.date.astype(str)
    n_reports = df.groupby("week").size()
    last = df.sort_values(["finished_utc", "digest"]).groupby(["week", "pc"], sort=False).tail(1)
    grp = last.groupby("week", sort=True)
    weekly = pd.DataFrame({"week_start": grp["week_start"].first(), "reports": n_reports, "pcs": grp.size(),
                           **{s: grp[s].sum().astype(int) for s in SEVERITIES},
                           "avg_score": grp["score"].mean().round(1)}).reset_index()
    weekly = weekly.sort_values("week").reset_index(drop=True)[cols]
    weekly_sites = last.pivot_table(index="site", columns="week", values="score", aggfunc="mean").round(1)
    return weekly, weekly_sites
