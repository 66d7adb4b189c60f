"""The tables of an HTML document: the "web .xls" that back offices, ERPs and printing tools export (an HTML
table saved as ``.xls``, often GBK with ``<meta charset=gb2312>``), Excel's own "Web page" files and saved
``.htm(l)`` pages. Every ``<table>`` is one sheet (a table inside a cell adds its rows to the sheet around it);
``<th>``/``<td>`` are cells, ``colspan``/``rowspan`` leave empty cells as Excel shows merged ones; script and
style contents are not text. Sheet names come from Excel's ``<x:Name>`` when the file has them.

Parser: the standard library's ``html.parser``, fed one chunk at a time (auditor.markup_rows): it is lenient as
browsers are (unclosed cells and rows, stray tags never stop it), builds no tree (nesting costs nothing), and
knows only HTML's fixed set of character references (no entity can be defined, none expands)."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from typing import IO, Iterator

from .markup_rows import MAX_SPAN, TableStream, feeder, open_markup, sheets
from .table_bounds import BoundedRows

_SHEET_NAME = re.compile(r"<x:Name>([^<]{1,200})</x:Name>", re.I)
_INT = re.compile(r"\s*(\d{1,6})")
_BREAKS = {"br", "p", "div", "li"}  # a line inside a cell: the words on either side are kept apart


def _span(value: str | None) -> int:
    m = _INT.match(value or "")
    n = int(m.group(1)) if m else 1
    return n if n >= 1 else 1


class _Parser(HTMLParser):
    def __init__(self, stream: TableStream) -> None:
        super().__init__(convert_charrefs=True)
        self.stream = stream
        self.names: deque[str] = deque()  # Excel's sheet names, in order
        self.raw: str | None = None  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs) -> None:
        s = self.stream
        if tag in ("script", "style"):
            self.raw = tag
        elif tag == "table":
            s.begin_table(self.names.popleft() if self.names and not s.open else "")
        elif tag == "tr":
            s.begin_row()
        elif tag in ("td", "th"):
            a = dict(attrs)
            s.begin_cell(colspan=min(_span(a.get("colspan")), MAX_SPAN), rowspan=_span(a.get("rowspan")))
        elif tag in _BREAKS:
            s.text(" ")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _BREAKS:
            self.stream.text(" ")

    def handle_endtag(self, tag: str) -> None:
        s = self.stream
        if tag == self.raw:
            self.raw = None
        elif tag == "table":
            s.end_table()
        elif tag == "tr":
            s.end_row()
        elif tag in ("td", "th"):
            s.end_cell()

    def handle_data(self, data: str) -> None:
        if self.raw is None:
            self.stream.text(data)

    def handle_comment(self, data: str) -> None:
        # Excel's "Web page" files name their sheets in a conditional comment: <x:Name>订单</x:Name>
        if "x:Name" in data or "x:name" in data:
            self.names.extend(_SHEET_NAME.findall(data))


def html_tables(fh: IO[bytes]) -> Iterator[tuple[str, BoundedRows]]:
    """(name, rows) of every table of an HTML document read from ``fh`` (an opened file), while it is parsed."""
    text, _codec = open_markup(fh)
    stream = TableStream()
    parser = _Parser(stream)

    def parse(chunk: str, final: bool) -> None:
        if final:
            parser.close()
        else:
            parser.feed(chunk)

    yield from sheets(stream, feeder(text, parse, stream, (AssertionError,), lambda exc: "malformed HTML"))
