"""Renamed binaries: recognised by PE version info, by their Authenticode signer (version info stripped; binaries
signed here by osslsigncode with certificates whose subjects copy the vendors') or by the tool's install folder;
RC-002 evidence says which."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pip
import pytest

from auditor import packs
from auditor.core import checks as core_checks
from auditor.core.factory import FindingFactory
from auditor.remote.collect import read_executable
from auditor.remote.facts import ProcessFact, RemoteFacts
from auditor.remote.judge import RemoteJudge
from auditor.remote.pe_info import version_info
from auditor.remote.tool_index import ToolIndex
from signkit import need_mingw, need_tools, signed_copy, stripped_pe, versioned_pe
from test_catalog_freshness import NEW_TOOLS

# A real Windows PE with version info ships inside pip (distlib's launcher stubs).
LAUNCHER = Path(pip.__file__).parent / "_vendor" / "distlib" / "t64.exe"


def _judged(tools, *procs: ProcessFact):
    """The processes as the collector reads them (PE version information, hashes), judged."""
    index = ToolIndex(tools)
    for p in procs:
        read_executable(p, index)
    judge = RemoteJudge(index, FindingFactory(core_checks.checks(), None), [], "PC-01", dt.date.today())
    return judge.run(RemoteFacts(processes=list(procs)))


def _proc(exe: Path | str, name: str | None = None) -> ProcessFact:
    exe = str(exe)
    return ProcessFact(pid=4242, name=name or Path(exe.replace("\\", "/")).name, exe=exe, cmdline=[exe],
                       user="WH\\clerk", started=None, ppid=1)


@pytest.mark.skipif(not LAUNCHER.exists(), reason="pip's launcher stub not present in this pip build")
def test_pe_version_info_names_a_renamed_copy(tmp_path):
    info = version_info(str(LAUNCHER))
    assert info["OriginalFilename"] == "t64.exe" and info["ProductName"] == "Simple Launcher"
    renamed = tmp_path / "svch0st.exe"
    shutil.copy2(LAUNCHER, renamed)
    tool = packs._tool_from({"id": "launcher-rat", "name": "Launcher RAT", "vendor": "x", "category": "rat",
                             "sources": ["test"], "pe": {"original_filenames": ["t64.exe"]}}, "test")
    tools = {**packs.catalog(), tool.id: tool}
    [finding] = _judged(tools, _proc(renamed))
    assert finding.check_id == "RC-002"
    assert finding.evidence["renamed"] is True
    assert finding.evidence["match"] == {"how": "pe_original_filename", "value": "t64.exe"}
    assert finding.evidence["pe_version_info"]["ProductName"] == "Simple Launcher"
    assert finding.evidence["recognised_by"] == "version_info"
    assert finding.title["en"] == "Renamed remote-control binary: svch0st.exe is really Launcher RAT"


def test_exe_inside_a_tool_install_folder_is_named():
    [finding] = _judged(packs.catalog(), _proc(r"C:\Program Files\ToDesk\svchelper.exe"))
    assert finding.check_id == "RC-002" and finding.evidence["tool"]["id"] == "todesk"
    assert finding.evidence["match"]["how"] == "install_path" and finding.evidence["recognised_by"] == "folder"


@pytest.mark.parametrize("subject,tool", [("Hefei Pingbo Network Technology Co. Ltd", "gotohttp"),
                                          ("上海贝锐信息科技股份有限公司", "sunlogin"), ("AnyDesk Software GmbH", "anydesk")])
def test_a_renamed_binary_without_version_info_is_named_by_its_signer(tmp_path, subject, tool):
    need_tools()
    exe = signed_copy(stripped_pe(tmp_path / "bare.exe"), tmp_path / "Public" / "WinSecurityHost.exe", subject)
    [finding] = _judged(packs.catalog(), _proc(exe))
    ev = finding.evidence
    assert finding.check_id == "RC-002" and ev["tool"]["id"] == tool
    assert ev["recognised_by"] == "signer" and ev["match"] == {"how": "pe_signer", "value": subject}
    assert ev["pe_signers"][0]["subject"] == subject and ev["pe_signers"][0]["verified"] is False
    assert "pe_version_info" not in ev and ev["exe_sha256"]


def test_everyday_signed_programs_are_not_named(tmp_path):
    need_tools()
    bare = stripped_pe(tmp_path / "bare.exe")
    procs = [_proc(signed_copy(bare, tmp_path / f"p{k}" / "wps.exe", subject)) for k, subject in
             enumerate(["Zhuhai Kingsoft Office Software Co., Ltd.", "Microsoft Corporation",
                        "Tencent Technology (Shenzhen) Company Limited"])]
    assert _judged(packs.catalog(), *procs) == []


def test_non_pe_and_garbage_files_are_not_matched(tmp_path):
    junk = tmp_path / "fake.exe"
    junk.write_bytes(b"MZ" + b"\x00" * 100)
    assert version_info(str(junk)) == {}
    assert version_info(str(tmp_path / "missing.exe")) == {}
    assert _judged(packs.catalog(), _proc(junk)) == []


def test_wine_style_process_without_name_falls_back_to_cmdline():
    """Under Wine (and for protected processes) psutil gives no name/exe: the command line names it."""
    p = ProcessFact(pid=77, name="AnyDesk.exe", exe=None, cmdline=[r"C:\Users\Public\AnyDesk.exe", "--service"],
                    user=None, started=None, ppid=None, name_source="cmdline")
    [finding] = _judged(packs.catalog(), p)
    assert finding.check_id == "RC-001" and finding.evidence["name_source"] == "cmdline"


# The tools released or popular since 2023 (the catalog's 2026-12 review) whose renamed copies the catalog's PE
# facts name; the others have no version information or signer a public source gives (see their notes).
RENAMED_NAMED_AT_LEAST = 10


def test_renamed_copies_of_the_post_2023_tools(tmp_path):
    """Done-when trial for tools: for each tool of the 2026-12 review, a real PE built here under a bland name
    with the version information its catalog entry gives (OriginalFilename, ProductName, CompanyName), and a
    stripped PE signed with its catalog signer's subject; each copy is named as its own tool, never as another,
    and the share of tools named is kept."""
    need_tools()
    need_mingw()
    catalog = packs.catalog()
    bare = stripped_pe(tmp_path / "bare.exe")
    named, unknown = set(), set()
    for tool_id in NEW_TOOLS:
        pe = catalog[tool_id].pe
        strings = {key: pe[field][0] for key, field in (("OriginalFilename", "original_filenames"),
                                                        ("ProductName", "product_names"),
                                                        ("CompanyName", "company_names")) if pe[field]}
        copies = []
        if strings:
            copies.append(versioned_pe(tmp_path / tool_id / "v" / "WinSecurityHost.exe", strings))
        for k, subject in enumerate(pe["signers"]):
            copies.append(signed_copy(bare, tmp_path / tool_id / f"s{k}" / "WinSecurityHost.exe", subject))
        if not copies:
            unknown.add(tool_id)
            continue
        for exe in copies:
            [finding] = _judged(catalog, _proc(exe))
            assert finding.check_id == "RC-002" and finding.evidence["renamed"] is True, (tool_id, exe)
            assert finding.evidence["tool"]["id"] == tool_id, (tool_id, finding.evidence["match"])
        named.add(tool_id)
    assert named | unknown == set(NEW_TOOLS)
    assert len(named) >= RENAMED_NAMED_AT_LEAST, (sorted(named), sorted(unknown))
