"""Column-aware judgement of one table: layouts, masking, headerless files, look-alikes."""

from __future__ import annotations

import random
import zlib

import pytest

from auditor.pii.rules import load_rules
from auditor.files.table_scan import TableAnalyzer
from auditor.textcodec import sniff
from exportgen import LAYOUTS, decoy_rows, export_rows, hex_runs, person


@pytest.fixture(scope="module")
def analyze():
    return TableAnalyzer(load_rules()).analyze


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("masked", [0.0, 0.4, 1.0])
@pytest.mark.parametrize("header", [True, False])
def test_record_counts_exact(analyze, layout, masked, header):
    rng = random.Random(zlib.crc32(f"{layout}|{masked}|{header}".encode()))  # stable across processes
    rows, expected = export_rows(rng, layout, 400, masked=masked, header=header)
    res = analyze(rows)
    assert res.records == expected
    assert res.total_rows == 400
    if masked == 1.0:
        assert res.masked_share == 1.0 and res.records == 0


@pytest.mark.parametrize("kind", ["catalog", "catalog_headerless", "inventory", "bank", "log", "sender_only", "notice"])
def test_look_alikes_hold_no_records(analyze, kind):
    res = analyze(decoy_rows(random.Random(4), kind))
    assert res.records == 0 and res.id_rows == 0


def test_ids_counted_and_masked_ids_recognised(analyze):
    rng = random.Random(8)
    rows, exp = export_rows(rng, "idcard", 50, masked=0.5)
    res = analyze(rows)
    assert res.id_rows == exp and res.kinds["id_number"] == "unmasked"
    assert all("*" in s for s in res.samples)


def test_combined_cell_without_header(analyze):
    rng = random.Random(2)
    rows = []
    for i in range(30):
        p = person(rng)
        rows.append([str(10**15 + i), f"{p.name}，{p.mobile}，{p.address}", "水杯", "19.90"])
    assert analyze(rows).records == 30


def test_phone_forms_and_platform_virtual_numbers(analyze):
    rows = [["收件人", "联系电话"], ["张三", "+86 138 1234 5678"], ["李四", "0086-13912345678"], ["王五", "139-1234-5678"],
            ["赵六", "18400913965-7576"], ["钱七", "138****5678"], ["孙八", "138******78"], ["周九", "0579-85123456"],
            ["吴十", '="13712345678"'], ["郑一", "'15912345678"]]
    res = analyze(rows)
    assert res.records == 5  # three written forms, Excel text wrapper, leading apostrophe
    assert res.masked_rows == 3  # two masked forms + one platform privacy number; the landline is neither


def test_order_numbers_that_pass_the_id_checksum_are_not_ids(analyze):
    """18-digit order numbers in a column without a header: one in a few hundred passes the GB 11643 checks."""
    from auditor.pii.cells import id_valid
    from auditor.pii.rules import load_rules

    rules = load_rules()
    rng = random.Random(1)
    lucky = []
    while len(lucky) < 5:
        n = str(rng.randint(10**17, 10**18 - 1))
        if id_valid(n, rules, allow15=False):
            lucky.append(n)
    rows, _ = export_rows(rng, "english", 40, masked=1.0, header=False)
    for row, number in zip(rows, lucky):
        row[0] = number
    res = analyze(rows)
    assert res.records == 0 and res.id_rows == 0


def test_second_sheet_and_sender_column(analyze):
    rows = [["订单号", "寄件人电话", "收件人手机"]] + [[str(i), "13905790000", f"1381234{i:04d}"] for i in range(10)]
    res = analyze(rows)
    assert res.records == 10
    kinds = {c.header: (c.kind, c.party, c.excluded) for c in res.columns}
    kind, party, excluded = kinds["寄件人电话"]  # the sender's phone, one number on every row: the shop's own
    assert (kind, party) == ("mobile", "sender") and excluded


def test_digit_heavy_gbk_is_gbk():
    rows = ["SF4111805853896,义乌仓,13905790000,李娜,155 9250 2272,浙江省金华市义乌市稠城街道"] * 200
    raw = "\n".join(rows).encode("gbk")
    assert sniff(raw[:65536]) == (b"", "gb18030")


def test_hex_digests_and_guid_columns_hold_no_mobiles(analyze):
    """11 digits inside a longer run of letters and digits (a SHA-256 digest, a GUID) are no phone number, in a
    digest list whose header has a "name" column and in a masked export with a GUID column."""
    rng = random.Random(17)
    digests, guids = hex_runs(rng, 300)
    listing = [["name", "sha256", "size"]] + [[f"file{i}.bin", d, str(i * 37)] for i, d in enumerate(digests)]
    res = analyze(listing)
    assert res.records == 0 and "mobile" not in res.kinds
    rows, expected = export_rows(rng, "taobao", 300, masked=1.0)
    assert expected == 0
    rows[0].append("记录GUID")
    for row, guid in zip(rows[1:], guids):
        row.append(guid)
    res = analyze(rows)
    assert res.records == 0 and res.kinds["mobile"] == "masked"


def test_a_mobile_next_to_chinese_text_or_punctuation_still_counts(analyze):
    rng = random.Random(18)
    forms = ["电话{m}", "{m}（本人）", "联系:{m}", "({m})", "{m}，请放门口", "【{m}】", "tel {m}", "{m}/备用", "#{m}",
             "收件人张三{m}浙江省"]
    rows = [["收件人", "备注"]] + [[person(rng).name, forms[i % len(forms)].format(m=person(rng).mobile)]
                                  for i in range(40)]
    res = analyze(rows)
    assert res.records == 40 and res.kinds["mobile"] == "unmasked"
    glued = [["收件人", "备注"]] + [[person(rng).name, f"SN{person(rng).mobile}A"] for _ in range(40)]
    assert analyze(glued).records == 0  # glued to letters on both sides: a serial, not a phone
