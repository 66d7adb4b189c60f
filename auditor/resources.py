"""Where the data packs (`checks/`, `reports/`) live: inside the wheel, in a source checkout, or in a
PyInstaller bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import PackError
from .messages import Text

_HERE = Path(__file__).resolve().parent


def pack_dir(name: str) -> Path:
    """Directory of a data pack: ``checks`` or ``reports``.

    ``AUDITOR_CHECKS_DIR`` / ``AUDITOR_REPORTS_DIR`` point to a site's own copy (extra tools, edited texts); one
    that is not a folder is a pack error naming the variable (exit 2)."""
    var = f"AUDITOR_{name.upper()}_DIR"
    override = os.environ.get(var)
    if override:
        if not os.path.isdir(override):
            why = Text("reason.no_such_folder" if not os.path.lexists(override) else "reason.not_a_folder")
            raise PackError("pack.bad_dir_variable", var=var, override=override, why=why, name=name)
        return Path(override)
    return embedded_pack_dir(name)


def embedded_pack_dir(name: str) -> Path:
    """The pack that comes with the agent, whatever ``AUDITOR_*_DIR`` says."""
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
