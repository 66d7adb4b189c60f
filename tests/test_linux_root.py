"""--root on a copied Linux system tree: packages, systemd units, XDG autostart, cron, sshd."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import findings_of, load_report, run_cli


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def linux_tree(tmp_path) -> Path:
    root = tmp_path / "root"
    _write(root, "etc/os-release", 'PRETTY_NAME="UnionTech OS Desktop 20 Pro"\nVERSION_ID="20"\n')
    _write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                               "wh01:x:1000:1000:仓库打单,,,:/home/wh01:/bin/bash\n")
    (root / "home/wh01").mkdir(parents=True)
    # dpkg: RustDesk installed (package), an ordinary package beside it
    _write(root, "var/lib/dpkg/status",
           "Package: rustdesk\nStatus: install ok installed\nVersion: 1.2.3\nMaintainer: rustdesk <info@rustdesk.com>\n\n"
           "Package: coreutils\nStatus: install ok installed\nVersion: 9.1-1\n\n"
           "Package: anydesk\nStatus: deinstall ok config-files\nVersion: 6.3.0\n\n")
    # systemd: frpc enabled (tunnel, autostart), ssh enabled, an ordinary disabled unit
    _write(root, "lib/systemd/system/frpc.service",
           "[Unit]\nDescription=frp client\n[Service]\nExecStart=/usr/local/bin/frpc -c /etc/frp/frpc.toml\n"
           "[Install]\nWantedBy=multi-user.target\n")
    _write(root, "lib/systemd/system/ssh.service", "[Service]\nExecStart=/usr/sbin/sshd -D\n")
    _write(root, "lib/systemd/system/cups.service", "[Service]\nExecStart=/usr/sbin/cupsd -l\n")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    os.symlink("/lib/systemd/system/frpc.service", wants / "frpc.service")
    os.symlink("/lib/systemd/system/ssh.service", wants / "ssh.service")
    # XDG autostart: ToDesk for the user; a hidden (disabled) AnyDesk entry must not count as autostart
    _write(root, "home/wh01/.config/autostart/todesk.desktop",
           "[Desktop Entry]\nType=Application\nName=ToDesk\nExec=/opt/todesk/bin/ToDesk --hide\n")
    _write(root, "etc/xdg/autostart/anydesk.desktop",
           "[Desktop Entry]\nName=AnyDesk\nExec=/usr/bin/anydesk --tray\nHidden=true\n")
    # cron: ngrok at boot from a user's crontab
    _write(root, "var/spool/cron/crontabs/wh01",
           "# m h dom mon dow command\n@reboot /home/wh01/.local/bin/ngrok tcp 22 --authtoken 2abcSECRETxyz\n")
    _write(root, "etc/crontab", "SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n")
    (root / "opt/todesk/bin").mkdir(parents=True)
    return root


def test_linux_tree(linux_tree, tmp_path):
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "--root", str(linux_tree), "-o", str(out), "-q")
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    assert report["host"]["os"] == "UnionTech OS Desktop 20 Pro"
    by_tool = {}
    for f in report["findings"]:
        tool = f["evidence"].get("tool", {}).get("id") or f["evidence"].get("feature")
        by_tool.setdefault(tool, []).append(f)

    frp = by_tool["frp"][0]
    assert frp["check_id"] == "RC-005"
    assert any(e["kind"] == "service" and e["name"] == "frpc" and e["start"] == "enabled"
               for e in frp["evidence"]["autostart"])

    todesk = by_tool["todesk"][0]
    assert todesk["check_id"] == "RC-003"
    entry = next(e for e in todesk["evidence"]["autostart"] if e["kind"] == "xdg_autostart")
    assert entry["user"] == "wh01"
    assert any(i["source"] == "folder" for i in todesk["evidence"]["installed"])

    ngrok = by_tool["ngrok"][0]
    assert ngrok["check_id"] == "RC-005"
    cron = ngrok["evidence"]["autostart"][0]
    assert cron["kind"] == "cron" and "2abcSECRETxyz" not in cron["command"] and "***" in cron["command"]

    rust = by_tool["rustdesk"][0]
    assert rust["check_id"] == "RC-004" and rust["evidence"]["installed"][0]["source"] == "dpkg"

    assert "anydesk" not in by_tool  # only config files left, autostart hidden

    sshd = by_tool["sshd"][0]
    assert sshd["check_id"] == "RC-013" and sshd["severity"] == "medium"

    cov = {c["source"]: c for c in report["coverage"]}
    assert cov["processes"]["status"] == "skipped" and "--root" in cov["processes"]["note"]
    assert cov["sockets"]["status"] == "skipped"
    assert "2abcSECRETxyz" not in out.read_text(encoding="utf-8")


def test_unreadable_and_odd_entries_do_not_stop_the_scan(linux_tree, tmp_path):
    # a dangling symlink, a binary .desktop file, a directory where a unit file would be
    os.symlink("/nowhere", linux_tree / "home/wh01/.config/autostart/dangling.desktop")
    (linux_tree / "etc/xdg/autostart/garbage.desktop").write_bytes(b"\xff\xfe\x00\x01binary\x00")
    (linux_tree / "lib/systemd/system/weird.service").mkdir()
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "--root", str(linux_tree), "-o", str(out), "-q")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    report = load_report(out)
    skipped = [s["item"] for c in report["coverage"] for s in c["skipped"]]
    assert any("dangling.desktop" in s for s in skipped)
    assert findings_of(report, "RC-005")
