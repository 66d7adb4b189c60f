"""Start-up: a command imports what it runs. A fresh interpreter (a child process: the modules one start imports are
the point, and this test process has imported everything) runs the CLI and lists what it imported."""

from __future__ import annotations

import fnmatch
import importlib
import json
import pkgutil
import re
import subprocess
import sys

import pytest
from hypothesis import assume, given, settings, strategies as st

import auditor
from auditor import cli, packs
from auditor.render import RENDERERS
from auditor.packs import Glob
from auditor.scan.registry import AREAS
from clirun import child_env, run_cli

PROBE = """
import json, sys
from auditor.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""

HEAVY_ELSEWHERE = ("jinja2", "xlsxwriter", "auditor.render.html", "auditor.render.xlsx", "auditor.render.markdown",
                   "auditor.render.csv_report", "auditor.siem.ndjson", "auditor.fleet.ingest", "auditor.inspector.bundle",
                   "auditor.remediate.quarantine", "auditor.watch.runner", "auditor.files.collect",
                   "auditor.accounts.collect", "auditor.trail.collect")


# needed only by what a scan may meet: an Ed25519 --sign-key (cryptography), a PE executable (pefile), an
# Authenticode signature in one (asn1crypto), a terminal summary (rich: not with -q)
HEAVY_WHEN_NEEDED = ("cryptography", "pefile", "asn1crypto", "rich", "auditor.summary")  # rich: a printed summary


def _empty_root(tmp_path) -> str:
    (tmp_path / "empty").mkdir()
    return str(tmp_path / "empty")


def _imported(*args: str) -> tuple[int, set[str]]:
    res = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=child_env(),
                         timeout=120, stdin=subprocess.DEVNULL)
    last = json.loads(res.stderr.strip().splitlines()[-1])
    return last["code"], set(last["modules"])


def test_version_imports_no_command():
    code, modules = _imported("--version")
    assert code == 0
    assert {m for m in modules if m.startswith("auditor.commands.")} == {"auditor.commands.parser"}
    assert not {"rich", "jinja2", "cryptography", "auditor.scan.registry", "auditor.i18n"} & modules


def test_remote_scan_to_json_imports_only_what_it_runs(tmp_path):
    out = tmp_path / "r.json"
    code, modules = _imported("scan", "--only", "remote", "--root", _empty_root(tmp_path), "-o", str(out), "-q",
                              "--fail-on", "none")
    assert code == 0 and out.is_file()
    assert "auditor.remote.collect" in modules and "auditor.render.json_report" in modules
    assert not set(HEAVY_ELSEWHERE) & modules
    assert not set(HEAVY_WHEN_NEEDED) & modules
    assert {m for m in modules if m.startswith("auditor.commands.")} == {"auditor.commands.parser",
                                                                          "auditor.commands.options",
                                                                          "auditor.commands.scan"}


@pytest.mark.skipif(sys.platform == "win32", reason="the running programs here are ELF executables")
def test_live_remote_scan_imports_no_crypto_or_pe_parser(tmp_path):
    """A live remote scan reads every running program's executable: ELF ones need no PE parser, and sealing an
    unsigned report needs no cryptography."""
    out = tmp_path / "r.json"
    code, modules = _imported("scan", "--only", "remote", "-o", str(out), "-q", "--fail-on", "none")
    assert code == 0 and out.is_file()
    assert "auditor.remote.exe_cache" in modules
    assert not set(HEAVY_WHEN_NEEDED) & modules


def test_ed25519_key_imports_cryptography(tmp_path):
    """Deferred, not gone: a scan sealed with an Ed25519 key imports it, and the report verifies."""
    assert run_cli("keygen", "--out", str(tmp_path / "site")).returncode == 0
    out = tmp_path / "r.json"
    code, modules = _imported("scan", "--only", "remote", "--root", _empty_root(tmp_path), "-o", str(out), "-q",
                              "--fail-on", "none", "--sign-key", str(tmp_path / "site.key"))
    assert code == 0 and "cryptography" in modules
    assert run_cli("verify", str(out), "--pubkey", str(tmp_path / "site.pub")).returncode == 0


def test_html_output_imports_its_renderer(tmp_path):
    out = tmp_path / "r.html"
    code, modules = _imported("scan", "--only", "remote", "--root", _empty_root(tmp_path), "-o", str(out), "-q",
                              "--fail-on", "none")
    assert code == 0 and out.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert {"jinja2", "auditor.render.html"} <= modules and "xlsxwriter" not in modules


def test_needed_commands():
    assert cli.needed_commands(["scan", "--only", "remote"]) == ("scan",)
    assert cli.needed_commands(["--debug", "fleet", "report"]) == ("fleet",)
    assert cli.needed_commands(["--version"]) == ()
    assert cli.needed_commands(["--debug", "--version"]) == ()
    for argv in ([], ["-h"], ["--help"], ["-h", "scan"], ["scna"], ["--bogus"], ["--version", "--bogus"],
                 ["--version", "-h"]):
        assert cli.needed_commands(argv) == cli.COMMANDS, argv


def test_help_and_errors_still_name_every_command():
    res = run_cli("--help")
    assert res.returncode == 0
    for name in cli.COMMANDS:
        assert name in res.stdout
    res = run_cli("scna", "--lang", "en")  # argparse's message, in the language asked for before it parsed
    assert res.returncode == 2 and "invalid choice" in res.stderr and "keygen" in res.stderr
    res = run_cli("scan", "--no-such-option")
    assert res.returncode == 2 and "--no-such-option" in res.stderr


def test_every_command_still_parses_alone(tmp_path):
    for name in cli.COMMANDS:
        res = run_cli(name, "--help")
        assert res.returncode == 0 and f"auditor {name}" in res.stdout, name


def test_deferred_area_functions_name_real_functions():
    """A typo in a deferred name would only show when that area runs: every one resolves. And every module named
    only by name is one a walk of the package finds, as PyInstaller's collect_submodules walks it for the exe
    (a folder without __init__.py is not walked: its modules would be missing from auditor.exe)."""
    walked = {m.name for m in pkgutil.walk_packages(auditor.__path__, "auditor.")}
    for area in AREAS:
        for fn in (area.collect, area.judge):
            module, _, name = fn.__qualname__.rpartition(".")
            assert callable(getattr(importlib.import_module(module), name)), fn.__qualname__
            assert module in walked, module
    assert {f"auditor.commands.{name}" for name in cli.COMMANDS} <= walked
    assert {module for module, _ in RENDERERS.values()} <= walked
    assert callable(getattr(importlib.import_module("auditor.files.verdict"), "verdict_for"))
    assert callable(getattr(importlib.import_module("auditor.accounts.collect"), "read_inputs"))
    assert callable(getattr(importlib.import_module("auditor.accounts.departures"), "departures_from"))


GLOB_TEXTS = st.text(alphabet=st.sampled_from("abcdefgtodeskvnc-_.[]*?! 0123456789EXEÄß"), max_size=24)


@settings(max_examples=300, deadline=None)
@given(pattern=GLOB_TEXTS, text=GLOB_TEXTS)
def test_prepared_glob_is_fnmatch(pattern, text):
    """The literal pre-check never refuses what fnmatch (case-insensitive) accepts, nor accepts what it refuses."""
    try:
        expected = fnmatch.fnmatchcase(text.casefold(), pattern.casefold())
    except re.error:  # Python 3.9's fnmatch refuses a reversed range ("[1-0]"); 3.10+ matches nothing with it
        assume(False)
    assert Glob.of(pattern).match(text.casefold()) == expected


def test_catalog_globs_match_as_before():
    names = ["ToDesk.exe", "todesk_service", "SunloginClient.exe", "AnyDesk", "frpc", "rustdesk.exe", "vncserver",
             "TeamViewer_Service.exe", "chrome.exe", "explorer.exe", "AweSun.exe", "oray_sunlogin_remote.exe"]
    tools = packs.catalog()
    patterns = [p for t in tools.values() for p in (*t.processes, *t.display_names, *t.autostart_names)]
    assert sum(any(c in p for c in "*?[") for p in patterns) > 50
    for pattern in patterns:
        for name in names + [pattern.replace("*", "x").replace("?", "y")]:
            assert Glob.of(pattern).match(name.casefold()) == fnmatch.fnmatchcase(name.casefold(),
                                                                                  pattern.casefold()), (pattern, name)
