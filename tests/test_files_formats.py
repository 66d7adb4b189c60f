"""The files area on the kinds of export issue #17 added, through the real CLI: web ".xls" (HTML tables in
several back-office layouts and encodings), "XML Spreadsheet 2003" under .xls and .xml names, saved .htm(l)
pages, PDF label batches (also inside a ZIP), among decoys (an HTML price list, a product-catalogue PDF, a scan,
pages and XML documents without tables), tab-separated text saved as .xls (GBK, UTF-16 with its mark); a real OLE
".xls" still goes to the workbook reader, and a binary or untabbed ".xls" says it is no workbook."""

from __future__ import annotations

import io
import os
import random
import zipfile

import pytest

from conftest import load_report, run_cli
from formatgen import (catalogue_pdf, city_remarks, label_pdf, merged_orders, orders, price_list_html, scanned_pdf,
                       sender_register, web_xls, xml2003)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """{relative path: expected records} of the files that hold people's records, and the numbers written."""
    rng = random.Random(1717)
    root = tmp_path_factory.mktemp("office")
    expected: dict[str, int] = {}
    secrets: list[str] = []

    def put(rel: str, data: bytes, records: int | None = None, rows=None) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if records is not None:
            expected[rel] = records
        secrets.extend(c for r in rows or [] for c in r if c.isdigit() and len(c) in (11, 18))

    rows, n = orders(rng, "taobao", 180)
    put("Desktop/订单导出_20261101.xls", web_xls(rows, style="excel", encoding="gbk"), n, rows)
    rows, n = orders(rng, "erp", 95)
    put("Desktop/聚水潭/发货单.xls", web_xls(rows, style="erp", encoding="gb18030"), n, rows)
    rows, n = orders(rng, "pdd", 60)
    put("Downloads/拼多多订单.htm", web_xls(rows, style="report", encoding="utf-8"), n, rows)
    data, n = merged_orders(rng, 40)
    put("Downloads/订单明细.html", data, n)
    rows, n = sender_register(rng, 70)
    put("Documents/驿站/寄件登记.xls", web_xls(rows, style="report", encoding="gbk"), n, rows)
    rows, n = city_remarks(rng, 120)
    put("Documents/客服/订单备注.xls", web_xls(rows, style="excel", encoding="utf-8"), n, rows)
    rows1, n1 = orders(rng, "douyin", 110)
    rows2, n2 = orders(rng, "jd", 30)
    put("Documents/ERP导出.xls", xml2003({"汇总": [["日期", "单量"], ["2026-11-01", "140"]], "抖音": rows1, "京东": rows2}),
        n1 + n2, rows1 + rows2)
    rows, n = orders(rng, "erp", 50)
    put("Documents/库存系统/出库.xml", xml2003({"出库": rows}, encoding="gbk"), n, rows)
    masked_rows, _ = orders(rng, "taobao", 80, masked=1.0)
    put("Documents/已脱敏.xls", web_xls(masked_rows, style="excel"))  # compliant: no finding
    for layout, masked, name in (("thermal", 0.0, "面单_菜鸟.pdf"), ("a4", 0.0, "面单_A4.pdf"),
                                 ("split", 0.3, "面单_模板.pdf")):
        labels = label_pdf(rng, 45, layout=layout, masked=masked, repeats=6)
        put(f"Desktop/打印/{name}", labels.data, labels.records)
    zipped = label_pdf(rng, 25)
    inner_rows, inner_n = orders(rng, "taobao", 30)
    put("Downloads/批量面单.zip", _zip({"面单/20261101.pdf": zipped.data,
                                       "订单.xls": web_xls(inner_rows, style="erp", encoding="gbk")}))
    expected["Downloads/批量面单.zip!面单/20261101.pdf"] = zipped.records
    expected["Downloads/批量面单.zip!订单.xls"] = inner_n
    rows, n = orders(rng, "pdd", 90)
    put("Downloads/拼多多待发货.xls", _tsv(rows).encode("gbk"), n, rows)  # a back office's TSV under .xls
    rows, n = orders(rng, "erp", 70)
    put("Downloads/ERP发货明细.xls", _tsv([["发货明细 2026-11-01"]] + rows).encode("utf-16"), n, rows)  # BOM, title
    # decoys and things without tables
    put("Documents/报价单.html", price_list_html(rng))
    put("Documents/产品目录.pdf", catalogue_pdf(rng))
    put("Documents/扫描件.pdf", scanned_pdf())
    put("Documents/帮助.html", "<html><body><h1>使用说明</h1><p>联系 13905791234</p></body></html>".encode())
    put("Documents/config.xml", b'<?xml version="1.0"?><config><item key="a">1</item></config>')
    put("Documents/老表格.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000)  # OLE: the workbook reader's
    put("Documents/损坏.xls", bytes(range(256)) * 40)  # binary, no OLE header: still no workbook
    put("Documents/说明.xls", "订单说明\n联系 13905791234 转客服\n".encode("gbk"))  # text without tabs: no TSV
    return root, expected, secrets


def _tsv(rows: list[list[str]]) -> str:
    return "".join("\t".join(r) + "\r\n" for r in rows)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def scanned(tree, tmp_path_factory):
    root, _expected, _secrets = tree
    work = tmp_path_factory.mktemp("run")
    out = work / "report.json"
    res = run_cli("scan", "--only", "files", "--path", str(root), "-q", "-o", str(out), "--full",
                  env={"AUDITOR_STATE_DIR": str(work / "state")}, timeout=600)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-3000:]
    return load_report(out), out, res


def _rel(root, ref: str) -> str:
    return ref.replace(str(root) + os.sep, "").replace(os.sep, "/")


def test_every_new_kind_found_with_its_records(tree, scanned):
    root, expected, _ = tree
    report, _out, _res = scanned
    found = {_rel(root, f["target"]["ref"]): f for f in report["findings"] if f["area"] == "files"}
    assert set(found) == set(expected), set(found) ^ set(expected)
    for rel, records in expected.items():
        assert found[rel]["evidence"]["records"] == records, (rel, found[rel]["evidence"]["records"], records)
    assert found["Documents/驿站/寄件登记.xls"]["check_id"] == "PI-002"  # the senders' ID numbers
    assert [s["name"] for s in found["Documents/ERP导出.xls"]["evidence"]["sheets"]] == ["汇总", "抖音", "京东"]
    assert found["Desktop/订单导出_20261101.xls"]["evidence"]["sheets"][0]["name"] == "订单"  # Excel's <x:Name>


def test_pdf_evidence_pages_masked_share_and_samples(tree, scanned):
    root, _expected, secrets = tree
    report, out, res = scanned
    found = {_rel(root, f["target"]["ref"]): f for f in report["findings"] if f["area"] == "files"}
    a4 = found["Desktop/打印/面单_A4.pdf"]["evidence"]
    assert a4["sheets"][0]["pages"] == (45 + 6 + 3) // 4
    assert a4["kinds"]["mobile"] == "unmasked" and a4["masked_share"] == 0.0
    split = found["Desktop/打印/面单_模板.pdf"]["evidence"]
    assert 0.1 < split["masked_share"] < 0.5
    for f in found.values():
        assert f["evidence"]["samples"] and all("*" in s for s in f["evidence"]["samples"])
    text = out.read_text(encoding="utf-8") + res.stdout + res.stderr
    assert not [s for s in secrets if s in text]


def test_decoys_are_no_findings_and_unreadable_ones_say_why(tree, scanned):
    root, _expected, _ = tree
    report, _out, _res = scanned
    refs = {_rel(root, f["target"]["ref"]) for f in report["findings"]}
    for decoy in ("Documents/报价单.html", "Documents/产品目录.pdf", "Documents/扫描件.pdf", "Documents/帮助.html",
                  "Documents/config.xml", "Documents/已脱敏.xls", "Documents/老表格.xls", "Documents/损坏.xls",
                  "Documents/说明.xls"):
        assert decoy not in refs
    content = next(c for c in report["coverage"] if c["source"] == "files:content")
    reasons = {_rel(root, s["item"]): s["reason"] for s in content["skipped"]}
    assert reasons["Documents/扫描件.pdf"].startswith("no text layer")
    assert "workbook" in reasons["Documents/老表格.xls"]  # an OLE file is still the workbook reader's
    assert "workbook" in reasons["Documents/损坏.xls"] and "workbook" in reasons["Documents/说明.xls"]
    assert not [r for r in reasons if r.endswith((".html", ".htm", "config.xml"))]
