"""Remediation, for real: exports masked in place through the CLI, originals in an owner-only quarantine, restored
byte for byte; the process is killed (SIGKILL) at every step of masking and restoring, and at random moments,
and the next run completes or rolls back with nothing lost."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import zlib
import time
from pathlib import Path

import pytest

from clirun import child_env
from auditor.pii.rules import load_rules
from auditor.remediate.maskers import CellMasker
from conftest import run_cli
from exportgen import decoy_rows, export_rows, write_csv, write_xlsx

RULES = load_rules()


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def qenv(tmp_path_factory):
    base = tmp_path_factory.mktemp("auditor-data")  # outside the folders the tests scan
    return {"AUDITOR_QUARANTINE_DIR": str(base / "quarantine"), "AUDITOR_STATE_DIR": str(base / "state")}


def _items(env: dict) -> list[Path]:
    items = Path(env["AUDITOR_QUARANTINE_DIR"]) / "items"
    return sorted(items.iterdir()) if items.is_dir() else []


def _rows_of(data: bytes, encoding: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline=""), delimiter=delimiter))


def _scan_records(tmp: Path, folder: Path, env: dict) -> list[dict]:
    out = tmp / f"scan-{time.time_ns()}.json"
    res = run_cli("scan", "--only", "files", "--path", str(folder), "-q", "--fail-on", "none", "--full", "-o", str(out),
                  env=env)
    assert res.returncode == 0, res.stderr
    return [f for f in json.loads(out.read_text(encoding="utf-8"))["findings"] if f["check_id"].startswith("PI-")]


# --------------------------------------------------------------------------- masking rules on cells

def test_cell_masking_follows_the_masking_rules():
    m = CellMasker(RULES)
    assert m.mask("13812345678", "mobile") == "138******78"  # 6 digits hidden
    assert m.mask('="13812345678"', "mobile") == '="138******78"'  # Excel text wrapper kept
    assert m.mask("+86 138 1234 5678", "mobile") == "138******78"
    assert m.mask("18400913965-7576", "mobile") == "18400913965-7576"  # platform privacy number: not a person's
    assert m.mask("王小明", "name") == "王**" and m.mask("欧阳娜娜", "name") == "欧***" and m.mask("李", "name") == "李*"
    assert m.mask("王*", "name") == "王*"  # already masked
    assert (m.mask("浙江省金华市义乌市稠城街道工人北路12号3栋2单元1201室", "address")
            == "浙江省金华市义乌市稠城街道工人北路12号****")
    masked_id = m.mask("330782199003071234", "id_number")
    assert masked_id[:3] == "330" and "19900307" not in masked_id and masked_id.count("*") == 14
    assert m.mask("请联系 13812345678 或 330782199003071230", "text").startswith("请联系 138******78")
    assert m.mask("SF1234567890123", "text") == "SF1234567890123"


# --------------------------------------------------------------------------- CSV round trips

CSV_CASES = [
    ("utf-8", b"", ",", "\r\n"),
    ("gb18030", b"", ",", "\r\n"),
    ("utf-8", codecs.BOM_UTF8, ",", "\n"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "\t", "\r\n"),
    ("gb18030", b"", ";", "\n"),
]


@pytest.mark.parametrize("encoding,bom,delimiter,newline", CSV_CASES)
def test_csv_mask_keeps_format_and_restore_is_byte_identical(tmp_path, qenv, encoding, bom, delimiter, newline):
    rng = random.Random(zlib.crc32(f"{encoding}|{delimiter}".encode()))  # stable across processes
    rows, _ = export_rows(rng, "taobao", 60, masked=0.2, excel_wrap=True, intl=True)
    rows[3][7] = '女士T恤, "加绒"\n两件装'  # a quoted field with the delimiter, quotes and a line break
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=newline).writerows(rows)
    path = tmp_path / "exports" / "订单导出 2026-11.csv"
    path.parent.mkdir()
    original = bom + buf.getvalue().encode(encoding)
    path.write_bytes(original)
    os.chmod(path, 0o640)
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_123_456_789))
    before = stat.S_IMODE(path.stat().st_mode), path.stat().st_mtime_ns

    dry = run_cli("remediate", "mask", "--lang", "en", str(path), env=qenv)
    assert dry.returncode == 0, dry.stderr
    assert "would mask" in dry.stdout and "dry run: nothing changed" in dry.stdout
    assert path.read_bytes() == original and not Path(qenv["AUDITOR_QUARANTINE_DIR"]).exists()

    res = run_cli("remediate", "mask", "--lang", "en", str(path), "--apply", env=qenv)
    assert res.returncode == 0, res.stderr
    qid = re.search(r"quarantined as ([0-9a-f]{8})", res.stdout).group(1)
    masked = path.read_bytes()
    assert masked.startswith(bom) and masked != original
    assert stat.S_IMODE(path.stat().st_mode) == before[0]
    codec = {"utf-16-le": "utf-16-le"}.get(encoding, encoding)
    new_rows = _rows_of(masked[len(bom):], codec, delimiter)
    old_rows = _rows_of(original[len(bom):], codec, delimiter)
    assert len(new_rows) == len(old_rows) and new_rows[0] == old_rows[0]
    head = old_rows[0]
    kept = [i for i, h in enumerate(head) if h not in ("收货人姓名", "联系手机", "收货地址")]
    for old, new in zip(old_rows[1:], new_rows[1:]):
        assert [old[i] for i in kept] == [new[i] for i in kept]  # other columns untouched
        name, mob, addr = (new[head.index(h)] for h in ("收货人姓名", "联系手机", "收货地址"))
        assert "*" in name and name[0] == old[head.index("收货人姓名")][0]
        assert re.search(r"\*{4,}", mob) and len(re.sub(r"\D", "", mob)) <= 5  # at least 6 digits hidden
        assert not RULES.room.search(addr)  # building/unit/room gone
    # byte-level: only the changed fields differ; line ends and quoting are kept
    assert masked.count(newline.encode(codec)) == original.count(newline.encode(codec))
    assert _scan_records(tmp_path, path.parent, qenv) == []

    # the quarantine is owner-only and holds the original
    qdir = Path(qenv["AUDITOR_QUARANTINE_DIR"])
    for p in [qdir, *qdir.rglob("*")]:
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p
    listing = run_cli("remediate", "list", "--lang", "en", env=qenv)
    assert qid in listing.stdout and str(path) in listing.stdout

    res = run_cli("remediate", "restore", "--lang", "en", qid, "--apply", env=qenv)
    assert res.returncode == 0, res.stderr
    assert path.read_bytes() == original
    assert (stat.S_IMODE(path.stat().st_mode), path.stat().st_mtime_ns) == before
    assert _items(qenv) == [] and "empty" in run_cli("remediate", "list", "--lang", "en", env=qenv).stdout


def test_xlsx_mask_keeps_other_cells_sheets_and_styles(tmp_path, qenv):
    import openpyxl
    from openpyxl.styles import Font

    rng = random.Random(21)
    rows, _ = export_rows(rng, "idcard", 40)
    path = tmp_path / "员工名单.xlsx"
    write_xlsx(path, {"名单": rows, "说明": [["备注", "数量"], ["本表仅供内部使用", "42"]]})
    wb = openpyxl.load_workbook(path)
    wb["名单"]["A1"].font = Font(bold=True)
    wb["说明"]["B3"] = "=B2*2"
    wb.save(path)
    original = path.read_bytes()

    res = run_cli("remediate", "mask", "--lang", "en", str(path), "--apply", env=qenv)
    assert res.returncode == 0, res.stderr + res.stdout
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["名单", "说明"]
    assert wb["名单"]["A1"].font.bold and wb["名单"]["A1"].value == "姓名"
    assert [[c.value for c in r] for r in wb["说明"].iter_rows()] == [["备注", "数量"], ["本表仅供内部使用", "42"],
                                                                     [None, "=B2*2"]]
    for r, row in enumerate(wb["名单"].iter_rows(min_row=2, values_only=True)):
        name, idn, mob, addr = (str(v) for v in row)
        assert "*" in name and "*" in idn and idn[6:14].count("*") == 8 and "*" in mob and "****" in addr
    assert _scan_records(tmp_path, tmp_path, qenv) == []
    qid = re.search(r"quarantined as ([0-9a-f]{8})", res.stdout).group(1)
    assert run_cli("remediate", "restore", "--lang", "en", qid[:5], "--apply", env=qenv).returncode == 0
    assert path.read_bytes() == original


def test_mask_from_report(tmp_path, qenv):
    rng = random.Random(4)
    folder = tmp_path / "Desktop"
    a = write_csv(folder / "a.csv", export_rows(rng, "pdd", 30)[0], encoding="gb18030")
    b = write_xlsx(folder / "b.xlsx", {"S": export_rows(rng, "jd", 30)[0]})
    before = {a: a.read_bytes(), b: b.read_bytes()}
    c = write_csv(folder / "catalog.csv", decoy_rows(rng, "catalog"))
    catalog = c.read_bytes()
    report = tmp_path / "r.json"
    assert run_cli("scan", "--only", "files", "--path", str(folder), "-q", "--fail-on", "none", "-o", str(report),
                   env=qenv).returncode == 0
    res = run_cli("remediate", "mask", "--lang", "en", "--from-report", str(report), "--apply", env=qenv)
    assert res.returncode == 0, res.stderr + res.stdout
    assert res.stdout.count("masked ") == 2 and c.read_bytes() == catalog
    assert _scan_records(tmp_path, folder, qenv) == []
    assert len(_items(qenv)) == 2 and all(p.read_bytes() != data for p, data in before.items())
    for item in _items(qenv):
        assert run_cli("remediate", "restore", "--lang", "en", item.name, "--apply", env=qenv).returncode == 0
    assert all(p.read_bytes() == data for p, data in before.items())

    data = json.loads(report.read_text(encoding="utf-8"))
    data["findings"][0]["evidence"]["path"] = "/etc/passwd"  # an altered report is never acted on
    report.write_text(json.dumps(data), encoding="utf-8")
    res = run_cli("remediate", "mask", "--from-report", str(report), "--apply", "--lang", "en", env=qenv)
    assert res.returncode == 2 and "refusing" in res.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="names that are not valid UTF-8 exist on POSIX file systems only")
def test_mask_from_report_finds_names_that_are_not_utf8(tmp_path, qenv):
    """A GBK name unpacked on Linux (b'\\xb6\\xa9\\xb5\\xa5.csv', 订单.csv), one holding a person's name and
    mobile, and a Linux name holding a backslash: scanned, then masked from the report that found them."""
    folder = tmp_path / "Desktop"
    folder.mkdir()
    raw = os.fsencode(folder)
    names = [b"\xb6\xa9\xb5\xa5.csv", "张三13812345678.csv".encode("gbk"), b"7\xd4\xc2\\orders.csv"]
    paths = []
    for i, name in enumerate(names):
        path = Path(os.fsdecode(os.path.join(raw, name)))
        write_csv(path, export_rows(random.Random(10 + i), "pdd", 20)[0], encoding="gb18030")
        paths.append(path)
    before = {p: p.read_bytes() for p in paths}
    report = tmp_path / "report.json"
    res = run_cli("scan", "--only", "files", "--path", str(folder), "-q", "--fail-on", "none", "-o", str(report),
                  env=qenv)
    assert res.returncode == 0, res.stderr
    shown = {f["target"]["label"] for f in json.loads(report.read_text(encoding="utf-8"))["findings"]}
    assert shown == {"订单.csv", "张*138******78.csv", "7月\\orders.csv"}  # decoded, masked, cut at / only
    assert "13812345678" not in report.read_text(encoding="utf-8")
    res = run_cli("remediate", "mask", "--lang", "en", "--from-report", str(report), "--apply", env=qenv)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("masked ") == 3 and "no longer there" not in res.stdout
    assert "masked " + str(folder) + "/订单.csv" in res.stdout
    assert all(p.read_bytes() != data for p, data in before.items())
    assert _scan_records(tmp_path, folder, qenv) == []
    for item in _items(qenv):
        assert run_cli("remediate", "restore", "--lang", "en", item.name, "--apply", env=qenv).returncode == 0
    assert all(p.read_bytes() == data for p, data in before.items())


def test_bad_input_clear_messages_nothing_lost(tmp_path, qenv):
    res = run_cli("remediate", "restore", "abcd1234", "--lang", "en", env=qenv)
    assert res.returncode == 2 and "no quarantined file with ID abcd1234" in res.stderr
    res = run_cli("remediate", "restore", "xyz", "--lang", "en", env=qenv)
    assert res.returncode == 2 and "not a quarantine ID" in res.stderr
    res = run_cli("remediate", "mask", str(tmp_path / "missing.csv"), "--lang", "en", env=qenv)
    assert res.returncode == 2 and "no such file" in res.stderr
    assert run_cli("remediate", env=qenv).returncode == 2
    # a folder or a device is named as what it is (it once read "no such file", then "no extension")
    folder = tmp_path / "exports"
    folder.mkdir()
    for path, said in ((folder, "a folder, not a file that can be masked; give the export files in it"),
                       (Path("/dev/null"), "a character device, not a file that can be masked")):
        res = run_cli("remediate", "mask", "--lang", "en", str(path), "--apply", env=qenv)
        assert res.returncode == 1 and f"cannot mask {path}: {said}" in res.stdout, res.stdout
        assert "no such file" not in res.stdout + res.stderr and "extension" not in res.stdout

    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    res = run_cli("remediate", "mask", "--lang", "en", str(legacy), "--apply", env=qenv)
    assert res.returncode == 1 and "save the file as .xlsx" in res.stdout and legacy.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"

    decoy = write_csv(tmp_path / "catalog.csv", decoy_rows(random.Random(1), "catalog"))
    res = run_cli("remediate", "mask", "--lang", "en", str(decoy), "--apply", env=qenv)
    assert res.returncode == 0 and "nothing to mask" in res.stdout and _items(qenv) == []
    # an export masked by the platform with only 4 digits hidden is masked again to the 6-digit rule, once
    weak = write_csv(tmp_path / "weak.csv", export_rows(random.Random(1), "jd", 20, masked=1.0)[0])
    res = run_cli("remediate", "mask", "--lang", "en", str(weak), "--apply", env=qenv)
    assert res.returncode == 0 and "columns 联系电话 (mobile)" in res.stdout
    assert not re.search(r"1\d\d\*{4}\d{4}", weak.read_text(encoding="utf-8"))
    res = run_cli("remediate", "mask", "--lang", "en", str(weak), "--apply", env=qenv)
    assert res.returncode == 0 and "nothing to mask" in res.stdout and len(_items(qenv)) == 1
    assert run_cli("remediate", "restore", "--lang", "en", _items(qenv)[0].name, "--apply", env=qenv).returncode == 0

    target = write_csv(tmp_path / "target.csv", export_rows(random.Random(3), "pdd", 10)[0])
    (tmp_path / "link.csv").symlink_to(target)
    os.link(target, tmp_path / "hard.csv")
    for name, why in (("link.csv", "symbolic link"), ("hard.csv", "2 hard links")):
        res = run_cli("remediate", "mask", "--lang", "en", str(tmp_path / name), "--apply", env=qenv)
        assert res.returncode == 1 and why in res.stdout and _items(qenv) == []

    # restoring over a file someone changed after masking is refused; both versions are kept
    path = write_csv(tmp_path / "x.csv", export_rows(random.Random(2), "taobao", 20)[0])
    original = path.read_bytes()
    res = run_cli("remediate", "mask", "--lang", "en", str(path), "--apply", env=qenv)
    qid = re.search(r"quarantined as ([0-9a-f]{8})", res.stdout).group(1)
    path.write_bytes(path.read_bytes() + b"new line,added,later\r\n")
    edited = path.read_bytes()
    res = run_cli("remediate", "restore", "--lang", "en", qid, "--apply", env=qenv)
    assert res.returncode == 1 and "was changed after it was masked" in res.stderr
    assert path.read_bytes() == edited
    assert (_items(qenv)[0] / "original.csv").read_bytes() == original
    path.unlink()  # moved away: now it can be restored
    assert run_cli("remediate", "restore", "--lang", "en", qid, "--apply", env=qenv).returncode == 0
    assert path.read_bytes() == original


# --------------------------------------------------------------------------- crash tests (real SIGKILL)

def _start(args: list[str], env: dict, pause_at: str | None, pause_file: Path) -> subprocess.Popen:
    extra = {"AUDITOR_TEST_PAUSE_AT": pause_at, "AUDITOR_TEST_PAUSE_FILE": str(pause_file)} if pause_at else {}
    return subprocess.Popen([sys.executable, "-m", "auditor", "remediate", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=child_env({**env, **extra}))


def _kill_at(args: list[str], env: dict, step: str, tmp: Path) -> None:
    pause = tmp / f"paused-{time.time_ns()}"
    proc = _start(args, env, step, pause)
    deadline = time.time() + 60
    while not pause.exists():
        if proc.poll() is not None:
            raise AssertionError(f"finished before {step}: {proc.stdout.read()} {proc.stderr.read()}")
        assert time.time() < deadline, f"never reached {step}"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _big_export(tmp: Path, name: str = "大订单.csv", rows: int = 9000) -> tuple[Path, bytes]:
    path = write_csv(tmp / "exports" / name, export_rows(random.Random(rows), "erp", rows)[0], encoding="gb18030")
    assert path.stat().st_size > 1 << 20  # more than one copy chunk: "mask:copying" is mid-copy
    return path, path.read_bytes()


def _original_is_safe(path: Path, original: bytes, env: dict) -> None:
    digest = hashlib.sha256(original).hexdigest()
    here = path.exists() and sha(path) == digest
    kept = any(sha(f) == digest for item in _items(env) for f in item.glob("original.*"))
    assert here or kept, "the original is neither in place nor in the quarantine"


def _no_temp_files(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


MASK_STEPS = {  # step -> state after recovery
    "mask:begun": "original", "mask:copying": "original", "mask:original-copied": "original",
    "mask:ready": "masked", "mask:temp-written": "masked", "mask:replaced": "masked",
}


@pytest.mark.slow
@pytest.mark.parametrize("step", list(MASK_STEPS))
def test_kill_during_mask_loses_nothing(tmp_path, qenv, step):
    path, original = _big_export(tmp_path)
    _kill_at(["mask", str(path), "--apply"], qenv, step, tmp_path)
    _original_is_safe(path, original, qenv)
    res = run_cli("remediate", "list", "--lang", "en", env=qenv)  # any remediate command recovers first
    assert res.returncode == 0, res.stderr
    assert "recovered:" in res.stdout
    _original_is_safe(path, original, qenv)
    _no_temp_files(path.parent)
    assert not list((Path(qenv["AUDITOR_QUARANTINE_DIR"]) / "journal").iterdir())
    if MASK_STEPS[step] == "original":
        assert path.read_bytes() == original and _items(qenv) == []
        res = run_cli("remediate", "mask", "--lang", "en", str(path), "--apply", env=qenv)  # a rerun now succeeds
        assert res.returncode == 0, res.stdout + res.stderr
    assert path.read_bytes() != original and len(_items(qenv)) == 1
    assert _scan_records(tmp_path, path.parent, qenv) == []
    qid = _items(qenv)[0].name
    assert run_cli("remediate", "restore", "--lang", "en", qid, "--apply", env=qenv).returncode == 0
    assert path.read_bytes() == original


RESTORE_STEPS = {"restore:begun": "masked", "restore:temp-written": "masked", "restore:replaced": "original",
                 "restore:cleanup": "original"}


@pytest.mark.slow
@pytest.mark.parametrize("step", list(RESTORE_STEPS))
def test_kill_during_restore_loses_nothing(tmp_path, qenv, step):
    path, original = _big_export(tmp_path)
    res = run_cli("remediate", "mask", "--lang", "en", str(path), "--apply", env=qenv)
    assert res.returncode == 0, res.stderr
    masked = path.read_bytes()
    qid = _items(qenv)[0].name
    _kill_at(["restore", qid, "--apply"], qenv, step, tmp_path)
    _original_is_safe(path, original, qenv)
    res = run_cli("remediate", "list", "--lang", "en", env=qenv)
    assert res.returncode == 0 and "recovered:" in res.stdout
    _no_temp_files(path.parent)
    if RESTORE_STEPS[step] == "masked":
        assert path.read_bytes() == masked and [i.name for i in _items(qenv)] == [qid]
        assert run_cli("remediate", "restore", "--lang", "en", qid, "--apply", env=qenv).returncode == 0  # run again: done
    assert path.read_bytes() == original and _items(qenv) == []


@pytest.mark.slow
def test_random_kills_during_mask_and_restore(tmp_path, qenv):
    """Three exports (two large CSVs, an XLSX) masked and restored in one command each, killed at random
    moments until each command gets through; after every kill nothing is lost."""
    rng = random.Random(2026)
    a, a0 = _big_export(tmp_path, "a.csv", 12000)
    b, b0 = _big_export(tmp_path, "b.csv", 9000)
    c = write_xlsx(tmp_path / "exports" / "c.xlsx", {"S": export_rows(random.Random(3), "douyin", 3000)[0]})
    c0 = c.read_bytes()
    files = [(a, a0), (b, b0), (c, c0)]
    kills = 0
    for phase in ("mask", "restore"):
        for attempt in range(12):
            if phase == "mask":
                args = ["mask", *(str(p) for p, _ in files), "--apply"]
            else:
                ids = [i.name for i in _items(qenv)]
                if not ids:
                    break
                args = ["restore", ids[0], "--apply"]
            proc = _start(args, qenv, None, tmp_path / "unused")
            delay = rng.uniform(0.02, 1.2)
            try:
                proc.wait(delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
            for p, data in files:
                _original_is_safe(p, data, qenv)
            assert run_cli("remediate", "list", "--lang", "en", env=qenv).returncode == 0  # recover
            for p, data in files:
                _original_is_safe(p, data, qenv)
                _no_temp_files(p.parent)
            if phase == "mask" and proc.returncode == 0:
                break
    assert kills >= 2  # the test really interrupted work
    # finish whatever is left, then everything is back byte for byte
    for item in _items(qenv):
        assert run_cli("remediate", "restore", "--lang", "en", item.name, "--apply", env=qenv).returncode == 0
    for p, data in files:
        assert p.read_bytes() == data, p
    assert _items(qenv) == []
