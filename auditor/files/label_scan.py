"""Judging the text of a PDF label or waybill batch (auditor.pdf_text): how many people's unmasked mobiles or ID
numbers it holds.

A PDF has no columns, so a number counts as a person's only with a person beside it: a name (a token that reads
as a Chinese name, masked or not) or an address on the same line or within WINDOW lines of it on the same page.
The record count is the number of **distinct** people: the same recipient on three labels is one record, and the
numbers of one person are one record: those on one line, and an ID number on a line of its own with the nearest
mobile within ANCHOR lines of it on the page that has no ID number yet (a label's mobile under the recipient's
name and the ID number a few lines further down). An 18-digit number is an ID number only beside an
ID word or a name on its line: elsewhere on a label it is far more often an order number (one random 18-digit
number in a hundred passes the checksum). A number on most pages (at least REPEAT_SHARE of them, and at
least three) is the sender's own (the shop's number printed on every label), and numbers that run in sequence or
share a long prefix are product codes (a product catalogue), as in tables. Masked labels (``138****5678``,
platform privacy numbers) are counted as masked people, distinct by their masked form.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ..pii import cells
from ..pii.cells import MASKED, UNMASKED
from ..pii.masking import mask_address, mask_id, mask_mobile, mask_name
from ..pii.rules import PiiRules
from .table_scan import ID_WORDS, TableResult, code_like

WINDOW = 2  # lines on either side of a number where its person's name or address may stand
REPEAT_SHARE = 0.5  # a number on at least this share of the pages (and on three or more) is the sender's own
ANCHOR = 6  # lines between an ID number on a line of its own and the mobile of the same label
_TOKENS = re.compile(r"[\s:：,，;；|/()（）\[\]【】<>《》\"'“”]+")
_LABELS = re.compile(r"^(?:收件人|收货人|收件|收方|寄件人|寄件|寄方|姓名|联系人|客户|收|寄)")


class _Finder:
    def __init__(self, rules: PiiRules) -> None:
        self.rules = rules

    def names(self, line: str) -> list[tuple[str, str]]:
        """(status, token) of the tokens of a line that read as a person's name."""
        out = []
        for token in _TOKENS.split(line):
            token = _LABELS.sub("", token) if len(token) > 3 else token
            status = cells.name_status(token, self.rules) if token else None
            if status:
                out.append((status, token))
        return out

    def address(self, line: str, following: str = "") -> tuple[str, str] | None:
        """(status, text) of the address on a line: its longest token that reads as one (never the line
        itself, which may hold the name and the number too). An address that wraps onto the next line (the
        room on the second line of a label) is read with that line's first token."""
        best = None
        for token in _TOKENS.split(line):
            status = cells.address_status(token, self.rules) if len(token) >= 6 else None
            if status and (best is None or len(token) > len(best[1])):
                best = (status, token)
        if best and best[0] == MASKED and following and best[1] == _TOKENS.split(line.rstrip())[-1]:
            joined = best[1] + _TOKENS.split(following.strip())[0]
            if cells.address_status(joined, self.rules) == UNMASKED:
                return UNMASKED, joined
        return best

    def without_waybills(self, line: str) -> str:
        """The line with its waybill numbers blanked (JT8617052539450 holds "86 170 5253 9450")."""
        if not any(c.isalpha() and c.isascii() for c in line):
            return line
        return " ".join(" " if cells.tracking(t, self.rules) else t for t in line.split())

    def ids(self, line: str, named: bool) -> list[str]:
        """ID numbers on a line that holds an ID word or (``named``) a name."""
        if not named and not any(k in line for k in ID_WORDS):
            return []
        return [m.group(1).upper() for m in self.rules.id18.finditer(line)
                if len(m.group(1)) == 18 and cells.id_valid(m.group(1), self.rules, allow15=False)]

    def masked(self, line: str) -> list[str]:
        rules = self.rules
        found = [m.group(0) for m in rules.masked_mobile.finditer(line)]
        found += [m.group(0) for m in rules.virtual.finditer(line)]
        if any(c in rules.mask_chars for c in line):
            found += [m.group(0) for m in rules.masked_id.finditer(line)]
        return found


class _Parents:
    """Numbers found on one line belong to one person: a union-find over the numbers."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, numbers: list[str]) -> None:
        roots = [self.find(n) for n in numbers]
        for r in roots[1:]:
            self.parent[r] = roots[0]


def judge_pages(texts: list[str], rules: PiiRules, notes: list[str] | None = None) -> TableResult:
    """The people's records in the text of a PDF's pages (one string per page)."""
    finder = _Finder(rules)
    res = TableResult("", total_rows=len(texts), notes=list(notes or []))
    pages_of: dict[str, set[int]] = defaultdict(set)  # number -> pages it is on
    personal: set[str] = set()  # numbers with a person beside them at least once
    lines_of: list[list[str]] = []  # numbers found together on one line
    kind_of: dict[str, str] = {}  # number -> "mobile" | "id_number"
    masked_people: set[str] = set()
    name_seen: dict[str, str] = {}
    address_seen: dict[str, str] = {}
    for page_no, text in enumerate(texts):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        names = [finder.names(line) for line in lines]
        addresses = [finder.address(line, lines[i + 1] if i + 1 < len(lines) else "") for i, line in enumerate(lines)]
        lone_ids: list[tuple[int, str]] = []  # (line, ID number) on lines without a mobile
        mobiles_at: list[tuple[int, str]] = []  # (line, mobile) on lines without an ID number
        for i, line in enumerate(lines):
            if not rules.candidate.search(line) and not any(c in rules.mask_chars for c in line):
                continue
            near = range(max(0, i - WINDOW), min(len(lines), i + WINDOW + 1))
            beside = [n for j in near for n in names[j]] + [a for j in near for a in [addresses[j]] if a]
            bare = finder.without_waybills(line)
            numbers = [(d, "mobile") for d in cells.mobiles(bare, rules)] + \
                [(n, "id_number") for n in finder.ids(bare, bool(names[i]))]
            for number, kind in numbers:
                pages_of[number].add(page_no)
                kind_of[number] = kind
                if beside:
                    personal.add(number)
            if numbers:
                lines_of.append([n for n, _ in numbers])
                kinds = {k for _, k in numbers}
                if kinds == {"id_number"}:
                    lone_ids += [(i, n) for n, _ in numbers]
                elif kinds == {"mobile"}:
                    mobiles_at += [(i, n) for n, _ in numbers]
            if beside:
                for status, token in (n for j in near for n in names[j]):
                    name_seen.setdefault(status, token)
                for status, token in (a for j in near for a in [addresses[j]] if a):
                    address_seen.setdefault(status, token)
                if not numbers:
                    masked_people.update(finder.masked(line))
        lines_of += _pair_ids(lone_ids, mobiles_at)
    pages = max(len(texts), 1)
    shop = {n for n, on in pages_of.items() if len(on) >= 3 and len(on) >= REPEAT_SHARE * pages}
    people = {n for n in personal if n not in shop}
    mobiles = [n for n in people if kind_of[n] == "mobile"]
    if code_like(mobiles):
        people -= set(mobiles)  # product codes that look like mobiles, not people
    groups = _Parents()
    for numbers in lines_of:
        kept = [n for n in numbers if n in people]
        if kept:
            groups.union(kept)
    roots = {groups.find(n) for n in people}
    id_roots = {groups.find(n) for n in people if kind_of[n] == "id_number"}
    res.records, res.id_rows, res.masked_rows = len(roots), len(id_roots), len(masked_people)
    _kinds_and_samples(res, people, kind_of, masked_people, name_seen, address_seen)
    return res


def _pair_ids(ids: list[tuple[int, str]], mobiles: list[tuple[int, str]]) -> list[list[str]]:
    """[ID number, mobile] of one label: each ID number on a line of its own with the nearest mobile within ANCHOR
    lines (above it on a tie) not yet paired."""
    pairs, taken = [], set()
    for line, number in ids:
        near = [(abs(at - line), at > line, at, m) for at, m in mobiles if abs(at - line) <= ANCHOR and at not in taken]
        if near:
            _, _, at, mobile = min(near)
            taken.add(at)
            pairs.append([number, mobile])
    return pairs


def _kinds_and_samples(res: TableResult, people: set[str], kind_of: dict[str, str], masked: set[str],
                       names: dict[str, str], addresses: dict[str, str]) -> None:
    ids = sorted(n for n in people if kind_of[n] == "id_number")
    mobiles = sorted(n for n in people if kind_of[n] == "mobile")
    if ids:
        res.kinds["id_number"] = UNMASKED
    if mobiles:
        res.kinds["mobile"] = UNMASKED
    elif masked:
        res.kinds["mobile"] = MASKED
    for kind, seen in (("name", names), ("address", addresses)):
        if UNMASKED in seen:
            res.kinds[kind] = UNMASKED
        elif MASKED in seen:
            res.kinds[kind] = MASKED
    samples = [mask_id(ids[0])] if ids else []
    samples += [mask_mobile(mobiles[0])] if mobiles else []
    if people and UNMASKED in names:
        samples.append(mask_name(names[UNMASKED]))
    if people and UNMASKED in addresses:
        samples.append(mask_address(addresses[UNMASKED]))
    res.samples = samples[:3]
