"""Catalog freshness: review dates and sources on every entry, the tools added in the
2026-12 review found by the real detector under their own names, their direct/LAN ports betraying a bland
listener, everyday office programs left alone, and the hand-run LOLRMM comparison script."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor import packs
from auditor.remote.tool_index import ToolIndex
from auditor.errors import PackError
from auditor.resources import pack_dir
from auditor.core.severity import at_least
from conftest import REPO, load_report, run_cli

CATALOG = pack_dir("checks") / "remote-tools"
FIRST_CATALOG = dt.date(2026, 11, 26)  # the commit that wrote the first catalog

# Entries added (or, for gameviewer, extended) in the 2026-12 review, with one concrete name for each glob.
NEW_TOOLS = {
    "asklink": ["AskLink.exe", "AskLinkSession.exe"],
    "deskin": ["DeskIn.exe", "deskin_service.exe", "DeskIn_Session.exe"],
    "sunshine": ["sunshine.exe", "sunshinesvc.exe", "sunshine"],
    "easytier": ["easytier-core.exe", "easytier-cli.exe", "easytier-gui.exe", "easytier-core", "easytier-gui"],
    "vnt": ["vnt-cli.exe", "vn-link-cli.exe", "vnts.exe", "vnt-cli", "vnts"],
    "lucky": ["lucky.exe", "lucky"],
    "frpmgr": ["frpmgr.exe"],
    "openfrp": ["OpenFrp.Launcher.exe", "OpenFrp.Service.exe", "frpc_windows_amd64.exe",
                "legacy_frpc_windows_386.exe"],
    "chmlfrp": ["ChmlFrpLauncher.exe"],
    "billd_desk": ["BilldDesk.exe"],
    "controlr": ["ControlR.Agent.exe", "ControlR.DesktopClient.exe", "ControlR.Agent.Installer.exe",
                 "ControlR.Agent"],
    "ehorus": ["ehorus_agent.exe", "ehorus standalone.exe", "ehorus_cmd.exe", "ehorus_launcher.exe",
               "ehorus_uit.exe"],
    "acronis_connect": ["AcronisCyberProtectConnectAgent.exe", "AcronisCyberProtectConnectQuickAssist_x64.exe"],
    "screenmeet": ["ScreenMeetSupport.exe", "ScreenMeet.Support.exe"],
    "remotepass": ["remotepass-access.exe", "rpaccess.exe", "rpwhostscr.exe"],
    "teledesktop": ["ptdskhost.exe", "ptdskclient.exe", "pstlaunch.exe"],
    "ntr_remote": ["NTRsupportPro_EN.exe", "NTRsupportPro_ZH.exe"],
    "net_monitor_employees": ["nmep_ctrlagent.exe", "nmep_ctrlagentsvc.exe", "nmep_agtconfig.exe"],
    "gameviewer": ["UURemote_Setup.exe"],
}
# Ports that entered the catalog in the review (direct/LAN in `listen_ports`, local in `ports`).
NEW_PORTS = {
    47984: "sunshine", 47989: "sunshine", 47990: "sunshine", 48010: "sunshine",
    11010: "easytier", 11011: "easytier", 11012: "easytier", 15888: "easytier",
    16601: "lucky", 5650: "remote_utilities", 11400: "veyon", 11200: "veyon",
}
OFFICE = ["WeChat.exe", "Weixin.exe", "WXWork.exe", "DingTalk.exe", "QQ.exe", "TIM.exe", "chrome.exe", "msedge.exe",
          "firefox.exe", "WINWORD.EXE", "EXCEL.EXE", "POWERPNT.EXE", "OUTLOOK.EXE", "wps.exe", "et.exe", "wpp.exe",
          "Feishu.exe", "Lark.exe", "360safe.exe", "360tray.exe", "explorer.exe", "svchost.exe",
          "TencentMeeting.exe", "BaiduNetdisk.exe", "spoolsv.exe", "splwow64.exe", "PrintIsolationHost.exe",
          "bartend.exe", "CLodopPrint32.exe"]
OFFICE_DISPLAY_NAMES = ["微信", "企业微信", "钉钉", "飞书", "腾讯QQ", "WPS Office", "Microsoft Office 专业增强版 2019",
                        "Google Chrome", "Microsoft Edge", "360安全卫士", "火绒安全软件", "腾讯会议", "百度网盘",
                        "C-Lodop", "BarTender 2022", "ZDesigner Windows Printer Driver", "Sunshine Printer Utility"]


@pytest.fixture(scope="module")
def catalog():
    return packs.load_catalog(CATALOG)


# --------------------------------------------------------------------------- review dates and sources

def test_every_file_has_a_reviewed_date_and_sources():
    files = sorted(CATALOG.glob("*.toml"))
    assert len(files) >= 200
    for path in files:
        raw = packs.load_toml(path)
        reviewed = raw.get("reviewed")
        assert isinstance(reviewed, dt.date) and not isinstance(reviewed, dt.datetime), path.name
        assert reviewed >= FIRST_CATALOG, path.name
        assert raw.get("sources") and all(s.strip() for s in raw["sources"]), path.name


def test_new_entries_were_reviewed_and_carry_their_sources(catalog):
    for tool_id in NEW_TOOLS:
        tool = catalog[tool_id]
        assert tool.reviewed >= dt.date(2026, 12, 5), tool_id
        assert tool.sources and tool.processes, tool_id


def _tool(**extra):
    return packs._tool_from({"id": "x-tool", "name": "X", "vendor": "v", "category": "remote_support",
                             "sources": ["test"], **extra}, "x.toml")


def test_loader_validates_reviewed_and_listen_ports():
    assert _tool().reviewed is None and _tool().listen_ports == ()  # old files stay valid
    tool = _tool(reviewed=dt.date(2026, 12, 5), ports=[5939], listen_ports=[5938, 47990])
    assert tool.reviewed == dt.date(2026, 12, 5)
    assert tool.listen_ports == (5938, 47990) and tool.ports == (5939, 5938, 47990)  # the detector sees both
    for bad in ({"reviewed": "2026-12-05"}, {"reviewed": dt.datetime(2026, 12, 5, 9, 0)}, {"reviewed": 20261205},
                {"listen_ports": [0]}, {"listen_ports": "5900"}, {"listen_ports": [70000]},
                {"ports": [5900], "listen_ports": [5900]}):
        with pytest.raises(PackError):
            _tool(**bad)


def test_a_file_with_a_string_date_is_refused(tmp_path):
    folder = tmp_path / "remote-tools"
    folder.mkdir()
    (folder / "t.toml").write_text(textwrap.dedent("""\
        id = "t"
        name = "T"
        vendor = "v"
        category = "tunnel"
        reviewed = "yesterday"
        sources = ["test"]
        """), encoding="utf-8")
    with pytest.raises(PackError, match="reviewed"):
        packs.load_catalog(folder)


# --------------------------------------------------------------------------- office programs

def test_office_programs_match_no_new_entry(catalog):
    index = ToolIndex({tid: catalog[tid] for tid in NEW_TOOLS})
    for name in OFFICE:
        assert index.by_name(name) is None, name
        assert index.by_command(rf'"C:\Program Files\Vendor\{name}" /background') is None, name
    for display in OFFICE_DISPLAY_NAMES:
        assert index.by_display_name(display) is None, display
        assert index.by_autostart_name(display) is None, display


# --------------------------------------------------------------------------- one real scan for the rest

LISTEN_MANY = ("import json,socket,sys,time\n"
               "held,busy=[],{}\n"
               "for p in json.loads(sys.argv[1]):\n"
               "    s=socket.socket()\n"
               "    try:\n"
               "        s.bind(('127.0.0.1',p)); s.listen(); held.append(s)\n"
               "    except OSError as e:\n"
               "        busy[p]=e.strerror or str(e); s.close()\n"
               "print(json.dumps(busy),flush=True)\n"
               "time.sleep(300)\n")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Renamed `sleep` copies for every new tool name and every office name, and one bland process listening on
    each new port that is free here; then one scan of the remote area."""
    from conftest import Spawner

    base = tmp_path_factory.mktemp("fresh")
    spawn = Spawner(base / "procs")
    listener = None
    try:
        tools = {spawn.start(name).pid: (tool_id, name) for tool_id, names in NEW_TOOLS.items() for name in names}
        office = {spawn.start(name).pid: name for name in OFFICE}
        spawn.wait_visible()
        exe = base / "bin" / "printhelper"
        exe.parent.mkdir(parents=True)
        import shutil

        shutil.copy2(sys.executable, exe)
        listener = subprocess.Popen([str(exe), "-c", LISTEN_MANY, json.dumps(sorted(NEW_PORTS))],
                                    stdout=subprocess.PIPE, text=True)
        busy = {int(p): why for p, why in json.loads(listener.stdout.readline()).items()}
        out = base / "r.json"
        res = run_cli("scan", "--only", "remote", "-o", str(out), "-q", timeout=300)
        assert res.returncode == 1, res.stderr
        yield {"report": load_report(out), "tools": tools, "office": office, "listener": listener.pid,
               "busy": busy}
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
        spawn.stop()


def _by_pid(report: dict) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for f in report["findings"]:
        if isinstance(f["evidence"].get("pid"), int):
            out.setdefault(f["evidence"]["pid"], []).append(f)
    return out


def test_renamed_copies_of_new_tools_are_named_by_the_real_detector(live, catalog):
    by_pid = _by_pid(live["report"])
    for pid, (tool_id, name) in live["tools"].items():
        found = [f for f in by_pid.get(pid, []) if f["check_id"] in ("RC-001", "RC-005")]
        assert found, f"{name} ({tool_id}) not reported"
        f = found[0]
        assert f["evidence"]["tool"]["id"] == tool_id, (name, f["evidence"]["tool"]["id"])
        assert f["check_id"] == ("RC-005" if catalog[tool_id].is_tunnel else "RC-001"), name
        assert f["severity"] == "high" and Path(f["evidence"]["exe"]).name == name


def test_office_programs_get_nothing_above_low(live):
    by_pid = _by_pid(live["report"])
    new_ids = set(NEW_TOOLS)
    for pid, name in live["office"].items():
        for f in by_pid.get(pid, []):
            assert not at_least(f["severity"], "medium"), (name, f["check_id"], f["severity"])
            assert f["evidence"].get("tool", {}).get("id") not in new_ids, name


@pytest.mark.parametrize("port", sorted(NEW_PORTS))
def test_bland_listener_on_a_new_port_is_rc006(live, port):
    if port in live["busy"]:
        pytest.skip(f"127.0.0.1:{port} is already in use on this machine ({live['busy'][port]})")
    hits = [f for f in live["report"]["findings"]
            if f["check_id"] == "RC-006" and f["evidence"].get("pid") == live["listener"]
            and f["evidence"].get("port") == port]
    assert hits, f"bland listener on {port} not reported"
    ev = hits[0]["evidence"]
    assert ev["name"] == "printhelper" and ev["address"] == "127.0.0.1"
    assert NEW_PORTS[port] in {t["id"] for t in ev["port_of"]}


# --------------------------------------------------------------------------- the LOLRMM comparison script

def _lolrmm_entry(name: str, exes: list[str], domains: list[str]) -> dict:
    return {"Name": name, "Category": "RMM",
            "Details": {"PEMetadata": {"Filename": "", "OriginalFileName": ""}, "InstallationPaths": exes},
            "Artifacts": {"Disk": [], "Network": [{"Domains": domains, "Ports": []}]}}


def test_compare_script_lists_both_sides(tmp_path):
    api = tmp_path / "rmm_tools.json"
    api.write_text(json.dumps([
        _lolrmm_entry("ToDesk", ["todesk.exe"], ["todesk.com"]),                      # by exe name
        _lolrmm_entry("NinjaOne (formerly NinjaRMM)", [], []),                          # by a part of the name
        _lolrmm_entry("Example Agent", ["C:\\Program Files\\Ex\\exagentsvc.exe"], ["example-rmm.test"]),
        _lolrmm_entry("Tunnel Thing", [], ["x.cpolar.cn"]),                             # by domain
    ]), encoding="utf-8")
    script = REPO / "tools" / "catalog_compare.py"
    res = subprocess.run([sys.executable, str(script), str(api), "--format", "csv", "--matched"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    import csv

    rows = list(csv.DictReader(res.stdout.splitlines()))
    lol_only = {r["name"] for r in rows if r["section"] == "lolrmm_only"}
    assert lol_only == {"Example Agent"}
    matched = {r["name"]: r for r in rows if r["section"] == "matched"}
    assert matched["ToDesk"]["catalog_ids"] == "todesk"
    assert matched["NinjaOne (formerly NinjaRMM)"]["catalog_ids"] == "ninjaone"
    ours_only = {r["catalog_ids"] for r in rows if r["section"] == "catalog_only"}
    assert "sunshine" in ours_only and "todesk" not in ours_only and "ninjaone" not in ours_only
    text = subprocess.run([sys.executable, str(script), str(api)], capture_output=True, text=True, timeout=60)
    assert "LOLRMM tools not in the catalog (1)" in text.stdout and "exagentsvc.exe" in text.stdout
    bad = subprocess.run([sys.executable, str(script), str(tmp_path / "missing.json")], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "catalog_compare:" in bad.stderr
