"""One normal form of header text (auditor.headers) for both vocabularies: the files area's (checks/pii.toml)
and the accounts area's (checks/account-headers.toml) recognise a header the same way however it is spelled."""

from __future__ import annotations

import pytest

from auditor.accounts.inputs import ColumnMap, find_layout, norm, vocab
from auditor.pii import rules as file_rules
from auditor.files import table_scan
from auditor.pii.rules import load_rules
from auditor.headers import MAX_HEADER_CHARS, norm_header

# spellings an export or a roster really carries: full-width letters and brackets, spaces, case, a BOM
SPELLINGS = {
    "mobile": ["mobile", "MOBILE", "Ｍｏｂｉｌｅ", " Mobile ", "【mobile】", "\ufeffmobile", "mo-bile", "MO_BILE"],
    "身份证号": ["身份证号", "身份证 号", "（身份证号）", "【身份证号】", "身份证号：", "身份证号 *", "身份证·号"],
    "employee id": ["Employee ID", "EMPLOYEE_ID", "Ｅｍｐｌｏｙｅｅ　ＩＤ", "employee-id", "employee id:", "(employee id)"],
    "离职日期": ["离职日期", "离职 日期", "【离职日期】", "离职日期：", "*离职日期", "离职/日期"],
}


@pytest.mark.parametrize("word", sorted(SPELLINGS))
def test_one_normal_form_for_every_spelling(word):
    forms = {norm_header(s) for s in SPELLINGS[word]}
    assert forms == {norm_header(word)}, forms
    assert {norm(s) for s in SPELLINGS[word]} == forms  # the accounts form is the same, notes aside


def test_both_areas_use_the_one_normaliser():
    assert file_rules.norm_header is table_scan.norm_header is norm_header
    assert norm("姓名（必填）") == norm_header("姓名（必填）", drop_note=True) == "姓名"
    assert norm_header("姓名（必填）") == "姓名必填"  # the files area keeps what the brackets say
    assert norm("（必填）") == "必填"  # a note that is all there is stays
    long = "名" * (MAX_HEADER_CHARS + 1) + "(x)"
    assert norm(long) == norm_header(long)  # no note looked for in a long cell


@pytest.mark.parametrize("spelling", SPELLINGS["mobile"] + ["收货人（手机）", "收货人 手机", "ＰＨＯＮＥ"])
def test_files_area_recognises_every_spelling(spelling):
    assert table_scan._header_kind(spelling, load_rules()) == "mobile"


@pytest.mark.parametrize("spelling", SPELLINGS["身份证号"])
def test_files_area_recognises_id_columns(spelling):
    assert table_scan._header_kind(spelling, load_rules()) == "id_number"


@pytest.mark.parametrize("emp", SPELLINGS["employee id"])
@pytest.mark.parametrize("leave", SPELLINGS["离职日期"])
def test_accounts_area_recognises_every_spelling(emp, leave):
    voc = vocab()
    layout, _, _ = find_layout([["", ""], [emp, leave]], voc.specs["roster"], ColumnMap({}))
    assert layout is not None and layout.header_row == 2
    assert layout.columns == {"employee_id": 0, "leave_date": 1}
