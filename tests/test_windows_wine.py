"""The Windows agent, for real under Wine: the real `dist/auditor.exe` built by `packaging/windows/build.sh`,
real Wine processes (renamed copies of a Windows exe), real registry writes with `reg add`, real files on the
Wine C: (and D:) drive. The module fixture builds the exe when it is missing or stale (tests/wine_env.py); Wine and
the build tools come from tests/system_packages.py (run by `.ci/run`): where they are missing these tests skip,
naming the command, except under CI, where they fail.

What Wine cannot prove (its `schtasks`, `net user`, `tasklist`, `icacls` are stubs, its ACLs are synthetic) is
checked here for the coverage it must produce, and the parsers are checked on recorded outputs of real Windows
(tests/fixtures/windows) in English and Chinese."""

from __future__ import annotations

import ctypes
import io
import json
import os
import random
import shutil
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest

import hivekit
import wine_env
from auditor.accounts import netapi
from conftest import findings_of, load_report, skip_or_fail
from exportgen import export_rows, write_csv, write_xlsx

FIX = Path(__file__).parent / "fixtures" / "windows"
UNINSTALL = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall"
UNINSTALL_WOW = r"HKLM\Software\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall"
RUN_HKLM = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run"
RUN_HKCU = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
TS = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server"
RA = r"HKLM\SYSTEM\CurrentControlSet\Control\Remote Assistance"

# renamed copies of one Windows exe, started in the prefix: (path, catalog id, check, port it listens on)
TOOLS = [
    (r"C:\Program Files\ToDesk\ToDesk.exe", "todesk", "RC-001", None),
    (r"C:\Program Files (x86)\Oray\SunLogin\SunloginClient\SunloginClient.exe", "sunlogin", "RC-001", None),
    (r"C:\Program Files (x86)\AnyDesk\AnyDesk.exe", "anydesk", "RC-001", 7070),
    (r"C:\Users\Public\frpc.exe", "frp", "RC-005", None),
]
RENAMED_TODESK = r"C:\Users\Public\Music\audiohost.exe"  # ToDesk's version resource, a bland name
UNOWNED_LISTENER = (r"C:\ProgramData\svc\svchelper.exe", 5939)  # TeamViewer's port; Wine gives no owning pid


@pytest.fixture(scope="module")
def winpc(tmp_path_factory):
    if os.environ.get(wine_env.SKIP_ENV) == "skip":
        skip_or_fail(f"{wine_env.SKIP_ENV}=skip: this machine cannot run Wine")
    try:
        wine_env.ensure_built()
    except wine_env.WineUnavailable as exc:
        skip_or_fail(str(exc))
    pc = wine_env.WinePC(tmp_path_factory.mktemp("winpc")).boot()
    yield pc
    pc.shutdown()


def _gbk_zip(member: str, data: bytes) -> bytes:
    """A ZIP as Chinese Windows zip tools write it: the member name in GBK, without the UTF-8 flag."""
    gbk = member.encode("gbk")
    placeholder = "Q" * len(gbk)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(placeholder, data)
    raw = buf.getvalue()
    assert raw.count(placeholder.encode()) == 2  # local header and central directory
    return raw.replace(placeholder.encode(), gbk)


def _csv_bytes(rows, encoding="utf-8") -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.fixture(scope="module")
def planted(winpc):
    """The registry entries and exports of a leaky office PC; returns what the scans must name."""
    pc = winpc
    # ---- Uninstall entries (installed, not running): 64-bit and 32-bit views
    for value, data in (("DisplayName", "ToDesk"), ("DisplayVersion", "4.7.3.0"), ("Publisher", "ToDesk Remote Desktop"),
                        ("InstallLocation", r"C:\Program Files\ToDesk"),
                        ("UninstallString", r'"C:\Program Files\ToDesk\uninst.exe"')):
        pc.reg_add(UNINSTALL + r"\ToDesk", value, data)
    sunlogin = UNINSTALL_WOW + r"\Oray SunLogin RemoteClient"
    pc.reg_add(sunlogin, "DisplayName", "向日葵远程控制")
    pc.reg_add(sunlogin, "InstallLocation", r"C:\Program Files\Oray\SunLogin\SunloginClient")
    pc.reg_add(UNINSTALL + r"\7-Zip", "DisplayName", "7-Zip 23.01 (x64)")  # ordinary software: never reported
    # ---- odd types and missing values: the scan goes on
    pc.reg_add(UNINSTALL + r"\{0DD0B1NA-RY00-0000-0000-000000000001}", "DisplayName", "546f4465736b", "REG_BINARY")
    pc.reg_add(UNINSTALL + r"\OddDword", "DisplayName", "7", "REG_DWORD")
    pc.reg_add(UNINSTALL + r"\OddMulti", "DisplayName", r"Foo\0Bar", "REG_MULTI_SZ")
    pc.reg_add(UNINSTALL + r"\NoValues", None)  # a key without any value
    pc.reg_add(RUN_HKLM, "Junk", "00ff10", "REG_BINARY")
    pc.reg_add(RUN_HKLM, "Empty", "")
    pc.reg_add(RUN_HKLM, None, r"%SystemRoot%\system32\ctfmon.exe", "REG_EXPAND_SZ")  # the (default) value
    pc.reg_add(TS + r"\WinStations\RDP-Tcp", "PortNumber", "not-a-number")  # REG_SZ where a DWORD belongs
    # ---- autostart: a Run value for RustDesk, frpc hidden behind a bland per-user Run value
    pc.reg_add(RUN_HKLM, "RustDesk", r'"C:\Program Files\RustDesk\rustdesk.exe" --tray')
    pc.reg_add(RUN_HKCU, "WindowsUpdateHelper", r"C:\Users\Public\frpc.exe -c frpc.ini")
    # ---- a service set to start automatically (read from the Services key, as the collector does)
    service = r"HKLM\SYSTEM\CurrentControlSet\Services\AnyDesk"
    pc.reg_add(service, "ImagePath", r'"C:\Program Files (x86)\AnyDesk\AnyDesk.exe" --service', "REG_EXPAND_SZ")
    pc.reg_add(service, "DisplayName", "AnyDesk Service")
    pc.reg_add(service, "Start", "2", "REG_DWORD")
    pc.reg_add(service, "Type", "16", "REG_DWORD")
    # ---- OS remote features
    pc.reg_add(TS, "fDenyTSConnections", "0", "REG_DWORD")
    pc.reg_add(RA, "fAllowToGetHelp", "1", "REG_DWORD")

    # ---- exports in the default Windows roots (real files on the Wine C: and D: drives)
    rng = random.Random(10)
    expected: dict[str, int] = {}  # Windows path (casefolded) -> records

    def export(win_path: str, layout: str, n: int, encoding="utf-8", masked=0.0) -> None:
        rows, records = export_rows(rng, layout, n, masked=masked)
        path = pc.c_path(win_path)
        if win_path.endswith(".xlsx"):
            write_xlsx(path, {"Sheet1": rows})
        else:
            write_csv(path, rows, encoding=encoding)
        if records:
            expected[win_path.casefold()] = records

    desktop, downloads, documents = pc.profile("Desktop"), pc.profile("Downloads"), pc.profile("Documents")
    export(desktop + r"\淘宝订单导出_20261101.csv", "taobao", 120, encoding="gbk")  # GBK content, Chinese name
    export(desktop + r"\已脱敏_发货单.csv", "taobao", 80, masked=1.0)  # masked: not a finding
    export(downloads + r"\拼多多发货单.xlsx", "pdd", 75)
    wechat = documents + r"\WeChat Files\wxid_k3v8n2p7q2m4\FileStorage\File\2026-11"
    export(wechat + r"\抖店订单_1101.csv", "douyin", 90)
    export(r"D:\发货\京东订单.csv", "jd", 40)  # a second fixed drive
    rows, records = export_rows(rng, "erp", 60)
    zip_path = downloads + r"\运单备份.zip"
    pc.c_path(zip_path).write_bytes(_gbk_zip("顺丰运单_11月.csv", _csv_bytes(rows, "gbk")))
    expected[(zip_path + "!顺丰运单_11月.csv").casefold()] = records
    # a second user whose Documents and Downloads folders are missing
    other = pc.c_path(r"C:\users\lisi\Desktop")
    other.mkdir(parents=True)
    export(r"C:\users\lisi\Desktop\客户名单.csv", "english", 30)
    return {"exports": expected}


@pytest.fixture
def tools_running(winpc):
    procs = {path: winpc.start(path, port=port) for path, _, _, port in TOOLS}
    procs[RENAMED_TODESK] = winpc.start(RENAMED_TODESK, pe="todesk")
    procs[UNOWNED_LISTENER[0]] = winpc.start(UNOWNED_LISTENER[0], port=UNOWNED_LISTENER[1])
    yield procs
    winpc.stop_background()


def _scan(pc, name: str, *args: str, rc: int | None = 1) -> dict:
    _, work = pc.workdir(name)
    res = pc.auditor("scan", *args, "--output", "r.json", "--quiet", cwd=work)
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    if rc is not None:
        assert res.returncode == rc, res.output
    return load_report(work / "r.json")  # validates against the published schema


def _by_tool(report: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in report["findings"]:
        tool = f["evidence"].get("tool")
        if tool:
            out.setdefault(tool["id"], []).append(f)
    return out


def _coverage(report: dict) -> dict[tuple[str, str], dict]:
    return {(c["area"], c["source"]): c for c in report["coverage"]}


def _same(a: str | None, b: str) -> bool:
    return (a or "").casefold() == b.casefold()


# --------------------------------------------------------------------------- the exe itself

def test_exe_version_equals_the_wheel_version(winpc):
    from auditor import __version__

    res = winpc.auditor("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"auditor {__version__}"
    digest = wine_env.DIST_EXE.with_name("auditor.exe.sha256").read_text().split()
    import hashlib

    assert digest == [hashlib.sha256(wine_env.DIST_EXE.read_bytes()).hexdigest(), "auditor.exe"]


def test_exit_codes_through_wine(winpc, planted):
    # 2: usage error, one line on stderr, no traceback
    res = winpc.auditor("scan", "--only", "nosuch")
    assert res.returncode == 2 and "Traceback" not in res.output and "nosuch" in res.stderr
    # 0: nothing at or above --fail-on (an empty folder)
    _, work = winpc.workdir("exit0")
    (work / "empty").mkdir()
    res = winpc.auditor("scan", "--only", "files", "--path", "empty", "-o", "r.json", "-q", cwd=work)
    assert res.returncode == 0, res.output
    assert load_report(work / "r.json")["findings"] == []
    # 1: findings at or above high (the planted registry)
    _scan(winpc, "exit1", "--only", "remote", rc=1)


def test_summary_through_a_pipe_on_an_english_code_page(winpc, planted):
    """Redirected output uses the ANSI code page (cp1252 here, as on an English PC): the Chinese summary must not
    turn a finished scan into an internal error (exit 3)."""
    _, work = winpc.workdir("summary")
    res = winpc.auditor("scan", "--only", "remote", "-o", "r.json", cwd=work)
    assert res.returncode == 1 and "internal error" not in res.output, res.output
    assert "RC-010" in res.stdout or "\\u" in res.stdout or "r.json" in res.stdout, res.stdout
    res = winpc.auditor("scan", "--only", "remote", "--lang", "en", "-o", "r.json", cwd=work)
    assert res.returncode == 1 and "r.json" in res.stdout, res.output


def test_scheduled_task_runs_the_exe_itself(winpc):
    """`auditor.exe schedule install` registers a task that starts auditor.exe, not a Python that is not there."""
    res = winpc.auditor("schedule", "install", "--print", "--system")
    assert res.returncode == 0, res.output
    assert f"<Command>{winpc.exe}</Command>" in res.stdout, res.stdout
    assert "schedule run-now" in res.stdout and "-m auditor" not in res.stdout


def test_ed25519_signing_and_siem_outputs_inside_the_exe(winpc):
    """cryptography's Ed25519 inside the one-file exe (its Rust module needs ProcessPrng: the bcryptprimitives
    shim under Wine 8): keygen, a signed scan with its SIEM outputs, verify with the public key alone."""
    _, work = winpc.workdir("signing")
    res = winpc.auditor("keygen", "--out", "site", cwd=work)
    assert res.returncode == 0 and (work / "site.key").is_file() and (work / "site.pub").is_file(), res.output
    res = winpc.auditor("scan", "--only", "remote", "--sign-key", "site.key", "-o", "r.json", "-o", "r.ecs.ndjson",
                        "-o", "r.ocsf.ndjson", "-q", cwd=work)
    assert res.returncode in (0, 1) and "Traceback" not in res.output, res.output
    report = load_report(work / "r.json")
    assert report["integrity"]["canonicalization"] == "rfc8785-without-integrity" and "ed25519" in report["integrity"]
    assert len(report["host"]["machine_id"]) == 36  # Wine's MachineGuid
    res = winpc.auditor("verify", "r.json", "--pubkey", "site.pub", "--lang", "en", cwd=work)
    assert res.returncode == 0 and "signature valid (Ed25519" in res.stdout, res.output
    data = (work / "r.json").read_bytes()
    (work / "bad.json").write_bytes(data.replace(b'"remote"', b'"remotE"', 1))
    res = winpc.auditor("verify", "bad.json", "--pubkey", "site.pub", cwd=work)
    assert res.returncode == 1 and "ALTERED" in res.stderr, res.output
    ecs = [json.loads(line) for line in (work / "r.ecs.ndjson").read_bytes().splitlines()[1::2]]
    assert {d["host"]["id"] for d in ecs} <= {report["host"]["machine_id"]}


# --------------------------------------------------------------------------- registry written with `reg add`

def test_registry_entries_written_with_reg_add(winpc, planted):
    report = _scan(winpc, "registry", "--only", "remote")
    tools = _by_tool(report)
    # Uninstall entries give "installed" findings (RC-004), in the 64-bit and the WOW6432Node view
    todesk = tools["todesk"][0]
    assert todesk["check_id"] == "RC-004"
    assert any(i["source"].endswith(r"Uninstall\ToDesk") and i["version"] == "4.7.3.0"
               for i in todesk["evidence"]["installed"])
    sun = tools["sunlogin"][0]
    assert sun["check_id"] == "RC-004"
    assert any(i["name"] == "向日葵远程控制" and "WOW6432Node" in i["source"] for i in sun["evidence"]["installed"])
    # a Run value gives an autostart finding; frpc behind a bland per-user value is a tunnel
    rust = tools["rustdesk"][0]
    assert rust["check_id"] == "RC-003"
    assert rust["evidence"]["autostart"][0]["kind"] == "run_key"
    anydesk = tools["anydesk"][0]  # an auto-start service
    assert anydesk["check_id"] == "RC-003"
    svc = anydesk["evidence"]["autostart"][0]
    assert svc["kind"] == "service" and svc["name"] == "AnyDesk" and svc["start"] == "auto"
    frp = next(f for f in tools["frp"] if f["evidence"].get("autostart"))
    assert frp["check_id"] == "RC-005"
    run = frp["evidence"]["autostart"][0]
    assert run["name"] == "WindowsUpdateHelper" and run["location"].startswith("HKU\\S-1-5-")
    # fDenyTSConnections=0 -> RDP; fAllowToGetHelp=1 -> Remote Assistance
    rdp = findings_of(report, "RC-010")[0]
    assert rdp["evidence"]["fDenyTSConnections"] == 0
    assert rdp["evidence"]["port"] == 3389  # PortNumber of the wrong type falls back to the default
    assert findings_of(report, "RC-011")[0]["evidence"]["fAllowToGetHelp"] == 1
    # odd types and missing values did not stop anything; ordinary software is not reported
    cov = _coverage(report)
    for source in ("installed:uninstall-keys", "autostart:run-keys", "settings:rdp+remote-assistance"):
        assert cov[("remote", source)]["status"] == "ok", cov[("remote", source)]
    assert "7-Zip" not in json.dumps(report["findings"], ensure_ascii=False)


# --------------------------------------------------------------------------- running processes and sockets

def test_renamed_remote_tools_running_in_wine(winpc, planted, tools_running):
    report = _scan(winpc, "remote", "--only", "remote")
    procs = [f for f in report["findings"] if isinstance(f["evidence"].get("pid"), int) and f["evidence"].get("exe")]
    for path, tool_id, check, port in TOOLS:
        mine = [f for f in procs if _same(f["evidence"]["exe"], path)]
        assert len(mine) == 1, f"{path} not named: {[f['evidence']['exe'] for f in procs]}"
        f = mine[0]
        assert f["check_id"] == check and f["evidence"]["tool"]["id"] == tool_id
        # Wine's psutil cannot give name()/exe(): both come from the command line
        assert f["evidence"]["name_source"] == "cmdline" and f["evidence"]["exe_sha256"]
        if port:  # Wine reports no owning pid for sockets: the tool's port is attached to it by number
            assert f"tcp/127.0.0.1:{port}" in f["evidence"]["listening_unattributed"]
    # the Uninstall entries of running tools are named in their process findings
    todesk = next(f for f in procs if _same(f["evidence"]["exe"], TOOLS[0][0]))
    assert any(i["name"] == "ToDesk" for i in todesk["evidence"]["installed"])
    # a renamed binary recognised by its PE version info
    renamed = next(f for f in procs if _same(f["evidence"]["exe"], RENAMED_TODESK))
    assert renamed["check_id"] == "RC-002" and renamed["evidence"]["renamed"] is True
    assert renamed["evidence"]["pe_version_info"]["OriginalFilename"] == "ToDesk.exe"
    # a listening port without an owning pid is still reported
    port = UNOWNED_LISTENER[1]
    unowned = [f for f in findings_of(report, "RC-006") if f["evidence"]["port"] == port]
    assert unowned and unowned[0]["evidence"]["pid"] is None and unowned[0]["target"]["ref"] == f"port:tcp/{port}"
    cov = _coverage(report)
    assert cov[("remote", "processes")]["status"] in ("ok", "partial")
    assert "without an owning process id" in cov[("remote", "sockets")]["note"]


def test_executable_facts_cache_gives_the_same_findings(winpc, planted, tools_running):
    """The second scan takes the running tools' version information and hashes from the executable facts cache
    (state\\executables in the protected data folder): its process findings are those of the scan without it. Wine's
    ACLs are synthetic: each file's owner is the Wine user, the account the agent runs as here, so the cache's
    Windows rule (only SYSTEM, Administrators, TrustedInstaller and the agent's own account may change the
    executable) lets them in; tests/test_exe_cache.py holds that rule against real Windows descriptors."""
    cache = winpc.c_path(wine_env.DATA_DIR + r"\state\executables\executables.json")
    cache.unlink(missing_ok=True)
    time.sleep(2.5)  # the stand-ins were copied just now: an executable changed within 2 s is read, not stored

    def processes(report: dict) -> dict[str, tuple]:
        return {f["evidence"]["exe"].casefold(): (f["check_id"], (f["evidence"].get("tool") or {}).get("id"),
                                                  f["evidence"].get("exe_sha256"), f["evidence"].get("pe_version_info"))
                for f in report["findings"] if f["evidence"].get("exe") and isinstance(f["evidence"].get("pid"), int)}

    first = processes(_scan(winpc, "exe-cache-1", "--only", "remote"))
    assert cache.is_file()
    text = cache.read_text(encoding="utf-8")
    entries = [json.loads(line.split("\t", 2)[2]) for line in text.splitlines()[1:]]
    assert sum(1 for e in entries if e["h"]) >= len(TOOLS) + 1, entries  # the tools (reportable: hashed) are in
    assert any(["OriginalFilename", "ToDesk.exe"] in e["v"] for e in entries)
    assert "Program Files" not in text and "frpc" not in text  # entries are named by their key: no path
    written = cache.stat().st_mtime_ns
    second = processes(_scan(winpc, "exe-cache-2", "--only", "remote"))
    assert cache.stat().st_mtime_ns == written  # all from the cache: nothing new to write
    assert first == second and first[RENAMED_TODESK.casefold()][3]["OriginalFilename"] == "ToDesk.exe"


def test_process_exiting_mid_scan_does_not_stop_it(winpc, planted):
    """Short-lived programs start and exit all through the scan."""
    stop = threading.Event()
    started = []

    def churn():
        i = 0
        while not stop.is_set():
            path = rf"C:\Temp\blink\blink{i % 4}.exe"
            dest = winpc.c_path(path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                shutil.copy(winpc.base / "sleeper.exe", dest)
            started.append(subprocess.Popen(["wine", path, "0"], env=winpc.env, cwd=winpc.drive_c,
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
            i += 1
            time.sleep(0.05)

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        report = _scan(winpc, "churn", "--only", "remote")
    finally:
        stop.set()
        thread.join()
        for p in started:
            p.wait(timeout=60)
    assert len(started) >= 5
    assert _coverage(report)[("remote", "processes")]["status"] in ("ok", "partial")
    assert findings_of(report, "RC-010")  # the scan went on to the registry


# --------------------------------------------------------------------------- exports in the default roots

def test_exports_in_default_windows_roots(winpc, planted):
    report = _scan(winpc, "files", "--only", "files")
    found = {f["target"]["ref"].casefold(): f for f in report["findings"] if f["area"] == "files"}
    for target, records in planted["exports"].items():
        assert target in found, f"{target} not found; found: {sorted(found)}"
        assert found[target]["evidence"]["records"] == records, target
    assert len(found) == len(planted["exports"])  # the masked export is not a finding
    gbk_csv = found[(winpc.profile("Desktop") + r"\淘宝订单导出_20261101.csv").casefold()]["evidence"]
    assert gbk_csv["kinds"]["name"] == "unmasked" and gbk_csv["kinds"]["mobile"] == "unmasked"  # GBK text decoded
    # the roots: the user folders of every profile (missing ones skipped quietly) and the D: drive
    roots = {c["source"][len("root:"):].casefold(): c for c in report["coverage"] if c["source"].startswith("root:")}
    for folder in ("Desktop", "Documents", "Downloads"):
        assert winpc.profile(folder).casefold() in roots
    assert r"c:\users\lisi\desktop" in roots and r"c:\users\lisi\documents" not in roots
    assert roots["d:\\"]["note"] == "fixed drive other than the system drive"
    assert report["files_summary"]["unmasked_records"] == sum(planted["exports"].values())


# --------------------------------------------------------------------------- what Wine fakes

def test_sources_wine_fakes_are_reported_as_no_data(winpc, planted):
    report = _scan(winpc, "fakes", "--only", "remote")
    tasks = _coverage(report)[("remote", "autostart:scheduled-tasks")]  # Wine: empty Tasks folder, no `schtasks`
    assert tasks["status"] == "no_data" and "Wine keeps its tasks in this folder" in tasks["note"], tasks


# --------------------------------------------------------------------------- the Windows-native collectors

def test_local_accounts_through_netuserenum(winpc):
    """Accounts come from the Net API through the exe, not from `net user` (whose Wine stand-in prints only its
    usage text). Wine refuses level 3 (ERROR_INVALID_LEVEL): the names come from level 0 and each account from
    NetUserGetInfo, where Wine gives level 1 only (no last logon: said in the coverage). Wine's NetUserEnum lists one
    account, the prefix's user (the Unix user's name)."""
    report = _scan(winpc, "netapi", "--only", "accounts", rc=None)
    cov = _coverage(report)
    assert ("accounts", "os-accounts:net user") not in cov
    users = cov[("accounts", "os-accounts:netapi")]
    assert users["note"] == "NetUserEnum level 0 + NetUserGetInfo level 1", users
    assert users["status"] == "partial" and users["examined"] == 1, users
    assert users["skipped"] == [{"item": f"NetUserEnum {winpc.user}",
                                 "reason": "last logon not given by this system (USER_INFO level 1 only)"}], users


def test_data_only_in_the_protected_folder(winpc):
    """As an administrator (Wine's user is one), state and log go to %ProgramData%\\yuncang-auditor, nothing to the
    user's own folders; the folder's ACL is set, and the log says that Wine reports another one back (synthetic
    ACLs, README)."""
    _, work = winpc.workdir("places")
    (work / "订单.csv").write_text("x", encoding="utf-8")
    res = winpc.auditor("scan", "--only", "files", "--path", ".", "-o", "r.json", "-q", cwd=work)
    assert res.returncode in (0, 1) and "internal error" not in res.output, res.output
    data = winpc.c_path(wine_env.DATA_DIR)
    assert (data / "state").is_dir() and (data / "logs" / "auditor.log").is_file()
    log = (data / "logs" / "auditor.log").read_text(encoding="utf-8")
    assert "(system context, data in C:\\ProgramData\\yuncang-auditor)" in log
    assert "command: scan --only … --path … -o … -q" in log
    assert "unconfirmed" in log and "Wine accepts the ACL" in log
    for folder in ("AppData/Local/yuncang-auditor", "AppData/Roaming/yuncang-auditor"):
        assert not winpc.c_path(winpc.profile(folder.replace("/", "\\"))).exists(), folder


def test_scan_summary_reaches_the_event_log_call(winpc):
    """ReportEventW under the source yuncang-auditor with the scan's summary line: Wine accepts the call and stores
    nothing, writing the text to its `eventlog` debug channel, which is what is checked (the recorded expectation);
    the log file says the event log was accepted, not stored."""
    _, work = winpc.workdir("eventlog")
    winpc.env["WINEDEBUG"] = "-all,+eventlog"
    try:
        res = winpc.auditor("scan", "--only", "remote", "-o", "r.json", "-q", cwd=work)
    finally:
        winpc.env["WINEDEBUG"] = "-all"
    assert res.returncode in (0, 1), res.output
    lines = [line for line in res.stderr.splitlines() if "eventlog" in line]
    assert any("scan finished on" in line and "areas remote" in line for line in lines), res.stderr[-3000:]
    log = winpc.c_path(wine_env.DATA_DIR + r"\logs\auditor.log").read_text(encoding="utf-8")
    assert "[system log: event log (Wine: accepted, not stored)]" in log


def test_offline_tree_hives_through_the_exe(winpc):
    """`--root` on a copy of a Windows disk (the committed hives, tests/fixtures/windows/hives) read by the frozen
    exe's regipy: Uninstall keys, Run keys, services and the SAM's accounts, the hives named in the coverage."""
    tree = hivekit.windows_tree(winpc.c_path(r"D:\offline"))
    assert tree.is_dir()
    _, work = winpc.workdir("hives")
    res = winpc.auditor("scan", "--root", r"D:\offline", "--only", "remote", "--only", "accounts", "--as-of",
                        "2026-12-01", "-o", "r.json", "-q", cwd=work)
    assert res.returncode == 1 and "internal error" not in res.output, res.output
    report = load_report(work / "r.json")
    cov = _coverage(report)
    assert cov[("remote", "registry:hives")]["examined"] == 4
    assert r"C:\Windows\System32\config\SAM" in cov[("remote", "registry:hives")]["note"]
    assert cov[("accounts", "os-accounts:sam-hive")]["examined"] == 6
    found = {(f["check_id"], f["target"]["ref"]) for f in report["findings"]}
    assert {("RC-003", "todesk"), ("RC-003", "anydesk"), ("RC-005", "frp"), ("AC-010", "os:temp01")} <= found


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_parsers_of_the_faked_sources_on_recorded_windows_outputs(locale):
    """What Wine cannot produce, recorded outputs of real Windows can (tests/fixtures/windows/README.md)."""
    from auditor.accounts.net_user import parse_detail, parse_list
    from auditor.adapters.schtasks import parse_schtasks_csv
    from auditor.textcodec import decode_console

    tasks = parse_schtasks_csv((FIX / f"schtasks_{locale}.csv").read_text(encoding="utf-8"))
    assert any("RustDesk" in t["command"] or "rustdesk" in t["command"].lower() for t in tasks)
    gbk = decode_console((FIX / f"schtasks_{locale}.csv").read_text(encoding="utf-8").encode("gbk"))
    assert parse_schtasks_csv(gbk) == tasks
    names = parse_list((FIX / f"net_user_{locale}.txt").read_text(encoding="utf-8"))
    assert "chenmo" in names and "Administrator" in names
    detail = parse_detail((FIX / f"net_user_chenmo_{locale}.txt").read_text(encoding="utf-8"))
    assert detail.get("name") == "chenmo"


# --------------------------------------------------------------------------- owner-only outputs

def test_owner_only_acl_call_path_under_wine(winpc):
    """The exe writes every output through winacl (SetNamedSecurityInfoW): a failure there is exit 2, so a written
    report proves the call path. Wine's ACLs are synthetic: it accepts the DACL but reports one derived from the
    Unix mode, so the resulting entries are checked on real Windows only (README)."""
    _, work = winpc.workdir("acl")
    res = winpc.auditor("scan", "--only", "files", "--path", ".", "-o", "r.json", "-q", cwd=work)
    assert res.returncode == 0 and (work / "r.json").is_file(), res.output
    # the same code from this tree, run by the build's Windows Python, reads the descriptor back (the tree and the
    # build cache are lent as drives X: and Y: for this test only)
    links = {"x:": wine_env.CACHE, "y:": wine_env.REPO}
    for letter, target in links.items():
        (winpc.prefix / "dosdevices" / letter).symlink_to(target)
    try:
        code = ("import sys; sys.path.insert(0, 'Y:\\\\'); from pathlib import Path; "
                "from auditor import winacl; from auditor.durable import write_bytes; "
                "p = Path(r'C:\\work\\acl\\private.json'); write_bytes(p, b'{}'); "
                "print(winacl._current_user_sid()); print(winacl.file_sddl(p))")
        out = winpc.run([r"X:\py\python.exe", "-c", code])
    finally:
        for letter in links:
            (winpc.prefix / "dosdevices" / letter).unlink()
    assert out.returncode == 0, out.output
    sid, sddl = out.stdout.split()[:2]
    assert sid.startswith("S-1-5-") and sddl.startswith("O:") and "D:" in sddl
    assert (work / "private.json").read_bytes() == b"{}"


def test_owner_only_sddl_text():
    from auditor.winacl import owner_only_sddl

    assert owner_only_sddl("S-1-5-21-1-2-3-1001") == "D:P(A;;FA;;;S-1-5-21-1-2-3-1001)(A;;FA;;;SY)(A;;FA;;;BA)"
    assert owner_only_sddl("S-1-5-21-1-2-3-1001", folder=True) == \
        "D:P(A;OICI;FA;;;S-1-5-21-1-2-3-1001)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"  # what it holds inherits them


# --------------------------------------------------------------------------- the acceptance scan

def test_full_scan_names_every_planted_item(winpc, planted, tools_running):
    """The Windows agent's "done when": renamed tools running, Uninstall/Run/RDP entries planted, unmasked exports on the
    Desktop and in WeChat's FileStorage: `auditor.exe scan --output r.json` names every one, exit code 1."""
    _, work = winpc.workdir("full")
    res = winpc.auditor("scan", "--output", "r.json", "--output", "r.html", "--output", "r.xlsx", "--quiet", cwd=work)
    assert res.returncode == 1 and "Traceback" not in res.output and "internal error" not in res.output, res.output
    report = load_report(work / "r.json")
    assert (work / "r.html").read_bytes().startswith(b"<!") and (work / "r.xlsx").read_bytes()[:2] == b"PK"
    text = json.dumps(report["findings"], ensure_ascii=False).casefold()
    for path, _, _, _ in TOOLS:
        assert json.dumps(path).casefold()[1:-1] in text, path
    assert json.dumps(RENAMED_TODESK).casefold()[1:-1] in text
    tools = _by_tool(report)
    assert any(i["name"] == "向日葵远程控制" for f in tools["sunlogin"] for i in f["evidence"].get("installed", []))
    assert any(i["name"] == "ToDesk" for f in tools["todesk"] for i in f["evidence"].get("installed", []))
    assert tools["rustdesk"][0]["check_id"] == "RC-003"
    assert any(a["name"] == "WindowsUpdateHelper" for f in tools["frp"] for a in f["evidence"].get("autostart", []))
    assert findings_of(report, "RC-010") and findings_of(report, "RC-011")
    files = {f["target"]["ref"].casefold() for f in report["findings"] if f["area"] == "files"}
    assert set(planted["exports"]) <= files
    assert report["host"]["platform"] == "win32" and report["host"]["live"] is True


# --------------------------------------------------------------------------- auditor watch (another engineer's)

def test_watch_reports_a_new_export_within_one_second(winpc):
    win_dir, folder = winpc.workdir("watched")
    events = folder.parent / "watch-events.jsonl"
    proc = subprocess.Popen(["wine", winpc.exe, "watch", "--path", win_dir, "--events", r"C:\work\watch-events.jsonl",
                             "--no-processes", "--quiet"], env=winpc.env, cwd=winpc.drive_c,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def lines() -> list[dict]:
        try:
            return [json.loads(x) for x in events.read_text(encoding="utf-8").splitlines() if x.strip()]
        except (OSError, ValueError):
            return []

    try:
        deadline = time.time() + 120
        while not any(e["event"] == "watch_started" for e in lines()):
            assert proc.poll() is None and time.time() < deadline, "auditor.exe watch did not start"
            time.sleep(0.1)
        time.sleep(0.5)
        rows, records = export_rows(random.Random(7), "taobao", 40)
        tmp = folder / "订单导出.tmp"
        write_csv(tmp, rows)
        written = time.time()
        tmp.rename(folder / "订单导出.csv")
        while not any(e["event"] == "file_finding" for e in lines()):
            assert time.time() < written + 30, "no alert within 30 s"
            time.sleep(0.02)
        alert = next(e for e in lines() if e["event"] == "file_finding")
        assert alert["records"] == records and alert["path"].endswith("订单导出.csv")
        assert alert["ts"] - written <= 1.0, f"alert after {alert['ts'] - written:.2f} s"
    finally:
        winpc.run(["taskkill", "/F", "/IM", "auditor.exe"], timeout=60)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- links and devices (auditor.safeio)

def test_links_and_device_names_in_the_desktop_are_not_followed(winpc):
    """A user's link in the Desktop to another folder holding an export is not followed, a device name (CON,
    NUL) dressed as an export is refused, and the Desktop's own export is still found.

    What Wine 8 can make: `mklink /J` and `mklink /D` fail (FSCTL_SET_REPARSE_POINT answers ERROR_NOT_SUPPORTED,
    CreateSymbolicLinkW ERROR_FILE_NOT_FOUND), so no junction or Windows symbolic link can be created in the
    prefix. A Unix symbolic link placed in the prefix is what it offers instead: folder listings mark it as a
    reparse point (attributes 0x410), GetFileAttributes follows it, and GetFinalPathNameByHandleW names its
    target. The walk skips the listed reparse point; a file reached through a link is refused by the final-path
    check of safeio's Windows branch. Junction owners (winacl.owner_sid) are synthetic under Wine."""
    pc = winpc
    rng = random.Random(21)
    rows, records = export_rows(rng, "jd", 25)
    desktop = pc.profile("Desktop")
    own = pc.c_path(desktop + r"\链接测试_自己的.csv")
    write_csv(own, rows)
    hidden_rows, _ = export_rows(rng, "pdd", 30)
    hidden = pc.c_path(r"C:\hidden-share\隐藏订单.csv")
    write_csv(hidden, hidden_rows)
    hidden_mobiles = [r[5] for r in hidden_rows[1:]]
    folder_link = pc.c_path(desktop) / "共享"
    folder_link.symlink_to(hidden.parent, target_is_directory=True)
    file_link = pc.c_path(desktop) / "捷径订单.csv"
    file_link.symlink_to(hidden)
    junction = pc.run(["cmd", "/c", "mklink", "/J", desktop + r"\junction", r"C:\hidden-share"], timeout=60)
    for name in ("con.csv", "nul.xlsx"):
        pc.c_path(desktop + "\\" + name).write_bytes(b"\xef\xbb\xbf")
    try:
        _, work = pc.workdir("links")
        res = pc.auditor("scan", "--only", "files", "--path", desktop, "--output", "r.json", "--quiet", cwd=work,
                         timeout=180)
        assert res.returncode == 1 and "Traceback" not in res.output, res.output
        report = load_report(work / "r.json")
        refs = {f["target"]["ref"].casefold(): f for f in report["findings"]}
        assert (desktop + r"\链接测试_自己的.csv").casefold() in refs
        assert refs[(desktop + r"\链接测试_自己的.csv").casefold()]["evidence"]["records"] == records
        assert not [r for r in refs if "隐藏订单" in r or "捷径订单" in r or r"\共享" in r or r"\junction" in r]
        skipped = {s["item"].rsplit("\\", 1)[-1].casefold(): s["reason"] for c in report["coverage"]
                   for s in c["skipped"]}
        assert "junction or symbolic link" in skipped["捷径订单.csv"], skipped
        assert skipped["con.csv"] and skipped["nul.xlsx"], skipped  # devices, never read
        text = (work / "r.json").read_text(encoding="utf-8")
        assert not [m for m in hidden_mobiles if m in text]
        if junction.returncode == 0 and pc.c_path(desktop + r"\junction").exists():  # a Wine that can make one
            assert not [r for r in refs if r"\junction" in r]
    finally:
        for p in (folder_link, file_link, pc.c_path(desktop + r"\con.csv"), pc.c_path(desktop + r"\nul.xlsx"), own):
            try:
                p.unlink()
            except OSError:
                pass
        shutil.rmtree(pc.c_path(desktop + r"\junction"), ignore_errors=True)


# --------------------------------------------------------------------------- the Net API structures
@pytest.mark.wine  # built with mingw, run under Wine
def test_netapi_structures_match_the_windows_headers(tmp_path):
    """The ctypes USER_INFO structures auditor.accounts.netapi reads have the offsets and sizes the Windows SDK
    headers give (tests/wine/netapi_layout.c built with mingw-w64 and run under Wine: x64 layout, as on Windows)."""
    if os.environ.get(wine_env.SKIP_ENV) == "skip":
        pytest.skip(f"{wine_env.SKIP_ENV}=skip: this machine cannot run Wine")
    exe = tmp_path / "netapi_layout.exe"
    subprocess.run(["x86_64-w64-mingw32-gcc", "-O0", "-o", str(exe), str(Path(__file__).parent / "wine" /
                    "netapi_layout.c"), "-lnetapi32"], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(WINEPREFIX=str(tmp_path / "prefix"), WINEARCH="win64", WINEDEBUG="-all", HOME=str(tmp_path),
               WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d")
    try:
        res = subprocess.run(["wine", str(exe)], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=300)
    finally:
        subprocess.run(["wineserver", "-k"], env=env, timeout=60, capture_output=True)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    sdk = {}
    for line in res.stdout.decode().split("\n"):
        if line.strip():
            struct, member, value = line.split()
            sdk[(struct, member)] = int(value)
    structs = {"USER_INFO_1": netapi.USER_INFO_1, "USER_INFO_2": netapi.USER_INFO_2,
               "USER_INFO_3": netapi.USER_INFO_3, "USER_INFO_10": netapi.USER_INFO_10,
               "USER_MODALS_INFO_0": netapi.USER_MODALS_INFO_0}
    assert len(sdk) == 28
    for (struct, member), value in sdk.items():
        cls = structs[struct]
        if member == "size":
            assert ctypes.sizeof(cls) == value, struct
        else:
            field = member.split("_", 1)[1] if member[0].isdigit() else member
            assert getattr(cls, field).offset == value, (struct, member)


# --------------------------------------------------------------------------- the formats of issue #17

def test_web_xls_xml2003_and_pdf_labels_found_by_the_exe(winpc):
    """A web ".xls" (an HTML table in GBK), an "XML Spreadsheet 2003" workbook saved as .xls and a PDF batch of
    waybill labels, planted on the Wine C: drive: the exe (pypdf and the markup readers inside it) names each
    with its records, and the masked label batch is no finding."""
    from formatgen import label_pdf, orders, web_xls, xml2003

    rng = random.Random(17)
    folder = winpc.profile(r"Desktop\发货单")
    html_rows, html_records = orders(rng, "taobao", 80)
    xml_rows, xml_records = orders(rng, "pdd", 60)
    labels, masked = label_pdf(rng, 40, layout="thermal"), label_pdf(rng, 30, layout="a4", masked=1.0)
    planted = {folder + r"\淘宝订单导出.xls": (web_xls(html_rows, style="excel", encoding="gbk"), html_records),
               folder + r"\ERP发货单_XML.xls": (xml2003({"发货单": xml_rows}, encoding="gbk"), xml_records),
               folder + r"\菜鸟面单_1101.pdf": (labels.data, labels.records),
               folder + r"\已脱敏面单.pdf": (masked.data, 0)}
    for win_path, (data, _) in planted.items():
        path = winpc.c_path(win_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    _, work = winpc.workdir("formats17")
    res = winpc.auditor("scan", "--only", "files", "--path", folder, "--output", "r.json", "--quiet", cwd=work)
    assert "Traceback" not in res.output and res.returncode == 1, res.output
    report = load_report(work / "r.json")
    found = {f["target"]["ref"].casefold(): f["evidence"] for f in report["findings"] if f["area"] == "files"}
    for win_path, (_, records) in planted.items():
        if records:
            assert found[win_path.casefold()]["records"] == records, win_path
            assert found[win_path.casefold()]["kinds"]["mobile"] == "unmasked", win_path
        else:
            assert win_path.casefold() not in found, win_path
    assert len(found) == 3
    assert found[(folder + r"\菜鸟面单_1101.pdf").casefold()]["sheets"][0]["pages"] == labels.pages
