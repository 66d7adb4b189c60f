"""The files area's verdict on one file, for other areas (the export trail links a download to it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import safeio
from .area import is_finding
from .file_scan import CANDIDATE_EXT, FileScanner
from .rules import load_rules


def verdict_for(path: Path, tree: safeio.Tree = safeio.LIVE) -> dict[str, Any] | None:
    """{"records", "id_rows", "masked_share", "finding": bool} for a table file; None when it is not a
    table we read or it holds no personal data. The file is opened through ``tree`` (auditor.safeio)."""
    if path.suffix.lower() not in CANDIDATE_EXT:
        return None
    rules = load_rules()
    outcomes = FileScanner(rules).scan(path, tree=tree)
    summaries = [o.summary() for o in outcomes if not o.skipped]
    if not summaries:
        return None
    records = sum(s["records"] for s in summaries)
    id_rows = sum(s["id_rows"] for s in summaries)
    masked = sum(s["masked_rows"] for s in summaries)
    if not (records or id_rows or masked):
        return None
    merged = {"records": records, "id_rows": id_rows, "masked_rows": masked,
              "masked_share": round(masked / (records + masked), 4) if records + masked else 0.0}
    merged["finding"] = is_finding(merged, rules)
    return merged
