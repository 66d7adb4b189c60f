"""The files area's verdict on one file the scan did not reach (the export trail asks for the downloads it finds):
the file is read here, through the tree it lies in, and judged by the files area's rule."""

from __future__ import annotations

from pathlib import Path

from .. import safeio
from ..core.handover import FileVerdict
from .collect import TableReader
from .formats import CANDIDATE_EXT
from ..pii.rules import is_finding, load_rules


def verdict_for(path: Path, tree: safeio.Tree = safeio.LIVE) -> FileVerdict | None:
    """The verdict on a table file; None when it is not a table we read or it holds no personal data."""
    if path.suffix.lower() not in CANDIDATE_EXT:
        return None
    summaries = [s for s in TableReader().summaries(path, tree=tree) if not s.get("skipped")]
    if not summaries:
        return None
    records = sum(s["records"] for s in summaries)
    id_rows = sum(s["id_rows"] for s in summaries)
    masked = sum(s["masked_rows"] for s in summaries)
    if not (records or id_rows or masked):
        return None
    counts = {"records": records, "id_rows": id_rows}
    return FileVerdict(records=records, id_rows=id_rows,
                       masked_share=round(masked / (records + masked), 4) if records + masked else 0.0,
                       finding=is_finding(counts, load_rules()))
