"""Column judgement (issue #17 item 3): a courier outlet's real-name sender register is personal data (ID-number
columns whatever party word stands in the header; sender phones when they vary across rows), the shop's own
sender numbers are not, and city/district columns and short-word remarks are never taken for names while the
phones inside remarks are counted."""

from __future__ import annotations

import os
import random

import pytest

from auditor.pii.rules import load_rules
from auditor.files.table_scan import TableAnalyzer, TableResult
from auditor.pii import cells
from conftest import load_report, run_cli
from exportgen import mask_mobile, person, write_csv, write_xlsx
from formatgen import REGISTER, city_remarks, sender_register


@pytest.fixture(scope="module")
def analyzer():
    return TableAnalyzer(load_rules())


def _columns(res) -> dict[str, object]:
    return {c.header: c for c in res.columns}


def test_sender_register_counts_every_walk_in_sender(analyzer):
    rows, expected = sender_register(random.Random(150), 150)
    res = analyzer.analyze(rows)
    assert res.records == expected and res.id_rows == expected
    cols = _columns(res)
    assert (cols["寄件人证件号码"].kind, cols["寄件人证件号码"].party) == ("id_number", "sender")
    assert (cols["寄件人电话"].kind, cols["寄件人电话"].party, cols["寄件人电话"].excluded) == ("mobile", "sender", None)
    assert cols["寄件人"].kind == "sender"  # a sender's name column stays the sender's
    assert res.kinds["id_number"] == "unmasked"
    assert {"kind": "id_number", "header": "寄件人证件号码", "index": 2, "by": "header", "party": "sender"} in \
        res.column_evidence()["columns"]


def test_sender_only_register_is_still_personal(analyzer):
    """A register that holds nothing but senders (no recipient columns): the IDs and phones are people's."""
    rng = random.Random(7)
    rows = [["日期", "发件人姓名", "发件人身份证号", "发件人手机", "件数"]]
    people = [person(rng) for _ in range(60)]
    rows += [[f"2026-11-{i % 28 + 1:02d}", p.name, p.id_number, p.mobile, "1"] for i, p in enumerate(people)]
    res = analyzer.analyze(rows)
    assert res.records == 60 and res.id_rows == 60


def test_shop_numbers_as_sender_stay_the_shop_s_own(analyzer):
    """An order export whose sender phone is one of the shop's two warehouses, whose recipients are masked, and
    whose shop lines vary across shops: no records."""
    rng = random.Random(11)
    shop = [person(rng).mobile for _ in range(2)]
    lines = [person(rng).mobile for _ in range(40)]
    rows = [["订单号", "寄件人", "寄件人电话", "收件人", "收件人手机", "店铺电话"]]
    for i in range(200):
        p = person(rng)
        rows.append([str(rng.randint(10 ** 17, 10 ** 18 - 1)), "义乌仓", shop[i % 2], p.name[0] + "**",
                     mask_mobile(p.mobile), lines[i % 40]])
    res = analyzer.analyze(rows)
    cols = _columns(res)
    assert cols["寄件人电话"].excluded and cols["寄件人电话"].party == "sender"
    assert cols["店铺电话"].kind == "sender"
    assert res.records == 0 and res.masked_rows == 200


def test_a_short_sender_column_with_a_repeated_number_is_the_shop_s(analyzer):
    rng = random.Random(12)
    shop = person(rng).mobile
    rows = [["发货人电话", "收货人", "收货人手机"]] + [[shop, "王*", mask_mobile(person(rng).mobile)] for _ in range(3)]
    res = analyzer.analyze(rows)
    assert _columns(res)["发货人电话"].excluded and res.records == 0


def test_cities_districts_and_short_remarks_are_not_names(analyzer):
    rows, expected = city_remarks(random.Random(3), 300)
    res = analyzer.analyze(rows)
    cols = _columns(res)
    for header in ("省份", "城市", "区县", "备注", "买家留言"):
        assert cols[header].kind is None, (header, cols[header].kind)
    assert cols["收货人"].kind == "name"
    assert res.records == expected  # the phones in 买家留言 are counted where the recipient's is masked


def test_party_words_beside_regions_and_remarks_name_no_name_column(analyzer):
    """收件人城市 and 客户备注 hold a name word; their values decide, and they are never names."""
    rng = random.Random(5)
    rows = [["收件人", "收件人手机", "收件人城市", "收件人区县", "客户备注"]]
    for _ in range(80):
        p = person(rng)
        rows.append([p.name, p.mobile, p.city, p.district, rng.choice(["普通", "加急", "易碎", f"备用 {person(rng).mobile}"])])
    res = analyzer.analyze(rows)
    cols = _columns(res)
    assert [cols[h].kind for h in ("收件人城市", "收件人区县", "客户备注")] == [None, None, None]
    assert cols["收件人"].kind == "name" and res.records == 80


def test_headerless_place_and_remark_columns(analyzer):
    """Without a header the values decide: places (金华市) and a handful of repeated short words are not names;
    real names are."""
    rng = random.Random(9)
    rows = []
    for _ in range(120):
        p = person(rng)
        rows.append([p.name, p.mobile, p.city, rng.choice(["普通", "加急", "易碎", "赠品", "正常"]), p.address])
    res = analyzer.analyze(rows)
    kinds = [c.kind for c in res.columns]
    assert kinds[0] == "name" and kinds[2] is None and kinds[3] is None
    assert res.records == 120


def test_sender_register_found_by_the_cli(tmp_path):
    """The real scan on a 驿站 register saved as CSV (GBK) and as a workbook: critical ID-number findings with the
    record counts, and the numbers never in the report."""
    rng = random.Random(2026)
    rows, expected = sender_register(rng, 150)
    folder = tmp_path / "驿站"
    write_csv(folder / "寄件实名登记.csv", rows, encoding="gbk")
    senders_only = [[r[i] for i in range(4)] for r in rows]  # date, sender, sender ID, sender phone
    write_xlsx(folder / "寄件登记簿.xlsx", {"11月": senders_only})
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "files", "--path", str(folder), "-q", "-o", str(out),
                  env={"AUDITOR_STATE_DIR": str(tmp_path / "state")})
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    report = load_report(out)
    found = {os.path.basename(f["target"]["ref"]): f for f in report["findings"] if f["area"] == "files"}
    assert set(found) == {"寄件实名登记.csv", "寄件登记簿.xlsx"}
    for f in found.values():
        assert f["check_id"] == "PI-002" and f["severity"] == "critical"
        assert f["evidence"]["records"] == expected
    text = out.read_text(encoding="utf-8")
    assert not [c for r in rows[1:] for c in (r[REGISTER.index("寄件人证件号码")], r[REGISTER.index("寄件人电话")])
                if c in text]


def test_cell_cleaning_and_address_shortcuts_as_defined():
    """clean() returns a cell with nothing to strip at once — the value of its full definition — and
    address_status() returns None at once for text without any admin word's character, which holds no admin
    word (so the full judgement says None too): random cells of wrappers, padding, apostrophes, admin and
    street words."""
    rules = load_rules()

    def clean_by_definition(value: str) -> str:
        v = value.strip().strip("\t")
        m = cells._WRAP.match(v)
        if m:
            v = m.group(1)
        return v[1:] if v.startswith("'") else v

    rng = random.Random(21)
    pieces = ['=', '"', "'", " ", "\t", "\n", "\u3000", "x", "138", "浙江省", "杭州市", "西湖区", "文一路", "88号",
              "3室", "**", "自治区", "社区", "街道", "张三"]
    for _ in range(5000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 7)))
        assert cells.clean(value) == clean_by_definition(value), repr(value)
        v = value.replace(" ", "")
        if len(v) >= 6 and cells._letters(rules.admin).isdisjoint(v):  # the shortcut's case: no admin word in it
            assert not any(a in v for a in rules.admin) and cells.address_status(value, rules) is None


def test_a_kind_column_is_unmasked_from_its_first_unmasked_value(analyzer):
    """The kinds of name and address columns, and the sample, come from the first unmasked value even after
    masked ones (the judgement stops there); a column of masked values only is masked."""
    head = [["收货人", "收货地址", "手机"]]
    masked = [["张*", "浙江省杭州市西湖区****", "138****5678"] for _ in range(20)]
    real = [["李四", "浙江省杭州市西湖区文一路88号3幢201室", "138****5678"]]
    res = TableResult("")
    analyzer.begin(res, head + masked + real + masked)
    assert res.kinds["name"] == "unmasked" and res.kinds["address"] == "unmasked"
    assert "李*" in res.samples
    res = TableResult("")
    analyzer.begin(res, head + masked)
    assert res.kinds["name"] == "masked" and res.kinds["address"] == "masked"
    assert res.samples == []
