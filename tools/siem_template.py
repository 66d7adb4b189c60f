"""Write reports/siem/elasticsearch-templates.json: the component templates and the composable index template
for the ECS documents of auditor.siem.ecs (data stream logs-yuncang.findings-<namespace>).

The ECS fields take their type, ignore_above and multi-fields from the ECS flat definitions copied into
tests/data/siem/; the yuncang.* fields are ours. tests/test_siem_schemas.py checks that the written template maps
every field the documents carry, with a type that fits. Run it after adding a field:

    python tools/siem_template.py
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ECS_FLAT = REPO / "tests" / "data" / "siem" / "ecs-9.4.0-flat.json"
OUT = REPO / "reports" / "siem" / "elasticsearch-templates.json"

ECS_FIELDS = """
@timestamp ecs.version message data_stream.type data_stream.dataset data_stream.namespace
event.kind event.category event.type event.module event.dataset event.provider event.id event.code event.severity
event.risk_score event.start event.end
rule.id rule.name rule.category rule.ruleset rule.version
host.name host.hostname host.id host.os.name host.os.version host.os.kernel host.os.type
agent.type agent.name agent.version labels.site labels.role tags
file.path file.name file.size file.mtime file.owner file.mime_type file.hash.sha256
process.pid process.name process.executable process.command_line process.args process.start process.hash.sha256
process.parent.pid url.domain url.path user.name related.hosts related.user related.hash
""".split()

KEYWORD = {"type": "keyword", "ignore_above": 1024}
TEXT_AND_KEYWORD = {"type": "keyword", "ignore_above": 1024, "fields": {"text": {"type": "match_only_text"}}}
OURS = {
    "yuncang.site": KEYWORD, "yuncang.role": KEYWORD,
    "yuncang.report.digest": KEYWORD, "yuncang.report.signed": {"type": "boolean"},
    "yuncang.report.signature": KEYWORD, "yuncang.report.schema_version": KEYWORD,
    "yuncang.finding.id": KEYWORD, "yuncang.finding.check_id": KEYWORD, "yuncang.finding.area": KEYWORD,
    "yuncang.finding.severity": KEYWORD,
    "yuncang.finding.title.zh": TEXT_AND_KEYWORD, "yuncang.finding.title.en": TEXT_AND_KEYWORD,
    "yuncang.finding.target.kind": KEYWORD, "yuncang.finding.target.ref": TEXT_AND_KEYWORD,
    "yuncang.finding.target.label": TEXT_AND_KEYWORD, "yuncang.finding.legal_basis": KEYWORD,
    "yuncang.finding.remediation.zh": {"type": "match_only_text"},
    "yuncang.finding.remediation.en": {"type": "match_only_text"},
    "yuncang.finding.note.zh": {"type": "match_only_text"}, "yuncang.finding.note.en": {"type": "match_only_text"},
    # the evidence as one JSON text: kept in _source for the analyst, neither indexed nor aggregated
    "yuncang.evidence": {"type": "keyword", "index": False, "doc_values": False},
    "yuncang.records": {"type": "long"}, "yuncang.unmasked_kinds": KEYWORD,
    "yuncang.tool.id": KEYWORD, "yuncang.tool.name": KEYWORD, "yuncang.tool.vendor": KEYWORD,
    "yuncang.tool.category": KEYWORD,
    "yuncang.platform.id": KEYWORD, "yuncang.platform.zh": KEYWORD, "yuncang.platform.en": KEYWORD,
    "yuncang.port": {"type": "long"},
}


def ecs_mapping(flat: dict, name: str) -> dict:
    if name.startswith("labels."):  # labels: an object of keywords
        return dict(KEYWORD)
    field = flat[name]
    out = {"type": field["type"]}
    if field.get("ignore_above"):
        out["ignore_above"] = field["ignore_above"]
    if field.get("scaling_factor"):
        out["scaling_factor"] = field["scaling_factor"]
    multi = field.get("multi_fields") or []
    if multi:
        out["fields"] = {m["name"]: {"type": m["type"]} for m in multi}
    return out


def nested(flat_mappings: dict[str, dict]) -> dict:
    """{"a.b": m} -> {"a": {"properties": {"b": m}}}"""
    props: dict = {}
    for name in sorted(flat_mappings):
        parts = name.split(".")
        at = props
        for p in parts[:-1]:
            at = at.setdefault(p, {"properties": {}})["properties"]
        at[parts[-1]] = flat_mappings[name]
    return props


def build() -> dict:
    flat = json.loads(ECS_FLAT.read_text(encoding="utf-8"))
    meta = {"managed_by": "yuncang-auditor", "description": "auditor fleet export --format ecs (ECS 9.4)"}
    return {
        "component_templates": {
            "logs-yuncang.findings@ecs": {
                "template": {"mappings": {"properties": nested({n: ecs_mapping(flat, n) for n in ECS_FIELDS})}},
                "_meta": {**meta, "ecs_version": "9.4.0"}},
            "logs-yuncang.findings@yuncang": {
                "template": {"mappings": {"properties": nested(OURS)}}, "_meta": meta},
        },
        "index_templates": {
            "logs-yuncang.findings": {
                "index_patterns": ["logs-yuncang.findings-*"], "data_stream": {}, "priority": 200,
                "composed_of": ["logs-yuncang.findings@ecs", "logs-yuncang.findings@yuncang"], "_meta": meta},
        },
    }


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(build(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written: {OUT}")
