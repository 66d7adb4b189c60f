"""What the SIEM mappings copy from a report and its findings: the report's context (host, site, digest), a
document id, each finding's typed facts (file, process, URL, user, tool) from its subject, and its check's
definition in the packs (its ECS and OCSF categories).

Every fact of a finding comes from the report (its check's categories from the packs): nothing is re-read from
the PC. Reports never hold customer personal data in
clear (file findings carry masked samples only), and the documents drop even those samples."""

from __future__ import annotations

import json
import re
from typing import Any

from .. import isotime
from ..core.checks import CheckDef, checks, fleet_checks
from ..core.legacy import evidence_tool, subject_of
from ..integrity import signature_kind

PRODUCT = "yuncang-auditor"
_DROP = {"samples"}  # masked samples of personal data: not needed in a SIEM, left out altogether
_SHA256 = re.compile(r"[0-9a-f]{64}")


def context_of(report: dict[str, Any]) -> dict[str, Any]:
    """The facts of one report that every document of its findings carries."""
    host = report.get("host") or {}
    integ = report.get("integrity") or {}
    return {
        "digest": integ.get("digest") or "", "signature": signature_kind(integ),
        "hostname": host.get("hostname") or "", "machine_id": host.get("machine_id") or "",
        "site": host.get("site") or "", "role": host.get("role") or "",
        "os": host.get("os") or "", "os_version": host.get("os_version") or "", "kernel": host.get("kernel") or "",
        "platform": host.get("platform") or "", "tool_version": (report.get("tool") or {}).get("version") or "",
        "schema_version": report.get("schema_version") or "", "started_at": report.get("started_at"),
        "finished_at": report.get("finished_at"), "clauses": report.get("clauses") or {},
    }


def doc_id(ctx: dict[str, Any], finding: dict[str, Any]) -> str:
    """The report's digest (first 24 hex digits) and the finding's id: the same finding of the same report always
    has the same id, so sending it again creates nothing new."""
    return f"{(ctx['digest'] or 'unsealed')[:24]}-{finding['id']}"


def os_kind(ctx: dict[str, Any]) -> str | None:
    """'windows', 'macos', 'linux' or None (unknown), from the report's platform and OS name."""
    text = f"{ctx.get('platform', '')} {ctx.get('os', '')}".lower()
    if "win" in text:
        return "windows"
    if "darwin" in text or "macos" in text:
        return "macos"
    return "linux" if text.strip() else None


# --------------------------------------------------------------------------- values

def epoch_ms(value: Any) -> int | None:
    moment = isotime.parse(value)
    return int(moment.timestamp() * 1000) if moment else None


def iso(value: Any) -> str | None:
    return value if isotime.parse(value) is not None else None


def whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def sha256(value: Any) -> str | None:
    return value if isinstance(value, str) and _SHA256.fullmatch(value) else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def basename(path: Any) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1] or None


# --------------------------------------------------------------------------- one finding

def check_def(check_id: Any) -> CheckDef | None:
    """The check's definition in the packs (``checks/rules/*.toml``, and ``checks/fleet.toml`` for the fleet's own
    checks such as FL-001): where the mappings take its ECS and OCSF categories from. None for a check the packs
    do not hold (a report written by a version that had it); each mapping says how it maps such a finding."""
    return checks().get(check_id) or fleet_checks().get(check_id)


def finding_facts(f: dict[str, Any]) -> dict[str, Any]:
    """The typed facts both mappings use, from the finding's subject (``subject_of``: its own, or derived from the
    evidence of a report written before subjects) and the few facts only the evidence holds
    (:func:`evidence_only_facts`); only values of the right type."""
    s = subject_of(f)
    kind = s.get("kind")
    out: dict[str, Any] = {}
    path, name = text(s.get("path")), text(s.get("name"))
    if kind in ("file", "download") and (path or name):
        out["file"] = {"path": path, "name": name or basename(path), "size": whole(s.get("size")),
                       "sha256": sha256(s.get("sha256")), "mtime": iso(s.get("mtime")), "owner": text(s.get("owner")),
                       "mime_type": text(s.get("mime_type"))}
    if whole(s.get("pid")) is not None:
        cmd = s.get("cmdline")
        args = [str(a) for a in cmd] if isinstance(cmd, list) else None
        out["process"] = {"pid": s["pid"], "name": text(s.get("process")), "executable": text(s.get("exe")),
                          "command_line": " ".join(args) if args is not None else None, "args": args,
                          "sha256": sha256(s.get("sha256")) if kind not in ("file", "download") else None,
                          "start": iso(s.get("started")), "ppid": whole(s.get("ppid"))}
    out["records"] = whole(s.get("records"))
    kinds = s.get("kinds")
    out["unmasked_kinds"] = sorted(str(k) for k in kinds) if isinstance(kinds, list) else None
    if text(s.get("url_host")) or text(s.get("url_path")):
        out["url"] = {"domain": text(s.get("url_host")), "path": text(s.get("url_path"))}
    out["user"] = text(s.get("user")) or text(s.get("account"))  # an OS user, else the platform or PC account
    extra = evidence_only_facts(f)
    if text(s.get("platform")):
        out["platform"] = {k: v for k, v in (("id", s["platform"]), ("zh", extra["platform_zh"]),
                                             ("en", extra["platform_en"])) if v}
    if text(s.get("tool")) or text(s.get("tool_name")):
        out["tool"] = {k: v for k, v in (("id", text(s.get("tool"))), ("name", text(s.get("tool_name"))),
                                         ("vendor", extra["tool_vendor"]),
                                         ("category", text(s.get("tool_category")))) if v}
    out["port"] = whole(s.get("port"))
    return out


def evidence_only_facts(f: dict[str, Any]) -> dict[str, str | None]:
    """The facts the mappings copy that a subject does not type, from the finding's evidence: the remote tool's
    vendor (``tool_vendor``) and the platform's Chinese and English names (``platform_zh``, ``platform_en``)."""
    ev = f.get("evidence") if isinstance(f.get("evidence"), dict) else {}
    tool = evidence_tool(ev) or {}
    names = ev.get("platform_name") if isinstance(ev.get("platform_name"), dict) else {}
    return {"tool_vendor": text(tool.get("vendor")), "platform_zh": text(names.get("zh")),
            "platform_en": text(names.get("en"))}


def evidence_json(f: dict[str, Any]) -> str:
    """The finding's evidence as one JSON string, without the masked samples."""
    return json.dumps(_clean(f.get("evidence", {})), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _DROP}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def finding_block(f: dict[str, Any]) -> dict[str, Any]:
    """The finding itself, as the documents carry it under yuncang.finding / unmapped.finding."""
    out = {"id": f["id"], "check_id": f["check_id"], "area": f["area"], "severity": f["severity"],
           "title": f.get("title"), "target": f.get("target"), "legal_basis": f.get("legal_basis", []),
           "remediation": f.get("remediation")}
    if f.get("note"):
        out["note"] = f["note"]
    return out


def prune(value: Any) -> Any:
    """``value`` without None, empty texts, empty lists and objects that end up empty."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != "" and v != [] and v != {}}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value
