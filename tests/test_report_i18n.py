"""A compliance officer reads the Chinese report in Chinese: every check's evidence, from real scans of the
test corpora (a Linux tree, a Windows tree with registry exports, an HR roster with platform exports and login
logs, browser download histories, processes started by the test) plus synthetic evidence for what the corpora
do not produce, is rendered to HTML and Markdown in both languages; the Chinese evidence must hold no English
key name or unlabelled value, the English none of the Chinese labels. Only genuine data (paths, names, tool
names, numbers, hashes, host names, what people typed into a roster) is shown as it is.

The catalogs themselves: the same keys and the same {parameters} in both languages; a key missing in one
language is a pack error (exit 2) naming the key."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import html.parser
import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from markupsafe import escape

from accounts_helpers import AS_OF, linux_tree, write_scenario
from auditor import packs
from auditor.core.checks import checks as load_checks
from auditor.i18n import LANGS, catalog, fill, parameters, t
from auditor.render import html as html_report
from auditor.render import markdown as md_report
from conftest import REPO, Spawner, listen_code, load_report, run_cli, start_named_python
from reportkit import approvals, three_area_tree, write
from test_trail_cli import PDD_EXPORT, TB_EXPORT, USB_REG, ago, build_pc
from trailkit import Dl, make_history

WIN = REPO / "tests" / "fixtures" / "windows"

# --------------------------------------------------------------------------- what counts as data
# Evidence keys (last key, or "parent.key") whose values are genuine data: shown as they are in both languages.
DATA_KEYS = {
    # processes, programs, services, sockets (names, paths, command lines, hashes, addresses, numbers)
    "pid", "ppid", "parent", "name", "exe", "cmdline", "user", "started", "listening", "listening_unattributed",
    "connections", "match.value", "tool.id", "port_of.id", "name_zh", "browser_name", "vendor", "exe_sha256", "sha256", "command", "location",
    "display", "account", "version", "publisher", "running_pids", "port", "address", "autostart_units",
    "exposed_addresses", "fDenyTSConnections", "fAllowToGetHelp", "fAllowFullControl", "pe_version_info",
    "OriginalFilename", "CompanyName", "ProductName", "FileDescription", "InternalName", "FileVersion",
    # the allowlist entry as the site wrote it
    "approval.tool", "hosts", "approver", "approval.reason", "expires", "ticket", "days_left",
    # files
    "path", "records", "id_number_rows", "total_rows", "masked_rows", "masked_share", "samples", "size", "encoding",
    "mtime", "owner", "sheets.name", "rows", "columns_omitted", "index", "header",
    # downloads, shortcuts, USB devices
    "host", "page_path", "time", "completed", "profile", "os_user", "file_name", "target_path", "size_bytes",
    "mime_type", "by_extension", "finding_id", "check_id", "date", "exports", "limit", "first", "last", "export_findings",
    "departure_date", "roster_match", "export_finding", "shortcut", "volume_serial", "volume_label",
    "shortcut_written", "target_modified", "target_accessed", "device", "product", "revision", "serial",
    "devices.installed", "usb_device.installed", "last_installed", "last_connected", "last_removed",
    "drive_letters", "device_class",
    # accounts: what the roster, the platform export, the log and the OS say
    "shop", "holder", "employee_id", "roster_status", "hire_date", "leave_date", "department", "account_status",
    "created", "last_login", "permissions", "ip", "action_label", "count", "row", "tty", "logins_total", "as_of",
    "full_name", "uid", "groups", "password_last_set", "account_expires", "last_login_ip", "login_records_since",
    "shell", "last_change_days", "max_days", "expire_days", "active", "raw.expires", "pw_last_set", "pw_expires",
    "pw_required", "last_logon", "days_since_departure", "first_login_after_departure", "ips_after_departure",
    "exports_after_departure", "records_exported_after_departure", "days_since_login", "stale_days",
    "no_login_in_logs_since", "no_login_in_records_since", "days_since_created", "days_since_password_set",
    "from", "to", "events", "overlaps_total", "ips", "setting", "people.name",
    # file references of the accounts area ("花名册.xlsx row 3"): where a fact came from
    "logins.source",
    # the platform id of an account export (named by checks/platforms.toml once that pack exists)
    "platform",
    # what the reading bounds cut: the files area's own note, shared with the coverage (English only so far)
    "truncated",
}
# whole records of data: where each fact came from, a PE file's own version strings
DATA_TREES = {"sources", "pe_version_info"}
# a source is data when it names a file or a registry key; enumerated sources (dpkg, recent_lnk, …) are labelled
PATHLIKE = re.compile(r"[\\/]|\.(?:csv|xlsx|xls|txt|reg)\b|^HK")
# words the Chinese labels keep: product, protocol and format names, acronyms
TECH_TERMS = {
    "SHA", "PE", "IP", "UID", "PID", "MIME", "USB", "RDP", "NLA", "WinRM", "SSH", "VNC", "XDG", "cron", "rc", "local",
    "Office", "Windows", "Linux", "GNOME", "Vino", "xrdp", "systemd", "Shell", "TCP", "UDP", "CD", "ROM", "DEVPKEY",
    "MountedDevices", "fDenyTSConnections", "fAllowToGetHelp", "fAllowFullControl", "Run", "dpkg", "rpm", "desktop",
    "RMM", "RAT", "TS", "QQ", "ID", "SYSTEM", "U",
}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d:\d\d(?:[+-]\d\d:\d\d)?)?")
NUMBERISH = re.compile(r"\b(?:0x)?[0-9a-f]{6,}\b|\b\d+(?:\.\d+)*\b", re.I)


def _data_key(path: tuple[str, ...]) -> bool:
    return (path[-1] in DATA_KEYS or ".".join(path[-2:]) in DATA_KEYS
            or any(p in DATA_TREES for p in path))


def data_values(evidence, path: tuple[str, ...] = ()) -> set[str]:
    """The genuine data in an evidence record, as the reports print it."""
    if isinstance(evidence, dict):
        if evidence and set(evidence) <= set(LANGS):
            return set()  # a text kept in both languages: the reader's must show, it is not data
        return set().union(set(), *(data_values(v, (*path, str(k))) for k, v in evidence.items()))
    if isinstance(evidence, list):
        return set().union(set(), *(data_values(v, path) for v in evidence))
    if evidence is None or isinstance(evidence, bool):
        return set()
    if isinstance(evidence, (int, float)):
        return {str(evidence)}
    text = str(evidence)
    if path and (_data_key(path) or (path[-1] == "source" and PATHLIKE.search(text))):
        return {text, *text.splitlines()}
    return set()


# --------------------------------------------------------------------------- the corpus: real scans

def _scan(out: Path, *args: str, env: dict | None = None) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    res = run_cli("scan", "-q", "--fail-on", "none", "-o", str(out), *args,
                  env={"AUDITOR_STATE_DIR": str(out.parent / "state"), **(env or {})})
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    return load_report(out)


def _free_catalog_port() -> int:
    """A port some remote tool listens on by default that is free here (a bland process will listen on it)."""
    for port in sorted({p for tool in packs.catalog().values() for p in tool.ports if p > 1024}):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no catalog port is free on this machine")


def _linux_pc(base: Path) -> tuple[Path, Path]:
    """The three-area tree plus RustDesk (approved) and AnyDesk (not) installed, xrdp and ssh enabled."""
    root = base / "linux"
    three_area_tree(root, todesk=True, ssh=True)
    write(root, "var/lib/dpkg/status", "Package: rustdesk\nStatus: install ok installed\nVersion: 1.2.3\n\n"
                                       "Package: anydesk\nStatus: install ok installed\nVersion: 6.3.0\n\n")
    write(root, "lib/systemd/system/xrdp.service", "[Service]\nExecStart=/usr/sbin/xrdp --nodaemon\n")
    (root / "etc/systemd/system/multi-user.target.wants/xrdp.service").symlink_to("/lib/systemd/system/xrdp.service")
    allow = approvals(base)
    return root, allow


def _windows_pc(base: Path) -> tuple[Path, Path]:
    root = base / "C"
    shutil.copytree(WIN / "tasks", root / "Windows" / "System32" / "Tasks")
    (root / "Program Files" / "ToDesk").mkdir(parents=True)
    winrm = base / "winrm.reg"
    winrm.write_text("Windows Registry Editor Version 5.00\r\n\r\n"
                     "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\WinRM]\r\n\"Start\"=dword:00000002\r\n"
                     "\"DisplayName\"=\"Windows Remote Management (WS-Management)\"\r\n\r\n", encoding="utf-8")
    return root, winrm


def _departed_exporter(base: Path) -> tuple[Path, Path]:
    """dave left ten days ago and still exported 60 times in one day (TR-002, TR-003; more exports than one
    finding lists: 'omitted')."""
    home = base / "homes" / "dave"
    make_history(home / ".config" / "google-chrome" / "Default" / "History",
                 [Dl("/nowhere/after.xlsx", ago(2), tab_url=PDD_EXPORT)]
                 + [Dl(f"/nowhere/x{i}.xlsx", ago(2), tab_url=TB_EXPORT) for i in range(60)])
    roster = base / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["工号", "姓名", "电脑账号", "部门", "离职日期"])
        w.writerow(["E001", "王丽", "dave", "打单组", (dt.date.today() - dt.timedelta(days=10)).strftime("%Y/%m/%d")])
    return home, roster


def _live(base: Path, allow: Path) -> dict:
    """Processes the test starts: tools by name, an approved one, a renamed copy in a tool's install folder,
    a messenger, a viewer and a bland process on a tool's port. Only their findings are kept (hermetic)."""
    spawn = Spawner(base / "procs")
    renamed = base / "opt" / "todesk" / "bin" / "svchelper"
    renamed.parent.mkdir(parents=True)
    shutil.copy2(shutil.which("sleep"), renamed)
    port = _free_catalog_port()
    procs = [subprocess.Popen([str(renamed), "600"], stdin=subprocess.DEVNULL),
             start_named_python(base / "bland", "printhelper", listen_code(port))]
    try:
        for name in ("ToDesk.exe", "frpc", "AliIM.exe", "xfreerdp", "rustdesk"):
            procs.append(spawn.start(name))
        spawn.wait_visible()
        time.sleep(0.3)
        report = _scan(base / "live" / "r.json", "--only", "remote", "--allowlist", str(allow))
    finally:
        spawn.stop()
        for p in procs[:2]:
            p.kill()
            p.wait()
    ours = {p.pid for p in procs}

    def mine(f: dict) -> bool:
        ev = f["evidence"]
        pids = {ev.get("pid"), *(p.get("pid") for p in ev.get("processes", []))}
        return bool(pids & ours)

    report["findings"] = [f for f in report["findings"] if mine(f)]
    return report


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, dict]:
    base = tmp_path_factory.mktemp("i18n-corpus")
    linux, allow = _linux_pc(base)
    reports = {"linux": _scan(base / "linux-out" / "r.json", "--root", str(linux), "--role", "waybill-printing",
                              "--allowlist", str(allow))}
    # the same tree again: unchanged files come from the incremental state
    reports["linux-again"] = _scan(base / "linux-out" / "again.json", "--root", str(linux), "--only", "files")
    win, winrm = _windows_pc(base)
    regs = [a for r in ("uninstall.reg", "run_keys.reg", "services.reg", "remote_features_enabled.reg")
            for a in ("--registry-export", str(WIN / r))]
    reports["windows"] = _scan(base / "win-out" / "r.json", "--only", "remote", "--root", str(win), *regs,
                               "--registry-export", str(winrm))
    inputs = write_scenario(base / "hr")
    reports["accounts"] = _scan(base / "acc-out" / "r.json", "--only", "accounts", "--root",
                                str(linux_tree(base / "warehouse")), "--roster", str(inputs["roster"]),
                                "--subaccounts", str(inputs["subaccounts"]), "--logins", str(inputs["logins"]),
                                "--as-of", AS_OF.isoformat(), "--role", "warehouse")
    pc = build_pc(base / "trail")
    args = ["--only", "trail", "--only", "files", "--days", "30", "--registry-export", str(USB_REG)]
    for home in pc["homes"]:
        args += ["--home", str(home), "--path", str(home)]
    reports["trail"] = _scan(base / "trail-out" / "r.json", *args)
    home, roster = _departed_exporter(base / "departed")
    reports["departed"] = _scan(base / "dep-out" / "r.json", "--only", "trail", "--home", str(home),
                                "--roster", str(roster))
    reports["live"] = _live(base, allow)
    reports["synthetic"] = synthetic(reports)
    return reports


# --------------------------------------------------------------------------- synthetic evidence
# What the corpora cannot produce on this machine, in the shapes the areas write (a PE's version info, a process
# name taken from the command line under Wine, a shared account registered to two people, a Windows account
# from `net user`, a download by an extension saved to a USB drive, a spreadsheet with too many columns, …).

def _like(reports: dict[str, dict], check_id: str) -> dict:
    for rep in reports.values():
        for f in rep["findings"]:
            if f["check_id"] == check_id:
                return copy.deepcopy(f)
    raise AssertionError(f"no {check_id} in the corpus")


def synthetic(reports: dict[str, dict]) -> dict:
    report = copy.deepcopy(reports["linux"])
    extra: list[tuple[str, dict]] = [
        ("RC-002", {"name_source": "cmdline", "renamed": True, "listening_unattributed": ["tcp/0.0.0.0:7070"],
                    "pe_version_info": {"OriginalFilename": "ToDesk.exe", "CompanyName": "Hainan Youqu",
                                        "ProductName": "ToDesk", "FileDescription": "ToDesk", "InternalName": "ToDesk",
                                        "FileVersion": "4.7.3.0"},
                    "match": {"how": "pe_original_filename", "value": "ToDesk.exe"}}),
        ("RC-004", {"installed": [{"kind": "service", "name": "ToDesk_Service", "source": "HKLM\\SYSTEM\\x",
                                   "start": "manual", "scope": "system",
                                   "match": {"how": "service_name", "value": "ToDesk_Service"}},
                                  {"name": "todesk", "source": "rpm", "version": "4.7"},
                                  {"name": "ToDesk", "source": "desktop-file", "location": "/usr/share/applications"}],
                    "autostart": [{"kind": "startup_folder", "name": "ToDesk", "command": "ToDesk.exe",
                                   "location": "C:\\Users\\a\\Startup", "match": {"how": "autostart_name",
                                                                                "value": "ToDesk"}},
                                  {"kind": "cron", "name": "@reboot", "command": "/opt/todesk/bin/todesk",
                                   "location": "/var/spool/cron/crontabs/wh01", "user": "wh01",
                                   "match": {"how": "pe_company_name", "value": "Hainan"}},
                                  {"kind": "rc_local", "name": "rc.local", "command": "/opt/todesk/bin/todesk",
                                   "location": "/etc/rc.local", "match": {"how": "pe_product_name", "value": "ToDesk"}},
                                  {"kind": "scheduled_task", "name": "ToDeskUpdate", "command": "ToDesk.exe",
                                   "location": "schtasks", "match": {"how": "display_name", "value": "ToDesk"}}]}),
        ("RC-014", {"feature": "gnome_remote_desktop"}),
        ("RC-014", {"feature": "vino"}),
        ("PI-001", {"columns_omitted": 3, "omitted": {"samples": 4, "sheets": 1},
                    "kinds": {"landline": "present", "sender": "present", "mobile": "masked"},
                    "sheets": [{"name": "订单", "rows": 9, "records": 9, "columns_omitted": 2,
                                "columns": [{"index": 1, "header": None, "kind": "mobile", "by": "values",
                                             "excluded": "one number on most rows (the sender's own number)"},
                                            {"index": 2, "header": "电话", "kind": "landline", "by": "header",
                                             "excluded": "sequential or clustered codes, not people's numbers"},
                                            {"index": 3, "header": "寄件电话", "kind": "sender", "by": "header",
                                             "excluded": "numbers alone without names, addresses or headers"}]}],
                    "from_incremental_state": True}),
        ("TR-005", {"state": "interrupted", "matched_on": "download_url", "by_extension": "批量下载助手",
                    "deleted_in_browser": True, "saved_to_usb_device": {"device_class": "Disk&Ven_Kingston",
                                                                        "serial": "60A44C3F&0"},
                    "file_check": "network path not checked",
                    "file_verdict": {"source": "unavailable", "unmasked": None,
                                     "note": {"zh": "没有可用的文件检查结论", "en": "no file verdict was available"}}}),
        ("TR-005", {"state": "in_progress", "matched_on": "referrer", "file_check": "no target path recorded"}),
        ("TR-005", {"state": "cancelled", "matched_on": "tab_referrer_url", "file_check": "checked on this PC"}),
        ("TR-005", {"state": "blocked", "matched_on": "site_url", "file_check": "checked in the audited tree"}),
        ("TR-005", {"state": "unknown", "file_check": "folder not present in the audited tree"}),
        ("TR-005", {"file_check": "drive not in the audited tree"}),
        ("TR-005", {"file_check": "path is the home folder itself"}),
        ("TR-005", {"file_check": "path climbs out of the home folder"}),
        ("TR-006", {"removable_entries": [
            {"source": "office_recent_lnk", "shortcut": "C:\\x.lnk", "os_user": "bob", "target_path": "F:\\a.xlsx",
             "drive_type": "DRIVE_FIXED", "removable_by": "drive letter last assigned to a USB storage device "
                                                          "(MountedDevices)"},
            {"source": "jump_list", "target_path": "G:\\b.xlsx", "drive_type": "DRIVE_REMOTE"},
            {"source": "download_target", "target_path": "E:\\c.xlsx", "drive_type": "DRIVE_CDROM",
             "usb_device": {"device_class": "Disk&Ven_X", "serial": "1&0"}},
            {"source": "recent_lnk", "drive_type": "DRIVE_RAMDISK"},
            {"source": "recent_lnk", "drive_type": "DRIVE_NO_ROOT_DIR"},
            {"source": "recent_lnk", "drive_type": "DRIVE_UNKNOWN"}]}),
        ("AC-005", {"people": [{"employee_id": "E009", "name": "周杰", "department": "客服部", "roster_status": "在职",
                                "hire_date": "2022-06-01", "leave_date": None, "source": "花名册.xlsx row 10"},
                               {"employee_id": "E012", "name": "周洁", "department": "客服部", "roster_status": "在职",
                                "hire_date": "2023-06-01", "leave_date": None, "source": "花名册.xlsx row 13"}],
                    "matched_by": "account_map", "export_basis": {"zh": "登录日志中有导出操作",
                                                                  "en": "export actions in the login log"},
                    "logins": [{"time": "2025-06-29 09:00:00", "ip": "1.2.3.4", "action": a, "source": "log.xlsx",
                                "ok": False} for a in ("logout", "print", "export", "other")]}),
        ("AC-004", {"matched_by": "roster_account"}),
        ("AC-004", {"matched_by": "employee_id"}),
        ("AC-004", {"matched_by": "name_in_account"}),
        ("AC-004", {"matched_by": "account_is_employee_id"}),
        ("AC-004", {"matched_by": "login_holder"}),
        ("AC-003", {"no_login_in_logs_since": "2025-01-01"}),
        ("AC-006", {"days_since_password_set": 200}),
        ("AC-009", {"setting": "allow-guest=true", "source": "/etc/lightdm/lightdm.conf"}),
        ("AC-010", {"system": "windows", "account_status": "disabled",
                    "raw": {"active": "Yes", "expires": "Never", "pw_last_set": "2024/1/10 9:00:00",
                            "pw_expires": "Never", "pw_required": "No", "last_logon": "Never"}}),
        ("AC-010", {"account_status": "locked", "raw": {"password_state": "locked"}}),
        ("AC-010", {"account_status": "expired"}),
        ("RC-006", {"proto": "udp"}),
    ]
    report["checks"] = {cid: c for rep in reports.values() for cid, c in rep.get("checks", {}).items()}
    for n, (check_id, evidence) in enumerate(extra):
        f = _like(reports, check_id)
        f["id"] = f"{n:016x}"
        f["evidence"].update(evidence)
        report["findings"].append(f)
    return report


# --------------------------------------------------------------------------- reading the rendered evidence

class _EvidenceCells(html.parser.HTMLParser):
    """The text of every cell and heading inside the HTML report's evidence blocks, one item per cell."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.cells: list[str] = []
        self.current: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "div" and ("class", "evidence") in attrs:
            self.depth = 1
        elif self.depth:
            if tag == "div":
                self.depth += 1
            if tag in ("td", "th", "h4", "h5"):
                self.current = []

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag in ("td", "th", "h4", "h5") and self.current is not None:
            self.cells.append("".join(self.current))
            self.current = None
        elif tag == "div":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and self.current is not None:
            self.current.append(data)


def html_evidence(report: dict, lang: str) -> list[str]:
    parser = _EvidenceCells()
    parser.feed(html_report.render(report, lang).decode("utf-8"))
    return parser.cells


def md_evidence(report: dict, lang: str) -> list[str]:
    text = md_report.render(report, lang).decode("utf-8")
    head = f"| {t(lang, 'r.evidence')} | |"
    cells: list[str] = []
    for block in text.split(head)[1:]:
        block = re.split(r"\n#{2,3} ", block, maxsplit=1)[0]
        for line in block.splitlines():
            if line.startswith("|"):
                cells += [c for c in re.split(r"(?<!\\)\|", line)[1:-1] if not re.fullmatch(r"-+:?", c.strip())]
            elif line.startswith("**"):
                cells.append(line.strip("*"))
    return [re.sub(r"\\(.)", r"\1", c).replace("<br>", "\n").strip() for c in cells]


RENDERED = {"html": html_evidence, "md": md_evidence}


def _leftover(cell: str, data: list[str]) -> str:
    for value in data:
        cell = cell.replace(value, " ")
    return NUMBERISH.sub(" ", ISO_TIME.sub(" ", cell))


def _data(report: dict) -> list[str]:
    found: set[str] = set()
    for f in report["findings"]:
        found |= data_values(f["evidence"])
    return sorted((v for v in found if len(v) > 1), key=len, reverse=True)


# --------------------------------------------------------------------------- the tests

def test_the_corpus_holds_every_check(corpus):
    """Every check of the rules packs is in the corpus (real scans, the synthetic report only adds shapes)."""
    real = {f["check_id"] for name, rep in corpus.items() if name != "synthetic" for f in rep["findings"]}
    assert real == set(load_checks()), set(load_checks()) ^ real


def _unreadable(corpus: dict[str, dict], fmt: str, lang: str, find) -> str:
    """What ``find`` finds in the rendered evidence once the genuine data is taken out, with where it stands."""
    problems: dict[str, set[str]] = {}
    for name, report in corpus.items():
        data = _data(report)
        for cell in RENDERED[fmt](report, lang):
            found = find(_leftover(cell, data))
            if found:
                problems.setdefault(" ".join(sorted(found)), set()).add(f"{name}: {cell[:80]!r}")
    return "\n".join(f"{w}  <-  {sorted(c)[:3]}" for w, c in sorted(problems.items()))


@pytest.mark.parametrize("fmt", sorted(RENDERED))
def test_chinese_evidence_names_every_key_and_value_in_chinese(corpus, fmt):
    problems = _unreadable(corpus, fmt, "zh", lambda text: set(re.findall(r"[A-Za-z][A-Za-z0-9]*", text)) - TECH_TERMS)
    assert not problems, problems


@pytest.mark.parametrize("fmt", sorted(RENDERED))
def test_english_evidence_holds_no_chinese_label(corpus, fmt):
    problems = _unreadable(corpus, fmt, "en", lambda text: set(CJK.findall(text)))
    assert not problems, problems


def test_the_detector_flags_an_unlabelled_key_and_value(corpus):
    """Negative control: a key and a value the catalogs do not know are caught in both languages."""
    report = copy.deepcopy(corpus["synthetic"])
    report["findings"] = report["findings"][:1]
    report["findings"][0]["evidence"] = {"mystery_key": "strange_code", "state": "teleported"}
    zh = " ".join(_leftover(c, _data(report)) for c in html_evidence(report, "zh"))
    assert "mystery_key" in zh and "strange_code" in zh and "teleported" in zh
    report["findings"][0]["evidence"] = {"records": {"zh": "中文说明", "en": "English"}}
    assert "English" in " ".join(html_evidence(report, "en")) and "中文说明" not in " ".join(html_evidence(report, "en"))


def test_sheets_are_a_table_and_kinds_are_named(corpus):
    report = corpus["linux"]
    page = html_report.render(report, "zh").decode("utf-8")
    assert "<h5>工作表</h5>" in page
    assert "<th>行数</th><th>记录数</th><th>识别出的列</th>" in page
    assert "手机号：未脱敏" in page and "'kinds'" not in page and "{'name'" not in page
    md = md_report.render(report, "zh").decode("utf-8")
    assert "**工作表**" in md and "| 工作表 | 行数 | 记录数 | 识别出的列 |" in md


def test_every_finding_shows_its_check_description(corpus):
    descriptions = {cid: chk.description for cid, chk in load_checks().items()}
    for report in corpus.values():
        for lang in LANGS:
            page = html_report.render(report, lang).decode("utf-8")
            md = md_report.render(report, lang).decode("utf-8")
            for f in report["findings"]:
                text = descriptions[f["check_id"]][lang]
                assert report["checks"][f["check_id"]]["description"][lang] == text
                assert f'<p class="desc">{escape(text)}</p>' in page, f["check_id"]
                assert md_report.md(text) in md


def test_legal_appendix_in_the_readers_language(corpus):
    report = corpus["linux"]
    clauses = report["clauses"]
    noted = [c for c in clauses.values() if c.get("note")]
    assert noted and all(c.get("note_zh") for c in noted)
    zh = html_report.render(report, "zh").decode("utf-8")
    en = html_report.render(report, "en").decode("utf-8")
    for c in noted:
        assert escape(c["note_zh"]) in zh and escape(c["note"]) not in zh
        assert escape(c["note"]) in en
    for c in clauses.values():
        if c.get("penalty"):
            assert escape(c["penalty_zh"]) in zh
    # the tool catalog's provenance is for its maintainers, not for a compliance officer
    for page in (zh, en):
        assert "code search" not in page and "LOLRMM" not in page and "rmm-catalog" not in page


def test_every_clause_with_a_note_or_penalty_has_it_in_chinese():
    for cid, clause in packs.legal_clauses().items():
        assert bool(clause.get("note")) == bool(clause.get("note_zh")), cid
        assert bool(clause.get("penalty")) == bool(clause.get("penalty_zh")), cid


def test_both_catalogs_have_the_same_keys_and_parameters():
    zh, en = catalog("zh"), catalog("en")
    assert set(zh) == set(en)
    assert len(zh) > 600
    for key in zh:
        assert parameters(zh[key]) == parameters(en[key]), key



def test_a_coverage_status_is_named_as_a_status_not_as_a_column(tmp_path):
    """Every coverage status has its own label (section ``coverage_status``): "skipped" as a status reads like
    "partial" or "no data", not like the column header "Skipped"; on the terminal and in the HTML alike."""
    statuses = ("ok", "partial", "no_data", "skipped", "failed", "not_assessed")
    for lang in LANGS:
        labels = [t(lang, f"coverage_status.{s}") for s in statuses]
        assert len(set(labels)) == len(statuses) and not any(x.startswith("coverage_status") for x in labels)
    assert [t("en", f"coverage_status.{s}") for s in statuses] == [
        "ok", "partial", "no data", "skipped", "failed", "not assessed"]
    home = tmp_path / "empty"
    home.mkdir()
    res = run_cli("scan", "--only", "trail", "--home", str(home), "--lang", "en", "-o", str(tmp_path / "r.html"),
                  "-o", str(tmp_path / "r.json"), "--fail-on", "none", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    statuses_seen = {c["source"]: c["status"] for c in load_report(tmp_path / "r.json")["coverage"]}
    assert statuses_seen["removable:usb-registry"] == "skipped"  # the registry is Windows-only
    row = next(line for line in res.stdout.splitlines() if "removable:usb-registry" in line)
    assert re.search(r"\bskipped\b", row) and "Skipped" not in row, row
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'data-label="Status">skipped<' in page and 'data-label="Status">Skipped<' not in page

def test_a_title_parameter_can_differ_per_language():
    platform = {"zh": "拼多多商家后台", "en": "Pinduoduo merchant back office"}
    assert fill("从{platform}导出", {"platform": platform}, "zh") == "从拼多多商家后台导出"
    assert fill("exported from {platform}", {"platform": platform}, "en") == "exported from Pinduoduo merchant back office"
    assert t("en", "note.approval_expired", expires="2024-01-31", approver="王经理").startswith(
        "The allowlist approval expired on 2024-01-31")


@pytest.mark.parametrize("damage", ["missing", "parameters"])
def test_a_broken_catalog_is_a_pack_error_naming_the_key(tmp_path, damage):
    reports = tmp_path / "reports"
    shutil.copytree(REPO / "reports", reports)
    en = reports / "i18n" / "en.toml"
    text = en.read_text(encoding="utf-8")
    if damage == "missing":
        text = re.sub(r'(?m)^"orphan\.holder" = .*\n', "", text)
        named = "orphan.holder"
    else:
        text = text.replace('approval_expired = "The allowlist approval expired on {expires}',
                            'approval_expired = "The allowlist approval expired on {when}')
        named = "note.approval_expired"
    en.write_text(text, encoding="utf-8")
    root = tmp_path / "root"
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
    res = run_cli("scan", "--only", "accounts", "--root", str(root), "-o", str(tmp_path / "r.html"),
                  env={"AUDITOR_REPORTS_DIR": str(reports), "AUDITOR_STATE_DIR": str(tmp_path / "state")})
    assert res.returncode == 2, res.stderr
    assert named in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_a_report_of_the_previous_schema_renders_in_chinese(corpus, tmp_path):
    """A report written before checks descriptions and Chinese notes existed still renders (English notes
    where there is no Chinese one, no description)."""
    old = json.loads(json.dumps(corpus["linux"]))
    old.pop("checks")
    for c in old["clauses"].values():
        c.pop("note_zh", None)
        c.pop("penalty_zh", None)
    old["schema_version"] = "1.0"
    page = html_report.render(old, "zh").decode("utf-8")
    assert 'class="desc"' not in page and "法定义务履行情况" in page
    assert any(escape(c["note"]) in page for c in old["clauses"].values() if c.get("note"))
