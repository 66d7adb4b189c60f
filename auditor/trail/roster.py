"""Departure dates from the HR roster (``--roster``), matched to OS user names.

The accounts area (issue #5) owns roster header mapping; until it exposes a loader this module maps only the
few columns it needs: the account / login / PC user name, the person's name, and the departure date.
``--map departure=COLUMN`` (and ``account=``, ``name=``) overrides the guesses."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

ACCOUNT_HEADERS = ("电脑账号", "电脑用户名", "windows账号", "系统账号", "登录账号", "登录名", "账号", "用户名", "工号",
                   "account", "login", "username", "user", "os_user", "employee_id")
NAME_HEADERS = ("姓名", "员工姓名", "name", "full_name")
DEPARTURE_HEADERS = ("离职日期", "离职时间", "离岗日期", "离职", "departure_date", "departure", "leave_date",
                     "left_on", "termination_date", "end_date")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")


@dataclass(frozen=True)
class Departure:
    who: str  # the roster value that matched the OS user
    date: dt.date


def parse_date(text: str) -> dt.date | None:
    text = (text or "").strip()
    m = _DATE.search(text)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    if re.fullmatch(r"\d{5}(\.0+)?", text):  # an Excel serial date left as a number
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(text)))
    if re.fullmatch(r"\d{8}", text):
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None
    return None


def _column(header: list[str], wanted: tuple[str, ...], override: str | None) -> int | None:
    folded = [h.strip().casefold() for h in header]
    if override:
        return folded.index(override.strip().casefold()) if override.strip().casefold() in folded else None
    for name in wanted:
        if name.casefold() in folded:
            return folded.index(name.casefold())
    return None


def load_departures(path: Path, column_map: dict[str, str]) -> tuple[dict[str, Departure], str]:
    """{casefolded account or name: Departure}, and a note for the coverage. Raises OSError/ValueError-like
    errors from the table reader for unreadable files."""
    from ..tabular import read_table

    rows = read_table(path)
    if not rows:
        return {}, "roster is empty"
    header, body = rows[0], rows[1:]
    dep_col = _column(header, DEPARTURE_HEADERS, column_map.get("departure") or column_map.get("departure_date"))
    if dep_col is None:
        return {}, "no departure-date column found (use --map departure=COLUMN)"
    id_cols = [c for c in (_column(header, ACCOUNT_HEADERS, column_map.get("account")),
                           _column(header, NAME_HEADERS, column_map.get("name"))) if c is not None]
    if not id_cols:
        return {}, "no account or name column found (use --map account=COLUMN)"
    out: dict[str, Departure] = {}
    for row in body:
        when = parse_date(row[dep_col]) if dep_col < len(row) else None
        if when is None:
            continue
        for col in id_cols:
            value = row[col].strip() if col < len(row) else ""
            if value:
                out.setdefault(value.casefold(), Departure(value, when))
    return out, f"{len(out)} roster entries with a departure date"
