"""The remote-tool catalog is data: complete enough, well-formed, and extensible without code."""

from __future__ import annotations

import textwrap

import pytest

from auditor import packs
from auditor.resources import pack_dir
from conftest import copy_checks, load_report, run_cli

GENERIC_NAMES = {"agent", "client", "server", "service", "update", "updater", "helper", "launcher", "app",
                 "main", "run", "start", "setup", "install", "svchost", "explorer", "python", "python3",
                 "java", "javaw", "node", "code", "cmd", "powershell", "rundll32", "bash", "sh", "sleep",
                 "chrome", "msedge", "firefox", "wechat", "dingtalk", "conhost", "dllhost", "taskhostw"}
GENERIC_PORTS = {20, 21, 22, 25, 53, 80, 110, 123, 143, 443, 445, 3000, 3306, 5000, 5432, 8000, 8080, 8443, 8888,
                 9000}
MUST_HAVE = ["todesk", "sunlogin", "aweray", "gameviewer", "raylink", "gotohttp", "frp", "nps", "ngrok", "cpolar",
             "natapp", "sakurafrp", "teamviewer", "anydesk", "rustdesk", "screenconnect", "splashtop",
             "chrome_remote_desktop", "realvnc", "tightvnc", "ultravnc", "tigervnc", "x11vnc", "meshcentral",
             "parsec", "nomachine", "dwservice", "zoho_assist", "radmin", "ammyy", "supremo", "logmein"]


@pytest.fixture(scope="module")
def catalog():
    return packs.load_catalog(pack_dir("checks") / "remote-tools")


def test_at_least_100_tools(catalog):
    assert len(catalog) >= 100


@pytest.mark.parametrize("tool_id", MUST_HAVE)
def test_tools_warehouses_meet_are_present(catalog, tool_id):
    assert tool_id in catalog, f"catalog lacks {tool_id}"
    tool = catalog[tool_id]
    assert tool.processes or tool.services or tool.packages, f"{tool_id} has nothing to detect it by"


def test_chinese_im_assist_and_tunnels_present(catalog):
    cats = {t.category for t in catalog.values()}
    assert {"remote_support", "rmm", "vnc", "tunnel", "rat", "builtin", "im_assist"} <= cats
    names = " ".join(t.name + t.name_zh for t in catalog.values())
    for word in ("花生壳", "向日葵", "QQ", "旺旺"):
        assert word in names, word


def test_no_generic_process_names_or_ports(catalog):
    for tool in catalog.values():
        for name in tool.processes:
            stem = name.lower().removesuffix(".exe")
            assert stem not in GENERIC_NAMES or tool.category == "im_assist", (tool.id, name)
            literal = stem.replace("*", "").replace("?", "")
            assert len(literal) >= 3, (tool.id, name)
        for port in tool.ports:
            assert port not in GENERIC_PORTS, (tool.id, port)
        assert tool.sources, tool.id


def test_every_tool_has_what_the_schema_asks(catalog):
    for tool in catalog.values():
        assert tool.vendor and tool.name
        assert tool.category in packs.CATEGORIES


def test_adding_a_tool_is_a_data_edit(spawn, tmp_path):
    """A new catalog file, no code change: a process of that name is now named in the report."""
    checks = copy_checks(tmp_path)
    (checks / "remote-tools" / "cangku-remote.toml").write_text(textwrap.dedent("""\
        id = "cangku-remote"
        name = "CangkuRemote"
        vendor = "test vendor"
        category = "remote_support"
        sources = ["test fixture"]
        services = []
        ports = []
        [processes]
        windows = ["CangkuRemoteSvc.exe"]
        linux = ["cangku-remoted"]
        """), encoding="utf-8")
    p1 = spawn.start("CangkuRemoteSvc.exe")
    p2 = spawn.start("cangku-remoted")
    spawn.wait_visible()
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "-o", str(out), "-q", env={"AUDITOR_CHECKS_DIR": str(checks)})
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    found = {f["evidence"]["pid"]: f for f in report["findings"] if f["evidence"].get("tool", {}).get("id") == "cangku-remote"}
    assert set(found) == {p1.pid, p2.pid}
    # ...and without the data file it is not known
    out2 = tmp_path / "r2.json"
    run_cli("scan", "--only", "remote", "-o", str(out2), "-q")
    assert not any(f["evidence"].get("pid") in (p1.pid, p2.pid) for f in load_report(out2)["findings"])
