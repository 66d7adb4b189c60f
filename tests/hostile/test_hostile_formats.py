"""The new readers of issue #17 against a local user who plants crafted files where exports lie: web ".xls"
with a million cells or tables nested ten thousand deep, XML spreadsheets with billion-laughs entities, external
entities, broken or endless markup, PDFs whose streams inflate to gigabytes, truncated, encrypted, self-referencing
or deeply nested PDFs (the certificate tables of executables: tests/test_authenticode.py).

Every run is the real CLI in a child bounded in time, its peak RSS measured by the kernel: each file is a
finding or a coverage entry with its reason, never a crash, a hang, unbounded memory or a silent loss."""

from __future__ import annotations

import io
import json
import random
import zlib

import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, NameObject, StreamObject
from reportlab.lib import pdfencrypt

from formatgen import label_pdf
from hostilekit import assert_no_leak, finding_for, limit_memory_mb, mobiles, reason_for, scan_files

pytestmark = pytest.mark.hostile


def _scan(tmp_path, folder):
    run, report, out = scan_files(tmp_path, folder, child=True)  # peak RSS and hangs: a real child
    assert run.peak_rss_mb < limit_memory_mb(), f"peak RSS {run.peak_rss_mb:.0f} MB"
    return run, report, out


# --------------------------------------------------------------------------- web .xls and XML spreadsheets

@pytest.mark.slow  # volume: a million cells in a child
def test_html_with_a_million_cells(tmp_path):
    """A web .xls of one row of a million cells (every tenth a mobile) and a table of a million cells in rows:
    read in bounded memory, the numbers in the over-long row counted, the cut said in the coverage."""
    pool = mobiles(100_000)
    folder = tmp_path / "Desktop"
    folder.mkdir()
    cells = "".join(f"<td>{pool[i // 10]}</td>" if i % 10 == 0 else "<td>x</td>" for i in range(1_000_000))
    (folder / "一行百万格.xls").write_text(f"<html><body><table><tr><td>手机</td></tr><tr>{cells}</tr></table>",
                                         encoding="utf-8")
    rows = "".join("<tr>" + "<td>普通</td>" * 10 + "</tr>" for _ in range(100_000))
    (folder / "百万格.xls").write_text(f"<table>{rows}</table>", encoding="utf-8")
    run, report, out = _scan(tmp_path, folder)
    f = finding_for(report, "一行百万格.xls")
    assert f["evidence"]["records"] == len(pool)
    assert "partly examined" in reason_for(report, "一行百万格.xls")
    assert not [x for x in report["findings"] if x["target"]["ref"].endswith("/百万格.xls")]
    assert_no_leak(pool[:500], out, tmp_path / "state", text=run.output)


@pytest.mark.slow  # volume
def test_tables_nested_ten_thousand_deep_and_endless_markup(tmp_path):
    pool = mobiles(20, seed=3)
    folder = tmp_path / "Downloads"
    folder.mkdir()
    deep = "<table><tr><td>" * 10_000 + "".join(f"<tr><td>张三</td><td>{m}</td></tr>" for m in pool) + "</td></tr></table>" * 10_000
    (folder / "嵌套.xls").write_text(deep, encoding="utf-8")
    (folder / "无尽注释.htm").write_text("<html><table><tr><td>x</td></tr><!--" + "a" * (20 << 20), encoding="utf-8")
    (folder / "无尽标签.html").write_text("<html><table><tr><td " + "a=1 " * (4 << 20), encoding="utf-8")
    (folder / "尖括号.xls").write_text("<html><table><tr><td>" + "<" * (8 << 20) + "</td></tr></table>", encoding="utf-8")
    (folder / "假标签.xls").write_text("<html><table><tr><td>" + "<a" * (4 << 20) + "</td></tr></table>", encoding="utf-8")
    run, report, out = _scan(tmp_path, folder)
    f = finding_for(report, "嵌套.xls")
    assert f["evidence"]["records"] == len(pool)
    assert not [x for x in report["findings"] if not x["target"]["ref"].endswith("嵌套.xls")]
    assert run.seconds < 120
    assert_no_leak(pool, out, tmp_path / "state", text=run.output)


LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + ']>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet><Table><Row><Cell><Data>'
          '&lol9;</Data></Cell></Row></Table></Worksheet></Workbook>')
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet><Table><Row><Cell><Data>&x;'
            '</Data></Cell></Row></Table></Worksheet></Workbook>')


def test_xml_spreadsheets_with_entities_are_refused_and_broken_ones_keep_their_rows(tmp_path):
    pool = mobiles(300, seed=5)
    folder = tmp_path / "Documents"
    folder.mkdir()
    (folder / "笑.xls").write_text(LAUGHS, encoding="utf-8")
    (folder / "外部实体.xml").write_text(EXTERNAL, encoding="utf-8")
    head = ('<?xml version="1.0" encoding="UTF-8"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
            'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"><Table>'
            '<Row><Cell><Data ss:Type="String">收件人</Data></Cell><Cell><Data ss:Type="String">手机</Data></Cell></Row>')
    rows = "".join(f'<Row><Cell><Data ss:Type="String">王{i}</Data></Cell><Cell><Data ss:Type="Number">{m}</Data>'
                   f'</Cell></Row>' for i, m in enumerate(pool))
    (folder / "截断.xml").write_text(head + rows + '<Row><Cell><Data ss:Ty', encoding="utf-8")
    (folder / "乱码.xls").write_text(head + rows[:2000] + "<Row><Cell></Row></Cell>" + rows[2000:], encoding="utf-8")
    deep = head + "<x>" * 100_000 + "</x>" * 100_000 + "</Table></Worksheet></Workbook>"
    (folder / "深.xml").write_text(deep, encoding="utf-8")
    run, report, out = _scan(tmp_path, folder)
    assert "document type declaration" in reason_for(report, "笑.xls")
    assert "document type declaration" in reason_for(report, "外部实体.xml")
    assert "nested more than" in reason_for(report, "深.xml")
    f = finding_for(report, "截断.xml")
    assert f["evidence"]["records"] == len(pool)
    assert "reading stopped: malformed XML" in reason_for(report, "截断.xml")
    g = finding_for(report, "乱码.xls")
    assert 0 < g["evidence"]["records"] < len(pool)
    assert "reading stopped: malformed XML" in reason_for(report, "乱码.xls")
    assert "root:" not in json.dumps(report["findings"], ensure_ascii=False)  # /etc/passwd was never read
    assert_no_leak(pool, out, tmp_path / "state", text=run.output)


# --------------------------------------------------------------------------- PDFs

def _pdf_with_stream(data: bytes, filters: list[str]) -> bytes:
    w = PdfWriter()
    page = w.add_blank_page(200, 200)
    s = StreamObject()
    s._data = data
    s[NameObject("/Filter")] = ArrayObject([NameObject(f) for f in filters]) if len(filters) > 1 else NameObject(filters[0])
    page[NameObject("/Contents")] = w._add_object(s)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _deflate_zeros(size: int) -> bytes:
    comp = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    return b"".join(comp.compress(chunk) for _ in range(size >> 20)) + comp.flush()


@pytest.mark.slow  # volume: decompression bombs in a child
def test_pdf_bombs_truncated_encrypted_and_recursive_pdfs(tmp_path):
    folder = tmp_path / "Desktop"
    folder.mkdir()
    bomb = _deflate_zeros(2 << 30)  # 2 GB of spaces in about 2 MB
    (folder / "炸弹.pdf").write_bytes(_pdf_with_stream(bomb, ["/FlateDecode"]))
    twice = zlib.compress(zlib.compress(b" " * (256 << 20), 9), 9)  # nested filters: 256 MB behind two layers
    (folder / "双层.pdf").write_bytes(_pdf_with_stream(twice, ["/FlateDecode", "/FlateDecode"]))
    labels = label_pdf(random.Random(9), 40)
    (folder / "截断.pdf").write_bytes(labels.data[: len(labels.data) // 3])
    locked = label_pdf(random.Random(10), 20, encrypt=pdfencrypt.StandardEncryption("pw", ownerPassword="o"))
    (folder / "加密.pdf").write_bytes(locked.data)
    nested = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 200_000 + b"]" * 200_000 + \
        b" >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [2 0 R] /Count 1 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    (folder / "嵌套.pdf").write_bytes(nested)
    loop = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [2 0 R 3 0 R]"
            b" /Count 1000000000 >>\nendobj\n3 0 obj\n<< /Type /Pages /Kids [2 0 R] /Count 5 >>\nendobj\n"
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    (folder / "循环.pdf").write_bytes(loop)
    (folder / "good.pdf").write_bytes(label_pdf(random.Random(11), 12).data)
    run, report, out = _scan(tmp_path, folder)
    assert "decompression bomb suspected" in reason_for(report, "炸弹.pdf")
    assert "decompression bomb suspected" in reason_for(report, "双层.pdf")
    assert "corrupt or unreadable PDF" in reason_for(report, "截断.pdf")
    assert "encrypted (password-protected PDF)" in reason_for(report, "加密.pdf")
    for name in ("嵌套.pdf", "循环.pdf"):
        assert reason_for(report, name)  # a reason, whatever pypdf stumbled on: never a crash
    assert finding_for(report, "good.pdf")["evidence"]["records"] == 12  # the scan went on after them
    assert run.seconds < 120
