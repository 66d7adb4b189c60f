"""Text of outside bytes, decoded in one place.

Whatever the agent reads that it did not write and whose encoding nobody declared — a text table, a roster, a
registry export, the console output of ``net user`` or ``schtasks``, a file or ZIP member name, an ANSI registry
string — becomes text here, by one set of rules for the encodings office PCs in China write:

1. a byte-order mark names UTF-8, UTF-16 or UTF-32; the text after a UTF-8 mark is still checked, so a mark put
   blindly in front of GBK text (some export tools do) reads as GBK;
2. NUL bytes on one byte position only: UTF-16 without a mark (little- or big-endian);
3. strict UTF-8 — unless the bytes are GBK that happen to be valid UTF-8: short Chinese texts such as "状态"
   (D7 B4 CC AC) read as Hebrew letters and combining marks in UTF-8, never as the GBK they are;
4. UTF-16 without a mark holding mostly Chinese (few NULs), when it reads as text;
5. GB18030 (a superset of GBK and GB2312: what Chinese Windows writes as "ANSI") when it reads as Chinese text;
6. charset-normalizer among the other encodings of Chinese PCs (Big5, UTF-16, cp1252) last; GB18030 when it
   has no answer.

Console output adds the Windows console code pages (OEM, then ANSI) after UTF-8. Formats defined as UTF-8
(Linux configuration files, desktop entries, units, JSON, TOML) are not sniffed: ``safeio.read_text`` reads them
as UTF-8 with replacement, so a planted NUL pattern cannot make an autostart entry read as UTF-16 and hide it.
"""

from __future__ import annotations

import codecs
import ctypes
import io
import re
import sys
from collections import Counter
from typing import IO

SAMPLE = 64 << 10  # bytes looked at to decide the encoding of a stream
WINDOWS_ANSI = "cp936"  # the ANSI and OEM code page of Chinese Windows (GBK)
# (mark, codec of the text after it); UTF-32 LE before UTF-16 LE, whose mark it starts with
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# the encodings a Chinese PC may have written, for a second reading when the first one made no sense
RETRY_ENCODINGS = ("utf-8-sig", "gb18030", "big5", "utf-16")
_NORMALIZER_CANDIDATES = ["gb18030", "big5", "utf_16", "cp1252"]
_GBK_FAMILY = {"gb2312", "gbk", "gb18030", "hz"}
_WESTERN = {"latin-1", "iso8859-1", "cp1252", "ascii", "iso8859-15"}  # labels HTML templates carry by default
_WIDE = re.compile("[\u0800-\U0010ffff]")  # a character of three UTF-8 bytes or more
# what GBK bytes decoded as UTF-8 by accident turn into, and real text of a Chinese office hardly holds:
# C1 controls, IPA, spacing modifiers, combining marks, Armenian, Hebrew, Arabic, Syriac, Thaana, NKo
_UNLIKELY = re.compile("[\x80-\x9f\u0250-\u036f\u0530-\u07ff]")


def split_bom(data: bytes) -> tuple[bytes, str | None]:
    """(the byte-order mark ``data`` starts with, the codec it names); ``(b"", None)`` without one."""
    for mark, codec in BOMS:
        if data.startswith(mark):
            return mark, codec
    return b"", None


def sniff(sample: bytes) -> tuple[bytes, str]:
    """(byte-order mark, codec of the text after it) from the start of a text; ``sample`` may end inside a
    character."""
    mark, codec = split_bom(sample)
    if codec is not None and codec != "utf-8":
        return mark, codec
    return mark, _guess(sample[len(mark):], final=False)


def sniff_declared(sample: bytes, declared: str | None) -> tuple[bytes, str]:
    """(byte-order mark, codec) of a document that names its own encoding (an HTML ``<meta charset>``, an XML
    declaration). The bytes outrank the label, which export tools copy from a template: a byte-order mark first;
    then text beyond ASCII that is strict UTF-8 (and not GBK by accident) is UTF-8 whatever it declares; then the
    declared encoding when the start of the text decodes under it (the GBK family read as GB18030, its superset;
    a Western single-byte label on Chinese bytes, or a UTF-16/32 label on text readable as ASCII, is ignored);
    otherwise the rules of ``sniff``."""
    mark, codec = split_bom(sample)
    if codec is not None:
        return mark, _guess(sample[len(mark):], final=False) if codec == "utf-8" else codec
    guessed = _guess(sample, final=False)
    if guessed == "utf-8" and not sample.isascii():
        return b"", "utf-8"
    name = _declared_codec(declared)
    if name is None or (name in _WESTERN and guessed not in _WESTERN and guessed != "utf-8"):
        return b"", guessed
    return b"", name if _strict(sample, name, final=False) is not None else guessed


def _declared_codec(label: str | None) -> str | None:
    """The codec a declared encoding label names, or None (unknown, or a UTF-16/32 label: a label the parser
    could read as ASCII cannot be true)."""
    if not label:
        return None
    label = label.strip().strip("'\"").lower()
    try:
        name = codecs.lookup(label.removeprefix("x-")).name  # x-gbk, x-cp936: labels of old web pages
    except (LookupError, ValueError):
        return None
    if name.startswith(("utf-16", "utf-32")) or name in ("utf-8-sig",):
        return "utf-8" if name == "utf-8-sig" else None
    return "gb18030" if name in _GBK_FAMILY else name


def is_binary(sample: bytes) -> bool:
    """Whether the start of a file is binary content rather than text in some encoding."""
    if split_bom(sample)[1] is not None:
        return False
    if sample.count(0) > len(sample) // 20:
        return _utf16_by_nuls(sample) is None and _utf16_guess(sample) is None
    control = sum(1 for b in sample[:4096] if b < 9 or 13 < b < 32)
    return control > len(sample[:4096]) // 20


def open_stream(fh: IO[bytes], codec: str | None = None, errors: str = "replace") -> tuple[io.TextIOWrapper, str]:
    """A binary stream as text (newlines kept as they are) and its codec. Without ``codec`` it is sniffed from
    the first ``SAMPLE`` bytes and the stream is positioned after the byte-order mark (``fh`` must be able to
    seek back that far); with ``codec`` the stream is taken as it is."""
    if codec is None:
        sample = fh.read(SAMPLE)
        mark, codec = sniff(sample)
        fh.seek(len(mark))
    return io.TextIOWrapper(fh, encoding=codec, errors=errors, newline=""), codec


def decode_text(data: bytes) -> str:
    """A whole text held in memory (a registry export, a small input file): undecodable bytes replaced."""
    mark, codec = split_bom(data)
    body = data[len(mark):]
    if codec is None or codec == "utf-8":
        codec = _utf16_by_nuls(body[:SAMPLE])
    if codec is not None and codec != "utf-8":
        return body.decode(codec, "replace")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # guessed from the first bytes UTF-8 refuses: an export can be ASCII for megabytes and GBK after
        codec = _guess(body[exc.start:exc.start + SAMPLE], final=exc.start + SAMPLE >= len(body))
        return body.decode(codec, "replace")
    return _gbk_by_accident(body, text) or text


def decode_short(raw: bytes) -> str | None:
    """A short text without a declared encoding (a name): UTF-8 (unless it is GBK by accident), else GB18030;
    None when it is neither."""
    if raw.isascii():  # what most names are: the same in every encoding tried
        return raw.decode("ascii")
    text = _strict(raw, "utf-8")
    if text is not None:
        return _gbk_by_accident(raw, text) or text
    return _strict(raw, "gb18030")


def decode_name(raw: bytes) -> str:
    """A file-name component (or several joined by separators): undecodable bytes shown as ``\\xNN``."""
    text = decode_short(raw)
    return raw.decode("utf-8", "backslashreplace") if text is None else text


def decode_ansi(raw: bytes) -> str:
    """A string of a Windows "ANSI" source (REGEDIT4 exports): every undecodable byte kept as one character
    (Latin-1)."""
    text = decode_short(raw)
    return raw.decode("latin-1") if text is None else text


def decode_console(data: bytes) -> str:
    """The output of a command: UTF-8 when it is (and not GBK by accident), else the console code pages
    (Windows: OEM, then ANSI; elsewhere those of Chinese Windows), else GB18030; what none decodes is replaced."""
    text = _strict(data, "utf-8")
    if text is not None:
        return _gbk_by_accident(data, text) or text
    pages = _console_pages()
    for codec in (*pages, "gb18030"):
        text = _strict(data, codec)
        if text is not None:
            return text
    return data.decode(pages[0], "replace")


# --------------------------------------------------------------------------- the rules

def _strict(data: bytes, codec: str, final: bool = True) -> str | None:
    """``data`` decoded, or None when it does not decode; with ``final=False`` a character cut at the end is
    no error."""
    try:
        return codecs.getincrementaldecoder(codec)().decode(data, final)
    except (UnicodeDecodeError, LookupError):
        return None


def _guess(sample: bytes, final: bool) -> str:
    """The codec of a text without a byte-order mark (rules 2–6 of the module text)."""
    if not sample:
        return "utf-8"
    codec = _utf16_by_nuls(sample)
    if codec:
        return codec
    text = _strict(sample, "utf-8", final)
    if text is not None:
        return "gb18030" if _gbk_by_accident(sample, text, final) else "utf-8"
    codec = _utf16_guess(sample)
    if codec:
        return codec
    # Chinese Windows writes GBK (GB18030 is its superset): accept it when it decodes and reads as Chinese
    # text; otherwise let charset-normalizer decide among the other candidates
    text = _strict(sample, "gb18030", final)
    if text and _plausible(text) > 0.95:
        return "gb18030"
    return _normalizer_guess(sample)


def _normalizer_guess(sample: bytes) -> str:
    # deferred: charset-normalizer takes ~45 ms to import and only samples no rule above decided need it
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=_NORMALIZER_CANDIDATES).best()
    if best is None:
        return "gb18030"  # decoded with replacement
    codec = best.encoding.lower()
    return "gb18030" if codec in _GBK_FAMILY else codec


def _gbk_by_accident(data: bytes, text: str, final: bool = True) -> str | None:
    """The GB18030 text of ``data`` when its UTF-8 reading ``text`` is GBK that happens to be valid UTF-8:
    only two-byte UTF-8 characters, some of them from scripts an office in China does not write (Hebrew,
    combining marks, …), while the GB18030 reading is common Chinese text. None otherwise."""
    if text.isascii() or _WIDE.search(text) or not _UNLIKELY.search(text):
        return None
    gb = _strict(data, "gb18030", final)
    if gb is None or not all(ord(ch) < 0x80 or _common_chinese(ch) for ch in set(gb)):
        return None
    return gb


def _common_chinese(ch: str) -> bool:
    """A GB2312 symbol or level-1 hanzi (the 3,755 characters common text is made of)."""
    try:
        code = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and code[0] <= 0xD7


def _utf16_by_nuls(sample: bytes) -> str | None:
    """UTF-16 without a mark, told by its NUL bytes: at least a quarter of one byte position is NUL (the high
    byte of ASCII characters), the other position hardly ever, and the text reads as text."""
    n = len(sample) // 2
    if n < 2:
        return None
    low, high = sample[0:2 * n:2].count(0), sample[1:2 * n:2].count(0)
    for codec, nuls, other in (("utf-16-le", high, low), ("utf-16-be", low, high)):
        if nuls * 4 >= n and other * 10 <= nuls:
            text = _strict(sample[:2 * n], codec, final=False)
            if text is not None and _plausible(text) > 0.9:
                return codec
    return None


def _utf16_guess(sample: bytes) -> str | None:
    """UTF-16 without a mark holding few NULs (mostly Chinese): the reading that looks like text."""
    if sample.count(0) < max(1, len(sample) // 20):  # a short sample without any NUL is no UTF-16
        return None
    even = sample[: len(sample) // 2 * 2]
    best, score = None, 0.0
    for codec in ("utf-16-le", "utf-16-be"):
        s = _plausible(even.decode(codec, errors="replace"))
        if s > score:
            best, score = codec, s
    return best if score > 0.9 else None


def _plausible(text: str) -> float:
    """Share of characters that occur in tables: CJK, ASCII printable, whitespace, CJK punctuation."""
    counts = _char_counts(text)  # each distinct character looked at once (a sample holds a few hundred)
    ok = sum(n for ch, n in counts.items() if ch.isprintable() or ch in "\r\n\t") - counts.get("\ufffd", 0)
    odd = sum(n for ch, n in counts.items() if "\ue000" <= ch <= "\uf8ff" or "\u0100" <= ch <= "\u2fff")
    return (ok - 3 * odd) / max(len(text), 1)


def _char_counts(text: str) -> dict[str, int]:
    """How often each character occurs in ``text``: a long text (a table's sample) counted by numpy over its
    code points, ten times faster than a Counter."""
    if len(text) < 4096:
        return Counter(text)
    import numpy as np  # deferred: a long sample is a file's, read where numpy is loaded already (files area)

    points, times = np.unique(np.frombuffer(text.encode("utf-32-le", "surrogatepass"), "<u4"), return_counts=True)
    return dict(zip(map(chr, points.tolist()), times.tolist()))


def _console_pages() -> tuple[str, ...]:
    """The code pages of console output: on Windows the console's (OEM) and the system's (ANSI) code page."""
    if sys.platform != "win32":
        return (WINDOWS_ANSI,)
    pages: list[str] = []
    try:
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        for cp in (kernel32.GetOEMCP(), kernel32.GetACP()):
            if f"cp{cp}" not in pages and _strict(b"", f"cp{cp}") is not None:
                pages.append(f"cp{cp}")
    except (AttributeError, OSError):
        pass
    return tuple(pages) or (WINDOWS_ANSI,)
