"""Validators for the SIEM documents the suite produces, against the official definitions in tests/data/siem/
(see SOURCE.md there): OCSF 1.3.0 (compiled schema) and ECS 9.4 (flat field definitions), and the shipped
Elasticsearch/OpenSearch index template.

OCSF follows the rules of the OCSF server's event validator, strictly: what it reports as an error *or* a
warning is a problem here (an unknown class, profile or attribute; a missing required attribute; a wrong type;
a string over its type's length or not matching its regex; a number out of range; an enum value that is not
defined, deprecated, or whose caption sibling differs; a deprecated class, object or attribute; a failed
at_least_one / just_one constraint; metadata.version other than the schema's; type_uid other than
class_uid * 100 + activity_id; an observable naming no attribute). Attributes of a profile count only when
metadata.profiles names it. A missing *recommended* attribute is not a problem.

ECS: every field exists in ECS (or is under ``yuncang.*``, ours, or ``labels.*``), its value has a type the
field accepts, arrays where ECS normalises to arrays (and only there), allowed and expected values, and every
event.type expected by every event.category of the document.

``check_file`` validates an NDJSON file by its shape: a ``_bulk`` body (action line, then an ECS document) or
OCSF events one per line."""

from __future__ import annotations

import ipaddress
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from auditor.siem import template

DATA = Path(__file__).resolve().parent / "data" / "siem"
REPO = Path(__file__).resolve().parent.parent
INT64 = (-(2 ** 63), 2 ** 63 - 1)
INT128 = (-(2 ** 127), 2 ** 127 - 1)


# --------------------------------------------------------------------------- OCSF

@lru_cache(maxsize=1)
def ocsf_schema() -> dict[str, Any]:
    return json.loads((DATA / "ocsf-1.3.0-compiled.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _classes_by_uid() -> dict[int, dict[str, Any]]:
    return {c["uid"]: c for c in ocsf_schema()["classes"].values()}


@lru_cache(maxsize=None)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def ocsf_problems(event: Any) -> list[str]:
    """Everything the OCSF 1.3.0 schema finds wrong with ``event`` (an empty list when it is valid)."""
    if not isinstance(event, dict):
        return [f"an event is an object, not {type(event).__name__}"]
    schema = ocsf_schema()
    out: list[str] = []
    uid = event.get("class_uid")
    if type(uid) is not int:
        return ["class_uid is missing or not an integer"]
    cls = _classes_by_uid().get(uid)
    if cls is None:
        return [f"class_uid {uid}: no such class in OCSF {schema['version']}"]
    if cls.get("@deprecated"):
        out.append(f"class {cls['name']} is deprecated")
    meta = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    profiles = meta.get("profiles") or []
    if not isinstance(profiles, list):
        profiles = []
    for i, p in enumerate(profiles):
        if isinstance(p, str) and p not in schema["profiles"]:
            out.append(f"metadata.profiles[{i}]: no profile {p!r}")
    profiles = {p for p in profiles if isinstance(p, str)}
    _check_item(event, cls, "", profiles, out)
    if meta.get("version") != schema["version"]:
        out.append(f"metadata.version {meta.get('version')!r} is not {schema['version']!r}")
    if all(type(event.get(k)) is int for k in ("class_uid", "activity_id", "type_uid")):
        if event["type_uid"] != event["class_uid"] * 100 + event["activity_id"]:
            out.append(f"type_uid {event['type_uid']} is not class_uid * 100 + activity_id")
    for i, obs in enumerate(event.get("observables") or []):
        name = obs.get("name") if isinstance(obs, dict) else None
        if isinstance(name, str) and not _refers(name.split("."), cls, profiles):
            out.append(f"observables[{i}].name {name!r} names no attribute of {cls['name']}")
    return out


def _attributes(item: dict[str, Any], profiles: set[str]) -> dict[str, dict[str, Any]]:
    return {k: a for k, a in item["attributes"].items() if not a.get("profile") or a["profile"] in profiles}


def _check_item(value: dict[str, Any], item: dict[str, Any], path: str, profiles: set[str], out: list[str]) -> None:
    """``value`` against a class or object definition ``item``."""
    attrs = _attributes(item, profiles)
    if not item["attributes"]:  # the generic 'object': anything goes
        return
    for name, spec in attrs.items():
        where = f"{path}{name}"
        v = value.get(name)
        if v is None:
            if spec["requirement"] == "required":
                out.append(f"{where}: required attribute missing")
            continue
        if spec.get("@deprecated"):
            out.append(f"{where}: deprecated attribute")
        if spec.get("is_array"):
            if not isinstance(v, list):
                out.append(f"{where}: an array of {spec['type']} expected, got {type(v).__name__}")
                continue
            for i, element in enumerate(v):
                _check_value(element, spec, f"{where}[{i}]", profiles, out)
        else:
            _check_value(v, spec, where, profiles, out)
        enum = spec.get("enum")
        if enum:
            for i, element in enumerate(v if spec.get("is_array") and isinstance(v, list) else [v]):
                _check_enum(value, element, name, spec, f"{where}[{i}]" if spec.get("is_array") else where, out)
    for key in value:
        if key not in attrs:
            known = key in item["attributes"]
            out.append(f"{path}{key}: not an attribute of {item['name']}"
                       + (f" without profile {item['attributes'][key]['profile']!r}" if known else ""))
    for kind, keys in (item.get("constraints") or {}).items():
        present = sum(1 for k in keys if k in value)
        if kind == "at_least_one" and present == 0:
            out.append(f"{path or item['name']}: needs at least one of {', '.join(keys)}")
        elif kind == "just_one" and present != 1:
            out.append(f"{path or item['name']}: needs exactly one of {', '.join(keys)} ({present} present)")
        elif kind not in ("at_least_one", "just_one"):
            out.append(f"{path or item['name']}: unknown constraint {kind}")


def _check_enum(parent: dict[str, Any], value: Any, name: str, spec: dict[str, Any], where: str,
                out: list[str]) -> None:
    entry = spec["enum"].get(str(value).lower() if isinstance(value, bool) else str(value))
    if entry is None:
        out.append(f"{where}: {value!r} is not a value of the enum")
        return
    if entry.get("@deprecated"):
        out.append(f"{where}: enum value {value!r} is deprecated")
    sibling = spec.get("sibling")
    if sibling and sibling in parent and not spec.get("is_array"):
        caption = entry["caption"]
        if value == 99:
            if parent[sibling] == caption:
                out.append(f"{where}: {sibling} repeats the caption of 99 (Other): give the source's own value")
        elif parent[sibling] != caption:
            out.append(f"{where}: {sibling} is {parent[sibling]!r}, the caption of {value} is {caption!r}")


def _check_value(v: Any, spec: dict[str, Any], where: str, profiles: set[str], out: list[str]) -> None:
    schema = ocsf_schema()
    type_name = spec["type"]
    if type_name in schema["objects"]:
        obj = schema["objects"][type_name]
        if not isinstance(v, dict):
            out.append(f"{where}: a {type_name} object expected, got {type(v).__name__}")
            return
        if obj.get("@deprecated"):
            out.append(f"{where}: object {type_name} is deprecated")
        _check_item(v, obj, where + ".", profiles, out)
        return
    types = schema["types"]
    t = types[type_name]
    base = t.get("type") or type_name
    super_t = types.get(base, {})
    ok = {"boolean_t": isinstance(v, bool),
          "float_t": isinstance(v, float),
          "integer_t": type(v) is int and INT64[0] <= v <= INT64[1],
          "long_t": type(v) is int and INT128[0] <= v <= INT128[1],
          "string_t": isinstance(v, str),
          "json_t": True}.get(base)
    if ok is None:
        out.append(f"{where}: type {type_name} has an unknown base {base}")
        return
    if not ok:
        out.append(f"{where}: {type_name} expected, got {type(v).__name__} {str(v)[:40]!r}")
        return
    values = t.get("values") if t.get("values") is not None else super_t.get("values")
    if values is not None and v not in values:
        out.append(f"{where}: {v!r} is not one of the values of {type_name}")
    rng = t.get("range") or super_t.get("range")
    if rng and isinstance(v, (int, float)) and not rng[0] <= v <= rng[1]:
        out.append(f"{where}: {v} outside {type_name}'s range {rng}")
    if isinstance(v, str):
        max_len = t.get("max_len") or super_t.get("max_len")
        if max_len and len(v) > max_len:
            out.append(f"{where}: {len(v)} characters, longer than {type_name}'s {max_len}")
        regex = t.get("regex") or super_t.get("regex")
        if regex and not _regex(regex).search(v):
            out.append(f"{where}: {v[:60]!r} does not match the regex of {type_name}")


def _refers(keys: list[str], item: dict[str, Any], profiles: set[str]) -> bool:
    attrs = _attributes(item, profiles)
    spec = attrs.get(keys[0])
    if spec is None:
        return False
    if len(keys) == 1:
        return True
    obj = ocsf_schema()["objects"].get(spec["type"])
    return obj is not None and _refers(keys[1:], obj, profiles)


# --------------------------------------------------------------------------- ECS

@lru_cache(maxsize=1)
def ecs_fields() -> dict[str, Any]:
    return json.loads((DATA / "ecs-9.4.0-flat.json").read_text(encoding="utf-8"))


def flatten(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted field name, value) of every leaf; an array of scalars is one value."""
    for key, value in doc.items():
        name = prefix + key
        if isinstance(value, dict) and value:
            yield from flatten(value, name + ".")
        else:
            yield name, value


def _ecs_type_ok(ftype: str, v: Any) -> bool:
    if ftype in ("keyword", "constant_keyword", "wildcard", "match_only_text", "text"):
        return isinstance(v, str)
    if ftype in ("long", "integer", "short", "byte", "unsigned_long"):
        return type(v) is int
    if ftype in ("float", "double", "scaled_float", "half_float"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if ftype == "boolean":
        return isinstance(v, bool)
    if ftype == "date":
        return (isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", v)
                is not None) or type(v) is int
    if ftype == "ip":
        try:
            ipaddress.ip_address(v)
            return True
        except (ValueError, TypeError):
            return False
    if ftype in ("object", "flattened", "nested"):
        return isinstance(v, (dict, list))
    return False


def ecs_problems(doc: Any) -> list[str]:
    """Everything the ECS 9.4 definitions find wrong with ``doc`` (empty when it is valid)."""
    if not isinstance(doc, dict):
        return [f"a document is an object, not {type(doc).__name__}"]
    fields = ecs_fields()
    out: list[str] = []
    for name, value in flatten(doc):
        if name.startswith("yuncang."):
            continue
        spec = fields.get(name)
        if spec is None and name.startswith("labels.") and name.count(".") == 1:
            spec = {"type": fields["labels"]["object_type"], "normalize": []}
        if spec is None:
            out.append(f"{name}: not an ECS field (ours go under yuncang.*)")
            continue
        is_array = "array" in (spec.get("normalize") or [])
        if isinstance(value, list) != is_array:
            out.append(f"{name}: {'an array' if is_array else 'a single value'} expected")
        for v in value if isinstance(value, list) else [value]:
            if not _ecs_type_ok(spec["type"], v):
                out.append(f"{name}: {type(v).__name__} {str(v)[:40]!r} does not fit ECS type {spec['type']}")
            allowed = spec.get("allowed_values")
            if allowed and v not in {a["name"] for a in allowed}:
                out.append(f"{name}: {v!r} is not an allowed value")
            expected = spec.get("expected_values")
            if expected and v not in expected:
                out.append(f"{name}: {v!r} is not an expected value ({', '.join(expected)})")
    ev = doc.get("event") if isinstance(doc.get("event"), dict) else {}
    expected_types = {a["name"]: a.get("expected_event_types") or [] for a in fields["event.category"]["allowed_values"]}
    for category in ev.get("category") or []:
        for etype in ev.get("type") or []:
            if category in expected_types and etype not in expected_types[category]:
                out.append(f"event.type {etype!r} is not expected with event.category {category!r}")
    for required in ("@timestamp", "ecs.version"):
        if required not in dict(flatten(doc)):
            out.append(f"{required}: missing")
    return out


# --------------------------------------------------------------------------- the shipped template

def template_field_types(flavour: str = "elasticsearch") -> dict[str, str]:
    return template.field_types(template.load(flavour))


_FITS = {  # the JSON values a mapping type takes
    "keyword": str, "constant_keyword": str, "wildcard": str, "match_only_text": str, "text": str,
    "long": int, "date": (str, int), "boolean": bool, "float": (int, float), "double": (int, float),
}


def template_problems(doc: dict[str, Any], types: dict[str, str]) -> list[str]:
    """Fields of an ECS document the template does not map, or maps with a type the value does not fit."""
    out = []
    for name, value in flatten(doc):
        mapped = types.get(name)
        if mapped is None:
            out.append(f"{name}: not mapped by the index template")
            continue
        want = _FITS.get(mapped)
        for v in value if isinstance(value, list) else [value]:
            if want is None or not isinstance(v, want) or (mapped != "boolean" and isinstance(v, bool)):
                out.append(f"{name}: {type(v).__name__} value in a {mapped} field")
    return out


# --------------------------------------------------------------------------- NDJSON files

def documents(path: Path) -> tuple[str, list[dict[str, Any]], list[str]]:
    """(kind 'ecs' | 'ocsf' | 'other', documents, problems of the file's shape)."""
    data = Path(path).read_bytes()
    if not data:
        return "other", [], []
    problems = [] if data.endswith(b"\n") else ["the file does not end with a newline"]
    lines = [json.loads(line) for line in data.split(b"\n")[:-1 if data.endswith(b"\n") else None]]
    if lines and isinstance(lines[0], dict) and set(lines[0]) <= {"create", "index"} and len(lines[0]) == 1:
        if len(lines) % 2:
            problems.append("a _bulk body with an odd number of lines")
        docs = []
        for i in range(0, len(lines) - 1, 2):
            action, doc = lines[i], lines[i + 1]
            if list(action) != ["create"] or set(action["create"]) != {"_index", "_id"}:
                problems.append(f"line {i + 1}: not a create action with _index and _id: {action}")
            docs.append(doc)
        return "ecs", docs, problems
    if lines and isinstance(lines[0], dict) and "class_uid" in lines[0]:
        return "ocsf", lines, problems
    return "other", lines, problems


def check_file(path: Path) -> list[str]:
    """Every problem of an NDJSON file of SIEM documents: its shape, and each document against its schema (and
    the ECS ones against the shipped template)."""
    kind, docs, problems = documents(path)
    if kind == "ocsf":
        for i, doc in enumerate(docs):
            problems += [f"event {i + 1}: {p}" for p in ocsf_problems(doc)]
    elif kind == "ecs":
        types = template_field_types()
        for i, doc in enumerate(docs):
            problems += [f"document {i + 1}: {p}" for p in ecs_problems(doc) + template_problems(doc, types)]
    return problems
