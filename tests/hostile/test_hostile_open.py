"""The local user against every place the agent reads (auditor.safeio used by every area, watch, inspect and
the command-line inputs), and an audited tree (``--root``) whose links point out of it.

Each case runs the real CLI bounded in time (hostilekit.auditor: a hang fails with "hung"; in a child process
where a FIFO could hold it or its peak RSS is bounded, `child=True`), checks the exit code, that the item is in the coverage with its reason, and that the planted mobiles of files the agent must
not read (a root-only file reached through a user's link, the auditing machine's side of a --root tree) are
never counted or shown anywhere it writes."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import findings_of, load_report
from exportgen import export_rows, write_csv
from hostilekit import assert_no_leak, auditor, give_to_user, limit_memory_mb, needs_root, state_env
from trailkit import Dl, FfDl, hold_with_wal, make_history, make_places, release

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX FIFOs, devices and links; Windows runs under Wine")

NOW = dt.datetime.now().astimezone().replace(microsecond=0)
TB_EXPORT = "https://trade.taobao.com/trade/itemlist/list_export_order.htm?event_submit_do_apply_export=1"
MOBILE_COL = 5  # the "pdd" layout: 订单号, 商品, 快递单号, 快递公司, 收货人, 手机, 收货地址, 订单成交时间


def export(path: Path, seed: int, n: int = 30) -> list[str]:
    """A real unmasked export; returns its mobiles."""
    rows, _ = export_rows(random.Random(seed), "pdd", n)
    write_csv(path, rows)
    return [r[MOBILE_COL] for r in rows[1:]]


def root_only_secret(tmp_path: Path) -> tuple[Path, list[str]]:
    """A root-only folder holding an export the ordinary user cannot read."""
    secret_dir = tmp_path / "root-only"
    secret_dir.mkdir(mode=0o700)
    mobiles = export(secret_dir / "secret.csv", seed=666, n=40)
    os.chmod(secret_dir / "secret.csv", 0o600)
    return secret_dir, mobiles


def skipped_reasons(report: dict) -> dict[str, str]:
    return {Path(s["item"]).name: s["reason"] for c in report["coverage"] for s in c["skipped"]}


def coverage(report: dict, source: str) -> dict:
    return next(c for c in report["coverage"] if c["source"] == source)


def bounded(run, seconds: float = 60.0) -> None:
    print(f"[bounds] {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB, exit {run.code}")  # shown with -s
    assert run.seconds < seconds, f"took {run.seconds:.1f} s"
    assert run.peak_rss_mb < limit_memory_mb(), f"peak RSS {run.peak_rss_mb:.0f} MB"


def bind_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    return sock


# --------------------------------------------------------------------------- export folders (files area)

@needs_root
def test_export_folder_planted_with_fifos_devices_sockets_and_links(tmp_path):
    desk = tmp_path / "home" / "Desktop"
    desk.mkdir(parents=True)
    real_mobiles = export(desk / "real.csv", seed=1)
    secret_dir, secret_mobiles = root_only_secret(tmp_path)
    os.mkfifo(desk / "x.csv")
    os.mkfifo(desk / "订单.xlsx")
    os.mknod(desk / "dev.csv", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # a /dev/zero of the user's own
    sock = bind_socket(desk / "s.txt")
    for name, target in (("leak.csv", secret_dir / "secret.csv"), ("zero.csv", "/dev/zero"), ("tty.csv", "/dev/tty"),
                         ("linked", secret_dir)):
        (desk / name).symlink_to(target)
        give_to_user(desk / name)
    give_to_user(desk, desk / "x.csv", desk / "订单.xlsx", desk / "s.txt")
    out = tmp_path / "r.json"
    try:
        run = auditor("scan", "--only", "files", "--path", str(desk), "-q", "-o", str(out),
                      env=state_env(tmp_path), child=True)
    finally:
        sock.close()
    assert run.code == 1, run.stderr
    bounded(run)
    report = load_report(out)
    assert [Path(f["target"]["ref"]).name for f in report["findings"]] == ["real.csv"]
    reasons = skipped_reasons(report)
    assert reasons["x.csv"] == reasons["订单.xlsx"] == "a FIFO (named pipe), not a regular file"
    assert reasons["dev.csv"] == "a character device, not a regular file"
    assert reasons["s.txt"] == "a socket, not a regular file"
    for name in ("leak.csv", "zero.csv", "tty.csv"):
        assert "link" in reasons[name] and "not followed" in reasons[name]
    assert coverage(report, f"root:{desk}")["status"] == "partial"
    assert_no_leak(secret_mobiles, out, tmp_path / "state", text=run.output)
    assert real_mobiles[0] not in out.read_text(encoding="utf-8")  # masked samples only


@needs_root
def test_a_path_given_that_is_a_users_link_is_not_entered(tmp_path):
    secret_dir, secret_mobiles = root_only_secret(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    desk = home / "Desktop"
    desk.symlink_to(secret_dir)
    give_to_user(home, desk)
    out = tmp_path / "r.json"
    run = auditor("scan", "--only", "files", "--path", str(desk), "-q", "-o", str(out),
                  env=state_env(tmp_path), child=True)
    assert run.code == 0, run.stderr
    bounded(run)
    report = load_report(out)
    assert report["findings"] == []
    root_cov = next(c for c in report["coverage"] if c["source"].startswith("root:"))
    assert root_cov["status"] == "failed"
    assert "symbolic link owned by uid 1000" in root_cov["skipped"][0]["reason"]
    assert_no_leak(secret_mobiles, out, tmp_path / "state", text=run.output)


@pytest.mark.slow
def test_a_file_growing_for_ever_is_read_up_to_its_size_when_opened(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "grow.csv"
    rows, _ = export_rows(random.Random(5), "pdd", 200)
    header, body = rows[0], rows[1:]
    write_csv(path, [header, *body[:100]])
    line = ("\n".join(",".join(r) for r in body[100:]) + "\n").encode("utf-8")
    stop = threading.Event()
    written = [0]

    def writer():
        with open(path, "ab") as fh:
            while not stop.is_set():
                fh.write(line)
                fh.flush()
                written[0] += len(line)
                time.sleep(0.005)

    th = threading.Thread(target=writer, daemon=True)
    th.start()
    try:
        while written[0] < 4 << 20:
            time.sleep(0.05)
        out = tmp_path / "r.json"
        run = auditor("scan", "--only", "files", "--path", str(folder), "-q", "-o", str(out),
                      env=state_env(tmp_path), child=True)
    finally:
        stop.set()
        th.join(5)
    assert run.code == 1, run.stderr
    bounded(run)
    (finding,) = load_report(out)["findings"]
    assert finding["evidence"]["records"] >= 100
    assert finding["evidence"]["size"] < path.stat().st_size  # it stopped where the file ended when opened


def test_folders_nested_deeper_than_the_walk_goes_are_reported(tmp_path):
    """One descriptor per level: a user's 100-deep folder chain is walked to the bound and reported there."""
    top = tmp_path / "exports"
    deep = top
    for i in range(100):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    export(deep / "deep.csv", seed=14)
    export(top / "d0" / "shallow.csv", seed=15)
    (top / "d0" / "loop").symlink_to(top)  # a loop back up: listed as a link, never followed
    out = tmp_path / "r.json"
    run = auditor("scan", "--only", "files", "--path", str(top), "-q", "-o", str(out),
                  env=state_env(tmp_path), child=True)
    assert run.code == 1, run.stderr
    bounded(run)
    report = load_report(out)
    assert [Path(f["target"]["ref"]).name for f in report["findings"]] == ["shallow.csv"]
    (deepest,) = [s for c in report["coverage"] for s in c["skipped"] if "nested deeper" in s["reason"]]
    assert deepest["reason"] == "nested deeper than 64 folders, not entered"


# --------------------------------------------------------------------------- inspect, schedule, command-line inputs

def fifo_desktop(tmp_path: Path, seed: int) -> Path:
    """A Desktop with a real export and the user's FIFO named like one."""
    desk = tmp_path / "Desktop"
    desk.mkdir()
    export(desk / "real.csv", seed=seed)
    os.mkfifo(desk / "x.csv")
    give_to_user(desk / "x.csv")
    return desk


@pytest.mark.live
@needs_root
def test_inspect_with_a_fifo_in_its_folder_and_a_fifo_roster(tmp_path):
    desk = fifo_desktop(tmp_path, seed=2)
    bundle = tmp_path / "b.zip"
    run = auditor("inspect", "--output", str(bundle), "--path", str(desk), "--lang", "en",
                  env=state_env(tmp_path), child=True)
    assert run.code == 1, run.stderr
    bounded(run)
    import zipfile

    report = json.loads(zipfile.ZipFile(bundle).read("report.json"))
    assert skipped_reasons(report)["x.csv"] == "a FIFO (named pipe), not a regular file"
    os.mkfifo(tmp_path / "roster.csv")
    run = auditor("inspect", "--output", str(tmp_path / "c.zip"), "--path", str(desk), "--roster",
                  str(tmp_path / "roster.csv"), env=state_env(tmp_path), child=True)
    assert run.code == 2 and "FIFO" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "c.zip").exists()


@pytest.mark.parametrize("option", ["--roster", "--subaccounts", "--logins", "--account-map", "--allowlist",
                                    "--baseline", "--registry-export", "--sign-key"])
def test_a_fifo_named_on_the_command_line_is_one_clear_message(tmp_path, option):
    fifo = tmp_path / "input.csv"
    os.mkfifo(fifo)
    run = auditor("scan", "--only", "remote", option, str(fifo), "-q", "--lang", "en", env=state_env(tmp_path),
                  timeout=30, child=True)
    assert run.code == 2, run.output
    assert "a FIFO (named pipe), not a regular file" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


KEY_INPUTS = {  # the key and certificate files (signing, TLS), each with the rest of its command line
    "verify --pubkey": ("verify", "{dir}/r.json", "--pubkey"),
    "fleet ingest --pubkey": ("fleet", "ingest", "{dir}/share", "--db", "{dir}/f.sqlite", "--pubkey"),
    "fleet export --ca-cert": ("fleet", "export", "--format", "ecs", "--db", "{dir}/f.sqlite", "--push",
                               "https://127.0.0.1:9", "--ca-cert"),
}


def _key_input_argv(tmp_path: Path, what: str, target: Path) -> list[str]:
    (tmp_path / "share").mkdir(exist_ok=True)
    (tmp_path / "r.json").write_text("{}")
    return [a.format(dir=tmp_path) for a in KEY_INPUTS[what]] + [str(target), "--lang", "en"]


@pytest.mark.parametrize("what", sorted(KEY_INPUTS))
def test_a_fifo_as_a_key_or_certificate_is_one_clear_message(tmp_path, what):
    fifo = tmp_path / "input.pem"
    os.mkfifo(fifo)
    run = auditor(*_key_input_argv(tmp_path, what, fifo), env=state_env(tmp_path), timeout=30)
    assert run.code == 2, run.output
    assert "a FIFO (named pipe), not a regular file" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@needs_root
@pytest.mark.parametrize("what", sorted(KEY_INPUTS))
def test_a_users_link_as_a_key_or_certificate_is_refused(tmp_path, what):
    secret_dir, secret_mobiles = root_only_secret(tmp_path)
    link = tmp_path / "key.pem"
    link.symlink_to(secret_dir / "secret.csv")
    give_to_user(link)
    run = auditor(*_key_input_argv(tmp_path, what, link), env=state_env(tmp_path), timeout=30)
    assert run.code == 2, run.output
    assert "symbolic link owned by uid 1000, not followed" in run.stderr
    assert_no_leak(secret_mobiles, tmp_path / "state", text=run.output)


@needs_root
@pytest.mark.parametrize("option, name", [("--roster", "roster.csv"), ("--allowlist", "allow.toml")])
def test_a_users_link_named_on_the_command_line_to_a_root_only_file_is_refused(tmp_path, option, name):
    secret_dir, secret_mobiles = root_only_secret(tmp_path)
    link = tmp_path / name
    link.symlink_to(secret_dir / "secret.csv")
    give_to_user(link)
    run = auditor("scan", "--only", "accounts", option, str(link), "-q", "--lang", "en", env=state_env(tmp_path),
                  timeout=30)
    assert run.code == 2, run.output
    assert "symbolic link owned by uid 1000, not followed" in run.stderr
    assert_no_leak(secret_mobiles, tmp_path / "state", text=run.output)


@needs_root
def test_schedule_run_now_with_a_fifo_in_the_folder(tmp_path):
    desk = fifo_desktop(tmp_path, seed=3)
    out = tmp_path / "reports"
    run = auditor("schedule", "run-now", "--output-dir", str(out), "--path", str(desk), "--only", "files",
                  env=state_env(tmp_path), child=True)
    assert run.code in (0, 1), run.stderr
    bounded(run)
    (report_path,) = [p for p in out.glob("*.json") if p.name != "last-run.json"]
    report = load_report(report_path)
    assert skipped_reasons(report)["x.csv"] == "a FIFO (named pipe), not a regular file"
    assert [Path(f["target"]["ref"]).name for f in report["findings"]] == ["real.csv"]


# --------------------------------------------------------------------------- watch

def test_a_fifo_in_a_watched_folder_does_not_blind_the_watch(tmp_path):
    from test_watch import WatchProc

    folder = tmp_path / "Downloads"
    folder.mkdir()
    os.mkfifo(folder / "before.csv")  # there when the watch starts
    w = WatchProc(tmp_path, "--path", str(folder), "--no-processes", "--debounce", "0.1",
                  env=state_env(tmp_path))
    try:
        os.mkfifo(folder / "x.csv")
        os.symlink("/dev/zero", folder / "zero.csv")
        time.sleep(0.5)
        export(folder / "later.csv", seed=4)
        w.wait_for("file_finding", timeout=20, path=str(folder / "later.csv"))
        skipped = w.wait_for("file_skipped", timeout=10, path=str(folder / "x.csv"))
        assert skipped["reason"] == "a FIFO (named pipe), not a regular file"
        export(folder / "again.csv", seed=5)
        w.wait_for("file_finding", timeout=20, path=str(folder / "again.csv"))
    finally:
        code = w.stop()
    assert code == 0


# --------------------------------------------------------------------------- export trail

def test_browser_files_replaced_by_fifos(tmp_path):
    home = tmp_path / "alice"
    chrome = home / ".config" / "google-chrome"
    make_history(chrome / "Profile 1" / "History", [Dl("/home/alice/Downloads/orders.xlsx", NOW, tab_url=TB_EXPORT)])
    (chrome / "Default").mkdir(parents=True)
    os.mkfifo(chrome / "Default" / "History")
    os.mkfifo(chrome / "Local State")
    ff = home / ".mozilla" / "firefox" / "abc.default"
    make_places(ff / "places.sqlite", [FfDl("/home/alice/Downloads/o.csv", NOW, "blob:https://mms.pinduoduo.com/1")],
                wal=False)
    os.mkfifo(ff / "places.sqlite-wal")
    out = tmp_path / "r.json"
    run = auditor("scan", "--only", "trail", "--home", str(home), "-q", "-o", str(out),
                  env=state_env(tmp_path), child=True)
    assert run.code in (0, 1), run.stderr
    bounded(run)
    report = load_report(out)
    default = coverage(report, "browser:chrome:alice/Default")
    assert default["status"] == "failed" and "FIFO" in default["note"]
    assert coverage(report, "browser:chrome:alice/Profile 1")["status"] == "ok"
    assert "FIFO" in skipped_reasons(report)["Local State"]
    firefox = coverage(report, "browser:firefox:alice/abc.default")
    assert firefox["status"] == "partial" and "write-ahead log" in firefox["note"] and "FIFO" in firefox["note"]
    assert {f["evidence"]["file_name"] for f in findings_of(report) if f["area"] == "trail"} >= {"orders.xlsx"}


# --------------------------------------------------------------------------- --root confinement

def _host_side(tmp_path: Path) -> tuple[Path, list[str]]:
    """What lies outside the audited tree, on the auditing machine: a marker account and a marker export."""
    host = tmp_path / "host"
    (host / "etc").mkdir(parents=True)
    (host / "etc" / "passwd").write_text("hostmarker:x:1000:1000:HOST MARKER:/home/hostmarker:/bin/bash\n")
    mobiles = export(host / "home" / "alice" / "Desktop" / "host-export.csv", seed=77)
    make_history(host / "chrome" / "Default" / "History", [Dl("/home/x/host-orders.xlsx", NOW, tab_url=TB_EXPORT)])
    return host, mobiles


def test_root_confines_links_that_point_out_of_the_tree(tmp_path):
    host, host_mobiles = _host_side(tmp_path)
    tree = tmp_path / "pc"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
        "carol:x:1001:1001::/home/carol:/bin/bash\ndave:x:1002:1002::/home/dave:/bin/bash\n"
        "erin:x:1003:1003::/home/erin:/bin/bash\n")
    (tree / "home").mkdir()
    (tree / "home" / "alice").symlink_to(host / "home" / "alice")  # absolute: the tree's own /tmp/…, not the host's
    (tree / "home" / "carol").symlink_to("../" * 30 + str(host / "home" / "alice").lstrip("/"))  # '..' chain
    (tree / "home" / "dave").symlink_to("/root")  # the auditing machine's root home
    erin = tree / "home" / "erin"
    own_mobiles = export(erin / "Desktop" / "erin.csv", seed=8)
    (erin / ".config").mkdir(parents=True)
    (erin / ".config" / "google-chrome").symlink_to(host / "chrome")
    (erin / "Desktop" / "p.csv").symlink_to(host / "home" / "alice" / "Desktop" / "host-export.csv")
    out = tmp_path / "r.json"
    run = auditor("scan", "--root", str(tree), "--only", "files", "--only", "accounts", "--only", "trail",
                  "-q", "-o", str(out), env=state_env(tmp_path), child=True)
    assert run.code in (0, 1), run.stderr
    bounded(run)
    report = load_report(out)
    refs = [f["target"]["ref"] for f in report["findings"] if f["area"] == "files"]
    assert refs == [str(erin / "Desktop" / "erin.csv")]
    text = out.read_text(encoding="utf-8")
    assert "hostmarker" not in text and "HOST MARKER" not in text and "host-orders" not in text
    assert not [c for c in report["coverage"] if c["source"].startswith("browser:")]  # the host's History unread
    roots = [c["source"] for c in report["coverage"] if c["source"].startswith("root:")]
    assert roots and all(r.startswith(f"root:{tree}") for r in roots)
    assert_no_leak(host_mobiles, out, tmp_path / "state", text=run.output)
    assert own_mobiles[0] not in text


@pytest.mark.parametrize("target", ["/etc/passwd", "HOST", "../../../../../../../../../../etc/passwd"])
def test_root_passwd_that_links_out_shows_nothing_of_the_auditing_machine(tmp_path, target):
    host, _ = _host_side(tmp_path)
    tree = tmp_path / "pc"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "passwd").symlink_to(str(host / "etc" / "passwd") if target == "HOST" else target)
    (tree / "etc" / "shadow").symlink_to("/etc/shadow")
    out = tmp_path / "r.json"
    run = auditor("scan", "--root", str(tree), "--only", "accounts", "-q", "-o", str(out),
                  env=state_env(tmp_path), child=True)
    assert run.code in (0, 1), run.stderr
    bounded(run)
    report = load_report(out)
    passwd = coverage(report, "os-accounts:passwd+shadow")
    assert passwd["examined"] == 0 and passwd["status"] in ("no_data", "failed")
    text = out.read_text(encoding="utf-8")
    host_names = [line.split(":", 1)[0] for line in Path("/etc/passwd").read_text().splitlines() if ":" in line]
    assert "hostmarker" not in text
    assert not [n for n in host_names if f'"account": "{n}"' in text or f'"name": "{n}"' in text]


def test_home_copy_links_stay_inside_the_copy(tmp_path):
    """A --home copy is a tree of its own: its absolute links never reach the auditing machine."""
    host, _ = _host_side(tmp_path)
    home = tmp_path / "copy" / "alice"
    (home / ".config").mkdir(parents=True)
    (home / ".config" / "google-chrome").symlink_to(host / "chrome")
    out = tmp_path / "r.json"
    run = auditor("scan", "--only", "trail", "--home", str(home), "-q", "-o", str(out), env=state_env(tmp_path))
    assert run.code == 0, run.stderr
    report = load_report(out)
    assert report["findings"] == [] and "host-orders" not in out.read_text(encoding="utf-8")
    assert coverage(report, "browser-profiles")["status"] == "no_data"


def _python39() -> str | None:
    """A real Python 3.9 interpreter (the oldest that requires-python allows), if this machine has one."""
    import glob

    for exe in [*sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9"))),
                shutil.which("python3.9") or ""]:
        if exe and subprocess.run([exe, "-c", "import sys; assert sys.version_info[:2] == (3, 9)"],
                                  capture_output=True).returncode == 0:
            return exe
    return None


def test_wal_replay_needs_no_deserialize(tmp_path):
    """Python 3.9/3.10 have no Connection.deserialize: the copy is a private temporary file and the write-ahead
    log is applied to it by our own apply_wal, so the newest downloads are read there too."""
    py39 = _python39()
    if py39 is None:
        pytest.skip("no Python 3.9 on this machine")
    db = make_places(tmp_path / "places.sqlite", [FfDl("/d/first.csv", NOW, "blob:https://mms.pinduoduo.com/1")])
    holder = hold_with_wal(db, "INSERT INTO moz_places(id,url) VALUES (99,'blob:https://fxg.jinritemai.com/2')")
    try:
        reader = ("import sys; sys.path.insert(0, sys.argv[2])\n"
                  "import sqlite3; assert not hasattr(sqlite3.Connection, 'deserialize')\n"
                  "from pathlib import Path\n"
                  "from auditor.trail import sqlite_ro\n"
                  "rows, how, problem = sqlite_ro.read_database(Path(sys.argv[1]), {'moz_places': None},\n"
                  "    lambda con: con.execute('SELECT id FROM moz_places ORDER BY id').fetchall())\n"
                  "print([r[0] for r in rows]); print(how); print(repr(problem))\n")
        res = subprocess.run([py39, "-c", reader, str(db), str(Path(__file__).resolve().parents[2])],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        ids, how, problem = res.stdout.splitlines()
        assert "99" in ids and "temporary file" in how and "write-ahead log applied" in how and problem == "''"
        # nothing beside the browser's own files (an exclusive-mode WAL has no -shm): the copy lived elsewhere
        assert sorted(p.name for p in tmp_path.iterdir()) == ["places.sqlite", "places.sqlite-wal"]
    finally:
        release(holder)


# --------------------------------------------------------------------------- the agent's own places

def test_own_places_under_a_path_are_never_walked(tmp_path):
    """The quarantine (named through another spelling: a link to it) and the state folder lie inside the
    folder being scanned: what the agent put away itself is not reported again, nor offered to mask."""
    desk = tmp_path / "Desktop"
    export(desk / "real.csv", seed=9)
    quarantine = desk / "audit-quarantine"
    moved = export(quarantine / "items" / "q1" / "original.csv", seed=10)
    (tmp_path / "qlink").symlink_to(quarantine)
    env = {**state_env(tmp_path), "AUDITOR_QUARANTINE_DIR": str(tmp_path / "qlink"),
           "AUDITOR_STATE_DIR": str(desk / "state")}
    out = tmp_path / "r.json"
    for _ in range(2):  # the second run also meets the state database the first one left there
        run = auditor("scan", "--only", "files", "--path", str(desk), "-q", "-o", str(out), env=env)
        assert run.code == 1, run.stderr
        report = load_report(out)
        assert [Path(f["target"]["ref"]).name for f in report["findings"]] == ["real.csv"]
        note = coverage(report, f"root:{desk}")["note"]
        assert "audit-quarantine: the agent's own folder" in note and "state: the agent's own folder" in note
    assert_no_leak(moved, out, text=run.output)


def test_watch_ignores_its_own_quarantine(tmp_path):
    from test_watch import WatchProc

    folder = tmp_path / "Downloads"
    quarantine = folder / "q"
    quarantine.mkdir(parents=True)
    w = WatchProc(tmp_path, "--path", str(folder), "--no-processes", "--debounce", "0.1",
                  env={**state_env(tmp_path), "AUDITOR_QUARANTINE_DIR": str(quarantine)})
    try:
        export(quarantine / "original.csv", seed=11)
        export(folder / "new.csv", seed=12)
        w.wait_for("file_finding", timeout=20, path=str(folder / "new.csv"))
        time.sleep(1.0)
        paths = [e.get("path") for e in w.events_of("file_finding") + w.events_of("file_skipped")]
        assert str(quarantine / "original.csv") not in paths
    finally:
        assert w.stop() == 0


def test_root_confines_a_windows_tree_too(tmp_path):
    host, host_mobiles = _host_side(tmp_path)
    tree = tmp_path / "disk"
    (tree / "Windows" / "System32").mkdir(parents=True)
    users = tree / "Users"
    own = export(users / "bob" / "Desktop" / "bob.csv", seed=13)
    (users / "alice").symlink_to(host / "home" / "alice")  # a whole profile pointing at the auditing machine
    (users / "carol" / "Documents").mkdir(parents=True)
    (users / "carol" / "Desktop").symlink_to("../../../../../../../../.." + str(host / "home" / "alice" / "Desktop"))
    (users / "Public").mkdir()
    (users / "Public" / "Documents").symlink_to("/")  # C:\Users\Public\Documents: the tree's own root, not /
    out = tmp_path / "r.json"
    run = auditor("scan", "--root", str(tree), "--only", "files", "-q", "-o", str(out),
                  env=state_env(tmp_path), child=True)
    assert run.code == 1, run.stderr
    bounded(run)
    report = load_report(out)
    assert [f["target"]["ref"] for f in report["findings"]] == [str(users / "bob" / "Desktop" / "bob.csv")]
    assert all(c["source"].startswith(f"root:{tree}") for c in report["coverage"] if c["source"].startswith("root:"))
    assert_no_leak(host_mobiles, out, tmp_path / "state", text=run.output)
    assert own[0] not in out.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- running processes

@pytest.mark.live
@pytest.mark.parametrize("swap", ["fifo", "link-to-dev-zero"])
def test_a_running_tools_executable_swapped_for_a_fifo_or_link(tmp_path, swap):
    """The user starts a remote tool from a folder of theirs, then replaces its executable by a FIFO (or a link
    to /dev/zero): hashing and reading its version information must not stall the scan."""
    from conftest import start_named_python

    folder = tmp_path / "opt"
    proc = start_named_python(folder, "frpc", "import time; print('up', flush=True); time.sleep(120)")
    try:
        exe = folder / "frpc"
        exe.unlink()
        if swap == "fifo":
            os.mkfifo(exe)
        else:
            exe.symlink_to("/dev/zero")
        give_to_user(exe) if os.geteuid() == 0 else None
        out = tmp_path / "r.json"
        run = auditor("scan", "--only", "remote", "-q", "-o", str(out), env=state_env(tmp_path), child=True)
        assert run.code == 1, run.stderr
        bounded(run)
        report = load_report(out)
        (finding,) = [f for f in report["findings"] if f["evidence"].get("pid") == proc.pid]
        assert finding["check_id"] == "RC-005" and not finding["evidence"].get("sha256")
    finally:
        proc.kill()
        proc.wait()
