"""Reports written by earlier versions (tests/fixtures/reports, kept byte for byte) still validate, verify, render
and load into the fleet store with the current version."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from auditor.core.legacy import subject_from_legacy
from conftest import REPO, load_report, run_cli, validate_report

OLD = REPO / "tests" / "fixtures" / "reports"
KEY = OLD / "sign.key"
VERSIONS = ("1.0", "1.1", "1.2")


def _old(version: str) -> Path:
    return OLD / f"report-{version}.json"


@pytest.mark.parametrize("version", VERSIONS)
def test_old_report_validates_and_verifies(version):
    report = json.loads(_old(version).read_text(encoding="utf-8"))
    assert report["schema_version"] == version and len(report["findings"]) == 18
    validate_report(report)
    res = run_cli("verify", "--lang", "en", str(_old(version)), "--sign-key", str(KEY))
    assert res.returncode == 0 and res.stdout.startswith("OK:") and "signature valid" in res.stdout, res.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_old_report_renders_in_every_format(version, tmp_path):
    outs = [tmp_path / f"r.{ext}" for ext in ("json", "html", "md", "xlsx", "csv")]
    for lang in ("zh", "en"):
        args = ["report", str(_old(version)), "--sign-key", str(KEY), "--lang", lang]
        for out in outs:
            args += ["-o", str(out)]
        res = run_cli(*args)
        assert res.returncode == 0, res.stderr
        new = load_report(outs[0])
        assert new["schema_version"] >= version and new["rendered_from"]["signed"] is True
        assert {f["id"] for f in new["findings"]} == {f["id"] for f in json.loads(_old(version).read_text())["findings"]}
        html = outs[1].read_text(encoding="utf-8")
        assert "D-REMOTE" in html and ("义乌一仓" in html)
        assert "PI-002" in outs[2].read_text(encoding="utf-8")
        assert "PI-002" in outs[4].read_text(encoding="utf-8-sig")
        with zipfile.ZipFile(outs[3]) as z:
            assert any(n.startswith("xl/worksheets/") for n in z.namelist())
        res = run_cli("verify", "--lang", "en", str(outs[0]), "--sign-key", str(KEY))
        assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_old_report_as_baseline(version, tmp_path):
    res = run_cli("report", str(_old("1.1")), "--baseline", str(_old(version)), "--sign-key", str(KEY),
                  "-o", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    changes = load_report(tmp_path / "r.json")["changes"]
    assert len(changes["still_open"]) == 18 and not changes["new"] and not changes["resolved"]


def test_old_reports_load_into_the_fleet_store(tmp_path):
    db = tmp_path / "fleet.sqlite"
    res = run_cli("fleet", "ingest", *(str(_old(v)) for v in VERSIONS), "--db", str(db), "--sign-key", str(KEY))
    assert res.returncode == 0, res.stderr
    con = sqlite3.connect(db)
    try:
        versions = sorted(r[0] for r in con.execute("SELECT schema_version FROM reports"))
        tools = {r[0] for r in con.execute("SELECT tool FROM findings WHERE tool IS NOT NULL")}
    finally:
        con.close()
    assert versions == list(VERSIONS)
    assert "ToDesk" in tools and any(t.startswith("frp") for t in tools)


def test_an_old_reports_file_name_is_the_label_the_agent_made():
    """A Linux name holding a backslash (``7月\\orders.csv``): an old report's file subject is named by the label the
    agent made on its own platform, not cut at the backslash."""
    report = json.loads(_old("1.1").read_text(encoding="utf-8"))
    f = next(f for f in report["findings"] if f["area"] == "files")
    folder = f["evidence"]["path"].rsplit("/", 1)[0]
    f["evidence"]["path"] = f["target"]["ref"] = folder + "/7月\\orders.csv"
    f["target"]["label"] = "7月\\orders.csv"
    assert subject_from_legacy(f)["name"] == "7月\\orders.csv"
