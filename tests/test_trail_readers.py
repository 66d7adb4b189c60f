"""Export trail, the readers: real Chromium History files (current and old schema), Firefox places.sqlite,
locks, write-ahead logs, corrupt files, the day window, and the privacy guard on browsing-history tables."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys

import pytest

from auditor.trail import backoffice, chromium_downloads, firefox_downloads, profiles, sqlite_ro
from auditor.trail.download import Window
from trailkit import Dl, FfDl, hold_exclusive, local_state, make_history, make_places, release, sha256, window_start

NOW = dt.datetime.now().astimezone()
TODAY = dt.date.today()
TB = "https://trade.taobao.com/trade/itemlist/list_export_order.htm?event_submit_do_apply_export=1&token=SECRET"


def window(days=30):
    return Window.ending(TODAY, days)


def test_current_schema_reads_every_field(tmp_path):
    db = make_history(tmp_path / "History", [
        Dl("/home/a/Downloads/ExportOrderList.xlsx", NOW - dt.timedelta(days=2), tab_url=TB,
           chain=("https://trade.taobao.com/x", "https://oss.example/f.xlsx?Signature=SIGNED")),
    ])
    res = chromium_downloads.read_downloads(db, window(), "chrome", "Default", "a")
    in_memory = hasattr(sqlite3.Connection, "deserialize")  # Python 3.11+; before, a private temporary copy
    expected = "copied into memory" if in_memory else "copied to a private temporary file"
    assert res.missing_columns == [] and res.how.startswith(expected) and not res.wal_problem
    (row,) = res.rows
    assert row.file_name == "ExportOrderList.xlsx" and row.state == "complete"
    assert row.urls["tab_url"] == TB and len(row.key) == 36  # a guid
    assert row.sha256 and len(row.sha256) == 64
    assert abs((row.start - NOW).total_seconds() + 2 * 86400) < 2


def test_old_schema_without_tab_url_site_url_guid(tmp_path):
    db = make_history(tmp_path / "History", [
        Dl("C:\\Users\\bob\\Downloads\\京东订单.xlsx", NOW - dt.timedelta(days=1),
           referrer="https://shop.jd.com/jdm/trade/tools/export/ExprotList?page=2"),
    ], old=True)
    res = chromium_downloads.read_downloads(db, window(), "chrome", "Profile 1", "bob")
    assert {"guid", "tab_url", "tab_referrer_url", "site_url", "hash"} <= set(res.missing_columns)
    (row,) = res.rows
    assert row.file_name == "京东订单.xlsx" and row.key.startswith("id1@")
    match = backoffice.catalog().match_pages(row.urls)
    assert match.platform.id == "jd" and match.field == "referrer" and match.export_page
    assert match.path == "/jdm/trade/tools/export/ExprotList"


def test_window_edges(tmp_path):
    since = window_start(30)
    db = make_history(tmp_path / "History", [
        Dl("/d/inside.xlsx", since + dt.timedelta(seconds=60), tab_url=TB),
        Dl("/d/outside.xlsx", since - dt.timedelta(seconds=60), tab_url=TB),
    ])
    rows = chromium_downloads.read_downloads(db, window(30), "chrome", "Default", "a").rows
    assert [r.file_name for r in rows] == ["inside.xlsx"]


def test_exclusive_lock_held_by_another_process(tmp_path):
    db = make_history(tmp_path / "History", [Dl("/d/x.xlsx", NOW, tab_url=TB)])
    before = sha256(db)
    holder = hold_exclusive(db)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # an ordinary reader is locked out
            sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, timeout=0.1).execute(
                "SELECT * FROM downloads").fetchall()  # (locked out at once, not after the default 5 s)
        rows = chromium_downloads.read_downloads(db, window(), "edge", "Default", "a").rows
        assert [r.file_name for r in rows] == ["x.xlsx"]
    finally:
        release(holder)
    assert sha256(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["History"]  # no journal, -wal or -shm left behind


@pytest.mark.parametrize("content", [b"this is not a database at all" * 50,
                                     b"SQLite format 3\x00" + b"\x10\x00\x01\x01" + b"\xff" * 4000])
def test_corrupt_database_is_unreadable_not_a_crash(tmp_path, content):
    db = tmp_path / "History"
    db.write_bytes(content)
    with pytest.raises(sqlite_ro.Unreadable):
        chromium_downloads.read_downloads(db, window(), "chrome", "Default", "a")
    assert db.read_bytes() == content


def test_truncated_database_is_unreadable(tmp_path):
    db = make_history(tmp_path / "History", [Dl(f"/d/{i}.xlsx", NOW, tab_url=TB) for i in range(300)])
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    with pytest.raises(sqlite_ro.Unreadable):
        chromium_downloads.read_downloads(db, window(), "chrome", "Default", "a")


def test_browsing_history_tables_cannot_be_read(tmp_path):
    db = make_history(tmp_path / "History", [])
    with sqlite_ro.open_copy(db, chromium_downloads.ALLOWED) as (con, _how, _problem):
        for sql in ("SELECT url FROM urls", "SELECT * FROM visits", "SELECT url FROM downloads_url_chains",
                    "SELECT danger_type FROM downloads"):
            with pytest.raises(sqlite3.DatabaseError, match="prohibited|not authorized"):
                con.execute(sql).fetchall()
        con.execute("SELECT target_path, tab_url FROM downloads").fetchall()


def test_firefox_annotations_and_blob_urls(tmp_path):
    db = make_places(tmp_path / "places.sqlite", [
        FfDl("/home/a/Downloads/orders.csv", NOW - dt.timedelta(days=3), "blob:https://mms.pinduoduo.com/4f1c2d9e-aaaa"),
        FfDl("/home/a/Downloads/tool.zip", NOW - dt.timedelta(days=3), "https://mirror.example/tool.zip?sig=1"),
        FfDl("/home/a/Downloads/old.csv", NOW - dt.timedelta(days=90), "blob:https://mms.pinduoduo.com/old"),
    ])
    before = sha256(db)
    res = firefox_downloads.read_downloads(db, window(), "x.default-release", "a")
    assert [r.file_name for r in res.rows] == ["orders.csv", "tool.zip"]
    row = res.rows[0]
    assert row.state == "complete" and row.total_bytes == 4096 and row.end is not None
    match = backoffice.catalog().match_pages(row.urls)
    assert match.platform.id == "pinduoduo" and match.field == "download_url" and match.path == ""
    assert backoffice.catalog().match_pages(res.rows[1].urls) is None
    with sqlite_ro.open_copy(db, firefox_downloads.ALLOWED) as (con, _how, _problem):
        for sql in ("SELECT title FROM moz_places", "SELECT * FROM moz_historyvisits"):
            with pytest.raises(sqlite3.DatabaseError, match="prohibited|not authorized"):
                con.execute(sql).fetchall()
    assert sha256(db) == before


def test_firefox_running_with_uncheckpointed_wal(tmp_path):
    """Firefox holds places.sqlite open (exclusive locking, WAL): committed downloads that are still only in
    places.sqlite-wal are read from memory; the uncommitted one is not; nothing on disk changes."""
    db = make_places(tmp_path / "places.sqlite", [FfDl("/d/first.csv", NOW, "blob:https://mms.pinduoduo.com/1")])
    code = ("import sqlite3,sys,json,time\n"
            "c=sqlite3.connect(sys.argv[1],isolation_level=None)\n"
            "c.execute('PRAGMA locking_mode=EXCLUSIVE'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
            "us=int(time.time()*1e6)\n"
            "c.execute(\"INSERT INTO moz_places(id,url) VALUES (99,'blob:https://fxg.jinritemai.com/2')\")\n"
            "c.execute('INSERT INTO moz_annos(place_id,anno_attribute_id,content,dateAdded) VALUES (99,1,?,?)',"
            "('file:///d/second.xlsx',us))\n"
            "c.execute('BEGIN')\n"
            "c.execute(\"INSERT INTO moz_places(id,url) VALUES (100,'blob:https://fxg.jinritemai.com/3')\")\n"
            "c.execute('INSERT INTO moz_annos(place_id,anno_attribute_id,content,dateAdded) VALUES (100,1,?,?)',"
            "('file:///d/uncommitted.xlsx',us))\n"
            "print('ready',flush=True); sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        wal = tmp_path / "places.sqlite-wal"
        assert wal.stat().st_size > 32
        before = (sha256(db), sha256(wal))
        res = firefox_downloads.read_downloads(db, window(), "p", "a")
        assert sorted(r.file_name for r in res.rows) == ["first.csv", "second.xlsx"]
        assert "write-ahead log applied" in res.how
        assert (sha256(db), sha256(wal)) == before
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def test_profile_discovery_linux_and_windows_layouts(tmp_path):
    alice = tmp_path / "alice"
    ud = alice / ".config" / "google-chrome"
    local_state(ud, ["Default", "Profile 3"])
    make_history(ud / "Default" / "History", [])
    make_history(ud / "Profile 3" / "History", [])
    (ud / "Profile 9").mkdir()  # no History: not a profile we can read
    make_history(ud / "System Profile" / "History", [])  # not in Local State, not Default/Profile N
    ff = alice / ".mozilla" / "firefox"
    make_places(ff / "ab12cd.default-release" / "places.sqlite", [], wal=False)
    (ff / "profiles.ini").write_text("[Profile0]\nName=default-release\nIsRelative=1\nPath=ab12cd.default-release\n")
    bob = tmp_path / "bob"  # a Windows profile copied to a case-sensitive disk, names in other case
    make_history(bob / "AppData" / "LOCAL" / "360chrome" / "Chrome" / "User Data" / "Default" / "History", [])
    make_history(bob / "AppData" / "Roaming" / "360se6" / "User Data" / "Default" / "History", [])
    make_history(bob / "AppData" / "LOCAL" / "Tencent" / "QQBrowser" / "User Data" / "Default" / "History", [])
    make_history(bob / "AppData" / "LOCAL" / "Sogou" / "SogouExplorer" / "User Data" / "Default" / "History", [])
    make_history(bob / "AppData" / "LOCAL" / "2345Explorer" / "User Data" / "Profile 1" / "History", [])
    make_history(bob / "AppData" / "LOCAL" / "liebao" / "User Data" / "Default" / "History", [])
    make_history(bob / "AppData" / "LOCAL" / "Microsoft" / "Edge" / "User Data" / "Default" / "History", [])
    found = profiles.discover(alice) + profiles.discover(bob)
    assert sorted(p.label for p in found) == sorted([
        "chrome:alice/Default", "chrome:alice/Profile 3", "firefox:alice/ab12cd.default-release",
        "360chrome:bob/Default", "360se:bob/Default", "qqbrowser:bob/Default", "sogou:bob/Default",
        "2345:bob/Profile 1", "liebao:bob/Default", "edge:bob/Default"])
