"""Checks and legal clauses: every check has a basis, and every cited clause exists."""

from __future__ import annotations

from auditor.core import checks as core_checks
from auditor import packs


def test_every_check_cites_existing_clauses():
    clauses = packs.legal_clauses()
    checks = core_checks.checks()
    assert checks
    for chk in checks.values():
        assert chk.legal_basis, f"{chk.id} has no legal basis"
        missing = [c for c in chk.legal_basis if c not in clauses]
        assert not missing, f"{chk.id} cites missing clauses {missing}"
        assert chk.title["zh"] and chk.title["en"] and chk.remediation["zh"] and chk.remediation["en"]


def test_foundation_clauses_present():
    clauses = packs.legal_clauses()
    for cid in ("ATFL-29", "PIPL-51", "PIPL-54", "CSL-23", "GBT22239-8.1.4.2", "GBT22239-8.1.10.6"):
        assert cid in clauses
        c = clauses[cid]
        assert c["law"] and c["article"] and c["text_zh"] and c["summary_en"] and "verified" in c


def test_unverified_clauses_are_flagged_not_invented():
    clauses = packs.legal_clauses()
    # the reference could not verify the 2014 postal rules' article numbers
    assert clauses["POSTAL-PI-2014"]["verified"] is False


def test_duties_reference_existing_clauses():
    clauses = packs.legal_clauses()
    duties = packs.load_toml(packs.pack_dir("checks") / "duties.toml")["duty"]
    assert len(duties) >= 6
    for d in duties:
        assert all(c in clauses for c in d["clauses"]), d["id"]


def test_a_check_citing_a_missing_clause_is_caught(tmp_path):
    import shutil

    from conftest import REPO

    checks_dir = tmp_path / "checks"
    shutil.copytree(REPO / "checks", checks_dir)
    rules = checks_dir / "rules" / "remote.toml"
    rules.write_text(rules.read_text(encoding="utf-8").replace('"ATFL-29"', '"ATFL-999"', 1), encoding="utf-8")
    clauses = packs.legal_clauses(checks_dir)
    bad = [c.id for c in core_checks.checks(checks_dir).values() if any(x not in clauses for x in c.legal_basis)]
    assert bad == ["RC-001"]


# --------------------------------------------------------------------------- a site's broken pack: exit 2, named

def _site_copy(tmp_path):
    import shutil

    from conftest import REPO

    checks_dir = tmp_path / "checks"
    shutil.copytree(REPO / "checks", checks_dir)
    return checks_dir


def _one_message(res) -> str:
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    return res.stderr


def test_a_checks_dir_that_is_not_there_is_named(tmp_path):
    """AUDITOR_CHECKS_DIR=/nonexistent: the variable and the folder are named (it once said the catalog was empty,
    then crashed while printing the message: the leak guard read its rules from the missing pack)."""
    from conftest import run_cli

    for value, why in ((tmp_path / "nonexistent", "no such folder"), (tmp_path / "a-file", "not a folder")):
        (tmp_path / "a-file").write_text("x")
        res = run_cli("scan", "--only", "remote", "-q", "--lang", "en", env={"AUDITOR_CHECKS_DIR": str(value)})
        err = _one_message(res)
        assert f"AUDITOR_CHECKS_DIR={value}: {why}" in err
    res = run_cli("scan", "--only", "remote", "-o", str(tmp_path / "r.html"),
                  env={"AUDITOR_REPORTS_DIR": str(tmp_path / "nonexistent")})
    assert "AUDITOR_REPORTS_DIR=" in _one_message(res)


def test_an_empty_or_malformed_pack_file_is_exit_2_with_the_file_named(tmp_path):
    """An empty duties.toml once gave a report without duties (exit 0); an empty pii.toml a KeyError."""
    from conftest import run_cli

    for name, content, said in (
            ("duties.toml", "", "empty (nothing defined)"),
            ("duties.toml", "[other]\nx = 1\n", "no [[duty]] entries"),
            ("legal.toml", "version = 1\n", "no [[clause]] entries"),
            ("pii.toml", "", "empty (nothing defined)"),
            ("pii.toml", "[masking]\nchars = '*'\n", "'headers' is missing"),
            ("rules/remote.toml", "", "empty (nothing defined)"),
            ("remote-tools/anydesk.toml", "", "empty (nothing defined)"),
            ("roles.toml", "[[role\n", "roles.toml")):
        checks_dir = _site_copy(tmp_path / name.replace("/", "_") / str(len(content)))
        (checks_dir / name).write_text(content, encoding="utf-8")
        res = run_cli("scan", "--only", "remote", "-q", "-o", str(tmp_path / "r.json"), "--lang", "en",
                      env={"AUDITOR_CHECKS_DIR": str(checks_dir)})
        err = _one_message(res)
        assert str(checks_dir / name) in err and said in err, (name, err)
        assert not (tmp_path / "r.json").exists()
