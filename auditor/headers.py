"""The one normal form of table header text, shared by the files area (checks/pii.toml) and the accounts area
(checks/account-headers.toml): both vocabularies are compared with headers only after this normalisation, so a
header written with full-width letters, spaces, brackets or another case means the same to both."""

from __future__ import annotations

import re
import unicodedata

MAX_HEADER_CHARS = 200  # no header is longer: a bracketed note is looked for only in texts this short
_NOTE = re.compile(r"[(\[（【<《].*?[)\]）】>》]")
_PUNCT = re.compile(r"[\s()（）\[\]【】{}<>《》:：*＊_\-/\\|.,，。;；'\"`~!！?？#·]+")


def norm_header(text: object, *, drop_note: bool = False) -> str:
    """Header text in its normal form: NFKC (full-width letters, digits and brackets become their ASCII
    forms), a byte-order mark dropped, case-folded, then spaces, brackets and punctuation removed
    (``"收货人 【手机】"`` and ``"收货人(手机)"`` are ``"收货人手机"``, ``"ＭＯＢＩＬＥ"`` is ``"mobile"``).

    ``drop_note`` removes a bracketed note first (``"姓名（必填）"`` is ``"姓名"``) unless nothing else is left;
    only in texts of at most ``MAX_HEADER_CHARS`` characters, since the pattern would take time in the square of a
    long cell's length."""
    s = unicodedata.normalize("NFKC", "" if text is None else str(text)).replace("\ufeff", "").strip().casefold()
    if drop_note and len(s) <= MAX_HEADER_CHARS:
        kept = _NOTE.sub("", s)
        s = kept if kept.strip() else s
    return _PUNCT.sub("", s)
