"""Renamed binaries: recognised by PE version info or by the tool's install folder."""

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
    assert finding.title["en"] == "Renamed remote-control binary: svch0st.exe is really Launcher RAT"


def test_exe_inside_a_tool_install_folder_is_named():
    [finding] = _judged(packs.catalog(), _proc(r"C:\Program Files\ToDesk\svchelper.exe"))
    assert finding.check_id == "RC-002" and finding.evidence["tool"]["id"] == "todesk"
    assert finding.evidence["match"]["how"] == "install_path"


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
