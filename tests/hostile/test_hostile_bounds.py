"""Bounds on what one planted file may cost the agent (README: Bounds), played by a local user who drops
crafted exports into a scanned folder: a million-column CSV, one 50 MB line of mobiles, a quoted cell of
megabytes, a workbook of 20,000 columns, workbooks whose two cells span 17 billion, a workbook of 300 sheets.

Every run is the real CLI in a child bounded in time, its peak RSS measured by the kernel. A bound that is
reached is a coverage entry ("partly examined: …" or a skipped file with the reason), never a crash, a hang or
a silent loss: the people's numbers beyond the bound are still counted, and none of them reaches an output.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from hostilekit import assert_no_leak, auditor, limit_memory_mb, state_env
from hostilekit import files_content as _content
from hostilekit import finding_for as _finding
from hostilekit import mobiles as _mobiles
from hostilekit import reason_for as _reason
from hostilekit import scan_files

pytestmark = pytest.mark.slow  # bounds on volume: tens of MB generated, peak RSS measured in a child


def _scan(tmp_path: Path, folder: Path, *extra: str):
    return scan_files(tmp_path, folder, *extra, child=True)  # peak RSS


def _bounded(run, limit: float | None = None) -> None:
    limit = limit or limit_memory_mb()
    assert run.peak_rss_mb < limit, f"peak RSS {run.peak_rss_mb:.0f} MB (bound {limit} MB)"


# --------------------------------------------------------------------------- text tables

def test_million_column_csv_is_counted_within_memory(tmp_path):
    """23 MB, a million columns: 1.4 GB and a 157 MB report before; now the line is read in pieces."""
    pool = _mobiles(1000)
    folder = tmp_path / "Desktop"
    folder.mkdir()
    with (folder / "宽表.csv").open("w", encoding="utf-8") as fh:
        fh.write(",".join(f"列{i}" for i in range(1_000_000)) + "\n")
        for r in range(2):
            fh.write(",".join(pool[(r + i) % 1000] if i % 2 == 0 else "x" for i in range(1_000_000)) + "\n")
    run, report, out = _scan(tmp_path, folder)
    _bounded(run)
    f = _finding(report, "宽表.csv")
    assert f["check_id"] == "PI-001" and f["severity"] == "critical"
    assert f["evidence"]["records"] == 1_000_000  # every mobile in the over-long lines, one record each
    assert any("longer than 1,048,576 characters" in t for t in f["evidence"]["truncated"])
    assert "partly examined" in _reason(report, "宽表.csv") and _content(report)["status"] == "partial"
    assert out.stat().st_size < 1 << 20, "the report stays small"
    assert_no_leak(pool, out, tmp_path / "state", text=run.output)


@pytest.mark.parametrize("sep, newline", [(" ", ""), ("\t", "\n"), ("；", "\r\n")])
def test_one_50mb_line_of_mobiles_is_a_file_full_of_mobiles(tmp_path, sep, newline):
    """One line, no table: 1.2 GB, no finding and no coverage note before. Still a file of millions of
    people's numbers: counted, critical, and the coverage says how it was read."""
    pool = _mobiles(50_000, seed=11)
    piece = sep.join(pool) + sep
    reps = (50 << 20) // len(piece.encode("utf-8")) + 1
    folder = tmp_path / "Downloads"
    folder.mkdir()
    (folder / "一行.txt").write_bytes((piece * reps + newline).encode("utf-8"))
    run, report, out = _scan(tmp_path, folder)
    _bounded(run)
    f = _finding(report, "一行.txt")
    assert f["severity"] == "critical" and f["evidence"]["records"] == len(pool) * reps
    assert f["evidence"]["total_rows"] == 1
    assert all("*" in s for s in f["evidence"]["samples"])
    reason = _reason(report, "一行.txt")
    assert "partly examined" in reason and f"{len(pool) * reps:,} mobile(s)" in reason
    assert_no_leak(pool[:2000], out, tmp_path / "state", text=run.output)


def test_quoted_cell_of_megabytes_is_counted_and_the_rows_after_it_too(tmp_path):
    """A remark cell of 1.5 MB (quoted, over 120,000 lines) between ordinary rows: the cell's numbers are
    counted, and the rows after it are read as rows again."""
    pool = _mobiles(120_021, seed=3)
    before, cell, after = pool[:10], pool[10:120_010], pool[120_010:]
    lines = ["收件人,收件人手机,收货地址,备注"]
    lines += [f"张{i},{m},浙江省金华市义乌市稠城街道{i}号{i}室," for i, m in enumerate(before)]
    lines.append('李四,13700000000,浙江省宁波市余姚市{0}号,"{1}"'.format(1, "\n".join(cell)))
    lines += [f"王{i},{m},浙江省宁波市余姚市{i}号{i}室,ok" for i, m in enumerate(after)]
    folder = tmp_path / "Documents"
    folder.mkdir()
    (folder / "备注超长.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run, report, out = _scan(tmp_path, folder)
    _bounded(run)
    f = _finding(report, "备注超长.csv")
    # ten rows before, the long row's own mobile and every number in its cell, eleven rows after
    assert f["evidence"]["records"] == len(before) + 1 + len(cell) + len(after)
    assert "partly examined" in _reason(report, "备注超长.csv")
    assert_no_leak(pool[:500] + after, out, tmp_path / "state", text=run.output)


def test_csv_of_quotes_and_delimiters_only_stays_within_memory(tmp_path):
    """36 MB of "" and commas, and 32 MB of commas: millions of marks per block, whose index arrays the file
    kernel must not hold all at once (330 MB before its bound). Read within memory, the people's rows after them
    still counted, several files on several workers."""
    pool = _mobiles(300, seed=5)
    folder = tmp_path / "Downloads"
    folder.mkdir()
    (folder / "引号.csv").write_text(('"",' * 3000 + "\n") * 4000, encoding="utf-8")
    (folder / "逗号.csv").write_text(("a," * 4000 + "\n") * 4000, encoding="utf-8")
    rows = "收件人,收件人手机,收货地址\n" + "".join(f"张{i},{m},浙江省金华市义乌市稠城街道{i}号\n" for i, m in enumerate(pool))
    (folder / "订单.csv").write_text(rows, encoding="utf-8")
    run, report, out = _scan(tmp_path, folder, "--jobs", "2")
    _bounded(run)
    assert _finding(report, "订单.csv")["evidence"]["records"] == len(pool)
    assert_no_leak(pool, out, tmp_path / "state", text=run.output)


# --------------------------------------------------------------------------- workbooks

def _col(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _xlsx(path: Path, sheets: dict[str, list[str]], part: str = "worksheets/sheet{i}.xml") -> None:
    """A workbook written by hand: each sheet its <sheetData> rows as XML (what no library writes), stored
    as ``xl/<part>``."""
    ct = ['<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
          'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
          'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>']
    rels, entries = [], []
    for i, name in enumerate(sheets, 1):
        ct.append(f'<Override PartName="/xl/{part.format(i=i)}" ContentType="application/vnd.openxmlformats-'
                  f'officedocument.spreadsheetml.worksheet+xml"/>')
        rels.append(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    f'relationships/worksheet" Target="{part.format(i=i)}"/>')
        entries.append(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "".join(ct) + "</Types>")
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                   '</Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
                   'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships"><sheets>' + "".join(entries) + "</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns='
                   '"http://schemas.openxmlformats.org/package/2006/relationships">' + "".join(rels) +
                   "</Relationships>")
        for i, rows in enumerate(sheets.values(), 1):
            with z.open(f"xl/{part.format(i=i)}", "w") as fh:
                fh.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.'
                         b'org/spreadsheetml/2006/main"><sheetData>')
                for row in rows:
                    fh.write(row.encode("utf-8"))
                fh.write(b"</sheetData></worksheet>")


def _cell(c: int, r: int, value: str, quote: str = '"') -> str:
    return f'<c r={quote}{_col(c)}{r}{quote} t="inlineStr"><is><t>{value}</t></is></c>'


def test_workbook_of_20000_columns(tmp_path):
    """20,000 columns (beyond Excel's own 16,384): the cells past column 1,023 are examined as one column, the
    mobiles far to the right are still records, and memory stays bounded."""
    pool = _mobiles(40, seed=5)
    names = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
    far = 15_000

    def row(r: int) -> str:
        if r == 1:
            cells = [_cell(0, 1, "收件人")] + [_cell(c, 1, "收件人手机" if c == far else f"c{c}") for c in range(1, 20_000)]
        else:
            cells = [_cell(0, r, names[r] + "芳")] + [_cell(c, r, pool[r] if c == far else "x") for c in range(1, 20_000)]
        return f'<row r="{r}">' + "".join(cells) + "</row>"

    folder = tmp_path / "Desktop"
    folder.mkdir()
    _xlsx(folder / "超宽.xlsx", {"订单": [row(r) for r in range(1, 31)]})
    run, report, out = _scan(tmp_path, folder)
    _bounded(run)
    f = _finding(report, "超宽.xlsx")
    assert f["evidence"]["records"] == 29
    assert any("more than 1,024 cells" in t for t in f["evidence"]["truncated"])
    assert "partly examined" in _reason(report, "超宽.xlsx")
    assert_no_leak(pool, out, tmp_path / "state", text=run.output)


BOMBS = {
    # two cells, A1 and XFD1048576: the reader would allocate 17 billion cells (550 GB) and abort the agent
    "corners": ['<row r="1">' + _cell(0, 1, "13800000000") + "</row>",
                '<row r="1048576">' + _cell(16383, 1048576, "x") + "</row>"],
    # the far cell first, the near one after it
    "unsorted": ['<row r="1048576">' + _cell(16383, 1048576, "x") + "</row>", '<row r="1">' + _cell(0, 1, "y") + "</row>"],
    # single quotes and spaces around the reference
    "quoted": ['<row r="1">' + _cell(0, 1, "a") + "</row>",
               "<row r='1048576'><c t=\"inlineStr\" r = 'XFD1048576'><is><t>b</t></is></c></row>"],
    # one far cell in the middle of an ordinary sheet, in a row of the sheet's own height: neither its first nor
    # its last 64 KiB names that column (3,000 rows x 16,384 columns: 1.5 GB in the reader)
    "middle": ['<row r="%d">' % r + _cell(0, r, "x") + (_cell(16383, r, "y") if r == 1500 else "") + "</row>"
               for r in range(1, 3001)],
    # cells without references, numbered on by the reader, in a row far down
    "unnumbered": ['<row r="1"><c t="inlineStr"><is><t>a</t></is></c></row>',
                   '<row r="1000000">' + '<c t="inlineStr"><is><t>b</t></is></c>' * 20 + "</row>"],
}


@pytest.mark.parametrize("kind, part", [*((k, "worksheets/sheet{i}.xml") for k in sorted(BOMBS)),
                                        ("corners", "sharedStrings.xml")])  # a sheet stored under another part's name
def test_workbook_whose_extent_is_a_bomb_is_refused_and_the_scan_goes_on(tmp_path, kind, part):
    folder = tmp_path / "Desktop"
    folder.mkdir()
    _xlsx(folder / "炸弹.xlsx", {"S1": BOMBS[kind]}, part)
    pool = _mobiles(30, seed=9)
    (folder / "订单.csv").write_text("收件人手机,收货地址\n" + "".join(f"{m},浙江省金华市义乌市{i}号{i}室\n" for i, m in enumerate(pool)),
                                   encoding="utf-8")
    run, report, out = _scan(tmp_path, folder)
    _bounded(run, 200)
    assert "too large to open safely" in _reason(report, "炸弹.xlsx")
    assert _finding(report, "订单.csv")["evidence"]["records"] == len(pool)
    assert _content(report)["status"] == "partial"


def test_ods_with_repeated_cells_is_refused(tmp_path):
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               '<office:spreadsheet><table:table table:name="S1"><table:table-row table:number-rows-repeated='
               '"90000"><table:table-cell table:number-columns-repeated="1000" office:value-type="string"><text:p>'
               'x</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body>'
               '</office:document-content>')
    folder = tmp_path / "Desktop"
    folder.mkdir()
    with zipfile.ZipFile(folder / "重复.ods", "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
    run, report, _ = _scan(tmp_path, folder)
    _bounded(run, 200)
    assert "too large to open safely" in _reason(report, "重复.ods")


def test_workbook_of_300_sheets_and_evidence_lists_are_capped(tmp_path):
    """Sheets beyond the 256th are not examined and the coverage says so; a finding lists at most 50 sheets
    in its evidence and counts the rest."""
    import xlsxwriter

    pool = _mobiles(300 * 5, seed=13)
    folder = tmp_path / "Desktop"
    folder.mkdir()
    wb = xlsxwriter.Workbook(str(folder / "多表.xlsx"))
    for s in range(300):
        ws = wb.add_worksheet(f"S{s}")
        ws.write_row(0, 0, ["收件人手机", "收货地址"])
        for r in range(5):
            ws.write_row(r + 1, 0, [pool[s * 5 + r], f"浙江省金华市义乌市{r}号{r}室"])
    wb.close()
    run, report, out = _scan(tmp_path, folder)
    _bounded(run)
    f = _finding(report, "多表.xlsx")
    assert f["evidence"]["records"] == 256 * 5
    assert len(f["evidence"]["sheets"]) == 50 and f["evidence"]["omitted"]["sheets"] == 206
    assert any("44 sheet(s) beyond the first 256 not examined" in t for t in f["evidence"]["truncated"])
    assert "partly examined" in _reason(report, "多表.xlsx")
    assert_no_leak(pool, out, tmp_path / "state", text=run.output)


def test_coverage_lists_at_most_1000_skipped_items_and_counts_the_rest(tmp_path):
    folder = tmp_path / "Downloads"
    folder.mkdir()
    for i in range(1010):
        (folder / f"b{i:04d}.csv").write_bytes(b"\x00\x01\x02\x03" * 64)
    run, report, out = _scan(tmp_path, folder)
    content = _content(report)
    assert len(content["skipped"]) == 1000 and content["skipped_more"] == 10
    assert next(a for a in report["areas"] if a["area"] == "files")["skipped"] == 1010
    md = tmp_path / "r.md"
    res = auditor("report", str(out), "-o", str(md), "--lang", "en", env=state_env(tmp_path))
    assert res.code == 0, res.output
    assert "10 more not listed" in md.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the text reader, as a property

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_pieces = st.one_of(st.sampled_from(['"', '""', ",", "\n", "\r\n", "\r", ";", "\t", " ", "x", "张三", "\x00"]),
                    st.text(alphabet='ab,"\n 1', max_size=40), st.integers(0, 300).map(lambda n: "y" * n))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # the bounds stay set
@given(parts=st.lists(st.tuples(_pieces, st.booleans()), max_size=40), delimiter=st.sampled_from([",", "\t", ";"]))
def test_text_reader_never_fails_and_never_loses_a_number(monkeypatch, parts, delimiter):
    """Any text (quotes unbalanced, NULs, lines longer than the bound, rows wider than the bound) is read without
    an error, no row is wider than MAX_COLUMNS, and every planted number is in a cell or in the overflow."""
    import io as _io

    from auditor import table_bounds

    monkeypatch.setattr(table_bounds, "MAX_LINE", 64)  # small bounds, so that short inputs reach them
    monkeypatch.setattr(table_bounds, "MAX_COLUMNS", 4)
    numbers = [f"1{n:010d}" for n in range(len(parts))]
    text = "".join(p + (f" {numbers[i]} " if plant else "") for i, (p, plant) in enumerate(parts))
    planted = [numbers[i] for i, (_, plant) in enumerate(parts) if plant]
    rows = table_bounds.text_rows(text[:50], _io.StringIO(text[50:], newline=""), delimiter)
    spilled: list[str] = []
    rows.on_overflow = lambda piece: spilled.append(piece.text)
    cells = []
    for row in rows:
        assert len(row) <= 4
        cells.extend(row)
    seen = "\n".join(cells) + "\n" + "".join(spilled)
    assert all(n in seen for n in planted)
    assert rows.chars <= len(text)
