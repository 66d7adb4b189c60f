"""Scenarios for the report tests: a copied Linux system tree with findings in the remote, files and accounts
areas (and file names crafted to look like spreadsheet formulas), plus helpers to scan it and render it."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import socket
import textwrap
from pathlib import Path
from typing import Callable

from conftest import load_report, run_cli
from exportgen import export_rows, write_csv

# labels a spreadsheet would evaluate: they reach the reports as file names (finding target labels)
FORMULA_NAMES = ["=HYPERLINK(\"x.invalid\",\"点我\")订单.csv", "@SUM(1+1)发货.csv", "+cmd 面单.csv",
                 "-2+3 导出.csv"]
PIPE_NAME = "a|b 订单*导出_.csv"
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def three_area_tree(root: Path, todesk: bool = True, ssh: bool = False, seed: int = 7) -> dict:
    """A waybill-printing PC as a copied tree: frpc enabled (RC-005), ToDesk in XDG autostart (RC-003),
    unmasked exports on the desktop (PI-001, PI-002) and an account without a password (AC-010).
    Returns the personal data written into the exports (to prove that no report repeats it)."""
    write(root, "etc/os-release", 'PRETTY_NAME="UnionTech OS Desktop 20 Pro"\nVERSION_ID="20"\n')
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nwh01:x:1000:1000:仓库打单,,,:/home/wh01:/bin/bash\n"
                              "print02:x:1001:1001::/home/print02:/bin/bash\n")
    write(root, "etc/shadow", "root:!:19000:0:99999:7:::\nwh01:$6$salt$hash:19000:0:99999:7:::\n"
                              "print02::19000:0:99999:7:::\n")
    write(root, "lib/systemd/system/frpc.service",
          "[Unit]\nDescription=frp client\n[Service]\nExecStart=/usr/local/bin/frpc -c /etc/frp/frpc.toml\n"
          "[Install]\nWantedBy=multi-user.target\n")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    if not (wants / "frpc.service").is_symlink():
        os.symlink("/lib/systemd/system/frpc.service", wants / "frpc.service")
    autostart = root / "home/wh01/.config/autostart/todesk.desktop"
    if todesk:
        write(root, "home/wh01/.config/autostart/todesk.desktop",
              "[Desktop Entry]\nType=Application\nName=ToDesk\nExec=/opt/todesk/bin/ToDesk --hide\n")
    elif autostart.exists():
        autostart.unlink()
    if ssh:
        write(root, "lib/systemd/system/ssh.service", "[Service]\nExecStart=/usr/sbin/sshd -D\n")
        if not (wants / "ssh.service").is_symlink():
            os.symlink("/lib/systemd/system/ssh.service", wants / "ssh.service")
    rng = random.Random(seed)
    secrets: list[str] = []
    desk = root / "home/wh01/Desktop"
    for i, name in enumerate(["淘宝订单导出_20261101.csv", *FORMULA_NAMES, PIPE_NAME]):
        rows, _ = export_rows(rng, "taobao", 30 + i)
        write_csv(desk / name, rows)
        secrets += _pii_cells(rows)
    rows, _ = export_rows(rng, "taobao", 25)
    ids = [[*r, "身份证号" if j == 0 else _id(rng)] for j, r in enumerate(rows)]
    write_csv(root / "home/wh01/Documents/实名登记.csv", ids)
    secrets += _pii_cells(ids)
    return {"secrets": sorted(set(secrets))}


def approvals(base: Path) -> Path:
    """An allowlist: RustDesk approved for this host for 45 more days (RC-007), ToDesk's approval expired (its
    findings say so)."""
    return write(base, "allow.toml", textwrap.dedent(f"""
        [[approved]]
        tool = "rustdesk"
        hosts = ["{socket.gethostname()}"]
        approver = "李主管 (IT)"
        reason = "打印机厂商远程维护"
        expires = {(dt.date.today() + dt.timedelta(days=45)).isoformat()}
        ticket = "IT-2026-118"

        [[approved]]
        tool = "todesk"
        approver = "王经理"
        reason = "临时维护"
        expires = 2024-01-31
        """))


def _id(rng: random.Random) -> str:
    from exportgen import id_number

    return id_number(rng, "330782")


def _pii_cells(rows: list[list[str]]) -> list[str]:
    out = []
    for row in rows[1:]:
        for cell in row:
            cell = str(cell)
            if MOBILE.search(cell) or ID_NUMBER.search(cell):
                out += MOBILE.findall(cell) + ID_NUMBER.findall(cell)
    return out


def scan(out_dir: Path, *args: str, outputs: tuple[str, ...] = ("r.json",), env: dict | None = None) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / o for o in outputs]
    cli = ["scan", "-q", "--fail-on", "none", *args]
    for p in paths:
        cli += ["-o", str(p)]
    res = run_cli(*cli, env={"AUDITOR_STATE_DIR": str(out_dir / "state"), **(env or {})})
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    json_out = next(p for p in paths if p.suffix == ".json")
    return load_report(json_out)


def unmasked(text: str) -> list[str]:
    """Whole mobile or ID numbers in clear (masked samples like 138****5678 do not match)."""
    return MOBILE.findall(text) + ID_NUMBER.findall(text)


def forge(report: Path, dest: Path, change: Callable[[dict], None]) -> Path:
    """What a forger without the key can do: change the report, recompute its SHA-256 digest and keep the old
    signature (HMAC or Ed25519) beside it."""
    from auditor.integrity import seal
    from auditor.render.json_report import render

    rep = json.loads(Path(report).read_text(encoding="utf-8"))
    change(rep)
    signatures = {k: v for k, v in rep["integrity"].items() if k in ("hmac_sha256", "ed25519")}
    seal(rep)
    rep["integrity"].update(signatures)
    dest.write_bytes(render(rep))
    return dest
