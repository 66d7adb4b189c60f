"""The files area end to end: a realistic office tree, real encodings and containers, decoys, bad input,
incremental rescans, and no personal data leaking into our own outputs."""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from clirun import child_env
from conftest import load_report, run_cli
from exportgen import decoy_rows, export_rows, write_csv, write_xlsx, write_zip


def _csv_bytes(rows, encoding="utf-8", delimiter=","):
    import csv

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(encoding)


@pytest.fixture
def office(tmp_path):
    """An office tree with known content: {relative target: expected records} for the real exports."""
    rng = random.Random(20261126)
    root = tmp_path / "office"
    expected: dict[str, int] = {}
    secrets: list[str] = []

    def export(rel, layout, n, encoding="utf-8", masked=0.0, delimiter=",", **kw):
        rows, exp = export_rows(rng, layout, n, masked=masked, **kw)
        write_csv(root / rel, rows, encoding=encoding, delimiter=delimiter)
        secrets.extend(c for r in rows[1:] for c in r if c.isdigit() and len(c) in (11, 18))
        if exp >= 5 or (layout == "idcard" and exp):
            expected[rel] = exp
        return rows

    export("Desktop/淘宝订单导出_20261101.csv", "taobao", 320, encoding="gbk", excel_wrap=True)
    export("Desktop/抖店订单.csv", "douyin", 80, encoding="utf-8-sig")
    export("Downloads/京东POP订单.csv", "jd", 45, encoding="gb18030")
    export("Downloads/pdd_orders.txt", "pdd", 60, encoding="utf-16", delimiter="\t")
    export("Documents/erp/聚水潭发货单.tsv", "erp", 700, encoding="utf-16-be", delimiter="\t")
    export("Documents/english_export.csv", "english", 30, intl=True)
    export("Documents/实名登记.csv", "idcard", 3)  # only 3 rows, but ID numbers: a finding
    export("Documents/已脱敏订单.csv", "taobao", 100, masked=1.0)  # compliant
    export("Documents/部分脱敏.csv", "pdd", 100, masked=0.5)
    export("Documents/headerless.csv", "erp", 50, header=False)
    # PI only on the second sheet of a workbook, mobiles stored as numbers
    rows2, exp2 = export_rows(rng, "douyin", 120)
    write_xlsx(root / "Desktop/发货汇总.xlsx", {"汇总": [["日期", "单量"], ["2026-11-01", "120"]], "明细": rows2})
    expected["Desktop/发货汇总.xlsx"] = exp2
    # a zip with a CSV and a nested zip holding an XLSX
    rows3, exp3 = export_rows(rng, "taobao", 40)
    rows4, exp4 = export_rows(rng, "jd", 25)
    inner_x = root / "tmp-inner.xlsx"
    write_xlsx(inner_x, {"Sheet1": rows4})
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("jd.xlsx", inner_x.read_bytes())
    inner_x.unlink()
    write_zip(root / "Downloads/订单打包.zip", {"orders.csv": _csv_bytes(rows3, "gbk"), "more.zip": inner.getvalue(),
                                                "readme.md": b"no"})
    expected["Downloads/订单打包.zip!orders.csv"] = exp3
    expected["Downloads/订单打包.zip!more.zip!jd.xlsx"] = exp4
    # decoys
    for kind in ("catalog", "catalog_headerless", "inventory", "bank", "sender_only", "notice"):
        write_csv(root / f"Documents/decoys/{kind}.csv", decoy_rows(rng, kind))
    write_csv(root / "Documents/decoys/app.log.txt", decoy_rows(rng, "log"))
    write_xlsx(root / "Documents/decoys/库存.xlsx", {"库存": decoy_rows(rng, "inventory")})
    return root, expected, secrets


def _scan(tmp_path, *paths, extra=(), state=None):
    out = tmp_path / f"r{len(list(tmp_path.glob('r*.json')))}.json"
    env = {"AUDITOR_STATE_DIR": str(state or tmp_path / "state")}
    args = ["scan", "--only", "files", "-q", "-o", str(out), *extra]
    for p in paths:
        args += ["--path", str(p)]
    res = run_cli(*args, env=env)
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    return load_report(out), out, res


def _by_target(report, root):
    return {f["target"]["ref"].replace(str(root) + os.sep, "").replace(os.sep, "/"): f
            for f in report["findings"] if f["area"] == "files"}


def test_office_tree_findings_and_counts(office, tmp_path):
    root, expected, secrets = office
    report, out, res = _scan(tmp_path, root)
    found = _by_target(report, root)
    assert set(found) == set(expected), (set(found) ^ set(expected))
    for target, exp in expected.items():
        ev = found[target]["evidence"]
        assert ev["records"] == exp, (target, ev["records"], exp)
        assert len(ev["samples"]) <= 3 and all("*" in s for s in ev["samples"])
    ids = found["Documents/实名登记.csv"]
    assert ids["check_id"] == "PI-002" and ids["severity"] == "critical"
    big = found["Documents/erp/聚水潭发货单.tsv"]
    assert big["severity"] == "critical" and big["check_id"] == "PI-001"  # ≥ 500 records
    small = found["Downloads/京东POP订单.csv"]
    assert small["severity"] == "high"
    sheet = found["Desktop/发货汇总.xlsx"]["evidence"]["sheets"]
    assert [s["name"] for s in sheet] == ["汇总", "明细"] and sheet[1]["records"] == expected["Desktop/发货汇总.xlsx"]
    partial = found["Documents/部分脱敏.csv"]["evidence"]
    assert 0.3 < partial["masked_share"] < 0.7
    gbk = found["Desktop/淘宝订单导出_20261101.csv"]["evidence"]
    assert gbk["kinds"]["mobile"] == "unmasked" and gbk["kinds"]["name"] == "unmasked"
    assert {c["kind"] for s in gbk["sheets"] for c in s["columns"]} >= {"mobile", "name", "address", "tracking"}
    assert gbk["sha256"] and len(gbk["sha256"]) == 64
    total = sum(expected.values())
    assert report["files_summary"]["unmasked_records"] == total
    assert report["files_summary"]["over_sensitive_threshold"] is True
    # we must not become the leak
    text = out.read_text(encoding="utf-8") + res.stdout + res.stderr
    assert not [s for s in secrets if s in text]
    db = (tmp_path / "state" / "files.sqlite").read_bytes()
    assert not [s for s in secrets if s.encode() in db]
    assert (out.stat().st_mode & 0o777) == 0o600
    assert ((tmp_path / "state" / "files.sqlite").stat().st_mode & 0o777) == 0o600


def test_sixty_files_are_sixty_examined_everywhere(tmp_path):
    """A folder of 60 files: the files area counts 60 in `areas[].examined`, in the per-area tables of the HTML and
    Markdown reports, and the terminal names the source once (`files:content`, never `files:files:content`)."""
    root = tmp_path / "exports"
    rng = random.Random(60)
    for i in range(60):
        write_csv(root / f"d{i // 20}" / f"订单{i}.csv", export_rows(rng, "taobao", 3)[0] if i % 3 == 0
                  else decoy_rows(rng, "log", 3))
    out = tmp_path / "r"
    res = run_cli("scan", "--only", "files", "--path", str(root), "--lang", "en", "--fail-on", "none",
                  "-o", f"{out}.json", "-o", f"{out}.html", "-o", f"{out}.md",
                  env={"AUDITOR_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"})
    assert res.returncode == 0, res.stderr
    report = load_report(Path(f"{out}.json"))
    files = next(a for a in report["areas"] if a["area"] == "files")
    assert files["examined"] == 60 and files["state"] == "assessed"
    assert next(c for c in report["coverage"] if c["source"] == "files:content")["examined"] == 60

    label = "Unmasked waybill/order files"
    md = Path(f"{out}.md").read_text(encoding="utf-8")
    area_rows = [r.split(" | ") for r in md.splitlines() if r.startswith(f"| {label} | ") and "files:" not in r
                 and "root:" not in r]
    assert len(area_rows) == 1 and area_rows[0][3] == "60", area_rows  # area | state | findings | examined
    html = Path(f"{out}.html").read_text(encoding="utf-8")
    cell = re.search(rf'<td data-label="Area">{label}</td>.*?<td class="num" data-label="Examined">(\d+)</td>', html)
    assert cell and cell.group(1) == "60"

    assert "files:files:content" not in res.stdout and "files:content" in res.stdout


def test_incremental_rescan_and_full(office, tmp_path):
    root, expected, _ = office
    first, _, _ = _scan(tmp_path, root)
    n_files = next(c for c in first["coverage"] if c["source"] == "files:content")["examined"]
    second, _, _ = _scan(tmp_path, root)
    cov = next(c for c in second["coverage"] if c["source"] == "files:content")
    assert cov["note"].startswith(f"0 files read, {n_files} unchanged")
    assert {f["id"] for f in second["findings"]} == {f["id"] for f in first["findings"]}
    assert all(f["evidence"].get("from_incremental_state") for f in second["findings"])
    # change one file, delete another
    target = root / "Downloads/京东POP订单.csv"
    target.write_bytes(target.read_bytes() + "\r\n".encode("gb18030"))
    (root / "Desktop/抖店订单.csv").unlink()
    third, _, _ = _scan(tmp_path, root)
    cov = next(c for c in third["coverage"] if c["source"] == "files:content")
    assert cov["note"].startswith(f"1 files read, {n_files - 2} unchanged")
    assert "Desktop/抖店订单.csv" not in _by_target(third, root)
    # the state names no file (keyed hashes); the deleted file's row is gone
    from auditor.files.state import FileState

    state = FileState(tmp_path / "state" / "files.sqlite")
    keys = {k for (k,) in state.db.execute("SELECT key FROM files")}
    state.close()
    assert state.key(root / "Desktop/抖店订单.csv") not in keys and state.key(target) in keys
    full, _, _ = _scan(tmp_path, root, extra=("--full",))
    cov = next(c for c in full["coverage"] if c["source"] == "files:content")
    assert cov["note"].startswith(f"{n_files - 1} files read, 0 unchanged")


def _encrypted_xlsx(path: Path, rows) -> None:
    import msoffcrypto.format.ooxml as ooxml

    plain = path.with_suffix(".plain.xlsx")
    write_xlsx(plain, {"S": rows})
    with open(plain, "rb") as fh, open(path, "wb") as out:
        ooxml.OOXMLFile(fh).encrypt("secret-pass", out)
    plain.unlink()


def test_bad_input_never_stops_the_scan(tmp_path):
    rng = random.Random(7)
    root = tmp_path / "bad"
    rows, exp = export_rows(rng, "taobao", 30)
    write_csv(root / "good.csv", rows)
    (root / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + os.urandom(2000))
    good_zip = write_zip(tmp_path / "z.zip", {"a.csv": _csv_bytes(rows)})
    (root / "truncated.zip").write_bytes(good_zip.read_bytes()[:-60])
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("huge.csv", b"0" * (300 << 20))
    (root / "bomb.zip").write_bytes(bomb.getvalue())
    _encrypted_xlsx(root / "加密订单.xlsx", rows)
    enc = bytearray(write_zip(tmp_path / "e.zip", {"secret.csv": _csv_bytes(rows)}).read_bytes())
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set the "encrypted" flag in both headers
        i = enc.find(sig)
        off = i + (6 if sig == b"PK\x03\x04" else 8)
        enc[off] |= 1
    (root / "enc.zip").write_bytes(bytes(enc))
    (root / "binary.csv").write_bytes(bytes(range(256)) * 50)
    (root / "empty.csv").write_bytes(b"")
    (root / "archive.rar").write_bytes(b"Rar!\x1a\x07\x00")
    gbk_name = os.fsencode(str(root)) + os.sep.encode() + "订单导出.csv".encode("gbk")
    with open(gbk_name, "wb") as fh:
        fh.write(_csv_bytes(rows, "gbk"))
    report, out, _ = _scan(tmp_path, root)
    skipped = {s["item"].rsplit("/", 1)[-1]: s["reason"] for c in report["coverage"] for s in c["skipped"]}
    assert "corrupt" in skipped["corrupt.xlsx"]
    assert "corrupt or truncated archive" in skipped["truncated.zip"]
    assert "zip bomb" in skipped.get("bomb.zip!huge.csv", "") or "zip bomb" in skipped.get("bomb.zip", "")
    assert "encrypted" in skipped["加密订单.xlsx"]
    assert "encrypted" in skipped["enc.zip!secret.csv"]
    assert "binary" in skipped["binary.csv"]
    assert "unsupported" in skipped["archive.rar"]
    found = {Path(f["target"]["ref"]).name for f in report["findings"]}
    assert "good.csv" in found and "订单导出.csv" in found  # GBK bytes in a Linux file name, shown decoded


def test_permission_denied_file_is_reported(tmp_path):
    """Root without the capabilities that bypass file permissions meets a 000 file like any user."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop the permission-bypass capabilities")
    rng = random.Random(9)
    root = tmp_path / "perm"
    rows, _ = export_rows(rng, "jd", 20)
    write_csv(root / "ok.csv", rows)
    locked = write_csv(root / "locked.csv", rows)
    os.chmod(locked, 0o000)
    out = tmp_path / "r.json"
    res = subprocess.run(["setpriv", "--bounding-set", "-dac_override,-dac_read_search", sys.executable, "-m",
                          "auditor", "scan", "--only", "files", "--path", str(root), "-q", "-o", str(out)],
                         capture_output=True, text=True,
                         env=child_env({"AUDITOR_STATE_DIR": str(tmp_path / "state"),
                                        "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}))
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    skipped = {Path(s["item"]).name: s["reason"] for c in report["coverage"] for s in c["skipped"]}
    assert skipped["locked.csv"] == "permission denied"
    assert {Path(f["target"]["ref"]).name for f in report["findings"]} == {"ok.csv"}


def test_vanishing_files_in_process(tmp_path):
    from auditor.files.file_scan import FileScanner
    from auditor.pii.rules import load_rules

    [outcome] = FileScanner(load_rules()).scan(tmp_path / "gone.csv")
    assert outcome.skipped.startswith("vanished")


def test_symlink_loops_and_other_filesystems_are_not_followed(tmp_path):
    rng = random.Random(11)
    root = tmp_path / "loop"
    rows, exp = export_rows(rng, "pdd", 10)
    write_csv(root / "a" / "orders.csv", rows)
    os.symlink(root, root / "a" / "back-to-root")
    os.symlink(root / "a" / "orders.csv", root / "link.csv")
    report, _, _ = _scan(tmp_path, root)
    assert [Path(f["target"]["ref"]).name for f in report["findings"]] == ["orders.csv"]


def test_default_roots_are_listed_in_coverage(tmp_path):
    """Without --path on Linux: every home folder (here a --root tree with two users)."""
    rng = random.Random(5)
    sysroot = tmp_path / "sys"
    (sysroot / "etc").mkdir(parents=True)
    (sysroot / "etc/passwd").write_text("a:x:1000:1000::/home/a:/bin/sh\nb:x:1001:1001::/home/b:/bin/sh\n")
    rows, _ = export_rows(rng, "erp", 12)
    write_csv(sysroot / "home/a/桌面/发货.csv", rows)
    write_csv(sysroot / "home/b/.cache/x.csv", rows)  # skipped folder
    (sysroot / "home/b").mkdir(exist_ok=True)
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "files", "--root", str(sysroot), "-q", "-o", str(out),
                  env={"AUDITOR_STATE_DIR": str(tmp_path / "st")})
    assert res.returncode == 1
    report = load_report(out)
    roots = [c["source"] for c in report["coverage"] if c["source"].startswith("root:")]
    assert roots == [f"root:{sysroot / 'home/a'}", f"root:{sysroot / 'home/b'}"]
    assert [Path(f["target"]["ref"]).name for f in report["findings"]] == ["发货.csv"]


def test_default_windows_roots_on_an_offline_windows_disk(tmp_path):
    """Without --path on a Windows tree: Desktop, Downloads, WeChat FileStorage... of every user."""
    rng = random.Random(12)
    c = tmp_path / "C"
    (c / "Windows/System32").mkdir(parents=True)
    rows, exp = export_rows(rng, "taobao", 15)
    write_csv(c / "Users/zhang/Desktop/订单.csv", rows, encoding="gbk")
    write_xlsx(c / "Users/zhang/Documents/WeChat Files/wxid_ab12/FileStorage/File/2026-11/面单.xlsx", {"S": rows})
    write_csv(c / "Users/li/Downloads/export.csv", rows)
    write_csv(c / "Users/li/AppData/Local/cache.csv", rows)  # not an export folder
    write_csv(c / "Windows/Temp/x.csv", rows)
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "files", "--root", str(c), "-q", "-o", str(out),
                  env={"AUDITOR_STATE_DIR": str(tmp_path / "st")})
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    names = sorted(Path(f["target"]["ref"]).name for f in report["findings"])
    assert names == ["export.csv", "订单.csv", "面单.xlsx"]
    roots = [c_["source"] for c_ in report["coverage"] if c_["source"].startswith("root:")]
    # the WeChat folder lies inside Documents, which is walked whole
    assert any(r.endswith("zhang/Documents") for r in roots) and any(r.endswith("zhang/Desktop") for r in roots)


def test_archive_members_are_labelled_with_the_archive_to_open(tmp_path):
    """`orders.zip › 7月/x.csv`: the label names the archive first, in every output and on the terminal; the
    path and the finding's id stay as they were (``…orders.zip!7月/x.csv``)."""
    rows = export_rows(random.Random(8), "pdd", 30)[0]
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("jd.csv", _csv_bytes(rows))
    root = tmp_path / "Downloads"
    write_zip(root / "orders.zip", {"7月/x.csv": _csv_bytes(rows), "more.zip": inner.getvalue()})
    out = tmp_path / "out"
    out.mkdir()
    res = run_cli("scan", "--only", "files", "--path", str(root), "--fail-on", "none", "--lang", "en",
                  *(a for ext in ("json", "html", "md", "csv") for a in ("-o", str(out / f"r.{ext}"))),
                  env={"COLUMNS": "250"})
    assert res.returncode == 0, res.stderr
    report = load_report(out / "r.json")
    labels = {f["target"]["label"]: f for f in report["findings"]}
    assert set(labels) == {"orders.zip › 7月/x.csv", "orders.zip › more.zip › jd.csv"}
    x = labels["orders.zip › 7月/x.csv"]
    assert x["target"]["ref"].endswith("orders.zip!7月/x.csv") and x["subject"]["name"] == "orders.zip › 7月/x.csv"
    assert "orders.zip › 7月/x.csv (30 records of people)" in x["title"]["en"]
    for label in labels:
        assert label in res.stdout, res.stdout
        for ext in ("html", "md", "csv"):
            assert label in (out / f"r.{ext}").read_text(encoding="utf-8-sig"), ext
    # an archive's member cannot be masked in place: remediate names the archive to unpack
    res = run_cli("remediate", "mask", "--lang", "en", "--from-report", str(out / "r.json"), env={
        "AUDITOR_QUARANTINE_DIR": str(tmp_path / "q"), "AUDITOR_STATE_DIR": str(tmp_path / "s")})
    assert res.returncode == 1 and "orders.zip" in res.stdout and "unpack the archive" in res.stdout
