"""Findings as SIEM documents, one per finding, in the Elasticsearch/OpenSearch `_bulk` NDJSON format (an
``{"index": {"_index": ..., "_id": ...}}`` line, then the document; a stable ``_id`` so that sending the same
findings again overwrites instead of duplicating).

ECS: Elastic Common Schema field names (``@timestamp``, ``event.*``, ``rule.*``, ``host.*``, ``file.*``,
``process.*``, ``url.*``, ``user.*``, ``related.*``, ``labels``); what ECS has no field for is under
``yuncang.*``.

OCSF: checks as *Compliance Finding* (class_uid 2003); unmasked exports and the export trail (PI-*, TR-001 to
TR-006) as *Data Security Finding* (class_uid 2006); category Findings (2), activity Create (1).

Every value is copied from the report: nothing is re-read from the PC. Reports never hold customer personal
data in clear (file findings carry masked samples only), and the documents drop even those samples.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..durable import write_chunks

ECS_VERSION = "8.11.0"
OCSF_VERSION = "1.3.0"
PRODUCT = "yuncang-auditor"
DEFAULT_INDEX = {"ecs": "yuncang-auditor-findings", "ocsf": "yuncang-auditor-ocsf"}
FORMATS = ("ecs", "ocsf")

RISK_SCORE = {"critical": 99, "high": 73, "medium": 47, "low": 21, "info": 0}
SEVERITY_RANK = {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}
OCSF_SEVERITY = {"info": (1, "Informational"), "low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High"),
                 "critical": (5, "Critical")}
ECS_CATEGORY = {"remote": ["configuration", "process"], "files": ["file"], "accounts": ["iam"], "trail": ["file"],
                "fleet": ["host"]}
_DATA_SECURITY = re.compile(r"^(PI-\d{3}|TR-00[1-6])$")
_DROP = {"samples"}  # masked samples of personal data: not needed in a SIEM, left out altogether


# --------------------------------------------------------------------------- context of a report

def context_of(report: dict[str, Any]) -> dict[str, Any]:
    host = report.get("host") or {}
    integ = report.get("integrity") or {}
    return {
        "digest": integ.get("digest") or "", "signed": bool(integ.get("hmac_sha256")),
        "hostname": host.get("hostname") or "", "site": host.get("site") or "", "role": host.get("role") or "",
        "os": host.get("os") or "", "os_version": host.get("os_version") or "", "kernel": host.get("kernel") or "",
        "platform": host.get("platform") or "", "tool_version": (report.get("tool") or {}).get("version") or "",
        "schema_version": report.get("schema_version") or "", "started_at": report.get("started_at"),
        "finished_at": report.get("finished_at"), "clauses": report.get("clauses") or {},
    }


def doc_id(ctx: dict[str, Any], finding: dict[str, Any]) -> str:
    return f"{(ctx['digest'] or 'unsealed')[:24]}-{finding['id']}"


# --------------------------------------------------------------------------- helpers

def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _DROP}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    if value is None or value == "" or value == []:
        return
    parts = dotted.split(".")
    for p in parts[:-1]:
        doc = doc.setdefault(p, {})
    doc[parts[-1]] = value


def _ms(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(when.timestamp() * 1000)


def _iso(value: Any) -> str | None:
    return value if _ms(value) is not None else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sha(value: Any) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) else None


def _basename(path: Any) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1] or None


def _facts(f: dict[str, Any]) -> dict[str, Any]:
    """The typed facts both mappings use, copied from the finding's evidence."""
    ev = f.get("evidence") if isinstance(f.get("evidence"), dict) else {}
    cid = f["check_id"]
    out: dict[str, Any] = {}
    if cid.startswith("PI-"):
        out["file"] = {"path": ev.get("path"), "name": _basename(ev.get("path")) or (f.get("target") or {}).get("label"),
                       "size": _int(ev.get("size")), "sha256": _sha(ev.get("sha256")), "mtime": _iso(ev.get("mtime")),
                       "owner": ev.get("owner")}
        out["records"] = _int(ev.get("records"))
        kinds = ev.get("kinds") if isinstance(ev.get("kinds"), dict) else {}
        out["unmasked_kinds"] = sorted(k for k, v in kinds.items() if v == "unmasked")
    elif cid.startswith("TR-"):
        if ev.get("file_name") or ev.get("target_path"):
            out["file"] = {"path": ev.get("target_path"), "name": ev.get("file_name"),
                           "size": _int(ev.get("size_bytes")), "sha256": _sha(ev.get("sha256")),
                           "mime_type": ev.get("mime_type")}
        out["url"] = {"domain": ev.get("host"), "path": ev.get("page_path")}
        out["user"] = ev.get("os_user")
        names = ev.get("platform_name") if isinstance(ev.get("platform_name"), dict) else {}
        out["platform"] = {"id": ev.get("platform"), "zh": names.get("zh"), "en": names.get("en")}
        verdict = ev.get("file_verdict") if isinstance(ev.get("file_verdict"), dict) else {}
        out["records"] = _int(verdict.get("records"))
        out["time"] = _iso(ev.get("time"))
    elif cid.startswith("RC-"):
        if isinstance(ev.get("pid"), int):
            cmd = ev.get("cmdline")
            args = [str(a) for a in cmd] if isinstance(cmd, list) else None
            out["process"] = {"pid": ev.get("pid"), "name": ev.get("name"), "executable": ev.get("exe"),
                              "command_line": " ".join(args) if args is not None else cmd, "args": args,
                              "sha256": _sha(ev.get("exe_sha256")),
                              "start": _iso(ev.get("started")), "ppid": _int(ev.get("ppid"))}
            out["user"] = ev.get("user")
        tool = ev.get("tool") if isinstance(ev.get("tool"), dict) else None
        if tool is None and isinstance(ev.get("port_of"), list) and ev["port_of"]:
            tool = ev["port_of"][0]
        if tool:
            out["tool"] = {"id": tool.get("id"), "name": tool.get("name"), "vendor": tool.get("vendor"),
                           "category": tool.get("category")}
        if isinstance(ev.get("port"), int):
            out["port"] = ev["port"]
    elif cid.startswith("AC-"):
        out["user"] = ev.get("account")
    return out


def _evidence_json(f: dict[str, Any]) -> str:
    return json.dumps(_clean(f.get("evidence", {})), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _finding_block(f: dict[str, Any]) -> dict[str, Any]:
    out = {"id": f["id"], "check_id": f["check_id"], "area": f["area"], "severity": f["severity"],
           "title": f.get("title"), "target": f.get("target"), "legal_basis": f.get("legal_basis", []),
           "remediation": f.get("remediation")}
    if f.get("note"):
        out["note"] = f["note"]
    return out


# --------------------------------------------------------------------------- ECS

def ecs(f: dict[str, Any], ctx: dict[str, Any], evidence: str | None = None) -> dict[str, Any]:
    sev = f["severity"]
    title = f.get("title") or {}
    facts = _facts(f)
    doc: dict[str, Any] = {"@timestamp": ctx["finished_at"], "ecs": {"version": ECS_VERSION},
                           "message": title.get("zh") or title.get("en") or f["check_id"]}
    _put(doc, "event.kind", "state" if f["area"] != "fleet" else "alert")
    _put(doc, "event.category", ECS_CATEGORY.get(f["area"], ["host"]))
    _put(doc, "event.type", ["info"])
    _put(doc, "event.module", "yuncang_auditor")
    _put(doc, "event.dataset", "yuncang_auditor.finding")
    _put(doc, "event.provider", f["area"])
    _put(doc, "event.id", doc_id(ctx, f))
    _put(doc, "event.code", f["check_id"])
    _put(doc, "event.severity", SEVERITY_RANK[sev])
    _put(doc, "event.risk_score", RISK_SCORE[sev])
    _put(doc, "event.start", _iso(ctx["started_at"]))
    _put(doc, "event.end", _iso(ctx["finished_at"]))
    _put(doc, "rule.id", f["check_id"])
    _put(doc, "rule.name", title.get("en"))
    _put(doc, "rule.category", f["area"])
    _put(doc, "rule.ruleset", PRODUCT)
    _put(doc, "rule.version", ctx["tool_version"])
    _put(doc, "host.name", ctx["hostname"])
    _put(doc, "host.hostname", ctx["hostname"])
    _put(doc, "host.os.name", ctx["os"])
    _put(doc, "host.os.version", ctx["os_version"])
    _put(doc, "host.os.kernel", ctx["kernel"])
    _put(doc, "host.os.type", _os_type(ctx)[1].lower() if _os_type(ctx)[0] else None)
    _put(doc, "agent.type", PRODUCT)
    _put(doc, "agent.version", ctx["tool_version"])
    _put(doc, "observer.vendor", PRODUCT)
    _put(doc, "observer.product", PRODUCT)
    _put(doc, "observer.type", "agent")
    _put(doc, "labels.site", ctx["site"])
    _put(doc, "labels.role", ctx["role"])
    _put(doc, "tags", [PRODUCT, f["area"], sev, f["check_id"]])
    file = facts.get("file") or {}
    for k in ("path", "name", "size", "mtime", "owner", "mime_type"):
        _put(doc, f"file.{k}", file.get(k))
    _put(doc, "file.hash.sha256", file.get("sha256"))
    proc = facts.get("process") or {}
    for k in ("pid", "name", "executable", "command_line", "args", "start"):
        _put(doc, f"process.{k}", proc.get(k))
    _put(doc, "process.hash.sha256", proc.get("sha256"))
    _put(doc, "process.parent.pid", proc.get("ppid"))
    url = facts.get("url") or {}
    _put(doc, "url.domain", url.get("domain"))
    _put(doc, "url.path", url.get("path"))
    _put(doc, "user.name", facts.get("user"))
    _put(doc, "related.hosts", sorted({x for x in (ctx["hostname"], url.get("domain")) if x}))
    _put(doc, "related.user", [facts["user"]] if facts.get("user") else None)
    _put(doc, "related.hash", sorted({x for x in (file.get("sha256"), proc.get("sha256")) if x}) or None)
    y: dict[str, Any] = {"site": ctx["site"] or None, "role": ctx["role"] or None,
                         "report": {"digest": ctx["digest"], "signed": ctx["signed"],
                                    "schema_version": ctx["schema_version"]},
                         "finding": _finding_block(f), "evidence": evidence or _evidence_json(f)}
    for k in ("records", "unmasked_kinds", "tool", "platform", "port"):
        if facts.get(k) not in (None, [], {}):
            y[k] = facts[k]
    doc["yuncang"] = y
    return doc


# --------------------------------------------------------------------------- OCSF

def _os_type(ctx: dict[str, Any]) -> tuple[int, str]:
    text = f"{ctx.get('platform', '')} {ctx.get('os', '')}".lower()
    if "win" in text:
        return 100, "Windows"
    if "darwin" in text or "macos" in text:
        return 300, "macOS"
    if text.strip():
        return 200, "Linux"
    return 0, "Unknown"


def ocsf(f: dict[str, Any], ctx: dict[str, Any], evidence: str | None = None) -> dict[str, Any]:
    from ..compliance import FAILING_AT
    from ..core.severity import at_least

    sev = f["severity"]
    title = f.get("title") or {}
    facts = _facts(f)
    data_security = bool(_DATA_SECURITY.match(f["check_id"]))
    class_uid, class_name = (2006, "Data Security Finding") if data_security else (2003, "Compliance Finding")
    sev_id, sev_name = OCSF_SEVERITY[sev]
    when = _ms(ctx["finished_at"])
    os_id, os_name = _os_type(ctx)
    doc: dict[str, Any] = {
        "class_uid": class_uid, "class_name": class_name, "category_uid": 2, "category_name": "Findings",
        "activity_id": 1, "activity_name": "Create", "type_uid": class_uid * 100 + 1,
        "type_name": f"{class_name}: Create", "severity_id": sev_id, "severity": sev_name,
        "status_id": 1, "status": "New", "time": when, "message": title.get("zh") or title.get("en"),
        "metadata": {"version": OCSF_VERSION, "uid": doc_id(ctx, f), "original_time": ctx["finished_at"],
                     "product": {"name": PRODUCT, "vendor_name": PRODUCT, "version": ctx["tool_version"]},
                     "labels": [x for x in (ctx["site"], ctx["role"]) if x]},
        "finding_info": {"uid": doc_id(ctx, f), "title": title.get("zh") or f["check_id"],
                         "desc": title.get("en"), "types": [f["area"]], "created_time": when,
                         "analytic": {"uid": f["check_id"], "name": f["check_id"], "type_id": 1, "type": "Rule"}},
        "device": {"hostname": ctx["hostname"], "name": ctx["hostname"],
                   "type_id": 1 if ctx["role"] == "server" else 2, "type": "Server" if ctx["role"] == "server"
                   else "Desktop", "os": {"name": ctx["os"] or os_name, "type_id": os_id, "type": os_name}},
        "resources": [{"uid": (f.get("target") or {}).get("ref"), "name": (f.get("target") or {}).get("label"),
                       "type": (f.get("target") or {}).get("kind")}],
        "remediation": {"desc": (f.get("remediation") or {}).get("zh") or (f.get("remediation") or {}).get("en")},
    }
    if ctx["os_version"]:
        doc["device"]["os"]["version"] = ctx["os_version"]
    if ctx["site"]:
        doc["device"]["groups"] = [{"name": ctx["site"], "type": "site"}]
    start = _ms(ctx["started_at"])
    if start is not None:
        doc["start_time"], doc["end_time"] = start, when
    failing = at_least(sev, FAILING_AT)
    clauses = ctx.get("clauses") or {}
    compliance = {"control": f["check_id"], "requirements": list(f.get("legal_basis", [])),
                  "standards": sorted({str(clauses[c].get("short") or clauses[c].get("law"))
                                       for c in f.get("legal_basis", []) if c in clauses}) or [PRODUCT],
                  "status_id": 3 if failing else 2, "status": "Fail" if failing else "Warning"}
    file = facts.get("file")
    if data_security:
        pattern = ", ".join(facts.get("unmasked_kinds") or []) or f["check_id"]
        doc["is_alert"] = at_least(sev, "high")
        doc["data_security"] = {
            "data_lifecycle_state_id": 2 if f["check_id"] == "TR-006" else 1,
            "data_lifecycle_state": "Data in-Transit" if f["check_id"] == "TR-006" else "Data at-Rest",
            "detection_system_id": 1, "detection_system": "Endpoint", "detection_pattern": pattern,
            "policy": {"uid": f["check_id"], "name": title.get("en") or f["check_id"],
                       "desc": title.get("zh")}}
        if file:
            ocsf_file: dict[str, Any] = {"name": file.get("name") or "", "type_id": 1, "type": "Regular File"}
            for k in ("path", "size", "mime_type"):
                if file.get(k) is not None:
                    ocsf_file[k] = file[k]
            if file.get("sha256"):
                ocsf_file["hashes"] = [{"algorithm_id": 3, "algorithm": "SHA-256", "value": file["sha256"]}]
            if file.get("mtime"):
                ocsf_file["modified_time"] = _ms(file["mtime"])
            if file.get("owner"):
                ocsf_file["owner"] = {"name": file["owner"]}
            doc["file"] = ocsf_file
        if facts.get("user"):
            doc["actor"] = {"user": {"name": facts["user"]}}
        url = facts.get("url") or {}
        if url.get("domain"):
            doc["src_endpoint"] = {"domain": url["domain"]}
    else:
        doc["compliance"] = compliance
        proc = facts.get("process")
        if proc and (f.get("target") or {}).get("kind") != "process":
            doc["resources"].append({"uid": str(proc["pid"]), "name": proc.get("name"), "type": "process"})
    unmapped: dict[str, Any] = {"site": ctx["site"] or None, "role": ctx["role"] or None,
                                "report_digest": ctx["digest"], "report_signed": ctx["signed"],
                                "finding": _finding_block(f), "evidence": evidence or _evidence_json(f)}
    if data_security:
        unmapped["compliance"] = compliance
    for k in ("records", "tool", "platform", "port"):
        if facts.get(k) not in (None, [], {}):
            unmapped[k] = facts[k]
    doc["unmapped"] = unmapped
    return _prune(doc)


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


MAPPERS = {"ecs": ecs, "ocsf": ocsf}


# --------------------------------------------------------------------------- bulk NDJSON

def bulk_pair(fmt: str, finding: dict[str, Any], ctx: dict[str, Any], index: str,
              evidence: str | None = None) -> tuple[bytes, bytes]:
    doc = MAPPERS[fmt](finding, ctx, evidence)
    action = {"index": {"_index": index, "_id": doc_id(ctx, finding)}}
    dumps = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode("utf-8")  # noqa: E731
    return dumps(action) + b"\n", dumps(doc) + b"\n"


def report_pairs(report: dict[str, Any], fmt: str, index: str | None = None) -> Iterator[tuple[bytes, bytes]]:
    ctx = context_of(report)
    for f in report.get("findings", []):
        yield bulk_pair(fmt, f, ctx, index or DEFAULT_INDEX[fmt])


def render_ecs(report: dict[str, Any], lang: str = "zh") -> bytes:
    """`auditor scan -o FILE.ecs.ndjson`: this PC's findings as ECS documents in bulk format."""
    return b"".join(a + d for a, d in report_pairs(report, "ecs"))


def render_ocsf(report: dict[str, Any], lang: str = "zh") -> bytes:
    """`auditor scan -o FILE.ocsf.ndjson`: this PC's findings as OCSF documents in bulk format."""
    return b"".join(a + d for a, d in report_pairs(report, "ocsf"))


# --------------------------------------------------------------------------- from the fleet store

def store_pairs(store, fmt: str, index: str | None = None, since: dt.date | None = None,
                as_of: dt.date | None = None, latest_only: bool = False,
                silent: Iterable[dict[str, Any]] = (), skipped: list[str] | None = None
                ) -> Iterator[tuple[bytes, bytes]]:
    """Every finding of every stored report (of each PC's latest report with latest_only), oldest report first,
    then the fleet's own findings (PCs that stopped reporting).

    A stored document that is not a valid finding (a store filled by an earlier version that did not validate
    reports, or edited by hand) is skipped, never a reason to stop: the id of each skipped document is appended
    to ``skipped``."""
    index = index or DEFAULT_INDEX[fmt]
    skipped = skipped if skipped is not None else []
    clauses = {}
    for cid, js in store.query("SELECT id, json FROM clauses"):
        rec = _stored_json(js)
        if isinstance(rec, dict):
            clauses[cid] = rec
    where, params = ["1=1"], []
    if since:
        where.append("r.local_date >= ?")
        params.append(since.isoformat())
    if as_of:
        where.append("r.local_date <= ?")
        params.append(as_of.isoformat())
    base = f"SELECT r.* FROM reports r WHERE {' AND '.join(where)}"
    if latest_only:
        base = (f"SELECT * FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY r.pc ORDER BY r.finished_utc DESC, "
                f"r.digest DESC) AS rn FROM reports r WHERE {' AND '.join(where)}) WHERE rn = 1")
    sql = (f"SELECT rr.digest, rr.hostname, rr.site, rr.role, rr.os, rr.os_version, rr.kernel, rr.tool_version, "
           f"rr.schema_version, rr.started_at, rr.finished_at, rr.signed, f.doc, f.fid FROM ({base}) rr "
           f"JOIN findings f ON f.digest = rr.digest ORDER BY rr.finished_utc, rr.digest, f.rowid")
    docs: dict[str, tuple[dict[str, Any], str] | None] = {}  # a finding repeated scan after scan is parsed once
    for row in store.db.execute(sql, params).fetchall():
        ctx = {"digest": row[0], "hostname": row[1], "site": row[2], "role": row[3], "os": row[4] or "",
               "os_version": row[5] or "", "kernel": row[6] or "", "platform": "", "tool_version": row[7] or "",
               "schema_version": row[8], "started_at": row[9], "finished_at": row[10], "signed": bool(row[11]),
               "clauses": clauses}
        if row[12] not in docs:
            if len(docs) > 20000:
                docs.clear()
            docs[row[12]] = _stored_finding(store, row[12])
        doc = docs[row[12]]
        pair = _pair_or_none(fmt, doc, ctx, index)
        if pair is None:
            skipped.append(f"{str(row[0])[:24]}-{row[13]}")
            continue
        yield pair
    for f in silent:
        ev = f["evidence"]
        last = store.query("SELECT os, os_version, kernel FROM reports WHERE digest = ?",
                           (ev.get("last_report_digest"),))
        os_name, os_version, kernel = last[0] if last else ("", "", "")
        ctx = {"digest": ev.get("last_report_digest") or "", "hostname": ev["hostname"], "site": ev.get("site") or "",
               "role": ev.get("role") or "", "os": os_name or "", "os_version": os_version or "",
               "kernel": kernel or "", "platform": "", "tool_version": _version(), "schema_version": "",
               "started_at": None, "finished_at": f"{ev['as_of']}T00:00:00+00:00", "signed": False,
               "clauses": clauses}
        yield bulk_pair(fmt, f, ctx, index)


def _stored_json(text: Any) -> Any:
    from ..boundedjson import loads

    if not isinstance(text, str):
        return None
    try:
        return loads(text.encode("utf-8", "surrogatepass"))
    except ValueError:
        return None


def _stored_finding(store, key: str) -> tuple[dict[str, Any], str] | None:
    """A stored finding document and its evidence JSON, or None when it is missing or not a valid finding."""
    from ..report_input import finding_problem

    rows = store.query("SELECT json FROM docs WHERE hash = ?", (key,))
    f = _stored_json(rows[0][0]) if rows else None
    if f is None or finding_problem(f, 0) is not None:
        return None
    return f, _evidence_json(f)


def _pair_or_none(fmt: str, doc: tuple[dict[str, Any], str] | None, ctx: dict[str, Any],
                  index: str) -> tuple[bytes, bytes] | None:
    if doc is None:
        return None
    try:
        return bulk_pair(fmt, doc[0], ctx, index, doc[1])
    except (TypeError, ValueError, KeyError, AttributeError):  # valid, yet a mapping cannot use it: skipped too
        return None


def _version() -> str:
    from .. import __version__

    return __version__


def write_stream(path: Path, chunks: Iterable[bytes]) -> int:
    """Stream ``chunks`` to ``path`` atomically, owner-only, without holding the whole file in memory.
    Returns the number of bytes written."""
    return write_chunks(Path(path), chunks)
