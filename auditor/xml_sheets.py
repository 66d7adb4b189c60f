"""The worksheets of an "XML Spreadsheet 2003" document (SpreadsheetML: ``<Workbook xmlns=
"urn:schemas-microsoft-com:office:spreadsheet">``), which ERPs and printing tools write under ``.xls`` and ``.xml``
names: each ``<Worksheet ss:Name>`` with a ``<Table>`` is one sheet, ``<Row>``/``<Cell>``/``<Data>`` its rows,
``ss:Index`` places a cell further right, ``ss:MergeAcross``/``ss:MergeDown`` leave empty cells as Excel shows
merged ones; cell comments are not cell text.

Parser: the standard library's expat, fed one chunk at a time (auditor.markup_rows), hardened the way defusedxml
hardens it: a document type declaration is refused outright (SpreadsheetML never has one), so no entity can be
defined or expanded (billion laughs, quadratic blow-up) and nothing external is ever fetched; elements nested
deeper than MAX_DEPTH are refused. The text is decoded by auditor.textcodec and handed to expat as UTF-8, so a
GBK document (``encoding="gb2312"``, which expat cannot decode itself) reads as well as a UTF-8 one."""

from __future__ import annotations

import re
import xml.parsers.expat as expat
from typing import IO, Iterator

from .markup_rows import MAX_ROWSPAN, MAX_SPAN, TableStream, feeder, open_markup, sheets
from .table_bounds import BoundedRows

MAX_DEPTH = 64  # SpreadsheetML needs 7 (Workbook/Worksheet/Table/Row/Cell/Data/Font)
_INT = re.compile(r"\s*(\d{1,7})\s*$")


class _Refused(Exception):
    """A document the hardened parser will not read (the reason is shown in the coverage)."""


def _int(value: str | None, default: int) -> int:
    m = _INT.match(value or "")
    return int(m.group(1)) if m else default


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


class _Handler:
    def __init__(self, stream: TableStream) -> None:
        self.stream = stream
        self.depth = 0
        self.root_seen = False
        self.sheet_name = ""
        self.comment = 0  # inside a cell's <Comment>: not cell text

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(f"XML nested more than {MAX_DEPTH} levels")
        name = _local(tag)
        if not self.root_seen:
            self.root_seen = True
            if name != "Workbook":
                raise _Refused("not an XML Spreadsheet 2003 workbook")
        a = {_local(k): v for k, v in attrs.items()}
        s = self.stream
        if name == "Worksheet":
            self.sheet_name = a.get("Name", "")[:200]
        elif name == "Table" and not s.open:
            s.begin_table(self.sheet_name)
        elif name == "Row":
            s.begin_row()
        elif name == "Cell":
            s.begin_cell(colspan=1 + min(_int(a.get("MergeAcross"), 0), MAX_SPAN - 1),
                         rowspan=1 + min(_int(a.get("MergeDown"), 0), MAX_ROWSPAN - 1),
                         index=_int(a.get("Index"), 0) or None)
        elif name == "Comment":
            self.comment += 1

    def end(self, tag: str) -> None:
        self.depth -= 1
        name = _local(tag)
        s = self.stream
        if name == "Table":
            s.end_table()
        elif name == "Row":
            s.end_row()
        elif name == "Cell":
            s.end_cell()
        elif name == "Comment":
            self.comment -= 1
        elif name == "Worksheet":
            s.end_table()  # a table left open by a broken sheet ends with it

    def data(self, text: str) -> None:
        if not self.comment:
            self.stream.text(text)


def _refuse(what: str):
    def handler(*_args) -> None:
        raise _Refused(what)

    return handler


def _parser(stream: TableStream):
    p = expat.ParserCreate("UTF-8")  # the text arrives decoded: its declared encoding is not expat's business
    h = _Handler(stream)
    p.buffer_text = True
    p.StartElementHandler = h.start
    p.EndElementHandler = h.end
    p.CharacterDataHandler = h.data
    p.StartDoctypeDeclHandler = _refuse("XML with a document type declaration (entity definitions) refused")
    p.EntityDeclHandler = _refuse("XML entity definition refused")
    p.ExternalEntityRefHandler = _refuse("XML external entity refused")
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return p


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _Refused):
        return str(exc)
    code = getattr(exc, "code", None)
    what = expat.ErrorString(code) if isinstance(code, int) else "not well-formed"
    return f"malformed XML ({what}, line {getattr(exc, 'lineno', '?')})"


def xml_worksheets(fh: IO[bytes]) -> Iterator[tuple[str, BoundedRows]]:
    """(name, rows) of every worksheet of an XML Spreadsheet 2003 document read from ``fh``, while it is parsed."""
    text, _codec = open_markup(fh)
    stream = TableStream()
    parser = _parser(stream)

    def parse(chunk: str, final: bool) -> None:
        parser.Parse(chunk, final)

    yield from sheets(stream, feeder(text, parse, stream, (expat.ExpatError, _Refused), _reason))
