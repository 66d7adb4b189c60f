"""Tables written as markup (issue #17 item 1): the HTML tables and XML Spreadsheet 2003 workbooks that back
offices save as .xls/.htm/.xml, read by auditor.html_tables / auditor.xml_sheets and judged like any table:
layouts, encodings (declared, sniffed, declared wrongly), merged cells, several tables, bounds, broken files."""

from __future__ import annotations

import codecs
import io
import random
import zlib

import pytest

from auditor.pii.rules import load_rules
from auditor.files.table_scan import TableAnalyzer
from auditor.html_tables import html_tables
from auditor.markup_rows import markup_kind
from auditor.table_bounds import MAX_COLUMNS, MAX_LINE
from auditor.tabular import UnreadableTable
from auditor.xml_sheets import MAX_DEPTH, xml_worksheets
from exportgen import LAYOUTS, export_rows, person, write_xlsx
from formatgen import city_remarks, merged_orders, price_list_html, web_xls, xml2003


@pytest.fixture(scope="module")
def analyze():
    return TableAnalyzer(load_rules()).analyze


def _rng(*key) -> random.Random:
    return random.Random(zlib.crc32("|".join(map(str, key)).encode()))


def _read(reader, data: bytes):
    return [(name, list(rows), rows.cuts.notes()) for name, rows in reader(io.BytesIO(data))]


# --------------------------------------------------------------------------- web .xls

@pytest.mark.parametrize("style,encoding,charset", [
    ("excel", "gbk", None),  # Excel's own "Web page", <meta charset=gb2312>
    ("excel", "utf-8", None),
    ("erp", "gb18030", ""),  # no charset at all: sniffed from the bytes
    ("erp", "utf-8-sig", None),  # a UTF-8 byte-order mark
    ("report", "utf-16", None),  # UTF-16 with its mark, as some printing tools write
    ("report", "gbk", "utf-8"),  # declares UTF-8, is GBK: the bytes win
    ("erp", "utf-8", "gb2312"),  # declares gb2312, is UTF-8: the bytes win
])
@pytest.mark.parametrize("layout", ["taobao", "pdd", "erp", "idcard"])
def test_web_xls_layouts_and_encodings(analyze, style, encoding, charset, layout):
    rows, expected = export_rows(_rng(style, encoding, layout), layout, 120, masked=0.25)
    data = web_xls(rows, style=style, encoding=encoding, charset=charset)
    assert markup_kind(data[:8192]) == "html"
    [(name, got, notes)] = _read(html_tables, data)
    assert notes == []
    body = [r for r in got if any(r)]
    if style == "report":  # a title row above the header, a totals row below the data
        assert body[0][0].startswith("订单导出报表") and body[0][1:] == [""] * (len(rows[0]) - 1)
        assert body[-1][0] == "合计"
        body = body[1:-1]
    assert body == rows  # every cell exactly, in its column
    assert name == ("订单" if style == "excel" else "table 1")
    res = analyze(iter(got), name)
    assert res.records == expected and res.total_rows == 120
    assert 0.1 < res.masked_share < 0.4


def test_web_xls_several_tables_each_a_sheet(analyze):
    rng = _rng("two")
    rows, expected = export_rows(rng, "jd", 60)
    summary = [["日期", "订单数", "金额"], ["2026-11-01", "60", "3120.00"]]
    data = web_xls(rows, style="erp", encoding="utf-8", before=summary)
    sheets = _read(html_tables, data)
    assert [s[0] for s in sheets] == ["table 1", "table 2"]
    assert sheets[0][1] == summary
    assert [analyze(iter(s[1])).records for s in sheets] == [0, expected]


def test_rowspan_recipient_over_several_item_rows(analyze):
    data, n = merged_orders(_rng("merged"), 80)
    [(_, got, _)] = _read(html_tables, data)
    assert all(len(r) == 6 for r in got)  # merged cells leave empty cells: the columns stay aligned
    res = analyze(iter(got))
    assert res.records == n
    assert {c.kind for c in res.columns if c.kind} >= {"mobile", "name", "address"}


def test_price_list_is_no_export(analyze):
    sheets = _read(html_tables, price_list_html(_rng("price")))
    assert len(sheets) == 1
    res = analyze(iter(sheets[0][1]))
    assert res.records == 0 and res.id_rows == 0


def test_sheet_names_script_style_and_nested_tables():
    p = person(_rng("nested"))
    doc = ("<html><head><script>var phone='13800000000';</script><style>td{color:red}</style></head><body>"
           "<table><tr><td>收货人</td><td>手机</td><td>详情</td></tr>"
           f"<tr><td>{p.name}</td><td>{p.mobile}</td><td><table><tr><td>内层</td><td>x</td></tr></table>尾</td></tr>"
           "</table></body></html>").encode()
    [(name, got, _)] = _read(html_tables, doc)
    assert got == [["收货人", "手机", "详情"], ["内层", "x"], [p.name, p.mobile, "尾"]]
    assert "13800000000" not in repr(got)


def test_markup_kind_tells_markup_from_other_files(tmp_path):
    xlsx = write_xlsx(tmp_path / "w.xlsx", {"S": [["a"]]}).read_bytes()
    for head in (xlsx[:4096], b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "订单号,手机\r\n1,2".encode("gbk"),
                 b'<?xml version="1.0"?><config><a/></config>', b"%PDF-1.4"):
        assert markup_kind(head) is None
    assert markup_kind(codecs.BOM_UTF16_LE + "<html><table>".encode("utf-16-le")) == "html"
    assert markup_kind(b"\r\n  <!-- exported -->\r\n<TABLE border=1><tr><td>x") == "html"
    assert markup_kind(xml2003({"S": [["a"]]})) == "xml"


# --------------------------------------------------------------------------- XML Spreadsheet 2003

@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "utf-16"])
@pytest.mark.parametrize("layout", ["douyin", "erp", "english"])
def test_xml_spreadsheet_worksheets(analyze, encoding, layout):
    rng = _rng("xml", encoding, layout)
    rows, expected = export_rows(rng, layout, 150, masked=0.2)
    rows2, expected2 = export_rows(rng, "idcard", 12)
    data = xml2003({"汇总": [["日期", "单量"], ["2026-11-01", "150"]], "明细": rows, "实名": rows2}, encoding=encoding)
    assert markup_kind(data[:8192]) == "xml"
    sheets = _read(xml_worksheets, data)
    assert [s[0] for s in sheets] == ["汇总", "明细", "实名"]
    assert sheets[1][1] == rows and sheets[2][1] == rows2  # ss:Index gaps put cells back in their columns
    results = [analyze(iter(s[1]), s[0]) for s in sheets]
    assert [r.records for r in results] == [0, expected, expected2]
    assert results[2].id_rows == expected2


def test_xml_merge_across_and_comments():
    p = person(_rng("merge"))
    doc = ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"><Table>'
           '<Row><Cell ss:MergeAcross="2"><Data ss:Type="String">标题</Data></Cell></Row>'
           f'<Row><Cell><Data ss:Type="String">{p.name}</Data><Comment><Data>备注 13800000000</Data></Comment></Cell>'
           f'<Cell ss:Index="3"><Data ss:Type="Number">{p.mobile}</Data></Cell></Row>'
           '</Table></Worksheet></Workbook>').encode()
    [(name, got, _)] = _read(xml_worksheets, doc)
    assert got == [["标题", "", ""], [p.name, "", p.mobile]]


def test_truncated_xml_keeps_its_rows_and_says_so(analyze):
    rows, _ = export_rows(_rng("trunc"), "taobao", 200)
    data = xml2003({"S": rows})
    cut = data[: len(data) * 2 // 3]
    [(name, got, notes)] = _read(xml_worksheets, cut)
    assert 100 < len(got) < 200 and got[:-1] == rows[:len(got) - 1]  # the row cut in two is examined as far as it goes
    assert notes and notes[0].startswith("reading stopped: malformed XML") and "line" in notes[0]
    assert analyze(iter(got[:-1])).records == len(got) - 2


@pytest.mark.parametrize("doc,reason", [
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;">]>'
     b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">&lol1;</Workbook>', "document type declaration"),
    (b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><Workbook/>', "document type declaration"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet',
     "malformed XML"),
    (b'<?xml version="1.0"?><config xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', "not an XML Spreadsheet"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
     + b"<a>" * (MAX_DEPTH + 5) + b"</a>" * (MAX_DEPTH + 5) + b"</Workbook>", f"nested more than {MAX_DEPTH}"),
])
def test_refused_xml_is_unreadable_with_its_reason(doc, reason):
    with pytest.raises(UnreadableTable, match=reason):
        _read(xml_worksheets, doc)


# --------------------------------------------------------------------------- bounds

def test_wide_and_long_rows_are_bounded_and_still_counted(analyze):
    rng = _rng("wide")
    mobiles = [person(rng).mobile for _ in range(MAX_COLUMNS + 300)]
    wide = "<table><tr><td>手机</td></tr><tr>" + "".join(f"<td>{m}</td>" for m in mobiles) + "</tr></table>"
    [(_, got, notes)] = _read(html_tables, wide.encode())
    assert len(got[1]) == MAX_COLUMNS and got[1][-1].count("|") == 300
    assert "more than 1,024 cells" in notes[0]
    many = (MAX_LINE // 12) + 500  # one row of more than MAX_LINE characters: sent on in pieces, numbers counted
    long_row = ("<table><tr><td>收件人</td><td>手机</td></tr><tr>" + "".join(f"<td>{person(rng).mobile}</td>"
                                                                          for _ in range(many)) + "</tr></table>")
    [res] = [analyze(rows) for _name, rows in html_tables(io.BytesIO(long_row.encode()))]  # read while parsed
    assert res.records == many
    assert any("read in pieces" in n for n in res.notes)


def test_remarks_and_cities_in_a_web_xls(analyze):
    rows, _expected = city_remarks(_rng("city"), 100)
    [(_, got, _)] = _read(html_tables, web_xls(rows, style="report", encoding="gbk"))
    assert got[1:-1] == rows
