"""The files judge: a table holding people's records is a finding (PI-002 with any unmasked ID number, PI-001
from ``thresholds.min_records`` rows with an unmasked mobile or ID number, escalated from
``thresholds.critical_records``). No I/O. It hands every file's verdict to later areas (the export trail) and
writes the report's ``files_summary``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..core.area import JudgeContext
from ..core.factory import FindingFactory
from ..core.handover import FileVerdict, FileVerdicts, verdict_key
from ..core.model import Finding, Subject, Target
from ..paths import location_of
from . import locator
from .collect import FilesFacts, TableFact
from ..pii.rules import PiiRules, is_finding, load_rules
from .textpath import display_path, label_name, member_label
from .verdict import verdict_for


def judge(facts: FilesFacts, jc: JudgeContext) -> list[Finding]:
    rules = load_rules()
    findings: list[Finding] = []
    verdicts: dict[str, FileVerdict] = {}
    total_records = 0
    for table in facts.tables:
        s = table.summary
        finding = finding_for(table, rules, jc.factory) if is_finding(s, rules) else None
        if finding is not None:
            findings.append(finding)
            total_records += s["records"]
        # keyed by the real path (other areas look files up by the path they know), never shown
        verdicts[verdict_key(table.path) + table.member] = FileVerdict(
            records=s["records"], id_rows=s["id_rows"], masked_share=s["masked_share"], finding=finding is not None,
            finding_id=finding.fingerprint if finding else None, check_id=finding.check_id if finding else None)
    jc.handover.file_verdicts = FileVerdicts(verdicts, judge_one=verdict_for)
    jc.sections["files_summary"] = {
        "unmasked_records": total_records,
        "files_with_findings": len(findings),
        "spc_thresholds": {"sensitive_items": rules.spc_sensitive, "other_items": rules.spc_other},
        "over_sensitive_threshold": total_records >= rules.spc_sensitive,
        "over_other_threshold": total_records >= rules.spc_other,
        "roots": [display_path(r) for r in facts.roots],
    }
    return findings


def finding_for(table: TableFact, rules: PiiRules, factory: FindingFactory) -> Finding:
    """The finding of one table that holds people's records (``is_finding``): the scan's and ``watch``'s."""
    s = table.summary
    shown = table.shown
    name = member_label(display_path(table.path), table.member) if table.member else label_name(shown)
    mtime = dt.datetime.fromtimestamp(table.mtime_ns / 1e9).astimezone().isoformat(timespec="seconds")
    evidence: dict[str, Any] = {
        "path": shown, "records": s["records"], "id_number_rows": s["id_rows"], "total_rows": s["total_rows"],
        "masked_rows": s["masked_rows"], "masked_share": s["masked_share"], "kinds": s["kinds"],
        "sheets": s["sheets"], "samples": s.get("samples", []), "sha256": s.get("sha256"),
        "size": table.size, "encoding": s.get("encoding"), "mtime": mtime, "owner": table.owner,
    }
    if s.get("truncated"):
        evidence["truncated"] = s["truncated"]  # what the reading bounds cut (README: Bounds)
    if not table.fresh:
        evidence["from_incremental_state"] = True
    evidence["locator"] = locator.make(table.path, member=bool(table.member), size=table.size,
                                       sha256=evidence["sha256"])
    subject = Subject("file", path=shown, name=name, size=table.size, sha256=s.get("sha256"), mtime=mtime,
                      owner=table.owner, location=location_of(shown), records=s["records"], id_rows=s["id_rows"],
                      kinds=tuple(sorted(k for k, v in s["kinds"].items() if v == "unmasked")))
    target = Target("file", shown, name)
    params = {"name": name, "records": s["records"]}
    if s["id_rows"] > 0:
        return factory.make("PI-002", target, evidence, params, subject=subject)
    return factory.make("PI-001", target, evidence, params, subject=subject,
                        conditions={"many_records": s["records"] >= rules.critical_records})
