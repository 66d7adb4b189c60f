"""What the SIEM mappings copy from a report and its findings: the report's context (host, site, digest), a
document id, and each finding's typed facts (file, process, URL, user, tool) from its evidence.

Every value comes from the report: nothing is re-read from the PC. Reports never hold customer personal data in
clear (file findings carry masked samples only), and the documents drop even those samples."""

from __future__ import annotations

import json
import re
from typing import Any

from .. import isotime
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

def finding_facts(f: dict[str, Any]) -> dict[str, Any]:
    """The typed facts both mappings use, copied from the finding's evidence (only values of the right type)."""
    ev = f.get("evidence") if isinstance(f.get("evidence"), dict) else {}
    cid = f["check_id"]
    out: dict[str, Any] = {}
    if cid.startswith("PI-"):
        out["file"] = {"path": text(ev.get("path")),
                       "name": basename(ev.get("path")) or text((f.get("target") or {}).get("label")),
                       "size": whole(ev.get("size")), "sha256": sha256(ev.get("sha256")), "mtime": iso(ev.get("mtime")),
                       "owner": text(ev.get("owner"))}
        out["records"] = whole(ev.get("records"))
        kinds = ev.get("kinds") if isinstance(ev.get("kinds"), dict) else {}
        out["unmasked_kinds"] = sorted(str(k) for k, v in kinds.items() if v == "unmasked")
    elif cid.startswith("TR-"):
        if text(ev.get("file_name")) or text(ev.get("target_path")):
            out["file"] = {"path": text(ev.get("target_path")),
                           "name": text(ev.get("file_name")) or basename(ev.get("target_path")),
                           "size": whole(ev.get("size_bytes")), "sha256": sha256(ev.get("sha256")),
                           "mime_type": text(ev.get("mime_type"))}
        out["url"] = {"domain": text(ev.get("host")), "path": text(ev.get("page_path"))}
        out["user"] = text(ev.get("os_user"))
        names = ev.get("platform_name") if isinstance(ev.get("platform_name"), dict) else {}
        out["platform"] = {k: v for k, v in (("id", text(ev.get("platform"))), ("zh", text(names.get("zh"))),
                                             ("en", text(names.get("en")))) if v}
        verdict = ev.get("file_verdict") if isinstance(ev.get("file_verdict"), dict) else {}
        out["records"] = whole(verdict.get("records"))
    elif cid.startswith("RC-"):
        if whole(ev.get("pid")) is not None:
            cmd = ev.get("cmdline")
            args = [str(a) for a in cmd] if isinstance(cmd, list) else None
            out["process"] = {"pid": ev["pid"], "name": text(ev.get("name")), "executable": text(ev.get("exe")),
                              "command_line": " ".join(args) if args is not None else text(cmd), "args": args,
                              "sha256": sha256(ev.get("exe_sha256")), "start": iso(ev.get("started")),
                              "ppid": whole(ev.get("ppid"))}
            out["user"] = text(ev.get("user"))
        tool = ev.get("tool") if isinstance(ev.get("tool"), dict) else None
        if tool is None and isinstance(ev.get("port_of"), list) and ev["port_of"] and isinstance(ev["port_of"][0], dict):
            tool = ev["port_of"][0]
        if tool:
            out["tool"] = {k: text(tool.get(k)) for k in ("id", "name", "vendor", "category") if text(tool.get(k))}
        if whole(ev.get("port")) is not None:
            out["port"] = ev["port"]
    elif cid.startswith("AC-"):
        out["user"] = text(ev.get("account"))
    return out


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
