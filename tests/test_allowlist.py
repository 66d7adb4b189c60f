"""Allowlist of approved remote tools: approver, host pattern, expiry."""

from __future__ import annotations

import datetime as dt
import socket
import textwrap

from conftest import load_report, run_cli

HOST = socket.gethostname()


def _allowlist(tmp_path, body: str):
    path = tmp_path / "allow.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def _finding_for(report, pid):
    return [f for f in report["findings"] if f["evidence"].get("pid") == pid or
            pid in [p.get("pid") for p in f["evidence"].get("processes", [])]]


def test_approved_unexpired_tool_becomes_low_confirm_controls(spawn, tmp_path):
    proc = spawn.start("ToDesk.exe")
    spawn.wait_visible()
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    allow = _allowlist(tmp_path, f"""
        [[approved]]
        tool = "todesk"
        hosts = ["{HOST}"]
        approver = "李主管 (IT)"
        reason = "打印机厂商远程维护"
        expires = {future}
        """)
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "--allowlist", str(allow), "-o", str(out), "-q")
    report = load_report(out)
    hits = _finding_for(report, proc.pid)
    assert [f["check_id"] for f in hits] == ["RC-007"]
    assert hits[0]["severity"] == "low"
    assert hits[0]["evidence"]["approval"]["approver"] == "李主管 (IT)"
    assert report["allowlist"][0]["status"] == "active"
    assert res.returncode == 0 or any(f["severity"] in ("high", "critical") for f in report["findings"])


def test_expired_approval_counts_as_unapproved_and_says_so(spawn, tmp_path):
    proc = spawn.start("ToDesk.exe")
    spawn.wait_visible()
    allow = _allowlist(tmp_path, """
        [[approved]]
        tool = "todesk"
        approver = "李主管"
        reason = "临时维护"
        expires = 2024-01-31
        """)
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "--allowlist", str(allow), "-o", str(out), "-q")
    assert res.returncode == 1
    hits = _finding_for(load_report(out), proc.pid)
    assert [f["check_id"] for f in hits] == ["RC-001"]
    assert "2024-01-31" in hits[0]["note"]["zh"] and "expired" in hits[0]["note"]["en"]
    assert hits[0]["evidence"]["approval"]["status"] == "expired"


def test_approval_for_other_hosts_does_not_apply(spawn, tmp_path):
    proc = spawn.start("ToDesk.exe")
    spawn.wait_visible()
    allow = _allowlist(tmp_path, """
        [[approved]]
        tool = "todesk"
        hosts = ["HQ-FINANCE-*"]
        approver = "王"
        reason = "财务室"
        expires = 2099-12-31
        """)
    out = tmp_path / "r.json"
    run_cli("scan", "--only", "remote", "--allowlist", str(allow), "-o", str(out), "-q")
    assert [f["check_id"] for f in _finding_for(load_report(out), proc.pid)] == ["RC-001"]


def test_invalid_allowlist_exits_2_with_the_line(tmp_path):
    allow = _allowlist(tmp_path, """
        # approved tools
        [[approved]]
        tool = "todesk"
        approver = "a"
        reason = "b"
        expires = 2030-01-01

        [[approved]]
        tool = "no-such-tool"
        approver = "a"
        reason = "b"
        expires = 2030-01-01
        """)
    res = run_cli("scan", "--only", "remote", "--allowlist", str(allow), "-q", "--lang", "en")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "line 10" in res.stderr and "no-such-tool" in res.stderr


def test_allowlist_missing_expiry_and_syntax_errors(tmp_path):
    allow = _allowlist(tmp_path, """
        [[approved]]
        tool = "todesk"
        approver = "a"
        reason = "b"
        """)
    res = run_cli("scan", "--only", "remote", "--allowlist", str(allow), "-q", "--lang", "en")
    assert res.returncode == 2 and "line 2" in res.stderr and "expires" in res.stderr
    allow.write_text('[[approved]]\ntool = "todesk\n', encoding="utf-8")
    res = run_cli("scan", "--only", "remote", "--allowlist", str(allow), "-q", "--lang", "en")
    assert res.returncode == 2 and "line 2" in res.stderr and "Traceback" not in res.stderr


def test_an_allowlist_that_is_a_folder_is_named_as_one(tmp_path):
    for command in (("scan", "--only", "remote", "-q"), ("watch", "--no-processes", "--path", str(tmp_path))):
        res = run_cli(*command, "--allowlist", str(tmp_path), "--lang", "en")
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
        assert f"{tmp_path}: a folder, not a regular file" in res.stderr and "no such file" not in res.stderr
