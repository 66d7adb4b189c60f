"""The index template shipped for the ECS documents (data: reports/siem/elasticsearch-templates.json).

Two component templates (``logs-yuncang.findings@ecs``: the ECS fields the documents carry, with ECS's types;
``logs-yuncang.findings@yuncang``: the ``yuncang.*`` fields) and a composable index template
``logs-yuncang.findings`` that makes ``logs-yuncang.findings-*`` a data stream (priority 200, above the
built-in ``logs-*-*``). Without it, dynamic mapping makes ``host.name`` a text field and breaks ECS rules and
dashboards.

``elasticsearch`` is the data as shipped; ``opensearch`` replaces the Elasticsearch-only field types
(match_only_text, wildcard, constant_keyword) by those OpenSearch has in every 2.x release (text, keyword)."""

from __future__ import annotations

import copy
import json
from typing import Any, Iterator

from ..resources import pack_dir

FLAVOURS = ("elasticsearch", "opensearch")
_OPENSEARCH_TYPES = {"match_only_text": "text", "wildcard": "keyword", "constant_keyword": "keyword"}


def load(flavour: str = "elasticsearch") -> dict[str, Any]:
    """{"component_templates": {name: body}, "index_templates": {name: body}} for ``flavour``."""
    path = pack_dir("reports") / "siem" / "elasticsearch-templates.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if flavour == "opensearch":
        data = _retyped(copy.deepcopy(data), _OPENSEARCH_TYPES)
    return data


def requests(flavour: str = "elasticsearch") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, body) of each PUT that installs the templates: the component templates first."""
    data = load(flavour)
    for name, body in data["component_templates"].items():
        yield f"_component_template/{name}", body
    for name, body in data["index_templates"].items():
        yield f"_index_template/{name}", body


def field_types(data: dict[str, Any]) -> dict[str, str]:
    """Every mapped field of the component templates, dotted, with its type (multi-fields included)."""
    out: dict[str, str] = {}
    for body in data["component_templates"].values():
        _walk(body["template"]["mappings"].get("properties", {}), "", out)
    return out


def _walk(props: dict[str, Any], prefix: str, out: dict[str, str]) -> None:
    for name, spec in props.items():
        dotted = prefix + name
        if "properties" in spec:
            _walk(spec["properties"], dotted + ".", out)
            continue
        out[dotted] = spec.get("type", "object")
        for sub, sub_spec in (spec.get("fields") or {}).items():
            out[f"{dotted}.{sub}"] = sub_spec.get("type", "object")


def _retyped(value: Any, types: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: (types.get(v, v) if k == "type" and isinstance(v, str) else _retyped(v, types))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_retyped(v, types) for v in value]
    return value
