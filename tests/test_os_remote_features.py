"""The remote-control checks no other test made fire, through the real command line: a remote viewer running
(RC-009), WinRM set to start with Windows in an offline Windows tree (RC-012), xrdp enabled in a copied Linux
tree (RC-014)."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import findings_of, load_report, run_cli

WINRM_REG = """Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\WinRM]
"DisplayName"="Windows Remote Management (WS-Management)"
"ImagePath"=hex(2):43,00,3a,00,5c,00,57,00,69,00,6e,00,64,00,6f,00,77,00,73,00,5c,00,53,00,79,00,73,00,74,\\
  00,65,00,6d,00,33,00,32,00,5c,00,73,00,76,00,63,00,68,00,6f,00,73,00,74,00,2e,00,65,00,78,00,65,00,20,00,\\
  2d,00,6b,00,20,00,4e,00,65,00,74,00,77,00,6f,00,72,00,6b,00,53,00,65,00,72,00,76,00,69,00,63,00,65,00,00,\\
  00
"Start"=dword:00000002
"ObjectName"="NT AUTHORITY\\\\NetworkService"

"""


def _scan(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "-q", "--fail-on", "none", "-o", str(out), *args,
                  env={"AUDITOR_STATE_DIR": str(tmp_path / "state")})
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    return load_report(out)


def test_remote_viewer_running_is_listed_for_the_record(spawn, tmp_path):
    proc = spawn.start("mstsc.exe")
    spawn.wait_visible()
    report = _scan(tmp_path)
    (viewer,) = [f for f in findings_of(report, "RC-009") if f["evidence"]["pid"] == proc.pid]
    assert viewer["severity"] == "info" and viewer["evidence"]["tool"]["id"] == "mstsc"
    assert viewer["subject"]["kind"] == "process" and viewer["subject"]["pid"] == proc.pid
    assert viewer["subject"]["tool"] == "mstsc" and len(viewer["subject"]["sha256"]) == 64


def test_winrm_starting_with_windows(tmp_path):
    root = tmp_path / "C"
    (root / "Windows" / "System32").mkdir(parents=True)
    (root / "Users" / "clerk" / "Desktop").mkdir(parents=True)
    reg = tmp_path / "winrm.reg"
    reg.write_bytes(b"\xff\xfe" + WINRM_REG.replace("\n", "\r\n").encode("utf-16-le"))
    report = _scan(tmp_path, "--root", str(root), "--registry-export", str(reg))
    (winrm,) = findings_of(report, "RC-012")
    assert winrm["severity"] == "medium" and winrm["evidence"]["autostart_units"] == ["WinRM"]
    assert winrm["subject"] == {"kind": "setting", "setting": "winrm", "tool_name": "winrm",
                                "tool_category": "os_feature"}


def test_xrdp_enabled_in_a_linux_tree(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text('PRETTY_NAME="Kylin V10"\n', encoding="utf-8")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    units = root / "lib" / "systemd" / "system"
    units.mkdir(parents=True)
    (units / "xrdp.service").write_text("[Service]\nExecStart=/usr/sbin/xrdp --nodaemon\n"
                                        "[Install]\nWantedBy=multi-user.target\n", encoding="utf-8")
    wants = root / "etc" / "systemd" / "system" / "multi-user.target.wants"
    wants.mkdir(parents=True)
    os.symlink("/lib/systemd/system/xrdp.service", wants / "xrdp.service")
    report = _scan(tmp_path, "--root", str(root))
    (xrdp,) = findings_of(report, "RC-014")
    assert xrdp["severity"] == "medium" and xrdp["target"]["ref"] == "xrdp"
    assert "xrdp" in xrdp["evidence"]["autostart_units"][0]
    assert xrdp["subject"]["setting"] == "xrdp"
