"""Export trail through the real command line: two users, Chrome (three profiles, one of them corrupt, one
migrated from an old version), Edge held under an exclusive lock while the scan runs, Firefox with its
write-ahead log, a Windows profile copy with a shortcut to a USB drive; exports from the Taobao, Pinduoduo,
抖店 and JD back offices, beside ordinary downloads, product images and rows just outside the window."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

import pytest

from conftest import REPO, copy_checks, findings_of, load_report, run_cli
from exportgen import export_rows, write_csv
from trailkit import (Dl, FfDl, hold_exclusive, local_state, make_history, make_lnk, make_places, release,
                      tree_state, window_start)

NOW = dt.datetime.now().astimezone().replace(microsecond=0)
DAYS = 30
SINCE = window_start(DAYS)
USB_REG = REPO / "tests" / "fixtures" / "windows" / "usb_storage.reg"
SECRET = "SIGNED-SECRET-TOKEN"
TB_EXPORT = f"https://trade.taobao.com/trade/itemlist/list_export_order.htm?event_submit_do_apply_export=1&t={SECRET}"
PDD_EXPORT = f"https://mms.pinduoduo.com/orders/exportExcel?exportType=0&sid={SECRET}"
DD_LIST = f"https://fxg.jinritemai.com/ffa/morder/order/list?btm={SECRET}#tab=all"
JD_EXPORT = f"https://shop.jd.com/jdm/trade/tools/export/ExprotList?token={SECRET}"
SIGNED = ("https://trade.taobao.com/export/download?id=1", f"https://oss.example.com/exp.xlsx?Signature={SECRET}")


def ago(days=0.0, hours=0.0):
    return NOW - dt.timedelta(days=days, hours=hours)


def build_pc(base: Path) -> dict:
    """Two users' homes with browser data; returns what the scan must find."""
    homes = base / "homes"
    alice = homes / "alice"
    dl = alice / "Downloads"
    dl.mkdir(parents=True)
    rows, _ = export_rows(random.Random(7), "taobao", 60)
    write_csv(dl / "ExportOrderList202611.csv", rows)  # still on disk, unmasked
    chrome = alice / ".config" / "google-chrome"
    local_state(chrome, ["Default", "Profile 1", "Profile 2"])
    make_history(chrome / "Default" / "History", [
        Dl(str(dl / "ExportOrderList202611.csv"), ago(3), tab_url=TB_EXPORT, mime="text/csv", chain=SIGNED),
        Dl(str(dl / "拼多多订单导出.zip"), ago(5), tab_url=PDD_EXPORT, mime="application/zip", chain=SIGNED),
        Dl(str(dl / "window-edge-inside.xlsx"), SINCE + dt.timedelta(seconds=60), tab_url=TB_EXPORT),
        Dl(str(dl / "window-edge-outside.xlsx"), SINCE - dt.timedelta(seconds=60), tab_url=TB_EXPORT),
        Dl(str(dl / "主图.jpg"), ago(2), tab_url="https://myseller.taobao.com/home.htm/item", mime="image/jpeg"),
        Dl(str(dl / "季度报表.xlsx"), ago(2), tab_url="https://www.example.org/reports?id=4"),
        Dl(str(dl / "cancelled.xlsx"), ago(1), tab_url=TB_EXPORT, state=2),
    ])
    make_history(chrome / "Profile 1" / "History", [
        Dl(str(dl / "京东订单明细.xlsx"), ago(8), referrer=JD_EXPORT),
        Dl(str(dl / "setup.exe"), ago(8), referrer="https://download.example.net/"),
    ], old=True)
    (chrome / "Profile 2").mkdir()
    (chrome / "Profile 2" / "History").write_bytes(b"SQLite format 3\x00" + b"\x10\x00\x01\x01" + b"\xee" * 8000)
    edge = alice / ".config" / "microsoft-edge"
    make_history(edge / "Default" / "History", [
        Dl(str(dl / "抖店订单.xlsx"), ago(10), tab_url=DD_LIST, chain=SIGNED),
        Dl(str(dl / "news.pdf"), ago(10), tab_url="https://news.example.com/a", mime="application/pdf"),
    ])
    ff = alice / ".mozilla" / "firefox"
    (ff / "profiles.ini").parent.mkdir(parents=True)
    (ff / "profiles.ini").write_text("[Profile0]\nName=default\nIsRelative=1\nPath=q1w2e3r4.default-release\n")
    write_csv(dl / "pdd_orders_ff.csv", export_rows(random.Random(8), "pdd", 5, masked=1.0)[0])  # masked, on disk
    make_places(ff / "q1w2e3r4.default-release" / "places.sqlite", [
        FfDl(str(dl / "pdd_orders_ff.csv"), ago(4), "blob:https://mms.pinduoduo.com/6b1f0c8e-1111-2222-3333-444455556666"),
        FfDl(str(dl / "tool.zip"), ago(4), "https://mirror.example.org/tool.zip?sig=abc"),
    ])
    bob = homes / "bob"  # an inspector's copy of a Windows profile
    (bob / "Downloads").mkdir(parents=True)
    ud = bob / "AppData" / "Local" / "Google" / "Chrome" / "User Data"
    make_history(ud / "Default" / "History", [
        Dl("C:\\Users\\bob\\Downloads\\ExportOrderList20261101.xlsx", ago(12), tab_url=TB_EXPORT),
        Dl("C:\\Users\\bob\\Desktop\\快手订单.csv", ago(12), site_url="https://kwaixiaodian.com/", mime="text/csv"),
    ])
    make_lnk(bob / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Recent" / "ExportOrderList20261101.xlsx.lnk",
             "E:\\备份\\ExportOrderList20261101.xlsx", removable=True)
    make_lnk(bob / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Recent" / "季度报表.xlsx.lnk",
             "E:\\季度报表.xlsx", removable=True)  # on USB, but not an export
    make_lnk(bob / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Recent" / "其他.xlsx.lnk",
             "C:\\Users\\bob\\Documents\\ExportOrderList20261101.xlsx", removable=False)
    return {
        "homes": [alice, bob],
        "edge_history": edge / "Default" / "History",
        "listed": {
            "ExportOrderList202611.csv": ("taobao", "chrome", True),
            "拼多多订单导出.zip": ("pinduoduo", "chrome", False),
            "window-edge-inside.xlsx": ("taobao", "chrome", False),
            "京东订单明细.xlsx": ("jd", "chrome", False),
            "抖店订单.xlsx": ("doudian", "edge", False),
            "pdd_orders_ff.csv": ("pinduoduo", "firefox", True),
            "ExportOrderList20261101.xlsx": ("taobao", "chrome", False),
            "快手订单.csv": ("kuaishou", "chrome", None),
        },
    }


@pytest.fixture
def pc(tmp_path):
    return build_pc(tmp_path)


def scan(tmp_path, homes, *extra, env=None):
    out = tmp_path / "r.json"
    args = ["scan", "--only", "trail", "--days", str(DAYS), "--output", str(out), "--fail-on", "none", "--quiet"]
    for h in homes:
        args += ["--home", str(h)]
    res = run_cli(*args, *extra, env=env)
    assert res.returncode == 0, res.stderr
    return load_report(out), out.read_text(encoding="utf-8")


STATUS = ("TR-001", "TR-004", "TR-005")


def test_every_export_listed_nothing_else_and_evidence_untouched(tmp_path, pc):
    before = tree_state(tmp_path / "homes")
    holder = hold_exclusive(pc["edge_history"])  # Edge is running and holds its History
    try:
        report, text = scan(tmp_path, pc["homes"], "--registry-export", str(USB_REG))
    finally:
        release(holder)
    assert tree_state(tmp_path / "homes") == before  # every database byte-identical, nothing left beside them

    status = [f for f in report["findings"] if f["check_id"] in STATUS]
    listed = {f["evidence"]["file_name"]: f for f in status}
    assert len(status) == len(listed) == len(pc["listed"])
    assert set(listed) == set(pc["listed"])
    for name, (platform, browser, exists) in pc["listed"].items():
        ev = listed[name]["evidence"]
        assert (ev["platform"], ev["browser"], ev["file_exists"]) == (platform, browser, exists), name
        assert ev["time"] and dt.datetime.fromisoformat(ev["time"]).tzinfo is not None
        assert ev["os_user"] in ("alice", "bob") and ev["profile"] and ev["state"] == "complete"
        assert listed[name]["target"]["kind"] == "download"
    # deleted since download -> TR-001 medium; unknown location (Desktop not in the copy) -> TR-005
    for name in ("拼多多订单导出.zip", "window-edge-inside.xlsx", "京东订单明细.xlsx", "抖店订单.xlsx", "ExportOrderList20261101.xlsx"):
        assert (listed[name]["check_id"], listed[name]["severity"]) == ("TR-001", "medium"), name
    assert listed["快手订单.csv"]["check_id"] == "TR-005"
    assert listed["快手订单.csv"]["evidence"]["matched_on"] == "site_url"
    assert listed["京东订单明细.xlsx"]["evidence"]["matched_on"] == "referrer"
    assert listed["京东订单明细.xlsx"]["evidence"]["page_path"] == "/jdm/trade/tools/export/ExprotList"
    assert listed["京东订单明细.xlsx"]["evidence"]["export_page"] is True
    # still on disk: the file scan's verdict is attached (or it says none was available)
    for name in ("ExportOrderList202611.csv", "pdd_orders_ff.csv"):
        assert "file_verdict" in listed[name]["evidence"], name

    # privacy: no query string, fragment, signed link or browsing history anywhere in the report
    for bad in (SECRET, "Signature", "oss.example.com", "exportType", "event_submit", "#tab", "private.example",
                "diary", "person0@example.com", "用户 0", "mirror.example.org", "sig=abc"):
        assert bad not in text, bad
    for f in status:
        assert "?" not in (f["evidence"]["page_path"] or "")

    # removable drive: the shortcut in bob's Recent points at E:\ (removable, last assigned to the Kingston)
    (usb,) = findings_of(report, "TR-006")
    assert usb["severity"] == "high" and usb["evidence"]["file_name"] == "ExportOrderList20261101.xlsx"
    (entry,) = usb["evidence"]["removable_entries"]
    assert entry["target_path"] == "E:\\备份\\ExportOrderList20261101.xlsx"
    assert entry["drive_type"] == "DRIVE_REMOVABLE" and entry["volume_label"] == "KINGSTON"
    assert entry["usb_device"]["serial"] == "60A44C3FACC9E36179D4C93B&0"
    assert entry["usb_device"]["last_connected"].startswith("2026-03-02")
    assert usb["evidence"]["export_finding"] == listed["ExportOrderList20261101.xlsx"]["id"]
    (inv,) = findings_of(report, "TR-007")
    assert inv["severity"] == "info" and len(inv["evidence"]["devices"]) == 2

    # coverage: one entry per profile read, the corrupt one failed, the locked one read
    cov = {c["source"]: c for c in report["coverage"] if c["area"] == "trail"}
    assert cov["browser:chrome:alice/Profile 2"]["status"] == "failed"
    assert "corrupt" in cov["browser:chrome:alice/Profile 2"]["skipped"][0]["reason"]
    assert cov["browser:edge:alice/Default"]["status"] == "ok"
    assert "old schema without" in cov["browser:chrome:alice/Profile 1"]["note"]
    assert cov["browser:chrome:alice/Default"]["examined"] == 6  # the row outside the window is never read
    for label in ("chrome:alice/Default", "chrome:alice/Profile 1", "edge:alice/Default", "chrome:bob/Default",
                  "firefox:alice/q1w2e3r4.default-release"):
        assert cov[f"browser:{label}"]["status"] == "ok", label

    # the per-host summary
    section = report["trail"]
    assert section["window"]["days"] == DAYS
    assert {(p["browser"], p["os_user"], p["profile"]) for p in section["profiles"]} >= {
        ("chrome", "alice", "Default"), ("edge", "alice", "Default"), ("firefox", "alice", "q1w2e3r4.default-release")}
    assert sum(w["exports"] for w in section["weekly"]) == len(pc["listed"])
    assert {w["platform"] for w in section["weekly"]} == {"taobao", "pinduoduo", "jd", "doudian", "kuaishou"}


def test_bulk_exports_and_a_new_platform_are_data_edits(tmp_path):
    checks = copy_checks(tmp_path)
    cat = checks / "backoffices.toml"
    text = cat.read_text(encoding="utf-8").replace("max_exports_per_day = 20", "max_exports_per_day = 3")
    text += ('\n[[platform]]\nid = "yunwms"\nname_zh = "云仓WMS"\nname_en = "Cloud WMS"\n'
             'hosts = ["wms.yuncang.example"]\nsites = []\nexport_pages = ["/outbound/export*"]\nsources = ["test"]\n')
    cat.write_text(text, encoding="utf-8")
    with open(checks / "platforms.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[[platform]]\nid = "yunwms"\nname_zh = "云仓WMS"\nname_en = "Cloud WMS"\n')
    home = tmp_path / "homes" / "carol"
    day = ago(2).replace(hour=10, minute=0, second=0)
    make_history(home / ".config" / "chromium" / "Default" / "History", [
        Dl(f"/nowhere/出库单{i}.xlsx", day + dt.timedelta(minutes=7 * i), tab_url="https://wms.yuncang.example/outbound/export?p=1")
        for i in range(4)
    ] + [Dl("/nowhere/single.xlsx", ago(5), tab_url=TB_EXPORT)])
    report, _ = scan(tmp_path, [home], env={"AUDITOR_CHECKS_DIR": str(checks)})
    (bulk,) = findings_of(report, "TR-002")
    assert bulk["severity"] == "high" and bulk["evidence"]["exports"] == 4 and bulk["evidence"]["limit"] == 3
    assert bulk["evidence"]["by_platform"] == {"yunwms": 4}
    assert len(bulk["evidence"]["export_findings"]) == 4
    ids = {f["id"] for f in report["findings"]}
    assert set(bulk["evidence"]["export_findings"]) <= ids


def test_exports_after_departure_with_a_roster(tmp_path):
    home = tmp_path / "homes" / "dave"
    make_history(home / ".config" / "google-chrome" / "Default" / "History", [
        Dl("/nowhere/before.xlsx", ago(20), tab_url=TB_EXPORT),
        Dl("/nowhere/after.xlsx", ago(2), tab_url=PDD_EXPORT),
    ])
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["工号", "姓名", "电脑账号", "部门", "离职日期"])
        w.writerow(["E001", "王丽", "dave", "打单组", (dt.date.today() - dt.timedelta(days=10)).strftime("%Y/%m/%d")])
        w.writerow(["E002", "李强", "erin", "仓库", ""])
    report, _ = scan(tmp_path, [home], "--roster", str(roster))
    (dep,) = findings_of(report, "TR-003")
    assert dep["severity"] == "critical" and dep["evidence"]["file_name"] == "after.xlsx"
    assert dep["evidence"]["departure_date"] == (dt.date.today() - dt.timedelta(days=10)).isoformat()
    assert dep["evidence"]["platform"] == "pinduoduo"
    assert "Pinduoduo" in dep["title"]["en"] and "拼多多" in dep["title"]["zh"]


def test_no_browsers_is_no_data_not_failure(tmp_path):
    home = tmp_path / "homes" / "empty"
    home.mkdir(parents=True)
    report, _ = scan(tmp_path, [home])
    assert not report["findings"]
    cov = {c["source"]: c for c in report["coverage"] if c["area"] == "trail"}
    assert cov["browser-profiles"]["status"] == "no_data"
    assert cov["removable:usb-registry"]["status"] == "skipped"
    assert report["trail"]["profiles"] == [] and report["trail"]["weekly"] == []


def test_days_window_from_the_command_line(tmp_path):
    home = tmp_path / "homes" / "frank"
    make_history(home / ".config" / "google-chrome" / "Default" / "History", [
        Dl("/nowhere/recent.xlsx", ago(1), tab_url=TB_EXPORT),
        Dl("/nowhere/older.xlsx", ago(40), tab_url=TB_EXPORT),
    ])
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "trail", "--home", str(home), "-o", str(out), "--fail-on", "none", "-q")
    assert res.returncode == 0, res.stderr
    names = {f["evidence"]["file_name"] for f in load_report(out)["findings"]}
    assert names == {"recent.xlsx", "older.xlsx"}  # default --days 90
    res = run_cli("scan", "--only", "trail", "--home", str(home), "--days", "7", "-o", str(out), "--fail-on", "none", "-q")
    assert {f["evidence"]["file_name"] for f in load_report(out)["findings"]} == {"recent.xlsx"}
    assert json.loads(out.read_text(encoding="utf-8"))["trail"]["window"]["days"] == 7


def test_a_relative_home_finds_the_exports_inside_it(tmp_path):
    """`--home homes/gina` from the folder above: the download targets (absolute, as the browser records them)
    are inside the audited home, so a vanished export is TR-001 and one still there is judged, as with an
    absolute --home."""
    home = tmp_path / "homes" / "gina"
    dl = home / "Downloads"
    dl.mkdir(parents=True)
    (dl / "still-here.xlsx").write_bytes(b"PK")
    make_history(home / ".config" / "google-chrome" / "Default" / "History", [
        Dl(str(dl / "gone.xlsx"), ago(1), tab_url=TB_EXPORT),
        Dl(str(dl / "still-here.xlsx"), ago(1), tab_url=TB_EXPORT),
    ])
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "trail", "--home", "homes/gina", "-o", "r.json", "--fail-on", "none", "-q",
                  cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    by_name = {f["evidence"]["file_name"]: f for f in load_report(out)["findings"]}
    assert by_name["gone.xlsx"]["check_id"] == "TR-001"
    assert by_name["gone.xlsx"]["evidence"]["file_exists"] is False
    assert by_name["still-here.xlsx"]["evidence"]["file_exists"] is True
    assert {f["evidence"]["file_check"] for f in by_name.values()} == {"inside the audited home"}
