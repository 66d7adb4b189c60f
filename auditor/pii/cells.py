"""Classifying one cell: is it a person's mobile, ID number, name, address, landline or tracking number,
and is it masked? Pure functions over the compiled rules."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from .rules import PiiRules

UNMASKED, MASKED = "unmasked", "masked"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_HAN = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")
_WRAP = re.compile(r'^=?"(.*)"$')


def clean(value: str) -> str:
    """Strip Excel text-forcing wrappers (`="..."`, a leading apostrophe) and tab padding."""
    if value and value[0] not in "=\"'" and not value[0].isspace() and not value[-1].isspace():
        return value  # nothing to strip and no wrapper (the common cell, at once)
    v = value.strip().strip("\t")
    m = _WRAP.match(v)
    if m:
        v = m.group(1)
    return v[1:] if v.startswith("'") else v


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of an ID number's first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def id_valid(number: str, rules: PiiRules, allow15: bool) -> bool:
    n = number.upper()
    if n[:2] not in rules.provinces:
        return False
    if len(n) == 18:
        birth = n[6:14]
        try:
            day = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
        except ValueError:
            return False
        if not (1900 <= day.year <= dt.date.today().year):
            return False
        return id_check_char(n[:17]) == n[17]
    if len(n) == 15 and allow15:
        try:
            dt.date(1900 + int(n[6:8]), int(n[8:10]), int(n[10:12]))
        except ValueError:
            return False
        return True
    return False


def mobiles(value: str, rules: PiiRules) -> list[str]:
    """Unmasked real mobiles in a cell (platform virtual numbers with extensions excluded)."""
    if rules.virtual.search(value):
        value = rules.virtual.sub(" ", value)
    out = []
    for m in rules.mobile.finditer(value):
        digits = "".join(m.groups())
        if rules.mobile_full.fullmatch(digits):
            out.append(digits)
    return out


def mobile_status(value: str, rules: PiiRules) -> tuple[str | None, str | None]:
    """(UNMASKED, digits) / (MASKED, text) / (None, None)."""
    found = mobiles(value, rules)
    if found:
        return UNMASKED, found[0]
    if rules.virtual.search(value):
        return MASKED, rules.virtual.search(value).group(0)
    m = rules.masked_mobile.search(value)
    if m:
        return MASKED, m.group(0)
    return None, None


def id_status(value: str, rules: PiiRules, id_column: bool) -> tuple[str | None, str | None]:
    for m in rules.id18.finditer(value):
        if id_valid(m.group(1), rules, allow15=id_column):
            return UNMASKED, m.group(1)
    if id_column:
        m = rules.masked_id.search(value)
        if m:
            return MASKED, m.group(0)
    return None, None


def name_status(value: str, rules: PiiRules) -> str | None:
    v = value.replace(" ", "")
    if not v or len(v) > 6:
        return None
    if any(c in rules.mask_chars and not c.isalpha() for c in v):
        return MASKED if any("\u4e00" <= c <= "\u9fff" for c in v) and len(v) <= 5 else None
    if _HAN.match(v) and (v[0] in rules.surnames or v[:2] in rules.compound):
        return UNMASKED
    return None


def address_status(value: str, rules: PiiRules) -> str | None:
    v = value.replace(" ", "")
    if len(v) < 6 or _letters(rules.admin).isdisjoint(v):  # no character of any admin word: admin == 0
        return None
    admin = sum(1 for a in rules.admin if a in v)
    street = any(s in v for s in rules.street)
    if admin < 2 and not (admin and street):
        return None
    if any(c in rules.mask_chars and not c.isalpha() for c in v):
        return MASKED
    return UNMASKED if rules.room.search(v) else MASKED  # room cut off = de-identified (GB/T 41833)


@lru_cache(maxsize=8)
def _letters(words: tuple[str, ...]) -> frozenset[str]:
    """Every character of ``words``: a text sharing none of them contains none of the words."""
    return frozenset("".join(words))


def landline(value: str, rules: PiiRules) -> bool:
    return bool(rules.landline.search(value))


def tracking(value: str, rules: PiiRules) -> bool:
    return bool(rules.tracking.match(value.replace(" ", "").upper()))
