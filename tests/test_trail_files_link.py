"""Export trail linked to the file scan: a downloaded export still on disk, unmasked, points at the files
area's finding for that file (files area run before trail in the same scan), and a masked one is judged
clean."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from conftest import findings_of, load_report, run_cli
from exportgen import export_rows, write_csv
from trailkit import Dl, make_history

pytest.importorskip("auditor.files.verdict")

NOW = dt.datetime.now().astimezone()
TB = "https://trade.taobao.com/trade/itemlist/list_export_order.htm?t=1"
DD = "https://fxg.jinritemai.com/ffa/morder/order/list?x=2"


def test_download_links_to_the_file_finding(tmp_path):
    home = tmp_path / "homes" / "gina"
    dl = home / "Downloads"
    write_csv(dl / "ExportOrderList.csv", export_rows(random.Random(3), "taobao", 80)[0])
    write_csv(dl / "抖店订单_脱敏.csv", export_rows(random.Random(4), "douyin", 80, masked=1.0)[0])
    make_history(home / ".config" / "google-chrome" / "Default" / "History", [
        Dl(str(dl / "ExportOrderList.csv"), NOW - dt.timedelta(days=1), tab_url=TB, mime="text/csv"),
        Dl(str(dl / "抖店订单_脱敏.csv"), NOW - dt.timedelta(days=1), tab_url=DD, mime="text/csv"),
    ])
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "files", "--only", "trail", "--path", str(dl), "--home", str(home),
                  "-o", str(out), "--fail-on", "none", "-q")
    assert res.returncode == 0, res.stderr
    report = load_report(out)
    file_findings = [f for f in report["findings"] if f["area"] == "files"]
    assert len(file_findings) == 1
    (linked,) = findings_of(report, "TR-004")
    verdict = linked["evidence"]["file_verdict"]
    assert verdict["source"] == "files-area" and verdict["unmasked"] is True
    assert verdict["finding_id"] == file_findings[0]["id"] and verdict["check_id"] == file_findings[0]["check_id"]
    assert verdict["records"] == 80
    (masked,) = [f for f in findings_of(report, "TR-005") if f["evidence"]["file_name"] == "抖店订单_脱敏.csv"]
    assert masked["severity"] == "info" and masked["evidence"]["file_verdict"]["unmasked"] is False


def test_without_the_files_area_verdict_for_is_used(tmp_path):
    home = tmp_path / "homes" / "hank"
    dl = home / "Downloads"
    write_csv(dl / "pdd.csv", export_rows(random.Random(5), "pdd", 30)[0])
    make_history(home / ".config" / "google-chrome" / "Default" / "History", [
        Dl(str(dl / "pdd.csv"), NOW - dt.timedelta(days=1), tab_url="https://mms.pinduoduo.com/orders/list", mime="text/csv"),
    ])
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "trail", "--home", str(home), "-o", str(out), "--fail-on", "none", "-q")
    assert res.returncode == 0, res.stderr
    (linked,) = findings_of(load_report(out), "TR-004")
    assert linked["evidence"]["file_verdict"]["source"] == "verdict_for"
    assert linked["evidence"]["file_verdict"]["finding_id"] is None
    assert linked["evidence"]["file_verdict"]["records"] == 30
