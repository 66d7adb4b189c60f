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
