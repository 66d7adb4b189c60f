"""Honest verdicts (README: Score, Coverage): the agent never calls a PC clean, never grades it A and never
calls a duty met for what it did not assess. Played as the people it is meant to catch would: a PC scanned
for the first time without the HR roster, a folder the agent cannot read (a user's 000 folder, a mount that
vanished), and, as properties, every combination of coverage the areas can report."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clirun import child_env
from auditor.core import checks as core_checks
from auditor import compliance, packs
from hostilekit import HANG, auditor, state_env

REPO = Path(__file__).resolve().parents[2]


def _clean_pc(root: Path) -> Path:
    """A copied office PC with nothing wrong on it: two locked accounts, an empty desktop."""
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('PRETTY_NAME="UnionTech OS Desktop 20 Pro"\nVERSION_ID="20"\n')
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\nwh01:x:1000:1000::/home/wh01:/bin/bash\n")
    (root / "etc/shadow").write_text("root:!:19000:0:99999:7:::\nwh01:$6$salt$hash:19000:0:99999:7:::\n")
    (root / "home/wh01/Desktop").mkdir(parents=True)
    return root


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang, not_clean", [("en", "not a clean result"), ("zh", "不能视为没有问题")])
def test_first_scan_without_roster_is_neither_grade_A_nor_clean(tmp_path, lang, not_clean):
    """The first scan of a PC, with no roster: half the account checks and the organisational duties were not
    assessed. Before: grade A and "no problems". Now every output says how much was assessed."""
    root = _clean_pc(tmp_path / "pc")
    outs = {ext: tmp_path / f"r.{ext}" for ext in ("json", "html", "md", "csv", "xlsx")}
    args = [a for p in outs.values() for a in ("-o", str(p))]
    run = auditor("scan", "--root", str(root), "--lang", lang, *args, env=state_env(tmp_path))
    assert run.code == 0, run.output[-2000:]
    report = _json(outs["json"])
    assert report["findings"] == []
    score = report["score"]
    a = score["assessment"]
    assert score["value"] == 100 and score["grade"] == "B" and a["grade_limit"] == "B"
    assert a["complete"] is False and a["duties_assessed"] < a["duties_total"] == len(report["duties"])
    assert {"AC-001", "AC-002", "AC-004"} <= set(a["checks_not_assessed"])
    duties = {d["id"]: d for d in report["duties"]}
    assert duties["D-ACCESS"]["verdict"] == "not_assessed" and "AC-001" in duties["D-ACCESS"]["checks_not_assessed"]
    assert duties["D-ORG"]["verdict"] == "not_assessed"
    # the terminal
    assert not_clean in run.stdout
    assert "No findings." not in run.stdout and "未发现问题。" not in run.stdout
    # every report format
    html = outs["html"].read_text(encoding="utf-8")
    assert 'class="letter g-A"' not in html and 'class="letter g-B"' in html and not_clean in html
    md = outs["md"].read_text(encoding="utf-8")
    assert ("**B**" in md) and (("incomplete:" in md) if lang == "en" else ("不完整" in md)) and not_clean in md
    header = outs["csv"].read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.endswith("Score,Grade,Assessment" if lang == "en" else "得分,等级,评估完整性")
    import openpyxl

    wb = openpyxl.load_workbook(outs["xlsx"], read_only=True)
    cells = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c]
    assert any(("incomplete:" if lang == "en" else "不完整") in c for c in cells)
    assert any(not_clean in c for c in cells)


def test_old_report_re_rendered_says_how_much_was_assessed(tmp_path):
    """A report judged by an older version (no assessment recorded) is judged again by `auditor report`."""
    root = _clean_pc(tmp_path / "pc")
    out = tmp_path / "r.json"
    assert auditor("scan", "--root", str(root), "-q", "-o", str(out), env=state_env(tmp_path)).code == 0
    old = _json(out)
    for key in ("areas", "duties", "score", "accepted_risks", "clauses", "integrity"):
        old.pop(key, None)
    old["schema_version"] = "1.0"
    from auditor.integrity import seal

    seal(old)
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    again = tmp_path / "again.json"
    res = auditor("report", str(legacy), "-o", str(again), "-o", str(tmp_path / "again.md"), "--lang", "en",
                  env=state_env(tmp_path))
    assert res.code == 0, res.output
    assert _json(again)["score"]["assessment"]["complete"] is False and _json(again)["score"]["grade"] != "A"


# --------------------------------------------------------------------------- folders that cannot be read

def _without_bypass(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The real CLI as root without the capabilities that bypass file permissions: a folder a user made
    unreadable (mode 000) is then unreadable to the agent too, as on a PC where it runs as a user, or a share
    that refuses SYSTEM."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop the permission-bypass capabilities")
    return subprocess.run(["setpriv", "--bounding-set", "-dac_override,-dac_read_search", sys.executable, "-m",
                           "auditor", *args], capture_output=True, text=True, timeout=HANG,
                          env=child_env({**state_env(tmp_path), "PYTHONPATH": str(REPO)}))


def test_unreadable_root_leaves_the_area_failed_never_assessed(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "订单.csv").write_text("收件人手机\n13812345678\n", encoding="utf-8")
    os.chmod(locked, 0o000)
    out = tmp_path / "r.json"
    try:
        res = _without_bypass(tmp_path, "scan", "--only", "files", "--path", str(locked), "--lang", "en",
                              "-o", str(out))
    finally:
        os.chmod(locked, 0o700)
    assert res.returncode == 0, res.stderr
    report = _json(out)
    cov = {c["source"]: c for c in report["coverage"]}
    assert cov["files:content"]["status"] == "failed"
    assert cov[f"root:{locked}"]["status"] == "failed"
    area = next(a for a in report["areas"] if a["area"] == "files")
    assert area["state"] == "failed" and str(locked) in area["reason"]["en"]
    duties = {d["id"]: d for d in report["duties"]}
    assert duties["D-DEIDENTIFY"]["verdict"] == "not_assessed"
    assert report["score"]["grade"] != "A" and "files" in report["score"]["assessment"]["areas_incomplete"]
    assert "not a clean result" in res.stdout and "failed" in res.stdout


def test_unreadable_subfolder_leaves_the_area_partial(tmp_path):
    root = tmp_path / "Desktop"
    (root / "private").mkdir(parents=True)
    rows = "".join(f"13{i % 10}1234{i:04d},浙江省金华市义乌市{i}号{i}室\n" for i in range(8))
    (root / "订单.csv").write_text("收件人手机,收货地址\n" + rows, encoding="utf-8")
    (root / "private" / "藏起来.csv").write_text("收件人手机,收货地址\n" + rows, encoding="utf-8")
    os.chmod(root / "private", 0o000)
    out = tmp_path / "r.json"
    try:
        res = _without_bypass(tmp_path, "scan", "--only", "files", "--path", str(root), "-q", "-o", str(out))
    finally:
        os.chmod(root / "private", 0o700)
    assert res.returncode == 1, res.stderr
    report = _json(out)
    root_cov = next(c for c in report["coverage"] if c["source"] == f"root:{root}")
    assert root_cov["status"] == "partial" and "permission denied" in root_cov["skipped"][0]["reason"]
    assert next(a for a in report["areas"] if a["area"] == "files")["state"] == "partial"
    assert [f["target"]["ref"].rsplit("/", 1)[-1] for f in report["findings"]] == ["订单.csv"]


def test_folder_that_vanished_before_the_walk_fails_the_area(tmp_path):
    """A --path checked at the command line and gone when the walk reaches it (an unplugged disk, an unmounted
    share): the real scan, in process, with the folder removed after the options were taken."""
    from auditor.core.options import ScanOptions
    from auditor.scan import pipeline

    gone = tmp_path / "share"
    gone.mkdir()
    opts = ScanOptions(only=["files"], paths=[gone], full=True)
    gone.rmdir()
    os.environ["AUDITOR_STATE_DIR"] = str(tmp_path / "state")
    try:
        report = pipeline.finish(pipeline.run(opts))
    finally:
        del os.environ["AUDITOR_STATE_DIR"]
    cov = {c["source"]: c for c in report["coverage"]}
    assert cov["files:content"]["status"] == "failed" and cov[f"root:{gone}"]["status"] == "failed"
    assert next(a for a in report["areas"] if a["area"] == "files")["state"] == "failed"
    assert report["score"]["grade"] != "A"


def test_missing_path_is_a_usage_error(tmp_path):
    run = auditor("scan", "--only", "files", "--path", str(tmp_path / "nope"), env=state_env(tmp_path))
    assert run.code == 2 and "Traceback" not in run.output
    assert len(run.stderr.strip().splitlines()) <= 2 and "nope" in run.stderr


# --------------------------------------------------------------------------- the rules, as properties

AREAS = ("remote", "files", "accounts", "trail", "organisation")
STATUSES = ("ok", "partial", "no_data", "skipped", "failed", "not_assessed")
CHECKS = core_checks.checks()
DUTIES = compliance.load_duties()


def _report(coverage: list[dict], scope: list[str], findings: list[dict] | None = None) -> dict:
    return {"schema_version": "1.1", "finished_at": dt.datetime(2026, 11, 30, 12, 0).astimezone().isoformat(),
            "scope": {"areas": scope}, "findings": findings or [], "coverage": coverage, "allowlist": []}


def _finding(cid: str, severity: str, n: int) -> dict:
    chk = CHECKS[cid]
    return {"id": f"{n:016x}", "check_id": cid, "area": chk.area, "severity": severity,
            "legal_basis": list(chk.legal_basis)}


coverage_entries = st.lists(st.tuples(st.sampled_from(AREAS), st.sampled_from(STATUSES),
                                      st.sampled_from(["src", *(f"check {c}" for c in CHECKS)])),
                            max_size=25)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=coverage_entries, scope=st.lists(st.sampled_from(AREAS[:4]), unique=True),
       findings=st.lists(st.tuples(st.sampled_from(sorted(CHECKS)), st.sampled_from(["critical", "high", "medium",
                                                                                        "low", "info"])),
                         max_size=6))
def test_no_A_no_met_no_assessed_for_what_was_not_assessed(entries, scope, findings):
    coverage = [{"area": a, "source": src, "status": s, "examined": 0, "skipped": []} for a, s, src in entries]
    report = compliance.finish_report(_report(coverage, scope, [_finding(c, s, i) for i, (c, s) in enumerate(findings)]))
    areas = {a["area"]: a for a in report["areas"]}
    for area, view in areas.items():
        statuses = [c["status"] for c in coverage if c["area"] == area]
        if view["state"] == "assessed":
            assert statuses and all(s in ("ok", "no_data") for s in statuses)
        if statuses and all(s == "failed" for s in statuses):
            assert view["state"] == "failed"
    a = report["score"]["assessment"]
    missing = set(a["checks_not_assessed"])
    for d in report["duties"]:
        if d["verdict"] == "met":
            assert all(areas[x]["state"] in ("assessed", "partial") for x in d["areas"])
            assert not d.get("checks_not_assessed")
    if report["score"]["grade"] == "A":
        assert a["complete"] and not missing and all(v["state"] == "assessed" for v in areas.values())
    if not a["complete"]:
        assert report["score"]["grade"] != "A"
    assert a["duties_assessed"] == sum(d["verdict"] != "not_assessed" for d in report["duties"])


def test_a_complete_clean_assessment_is_graded_A():
    """A is reachable: every area (the organisation too, from an inspection) assessed, nothing left out."""
    coverage = [{"area": a, "source": "src", "status": "ok", "examined": 1, "skipped": []} for a in AREAS]
    report = compliance.finish_report(_report(coverage, list(AREAS[:4])))
    assert report["score"]["assessment"]["complete"] is True
    assert report["score"]["grade"] == "A" and report["score"]["assessment"]["grade_limit"] is None
    assert all(d["verdict"] == "met" for d in report["duties"])
    # one unreadable source is enough to lose the A
    coverage[1]["status"] = "partial"
    report = compliance.finish_report(_report(coverage, list(AREAS[:4])))
    assert report["score"]["grade"] == "B" and report["score"]["assessment"]["complete"] is False
