"""We must not become the leak: personal data planted in file and folder names, and secrets planted on command
lines, never reach any output, log, event file, state database or bundle — and the files can still be found
again and masked.

The local user names folders and files after people (``张三13812345678/收件人_110101199003071234.csv``, a
GBK-encoded name, a Linux name holding ``\\``), and starts tunnels whose command lines carry tokens in every form
the tools take. Every command of the agent is then run for real and everything it wrote or printed is searched
for the planted values (also hex-encoded, as a locator would hold them, and as GBK bytes escaped)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from conftest import Spawner
from hostilekit import assert_no_leak, auditor, give_to_user, is_root, state_env

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file names and processes")

# ------------------------------------------------------------------------------------------ what is planted

NAME_MOBILES = ["13812345678", "13912345679", "13700001111", "15012345678", "15112345678", "18612345670"]
NAME_IDS = ["110101199003071234", "110101199003071233"]  # the first's check digit is wrong: still a person's
NAME_PEOPLE = ["张三", "王小明", "李四", "赵六", "刘洋"]
CONTENT = [  # rows inside the exports (shown masked in samples only)
    ("钱多多", "13512340001", "330782199001011236", "浙江省金华市义乌市稠城街道工人路12号3栋2单元501室"),
    ("孙一鸣", "13612340002", "330782198502023451", "浙江省宁波市余姚市阳明街道新建路8号1栋1单元101室"),
    ("周小梅", "13712340003", "330782199203034567", "浙江省金华市义乌市北苑街道春晗路3号5栋3单元302室"),
    ("吴大伟", "13812340004", "330782198804045675", "浙江省杭州市余杭区仓前街道文一西路9号2栋1单元801室"),
    ("郑晓燕", "13912340005", "330782199505056789", "浙江省金华市义乌市江东街道宗泽路5号6栋2单元602室"),
    ("冯志强", "15012340006", "330782198706067897", "浙江省宁波市余姚市凤山街道南雷路7号4栋1单元401室"),
]
SECRETS = ["s3cr3tT0kenA1", "Zx9tokEqualsB2", "Qw8authSpaceC3", "pw4UserInfoD4", "Env5TokenE5xx", "Attached777token",
           "2AbCdEfGhIjKlMnOpQrStUvWx_3AbCdEfGhIjKlMnOpQr", "NgrokV2tokenF6", "CpolarTok7G7"]


def _fix_ids() -> None:
    """Give the content ID numbers a valid check digit, so the file scan counts them as ID numbers."""
    from auditor.pii.cells import id_check_char

    for i, (n, m, idn, a) in enumerate(CONTENT):
        CONTENT[i] = (n, m, idn[:17] + id_check_char(idn[:17]), a)


_fix_ids()


def needles() -> list[str]:
    out = NAME_MOBILES + NAME_IDS + NAME_PEOPLE + SECRETS
    out += [c for row in CONTENT for c in row[:3]]
    out += [m.encode().hex() for m in NAME_MOBILES + NAME_IDS]  # a raw-name locator leaking
    out += [n.encode("gbk").decode("utf-8", "backslashreplace") for n in NAME_PEOPLE]  # GBK bytes shown escaped
    return out


def _csv(rows, encoding="utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["收件人", "手机", "身份证号", "收货地址"])
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def plant_files(home: Path) -> dict[str, Path]:
    """The planted exports; returns them by role."""
    files = {}
    pi_dir = home / "张三13812345678"
    pi_dir.mkdir(parents=True)
    files["pi_name"] = pi_dir / "收件人_110101199003071234.csv"
    files["pi_name"].write_bytes(_csv(CONTENT))
    docs = home / "docs"
    docs.mkdir()
    gbk = os.fsencode(docs) + b"/" + "王小明13912345679订单.csv".encode("gbk")
    with open(gbk, "wb") as fh:
        fh.write(_csv(CONTENT, "gbk"))
    files["gbk_name"] = Path(os.fsdecode(gbk))
    files["backslash"] = docs / "备份\\李四_13700001111.csv"
    files["backslash"].write_bytes(_csv(CONTENT[:5]))
    files["valid_id"] = docs / "赵六110101199003071233.csv"
    files["valid_id"].write_bytes(_csv(CONTENT[:5]))
    member = io.BytesIO()
    with zipfile.ZipFile(member, "w") as zf:
        zf.writestr("刘洋18612345670/明细.csv", _csv(CONTENT))
    files["zip"] = home / "订单_15012345678.zip"
    files["zip"].write_bytes(member.getvalue())
    plain = home / "订单导出_20261101.csv"  # a name without personal data: found by its raw bytes
    plain.write_bytes(_csv(CONTENT))
    files["plain"] = plain
    if is_root():
        give_to_user(*[p for p in home.rglob("*")], home)
    return files


class Tunnels(Spawner):
    """Processes named like tunnels (a Python script: the kernel names the process after it) whose command lines
    carry tokens in the forms the tools take."""

    def start(self, name: str, *args: str) -> subprocess.Popen:
        folder = self.base / f"t{len(self.procs)}"
        folder.mkdir(parents=True)
        script = folder / name
        script.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(600)\n", encoding="utf-8")
        script.chmod(0o755)
        self.procs.append(subprocess.Popen([str(script), *args], stdin=subprocess.DEVNULL))
        return self.procs[-1]

    def wait_visible(self) -> None:  # the exe is Python's: wait until the interpreter shows the arguments
        import psutil

        deadline = time.time() + 10
        for p in self.procs:
            while time.time() < deadline:
                try:
                    if psutil.Process(p.pid).cmdline()[-1:] == p.args[-1:]:
                        break
                except (psutil.Error, OSError):
                    pass
                time.sleep(0.02)


@pytest.fixture(scope="module")
def tunnels(tmp_path_factory):
    t = Tunnels(tmp_path_factory.mktemp("tunnels"))
    s = SECRETS
    t.start("frpc", "-t", s[0], f"--token={s[1]}", f"--authtoken {s[2]}", f"http://admin:{s[3]}@relay.example.com:7000",
            f"FRP_TOKEN={s[4]}", f"-t{s[5]}", "-s", "relay.example.com:7000")
    t.start("ngrok", "config", "add-authtoken", s[6])
    t.start("cpolar", "authtoken", s[8])
    t.start("natapp", f"-authtoken={s[7]}")
    t.wait_visible()
    yield t
    t.stop()


def _unzip_all(folder: Path) -> None:
    """XLSX and bundles are ZIP containers: unpack them beside themselves so the search reads their members."""
    for z in list(folder.rglob("*.xlsx")) + list(folder.rglob("*.zip")):
        with zipfile.ZipFile(z) as zf:
            zf.extractall(z.with_name(z.name + ".unpacked"))


OUTPUTS = ("r.json", "r.html", "r.md", "r.xlsx", "r.csv", "r.ecs.ndjson", "r.ocsf.ndjson")


def _scan(base: Path, home: Path, out: Path, *extra: str):
    out.mkdir(exist_ok=True)
    args = ["scan", "--only", "files", "--only", "remote", "--path", str(home), "--lang", "zh", *extra]
    for name in OUTPUTS:
        args += ["-o", str(out / name)]
    return auditor(*args, env=state_env(base))


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, tunnels):
    base = tmp_path_factory.mktemp("leak")
    home = base / "home"
    files = plant_files(home)
    run = _scan(base, home, base / "out")
    return base, home, files, run


# ------------------------------------------------------------------------------------------ scan

def test_scan_outputs_state_and_console_hold_no_planted_data(scanned):
    base, home, files, run = scanned
    assert run.code == 1, run.output
    report = json.loads((base / "out" / "r.json").read_text(encoding="utf-8"))
    pi = [f for f in report["findings"] if f["check_id"] in ("PI-001", "PI-002")]
    labels = {f["target"]["label"] for f in pi}
    # every planted export was found, under its masked name
    assert "收件人_110**************4.csv" in labels
    assert "王**139******79订单.csv" in labels  # the GBK name, decoded and masked
    assert "备份\\李*_137******11.csv" in labels  # a Linux name holding "\": one name, not a folder
    assert "赵*110**************3.csv" in labels
    refs = {f["target"]["ref"] for f in pi}
    assert any(r.endswith("/订单_150******78.zip!刘*186******70/明细.csv") for r in refs), refs
    assert "订单导出_20261101.csv" in labels
    # tunnels were reported with their command lines, secrets masked
    cmdlines = [" ".join(f["evidence"].get("cmdline") or []) for f in report["findings"]]
    assert any("add-authtoken ***" in c for c in cmdlines), cmdlines
    assert any("-t *** --token=*** --authtoken ***" in c and "admin:***@relay" in c and "FRP_TOKEN=***" in c
               and "-t***" in c for c in cmdlines), cmdlines
    _unzip_all(base / "out")
    assert_no_leak(needles(), base / "out", base / "state", text=run.output)


def test_incremental_rescan_state_has_no_names_and_same_findings(scanned, tmp_path):
    base, home, files, run = scanned
    again = _scan(base, home, tmp_path / "again")
    assert again.code == 1, again.output
    first = json.loads((base / "out" / "r.json").read_text(encoding="utf-8"))
    second = json.loads((tmp_path / "again" / "r.json").read_text(encoding="utf-8"))
    ids = lambda r: {f["id"] for f in r["findings"] if f["area"] == "files"}  # noqa: E731
    assert ids(first) == ids(second)
    assert all(f["evidence"].get("from_incremental_state") for f in second["findings"] if f["area"] == "files")
    # the state database names no file and no folder (an archive's members by their masked name inside it)
    import sqlite3

    db = sqlite3.connect(base / "state" / "files.sqlite")
    dump = "\n".join(repr(r) for r in db.execute("SELECT * FROM files"))
    db.close()
    assert "docs" not in dump and "home" not in dump and "订单导出" not in dump and "收件人_" not in dump
    assert "!刘*186******70/明细.csv" in dump
    assert (base / "state" / "files.key").stat().st_mode & 0o777 == 0o600
    _unzip_all(tmp_path / "again")
    assert_no_leak(needles(), tmp_path / "again", base / "state", text=again.output)


def test_state_forgets_what_is_gone_without_storing_paths(tmp_path):
    import time as _time

    from auditor.files.state import FORGET_DAYS, FileState

    db = tmp_path / "state" / "files.sqlite"
    a, b = tmp_path / "a", tmp_path / "b"
    st = FileState(db)
    for root, name in ((a, "x.csv"), (a, "gone.csv"), (b, "y.csv")):
        st.seen(root / name, root)
        st.store(root / name, root, 1, 1, 1, [{"records": 0}])
    st.drop_missing([a, b])
    st.close()
    st = FileState(db)  # next scan: only a/x.csv still there, and only root a scanned
    assert st.lookup(a / "x.csv", 1, 1, 1) == [{"records": 0}]
    st.seen(a / "x.csv", a)
    assert st.drop_missing([a]) == 1  # a/gone.csv; b/y.csv was not under a scanned root
    st.db.execute("UPDATE files SET seen = ? WHERE key = ?", (int(_time.time()) - FORGET_DAYS * 86400 - 1,
                                                             st.key(b / "y.csv")))
    st.drop_missing([a])  # ... until no scan has seen it for FORGET_DAYS
    keys = {k for (k,) in st.db.execute("SELECT key FROM files")}
    st.close()
    assert keys == {st.key(a / "x.csv")}
    (tmp_path / "state" / "files.key").unlink()  # a lost install key: the rows can never match again
    st = FileState(db)
    assert st.db.execute("SELECT COUNT(*) FROM files").fetchone() == (0,)
    st.close()


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes; the data folder's ACL holds on Windows")
def test_an_install_key_others_could_read_is_replaced_and_its_state_forgotten(tmp_path):
    """files.key made readable to everyone (a careless chmod, a restore from a backup): whoever read it could test
    guessed names against the database, so the key is replaced and the rows made with it can never match again;
    the database is made owner-only again too."""
    from auditor.files.state import FileState

    db = tmp_path / "state" / "files.sqlite"
    root = tmp_path / "a"
    st = FileState(db)
    st.seen(root / "x.csv", root)
    st.store(root / "x.csv", root, 1, 1, 1, [{"records": 0}])
    st.close()
    key = tmp_path / "state" / "files.key"
    old = key.read_bytes()
    key.chmod(0o644)
    db.chmod(0o644)
    st = FileState(db)
    assert st.lookup(root / "x.csv", 1, 1, 1) is None
    assert st.db.execute("SELECT COUNT(*) FROM files").fetchone() == (0,)
    st.close()
    assert key.read_bytes() != old
    assert key.stat().st_mode & 0o777 == 0o600 and db.stat().st_mode & 0o777 == 0o600
    st = FileState(db)  # the new key is kept from now on
    st.close()
    assert (tmp_path / "state" / "files.key").read_bytes() != old


def test_old_state_with_raw_paths_is_discarded_and_vacuumed(tmp_path):
    import sqlite3

    state = tmp_path / "state"
    state.mkdir()
    db = sqlite3.connect(state / "files.sqlite")
    db.execute("CREATE TABLE files (path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER, "
               "outcomes TEXT, schema INTEGER)")
    db.executemany("INSERT INTO files VALUES (?, 1, 1, 1, '[]', 1)",
                   [(f"/home/u/张三{m}/x{i}.csv".encode(),) for i, m in enumerate(NAME_MOBILES * 50)])
    db.commit()
    db.close()
    home = tmp_path / "home"
    plant_files(home)
    run = auditor("scan", "--only", "files", "--path", str(home), "-q", "-o", str(tmp_path / "r.json"),
                  env=state_env(tmp_path))
    assert run.code == 1, run.output
    assert_no_leak(NAME_MOBILES + ["张三"], state)  # the raw bytes of the old rows are gone from the file too


def test_an_older_report_with_raw_names_is_not_carried_into_new_outputs(scanned, tmp_path):
    """A report written by an older version (names in clear) used as a baseline or rendered again: the new outputs
    are masked all the same (the guard at the report boundary)."""
    from auditor.integrity import seal

    base, home, files, _ = scanned
    old = json.loads((base / "out" / "r.json").read_text(encoding="utf-8"))
    for f in old["findings"]:
        if f["area"] == "files":
            raw = f"/home/u/张三{NAME_MOBILES[0]}/收件人_{NAME_IDS[1]}.csv"
            f["target"].update(ref=raw, label=raw.rsplit("/", 1)[-1])
            f["evidence"]["path"] = raw
            f["id"] = f["id"][::-1]  # no longer found: listed as resolved, from the old report
    old.pop("integrity")
    seal(old)
    (tmp_path / "old.json").write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    env = state_env(tmp_path)
    rendered = auditor("report", str(tmp_path / "old.json"), "-o", str(out / "again.json"), "-o", str(out / "again.html"),
                       "-o", str(out / "again.md"), "-o", str(out / "again.csv"), env=env)
    assert rendered.code == 0, rendered.output
    rescan = auditor("scan", "--only", "files", "--path", str(home), "--baseline", str(tmp_path / "old.json"),
                     "-o", str(out / "new.json"), "-o", str(out / "new.html"), env=env)
    assert rescan.code == 1, rescan.output
    new = json.loads((out / "new.json").read_text(encoding="utf-8"))
    assert new.get("changes"), "the baseline was compared"
    assert_no_leak(needles(), out, text=rendered.output + rescan.output)


def test_an_undecodable_byte_before_a_number_in_a_name_does_not_unmask_it(tmp_path):
    """A name's byte that is neither UTF-8 nor GBK is shown as \\x81; its hex digits right before a mobile or
    an ID number must not make the number part of a longer one that no pattern takes for a person's."""
    if os.name == "nt":
        pytest.skip("file names are Unicode on Windows")
    home = tmp_path / "home"
    home.mkdir()
    names = [b"\x81" + NAME_MOBILES[0].encode() + b".csv", b"\x95" + NAME_IDS[1].encode() + b".csv",
             b"\xff\x98" + NAME_MOBILES[1].encode() + b"x.csv"]
    for name in names:
        with open(os.fsencode(home) + b"/" + name, "wb") as fh:
            fh.write(_csv(CONTENT))
    out = tmp_path / "out"
    run = _scan(tmp_path, home, out)
    assert run.code == 1, run.output
    report = json.loads((out / "r.json").read_text(encoding="utf-8"))
    labels = {f["target"]["label"] for f in report["findings"] if f["check_id"] in ("PI-001", "PI-002")}
    assert {"\\x81" + NAME_MOBILES[0][:3] + "******" + NAME_MOBILES[0][-2:] + ".csv",
            "\\x95" + NAME_IDS[1][:3] + "*" * 14 + NAME_IDS[1][-1] + ".csv"} <= labels, labels
    _unzip_all(out)
    assert_no_leak(needles(), out, tmp_path / "state", text=run.output)


# ------------------------------------------------------------------------------------------ remediate

def test_mask_from_report_finds_personal_and_gbk_names(tmp_path):
    home = tmp_path / "home"
    files = plant_files(home)
    env = state_env(tmp_path)
    report = tmp_path / "r.json"
    run = auditor("scan", "--only", "files", "--path", str(home), "-q", "-o", str(report), env=env)
    assert run.code == 1, run.output
    shown = report.read_text(encoding="utf-8")
    assert "path_hex" in shown and "masked_path" in shown
    masked = auditor("remediate", "mask", "--lang", "en", "--from-report", str(report), "--apply", env=env)
    # the archive member cannot be masked in place (exit 1, said so); every other file was masked
    assert masked.code == 1, masked.output
    assert "a file inside an archive" in masked.output
    for role in ("pi_name", "gbk_name", "backslash", "valid_id", "plain"):
        data = files[role].read_bytes()  # same name, same place: found again through the masked report
        assert not [m for _, m, _, _ in CONTENT if m.encode() in data], role
    listed = auditor("remediate", "list", "--lang", "en", env=env)
    assert listed.code == 0 and listed.output.count("rows masked") == 5, listed.output
    assert_no_leak(needles(), tmp_path / "state", text=run.output + masked.output + listed.output)


def test_locator_never_picks_another_file(tmp_path):
    """A file put under the masked name, or a copy changed since the scan, is not what the report named."""
    home = tmp_path / "home"
    files = plant_files(home)
    env = state_env(tmp_path)
    report = tmp_path / "r.json"
    auditor("scan", "--only", "files", "--path", str(home), "-q", "-o", str(report), env=env)
    target = files["pi_name"]
    original = target.read_bytes()
    decoy = target.parent.parent / "张*138******78" / "收件人_110**************4.csv"  # the masked path, literally
    decoy.parent.mkdir()
    decoy.write_bytes(original.replace(b"13612340002", b"13612340008"))  # same size, other content
    target.write_bytes(original.replace(b"13512340001", b"13512340009"))  # changed since the report
    run = auditor("remediate", "mask", "--lang", "en", "--from-report", str(report), env=env)
    assert run.code == 1 and "changed since the scan" in run.output, run.output
    assert not [line for line in run.output.splitlines() if "would mask" in line and "收件人_" in line], run.output


# ------------------------------------------------------------------------------------------ watch

def test_watch_events_hold_no_planted_data(tmp_path, tunnels):
    watched = tmp_path / "watched"
    watched.mkdir()
    events = tmp_path / "events.jsonl"
    env = {**os.environ, **state_env(tmp_path), "AUDITOR_PRIORITY": "normal"}
    out, err = open(tmp_path / "w.out", "w+b"), open(tmp_path / "w.err", "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "watch", "--path", str(watched), "--events", str(events),
                             "--interval", "0.5"], stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
    try:
        def wait(pred, what, timeout=60):
            deadline = time.time() + timeout
            while time.time() < deadline:
                lines = [json.loads(x) for x in events.read_text(encoding="utf-8").splitlines()
                         if x.strip()] if events.exists() else []
                if pred(lines):
                    return lines
                assert proc.poll() is None, err.read()
                time.sleep(0.05)
            pytest.fail(f"hung: no {what} within {timeout} s")

        wait(lambda ls: any(x["event"] == "watch_started" for x in ls), "watch_started")
        folder = watched / "刘洋18612345670"
        folder.mkdir()
        (folder / "王小明13912345679.csv").write_bytes(_csv(CONTENT))
        lines = wait(lambda ls: any(x["event"] == "file_finding" for x in ls), "file_finding")
        wait(lambda ls: sum(x["event"] == "remote_tool" for x in ls) >= 3, "remote_tool alerts")
        lines = [json.loads(x) for x in events.read_text(encoding="utf-8").splitlines() if x.strip()]
        found = next(x for x in lines if x["event"] == "file_finding")
        assert found["path"].endswith("刘*186******70/王**139******79.csv"), found["path"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    out.seek(0)
    err.seek(0)
    assert_no_leak(needles(), events, text=out.read().decode("utf-8", "replace") + err.read().decode("utf-8", "replace"))


# ------------------------------------------------------------------------------------------ inspect

def test_inspect_bundle_holds_no_planted_data(tmp_path, tunnels):
    home = tmp_path / "home"
    plant_files(home)
    bundle = tmp_path / "out" / "检查包.zip"
    bundle.parent.mkdir()
    run = auditor("inspect", "--output", str(bundle), "--path", str(home), env=state_env(tmp_path), timeout=150)
    assert run.code in (0, 1) and bundle.exists(), run.output
    _unzip_all(tmp_path / "out")
    assert (tmp_path / "out" / "检查包.zip.unpacked" / "report.json").exists()
    assert_no_leak(needles(), tmp_path / "out", tmp_path / "state", text=run.output)


# ------------------------------------------------------------------------------------------ fleet

def test_fleet_ingest_report_and_export_hold_no_planted_data(scanned, tmp_path):
    base, home, files, _ = scanned
    share = tmp_path / "share"
    share.mkdir()
    (share / "pc1.json").write_bytes((base / "out" / "r.json").read_bytes())
    env = state_env(tmp_path)
    ingest = auditor("fleet", "ingest", str(share), env=env)
    assert ingest.code == 0, ingest.output
    out = tmp_path / "out"
    out.mkdir()
    runs = [ingest, auditor("fleet", "report", "-o", str(out / "fleet.html"), "-o", str(out / "fleet.xlsx"),
                            "-o", str(out / "fleet.md"), env=env)]
    for fmt in ("ecs", "ocsf"):
        runs.append(auditor("fleet", "export", "--format", fmt, "-o", str(out / f"f.{fmt}.ndjson"), env=env))
    assert all(r.code == 0 for r in runs), [r.output for r in runs]
    _unzip_all(out)
    assert_no_leak(needles(), out, tmp_path / "fleet.sqlite", text="".join(r.output for r in runs))


# ------------------------------------------------------------------------------------------ properties

@pytest.mark.parametrize("name, shown", [
    ("张三13812345678.csv", "张*138******78.csv"),
    ("订单_王小明_13812345678.xlsx", "订单_王**_138******78.xlsx"),
    ("13812345678张三丰.csv", "138******78张**.csv"),
    ("收件人(欧阳娜娜)13812345678", "收件人(欧***)138******78"),
    ("+86 138-1234-5678.csv", "138******78.csv"),
    ("138_1234_5678.csv", "138******78.csv"),
    ("１３８１２３４５６７８.csv", "138******78.csv"),  # full-width digits
    ("138\u200b1234\u200b5678.csv", "138******78.csv"),  # zero-width spaces between the groups
    ("tel13812345678.csv", "tel138******78.csv"),
    ("110101199003071234.csv", "110**************4.csv"),  # a wrong check digit: still a person's ID
    ("身份证110101 19900307 123x.txt", "身份证110**************x.txt"),
    ("13812345678_001.csv", "138******78_001.csv"),
    # left alone: dates, versions, order numbers, digests
    ("2026-11-30 13:12:34 导出.csv", "2026-11-30 13:12:34 导出.csv"),
    ("v1.13.1234.5678", "v1.13.1234.5678"),
    ("订单1687654321234567890.csv", "订单1687654321234567890.csv"),
    ("周报2026.csv", "周报2026.csv"),
])
def test_name_variants(name, shown):
    from auditor.leakguard import mask_pi

    assert mask_pi(name) == shown


def test_the_report_guard_leaves_digests_and_locators_alone():
    from auditor.leakguard import scrub

    digest = "ab13812345678" + "0" * 51
    out = scrub({"sha256": digest, "locator": {"path_hex": "3133383132333435363738"}, "note": "13812345678"})
    assert out == {"sha256": digest, "locator": {"path_hex": "3133383132333435363738"}, "note": "138******78"}


MOBILE = st.builds(lambda p, n: p + f"{n:08d}", st.sampled_from(["138", "139", "150", "186", "177", "199"]),
                   st.integers(0, 10 ** 8 - 1))
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Nd")), max_size=12)


@settings(max_examples=300, deadline=None)
@given(before=TEXT, mobile=MOBILE, after=TEXT)
def test_a_mobile_anywhere_in_a_name_is_masked_and_masking_is_idempotent(before, mobile, after):
    from auditor.leakguard import mask_pi

    shown = mask_pi(before + mobile + after)
    assert mobile not in shown
    assert mobile[:3] + "******" + mobile[-2:] in shown
    assert mask_pi(shown) == shown


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs", "Nd")), max_size=40))
def test_text_without_digits_is_left_alone(text):
    from auditor.leakguard import mask_pi

    assert mask_pi(text) == text


@settings(max_examples=200, deadline=None)
@given(before=TEXT, after=TEXT, year=st.integers(1930, 2010), seq=st.integers(0, 999))
def test_an_id_number_in_a_name_is_masked(before, after, year, seq):
    from auditor.leakguard import mask_pi

    idn = f"330782{year}0101{seq:03d}" + "0"
    shown = mask_pi(before + idn + after)
    assert idn not in shown and "330**************0" in shown


@settings(max_examples=200, deadline=None)
@given(secret=st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=6, max_size=30)
       .map(lambda s: "Q" + s), form=st.sampled_from(["-t {s}", "--token={s}", "--authtoken {s}", "-vkey={s}", "FRP_TOKEN={s}",
                             "authtoken {s}", "config add-authtoken {s}", "http://u:{s}@h:1/", "--password {s}",
                             "--api-key={s}", "-pw {s}"]))
def test_every_secret_form_is_masked_in_argv_and_in_strings(secret, form):
    from hypothesis import assume

    from auditor.redact import redact_cmdline, redact_command

    assume(secret not in "frpc " + form.format(s=""))
    line = "frpc " + form.format(s=secret)
    assert secret not in redact_command(line)
    assert secret not in " ".join(redact_cmdline(line.split(" ")))
    assert secret not in " ".join(redact_cmdline(["frpc", form.format(s=secret)]))  # one element with a space
