"""The workbook kernel (auditor.files.kernel.sheetscan: fastexcel's Arrow columns judged in vectorised byte
operations) against the reference (python-calamine rows + auditor.files.table_scan): the same findings and
counts on generated workbooks — every layout, mobiles stored as numbers or as text, masking levels, decoys,
irregular cells, several sheets, and the cells fastexcel writes otherwise than the reference (booleans, dates,
tiny and huge numbers, whitespace) — compared field by field as tests/test_files_kernel.py compares text
tables. Where a case must be judged by the kernel itself (not handed back to the reference) the test says so."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from conftest import quick_subset

from auditor.files.file_scan import FileScanner
from auditor.files.kernel.grid import Unsupported
from auditor.files.kernel.scanner import KernelScanner
from auditor.pii.rules import load_rules
from exportgen import LAYOUTS, decoy_rows, export_rows, person, write_xlsx
from test_files_kernel import _irregular_rows, _result

pytest.importorskip("fastexcel")

ROWS = 9_000  # past the first rows (310) and one full batch (8,192)


@pytest.fixture(scope="module")
def scanners():
    rules = load_rules()
    return FileScanner(rules), KernelScanner(rules)


def _same(scanners, path: Path, kernel_path: bool = True) -> list[dict]:
    """The kernel scanner's outcome equals the reference's; ``kernel_path``: the kernel judged the workbook
    itself (True), handed it to the reference (False), or either (None)."""
    reference, kernel = scanners
    want = [_result(o) for o in reference.scan(path)]
    got = [_result(o) for o in kernel.scan(path)]
    assert got == want, path.name
    if kernel_path is not None:
        with path.open("rb") as fh:
            try:
                kernel.workbooks.read(fh)
                took = True
            except Unsupported:
                took = False
        assert took == kernel_path, path.name
    return want


@pytest.mark.parametrize("layout", quick_subset(sorted(LAYOUTS)))
@pytest.mark.parametrize("numbers", quick_subset([True, False]))
def test_every_layout(tmp_path, scanners, layout, numbers):
    rows, expected = export_rows(random.Random(f"{layout}{numbers}"), layout, ROWS)
    got = _same(scanners, write_xlsx(tmp_path / f"{layout}.xlsx", {"订单": rows}, numbers=numbers), kernel_path=None)
    assert got[0]["summary"]["records"] == expected


@pytest.mark.parametrize("layout", quick_subset(["taobao", "douyin", "pdd", "english"]))
def test_mobile_exports_are_judged_by_the_kernel(tmp_path, scanners, layout):
    rows, expected = export_rows(random.Random(layout), layout, ROWS)
    got = _same(scanners, write_xlsx(tmp_path / f"{layout}.xlsx", {"订单": rows}))
    assert got[0]["summary"]["records"] == expected


MASKING = quick_subset([("taobao", 0.01), ("taobao", 0.5), ("taobao", 1.0), ("pdd", 0.3),
                     ("idcard", 0.3), ("english", 0.5)])


@pytest.mark.parametrize("layout, masked", MASKING)
def test_masking_levels(tmp_path, scanners, layout, masked):
    rows, expected = export_rows(random.Random(f"{layout}{masked}"), layout, ROWS, masked=masked)
    got = _same(scanners, write_xlsx(tmp_path / "m.xlsx", {"s": rows}), kernel_path=None)
    assert got[0]["summary"]["records"] == expected


@pytest.mark.parametrize("kind", ["catalog", "catalog_headerless", "inventory", "bank", "log", "sender_only"])
def test_decoys(tmp_path, scanners, kind):
    rows = decoy_rows(random.Random(kind), kind, ROWS)
    got = _same(scanners, write_xlsx(tmp_path / f"{kind}.xlsx", {"s": rows}), kernel_path=None)
    assert got[0]["summary"]["records"] == 0


@pytest.mark.parametrize("seed", quick_subset(range(2)))
def test_irregular_cells(tmp_path, scanners, seed):
    """Spaced, +86, masked, half-masked and worded numbers, line breaks and quotes in cells, empty and total
    rows, short and long rows (a workbook pads them), ID numbers with x and invalid checksums."""
    rows = _irregular_rows(random.Random(seed), ROWS)
    _same(scanners, write_xlsx(tmp_path / "odd.xlsx", {"s": rows}), kernel_path=None)


def test_several_sheets_and_layout_quirks(tmp_path, scanners):
    """Several sheets (one empty, one of a header only), cells with surrounding whitespace of every kind
    str.strip removes, and a table starting below and right of A1."""
    import xlsxwriter

    rng = random.Random(7)
    rows, _ = export_rows(rng, "jd", ROWS)
    path = tmp_path / "quirks.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("偏移")
    spaces = [" ", "\u3000", "\u00a0", "\t", "\u2003", "\u202f", ""]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            pad = spaces[(r + c) % len(spaces)]
            ws.write_string(r + 3, c + 2, pad + value + spaces[(r * 3 + c) % len(spaces)])
    wb.add_worksheet("空")
    wb.add_worksheet("表头").write_row(0, 0, ["收件人", "手机"])
    small = wb.add_worksheet("小")
    for r, row in enumerate(export_rows(rng, "taobao", 40)[0]):
        small.write_row(r, 0, row)
    wb.close()
    got = _same(scanners, path)
    assert [t["sheet"] for t in got[0]["tables"]] == ["偏移", "空", "表头", "小"]
    assert got[0]["tables"][0]["records"] == ROWS


def test_cells_fastexcel_writes_otherwise(tmp_path, scanners):
    """Booleans, dates, times, tiny and huge numbers in the first rows and in a mobile column; ID numbers
    stored as numbers (a float's 18 digits); formulas and merged cells."""
    import xlsxwriter

    rng = random.Random(11)
    path = tmp_path / "types.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    date = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    ws = wb.add_worksheet("混合")
    ws.write_row(0, 0, ["收件人", "手机", "下单时间", "已付款", "金额", "备注"])
    for r in range(1, ROWS):
        p = person(rng)
        ws.write_string(r, 0, p.name)
        if r % 97 == 0:
            ws.write_boolean(r, 1, True)
        elif r % 89 == 0:
            ws.write_number(r, 1, 1.5e-7)
        else:
            ws.write_number(r, 1, int(p.mobile))
        ws.write_datetime(r, 2, dt.datetime(2026, 10, 1 + r % 28, r % 24, r % 60), date)
        ws.write_boolean(r, 3, r % 2 == 0)
        ws.write_number(r, 4, r * 1.25 if r % 50 else 3.3e17)
        ws.write_formula(r, 5, f"=A{r + 1}&\"\"", None, p.name)
    ws.merge_range(ROWS, 0, ROWS, 3, "合计")
    ids = wb.add_worksheet("证件")
    ids.write_row(0, 0, ["姓名", "身份证号码"])
    for r in range(1, 2_000):
        p = person(rng)
        if r % 7 == 0:
            ids.write_number(r, 1, int(p.id_number[:17] + "0"))  # an ID stored as a number: 17 significant digits
        else:
            ids.write_string(r, 1, p.id_number)
        ids.write_string(r, 0, p.name)
    wb.close()
    _same(scanners, path, kernel_path=None)


def test_a_sheet_of_booleans_in_the_first_rows_reads_as_the_reference(tmp_path, scanners):
    import xlsxwriter

    path = tmp_path / "bools.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("s")
    ws.write_row(0, 0, ["姓名", "手机", "true"])
    rng = random.Random(3)
    for r in range(1, 500):
        ws.write_string(r, 0, person(rng).name)
        ws.write_string(r, 1, person(rng).mobile)
        ws.write_boolean(r, 2, bool(r % 2))
    wb.close()
    _same(scanners, path, kernel_path=None)


def test_corrupt_and_encrypted_workbooks_read_as_the_reference(tmp_path, scanners):
    rows, _ = export_rows(random.Random(1), "taobao", 200)
    good = write_xlsx(tmp_path / "good.xlsx", {"s": rows}).read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(good[: len(good) // 2])
    (tmp_path / "junk.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    (tmp_path / "empty.xlsx").write_bytes(b"")
    for name in ("cut.xlsx", "junk.xlsx", "empty.xlsx"):
        got = _same(scanners, tmp_path / name, kernel_path=None)
        assert got[0]["skipped"], name


def test_a_large_workbook_is_read_in_a_child_process(tmp_path, scanners):
    """kernel.sheetchild: the same judgements from a child process (a real one) as from the reference, and a
    workbook the child declines or cannot read comes back as Unsupported (the reference then reads it)."""
    from auditor.files.kernel import sheetchild

    if not sheetchild.usable():
        pytest.skip("workbooks are read in the scan process here")
    reference, _ = scanners
    rows, expected = export_rows(random.Random(21), "douyin", ROWS)
    path = write_xlsx(tmp_path / "big.xlsx", {"明细": rows, "空": []})
    got = sheetchild.read_in_child(load_rules(), path.read_bytes())
    want = reference.scan(path)[0].tables
    assert got == want
    assert got[0].records == expected
    with pytest.raises(Unsupported):
        sheetchild.read_in_child(load_rules(), b"PK\x03\x04" + bytes(range(256)) * 40)


def test_the_scanner_hands_large_workbooks_to_the_child(tmp_path, monkeypatch, scanners):
    from auditor.files.kernel import scanner as kernel_scanner

    monkeypatch.setattr(kernel_scanner, "CHILD_BYTES", 0)  # every workbook counts as large
    rows, _ = export_rows(random.Random(22), "taobao", 2_000)
    write_xlsx(tmp_path / "w.xlsx", {"s": rows})
    (tmp_path / "junk.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)
    _same(scanners, tmp_path / "w.xlsx")
    assert _same(scanners, tmp_path / "junk.xlsx", kernel_path=False)[0]["skipped"]


def test_the_child_opens_the_workbook_while_the_extent_is_checked_and_loads_only_after_it(tmp_path, monkeypatch,
                                                                                         scanners):
    """kernel.sheetchild starts on a large workbook before the scan process checks its extent: a workbook within
    the bound is judged by that child (as the reference judges it); one refused by the check ends its child,
    which was still waiting, before it loaded a sheet (this one would lay out 17 billion cells), and the
    scan goes on."""
    import signal

    import openpyxl

    from auditor.files.kernel import scanner as kernel_scanner, sheetchild

    if not sheetchild.usable():
        pytest.skip("workbooks are read in the scan process here")
    monkeypatch.setattr(kernel_scanner, "CHILD_BYTES", 0)  # every workbook counts as large
    started = []
    start = sheetchild.start

    def recorded(rules, data):  # the real child, kept to look at how it ended
        child = start(rules, data)
        started.append(child.proc)
        return child

    monkeypatch.setattr(sheetchild, "start", recorded)
    rows, expected = export_rows(random.Random(23), "douyin", 1_000)
    got = _same(scanners, write_xlsx(tmp_path / "ok.xlsx", {"s": rows}))
    assert got[0]["summary"]["records"] == expected
    assert len(started) == 1 and started[0].returncode == 0
    bomb = tmp_path / "bomb.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "13800000000"
    wb.active["XFD1048576"] = "x"
    wb.save(bomb)
    kernel = scanners[1]
    out = kernel.scan(bomb)
    assert "too large to open safely" in out[0].skipped
    assert len(started) == 2 and started[1].returncode == -signal.SIGKILL  # ended while it waited for "go"
    assert kernel.ahead is None


def test_without_a_memory_file_the_child_takes_the_workbook_on_its_input(tmp_path, monkeypatch, scanners):
    """Where there is no memfd (POSIX but not Linux) the bytes go on the child's standard input with "go": the
    same judgements, and a refused workbook still ends its child."""
    import os

    from auditor.files.kernel import sheetchild

    if not sheetchild.usable():
        pytest.skip("workbooks are read in the scan process here")
    monkeypatch.delattr(os, "memfd_create", raising=False)
    rows, expected = export_rows(random.Random(24), "taobao", 2_000)
    path = write_xlsx(tmp_path / "w.xlsx", {"s": rows})
    got = sheetchild.read_in_child(load_rules(), path.read_bytes())
    assert got == scanners[0].scan(path)[0].tables and got[0].records == expected
    child = sheetchild.start(load_rules(), path.read_bytes())
    proc = child.proc
    child.cancel()
    assert proc.returncode is not None and child.proc is None


@pytest.mark.parametrize("child", [False, True])
def test_hidden_sheets_late_columns_and_a_header_in_row_3_read_as_the_reference(tmp_path, monkeypatch, scanners,
                                                                                 child):
    """In the scan process and through the child started ahead of the extent check: a hidden sheet, a header in
    the third row, a column that holds mobiles only after the first rows (no header, empty before), and a sheet
    after them; the same judgement as the reference."""
    import xlsxwriter

    from auditor.files.kernel import scanner as kernel_scanner, sheetchild

    if child and not sheetchild.usable():
        pytest.skip("workbooks are read in the scan process here")
    monkeypatch.setattr(kernel_scanner, "CHILD_BYTES", 0 if child else 1 << 40)
    rng = random.Random(25)
    path = tmp_path / "late.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    hidden = wb.add_worksheet("隐藏")
    for r, row in enumerate(export_rows(rng, "taobao", 500)[0]):
        hidden.write_row(r, 0, row)
    hidden.hide()
    late = wb.add_worksheet("后列")
    late.write_row(0, 0, ["导出时间: 2026-10-01"])
    late.write_row(2, 0, ["订单号", "商品", "数量"])
    for r in range(3, 3 + 2_000):
        late.write_row(r, 0, [f"8800{r:08d}", "保温杯", str(r % 5 + 1)])
        if r >= 400:
            late.write_number(r, 5, int(person(rng).mobile))
    tail = wb.add_worksheet("末表")
    for r, row in enumerate(export_rows(rng, "pdd", 300)[0]):
        tail.write_row(r, 0, row)
    wb.close()
    got = _same(scanners, path, kernel_path=None)
    assert [t["sheet"] for t in got[0]["tables"]] == ["隐藏", "后列", "末表"]
