"""Dates and times as HR systems, shop back offices and Windows consoles write them.

``parse_when`` accepts ISO (`2024-03-05 09:12:33`, `2024-03-05T09:12:33+08:00`), slashes and dots
(`2024/3/5 9:12`, `2024.3.5`), Chinese (`2024年3月5日 9时12分`), US (`3/5/2024 9:12:33 AM`), AM/PM written
as 上午/下午, compact (`20240305`, `20240305091233`), Unix seconds or milliseconds, and Excel day serials.
Times are wall-clock times: an offset is dropped, not converted.

A cell longer than ``MAX_DATE_CHARS`` is not a date (refused before any pattern runs), and runs of white space
count as one space: the patterns then take time in proportion to the cell, whatever a hostile file holds.
Error messages quote a bounded excerpt of the cell (``textsafe.quote``)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from ..textsafe import quote


class BadDate(ValueError):
    """A cell that should hold a date and does not."""


EMPTY = {"", "-", "--", "---", "—", "——", "/", "无", "暂无", "空", "null", "none", "nan", "nat", "n/a", "na", "#n/a"}
NEVER = {"从未登录", "从未登陆", "从未", "从不", "未登录", "未登陆", "never", "never logged in", "0000-00-00",
         "0000-00-00 00:00:00", "1970-01-01 00:00:00", "1970-01-01 08:00:00", "1601/1/1 8:00:00"}

_TIME = (r"(?:[ t]*(?P<ampm1>上午|下午|am|pm)?\s*(?P<h>\d{1,2})[:时點点](?P<mi>\d{1,2})"
         r"(?::(?P<s>\d{1,2})(?:[.,](?P<frac>\d{1,9}))?|分(?:(?P<s2>\d{1,2})秒)?)?"
         r"\s*(?P<ampm2>am|pm|上午|下午)?)?")
_TZ = r"\s*(?:z|utc|gmt|[+-]\d{2}:?\d{2})?"
_YMD = re.compile(r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?" + _TIME + _TZ + "$")
_MDY = re.compile(r"^(?P<m>\d{1,2})[/.-](?P<d>\d{1,2})[/.-](?P<y>\d{4})" + _TIME + _TZ + "$")
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:[ T]?(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?)?$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_EPOCH = re.compile(r"^\d{10}(?:\d{3})?(?:\.\d+)?$")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_SPACES = re.compile(r"\s+")
MAX_DATE_CHARS = 64  # the longest form above is about 40 characters


def _norm(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(text))).strip().casefold()


def is_empty(text: object) -> bool:
    return text is None or _norm(str(text)) in EMPTY


def is_never(text: object) -> bool:
    return text is not None and _norm(str(text)) in NEVER


def parse_when(text: object) -> dt.datetime | None:
    """A naive datetime; None for an empty cell; ``BadDate`` when the text is not a date.

    ``NEVER`` words ("从未登录", "Never") also give None: use ``is_never`` to tell them apart."""
    if isinstance(text, dt.datetime):
        return text.replace(tzinfo=None)
    if isinstance(text, dt.date):
        return dt.datetime(text.year, text.month, text.day)
    raw = "" if text is None else str(text)
    if len(raw) > 4 * MAX_DATE_CHARS and len(raw.strip()) > MAX_DATE_CHARS:
        raise BadDate(f"{quote(raw)} is not a date")  # before NFKC, which may copy a huge cell
    s = _norm(raw)
    if len(s) > MAX_DATE_CHARS:
        raise BadDate(f"{quote(raw)} is not a date")
    if s in EMPTY or s in NEVER:
        return None
    try:
        m = _YMD.match(s) or _MDY.match(s)
        if m:
            y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
            if m.re is _MDY and mo > 12 >= d:  # 25/3/2024: day first
                mo, d = d, mo
            return _build(y, mo, d, m["h"], m["mi"], m["s"] or m["s2"], m["frac"], m["ampm1"] or m["ampm2"])
        m = _COMPACT.match(s)
        if m:
            return _build(int(m["y"]), int(m["m"]), int(m["d"]), m["h"], m["mi"], m["s"], None, None)
        if _EPOCH.match(s):
            value = float(s)
            if len(s.split(".")[0]) == 13:
                value /= 1000
            if 9e8 <= value <= 4.2e9:  # 1998 .. 2103
                return dt.datetime.fromtimestamp(value)
        if _SERIAL.match(s):
            days = float(s)
            if 20000 <= days <= 80000:  # 1954 .. 2119
                return _EXCEL_EPOCH + dt.timedelta(days=days)
    except (ValueError, OverflowError, OSError):
        pass
    raise BadDate(f"{quote(raw)} is not a date")


def _build(y: int, mo: int, d: int, h: str | None, mi: str | None, s: str | None, frac: str | None,
           ampm: str | None) -> dt.datetime:
    hour = int(h) if h else 0
    if ampm in ("pm", "下午") and hour < 12:
        hour += 12
    elif ampm in ("am", "上午") and hour == 12:
        hour = 0
    micro = int((frac or "0")[:6].ljust(6, "0"))
    return dt.datetime(y, mo, d, hour, int(mi or 0), int(s or 0), micro)


def parse_day(text: object) -> dt.date | None:
    when = parse_when(text)
    return when.date() if when else None


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    return value.isoformat()
