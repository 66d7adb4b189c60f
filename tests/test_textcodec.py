"""auditor.textcodec, the one home of decoding outside bytes: the tricky cases, each through the function and
through a real file read by the code that uses it (tables, registry exports, console outputs, file names)."""

from __future__ import annotations

import random
import zipfile

import pytest

from auditor.scan.pipeline import read_registry_exports
from auditor.files.file_scan import FileScanner
from auditor.pii.rules import load_rules
from auditor.files.table_scan import TableAnalyzer
from auditor.files.textpath import display_path
from auditor.tabular import iter_sheets
from auditor.textcodec import (SAMPLE, decode_ansi, decode_console, decode_name, decode_short, decode_text, is_binary,
                               _plausible, sniff, split_bom)
from exportgen import export_rows, write_csv

TABLE = "收件人,手机,地址\r\n张三,13812345678,浙江省义乌市稠城街道1号\r\n"
STATUS_GBK = "状态".encode("gbk")  # D7 B4 CC AC: valid UTF-8 as well ("\u05f4\u032c", Hebrew and a combining mark)


def rows_of(path) -> list[list[str]]:
    [sheet] = list(iter_sheets(path))
    return list(sheet.rows)


# --------------------------------------------------------------------------- GBK that is valid UTF-8 by accident

def test_gbk_valid_as_utf8_by_accident_reads_as_gbk():
    assert STATUS_GBK.decode("utf-8") == "\u05f4\u032c"  # the accident itself
    for data in (STATUS_GBK, b"id," + STATUS_GBK + b"\r\n1,2\r\n", b"name: " + STATUS_GBK):
        assert sniff(data) == (b"", "gb18030")
        assert decode_text(data) == data.decode("gbk")
        assert decode_console(data) == data.decode("gbk")
        assert decode_name(data) == data.decode("gbk")


def test_gbk_table_valid_as_utf8_is_read_as_gbk(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"id," + STATUS_GBK + b"\r\n7,ok\r\n")
    assert rows_of(path) == [["id", "状态"], ["7", "ok"]]


@pytest.mark.parametrize("text", ["José Müller, café 2024", "Москва, вода", "שלום עולם", "±5 °C · ×2",
                                  "收件人 José", "Ünïcödé ñ"])
def test_real_utf8_stays_utf8(text):
    data = text.encode("utf-8")
    assert sniff(data) == (b"", "utf-8")
    assert decode_text(data) == decode_name(data) == decode_console(data) == text


# --------------------------------------------------------------------------- UTF-16 without a byte-order mark

@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ["order,phone\r\n1,13812345678\r\n", TABLE])
def test_utf16_without_bom(codec, text):
    data = text.encode(codec)
    assert not is_binary(data)
    assert sniff(data) == (b"", codec)
    assert decode_text(data) == text


def test_utf16_without_bom_ascii_export_is_counted(tmp_path):
    """An ASCII-only export in UTF-16 without a mark is valid UTF-8 full of NULs: the NUL pattern is looked at
    first, so its mobiles are counted."""
    rng = random.Random(3)
    rows = [["Order ID", "Recipient", "Mobile", "City"]] + \
        [[str(10_000 + i), f"Customer {i}", f"138{rng.randint(0, 10**8 - 1):08d}", "Yiwu"] for i in range(40)]
    path = write_csv(tmp_path / "orders.csv", rows, encoding="utf-16-le")
    assert path.read_bytes().decode("utf-8").count("\x00") > 1000  # what reading it as UTF-8 would give
    assert rows_of(path) == rows
    [sheet] = list(iter_sheets(path))
    assert TableAnalyzer(load_rules()).analyze(sheet.rows).records == 40


# --------------------------------------------------------------------------- byte-order mark + GBK

def test_utf8_bom_in_front_of_gbk(tmp_path):
    data = b"\xef\xbb\xbf" + TABLE.encode("gbk")
    assert split_bom(data) == (b"\xef\xbb\xbf", "utf-8")
    assert sniff(data) == (b"\xef\xbb\xbf", "gb18030")
    assert decode_text(data) == TABLE
    path = tmp_path / "导出.csv"
    path.write_bytes(data)
    assert rows_of(path)[0] == ["收件人", "手机", "地址"]  # no mark glued to the first header


@pytest.mark.parametrize("codec,mark", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
                                        ("utf-16-be", b"\xfe\xff"), ("utf-32-le", b"\xff\xfe\x00\x00"),
                                        ("utf-32-be", b"\x00\x00\xfe\xff")])
def test_byte_order_marks(codec, mark, tmp_path):
    data = mark + TABLE.encode(codec)
    assert sniff(data) == (mark, codec)
    assert decode_text(data) == TABLE
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    assert rows_of(path)[1][1] == "13812345678"


# --------------------------------------------------------------------------- short samples

@pytest.mark.parametrize("word", ["张三", "工号", "姓名", "离职", "收件人", "李"])
def test_short_gbk_is_gbk_not_utf16(word):
    data = word.encode("gbk")
    assert sniff(data) == (b"", "gb18030")
    assert decode_text(data) == decode_name(data) == decode_console(data) == word


def test_empty_and_cut_samples():
    assert sniff(b"") == (b"", "utf-8") and decode_text(b"") == ""
    cut = TABLE.encode("utf-8")[:-1]  # the sample ends inside the last character
    assert sniff(cut) == (b"", "utf-8")
    gbk_cut = (TABLE * 10).encode("gbk")[:-1]
    assert sniff(gbk_cut) == (b"", "gb18030")


def test_gbk_after_a_long_ascii_start(tmp_path):
    """A registry export in the ANSI code page: ASCII for more than the sample, Chinese further on."""
    keys = "".join(f"[HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor{i}]\r\n\"Version\"=\"1.{i}\"\r\n" for i in range(3000))
    text = ("REGEDIT4\r\n\r\n" + keys +
            "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Oray]\r\n\"DisplayName\"=\"向日葵远程控制\"\r\n")
    data = text.encode("gbk")
    assert len(data) > 2 * SAMPLE and sniff(data[:SAMPLE]) == (b"", "utf-8")
    assert decode_text(data) == text
    path = tmp_path / "ansi.reg"
    path.write_bytes(data)
    assert read_registry_exports([path]).values(r"HKLM\SOFTWARE\Oray") == {"DisplayName": "向日葵远程控制"}


# --------------------------------------------------------------------------- console, names, ANSI strings

def test_console_output_in_the_code_pages_of_chinese_windows():
    text = "用户名                 chenmo\r\n帐户启用               Yes\r\n命令成功完成。\r\n"
    assert decode_console(text.encode("gbk")) == text
    assert decode_console(text.encode("utf-8")) == text
    four_byte = "姓名 \U00020000 𠮷"  # outside GBK: GB18030 four-byte sequences
    assert decode_console(four_byte.encode("gb18030")) == four_byte
    garbage = bytes(range(256)) * 3
    assert isinstance(decode_console(garbage), str) and "\ufffd" in decode_console(garbage)


def test_names_and_ansi_strings():
    assert decode_name("订单.csv".encode("gbk")) == decode_name("订单.csv".encode("utf-8")) == "订单.csv"
    assert decode_name(b"a\xffb") == "a\\xffb"  # neither UTF-8 nor GB18030: shown, never guessed
    assert decode_short(b"a\xffb") is None
    assert decode_ansi(b"a\xffb") == "a\xffb"  # a registry string keeps every byte as one character
    assert display_path(b"/d/" + "张三13812345678.csv".encode("gbk")) == "/d/张*138******78.csv"


def _zip_without_utf8_flag(path, members: dict[bytes, bytes]) -> None:
    """A ZIP whose member names are raw bytes without the UTF-8 flag, as Chinese Windows writes them."""
    with zipfile.ZipFile(path, "w") as zf:
        for i, (raw, data) in enumerate(members.items()):
            zf.writestr(f"{i:0{len(raw) - 4}d}.csv", data)  # an ASCII stand-in of the same length
    blob = path.read_bytes()
    for i, raw in enumerate(members):
        blob = blob.replace(f"{i:0{len(raw) - 4}d}.csv".encode("ascii"), raw)
    path.write_bytes(blob)


def test_member_names_of_a_zip_without_the_utf8_flag(tmp_path):
    rows, expected = export_rows(random.Random(4), "pdd", 20)
    path = tmp_path / "exports.zip"
    _zip_without_utf8_flag(path, {"订单导出.csv".encode("gbk"): "\r\n".join(",".join(r) for r in rows).encode("gbk"),
                                  "名字.csv".encode("utf-8"): b"a,b\r\n"})
    with zipfile.ZipFile(path) as zf:
        assert all(not i.flag_bits & 0x800 for i in zf.infolist())
    outcomes = {o.target.rsplit("!", 1)[1]: o for o in FileScanner(load_rules()).scan(path)}
    assert set(outcomes) == {"订单导出.csv", "名字.csv"}  # GBK, and UTF-8 written without the flag
    assert outcomes["订单导出.csv"].records == expected


def test_binary_is_told_from_text():
    assert is_binary(bytes(range(256)) * 20)
    assert is_binary(b"\x00\x01\x02\x03" * 100)
    for data in (TABLE.encode("gbk"), TABLE.encode("utf-16-le"), b"\xff\xfe" + TABLE.encode("utf-16-le")):
        assert not is_binary(data)


# --------------------------------------------------------------------------- the plausibility score
def test_plausibility_counts_every_character_as_its_definition_says():
    """_plausible looks at each distinct character once: the score is the one of counting character by
    character (printable or \\r\\n\\t, minus replacement characters, minus 3 per private-use or
    Latin/Greek/…/symbol-block character), on texts mixing every kind."""
    def by_character(text: str) -> float:
        ok = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t") - text.count("\ufffd")
        odd = sum(1 for ch in text if "\ue000" <= ch <= "\uf8ff" or "\u0100" <= ch <= "\u2fff")
        return (ok - 3 * odd) / max(len(text), 1)

    rng = random.Random(7)
    alphabet = "张三手机,\t\r\n \ud800\udfff\U0001f600\x00\x07\x1f\x7f\x85\ufffd\ue000\uf8ff\u0100\u2fff\u3000\u05f4\u032cabc19" + \
        "".join(map(chr, range(0x80, 0xa0)))
    texts = ["", "\ufffd", TABLE, TABLE.encode("gbk").decode("utf-16-le", "replace"), TABLE * 300] + \
        ["".join(rng.choices(alphabet, k=rng.choice((rng.randrange(1, 400), rng.randrange(4000, 9000)))))
         for _ in range(200)]  # short texts (a Counter) and long ones (numpy over the code points)
    for text in texts:
        assert _plausible(text) == by_character(text), repr(text[:40])
