"""Reading tables: encodings, delimiters, and rows that straddle the encoding-detection sample."""

from __future__ import annotations

import csv
import io
import random

import pytest

from auditor.tabular import iter_sheets, read_table
from auditor.textcodec import SAMPLE, is_binary, sniff
from exportgen import export_rows

ENCODINGS = ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le", "utf-16-be"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_large_text_table_reads_back_exactly(tmp_path, encoding, delimiter):
    rows, _ = export_rows(random.Random(1), "erp", 2500)  # well over the 64 KiB sample
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buf.getvalue().encode(encoding)
    assert len(data) > 2 * SAMPLE
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    [sheet] = list(iter_sheets(path))
    assert list(sheet.rows) == rows


def test_encoding_detection_and_binary():
    text = "收件人,手机\n张三,13800000000\n" * 50
    for enc in ENCODINGS:
        raw = text.encode(enc)
        mark, codec = sniff(raw)
        assert raw[len(mark):].decode(codec) == text, enc
        assert not is_binary(raw[:SAMPLE])
    assert is_binary(bytes(range(256)) * 20)


def test_read_table_skips_empty_rows(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("工号,姓名\n\n001,张三\n", encoding="gbk")
    assert read_table(path) == [["工号", "姓名"], ["001", "张三"]]
