"""tools/exe_facts.py: the catalog lines for a vendor's binary, read by the agent's own readers (run as a person
would, in its own process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from auditor.packs import tomllib
from auditor.remote.build_marks import GO_MAGIC, INFO_END, INFO_START
from signkit import need_tools, signed_copy
from test_renamed import LAUNCHER

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not LAUNCHER.exists(), reason="pip's launcher stub not present in this pip build")


def _run(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tools" / "exe_facts.py"), *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def test_a_signed_pe_and_a_go_program_give_catalog_lines(tmp_path):
    need_tools()
    signed = signed_copy(LAUNCHER, tmp_path / "DeskIn.exe", "DeskIn Technology Co., Ltd.")
    go = tmp_path / "lucky"
    mod = INFO_START + b"path\tgithub.com/gdy666/lucky\nmod\tgithub.com/gdy666/lucky\t(devel)\t\n" + INFO_END
    go.write_bytes(b"\x7fELF" + b"\x00" * 12 + GO_MAGIC + bytes([8, 2]) + b"\x00" * 16 + bytes([8]) + b"go1.22.1"
                   + bytes([len(mod)]) + mod + b"\x00" * 64)
    res = _run(signed, go)
    assert res.returncode == 0, res.stderr
    first, second = res.stdout.strip().split("\n\n")
    pe = tomllib.loads(first)["pe"]
    assert pe["signers"] == ["DeskIn Technology Co., Ltd."]
    assert pe["original_filenames"]  # the launcher's own version information
    assert tomllib.loads(second) == {"go_modules": ["github.com/gdy666/lucky"]}
    assert "SHA-256" in first.splitlines()[0]


def test_a_file_that_is_not_there_is_exit_2(tmp_path):
    res = _run(tmp_path / "missing.exe")
    assert res.returncode == 2 and "exe_facts:" in res.stderr and "Traceback" not in res.stderr
