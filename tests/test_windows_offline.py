"""Windows sources on recorded outputs of real Windows machines: regedit exports and Task Scheduler files,
audited as an offline Windows tree (--root + --registry-export)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from auditor.remote.win_files import parse_task_xml
from conftest import findings_of, load_report, run_cli

FIX = Path(__file__).parent / "fixtures" / "windows"


@pytest.fixture
def win_tree(tmp_path) -> Path:
    root = tmp_path / "C"
    shutil.copytree(FIX / "tasks", root / "Windows" / "System32" / "Tasks")
    (root / "Program Files" / "ToDesk").mkdir(parents=True)
    (root / "Users" / "chenmo" / "Desktop").mkdir(parents=True)
    startup = root / "Users" / "chenmo" / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
    startup.mkdir(parents=True)
    (startup / "desktop.ini").write_text("[.ShellClassInfo]\n")
    return root


def _scan(root: Path, tmp_path: Path, *regs: str) -> dict:
    args = ["scan", "--only", "remote", "--root", str(root), "-q", "-o", str(tmp_path / "r.json")]
    for reg in regs:
        args += ["--registry-export", str(FIX / reg)]
    res = run_cli(*args)
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    return load_report(tmp_path / "r.json")


def _by_tool(report: dict) -> dict[str, dict]:
    return {f["evidence"]["tool"]["id"]: f for f in report["findings"] if "tool" in f["evidence"]}


def test_registry_and_tasks_of_a_windows_pc(win_tree, tmp_path):
    report = _scan(win_tree, tmp_path, "uninstall.reg", "run_keys.reg", "services.reg", "remote_features_enabled.reg")
    tools = _by_tool(report)

    todesk = tools["todesk"]
    assert todesk["check_id"] == "RC-003"
    kinds = {(e["kind"], e["name"]) for e in todesk["evidence"]["autostart"]}
    assert ("service", "ToDesk_Service") in kinds and ("run_key", "ToDesk") in kinds
    assert any(i["source"].endswith(r"Uninstall\ToDesk") for i in todesk["evidence"]["installed"])
    assert any(i["source"] == "folder" for i in todesk["evidence"]["installed"])

    sun = tools["sunlogin"]
    assert sun["check_id"] == "RC-003"
    assert any(i["name"] == "向日葵远程控制" for i in sun["evidence"]["installed"])

    # frpc hidden behind a bland Run value name is still a tunnel
    frp = tools["frp"]
    assert frp["check_id"] == "RC-005"
    run = frp["evidence"]["autostart"][0]
    assert run["kind"] == "run_key" and run["name"] == "WindowsUpdateHelper"

    # a scheduled task starting RustDesk
    rust = tools["rustdesk"]
    assert any(e["kind"] == "scheduled_task" for e in rust["evidence"]["autostart"])

    for tool_id in ("anydesk", "teamviewer"):
        assert tools[tool_id]["check_id"] == "RC-003"

    rdp = findings_of(report, "RC-010")[0]
    assert rdp["evidence"]["port"] == 13389 and rdp["evidence"]["nla"] is False
    assert findings_of(report, "RC-011")
    ssh = findings_of(report, "RC-013")[0]
    assert ssh["evidence"]["autostart_units"] == ["sshd"]

    # ordinary software is not reported
    names = " ".join(f["title"]["en"] for f in report["findings"])
    for ordinary in ("7-Zip", "Chrome", "WPS", "Spooler", "OneDrive"):
        assert ordinary not in names
    cov = {c["source"]: c for c in report["coverage"]}
    assert cov["autostart:scheduled-tasks"]["examined"] == 3
    assert cov["services:registry"]["status"] == "ok"


def test_windows_defaults_report_no_remote_features(win_tree, tmp_path):
    report = _scan(win_tree, tmp_path, "remote_features_disabled.reg")
    assert not findings_of(report, "RC-010") and not findings_of(report, "RC-011")


def test_no_registry_is_a_coverage_gap_not_a_crash(win_tree, tmp_path):
    report = _scan(win_tree, tmp_path)
    cov = {c["source"]: c for c in report["coverage"]}
    assert cov["installed:uninstall-keys"]["status"] == "no_data"
    assert "registry" in cov["installed:uninstall-keys"]["note"]
    assert "rustdesk" in _by_tool(report)  # file-based sources still ran


def test_broken_task_files_are_skipped_with_reason(win_tree, tmp_path):
    tasks = win_tree / "Windows" / "System32" / "Tasks"
    (tasks / "Broken").write_bytes(b"\xff\xfe<\x00T\x00a\x00")
    report = _scan(win_tree, tmp_path)
    skipped = {s["item"]: s["reason"] for c in report["coverage"] for s in c["skipped"]}
    assert any(k.endswith("Broken") and "task XML" in v for k, v in skipped.items())


def test_task_xml_parser_on_recorded_files():
    commands, enabled = parse_task_xml((FIX / "tasks" / "RustDesk").read_bytes())
    assert enabled and any("rustdesk" in c.lower() for c in commands)
    disabled = ('<?xml version="1.0"?><Task xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">'
                '<Settings><Enabled>false</Enabled></Settings><Actions><Exec><Command>C:\\x\\AnyDesk.exe</Command>'
                '</Exec></Actions></Task>').encode()
    assert parse_task_xml(disabled) == (["C:\\x\\AnyDesk.exe"], False)


@pytest.mark.parametrize("fixture", ["schtasks_en.csv", "schtasks_zh.csv"])
def test_schtasks_csv_parser_on_recorded_outputs(fixture):
    from auditor.adapters.schtasks import parse_schtasks_csv
    from auditor.textcodec import decode_console

    tasks = parse_schtasks_csv(decode_console((FIX / fixture).read_bytes()))
    by_name = {t["name"]: t for t in tasks}
    rust = by_name["\\RustDesk"]
    assert rust["command"].startswith('"C:\\Users\\chenmo\\Downloads\\rustdesk') and rust["enabled"] == "yes"
    assert len({t["name"] for t in tasks}) == len(by_name)
    assert all(t["command"] and t["command"] != "N/A" for t in tasks)
    assert sum(1 for t in tasks if t["name"] == "\\RustDesk") == 1  # repeated headers and rows folded


def test_schtasks_gbk_bytes_decode():
    from auditor.adapters.schtasks import parse_schtasks_csv
    from auditor.textcodec import decode_console

    raw = (FIX / "schtasks_zh.csv").read_text(encoding="utf-8").encode("gbk")
    assert parse_schtasks_csv(decode_console(raw))[0]["name"] == "\\RustDesk"


def test_unreadable_lines_of_a_registry_export_are_in_the_coverage(win_tree, tmp_path):
    """A broken export must not look clean: the lines that could not be read are listed with their reasons."""
    broken = tmp_path / "broken.reg"
    text = (FIX / "run_keys.reg").read_bytes().decode("utf-16")
    broken.write_bytes(("\ufeff" + text + "\r\n[HKEY_NOWHERE\\Software]\r\n\"x\"=dword:zzzz\r\n").encode("utf-16-le"))
    args = ["scan", "--only", "remote", "--root", str(win_tree), "-q", "-o", str(tmp_path / "r.json"),
            "--registry-export", str(broken)]
    res = run_cli(*args)
    assert res.returncode in (0, 1), res.stderr
    cov = next(c for c in load_report(tmp_path / "r.json")["coverage"] if c["source"] == "registry-export")
    assert cov["status"] == "partial" and cov["skipped"] and all(s["item"].startswith("line ") for s in cov["skipped"])
