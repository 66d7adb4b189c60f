"""A JSON report that comes from outside: read within bounds, of a schema version we read, valid against the
published schema.

``fleet ingest`` (files others put in a share), ``auditor report`` and its ``--baseline``, ``auditor verify`` and
an inspector's bundle all read reports that anybody could have written or re-sealed (the SHA-256 seal needs no
key). Before any of them uses a field, the report passes here:

1. the file is a regular file opened without following a user's link, at most ``MAX_BYTES`` (auditor.safeio);
2. its JSON is within the bounds of auditor.boundedjson (nesting, values, integers, strings), checked before
   parsing;
3. it is an auditor report (``schema_version`` and ``findings``) of major version 1;
4. it has at most ``MAX_FINDINGS`` findings, and it is valid against reports/schema/report.schema.json
   (auditor.reportschema).

Each refusal is a :class:`BadReport` whose ``reason`` is one line that never quotes the report's content.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from . import boundedjson
from . import safeio
from .errors import UsageError
from .core.model import SCHEMA_VERSION
from .reportschema import report_validator

MAX_BYTES = boundedjson.REPORT.max_bytes
MAX_FINDINGS = 20_000
_VERSION = re.compile(r"\d{1,6}(\.\d{1,6}){0,3}")


class BadReport(ValueError):
    """``kind``: unreadable | too_large | not_json | not_report | version (``reason`` then reads after
    "unknown" / "unsupported": ``schema version '2.0' (this version reads 1.x)``)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def read_file(path: Path | str) -> bytes:
    """The bytes of a report file: a regular file (no FIFO, device or user's link), at most MAX_BYTES."""

    try:
        return safeio.read_bytes(path, max_size=MAX_BYTES)
    except OSError as exc:
        reason = safeio.reason_of(exc)
        raise BadReport(reason, "too_large" if reason.startswith("too large") else "unreadable") from None


def parse(data: bytes) -> dict[str, Any]:
    """The report in ``data`` once it is bounded JSON, an auditor report and of a version we read (not yet
    validated: see :func:`problem`)."""
    if not data or data.isspace():
        raise BadReport("empty file", "not_json")
    try:
        report = boundedjson.loads(data)
    except boundedjson.OutOfBounds as exc:
        raise BadReport(exc.reason, "too_large" if exc.too_large else "not_json") from None
    return as_report(report)


def as_report(value: Any) -> dict[str, Any]:
    """``value`` when it is an auditor report of a schema version we read, with at most MAX_FINDINGS findings."""
    if not isinstance(value, dict) or "schema_version" not in value or "findings" not in value:
        raise BadReport("not an auditor JSON report (no schema_version/findings)", "not_report")
    version = value["schema_version"]
    major = SCHEMA_VERSION.split(".")[0]
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise BadReport(f"schema version (not a version number; this version reads {major}.x)", "version")
    if version.split(".")[0] != major or version.count(".") != 1:
        raise BadReport(f"schema version {version!r} (this version reads {major}.x)", "version")
    findings = value["findings"]
    if isinstance(findings, list) and len(findings) > MAX_FINDINGS:
        raise BadReport(f"too many findings ({len(findings)}; limit {MAX_FINDINGS})", "too_large")
    return value


def problem(report: dict[str, Any], skip: Iterable[str] = ()) -> str | None:
    """Why ``report`` is not a valid report (the first problem), or None. Members named in ``skip`` were
    validated before (a reader that met the very same text in an earlier report)."""

    v = report_validator()
    return v.problem(report) if not skip else _partial(v, report, set(skip))


def sealed_shape_problem(report: dict[str, Any]) -> str | None:
    """For a report whose seal holds: why auditor could not have written it as it is (anyone can re-seal an edited
    report with SHA-256 alone), or None. Reports of another major version are not judged here."""
    try:
        as_report(report)
    except BadReport as exc:
        other_major = exc.kind == "version" and _VERSION.fullmatch(str(report.get("schema_version")))
        return None if other_major else exc.reason
    return problem(report)


def finding_problem(finding: Any, index: int) -> str | None:
    """Why one finding is not valid (for readers that validate findings one by one), or None."""

    p = report_validator().check(finding, "#/properties/findings/items")
    return None if p is None else str(p.at(f"findings[{index}]"))


def _partial(v, report: dict[str, Any], skip: set[str]) -> str | None:
    root = v.root
    for k in root.get("required") or ():
        if k not in report:
            return f"missing required field {k!r}"
    props = root.get("properties") or {}
    for k, val in report.items():
        if k in skip:
            continue
        if k in props:
            p = v.check(val, f"#/properties/{k}")
            if p is not None:
                return str(p.at(f".{k}"))
    if root.get("additionalProperties", True) is not True:  # pragma: no cover - the published schema allows extras
        return v.problem(report)
    return None


def load(path: Path | str, where: str) -> dict[str, Any]:
    """A report file for a command (``auditor report``, ``--baseline``): every refusal is a usage error (exit 2)
    naming ``where``."""
    try:
        report = parse(read_file(path))
    except BadReport as exc:
        raise UsageError("usage.report.unreadable", where=where, worded=_worded(exc)) from None
    why = problem(report)
    if why:
        raise UsageError("usage.report.invalid", where=where, why=why)
    return report


def _worded(exc: BadReport) -> str:
    if exc.kind == "unreadable":
        return f"cannot read ({exc.reason})"
    if exc.kind == "not_json":
        return f"malformed JSON report ({exc.reason})"
    if exc.kind == "version":
        return f"unsupported report {exc.reason}"
    return exc.reason
