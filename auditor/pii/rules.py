"""The detection rules of `checks/pii.toml`, compiled once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import PackError
from ..headers import norm_header
from ..packs import load_toml
from ..resources import pack_dir


@dataclass(frozen=True)
class PiiRules:
    headers: dict[str, tuple[str, ...]]
    not_personal: tuple[str, ...]
    sender: tuple[str, ...]
    never_name: tuple[str, ...]  # header words of columns that never hold names (regions, remarks)
    mask_chars: str
    mask_run: re.Pattern
    mobile: re.Pattern  # search: a mobile inside a cell, with optional +86 and separators
    run_chars: str  # a character class body: a mobile is never inside a longer run of these (hex, GUIDs)
    mobile_full: re.Pattern
    virtual: re.Pattern
    masked_mobile: re.Pattern
    id18: re.Pattern
    masked_id: re.Pattern
    landline: re.Pattern
    provinces: frozenset[str]
    surnames: frozenset[str]
    compound: tuple[str, ...]
    admin: tuple[str, ...]
    street: tuple[str, ...]
    room: re.Pattern
    tracking: re.Pattern
    candidate: re.Pattern  # fast pre-filter: anything that may be a mobile or an ID number
    digit_sep: re.Pattern  # a space or dash between two digits
    mobile_line: re.Pattern  # a line (of joined cells, separators removed) holding a real mobile
    masked_line: re.Pattern  # a line holding a masked mobile or a platform privacy number
    min_records: int
    critical_records: int
    spc_sensitive: int
    spc_other: int


def is_finding(counts: dict[str, Any], rules: PiiRules) -> bool:
    """Whether a table's counts make a file finding: any unmasked ID number, or at least ``min_records`` rows
    with an unmasked mobile or ID number."""
    return counts["id_rows"] > 0 or counts["records"] >= rules.min_records


@lru_cache(maxsize=None)
def load_rules(folder: str | None = None) -> PiiRules:
    """The rules of ``pii.toml``; a missing or malformed entry is a pack error naming the file (exit 2)."""
    path = (pack_dir("checks") if folder is None else Path(folder)) / "pii.toml"
    data = load_toml(path)
    try:
        return _rules_of(data)
    except KeyError as exc:
        raise PackError("pack.pii.missing", path=path, name=exc.args[0]) from None
    except (TypeError, ValueError, AttributeError, re.error) as exc:
        raise PackError("pack.pii.malformed", path=path, kind=type(exc).__name__, exc=exc) from None


def _rules_of(data: dict[str, Any]) -> PiiRules:
    h = data["headers"]
    mask = re.escape(data["masking"]["chars"])
    run = int(data["masking"]["min_run"])
    mob = data["mobile"]["pattern"]
    edge = data["mobile"].get("run_chars", r"\d")
    before, after = f"(?<![{edge}])", f"(?![{edge}])"  # a mobile is no part of a longer run (checks/pii.toml)
    return PiiRules(
        headers={k: tuple(norm_header(x) for x in h[k]) for k in
                 ("mobile", "id_number", "name", "address", "tracking", "landline")},
        not_personal=tuple(norm_header(x) for x in h["not_personal"]),
        sender=tuple(norm_header(x) for x in h["sender"]),
        never_name=tuple(norm_header(x) for x in h.get("never_name", [])),
        mask_chars=data["masking"]["chars"],
        mask_run=re.compile(rf"[{mask}]{{{run},}}"),
        mobile=re.compile(before + r"(?:(?:\+|00)?86[\s\-]?)?(1[3-9]\d)[\s\-]?(\d{4})[\s\-]?(\d{4})" + after),
        run_chars=edge,
        mobile_full=re.compile(f"(?:{mob})"),
        virtual=re.compile(rf"{before}{data['mobile']['virtual_pattern']}{after}"),
        masked_mobile=re.compile(rf"(?<!\d)(?:1\d{{0,3}})?[{mask}]{{{run},}}\d{{2,4}}(?!\d)"),
        id18=re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])"),
        masked_id=re.compile(rf"(?<!\d)\d{{1,6}}[{mask}]{{6,}}\d{{0,4}}[\dXx]?(?![\d])"),
        landline=re.compile(r"(?<!\d)(?:[(（]?0\d{2,3}[)）]?[\s\-—]?)\d{7,8}(?!\d)"),
        provinces=frozenset(data["id_number"]["provinces"]),
        surnames=frozenset(data["names"]["surnames"].strip()),
        compound=tuple(data["names"]["compound"]),
        admin=tuple(data["address"]["admin"]),
        street=tuple(data["address"]["street"]),
        room=re.compile(data["address"]["room"]),
        tracking=re.compile("^(?:" + "|".join(data["tracking"]["patterns"]) + ")$"),
        candidate=re.compile(r"1[3-9]\d|\d{15}"),
        digit_sep=re.compile(r"(?<=\d)[ \-](?=\d)"),
        mobile_line=re.compile(rf"(?m)^[^\n]*?{before}(?:(?:\+|00)?86)?(?:{mob}){after}(?![_转]\d)"),
        masked_line=re.compile(rf"(?m)^[^\n]*?(?:(?<!\d)(?:1\d{{0,3}})?[{mask}]{{{run},}}\d{{2,4}}(?!\d)|"
                               rf"{before}{data['mobile']['virtual_pattern']}{after})"),
        min_records=int(data["thresholds"]["min_records"]),
        critical_records=int(data["thresholds"]["critical_records"]),
        spc_sensitive=int(data["thresholds"]["spc_sensitive_items"]),
        spc_other=int(data["thresholds"]["spc_other_items"]),
    )
