"""Realistic files of the kinds issue #17 found missing (synthetic people only, built on tests/exportgen.py):
web ".xls" (HTML tables as Chinese back offices, ERPs and printing tools write them, in several layouts and
encodings), "XML Spreadsheet 2003" workbooks, PDF label batches made with a real PDF writer (reportlab), the
real-name sender registers of courier outlets (驿站), and the decoys that look like them (a product catalogue
PDF, an HTML price list, city/district and short-word remark columns).

Every writer returns the file's bytes and, where it holds people, the number of records the agent must count."""

from __future__ import annotations

import html
import io
import random
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from exportgen import MOBILE_PREFIX, export_rows, mask_mobile, mask_name, person, tracking

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # Adobe's CID font for GB text (not embedded, as tools do)

# --------------------------------------------------------------------------- web ".xls" (HTML tables)

EXCEL_HEAD = """<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel"
xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv=Content-Type content="text/html; charset={charset}">
<meta name=ProgId content=Excel.Sheet>
<meta name=Generator content="Microsoft Excel 15">
<style>
<!--table {{mso-displayed-decimal-separator:"\\.";}}
.xl65 {{mso-number-format:"\\@";}}
-->
</style>
<!--[if gte mso 9]><xml>
 <x:ExcelWorkbook><x:ExcelWorksheets>{names}</x:ExcelWorksheets></x:ExcelWorkbook>
</xml><![endif]-->
</head>
<body link=blue vlink=purple>
"""


def _cell(value: str, tag: str = "td", attrs: str = "") -> str:
    return f"<{tag}{attrs}>{html.escape(value, quote=False)}</{tag}>"


def html_table(rows: list[list[str]], style: str) -> str:
    """One table in the markup a given kind of exporter writes."""
    if style == "excel":  # Excel's "Web page": classes, x:str, every number as text
        body = "".join("<tr height=18>" + "".join(_cell(c, attrs=" class=xl65 x:str") for c in r) + "</tr>\n"
                       for r in rows)
        return f"<table border=0 cellpadding=0 cellspacing=0 style='border-collapse:collapse'>\n{body}</table>\n"
    if style == "erp":  # a bare table, no closing tags for cells and rows (as many ERP templates write)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c, quote=False)}" for c in r) + "\n" for r in rows)
        return f"<table border=1>\n{body}</table>\n"
    if style == "report":  # a title over the columns, <th> header, a totals row
        width = len(rows[0])
        title = f"<tr><td colspan={width} align=center><b>订单导出报表 2026-11-01</b></td></tr>\n"
        head = "<tr>" + "".join(_cell(c, "th") for c in rows[0]) + "</tr>\n"
        body = "".join("<tr>" + "".join(_cell(c) for c in r) + "</tr>\n" for r in rows[1:])
        total = f"<tr><td>合计</td><td colspan={width - 1}>{len(rows) - 1} 单</td></tr>\n"
        return f"<table border=1 cellspacing=0>\n<thead>{title}{head}</thead><tbody>\n{body}{total}</tbody></table>\n"
    raise ValueError(style)


def web_xls(rows: list[list[str]], style: str = "excel", encoding: str = "gbk", charset: str | None = None,
            sheet: str = "订单", before: list[list[str]] | None = None) -> bytes:
    """An HTML document holding ``rows`` as a table (after an optional summary table ``before``), as a back office
    saves it under .xls. ``charset`` is what the page declares (default: the encoding's usual label; "" none)."""
    label = {"gbk": "gb2312", "gb18030": "gb2312", "utf-8": "utf-8", "utf-8-sig": "utf-8",
             "utf-16": "unicode", "big5": "big5"}.get(encoding, encoding) if charset is None else charset
    tables = (html_table(before, "erp") if before else "") + html_table(rows, style)
    if style == "excel":
        names = "".join(f"<x:ExcelWorksheet><x:Name>{sheet}</x:Name></x:ExcelWorksheet>" for _ in [0])
        doc = EXCEL_HEAD.format(charset=label, names=names) + tables + "</body>\n</html>\n"
    elif style == "erp":
        meta = f'<meta http-equiv="Content-Type" content="application/vnd.ms-excel; charset={label}">' if label else ""
        doc = f"{meta}\n{tables}"  # no <html>: many ERPs write the table alone
    else:
        meta = f'<meta charset="{label}">' if label else ""
        doc = f"<!DOCTYPE html>\n<html><head>{meta}<title>导出</title></head><body>\n{tables}</body></html>\n"
    return doc.encode(encoding)


def merged_orders(rng: random.Random, n: int) -> tuple[bytes, int]:
    """A web .xls where an order of several items takes several rows and the recipient's cells span them
    (rowspan), as order-detail exports print them. Records: the recipients."""
    head = ["订单号", "收货人", "手机", "收货地址", "商品", "数量"]
    parts = ["<html><head><meta charset=utf-8></head><body><table border=1>",
             "<tr>" + "".join(_cell(h, "th") for h in head) + "</tr>"]
    for _ in range(n):
        p = person(rng)
        items = rng.randint(1, 3)
        span = f" rowspan={items}" if items > 1 else ""
        first = ([_cell(str(rng.randint(10 ** 17, 10 ** 18 - 1)), attrs=span), _cell(p.name, attrs=span),
                  _cell(p.mobile, attrs=span), _cell(p.address, attrs=span)])
        for k in range(items):
            item = [_cell(rng.choice(["保温杯", "数据线", "手机壳"])), _cell(str(rng.randint(1, 5)))]
            parts.append("<tr>" + "".join((first if k == 0 else []) + item) + "</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts).encode("utf-8"), n


def price_list_html(rng: random.Random, n: int = 150) -> bytes:
    """Decoy: a supplier's HTML price list: product codes that look like mobiles (sequential), barcodes, prices,
    and one contact line."""
    base = rng.choice(MOBILE_PREFIX) + "0000"
    rows = [["商品编码", "品名", "规格", "条码", "批发价", "零售价"]]
    rows += [[f"{base}{i:04d}", rng.choice(["不锈钢保温杯", "儿童书包", "数据线", "雨伞"]), f"{rng.randint(1, 24)}只/箱",
              f"69{rng.randint(10 ** 10, 10 ** 11 - 1)}", f"{rng.randint(5, 90)}.00", f"{rng.randint(10, 199)}.00"]
             for i in range(n)]
    contact = "<p>业务联系：王经理 13905791234　地址：浙江省金华市义乌市国际商贸城二区</p>"
    return (f"<html><head><meta charset=gbk><title>2026年报价单</title></head><body><h1>2026年报价单</h1>{contact}"
            + html_table(rows, "report") + "</body></html>").encode("gbk")


# --------------------------------------------------------------------------- XML Spreadsheet 2003

def xml2003(sheets: dict[str, list[list[str]]], encoding: str = "utf-8", gaps: bool = True,
            numbers: bool = True) -> bytes:
    """An "XML Spreadsheet 2003" workbook as ERPs write it: styles, one <Worksheet> per sheet, mobiles as
    Number cells, empty cells left out with ss:Index on the next one (``gaps``)."""
    label = {"gbk": "gb2312", "gb18030": "gb2312"}.get(encoding, encoding)
    out = [f'<?xml version="1.0" encoding="{label}"?>', '<?mso-application progid="Excel.Sheet"?>',
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:o="urn:schemas-microsoft-com:office:office"'
           ' xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"'
           ' xmlns:html="http://www.w3.org/TR/REC-html40">',
           ' <DocumentProperties xmlns="urn:schemas-microsoft-com:office:office"><Author>ERP</Author></DocumentProperties>',
           ' <Styles><Style ss:ID="Default" ss:Name="Normal"><Alignment ss:Vertical="Center"/></Style>'
           '<Style ss:ID="s62"><NumberFormat ss:Format="@"/></Style></Styles>']
    for name, rows in sheets.items():
        width = max((len(r) for r in rows), default=1)
        out.append(f' <Worksheet ss:Name="{html.escape(name)}">')
        out.append(f'  <Table ss:ExpandedColumnCount="{width}" ss:ExpandedRowCount="{len(rows)}" x:FullColumns="1">')
        for row in rows:
            cells, skipped = [], False
            for i, value in enumerate(row):
                if gaps and value == "":
                    skipped = True
                    continue
                index = f' ss:Index="{i + 1}"' if skipped else ""
                skipped = False
                kind = "Number" if numbers and value.isdigit() and len(value) == 11 else "String"
                cells.append(f'<Cell{index} ss:StyleID="s62"><Data ss:Type="{kind}">{html.escape(value, quote=False)}'
                             f'</Data></Cell>')
            out.append("   <Row>" + "".join(cells) + "</Row>")
        out.append("  </Table>")
        out.append('  <WorksheetOptions xmlns="urn:schemas-microsoft-com:office:excel"><Selected/></WorksheetOptions>')
        out.append(" </Worksheet>")
    out.append("</Workbook>")
    return "\n".join(out).encode(encoding)


# --------------------------------------------------------------------------- PDF label batches

@dataclass
class Labels:
    data: bytes
    records: int  # distinct recipients with an unmasked mobile
    pages: int


def _canvas(buf: io.BytesIO, size, encrypt=None):
    return canvas.Canvas(buf, pagesize=size, encrypt=encrypt)


def label_pdf(rng: random.Random, n: int, layout: str = "thermal", masked: float = 0.0, repeats: int = 0,
              encrypt=None) -> Labels:
    """A batch of ``n`` waybill labels (plus ``repeats`` second parcels to recipients already in it) as printing
    tools save it. Layouts: "thermal" (one 100x180 mm label per page, the 菜鸟/拼多多 electronic waybill),
    "a4" (four labels per A4 page), "split" (each field drawn separately at its own position, the way label
    templates place them). ``masked``: share of labels printed masked (``138****5678``, ``张*``)."""
    people = [person(rng) for _ in range(n)]
    parcels = people + [rng.choice(people) for _ in range(repeats)]
    rng.shuffle(parcels)
    hidden = {id(p) for p in people if rng.random() < masked}
    buf = io.BytesIO()
    size = (100 * mm, 180 * mm) if layout in ("thermal", "split") else A4
    c = _canvas(buf, size, encrypt)
    per_page = 4 if layout == "a4" else 1
    shop = ("义乌小商品旗舰店", "0579-85123456", "浙江省金华市义乌市稠城街道工人北路88号")
    for k, p in enumerate(parcels):
        slot = k % per_page
        if slot == 0 and k:
            c.showPage()
        x0, y0 = (20, size[1] - 40 - slot * (size[1] / 4)) if layout == "a4" else (12, size[1] - 30)
        name, mobile = (mask_name(p.name), mask_mobile(p.mobile)) if id(p) in hidden else (p.name, p.mobile)
        address = p.province + p.city + p.district + "****" if id(p) in hidden else p.address
        c.setFont("STSong-Light", 9)
        c.drawString(x0, y0, f"{rng.choice(['圆通速递', '中通快递', '韵达快递'])}  运单号 {tracking(rng)}")
        c.setFont("STSong-Light", 11)
        if layout == "split":
            c.drawString(x0, y0 - 22, "收")
            c.drawString(x0 + 20, y0 - 22, name)
            c.drawString(x0 + 110, y0 - 22, mobile)
            c.drawString(x0 + 20, y0 - 38, address[:16])
            c.drawString(x0 + 20, y0 - 52, address[16:])
        else:
            c.drawString(x0, y0 - 22, f"收件人：{name}  {mobile}")
            c.drawString(x0, y0 - 38, f"收件地址：{address}")
        c.setFont("STSong-Light", 8)
        c.drawString(x0, y0 - 70, f"寄件人：{shop[0]}  {shop[1]}")
        c.drawString(x0, y0 - 82, f"寄件地址：{shop[2]}")
        c.drawString(x0, y0 - 96, f"订单号：{rng.randint(10 ** 17, 10 ** 18 - 1)}  商品：保温杯×{rng.randint(1, 3)}")
    c.showPage()
    c.save()
    pages = (len(parcels) + per_page - 1) // per_page
    return Labels(buf.getvalue(), sum(1 for p in people if id(p) not in hidden), pages)


def catalogue_pdf(rng: random.Random, n: int = 120) -> bytes:
    """Decoy: a product catalogue: product names (some of which read like names), product codes that look like
    mobiles (sequential), prices, and one sales contact."""
    buf = io.BytesIO()
    c = _canvas(buf, A4)
    base = rng.choice(MOBILE_PREFIX) + "0000"
    c.setFont("STSong-Light", 14)
    c.drawString(40, 800, "2026 秋冬产品目录  义乌市好运日用品有限公司")
    c.setFont("STSong-Light", 10)
    c.drawString(40, 780, "联系人：王经理 13905791234  地址：浙江省金华市义乌市国际商贸城二区12街")
    y = 750
    for i in range(n):
        if y < 60:
            c.showPage()
            c.setFont("STSong-Light", 10)
            y = 800
        name = rng.choice(["王老吉凉茶", "李锦记酱油", "张小泉剪刀", "陈克明面条", "保温杯", "收纳盒"])
        c.drawString(40, y, f"{base}{i:04d}   {name}  {rng.randint(6, 48)}件/箱   批发价 {rng.randint(5, 90)}.00 元")
        y -= 18
    c.showPage()
    c.save()
    return buf.getvalue()


def scanned_pdf(pages: int = 3) -> bytes:
    """A "scan": pages of graphics only, no text layer."""
    buf = io.BytesIO()
    c = _canvas(buf, A4)
    for i in range(pages):
        for k in range(40):
            c.rect(40 + (k % 8) * 60, 100 + (k // 8) * 120, 50, 100, fill=(k + i) % 2)
        c.showPage()
    c.save()
    return buf.getvalue()


# --------------------------------------------------------------------------- sender registers and look-alike columns

REGISTER = ["寄件日期", "寄件人", "寄件人证件号码", "寄件人电话", "收件人", "收件人电话", "收件地址", "快递公司", "运单号", "物品", "备注"]


def sender_register(rng: random.Random, n: int) -> tuple[list[list[str]], int]:
    """A courier outlet's (驿站/网点) real-name sender register: every row a walk-in sender with their resident ID
    number and mobile. Records: every row (an unmasked ID number of a person)."""
    rows = [list(REGISTER)]
    for i in range(n):
        s, r = person(rng), person(rng)
        remark = rng.choice(["", "", "易碎", "加急", f"改派 {person(rng).mobile}", "到付"])
        rows.append([f"2026-11-{i % 28 + 1:02d}", s.name, s.id_number, s.mobile, r.name, r.mobile, r.address,
                     rng.choice(["中通", "圆通", "极兔"]), tracking(rng), rng.choice(["衣物", "文件", "食品"]), remark])
    return rows, n


def city_remarks(rng: random.Random, n: int) -> tuple[list[list[str]], int]:
    """An order export whose columns include city and district names, a short-word remark column and a free-text
    remark that sometimes holds a phone: look-alikes of name columns. Records: rows with the recipient's mobile,
    plus rows whose remark holds a mobile when the recipient's is masked."""
    rows = [["订单号", "收货人", "手机", "省份", "城市", "区县", "备注", "买家留言"]]
    expected = 0
    for _ in range(n):
        p = person(rng)
        hide = rng.random() < 0.3
        note = rng.choice(["", "", "请尽快发货", f"联系电话 {person(rng).mobile}", "不要放快递柜"])
        rows.append([str(rng.randint(10 ** 17, 10 ** 18 - 1)), mask_name(p.name) if hide else p.name,
                     mask_mobile(p.mobile) if hide else p.mobile, p.province, p.city, p.district,
                     rng.choice(["普通", "加急", "普通", "易碎", "赠品"]), note])
        expected += 1 if not hide or "联系电话" in note else 0
    return rows, expected


def orders(rng: random.Random, layout: str, n: int, masked: float = 0.0) -> tuple[list[list[str]], int]:
    """Rows of an ordinary export (tests/exportgen.py), for the new containers."""
    return export_rows(rng, layout, n, masked=masked)
