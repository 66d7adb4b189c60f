"""The typed subject of a finding as a report holds it (``finding.subject``, schema 1.2+), or, for a report of an
earlier schema, derived once here from the evidence keys each area wrote then. Readers of reports (the fleet
view, the SIEM mappings) read ``subject_of(finding)``, not the check id's prefix, and the evidence only for what a
subject does not type (``evidence_tool``: the remote tool's catalog record, e.g. its vendor)."""

from __future__ import annotations

import re
from typing import Any

from ..paths import location_of
from .model import SUBJECT_KINDS

_SHA256 = re.compile(r"[0-9a-f]{64}")


def subject_of(finding: dict[str, Any]) -> dict[str, Any]:
    """The finding's subject: its own when it has one, else derived from its evidence (older reports)."""
    subject = finding.get("subject")
    if isinstance(subject, dict) and subject.get("kind") in SUBJECT_KINDS:
        return subject
    return subject_from_legacy(finding)


def _text(value: Any, limit: int = 4096) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _sha(value: Any) -> str | None:
    return value if isinstance(value, str) and _SHA256.fullmatch(value) else None


def _basename(path: Any) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1] or None


def evidence_tool(ev: dict[str, Any]) -> dict[str, Any] | None:
    """The catalog record of the remote tool a remote-area evidence names (``tool``, or the first tool of a port's
    ``port_of``), as the evidence holds it; None without one."""
    tool = ev.get("tool") if isinstance(ev.get("tool"), dict) else None
    if tool is None and isinstance(ev.get("port_of"), list) and ev["port_of"] and isinstance(ev["port_of"][0], dict):
        tool = ev["port_of"][0]
    return tool or None


def _tool(ev: dict[str, Any]) -> dict[str, Any]:
    tool = evidence_tool(ev)
    if not tool:
        return {}
    return {"tool": _text(tool.get("id")), "tool_name": _text(tool.get("name")),
            "tool_category": _text(tool.get("category"))}


def _remote(f: dict[str, Any], ev: dict[str, Any]) -> dict[str, Any]:
    out = _tool(ev)
    if isinstance(ev.get("pid"), int):
        cmd = ev.get("cmdline")
        out.update(kind="process", pid=_count(ev["pid"]), process=_text(ev.get("name")), exe=_text(ev.get("exe")),
                   cmdline=[str(a) for a in cmd] if isinstance(cmd, list) else None, user=_text(ev.get("user")),
                   started=_text(ev.get("started")), ppid=_count(ev.get("ppid")), sha256=_sha(ev.get("exe_sha256")))
    if isinstance(ev.get("port"), int):
        out.update(kind="socket", port=_count(ev["port"]), address=_text(ev.get("address")))
    if "kind" not in out and isinstance(ev.get("feature"), str):
        out.update(kind="setting", setting=ev["feature"],
                   tool_name=_text((f.get("target") or {}).get("label")) or ev["feature"], tool_category="os_feature")
    out.setdefault("kind", "tool")
    return out


def _file(f: dict[str, Any], ev: dict[str, Any]) -> dict[str, Any]:
    kinds = ev.get("kinds") if isinstance(ev.get("kinds"), dict) else {}
    path = _text(ev.get("path"))
    # the label the agent made on its own platform (a Linux name may hold "\\"), else the path's last part
    return {"kind": "file", "path": path, "name": _text((f.get("target") or {}).get("label")) or _basename(path),
            "size": _count(ev.get("size")), "sha256": _sha(ev.get("sha256")), "mtime": _text(ev.get("mtime")),
            "owner": _text(ev.get("owner")), "location": location_of(path), "records": _count(ev.get("records")),
            "id_rows": _count(ev.get("id_number_rows")),
            "kinds": sorted(k for k, v in kinds.items() if v == "unmasked") or None}


def _download(f: dict[str, Any], ev: dict[str, Any]) -> dict[str, Any]:
    if f.get("check_id") == "TR-007":
        return {"kind": "device", "device": "USB storage devices"}
    verdict = ev.get("file_verdict") if isinstance(ev.get("file_verdict"), dict) else {}
    removable = f.get("check_id") == "TR-006" or bool(ev.get("saved_to_usb_device"))
    target = _text(ev.get("target_path"))
    return {"kind": "download", "path": target, "name": _text(ev.get("file_name")), "size": _count(ev.get("size_bytes")),
            "sha256": _sha(ev.get("sha256")), "mime_type": _text(ev.get("mime_type")),
            "location": "removable" if removable else location_of(target), "user": _text(ev.get("os_user")),
            "platform": _text(ev.get("platform")), "url_host": _text(ev.get("host")),
            "url_path": _text(ev.get("page_path")), "time": _text(ev.get("time")) or _text(ev.get("first")),
            "records": _count(verdict.get("records"))}


def _account(f: dict[str, Any], ev: dict[str, Any]) -> dict[str, Any]:
    account = _text(ev.get("account"))
    if isinstance(ev.get("os"), dict) or ev.get("system") or ev.get("platform") in (None, "", "os"):
        return {"kind": "account", "account": account, "user": account}
    return {"kind": "account", "account": account, "platform": _text(ev.get("platform")),
            "employee_id": _text(ev.get("employee_id"))}


_BY_AREA = {"remote": _remote, "files": _file, "trail": _download, "accounts": _account}


def subject_from_legacy(finding: dict[str, Any]) -> dict[str, Any]:
    """The subject of a finding written before schema 1.2, from its evidence (facts it lacks are left out)."""
    ev = finding.get("evidence") if isinstance(finding.get("evidence"), dict) else {}
    derive = _BY_AREA.get(str(finding.get("area")))
    if derive is None:
        out: dict[str, Any] = {"kind": "device", "device": _text(ev.get("hostname"))}
    else:
        out = derive(finding, ev)
    return {k: v for k, v in out.items() if v is not None}
