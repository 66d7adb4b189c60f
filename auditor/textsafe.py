"""Report text must be valid Unicode: file names and command lines from a POSIX system may hold bytes that
are not UTF-8 (Python keeps them as lone surrogates, which no UTF-8 writer accepts). They are shown as \\xNN."""

from __future__ import annotations

from typing import Any

from .leakguard import mask_pi, shown


def clean_text(value: Any) -> Any:
    """``value`` with every string's undecodable bytes written as ``\\xNN`` (dicts and lists walked)."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_text(v) for v in value]
    return value


def quote(value: Any, limit: int = 40) -> str:
    """``repr`` of a piece of outside input (a cell, a key, a value) for a coverage note or an error message:
    control characters and bidi overrides escaped, cut to ``limit`` characters, so a hostile file's huge cell
    is never copied into every message about it (masked: a quoted cell is outside text like any other, no
    person in it)."""
    text = "" if value is None else str(value).strip()
    if len(text) <= limit:
        return repr(mask_pi(text))
    # masked over a longer window before the cut, so a number across the cut is never left half visible
    return repr(mask_pi(text[:limit + 24])[:limit]) + f"… ({len(text)} characters)"
