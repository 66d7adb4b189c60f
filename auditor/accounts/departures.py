"""Departure dates from the HR roster, for the export trail: who left when, by every value an OS user may be
called (the roster's PC account, employee id or name). Made from the roster the accounts area read."""

from __future__ import annotations

import datetime as dt

from ..core.handover import Departure, Departures
from .inputs import Inputs


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def departures_from(inputs: Inputs | None) -> Departures:
    """{casefolded account, employee id or name: Departure}; the first roster row naming a key wins."""
    out = Departures()
    frame = inputs.roster if inputs is not None else None
    if frame is None or frame.empty:
        out.note = "roster is empty"
        return out
    for row in frame.to_dict("records"):
        when = _as_date(row.get("leave_date"))
        if when is None:
            continue
        employee_id, name = str(row.get("employee_id") or "").strip(), str(row.get("name") or "").strip()
        for key in ("account", "employee_id", "name"):
            value = str(row.get(key) or "").strip()
            if value:
                out.by_key.setdefault(value.casefold(), Departure(when, value, employee_id, name))
    out.note = f"{len(out.by_key)} roster keys with a departure date"
    return out
