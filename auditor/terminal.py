"""Text we did not write ourselves, made safe for a terminal: the one home of console escaping.

Process names, file and folder names, account names, host names, paths and the messages that carry them come
from the people the agent audits. On a terminal they are shown, never obeyed:

* **control characters** (C0, DEL, C1: ESC and so every ANSI sequence, CR, LF, TAB, backspace, bell),
  **Unicode format characters** (bidi embeddings/overrides/isolates U+202A–202E and U+2066–2069, marks U+200E/F,
  U+061C, zero-width characters U+200B–200D, U+2060, U+FEFF, soft hyphen, tags) and line/paragraph separators
  (U+2028/9) are written visibly escaped: ``\\n``, ``\\r``, ``\\t``, ``\\x1b``, ``\\u202e``, ``\\U000e0041``;
  undecodable bytes of a POSIX name (lone surrogates from ``surrogateescape``) as ``\\xNN``, as in reports;
* **rich markup** (``a[/]b``, ``[white on white]x.csv``, ``[link=…]``) is never interpreted: outside text reaches
  rich as a :class:`rich.text.Text` (:func:`text`), or escaped with :func:`markup` where it is interpolated into
  our own markup.

* **personal data** in such text (a mobile or an ID number in a file name) is masked as in reports
  (``leakguard.mask_pi``): the terminal and the logs are outputs too.

Backslashes are left as they are (Windows paths stay readable), so an escape in the output may also be a name
that held those characters literally: it is shown, not obeyed, either way.

JSON lines printed on a console or appended to an events file use :func:`json_line`: the same characters as
JSON ``\\uXXXX`` escapes, so the line stays valid JSON with the exact value inside.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import TYPE_CHECKING, Any, TextIO

from .leakguard import mask_pi

if TYPE_CHECKING:  # rich is imported when first used: plain commands start without it
    from rich.text import Text

#: Unicode categories shown escaped: control, format (bidi, zero-width), surrogate, line and paragraph separator
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_unsafe(ch: str) -> bool:
    """A character a terminal would obey or hide rather than show."""
    return unicodedata.category(ch) in UNSAFE_CATEGORIES


def _escape_char(ch: str) -> str:
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(value: Any) -> str:
    """``value`` as text with every unsafe character visibly escaped (see the module text) and personal data
    masked (leakguard: a mobile or ID number in a name is shown as 138******78). Never raises."""
    s = mask_pi(value if isinstance(value, str) else str(value))
    if s.isprintable():  # no control, format, surrogate or separator character (nor other spaces): nothing to do
        return s
    return "".join(_escape_char(ch) if is_unsafe(ch) else ch for ch in s)


def markup(value: Any) -> str:
    """``value`` made visible and escaped for interpolation into a rich markup string of ours."""
    from rich.markup import escape

    return escape(visible(value))


def text(value: Any, style: str = "") -> "Text":
    """``value`` as a rich ``Text`` (never parsed as markup or emoji codes), made visible."""
    from rich.text import Text

    return Text(visible(value), style=style)


def echo(*values: Any, sep: str = " ", end: str = "\n", file: TextIO | None = None, flush: bool = False,
         err: bool = False) -> None:
    """``print`` for lines that carry outside text (a path, a name, an error from the OS): each value is made
    visible, so its own newlines, escapes and bidi controls are shown, not obeyed (``sep`` and ``end`` are
    ours). ``err=True`` writes to stderr."""
    stream = file if file is not None else (sys.stderr if err else sys.stdout)
    print(*(visible(v) for v in values), sep=sep, end=end, file=stream, flush=flush)


def _json_escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_line(record: Any) -> str:
    """``record`` as one line of JSON (UTF-8 text kept readable) in which no character a terminal would obey
    or hide appears raw: ``json.dumps`` already escapes C0 controls; DEL, C1, format characters, separators and
    lone surrogates are escaped here as ``\\uXXXX`` (valid JSON: ``json.loads`` gives the exact value back)."""
    line = json.dumps(record, ensure_ascii=False, default=str)
    if line.isprintable():
        return line
    return "".join(_json_escape_char(ch) if is_unsafe(ch) else ch for ch in line)


__all__ = ["visible", "markup", "text", "echo", "json_line", "is_unsafe", "UNSAFE_CATEGORIES"]
