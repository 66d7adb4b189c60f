"""Masking personal data the way GB/T 41833 practice does, for the samples we show and for remediation.

Our own samples hide more than the standard's minimum, so a sample can never be turned back into a
person: mobiles keep 3 + 2 digits, ID numbers 3 + 1 characters, names the first character, addresses
the administrative part only."""

from __future__ import annotations

import re

_ROOMISH = re.compile(r"[\d一二三四五六七八九十零〇]+.*$")


def mask_mobile(digits: str) -> str:
    d = re.sub(r"\D", "", digits)[-11:]
    return d[:3] + "*" * 6 + d[-2:] if len(d) == 11 else "*" * len(d)


def mask_id(value: str) -> str:
    v = value.strip()
    return v[:3] + "*" * (len(v) - 4) + v[-1:] if len(v) >= 8 else "*" * len(v)


def mask_name(value: str) -> str:
    v = value.strip()
    if not v:
        return v
    return v[0] + "*" * max(1, len(v) - 1)


def mask_address(value: str, admin_markers: tuple[str, ...] = ("省", "市", "区", "县", "旗", "州")) -> str:
    """Keep province/city/district; hide the street, building and room."""
    v = value.strip()
    cut = 0
    for i, ch in enumerate(v[:20]):
        if ch in admin_markers:
            cut = i + 1
    return (v[:cut] if cut else v[:2]) + "****"


def mask_address_unit(value: str, room: re.Pattern) -> str:
    """Remediation of an address cell (GB/T 41833): hide the building/unit/room part and what follows it,
    keep the province-to-street part the warehouse still needs; unchanged when there is no unit/room part."""
    m = room.search(value)
    return value if m is None else value[: m.start()] + "****"


def mask_text(value: str) -> str:
    return value[:1] + "*" * max(1, len(value) - 1) if value else value
