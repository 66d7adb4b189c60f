"""Go build info and Rust crate folders (auditor.remote.build_marks): real Go programs built here for Windows and
Linux whose go.mod declares a tool's module, real Rust programs whose workspace crates carry a tool's crate names,
read by the real collector (the same bounded read as version info and signers) and judged; RC-002 evidence says
which mark named the binary. Everyday programs on this machine (every executable in /usr/bin, Go's and Rust's own
toolchains, Wine's Windows DLLs and programs, the Windows build's prefix) are named by none."""

from __future__ import annotations

import datetime as dt
import glob
import os
from pathlib import Path

import pytest

from auditor import packs
from auditor.core import checks as core_checks
from auditor.core.factory import FindingFactory
from auditor.core.severity import at_least
from auditor.errors import PackError
from auditor.remote.build_marks import BuildMarks, build_marks, rust_crates
from auditor.remote.collect import read_executable
from auditor.remote.facts import ProcessFact, RemoteFacts
from auditor.remote.judge import RemoteJudge
from auditor.remote.pe_info import MAX_PE_BYTES, build_marks_of
from auditor.remote.tool_index import ToolIndex
from buildkit import go_program, rust_program
from conftest import REPO
from signkit import need_mingw

# names other projects use for their own crates or modules too: never a catalog mark
GENERIC_CRATES = {"common", "core", "client", "server", "cli", "app", "lib", "libs", "util", "utils", "proxy", "tunnel",
                  "net", "network", "vpn", "agent", "service", "main", "src-tauri", "protocol", "config", "packet",
                  "scrap", "enigo", "clipboard", "tun", "std", "alloc", "tokio", "gui", "web", "desktop", "remote"}


def _judged(*procs: ProcessFact, tools=None):
    index = ToolIndex(tools or packs.catalog())
    for p in procs:
        read_executable(p, index)
    judge = RemoteJudge(index, FindingFactory(core_checks.checks(), None), [], "PC-01", dt.date.today())
    return judge.run(RemoteFacts(processes=list(procs)))


def _proc(exe: Path | str, name: str | None = None, pid: int = 4242) -> ProcessFact:
    exe = str(exe)
    return ProcessFact(pid=pid, name=name or Path(exe).name, exe=exe, cmdline=[exe], user="WH\\clerk", started=None,
                       ppid=1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The programs, built once: Go (PE and ELF, plain and stripped), Rust (ELF)."""
    base = tmp_path_factory.mktemp("marks")
    return {
        "lucky_pe": go_program(base / "lucky" / "WinSecurityHost.exe", "github.com/gdy666/lucky"),
        "lucky_elf": go_program(base / "lucky-elf" / "kworker", "github.com/gdy666/lucky", goos="linux"),
        "frpc_stripped": go_program(base / "frpc" / "svchost.exe", "github.com/fatedier/frp", "cmd/frpc",
                                    stripped=True),
        "gost_v3": go_program(base / "gost" / "update.exe", "github.com/go-gost/gost/v3", "cmd/gost", stripped=True),
        "uses_frp": go_program(base / "panel" / "frp-panel.exe", "github.com/acme/frp-panel", uses="github.com/fatedier/frp"),
        "office_go": go_program(base / "office" / "printhelper.exe", "github.com/acme/printhelper"),
        "vnt": rust_program(base / "vnt" / "kworker", ["vnt", "vnt-cli"]),
        "event": rust_program(base / "event" / "eventd", ["event", "prevent-cli"]),
    }


# --------------------------------------------------------------------------- reading

def test_go_build_info_of_real_windows_and_linux_programs(built):
    for key in ("lucky_pe", "lucky_elf"):
        marks = build_marks_of(str(built[key]))
        assert marks.go_module == "github.com/gdy666/lucky" and marks.go_package == "github.com/gdy666/lucky", key
    frpc = build_marks_of(str(built["frpc_stripped"]))  # -trimpath -s -w keep the build info
    assert (frpc.go_module, frpc.go_package) == ("github.com/fatedier/frp", "github.com/fatedier/frp/cmd/frpc")
    assert build_marks_of(str(built["uses_frp"])).go_module == "github.com/acme/frp-panel"  # its dependency is not it


def test_rust_crate_folders_of_a_real_program(built):
    crates = build_marks_of(str(built["vnt"])).rust_crates
    assert {"vnt", "vnt-cli"} <= set(crates) and "std" in crates
    event = build_marks_of(str(built["event"])).rust_crates
    assert {"event", "prevent-cli"} <= set(event) and "vnt" not in event  # event/src/ is never vnt/src/


def test_registry_and_windows_paths_name_their_crate():
    data = (b"\x00called `Option::unwrap()` on a `None` value/home/runner/.cargo/registry/src/"
            b"index.crates.io-6f17d22bba15001f/vnt-1.2.16/src/core/mod.rs\x00"
            b"C:\\Users\\runneradmin\\.cargo\\registry\\src\\index.crates.io-1949cf8c6b5b557f\\tokio-1.38.0\\src\\rt.rs"
            b")easytier\\src\\peers\\peer_manager.rs"
            b"assertion failed/rustc/abc/library/core/src/fmt/mod.rs "
            b"../src/lib.c ./vnt/src/notes.txt xvnt/src/a.rs")
    assert rust_crates(data) == ("core", "easytier", "tokio", "vnt", "xvnt")  # xvnt/src/ is not vnt


# --------------------------------------------------------------------------- naming

def test_renamed_go_binary_without_version_info_or_signer_is_named_by_its_module(built):
    [finding] = _judged(_proc(built["lucky_pe"]))
    ev = finding.evidence
    assert finding.check_id == "RC-002" and ev["tool"]["id"] == "lucky" and ev["renamed"] is True
    assert ev["recognised_by"] == "go_module" and ev["match"] == {"how": "go_module", "value": "github.com/gdy666/lucky"}
    assert ev["go_build"] == {"module": "github.com/gdy666/lucky", "package": "github.com/gdy666/lucky"}
    assert "pe_version_info" not in ev and "pe_signers" not in ev and ev["exe_sha256"]


def test_linux_and_stripped_and_major_version_builds_are_named(built):
    for key, tool in (("lucky_elf", "lucky"), ("frpc_stripped", "frp"), ("gost_v3", "gost")):
        [finding] = _judged(_proc(built[key]))
        assert finding.check_id == "RC-002" and finding.evidence["tool"]["id"] == tool, key
        assert finding.evidence["recognised_by"] == "go_module", key


def test_renamed_rust_binary_is_named_by_its_crates(built):
    [finding] = _judged(_proc(built["vnt"]))
    ev = finding.evidence
    assert finding.check_id == "RC-002" and ev["tool"]["id"] == "vnt" and ev["recognised_by"] == "rust_crate"
    assert ev["match"]["how"] == "rust_crate" and ev["rust_crates"] == ["vnt", "vnt-cli"]


def test_a_program_that_only_depends_on_a_tool_or_looks_like_one_is_not_named(built):
    assert _judged(_proc(built["uses_frp"]), _proc(built["office_go"], pid=4243), _proc(built["event"], pid=4244)) == []


def test_marks_in_a_windows_pe_built_with_mingw(tmp_path):
    """Rust's Windows standard library is not installed here: a MinGW program carries the panic paths a Windows
    build of EasyTier keeps (backslashes), so the PE side of the reader is run on a real PE."""
    need_mingw()
    import subprocess

    src = tmp_path / "main.c"
    src.write_text('#include <stdio.h>\nconst char *where[] = {"easytier\\\\src\\\\peers\\\\peer_manager.rs",\n'
                   '  "C:\\\\Users\\\\runneradmin\\\\.cargo\\\\registry\\\\src\\\\index.crates.io-1949cf8c6b5b557f'
                   '\\\\tokio-1.38.0\\\\src\\\\rt.rs"};\nint main(int c, char **v) { puts(where[c & 1]); return 0; }\n',
                   encoding="ascii")
    exe = tmp_path / "Public" / "WinSecurityHost.exe"
    exe.parent.mkdir()
    subprocess.run(["x86_64-w64-mingw32-gcc", "-s", "-o", str(exe), str(src)], check=True, capture_output=True)
    assert {"easytier", "tokio"} <= set(build_marks_of(str(exe)).rust_crates)
    [finding] = _judged(_proc(exe))
    assert finding.evidence["tool"]["id"] == "easytier" and finding.evidence["recognised_by"] == "rust_crate"


# --------------------------------------------------------------------------- the catalog

def test_catalog_marks_are_specific_and_sourced():
    owners: dict[str, str] = {}
    for tool in packs.catalog().values():
        for mark in (*tool.go_modules, *tool.rust_crates):
            assert mark not in owners, (mark, tool.id, owners.get(mark))
            owners[mark] = tool.id
        for crate in tool.rust_crates:
            assert crate not in GENERIC_CRATES, (tool.id, crate)
        if tool.go_modules:
            assert any("go.mod" in s for s in tool.sources), tool.id
        if tool.rust_crates:
            assert any("Cargo.toml" in s for s in tool.sources), tool.id
    assert {"lucky", "frp", "nps", "chisel", "gost", "cloudflared", "tailscale"} <= {owners[m] for m in owners}
    assert {"vnt", "easytier"} <= set(owners.values())


@pytest.mark.parametrize("bad", [{"go_modules": ["cmd/go"]}, {"go_modules": ["command-line-arguments"]},
                                 {"go_modules": "github.com/x/y"}, {"rust_crates": ["vn"]},
                                 {"rust_crates": ["Vnt"]}, {"rust_crates": ["vnt/src"]}])
def test_loader_refuses_malformed_marks(bad):
    with pytest.raises(PackError):
        packs._tool_from({"id": "x-tool", "name": "X", "vendor": "v", "category": "tunnel", "sources": ["t"], **bad},
                         "x.toml")


# --------------------------------------------------------------------------- everyday programs on this machine

def _everyday_executables() -> list[str]:
    cache = REPO / "packaging" / "windows" / ".cache"  # the Windows build's prefix: never globbed recursively from
    # its top, whose dosdevices/z: links to /
    places = ["/usr/bin/*", "/usr/sbin/*", "/usr/lib/go-*/bin/*", "/usr/lib/go-*/pkg/tool/*/*",
              str(Path.home() / ".cargo" / "bin" / "*"), str(Path.home() / ".rustup" / "toolchains" / "*" / "bin" / "*"),
              *(f"{root}/*-windows/*.{ext}" for root in ("/usr/lib/x86_64-linux-gnu/wine", "/usr/lib/wine")
                for ext in ("exe", "dll")),
              *(f"{cache}/prefix/drive_c/windows/{sub}/*.{ext}" for sub in ("system32", "syswow64")
                for ext in ("exe", "dll")),
              f"{cache}/prefix/drive_c/Program Files*/**/*.exe", f"{cache}/py/*.pyd", f"{cache}/py/*.dll",
              f"{cache}/frozen/**/*.exe", f"{cache}/frozen/**/*.dll", f"{cache}/frozen/**/*.pyd"]
    seen: dict[tuple[int, int], str] = {}
    for place in places:
        for path in glob.glob(place, recursive=True):
            try:
                st = os.stat(path)
            except OSError:
                continue
            if os.path.isfile(path) and 64 <= st.st_size <= MAX_PE_BYTES:
                seen.setdefault((st.st_dev, st.st_ino), path)
    return sorted(seen.values())


@pytest.mark.slow
def test_everyday_programs_on_this_machine_are_named_by_no_mark():
    """Every executable of /usr/bin and /usr/sbin, Go's and Rust's toolchains (Go and Rust programs themselves) and
    every Windows program and DLL Wine ships or the Windows build's prefix holds, run under a bland name: no
    mark names a tool and no finding is above low."""
    paths = _everyday_executables()
    index = ToolIndex(packs.catalog())
    go = rust = 0
    procs = []
    for k, path in enumerate(paths):
        marks = build_marks_of(path)
        go += bool(marks.go_module or marks.go_package)
        rust += bool(marks.rust_crates)
        assert index.by_build_marks(marks) is None, (path, marks)
        procs.append(_proc(path, name="officehelper", pid=10_000 + k))
    assert len(paths) > 200, len(paths)
    if os.path.isdir("/usr/lib/go-1.19"):
        assert go >= 5  # go, gofmt and the tool binaries carry build info
    if (Path.home() / ".cargo" / "bin" / "cargo").exists():
        assert rust >= 1
    for finding in _judged(*procs):
        assert not at_least(finding.severity, "medium"), (finding.check_id, finding.evidence.get("exe"))


def test_marks_are_plain_data_for_a_cache():
    marks = build_marks(b"\x7fELF" + b"\x00" * 60)
    assert marks == BuildMarks() and not marks
    assert BuildMarks("m", "p", ("vnt",)) == BuildMarks("m", "p", ("vnt",))  # frozen, comparable, hashable
    hash(BuildMarks("m", "p", ("vnt",)))
