"""Findings as Elastic Common Schema documents (field definitions of ECS 9.4), one per finding, for the data
stream ``logs-yuncang.findings-<namespace>``.

ECS fields: ``@timestamp`` (scan end), ``message`` (Chinese title), ``data_stream.*``, ``event.*`` (kind ``state``,
``alert`` for the fleet's own FL-001; category/type pairs as ECS expects them), ``rule.*``, ``host.*`` (``host.id``
is the machine's stable id recorded in the report: /etc/machine-id, Windows MachineGuid), ``agent.*`` (this
agent), ``labels``, ``tags``, and from the evidence ``file.*``, ``process.*``, ``url.*``, ``user.name``,
``related.*``. What ECS has no field for is under ``yuncang.*``. The template that maps every one of these
fields is reports/siem/elasticsearch-templates.json (auditor.siem.template)."""

from __future__ import annotations

from typing import Any

from ..core.severity import severity
from .facts import PRODUCT, doc_id, evidence_json, finding_block, finding_facts, iso, os_kind, prune

ECS_VERSION = "9.4.0"
DATASET = "yuncang.findings"
DEFAULT_NAMESPACE = "default"
CATEGORY = {"remote": ["configuration", "process"], "files": ["file"], "accounts": ["iam"], "trail": ["file"],
            "fleet": ["host"]}


def data_stream(namespace: str = DEFAULT_NAMESPACE) -> str:
    """The data stream the documents go to: ``logs-yuncang.findings-<namespace>``."""
    return f"logs-{DATASET}-{namespace}"


def check_namespace(namespace: str) -> None:
    """ValueError for a namespace Elasticsearch refuses in a data stream name (lowercase, no '-', at most 100
    bytes, none of \\ / * ? \" < > | , # : or space)."""
    if (not namespace or len(namespace.encode("utf-8")) > 100 or namespace != namespace.lower() or "-" in namespace
            or any(c in namespace for c in '\\/*?"<>|,#: ') or namespace.startswith(("_", "+", "."))):
        raise ValueError(f"{namespace!r} cannot be a data stream namespace (lowercase letters, digits and _ . "
                         "only, not starting with _ or ., at most 100 bytes)")


def document(f: dict[str, Any], ctx: dict[str, Any], evidence: str | None = None,
             namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any]:
    sev = f["severity"]
    title = f.get("title") or {}
    facts = finding_facts(f)
    file = facts.get("file") or {}
    proc = facts.get("process") or {}
    url = facts.get("url") or {}
    user = facts.get("user")
    doc: dict[str, Any] = {
        "@timestamp": ctx["finished_at"],
        "ecs": {"version": ECS_VERSION},
        "message": title.get("zh") or title.get("en") or f["check_id"],
        "data_stream": {"type": "logs", "dataset": DATASET, "namespace": namespace},
        "event": {
            "kind": "alert" if f["area"] == "fleet" else "state", "category": CATEGORY.get(f["area"], ["host"]),
            "type": ["info"], "module": "yuncang", "dataset": DATASET, "provider": f["area"],
            "id": doc_id(ctx, f), "code": f["check_id"], "severity": severity(sev).ecs,
            "risk_score": severity(sev).risk_score,
            "start": iso(ctx["started_at"]), "end": iso(ctx["finished_at"]),
        },
        "rule": {"id": f["check_id"], "name": title.get("en"), "category": f["area"], "ruleset": PRODUCT,
                 "version": ctx["tool_version"]},
        "host": {"name": ctx["hostname"], "hostname": ctx["hostname"], "id": ctx.get("machine_id"),
                 "os": {"name": ctx["os"], "version": ctx["os_version"], "kernel": ctx["kernel"],
                        "type": os_kind(ctx)}},
        "agent": {"type": PRODUCT, "name": PRODUCT, "version": ctx["tool_version"]},
        "labels": {"site": ctx["site"], "role": ctx["role"]},
        "tags": [PRODUCT, f["area"], sev, f["check_id"]],
        "file": {"path": file.get("path"), "name": file.get("name"), "size": file.get("size"),
                 "mtime": file.get("mtime"), "owner": file.get("owner"), "mime_type": file.get("mime_type"),
                 "hash": {"sha256": file.get("sha256")}},
        "process": {"pid": proc.get("pid"), "name": proc.get("name"), "executable": proc.get("executable"),
                    "command_line": proc.get("command_line"), "args": proc.get("args"), "start": proc.get("start"),
                    "hash": {"sha256": proc.get("sha256")}, "parent": {"pid": proc.get("ppid")}},
        "url": {"domain": url.get("domain"), "path": url.get("path")},
        "user": {"name": user},
        "related": {"hosts": sorted({x for x in (ctx["hostname"], url.get("domain")) if x}),
                    "user": [user] if user else None,
                    "hash": sorted({x for x in (file.get("sha256"), proc.get("sha256")) if x})},
    }
    ours: dict[str, Any] = {"site": ctx["site"], "role": ctx["role"],
                            "report": {"digest": ctx["digest"], "signed": ctx["signature"] is not None,
                                       "signature": ctx["signature"], "schema_version": ctx["schema_version"]},
                            "finding": finding_block(f), "evidence": evidence or evidence_json(f)}
    for k in ("records", "unmasked_kinds", "tool", "platform", "port"):
        ours[k] = facts.get(k)
    doc = prune(doc)
    doc["yuncang"] = prune(ours)
    return doc
