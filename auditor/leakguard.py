"""Personal data in free text: file and folder names, titles, labels, evidence strings, event fields.

The agent must never become the leak. A mobile or an ID number planted in a file name (``张三13812345678.csv``)
would otherwise travel verbatim into every report, the state database and the console. Two layers use the one
function :func:`mask_pi`:

* **at the source**: every path the agent shows goes through ``files.textpath.display_path`` (which masks), and
  :class:`auditor.core.model.Target` masks its ref and label, so derived values — the finding's fingerprint, the state
  keys — are never computed from a raw number (a 16-hex fingerprint of ``…13812345678.csv`` could be reversed
  by trying the 10^8 mobiles of a prefix);
* **at the boundaries** (:func:`scrub`): a finding as it is serialised, the whole report before it is sealed,
  every watch event before it is written: defence in depth for strings no builder thought of (a command line
  that opens such a file, an exception text, a baseline written by an older version).

What is recognised is what the files area's cell rules recognise reliably in text: real mobiles (libphonenumber's
CN ranges, ``+86``, digits grouped with spaces, ``-``, ``_`` or ``.``, full-width digits, invisible characters
between them) and 18-character ID numbers with a real province and birth date (the check character is not
required: a mistyped ID number is still a person's). Over-masking costs only readability, so a platform privacy
number with its extension (``18400913965-7576``) is masked too. A Chinese name is masked when it stands right next
to such a number (``张三13812345678``, ``订单_王小明_13812345678``): a name alone is not told apart from an
ordinary word reliably. Masks are those of the samples: ``138******78``, ``110**************4``, ``张*``.
Masking is idempotent: a masked text holds nothing to mask again."""

from __future__ import annotations

import re
from typing import Any, Callable

from .pii.cells import UNMASKED, id_check_char, id_valid, name_status
from .pii.masking import mask_id, mask_mobile, mask_name
from .errors import PackError
from .pii.rules import PiiRules, load_rules
from .resources import embedded_pack_dir

_HAN_RUN_END = re.compile(r"[\u4e00-\u9fff·]{2,6}$")
_HAN_RUN_START = re.compile(r"^[\u4e00-\u9fff·]{2,6}")
_NAME_GAP = " _-·、,，+.()（）[]【】"  # what may stand between a name and its number in a file name
_HEX = re.compile(r"[0-9a-fA-F]{16,}")
_DIGEST_LENGTHS = frozenset({16, 32, 40, 64, 128})
# In names, letters may touch a number (id110…234.csv) and people group digits with "_" and "." too.
_ID18 = re.compile(r"(?<!\d)(\d{6})[\s\-_.]?(\d{8})[\s\-_.]?(\d{3}[\dXx])(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s\-_.]?)?(1[3-9]\d)[\s\-_.]?(\d{4})[\s\-_.]?(\d{4})(?!\d)")
# Full-width digits and signs (１３８…) read as ASCII, one character for one, so positions stay.
# Invisible format characters (zero-width, bidi controls) between digits read as a space.
_WIDE = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "＋": "+", "－": "-", "Ｘ": "X", "ｘ": "x",
                       "\u3000": " ", "＿": "_", "．": ".",
                       **{c: " " for c in "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069\u200e\u200f"}})


# Every number masked here is written in groups of at least three digits (ASCII or full-width, mixed too): a
# string without three digits in a row cannot hold one, and most strings of a report (keys, labels, reasons)
# skip the rest of the work.
_DIGIT_RUN = re.compile(r"[0-9\uff10-\uff19]{3}")
# An undecodable byte of a file name as it is shown (auditor.textsafe, auditor.textcodec; 0x80-0xFF): \x81
# before 13812345678 must not hide the mobile by making its digits part of a longer number.
_BYTE_SHOWN = re.compile(r"\\x[89a-fA-F][0-9a-fA-F]")


def _rules() -> PiiRules:
    try:
        return load_rules()
    except PackError:  # a site's broken pack: the guard still masks (the command reports the pack error)
        return load_rules(str(embedded_pack_dir("checks")))


def _id_shaped(number: str, rules: PiiRules) -> bool:
    """An ID number's province and birth date; the check character is not required here: a mistyped ID
    number in a file name is still a person's (an order number that happens to look like one is only
    over-masked, which costs nothing)."""
    return id_valid(number[:17] + id_check_char(number[:17]), rules, allow15=False)


def _numbers(text: str, rules: PiiRules) -> list[tuple[int, int, str]]:
    """(start, end, mask) of every unmasked mobile and ID number in ``text``."""
    spans: list[tuple[int, int, str]] = []
    for m in _ID18.finditer(text):
        number = "".join(m.groups())
        if _id_shaped(number, rules):
            spans.append((m.start(), m.end(), mask_id(number)))
    for m in _MOBILE.finditer(text):
        digits = "".join(m.groups())
        if not rules.mobile_full.fullmatch(digits):
            continue
        if any(a < m.end() and m.start() < b for a, b, _ in spans):
            continue  # inside an ID number already found
        spans.append((m.start(), m.end(), mask_mobile(digits)))
    return sorted(spans)


def _name_len(text: str, rules: PiiRules, at_end: bool) -> int:
    """How many characters at the end (or the start) of ``text`` are a person's name (0 when none)."""
    m = (_HAN_RUN_END.search if at_end else _HAN_RUN_START.match)(text)
    if not m:
        return 0
    run = m.group(0)
    for n in ((4, 3, 2) if at_end else (3, 2, 4)):
        if len(run) >= n and name_status(run[-n:] if at_end else run[:n], rules) == UNMASKED:
            return n
    return 0


def mask_pi(text: str) -> str:
    """``text`` with every unmasked mobile and ID number masked, and a name standing next to one."""
    if not isinstance(text, str) or not _DIGIT_RUN.search(text):
        return text
    return _masked(text)


def _masked(text: str) -> str:
    """:func:`mask_pi` of a string that has three digits in a row."""
    rules = _rules()
    seen = text.translate(_WIDE)
    if not rules.candidate.search(seen):
        return text
    spans = _numbers(seen, rules)
    if "\\x" in seen:  # a name's undecodable byte shown as \x81: read again with its hex digits no part of a number
        spans = sorted(set(spans) | set(_numbers(_BYTE_SHOWN.sub(r"\\xzz", seen), rules)))
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end, masked in spans:
        if start < pos:
            continue
        before = text[pos:start]
        gap = len(before) - len(before.rstrip(_NAME_GAP))
        if gap <= 1:
            n = _name_len(before[: len(before) - gap], rules, at_end=True)
            if n:
                cut = len(before) - gap - n
                before = before[:cut] + mask_name(before[cut: cut + n]) + before[cut + n:]
        out += [before, masked]
        pos = end
        after = text[pos:]
        gap = len(after) - len(after.lstrip(_NAME_GAP))
        if gap <= 1:
            n = _name_len(after[gap:], rules, at_end=False)
            if n:
                out.append(after[:gap] + mask_name(after[gap: gap + n]))
                pos += gap + n
    out.append(text[pos:])
    return "".join(out)


def scrub(value: Any, key: str = "") -> Any:
    """``value`` with :func:`mask_pi` applied to every string in it (dict keys too; dicts and lists walked).
    Digests and fingerprints (all hex, 16/32/40/64/128 characters) and a locator's ``path_hex`` are left alone:
    masking would break them, and they are never names."""
    return _walk(value, key, _scrub_text)


def scrub_shown(value: Any) -> Any:
    """:func:`scrub` of ``value`` with every string first made valid text (a file name's undecodable bytes,
    held as lone surrogates, written as ``\\xNN``, as ``auditor.textsafe.clean_text`` writes them): what a
    report carries, in one walk."""
    return _walk(value, "", _shown_text)


def _walk(value: Any, key: str, text: Callable[[str, str], str]) -> Any:
    kind = type(value)
    if kind is str:
        return text(value, key)
    if kind is dict or isinstance(value, dict):
        return {(text(k, "") if type(k) is str else _walk(k, "", text)):
                (text(v, k) if type(v) is str else
                 v if type(v) in _SCALARS else _walk(v, k if type(k) is str else "", text))
                for k, v in value.items()}
    if kind is list or isinstance(value, (list, tuple)):
        return [text(v, key) if type(v) is str else v if type(v) in _SCALARS else _walk(v, key, text)
                for v in value]
    if isinstance(value, str):  # a str subclass
        return text(str(value), key)
    return value


def shown(value: str) -> str:
    """``value`` as valid text: a lone surrogate (an undecodable byte of a file name) written as ``\\xNN``, any
    other (a ``\\ud800`` escape in a JSON file read) as ``\\uXXXX``."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        value = _OTHER_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


_OTHER_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")  # not one of surrogateescape's \udc80-\udcff


def _shown_text(value: str, key: str) -> str:
    if value.isascii() and not _DIGIT_RUN.search(value):  # most of a report: nothing to show otherwise or mask
        return value
    return _scrub_text(shown(value), key)


_SCALARS = frozenset({int, float, bool, type(None)})
# Strings with a run of digits that the masking found clean: a report holds each of them many times (a check's
# title, a finding's digests and paths at the finding and again at the report boundary), and a string found
# clean holds no personal data, so only those are kept (bounded: emptied when full), for the rules they were
# found clean by (other rules, a site's pack read again: emptied).
_CLEAN: set[str] = set()
_CLEAN_MAX = 1 << 16
_clean_by: list[PiiRules | None] = [None]


def _scrub_text(value: str, key: str) -> str:
    if not _DIGIT_RUN.search(value):
        return value
    rules = _rules()
    if rules is not _clean_by[0]:
        _CLEAN.clear()
        _clean_by[0] = rules
    elif value in _CLEAN:
        return value
    if _HEX.fullmatch(value) and (len(value) in _DIGEST_LENGTHS or key == "path_hex"):
        return value
    out = _masked(value)
    if out == value:
        if len(_CLEAN) >= _CLEAN_MAX:
            _CLEAN.clear()
        _CLEAN.add(value)
    return out


def guard_report(report: dict[str, Any], checked: tuple[str, ...] = ()) -> dict[str, Any]:
    """The report-boundary guard: every string of ``report`` made valid text and checked, a raw mobile or ID
    number anywhere masked (:func:`scrub_shown`; in place, before the report is sealed). ``checked``: top-level
    members whose values were checked so already (the findings a scan of this process made, each by
    ``Finding.to_dict``): kept as they are."""
    clean: dict[str, Any] = {}
    for key, value in report.items():
        if key in checked:
            clean[key] = value
        else:
            clean.update(scrub_shown({key: value}))
    report.clear()
    report.update(clean)
    return report
