"""Exit codes and usage errors: 0 clean, 1 findings at/above --fail-on, 2 usage/config error."""

from __future__ import annotations

import pytest

from conftest import load_report, run_cli


def _assert_usage_error(res, *fragments):
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, res.stderr
    for frag in fragments:
        assert frag in lines[0]


@pytest.mark.parametrize("args,fragment", [
    (["scan", "--only", "printers"], "invalid choice"),
    (["scan", "--fail-on", "severe"], "invalid choice"),
    (["scan", "--output", "r.pdf"], "unknown report format"),
    (["scan", "--root", "/does/not/exist"], "/does/not/exist: no such folder"),
    (["scan", "--path", "/etc/hostname"], "/etc/hostname: not a folder"),
    (["scan", "--allowlist", "/does/not/exist.toml"], "no such file"),
    (["scan", "--lang", "fr"], "invalid choice"),
    (["scan", "--bogus"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_exit_2_with_one_line(args, fragment, tmp_path):
    _assert_usage_error(run_cli(*args, "--lang", "en", cwd=tmp_path), fragment)  # Chinese by default


def test_no_command_prints_help_and_exits_2():
    res = run_cli(child=True)  # the exit code of the real entry point (python -m auditor)
    assert res.returncode == 2 and "scan" in res.stdout


def test_version():
    from auditor import __version__

    res = run_cli("--version", child=True)  # argparse exits the interpreter itself
    assert res.returncode == 0 and res.stdout.strip() == f"auditor {__version__}"


@pytest.mark.slow  # each case runs the real entry point in a child too
@pytest.mark.parametrize("args", [(), ("--version",), ("scan", "--bogus"), ("scan", "--only", "remote", "--root",
                                                                             "{root}", "-q", "-o", "{out}"),
                                  ("scan", "--only", "remote", "--root", "{root}", "--lang", "en"),
                                  ("verify", "{out}"), ("report", "{out}", "-o", "{md}")])
def test_in_process_runs_give_what_the_real_entry_point_gives(tmp_path, args):
    """The tests run the CLI in process (tests/clirun.py): same exit code, stdout and stderr as a child."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    places = {"root": root, "out": tmp_path / "r.json", "md": tmp_path / "r.md"}
    run_cli("scan", "--only", "remote", "--root", str(root), "-q", "-o", str(places["out"]))
    argv = [a.format(**places) for a in args]
    inside, child = run_cli(*argv, env={"COLUMNS": "200"}), run_cli(*argv, env={"COLUMNS": "200"}, child=True)
    assert (inside.returncode, inside.stdout, inside.stderr) == (child.returncode, child.stdout, child.stderr)


def test_fail_on_threshold(spawn, tmp_path):
    spawn.start("ToDesk.exe")  # a high finding
    spawn.wait_visible()
    out = tmp_path / "r.json"
    assert run_cli("scan", "--only", "remote", "-o", str(out), "-q").returncode == 1
    assert run_cli("scan", "--only", "remote", "-q", "--fail-on", "critical").returncode == 0
    assert run_cli("scan", "--only", "remote", "-q", "--fail-on", "none").returncode == 0
    assert run_cli("scan", "--only", "remote", "-q", "--fail-on", "medium").returncode == 1
    assert any(f["severity"] == "high" for f in load_report(out)["findings"])


def test_clean_tree_exits_0(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "--root", str(root), "-o", str(out), "-q")
    assert res.returncode == 0, res.stderr
    report = load_report(out)
    assert report["findings"] == []
    assert report["host"]["live"] is False


def test_unwritable_output_is_a_usage_error(tmp_path):
    target = tmp_path / "no-such-dir-file"
    target.write_text("x")
    _assert_usage_error(run_cli("scan", "--only", "remote", "-q", "-o", str(target / "r.json"), "--lang", "en"),
                        "cannot write")


def test_malformed_catalog_exits_2_naming_the_file(tmp_path):
    from conftest import copy_checks

    checks = copy_checks(tmp_path)
    (checks / "remote-tools" / "broken.toml").write_text('id = "broken"\nname = \n', encoding="utf-8")
    res = run_cli("scan", "--only", "remote", "-q", env={"AUDITOR_CHECKS_DIR": str(checks)})
    _assert_usage_error(res, "broken.toml")


def test_catalog_entry_with_unknown_category_exits_2(tmp_path):
    from conftest import copy_checks

    checks = copy_checks(tmp_path)
    (checks / "remote-tools" / "odd.toml").write_text(
        'id = "odd"\nname = "Odd"\nvendor = "x"\ncategory = "spaceship"\nsources = ["test"]\n', encoding="utf-8")
    res = run_cli("scan", "--only", "remote", "-q", "--lang", "en", env={"AUDITOR_CHECKS_DIR": str(checks)})
    _assert_usage_error(res, "odd.toml", "unknown category")
