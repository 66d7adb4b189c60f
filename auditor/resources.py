"""Where the data packs (`checks/`, `reports/`) live: inside the wheel, in a source checkout, or in a
PyInstaller bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def pack_dir(name: str) -> Path:
    """Directory of a data pack: ``checks`` or ``reports``.

    ``AUDITOR_CHECKS_DIR`` / ``AUDITOR_REPORTS_DIR`` point to a site's own copy (extra tools, edited texts)."""
    override = os.environ.get(f"AUDITOR_{name.upper()}_DIR")
    if override:
        return Path(override)
    candidates = [_HERE / "_packs" / name, _HERE.parent / name]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.insert(0, Path(bundle) / "auditor" / "_packs" / name)
    for cand in candidates:
        if cand.is_dir():
            return cand
    raise FileNotFoundError(f"data pack {name!r} not found (looked in {', '.join(map(str, candidates))})")


def schema_path() -> Path:
    return pack_dir("reports") / "schema" / "report.schema.json"
