"""The tables of an HTML document: the "web .xls" that back offices, ERPs and printing tools export (an HTML
table saved as ``.xls``, often GBK with ``<meta charset=gb2312>``), Excel's own "Web page" files and saved
``.htm(l)`` pages. Every ``<table>`` is one sheet (a table inside a cell adds its rows to the sheet around it);
``<th>``/``<td>`` are cells, ``colspan``/``rowspan`` leave empty cells as Excel shows merged ones; script and
style contents, comments and other markup are not text. Sheet names come from Excel's ``<x:Name>``.

Tokenizer: tables need ten tags, so the document is cut into text and tags by one regular expression
(attributes quoted with ``>`` inside them included) as browsers would read it — leniently: unclosed cells and
rows, stray ``<``, unknown tags and broken markup never stop it; character references are the standard
library's ``html.unescape`` (HTML's fixed set: none can be defined, none expands). The standard ``html.parser``
does the same at a tenth of the speed (0.4 MB/s on a table of a million cells, past the scan's bounds). The
text is fed one chunk at a time (auditor.markup_rows); a tag or comment left open at the end of a chunk is held
for the next one, a tag up to TAG_MAX characters (beyond which its ``<`` is text), a comment up to HOLD (beyond
which it is passed over to its end)."""

from __future__ import annotations

import html
import re
from collections import deque
from typing import IO, Iterator

from .markup_rows import MAX_SPAN, TableStream, feeder, open_markup, sheets
from .table_bounds import BoundedRows

HOLD = 1 << 20  # characters of an unfinished comment held for the next chunk
TAG_MAX = 1 << 16  # characters of a tag with its attributes; a longer one is text (its "<" starts no tag)
# a tag: its attributes may hold quoted values (with ">" inside) of up to 4 KB; an unquoted "<" ends the attempt, so
# no attempt scans further than the next "<" (no quadratic time on "<a<a<a...")
_TAG = re.compile(r"""<(/?)([A-Za-z][A-Za-z0-9:_-]{0,40})((?:[^<>"']|"[^"]{0,4096}"|'[^']{0,4096}')*)>""")
_OTHER = re.compile(r"<[!?][^<>]{0,4096}>")  # doctype, conditional markup <![if ...]>, processing instructions
# where a tag may begin: a "<" with a name, reaching a ">" or a quote before any other "<" (what lies before it is
# text, taken in one piece: "<<<<" and "<a<a<a" cost one search, not one step a character)
_START = re.compile(r"""<[A-Za-z/!?][^<>"']*[>"']""")
_SHEET_NAME = re.compile(r"<x:Name>([^<]{1,200})</x:Name>", re.I)
_SPAN = {"colspan": re.compile(r"""colspan\s*=\s*["']?\s*(\d{1,6})""", re.I),
         "rowspan": re.compile(r"""rowspan\s*=\s*["']?\s*(\d{1,6})""", re.I)}
_RAW_END = {"script": re.compile(r"</script\s*>", re.I), "style": re.compile(r"</style\s*>", re.I),
            "--": re.compile(r"--!?>")}
_BREAKS = frozenset({"br", "p", "div", "li"})  # a line inside a cell: the words on either side are kept apart
_CELLS = frozenset({"td", "th"})


def _span(attrs: str, name: str) -> int:
    m = _SPAN[name].search(attrs) if name in attrs.lower() else None
    return max(1, int(m.group(1))) if m else 1


class _Tokenizer:
    def __init__(self, stream: TableStream) -> None:
        self.stream = stream
        self.names: deque[str] = deque()  # Excel's sheet names, in order
        self.buf = ""
        self.raw: str | None = None  # inside <script> or <style>

    def feed(self, chunk: str, final: bool) -> None:
        buf = self.buf + chunk
        pos, n = 0, len(buf)
        text = self._text
        gt = -2  # the next ">" after a "<" that started no tag (-1: none in the buffer), looked up once
        while pos < n:
            if self.raw is not None:  # inside a script, a style or a long comment: not text, not kept
                m = _RAW_END[self.raw].search(buf, pos)
                if m is None:
                    pos = max(pos, n - 16)  # only enough to find the end tag in the next chunk
                    break
                self.raw, pos = None, m.end()
                continue
            lt = buf.find("<", pos)
            if lt < 0:
                end = n
                if not final:  # a character reference cut in two waits for the rest
                    amp = buf.rfind("&", max(pos, n - 32))
                    end = amp if amp >= 0 and ";" not in buf[amp:] else n
                text(buf[pos:end])
                pos = end
                break
            if lt > pos:
                text(buf[pos:lt])
            if buf.startswith("<!--", lt):
                close = _RAW_END["--"].search(buf, lt + 4)
                if close is not None:
                    self._comment(buf, lt + 4, close.start())
                    pos = close.end()
                elif not final and n - lt < HOLD:
                    pos = lt  # wait for the end of the comment
                    break
                else:
                    self.raw, pos = "--", lt + 4  # a comment longer than HOLD: passed over to its end
                continue
            m = _TAG.match(buf, lt, lt + TAG_MAX) or _OTHER.match(buf, lt)
            if m is None:
                if gt != -1 and gt < lt:
                    gt = buf.find(">", lt)
                if not final and n - lt < TAG_MAX and gt < 0:
                    pos = lt  # a tag cut at the end of the chunk: wait for the rest
                    break
                nxt = _START.search(buf, lt + 1)  # a "<" that starts no tag is text, up to where one may start
                if nxt is not None:
                    stop = nxt.start()
                else:
                    stop = n if final else max(lt + 1, buf.rfind("<"))  # the last "<" may begin one in the next chunk
                text(buf[lt:stop])
                pos = stop
                continue
            pos = m.end()
            if m.re is _TAG:
                self._tag(m.group(1) == "/", m.group(2).lower(), m.group(3))
        self.buf = buf[pos:]

    def _text(self, data: str) -> None:
        if data:
            self.stream.text(html.unescape(data) if "&" in data else data)

    def _comment(self, buf: str, start: int, end: int) -> None:
        # Excel's "Web page" files name their sheets in a conditional comment: <x:Name>订单</x:Name>
        if buf.find("x:Name", start, end) >= 0 or buf.find("x:name", start, end) >= 0:
            self.names.extend(_SHEET_NAME.findall(buf, start, end))

    def _tag(self, closing: bool, tag: str, attrs: str) -> None:
        s = self.stream
        if tag in _CELLS:
            if closing:
                s.end_cell()
            else:
                s.begin_cell(colspan=min(_span(attrs, "colspan"), MAX_SPAN), rowspan=_span(attrs, "rowspan"))
        elif tag == "tr":
            s.end_row() if closing else s.begin_row()
        elif tag == "table":
            if closing:
                s.end_table()
            else:
                s.begin_table(self.names.popleft() if self.names and not s.open else "")
        elif tag in _BREAKS:
            s.text(" ")
        elif tag in _RAW_END and not closing and not attrs.rstrip().endswith("/"):
            self.raw = tag


def html_tables(fh: IO[bytes]) -> Iterator[tuple[str, BoundedRows]]:
    """(name, rows) of every table of an HTML document read from ``fh`` (an opened file), while it is parsed."""
    text, _codec = open_markup(fh)
    stream = TableStream()
    tokens = _Tokenizer(stream)
    yield from sheets(stream, feeder(text, tokens.feed, stream, (), str))
