"""The published report schema (reports/schema/report.schema.json) applied to reports read from outside.

Every reader of a report that someone else could have written (``fleet ingest``, ``auditor report``,
``auditor verify``, a bundle's report, a stored SIEM document) checks it against the very schema file we publish
before using a field of it: what the code then reads has the types the schema promises, so one crafted report
(a title that is a string, a severity that is a number) is refused with its reason instead of stopping a run.

Why not the ``jsonschema`` package at run time: it brings ``referencing`` and ``rpds-py`` (a Rust extension, one
more native wheel to pin and ship inside the one-file Windows exe), and it walks a report an order of magnitude
slower than these compiled checks (a fleet ingest validates thousands of reports). The schema uses a small set
of keywords; they are implemented here, an unknown keyword makes the schema unusable (not silently ignored),
and the tests check this validator against ``jsonschema`` on generated reports.

Semantics are those of JSON Schema 2020-12 for the supported keywords, with two deliberate strictnesses: an
``integer`` must be written as an integer (``1.0`` is not one), and ``format`` ``date-time``/``date`` is asserted
(RFC 3339). A problem is one line naming where it is (``findings[3].title``) and what was expected; it never
quotes the value (which may be personal data or megabytes long).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from .errors import UsageError
from .messages import os_error
from .resources import schema_path

ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated",
               "readOnly", "writeOnly", "$defs", "definitions"}
_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) in (int, float),
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}
_NAMES = {dict: "an object", list: "an array", str: "a string", int: "an integer", float: "a number",
          bool: "a boolean", type(None): "null"}


class SchemaError(UsageError):
    """The schema file itself cannot be applied (missing, not JSON, an unsupported keyword): a configuration
    error (a site's AUDITOR_REPORTS_DIR copy), exit 2."""


class Problem:
    """Where (path parts, innermost first while it bubbles up) and what."""

    __slots__ = ("parts", "what")

    def __init__(self, what: str) -> None:
        self.parts: list[str] = []
        self.what = what

    def at(self, part: str) -> "Problem":
        self.parts.append(part)
        return self

    def __str__(self) -> str:
        path = "".join(reversed(self.parts)).lstrip(".")
        return f"{path}: {self.what}" if path else self.what


Check = Callable[[Any], "Problem | None"]


def _key(name: str) -> str:
    return f".{name}" if _SAFE_KEY.fullmatch(name) else ".[key]"


def _kind(value: Any) -> str:
    return _NAMES.get(type(value), type(value).__name__)


def _ecma(pattern: str) -> re.Pattern[str]:
    """An ECMA-262 pattern as Python's: ``$`` means the end of the text (Python's also matches before a final
    newline), ``\\d`` and ``\\w`` are ASCII."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "$":
            ch = r"\Z"
        out.append(ch)
        i += 1
    return re.compile("".join(out), re.ASCII)


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _is_date_time(v: str) -> bool:
    if not _DATE_TIME.fullmatch(v):
        return False
    try:
        dt.datetime.fromisoformat(v[:19])
        off = v[19:].lstrip(".0123456789")
        return off in ("Z", "z") or (int(off[1:3]) < 24 and int(off[4:6]) < 60)
    except ValueError:
        return False


def _is_date(v: str) -> bool:
    try:
        return bool(_DATE.fullmatch(v)) and dt.date.fromisoformat(v) is not None
    except ValueError:
        return False


_FORMATS = {"date-time": _is_date_time, "date": _is_date}


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 is not true, 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        dump = lambda x: json.dumps(x, sort_keys=True)  # noqa: E731
        return type(a) is type(b) and dump(a) == dump(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


class Validator:
    """Compiled checks of one schema document; ``check(value, pointer)`` returns the first problem or None."""

    def __init__(self, schema: dict[str, Any]) -> None:
        if not isinstance(schema, dict):
            raise SchemaError("pack.schema.not_object")
        self.root = schema
        self._compiled: dict[str, Check] = {}

    # ----------------------------------------------------------------- public
    def check(self, value: Any, pointer: str = "#") -> Problem | None:
        return self._ref(pointer)(value)

    def problem(self, value: Any, pointer: str = "#") -> str | None:
        p = self.check(value, pointer)
        return None if p is None else str(p)

    # ----------------------------------------------------------------- compiling
    def _ref(self, pointer: str) -> Check:
        fn = self._compiled.get(pointer)
        if fn is None:
            slot: list[Check] = []
            self._compiled[pointer] = lambda v: slot[0](v)  # recursion through $ref resolves on first use
            slot.append(self._compile(self._resolve(pointer), pointer))
            fn = self._compiled[pointer] = slot[0]
        return fn

    def _resolve(self, pointer: str) -> Any:
        if not pointer.startswith("#"):
            raise SchemaError("pack.schema.outside_ref", pointer=pointer)
        node: Any = self.root
        for part in [p for p in pointer[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError, TypeError):
                raise SchemaError("pack.schema.dangling_ref", pointer=pointer) from None
        return node

    def _compile(self, node: Any, where: str) -> Check:
        if node is True or node == {}:
            return lambda v: None
        if node is False:
            return lambda v: Problem("no value is allowed here")
        if not isinstance(node, dict):
            raise SchemaError("pack.schema.not_schema", where=where)
        unknown = set(node) - ANNOTATIONS - _KEYWORDS
        if unknown:
            raise SchemaError("pack.schema.unsupported", where=where, keywords=", ".join(sorted(unknown)))
        return _all_of([_COMPILERS[group[0]](self, node, where) for group in _GROUPS
                        if any(k in node for k in group)])


# --------------------------------------------------------------------------- keywords

def _all_of(checks: list[Check]) -> Check:
    """The first problem any of ``checks`` finds."""
    if not checks:
        return lambda v: None
    if len(checks) == 1:
        return checks[0]

    def check(v: Any) -> Problem | None:
        for c in checks:
            p = c(v)
            if p is not None:
                return p
        return None
    return check


def _size_problem(n: int, lo: int | None, hi: int | None, unit: str) -> Problem | None:
    if lo is not None and n < lo:
        return Problem(f"fewer than {lo} {unit}")
    if hi is not None and n > hi:
        return Problem(f"more than {hi} {unit}")
    return None


def _c_ref(self: Validator, node: dict, where: str) -> Check:
    target = node["$ref"]
    return lambda v: self._ref(target)(v)


def _c_type(self: Validator, node: dict, where: str) -> Check:
    names = node["type"] if isinstance(node["type"], list) else [node["type"]]
    try:
        tests = [_TYPES[n] for n in names]
    except KeyError as exc:
        raise SchemaError("pack.schema.unknown_type", where=where, exc=exc) from None
    wanted = " or ".join(names)
    if len(tests) == 1:
        test = tests[0]
        return lambda v: None if test(v) else Problem(f"expected {wanted}, got {_kind(v)}")
    return lambda v: None if any(t(v) for t in tests) else Problem(f"expected {wanted}, got {_kind(v)}")


def _c_enum(self: Validator, node: dict, where: str) -> Check:
    options = node["enum"]
    shown = ", ".join("null" if o is None else str(o) for o in options[:12])
    return lambda v: None if any(_same(v, o) for o in options) else Problem(f"must be one of: {shown}")


def _c_const(self: Validator, node: dict, where: str) -> Check:
    want = node["const"]
    shown = want if isinstance(want, str) and len(want) < 60 else "the fixed value"
    return lambda v: None if _same(v, want) else Problem(f"must be {shown}")


def _c_object(self: Validator, node: dict, where: str) -> Check:
    props = {k: self._compile(s, f"{where}/properties/{k}") for k, s in (node.get("properties") or {}).items()}
    required = list(node.get("required") or [])
    extra = node.get("additionalProperties", True)
    extra_check = None if extra is True else self._compile(extra, f"{where}/additionalProperties") \
        if extra is not False else False
    min_props, max_props = node.get("minProperties"), node.get("maxProperties")

    def check(v: Any) -> Problem | None:
        if type(v) is not dict:
            return None
        for k in required:
            if k not in v:
                return Problem(f"missing required field {k!r}")
        if min_props is not None or max_props is not None:
            p = _size_problem(len(v), min_props, max_props, "fields")
            if p is not None:
                return p
        for k, item in v.items():
            c = props.get(k)
            if c is None:
                if extra_check is None:
                    continue
                if extra_check is False:
                    return Problem("unexpected field").at(_key(k))
                c = extra_check
            p = c(item)
            if p is not None:
                return p.at(_key(k) if c is extra_check else f".{k}")
        return None
    return check


def _c_items(self: Validator, node: dict, where: str) -> Check:
    item = self._compile(node["items"], f"{where}/items") if "items" in node else None
    lo, hi = node.get("minItems"), node.get("maxItems")

    def check(v: Any) -> Problem | None:
        if type(v) is not list:
            return None
        p = _size_problem(len(v), lo, hi, "items")
        if p is not None:
            return p
        if item is not None:
            for i, x in enumerate(v):
                p = item(x)
                if p is not None:
                    return p.at(f"[{i}]")
        return None
    return check


def _c_string(self: Validator, node: dict, where: str) -> Check:
    lo, hi = node.get("minLength"), node.get("maxLength")
    try:
        pattern = _ecma(node["pattern"]) if "pattern" in node else None
    except re.error as exc:
        raise SchemaError("pack.schema.bad_pattern", where=where, exc=exc) from None
    fmt = _FORMATS.get(node.get("format", ""))
    shown = node.get("pattern", "")

    def check(v: Any) -> Problem | None:
        if type(v) is not str:
            return None
        p = _size_problem(len(v), lo, hi, "characters")
        if p is not None:
            return p
        if pattern is not None and not pattern.search(v):
            return Problem(f"does not match {shown}")
        if fmt is not None and not fmt(v):
            return Problem(f"not a valid {node['format']} (RFC 3339)")
        return None
    return check


def _c_number(self: Validator, node: dict, where: str) -> Check:
    lo, hi = node.get("minimum"), node.get("maximum")
    xlo, xhi = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")

    def check(v: Any) -> Problem | None:
        if type(v) not in (int, float):
            return None
        if lo is not None and v < lo:
            return Problem(f"below the minimum {lo}")
        if hi is not None and v > hi:
            return Problem(f"above the maximum {hi}")
        if xlo is not None and v <= xlo:
            return Problem(f"not above {xlo}")
        if xhi is not None and v >= xhi:
            return Problem(f"not below {xhi}")
        return None
    return check


def _c_combine(kw: str):
    def compile_(self: Validator, node: dict, where: str) -> Check:
        subs = [self._compile(s, f"{where}/{kw}/{i}") for i, s in enumerate(node[kw])]
        if kw == "allOf":
            return _all_of(subs)
        if kw == "anyOf":
            def check(v: Any) -> Problem | None:
                return None if any(s(v) is None for s in subs) else Problem("matches none of the allowed forms")
        else:
            def check(v: Any) -> Problem | None:
                n = sum(s(v) is None for s in subs)
                return None if n == 1 else Problem("matches none of the allowed forms" if n == 0
                                                   else "matches more than one of the allowed forms")
        return check
    return compile_


def _c_not(self: Validator, node: dict, where: str) -> Check:
    sub = self._compile(node["not"], f"{where}/not")
    return lambda v: Problem("a form that is not allowed") if sub(v) is None else None


# keywords compiled together (one compiler per group, called once when any keyword of the group is present)
_GROUPS = [("$ref",), ("type",), ("enum",), ("const",),
           ("properties", "required", "additionalProperties", "minProperties", "maxProperties"),
           ("items", "minItems", "maxItems"), ("minLength", "maxLength", "pattern", "format"),
           ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"), ("oneOf",), ("anyOf",), ("allOf",),
           ("not",)]
_COMPILERS = {"$ref": _c_ref, "type": _c_type, "enum": _c_enum, "const": _c_const, "properties": _c_object,
              "items": _c_items, "minLength": _c_string, "minimum": _c_number, "oneOf": _c_combine("oneOf"),
              "anyOf": _c_combine("anyOf"), "allOf": _c_combine("allOf"), "not": _c_not}
_KEYWORDS = {k for group in _GROUPS for k in group}


# --------------------------------------------------------------------------- the report schema

@lru_cache(maxsize=4)
def _validator_for(path: str, mtime_ns: int) -> Validator:
    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError("pack.schema.cannot_read", path=path, why=exc) from None
    v = Validator(schema)
    v.check(None)  # compile the whole document now: a bad schema fails here, not on some report
    for name in (schema.get("$defs") or {}):
        v._ref(f"#/$defs/{name}")
    return v


def report_validator() -> Validator:
    """The validator of the published report schema (a site's AUDITOR_REPORTS_DIR copy when set)."""

    path = schema_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise SchemaError("pack.schema.cannot_read", path=path, why=os_error(exc)) from None
    return _validator_for(str(path), mtime)
