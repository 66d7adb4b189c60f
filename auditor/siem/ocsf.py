"""Findings as OCSF 1.3.0 events, one per finding, valid against the official compiled schema.

Checks are *Compliance Finding* events (class 2003): ``compliance.control`` the check id, ``requirements`` the
legal clauses, ``standards`` the laws, ``status_id`` 3 Fail at medium and above, else 2 Warning, with
``remediation``. Unmasked exports and the export trail (PI-*, TR-001 to TR-006) are *Data Security Finding*
events (class 2006): ``data_security`` (category 1 Personal; detected on the endpoint; data at rest, in transit
for copies to removable drives; the check as policy), ``file``, ``actor.user``, ``src_endpoint`` (the back
office an export came from). Both carry ``finding_info``, ``device`` (profile ``host``), ``resources``,
``severity_id``, ``metadata`` (version 1.3.0), and what the class has no attribute for under ``unmapped``
(2006 has no ``remediation`` attribute: it is in ``unmapped.finding``)."""

from __future__ import annotations

import re
from typing import Any

from ..compliance import FAILING_AT
from ..core.severity import at_least, severity
from ..isotime import offset_minutes
from .facts import PRODUCT, doc_id, epoch_ms, evidence_json, finding_block, finding_facts, os_kind, prune

OCSF_VERSION = "1.3.0"
PROFILES = ["host"]
OS_TYPE = {"windows": (100, "Windows"), "linux": (200, "Linux"), "macos": (300, "macOS"), None: (0, "Unknown")}
DATA_SECURITY = re.compile(r"^(PI-\d{3}|TR-00[1-6])$")
IN_TRANSIT = {"TR-006"}  # copied to or opened from a removable drive
_HOSTNAME = re.compile(r"^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*"
                       r"([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9])$")  # OCSF hostname_t
MAX_STRING = 65535  # OCSF string_t


def is_data_security(check_id: str) -> bool:
    return bool(DATA_SECURITY.match(check_id))


def event(f: dict[str, Any], ctx: dict[str, Any], evidence: str | None = None) -> dict[str, Any]:
    sev = f["severity"]
    title = f.get("title") or {}
    facts = finding_facts(f)
    data_security = is_data_security(f["check_id"])
    class_uid, class_name = (2006, "Data Security Finding") if data_security else (2003, "Compliance Finding")
    sev_id, sev_name = severity(sev).ocsf_id, severity(sev).ocsf_name
    time = epoch_ms(ctx["finished_at"])
    uid = doc_id(ctx, f)
    doc: dict[str, Any] = {
        "class_uid": class_uid, "class_name": class_name, "category_uid": 2, "category_name": "Findings",
        "activity_id": 1, "activity_name": "Create", "type_uid": class_uid * 100 + 1,
        "type_name": f"{class_name}: Create", "severity_id": sev_id, "severity": sev_name,
        "status_id": 1, "status": "New", "time": time, "timezone_offset": offset_minutes(ctx["finished_at"]),
        "message": _short(title.get("zh") or title.get("en") or f["check_id"]),
        "metadata": {"version": OCSF_VERSION, "uid": uid, "profiles": PROFILES, "original_time": ctx["finished_at"],
                     "log_provider": PRODUCT, "log_name": "findings",
                     "product": {"name": PRODUCT, "vendor_name": PRODUCT, "version": ctx["tool_version"]},
                     "labels": [x for x in (ctx["site"], ctx["role"]) if x]},
        "finding_info": {"uid": uid, "title": _short(title.get("zh") or title.get("en") or f["check_id"]),
                         "desc": _short(title.get("en")), "types": [f["area"]], "created_time": time,
                         "analytic": {"uid": f["check_id"], "name": _short(title.get("en")) or f["check_id"],
                                      "type_id": 1, "type": "Rule"}},
        "device": _device(ctx),
        "resources": _resources(f, facts),
    }
    start = epoch_ms(ctx["started_at"])
    if start is not None:
        doc["start_time"], doc["end_time"] = start, time
    compliance = _compliance(f, ctx)
    if data_security:
        doc["data_security"] = _data_security(f, facts)
        doc["file"] = _file(facts.get("file"))
        if facts.get("user"):
            doc["actor"] = {"user": {"name": facts["user"]}}
        doc["src_endpoint"] = _endpoint((facts.get("url") or {}).get("domain"))
    else:
        doc["compliance"] = compliance
        remediation = f.get("remediation") or {}
        doc["remediation"] = {"desc": _short(remediation.get("zh") or remediation.get("en"))}
    unmapped: dict[str, Any] = {"site": ctx["site"], "role": ctx["role"], "report_digest": ctx["digest"],
                                "report_signature": ctx["signature"], "finding": finding_block(f),
                                "evidence": evidence or evidence_json(f)}
    if data_security:
        unmapped["compliance"] = compliance
        unmapped["url"] = facts.get("url")
    for k in ("records", "tool", "platform", "port"):
        unmapped[k] = facts.get(k)
    doc["unmapped"] = unmapped
    return _valid_objects(prune(doc))


def _short(value: Any) -> str | None:
    """A text within OCSF's string_t length (65,535 characters)."""
    return value[:MAX_STRING] if isinstance(value, str) and value else None


def _device(ctx: dict[str, Any]) -> dict[str, Any]:
    os_id, os_caption = OS_TYPE[os_kind(ctx)]
    server = ctx["role"] == "server"
    name = ctx["hostname"] or ("" if ctx.get("machine_id") else "unknown")  # a device needs a name or a uid
    return {"name": name, "hostname": _hostname(ctx["hostname"]), "uid": ctx.get("machine_id"),
            "type_id": 1 if server else 2, "type": "Server" if server else "Desktop",
            "os": {"name": ctx["os"] or os_caption, "type_id": os_id, "type": os_caption,
                   "version": ctx["os_version"]},
            "groups": [{"name": ctx["site"], "type": "site"}] if ctx["site"] else None}


def _hostname(name: Any) -> str | None:
    """The name where OCSF's hostname_t accepts it (ASCII letters, digits, '-' and dots); a Chinese PC name is in
    ``name`` only."""
    return name if isinstance(name, str) and _HOSTNAME.match(name) else None


def _resources(f: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]]:
    target = f.get("target") or {}
    out = [{"uid": _short(target.get("ref")), "name": _short(target.get("label")), "type": target.get("kind")}]
    proc = facts.get("process")
    if proc and target.get("kind") != "process":
        out.append({"uid": str(proc["pid"]), "name": proc.get("name"), "type": "process"})
    return out


def _compliance(f: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    failing = at_least(f["severity"], FAILING_AT)
    clauses = ctx.get("clauses") or {}
    basis = [str(c) for c in f.get("legal_basis", [])]
    laws = sorted({str(clauses[c].get("short") or clauses[c].get("law")) for c in basis
                   if isinstance(clauses.get(c), dict) and (clauses[c].get("short") or clauses[c].get("law"))})
    return {"control": f["check_id"], "requirements": basis, "standards": laws or [PRODUCT],
            "status_id": 3 if failing else 2, "status": "Fail" if failing else "Warning"}


def _data_security(f: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    title = f.get("title") or {}
    transit = f["check_id"] in IN_TRANSIT
    return {"category_id": 1, "category": "Personal",
            "data_lifecycle_state_id": 2 if transit else 1,
            "data_lifecycle_state": "Data in-Transit" if transit else "Data at-Rest",
            "detection_system_id": 1, "detection_system": "Endpoint",
            "detection_pattern": ", ".join(facts.get("unmasked_kinds") or []) or f["check_id"],
            "policy": {"uid": f["check_id"], "name": _short(title.get("en")) or f["check_id"],
                       "desc": _short(title.get("zh"))}}


def _file(file: dict[str, Any] | None) -> dict[str, Any] | None:
    if not file or not file.get("name"):
        return None
    out: dict[str, Any] = {"name": _short(file["name"]), "type_id": 1, "type": "Regular File",
                           "path": _short(file.get("path")), "size": file.get("size"),
                           "mime_type": file.get("mime_type"), "modified_time": epoch_ms(file.get("mtime"))}
    ext = file["name"].rsplit(".", 1)[1] if "." in file["name"].strip(".") else None
    out["ext"] = ext if ext and len(ext) <= 16 else None
    if file.get("sha256"):
        out["hashes"] = [{"algorithm_id": 3, "algorithm": "SHA-256", "value": file["sha256"]}]
    if file.get("owner"):
        out["owner"] = {"name": file["owner"]}
    return out


def _endpoint(host: Any) -> dict[str, Any] | None:
    """The back office an export came from, as a network endpoint (its name, and its hostname where valid)."""
    if not isinstance(host, str) or not host:
        return None
    return {"name": _short(host), "hostname": _hostname(host), "domain": _short(host)}


def _valid_objects(doc: dict[str, Any]) -> dict[str, Any]:
    """Leave out objects that pruning emptied below what their class needs (a resource without name or uid)."""
    doc["resources"] = [r for r in doc.get("resources", []) if r.get("uid") or r.get("name")]
    if not doc["resources"]:
        del doc["resources"]
    return doc
