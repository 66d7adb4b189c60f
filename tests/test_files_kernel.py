"""The file kernel (auditor.files.kernel) against the reference (auditor.tabular + auditor.files.table_scan):
the same findings and counts on every generated corpus — every layout, encoding, delimiter, masking level,
headerless tables, Excel's ="…" wrapping, +86 numbers, decoys, and the hostile bound cases — compared field
by field: records, ID rows, masked rows, total rows, kinds, samples, column judgements, notes and the hash."""

from __future__ import annotations

import csv
import io
import random
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import quick_subset

from auditor.files.file_scan import FileScanner
from auditor.files.kernel.batch import _anywhere, _flags
from auditor.files.kernel.grid import Grid, Unsupported
from auditor.files.kernel.scanner import KernelScanner
from auditor.files.kernel.shapes import WIDTH, _first_bytes, _row_any, _row_counts
from auditor.pii.rules import load_rules
from auditor.textcodec import SAMPLE
from exportgen import LAYOUTS, decoy_rows, export_rows, hex_runs, person, write_csv

ROWS = 9_000  # past the sample (310 rows) and one full batch (8,192 rows): every path of the reference runs
ENCODINGS = [("utf-8", ","), ("utf-8-sig", ","), ("gbk", ","), ("gb18030", ","), ("gbk", "\t"),
             ("utf-16", "\t"), ("utf-16-be", "\t"), ("utf-8", ";"), ("utf-8", "\t")]


def _result(outcome) -> dict:
    """Everything a scan keeps of one file, with every table's full judgement."""
    tables = [{"sheet": t.sheet, "total_rows": t.total_rows, "records": t.records, "id_rows": t.id_rows,
               "masked_rows": t.masked_rows, "header": t.header, "kinds": t.kinds, "samples": t.samples,
               "notes": t.notes, "columns": [c.to_dict() for c in t.columns]} for t in outcome.tables]
    return {"summary": outcome.summary(), "tables": tables, "skipped": outcome.skipped}


@pytest.fixture(scope="module")
def scanners():
    rules = load_rules()
    return FileScanner(rules), KernelScanner(rules)


def _same(scanners, path: Path) -> dict:
    reference, kernel = scanners
    want = [_result(o) for o in reference.scan(path)]
    got = [_result(o) for o in kernel.scan(path)]
    assert got == want, path.name
    return want[0]


CASES = [(layout, "utf-8", ",") for layout in sorted(LAYOUTS)] + \
    [(layout, enc, delim) for layout in ("taobao", "idcard") for enc, delim in ENCODINGS if enc != "utf-8" or delim != ","] + \
    [(layout, "gbk", ",") for layout in sorted(LAYOUTS) if layout not in ("taobao", "idcard")]


# the quick run: two layouts in the three kinds of encoding (UTF-8, a GB code page, UTF-16); the rest is slow
QUICK = {("taobao", "utf-8", ","), ("taobao", "gbk", "\t"), ("taobao", "utf-16", "\t"), ("idcard", "gb18030", ",")}


@pytest.mark.parametrize("layout, encoding, delimiter", quick_subset(CASES, QUICK.__contains__, keep=0))
def test_every_layout_and_encoding(tmp_path, scanners, layout, encoding, delimiter):
    rng = random.Random(f"{layout}{encoding}{delimiter}")
    rows, expected = export_rows(rng, layout, ROWS)
    path = write_csv(tmp_path / f"{layout}.csv", rows, encoding=encoding, delimiter=delimiter)
    got = _same(scanners, path)
    assert got["summary"]["records"] == expected


MASKING = quick_subset([("taobao", 0.01), ("taobao", 0.5), ("taobao", 1.0), ("pdd", 0.3),
                     ("idcard", 0.3), ("idcard", 1.0), ("english", 0.5)])


@pytest.mark.parametrize("layout, masked", MASKING)
def test_masking_levels(tmp_path, scanners, layout, masked):
    rows, expected = export_rows(random.Random(f"{layout}{masked}"), layout, ROWS, masked=masked)
    got = _same(scanners, write_csv(tmp_path / "m.csv", rows, encoding="gbk"))
    assert got["summary"]["records"] == expected


@pytest.mark.slow  # the equivalence corpus: every layout and variant
@pytest.mark.parametrize("layout, variant", [("taobao", "headerless"), ("erp", "headerless"), ("idcard", "headerless"),
                                             ("taobao", "wrap"), ("idcard", "wrap"), ("taobao", "wrap_masked"),
                                             ("english", "intl"), ("jd", "intl"), ("erp", "title"), ("idcard", "title")])
def test_variants(tmp_path, scanners, layout, variant):
    rng = random.Random(f"{layout}{variant}")
    rows, _ = export_rows(rng, layout, ROWS, header=variant != "headerless", excel_wrap=variant.startswith("wrap"),
                          intl=variant == "intl", masked=0.4 if variant == "wrap_masked" else 0.0)
    if variant == "title":
        rows = [["订单导出 2026-11-05 共9000条"]] + rows
    for encoding in ("utf-8", "gbk"):
        _same(scanners, write_csv(tmp_path / f"{variant}.{encoding}.csv", rows, encoding=encoding))


@pytest.mark.parametrize("kind", ["catalog", "catalog_headerless", "inventory", "bank", "log", "sender_only"])
def test_decoys(tmp_path, scanners, kind):
    rows = decoy_rows(random.Random(kind), kind, ROWS)
    got = _same(scanners, write_csv(tmp_path / f"{kind}.csv", rows))
    assert got["summary"]["records"] == 0


def _irregular_rows(rng: random.Random, n: int) -> list[list[str]]:
    """Rows with every cell shape the kernel must hand to the exact path or decide by shape: spaced and +86
    numbers, numbers in words, two numbers in a cell, virtual numbers with extensions, 0086/86 prefixes,
    masked and half-masked numbers, line breaks and quotes inside cells, empty and total rows, ID numbers
    with x, 15-digit IDs, invalid checksums, short rows and long rows."""
    out = [["收件人", "收件人手机", "身份证号", "收货地址", "备注"]]
    for i in range(n):
        p = person(rng)
        m, idn = p.mobile, p.id_number
        mob = rng.choice([m, m, m, f'="{m}"', f"+86 {m[:3]} {m[3:7]} {m[7:]}", f"86{m}", f"0086{m}", f"{m[:3]}-{m[3:7]}-{m[7:]}",
                          m[:3] + "****" + m[7:], f"{m}-1234", f"{m}转5678", f"电话{m}", f"{m}/{person(rng).mobile}",
                          "", "无", "0579-85123456", m + "0", m[:10], "1" + m, f"{m[:3]} {m[3:7]}", f"{m}\n{m}",
                          f'{m}"x', "12345678901", "86" + m[:9], "x" * 30 + m])
        ident = rng.choice([idn, idn, idn[:17] + "x", idn[:6] + "********" + idn[-4:], idn[:6] + idn[8:17], "",
                            idn[:17] + str((int(idn[16]) + 1) % 10) if idn[-1].isdigit() else idn, f'="{idn}"',
                            f"身份证{idn}", idn[:15]])
        note = rng.choice(["", "", "请放门口", f"联系{person(rng).mobile}", f"身份证 {person(rng).id_number}",
                           "多行\n备注", f"换行\r\n{person(rng).mobile}", '带"引号"', "1" * 18, "合计"])
        row = [p.name, mob, ident, p.address, note]
        shape = rng.random()
        if shape < 0.02:
            row = ["", "", "", "", ""]
        elif shape < 0.04:
            row = ["合计", str(i), "", "", ""]
        elif shape < 0.06:
            row = row[:2]
        elif shape < 0.08:
            row = row + ["多余", m]
        elif shape < 0.09:
            row = []
        out.append(row)
    return out


@pytest.mark.slow  # the equivalence corpus: irregular cells in every encoding
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("encoding, delimiter", [("utf-8", ","), ("gbk", ","), ("utf-16", "\t"), ("gb18030", "\t")])
def test_irregular_cells(tmp_path, scanners, seed, encoding, delimiter):
    rows = _irregular_rows(random.Random(seed), ROWS)
    _same(scanners, write_csv(tmp_path / "odd.csv", rows, encoding=encoding, delimiter=delimiter))


@pytest.mark.parametrize("seed", quick_subset(range(4)))
def test_mobile_only_tables(tmp_path, scanners, seed):
    """Mobile columns alone (the reference's line-wise count), with and without free text, masked rows mixed
    in or not, and a second mobile column."""
    rng = random.Random(seed)
    rows = [["收件人", "手机", "备用电话", "备注"]]
    for _ in range(ROWS):
        p = person(rng)
        second = rng.choice(["", person(rng).mobile, "138****0000"]) if seed % 2 else ""
        first = p.mobile if rng.random() > (0.3 if seed >= 2 else 0) else p.mobile[:3] + "****" + p.mobile[7:]
        rows.append([p.name, first, second, rng.choice(["", "", f"另一号码 {person(rng).mobile}"])])
    _same(scanners, write_csv(tmp_path / "mob.csv", rows))


@pytest.mark.parametrize("encoding, delimiter", quick_subset([("utf-8", ","), ("gbk", "\t")]))
def test_hex_digests_and_guids_are_no_mobiles_in_both(tmp_path, scanners, encoding, delimiter):
    """Digests and GUIDs holding a mobile's digits inside them, in a people's table (free text) and in a
    mobile column, beside real mobiles next to Chinese text and punctuation: the same verdict both ways."""
    rng = random.Random(31)
    digests, guids = hex_runs(rng, ROWS)
    rows = [["收件人", "手机", "文件摘要", "备注"]]
    real = 0
    for i, (d, g) in enumerate(zip(digests, guids)):
        p = person(rng)
        if i % 3 == 0:
            rows.append([p.name, p.mobile[:3] + "****" + p.mobile[7:], d, g])
        elif i % 3 == 1:
            rows.append([p.name, g, d, ""])  # a GUID where the mobile belongs
        else:
            rows.append([p.name, "", d, f"电话{p.mobile}，放门口"])
            real += 1
    got = _same(scanners, write_csv(tmp_path / "hex.csv", rows, encoding=encoding, delimiter=delimiter))
    assert got["summary"]["records"] == real


@pytest.mark.parametrize("encoding", quick_subset(["utf-16", "gbk"]))
def test_tab_separated_text_saved_as_xls_in_both(tmp_path, scanners, encoding):
    """A TSV under an .xls name is a text table for the kernel and the reference alike."""
    rows, expected = export_rows(random.Random(encoding), "taobao", ROWS, masked=0.2)
    path = tmp_path / "订单导出.xls"
    path.write_bytes("".join("\t".join(r) + "\r\n" for r in rows).encode(encoding))
    got = _same(scanners, path)
    assert got["skipped"] is None and got["summary"]["records"] == expected


def test_line_endings_quotes_and_blank_lines(tmp_path, scanners):
    """LF and CRLF endings, every cell quoted, blank lines, and a file without a final line break."""
    rows, _ = export_rows(random.Random(5), "erp", ROWS)
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    text = buf.getvalue().replace("\n", "\n\n", 50)
    (tmp_path / "quoted.csv").write_text(text.rstrip("\n"), encoding="utf-8")
    _same(scanners, tmp_path / "quoted.csv")
    crlf = text.replace("\n", "\r\n")
    (tmp_path / "crlf.csv").write_bytes(crlf.encode("gbk"))
    _same(scanners, tmp_path / "crlf.csv")


@pytest.mark.parametrize("case", ["cr_only", "nul", "bad_quotes", "wide_row", "long_line", "quoted_block", "quoted_crlf",
                                  "empty", "header_only", "binary"])
def test_what_the_kernel_refuses_reads_as_the_reference(tmp_path, scanners, case):
    """Bytes outside what the kernel reads exactly: the reference reads them, with its outcome."""
    rows, _ = export_rows(random.Random(case), "taobao", 2_000)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    text = buf.getvalue()
    if case == "cr_only":
        text = text.replace("\n", "\r")
    elif case == "nul":
        text = text[:len(text) // 2] + "\x00" + text[len(text) // 2:]
    elif case == "bad_quotes":
        text = text.replace("已发货", 'a"b', 5).replace("女士T恤", '"T恤"x')
    elif case == "wide_row":
        text += ",".join(["13812345678"] * 20_000) + "\n"
    elif case == "long_line":
        text += " ".join([person(random.Random(i)).mobile for i in range(120_000)]) + "\n"
    elif case == "quoted_block":
        text += 'x,"' + "\n".join(person(random.Random(i)).mobile for i in range(50_000)) + '",y\n'
    elif case == "quoted_crlf":
        text += 'x,"' + "\r\n".join(person(random.Random(i)).mobile for i in range(500)) + '",y\n'
    elif case == "empty":
        text = ""
    elif case == "header_only":
        text = text.split("\n")[0]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(bytes(range(256)) * 64 if case == "binary" else text.encode("utf-8"))
    _same(scanners, path)


def test_cell_bytes_and_row_counts_as_defined():
    """The shapes' first WIDTH bytes of each cell (rows of a strided view; near the end of the buffer, and in a
    buffer shorter than WIDTH, its last byte repeated) and their per-row counts (three 64-bit words at once)
    are what their definitions say, on random buffers and cells."""
    rng = np.random.default_rng(11)
    for size in [0, 1, 5, WIDTH - 1, WIDTH, WIDTH + 1, 100, 1000]:
        a = rng.integers(0, 256, size).astype(np.uint8)
        start = rng.integers(0, size + 1, 300)
        got = _first_bytes(a, start)
        want = a[np.minimum(start[:, None] + np.arange(WIDTH), size - 1)] if size else np.zeros((300, WIDTH), np.uint8)
        assert got.shape == (300, WIDTH) and np.array_equal(got, want), size
        flags = rng.random((300, WIDTH)) < rng.random()
        assert np.array_equal(_row_counts(flags), flags.sum(axis=1))
        assert np.array_equal(_row_any(flags), flags.any(axis=1))
    every = np.ones((3, WIDTH), bool)
    assert _row_counts(every).tolist() == [WIDTH] * 3 and _row_any(~every).tolist() == [False] * 3


def test_carriage_returns_refused_exactly_where_defined():
    """A block is refused for a carriage return without a line feed after it, the one at the very end of a
    block that is not the last excepted (its line feed starts the next block): random bytes of CR, LF, comma
    and a letter, cut anywhere."""
    rng = random.Random(3)
    for _ in range(3000):
        buf = "".join(rng.choice("a,\r\n\n") for _ in range(rng.randrange(0, 30))).encode()
        final = rng.random() < 0.5
        lone = buf.count(b"\r") - (not final and buf.endswith(b"\r")) != buf.count(b"\r\n")
        try:
            Grid(buf, ",", final)
        except Unsupported as exc:
            assert lone and "carriage return" in str(exc), buf
        else:
            assert not lone, buf


def test_line_flags_as_the_split_lines_say():
    """_flags finds the lines that start with a match in the bytes of the substituted text: the same flags as
    splitting that text into lines — for the rules' own patterns and for one whose match runs over a line
    break (then the lines shift, and too few of them raise ValueError, as before: the reference reads it)."""
    rules = load_rules()
    patterns = [rules.mobile_line, rules.masked_line, _anywhere(rules.masked_mobile), _anywhere(rules.virtual),
                re.compile(r"(?m)^a\s+b")]
    rng = random.Random(9)
    pieces = ["13812345678", "138 1234 5678", "138****5678", "张三", "a", "b", " ", "\n", "+86", "\ud800", "x"]
    for _ in range(1500):
        lines = ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 5))).replace("\n", " ")
                 for _ in range(rng.randrange(1, 8))]
        if rng.random() < 0.3:
            lines = [line + "\n" + rng.choice(["b", "bb", ""]) if line.endswith("a") else line for line in lines]
        text = "".join(line + "\n" for line in lines)
        n = len(lines)
        for pattern in patterns:
            parts = pattern.sub("\x00", text).split("\n")
            if len(parts[:n]) < n:
                with pytest.raises(ValueError):
                    _flags(pattern, text, n)
                continue
            want = [p[:1] == "\x00" for p in parts[:n]]
            assert _flags(pattern, text, n).tolist() == want, (pattern.pattern, text)


@pytest.mark.parametrize("encoding, delimiter", [("gbk", ","), ("utf-8", ","), ("utf-16", "\t"), ("gbk", "|")])
@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_sample_decoded_in_pieces_reads_as_the_reference(tmp_path, scanners, encoding, delimiter, shift):
    """The delimiter's sample is decoded piece by piece (SAMPLE bytes at a time) and the rest of the first read
    only on the transcoding path: a character cut at a piece's edge, and an invalid byte there, read as the
    reference reads them."""
    rows, _ = export_rows(random.Random(f"pieces{encoding}"), "taobao", 3_000)
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = bytearray(buf.getvalue().encode(encoding))
    mark = 2 if encoding == "utf-16" else 0
    for edge in (SAMPLE, 2 * SAMPLE, 5 * SAMPLE):
        at = mark + edge + shift
        if data[at:at + 1] not in (b"\r", b"\n", b'"', delimiter.encode()):
            data[at] = 0xFF  # right at the edge: invalid in GBK and UTF-8, an odd character in UTF-16
    path = tmp_path / f"pieces.{'txt' if delimiter == chr(9) else 'csv'}"
    path.write_bytes(bytes(data))
    _same(scanners, path)
