"""OS accounts: Linux passwd/shadow with binary wtmp/lastlog records (and lastlog2/wtmpdb SQLite) in a
--root tree; Windows `net user` outputs recorded on English and Chinese Windows (tests/fixtures/windows)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from accounts_helpers import (AS_OF, BOOT_TIME, USER_PROCESS, UTMP, linux_tree, utmp_record, write_csv,
                              write_wtmp)
from auditor.core import checks as core_checks
from auditor import packs
from auditor.accounts import net_user, os_linux
from auditor.accounts.checks import AccountChecks, shared_pc
from auditor.accounts.join import Joiner
from auditor.core.context import ScanContext
from auditor.core.factory import FindingFactory
from auditor.textcodec import decode_console
from conftest import REPO, load_report, run_cli

WIN = REPO / "tests" / "fixtures" / "windows"


def _read(name: str) -> str:
    return (WIN / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- Linux


def test_utmp_record_layout_and_parser(tmp_path):
    assert UTMP.size == os_linux.UTMP.size == 384 and os_linux.LASTLOG.size == 292
    rec = utmp_record(USER_PROCESS, "wh01", "pts/3", "10.8.0.7", dt.datetime(2025, 6, 1, 8, 5, 9), ip="10.8.0.7")
    boot = utmp_record(BOOT_TIME, "reboot", "~", "6.1.0-kylin", dt.datetime(2025, 6, 1, 8, 0))
    data = boot + rec + rec[:100]  # a torn last record is ignored
    rows = list(os_linux.iter_utmp(data))
    assert len(rows) == 2
    ut_type, line, user, host, sec, addr = rows[1]
    assert (ut_type, line, user, host) == (USER_PROCESS, "pts/3", "wh01", "10.8.0.7")
    assert sec == int(dt.datetime(2025, 6, 1, 8, 5, 9, tzinfo=dt.timezone.utc).timestamp())
    assert os_linux._addr(addr) == "10.8.0.7"
    events: dict = {}
    path = write_wtmp(tmp_path / "wtmp", [boot, rec])
    records, first = os_linux.read_wtmp(path, dt.timezone.utc, events)
    assert records == 2 and first == dt.datetime(2025, 6, 1, 8, 0)
    assert [(e.time, e.ip, e.tty) for e in events["wh01"]] == [(dt.datetime(2025, 6, 1, 8, 5, 9), "10.8.0.7", "pts/3")]


def test_linux_tree_accounts_and_logins(tmp_path):
    root = linux_tree(tmp_path / "root")
    ctx = ScanContext(root=root)
    facts = os_linux.collect(ctx, AS_OF)
    acc = {a.name: a for a in facts.accounts}
    assert acc["wh01"].human and acc["wh01"].enabled and acc["wh01"].full_name == "仓库打单"
    assert acc["wh01"].last_login == dt.datetime(2025, 6, 28, 8, 2)
    assert acc["olduser"].last_login == dt.datetime(2025, 3, 2, 8, 30)  # only in the rotated wtmp.1
    assert acc["locked"].enabled is False and acc["locked"].locked
    assert acc["temp"].password_empty is True
    assert acc["newhire"].password_never_expires is False and acc["newhire"].password_expires == dt.date(2025, 9, 18)
    assert acc["newhire"].never_logged_in is True  # lastlog holds logins, none for uid 1006
    assert acc["chenmo"].last_login_ip == "183.14.7.92"
    assert acc["daemon"].interactive is False and acc["root"].human is False and acc["nobody"].human is False
    assert facts.logins_since == dt.datetime(2025, 3, 1, 8, 0)
    assert facts.history_complete is True
    cov = {c.source: c for c in ctx.coverage.entries}
    assert cov["os-logins:wtmp+lastlog"].examined == 8


def test_linux_tree_through_the_cli(tmp_path):
    root = linux_tree(tmp_path / "root")
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "accounts", "--root", str(root), "--as-of", "2025-06-30", "--role",
                  "waybill-printing", "-q", "-o", str(out))
    assert res.returncode == 1, res.stderr  # guest and passwordless accounts are high on a waybill PC
    report = load_report(out)
    got = {(f["check_id"], f["target"]["ref"]): f for f in report["findings"]}
    stale = got[("AC-007", "os:olduser")]
    assert stale["severity"] == "medium" and stale["evidence"]["days_since_login"] == 120
    assert stale["evidence"]["sources"]["last_login"].endswith("var/log/wtmp.1")
    assert got[("AC-009", "os:guest")]["severity"] == "high"
    assert got[("AC-010", "os:temp")]["severity"] == "high"
    never_expire = {ref for cid, ref in got if cid == "AC-008"}
    assert never_expire == {"os:wh01", "os:olduser", "os:chenmo", "os:temp"}  # not newhire (90 days), not guest
    assert got[("AC-008", "os:wh01")]["evidence"]["shared_pc"]["en"] == "role waybill-printing"
    for ref in ("os:locked", "os:newhire", "os:root", "os:daemon", "os:nobody", "os:wh01"):
        assert ("AC-007", ref) not in got


def test_lastlog2_and_wtmpdb_are_read(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("alice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
                                     "bob:x:1001:1001:Bob:/home/bob:/bin/bash\n", encoding="utf-8")
    (root / "etc/shadow").write_text("alice:$6$x$y:19000:0:99999:7:::\nbob:$6$x$y:19000:0:99999:7:::\n",
                                     encoding="utf-8")
    db2 = root / "var/lib/lastlog/lastlog2.db"
    db2.parent.mkdir(parents=True)
    con = sqlite3.connect(db2)
    con.execute("CREATE TABLE IF NOT EXISTS Lastlog2(Name TEXT PRIMARY KEY, Time INTEGER, TTY TEXT, "
                "RemoteHost TEXT, Service TEXT);")
    con.execute("INSERT INTO Lastlog2 VALUES ('alice', ?, 'pts/0', '192.0.2.15', 'sshd')",
                (int(dt.datetime(2025, 6, 20, 9, 0, tzinfo=dt.timezone.utc).timestamp()),))
    con.commit()
    con.close()
    wdb = root / "var/lib/wtmpdb/wtmp.db"
    wdb.parent.mkdir(parents=True)
    con = sqlite3.connect(wdb)
    con.execute("CREATE TABLE IF NOT EXISTS wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT NULL, "
                "Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT;")
    start = int(dt.datetime(2025, 1, 2, 8, 0, tzinfo=dt.timezone.utc).timestamp()) * 1_000_000
    con.execute("INSERT INTO wtmp (Type,User,Login,Logout,TTY,RemoteHost,Service) VALUES "
                "(1,'reboot',?,NULL,'~','6.12.48',NULL), (3,'alice',?,?,'pts/0','192.0.2.15','sshd')",
                (start, start + 60_000_000, start + 3_600_000_000))
    con.commit()
    con.close()
    facts = os_linux.collect(ScanContext(root=root), AS_OF)
    acc = {a.name: a for a in facts.accounts}
    assert acc["alice"].last_login == dt.datetime(2025, 6, 20, 9, 0)
    assert acc["alice"].last_login_ip == "192.0.2.15"
    assert [e.time for e in acc["alice"].logins] == [dt.datetime(2025, 1, 2, 8, 1)]
    assert acc["bob"].never_logged_in is True and acc["bob"].last_login is None
    assert str(db2) in facts.login_sources and str(wdb) in facts.login_sources


def test_unreadable_shadow_and_lightdm_guest(tmp_path):
    root = tmp_path / "root"
    (root / "etc/shadow").mkdir(parents=True)  # not a file: cannot be read
    (root / "etc/passwd").write_text("wh01:x:1000:1000::/home/wh01:/bin/bash\n", encoding="utf-8")
    conf = root / "etc/lightdm/lightdm.conf.d/50-guest.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[Seat:*]\nallow-guest=true\n", encoding="utf-8")
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "accounts", "--root", str(root), "-q", "-o", str(out))
    assert res.returncode == 0, res.stderr
    report = load_report(out)
    cov = {c["source"]: c for c in report["coverage"]}
    assert cov["os-accounts:passwd+shadow"]["status"] == "partial"
    assert "shadow" in cov["os-accounts:passwd+shadow"]["note"]
    guest = [f for f in report["findings"] if f["check_id"] == "AC-009"]
    assert [g["target"]["ref"] for g in guest] == ["os:lightdm:allow-guest"]
    assert guest[0]["evidence"]["source"].endswith("50-guest.conf line 2")


# --------------------------------------------------------------------------- Windows `net user`


@pytest.mark.parametrize("name", ["net_user_en.txt", "net_user_zh.txt"])
def test_net_user_list(name):
    assert net_user.parse_list(_read(name)) == ["Administrator", "chenmo", "DefaultAccount", "Guest",
                                                "WDAGUtilityAccount"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_net_user_detail_english_and_chinese_agree(lang):
    acc = net_user.to_account(net_user.parse_detail(_read(f"net_user_chenmo_{lang}.txt")), AS_OF, "net user chenmo")
    assert acc.name == "chenmo" and acc.full_name == ("陈默" if lang == "zh" else "Chen Mo")
    assert acc.enabled is True and acc.admin is True and not acc.guest
    assert acc.password_set == dt.date(2024, 3, 5) and acc.password_never_expires is True
    assert acc.password_required is True
    assert acc.last_login == dt.datetime(2024, 6, 18, 8, 47, 5)
    assert acc.groups == ["Administrators", "Remote Desktop Users", "Users"]
    guest = net_user.to_account(net_user.parse_detail(_read(f"net_user_guest_{lang}.txt")), AS_OF, "g")
    assert guest.guest and guest.enabled is False and guest.never_logged_in and guest.password_required is False


def test_net_user_gbk_console_bytes():
    raw = _read("net_user_chenmo_zh.txt").encode("gbk")  # what `net user` writes on a Chinese console (cp936)
    acc = net_user.to_account(net_user.parse_detail(decode_console(raw)), AS_OF, "net user chenmo")
    assert acc.full_name == "陈默" and acc.enabled and acc.last_login == dt.datetime(2024, 6, 18, 8, 47, 5)


def test_net_user_pm_times_and_unreadable_dates():
    text = _read("net_user_chenmo_en.txt").replace("6/18/2024 8:47:05 AM", "6/18/2024 1:47:05 PM") \
        .replace("Password last set            3/5/2024 9:12:33 AM", "Password last set            someday")
    acc = net_user.to_account(net_user.parse_detail(text), AS_OF, "x")
    assert acc.last_login == dt.datetime(2024, 6, 18, 13, 47, 5)
    assert acc.password_set is None and acc.problems == ["pw_last_set: 'someday' is not a date"]


def _windows_checks(texts: list[str], role: str | None, roster: Path | None = None):
    accounts = [net_user.to_account(net_user.parse_detail(t), AS_OF, "net user") for t in texts]
    inputs, voc = None, None
    if roster:
        from auditor.accounts.inputs import load_inputs, vocab
        from auditor.core.model import Coverage

        voc = vocab()
        inputs = load_inputs(roster, [], [], None, {}, Coverage())
    views = Joiner(inputs, accounts, voc, AS_OF).run()
    checks = AccountChecks(FindingFactory(core_checks.checks(), role), AS_OF, 90, role, roster is not None, False, False)
    return checks.run(views, accounts, None, shared_pc(role, accounts, AS_OF, 90))


def test_windows_accounts_are_judged(tmp_path):
    chenmo = _read("net_user_chenmo_zh.txt")
    guest_on = _read("net_user_guest_zh.txt").replace("帐户启用               No", "帐户启用               Yes")
    assert guest_on != _read("net_user_guest_zh.txt")
    found = {(f.check_id, f.target.ref): f for f in _windows_checks([chenmo, guest_on], "warehouse")}
    assert found[("AC-007", "os:chenmo")].evidence["days_since_login"] == 377
    assert ("AC-008", "os:chenmo") in found  # password never expires on a warehouse PC
    assert found[("AC-009", "os:Guest")].severity == "medium"
    assert ("AC-010", "os:Guest") not in found and ("AC-007", "os:Guest") not in found
    # the guest as recorded (disabled) is not a finding
    found = {(f.check_id, f.target.ref) for f in _windows_checks([_read("net_user_guest_en.txt")], None)}
    assert found == set()
    # with a roster that says 陈默 left, the PC account is a departed one (matched by its full name)
    roster = write_csv(tmp_path / "roster.csv", ["工号", "姓名", "状态", "离职日期"],
                       [["E011", "陈默", "离职", "2024-06-01"]], encoding="gbk")
    found = {(f.check_id, f.target.ref): f for f in _windows_checks([chenmo], None, roster)}
    departed = found[("AC-001", "os:chenmo")]
    assert departed.evidence["employee_id"] == "E011" and departed.evidence["last_login"] == "2024-06-18 08:47:05"
    assert ("AC-007", "os:chenmo") not in found  # the departed finding says it all
    assert found[("AC-002", "os:chenmo")].evidence["first_login_after_departure"] == "2024-06-18 08:47:05"
