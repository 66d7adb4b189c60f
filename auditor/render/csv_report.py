"""CSV: one row per finding. RFC 4180 (comma, CRLF, quotes doubled, fields with separators, quotes or line
breaks quoted), UTF-8 with a BOM so that Excel shows Chinese correctly, and every text cell that a spreadsheet
would read as a formula (starting with = + - @, tab or carriage return) prefixed with an apostrophe."""

from __future__ import annotations

import csv
import io
from typing import Any

from . import view

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that Excel/LibreOffice would evaluate becomes literal text ('=cmd|...  ->  '=cmd|...)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def render(report: dict[str, Any], lang: str = "zh") -> bytes:
    v = view.build(report, lang)
    L = v["L"]
    sep = v["sep"]
    out = io.StringIO(newline="")
    writer = csv.writer(out, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([L("r.no"), L("r.severity"), "severity_code", L("r.area"), L("r.check"), L("r.title_col"),
                     L("r.target_kind"), L("r.target"), L("r.target_ref"), L("r.evidence"), L("r.basis"),
                     L("r.basis_text"), L("r.duties_col"), L("r.remediation"), L("r.note"), L("r.change"),
                     L("r.id"), L("r.hostname"), L("r.finished"), L("r.digest"), L("r.score"), L("r.grade"),
                     L("r.assessment")])
    sc = v["score"]
    verdict = [sc["value"] if sc["value"] is not None else "", sc["grade"],
               "; ".join(x for x in (sc["assessment"], sc["limit"]) if x)]
    for f in v["findings"]:
        row = [f["no"], f["severity_label"], f["severity"], f["area_label"], f["check_id"], f["title"],
               f["target_kind_label"], f["target"], f["target_ref"], f["evidence_text"],
               ", ".join(c["id"] for c in f["basis"]), sep.join(c["label"] for c in f["basis"]),
               ", ".join(f["duties"]), f["remediation"], f["note"], f["change_label"], f["id"],
               v["hostname"], v["finished"], v["digest"], *verdict]
        writer.writerow([neutralise(c) for c in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")
