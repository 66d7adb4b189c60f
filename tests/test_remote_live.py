"""Remote-control detection on the live host, with real processes and real sockets."""

from __future__ import annotations

import subprocess
import threading

import pytest

from conftest import findings_of, listen_code, load_report, run_cli, start_named_python

pytestmark = pytest.mark.live  # sees the processes of this host (judges only its own)

# Names the tests use (the acceptance run uses other names, unknown to the tests).
TOOL_PROCS = {
    "ToDesk.exe": ("todesk", "RC-001"),
    "SunloginClient.exe": ("sunlogin", "RC-001"),
    "AnyDesk.exe": ("anydesk", "RC-001"),
    "frpc": ("frp", "RC-005"),
    "ngrok": ("ngrok", "RC-005"),
}


def _by_pid(report: dict) -> dict[int, dict]:
    return {f["evidence"]["pid"]: f for f in report["findings"] if isinstance(f["evidence"].get("pid"), int)}


def test_renamed_sleep_copies_are_named_by_pid_and_exe(spawn, tmp_path):
    procs = {name: spawn.start(name) for name in TOOL_PROCS}
    spawn.wait_visible()
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "--output", str(out), "--quiet")
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    by_pid = _by_pid(report)
    for name, proc in procs.items():
        tool_id, check = TOOL_PROCS[name]
        f = by_pid.get(proc.pid)
        assert f is not None, f"{name} (pid {proc.pid}) not reported"
        assert f["check_id"] == check
        assert f["evidence"]["exe"] == proc.args[0]
        assert f["evidence"]["tool"]["id"] == tool_id
        assert f["severity"] == "high"  # no --role: high, not critical
        assert f["legal_basis"] and f["remediation"]["zh"] and f["title"]["en"]
        assert len(f["evidence"]["exe_sha256"]) == 64


def test_waybill_role_raises_to_critical(spawn, tmp_path):
    proc = spawn.start("ToDesk.exe")
    spawn.wait_visible()
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "--role", "waybill-printing", "-o", str(out), "--quiet",
                  "--fail-on", "critical")
    assert res.returncode == 1
    f = _by_pid(load_report(out))[proc.pid]
    assert f["severity"] == "critical"
    assert load_report(out)["host"]["role"] == "waybill-printing"


def test_tool_listening_port_is_attached_to_its_finding(spawn, tmp_path):
    # A real socket opened by a process named like a remote tool: python itself, renamed.
    proc = start_named_python(tmp_path / "bin", "rustdesk", listen_code())
    try:
        port = int(proc.first_line)
        out = tmp_path / "r.json"
        run_cli("scan", "--only", "remote", "-o", str(out), "--quiet")
        f = _by_pid(load_report(out))[proc.pid]
        assert f["evidence"]["tool"]["id"] == "rustdesk"
        assert f"tcp/127.0.0.1:{port}" in f["evidence"]["listening"]
    finally:
        proc.kill()
        proc.wait()


def test_bland_process_on_a_catalog_port_is_named(tmp_path):
    """A process with an ordinary name listening on a remote tool's default port (TeamViewer IPC 5939, or another
    tool's port where something else on this host holds that one)."""
    from auditor import packs

    owners: dict[int, set[str]] = {}
    for tool in packs.catalog().values():
        for port in tool.ports:
            owners.setdefault(port, set()).add(tool.id)
    candidates = [5939, *sorted(p for p in owners if p != 5939 and p >= 1024)]
    proc = start_named_python(tmp_path / "bin", "printhelper", listen_code(*candidates))
    exe = tmp_path / "bin" / "printhelper"
    try:
        assert proc.first_line, f"every catalog port is taken on this host: {candidates}"
        port = int(proc.first_line)
        out = tmp_path / "r.json"
        run_cli("scan", "--only", "remote", "-o", str(out), "--quiet")
        report = load_report(out)
        hits = [f for f in findings_of(report, "RC-006") if f["evidence"].get("pid") == proc.pid]
        assert hits, f"bland listener on {port} not reported"
        ev = hits[0]["evidence"]
        assert ev["port"] == port and ev["name"] == "printhelper" and ev["exe"] == str(exe)
        assert owners[port] <= {t["id"] for t in ev["port_of"]}
    finally:
        proc.kill()
        proc.wait()


def test_processes_exiting_mid_scan_do_not_break_it(tmp_path):
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            subprocess.run(["true"])

    threads = [threading.Thread(target=churn) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        out = tmp_path / "r.json"
        res = run_cli("scan", "--only", "remote", "-o", str(out), "--quiet", "--fail-on", "none")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    cov = {c["source"]: c for c in load_report(out)["coverage"]}
    assert cov["processes"]["examined"] > 5


def test_report_file_is_owner_only(tmp_path):
    out = tmp_path / "r.json"
    run_cli("scan", "--only", "remote", "-o", str(out), "--quiet")
    assert (out.stat().st_mode & 0o777) == 0o600
    assert not list(tmp_path.glob(".r.json.*"))  # no temporary file left behind


def test_terminal_summary_chinese_default_and_english(spawn, tmp_path):
    spawn.start("ToDesk.exe")
    spawn.wait_visible()
    zh = run_cli("scan", "--only", "remote", env={"COLUMNS": "200"})
    assert "严重程度" in zh.stdout and "覆盖情况" in zh.stdout and "ToDesk" in zh.stdout
    assert "得分" in zh.stdout and "等级" in zh.stdout  # the score a manager tracks
    en = run_cli("scan", "--only", "remote", "--lang", "en", env={"COLUMNS": "200"})
    assert "Severity" in en.stdout and "Coverage" in en.stdout and "Score" in en.stdout
    quiet = run_cli("scan", "--only", "remote", "--quiet")
    assert quiet.stdout == ""
