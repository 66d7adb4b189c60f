"""Departure dates from the HR roster (``--roster``), matched to the OS user who downloaded an export.

The roster is read by the accounts area's loader (header auto-mapping, ``--map``, encodings, bad rows);
this module only turns its rows into a look-up by account, employee id and name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..core.model import Coverage


@dataclass(frozen=True)
class Departure:
    who: str  # the roster value that matched the OS user
    date: dt.date


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def load_departures(path: Path, column_map: dict[str, str]) -> tuple[dict[str, Departure], str]:
    """{casefolded account, employee id or name: Departure}, and a note for the coverage."""
    from ..accounts.inputs import load_inputs

    inputs = load_inputs(path, [], [], None, column_map, Coverage())
    out: dict[str, Departure] = {}
    frame = inputs.roster
    if frame is None or frame.empty:
        return out, "roster is empty"
    for row in frame.to_dict("records"):
        when = _as_date(row.get("leave_date"))
        if when is None:
            continue
        for key in ("account", "employee_id", "name"):
            value = str(row.get(key) or "").strip()
            if value:
                out.setdefault(value.casefold(), Departure(value, when))
    return out, f"{len(out)} roster keys with a departure date"
