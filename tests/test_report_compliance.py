"""The judgement layer: duty verdicts, the score, coverage of areas, and the change since a baseline, from
real scans (renamed processes, --root trees)."""

from __future__ import annotations

import csv
import fnmatch
import io

import pytest

from auditor.core import checks as core_checks
from auditor import compliance, packs
from conftest import findings_of, load_report, run_cli
from reportkit import forge, scan, three_area_tree


def _duties(report: dict) -> dict[str, dict]:
    return {d["id"]: d for d in report["duties"]}


def test_every_check_counts_for_a_duty_and_every_pattern_names_a_check():
    duties = compliance.load_duties()
    checks = core_checks.checks()
    for chk in checks.values():
        f = {"check_id": chk.id, "area": chk.area, "legal_basis": list(chk.legal_basis)}
        assert any(compliance.counts_for(d, f) for d in duties), f"{chk.id} counts for no duty"
    for d in duties:
        for pattern in d["checks"] or []:
            assert any(fnmatch.fnmatchcase(c, pattern) for c in checks), f"{d['id']}: {pattern} matches no check"
        assert set(d["areas"]) <= set(compliance.DUTY_AREAS)


def test_a_malformed_duty_pack_is_a_clear_error(tmp_path):
    from conftest import copy_checks

    checks = copy_checks(tmp_path)
    duties = checks / "duties.toml"
    duties.write_text(duties.read_text(encoding="utf-8").replace('"ATFL-29", "PIPL-9"', '"ATFL-99", "PIPL-9"', 1),
                      encoding="utf-8")
    res = run_cli("scan", "--only", "remote", "-q", env={"AUDITOR_CHECKS_DIR": str(checks)})
    assert res.returncode == 2 and "ATFL-99" in res.stderr and "Traceback" not in res.stderr


def test_three_area_verdicts(tmp_path):
    root = tmp_path / "root"
    three_area_tree(root)
    report = scan(tmp_path / "out", "--root", str(root))
    duties = _duties(report)
    remote = duties["D-REMOTE"]
    assert remote["verdict"] == "not_met"
    assert set(remote["findings"]) == {f["id"] for f in report["findings"] if f["area"] == "remote"}
    assert "RC-005" in {f["check_id"] for f in report["findings"] if f["id"] in remote["failing"]}
    assert duties["D-DEIDENTIFY"]["verdict"] == "not_met"
    assert duties["D-SENSITIVE"]["verdict"] == "not_met"  # PI-002: ID numbers in clear
    assert duties["D-SENSITIVE"]["worst_severity"] == "critical"
    if findings_of(report, "AC-010"):
        assert duties["D-ACCESS"]["verdict"] == "not_met"
    for org in ("D-ORG", "D-ENTRUST"):
        assert duties[org]["verdict"] == "not_assessed" and duties[org]["findings"] == []
        assert "organisation" in duties[org]["unassessed_areas"]
    for d in report["duties"]:
        assert d["reason"]["zh"] and d["reason"]["en"]
        assert set(d["failing"]) <= set(d["findings"])
    areas = {a["area"]: a for a in report["areas"]}
    assert areas["remote"]["state"] == "partial"  # --root: processes and sockets are skipped
    assert "processes" in areas["remote"]["reason"]["en"]
    assert areas["files"]["state"] == "assessed" and areas["organisation"]["state"] == "not_assessed"


def test_only_remote_leaves_other_duties_not_assessed_and_says_why(spawn, tmp_path):
    spawn.start("ToDesk.exe")
    spawn.wait_visible()
    report = scan(tmp_path / "out", "--only", "remote")
    duties = _duties(report)
    assert duties["D-REMOTE"]["verdict"] == "not_met"
    assert duties["D-DEIDENTIFY"]["verdict"] == "not_assessed"
    assert "--only" in {a["area"]: a for a in report["areas"]}["files"]["reason"]["en"]
    assert report["score"]["assessed_areas"] == ["remote"]


def test_clean_remote_scan_is_met(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    report = scan(tmp_path / "out", "--only", "remote", "--root", str(root))
    d = _duties(report)["D-REMOTE"]
    assert d["verdict"] == "met" and d["findings"] == []
    score = dict(report["score"])
    assessment = score.pop("assessment")
    # clean where it looked, but only the remote area was looked at: never a bare A (README: Score)
    assert score == {"value": 100, "grade": "B", "formula": "v1", "deductions": [], "grade_cap": None,
                     "assessed_areas": ["remote"]}
    assert assessment["complete"] is False and assessment["grade_limit"] == "B"
    assert assessment["duties_assessed"] == 1 and assessment["duties_total"] == len(report["duties"])
    assert {c for c in assessment["checks_not_assessed"]} >= {"PI-001", "AC-001", "TR-001"}
    assert not any(c.startswith("RC-") for c in assessment["checks_not_assessed"])


def _f(check: str, sev: str, n: int = 0) -> dict:
    return {"id": f"{n:016x}", "check_id": check, "severity": sev, "area": "remote", "legal_basis": ["PIPL-51"]}


@pytest.mark.parametrize("findings,value,grade,cap", [
    ([], 100, "A", None),
    ([_f("RC-008", "info")], 100, "A", None),
    ([_f("RC-007", "low")], 99, "A", None),
    ([_f("RC-013", "medium"), _f("RC-010", "medium")], 90, "A", None),  # 100 x 0.99^10 = 90.4
    ([_f("RC-001", "high")], 86, "C", "C"),  # 86 would be B: a high finding caps it at C
    ([_f("RC-001", "high", i) for i in range(5)], 74, "C", None),  # per-check cap: 2 x 15 points
    ([_f("RC-001", "critical")], 74, "D", "D"),
    ([_f("RC-001", "critical"), _f("RC-005", "critical"), _f("RC-003", "high"), _f("PI-001", "high")], 40, "F", None),
    ([_f(f"RC-{i:03d}", "critical") for i in range(1, 9)], 9, "F", None),  # never 0: fixing one still shows
])
def test_score_formula(findings, value, grade, cap):
    s = compliance.score(findings)
    assert (s["value"], s["grade"]) == (value, grade)
    assert (s["grade_cap"] or {}).get("grade") == cap
    assert s["value"] == round(100 * 0.99 ** sum(d["points"] for d in s["deductions"]))


def test_baseline_new_resolved_still_open_from_two_real_scans(tmp_path):
    root = tmp_path / "root"
    three_area_tree(root, todesk=True, ssh=False)
    first = scan(tmp_path / "one", "--only", "remote", "--root", str(root))
    three_area_tree(root, todesk=False, ssh=True)  # ToDesk autostart removed, SSH server enabled
    out = tmp_path / "two"
    second = scan(out, "--only", "remote", "--root", str(root), "--baseline", str(tmp_path / "one" / "r.json"),
                  outputs=("r.json", "r.html", "r.csv", "r.md"))
    ch = second["changes"]
    by_id = {f["id"]: f for f in second["findings"]}
    old = {f["id"]: f for f in first["findings"]}
    assert {by_id[i]["check_id"] for i in ch["new"]} == {"RC-013"}
    assert {old[i]["check_id"] for i in ch["still_open"]} >= {"RC-005"}
    assert [r["check_id"] for r in ch["resolved"]] == ["RC-003"]
    assert ch["resolved"][0]["target"] == "ToDesk" and ch["not_rechecked"] == []
    assert ch["baseline"]["intact"] is True and ch["baseline"]["same_host"] is True
    assert ch["baseline"]["digest"] == first["integrity"]["digest"]
    assert ch["baseline"]["score"] == first["score"]["value"]
    html = (out / "r.html").read_text(encoding="utf-8")
    assert 'id="changes"' in html and "已整改" in html and "新增" in html
    rows = list(csv.DictReader(io.StringIO((out / "r.csv").read_text(encoding="utf-8-sig"), newline="")))
    assert {r["检查项"]: r["变化"] for r in rows}["RC-013"] == "新增"
    assert {r["检查项"]: r["变化"] for r in rows}["RC-005"] == "仍未整改"
    # the same comparison through `auditor report --baseline`, in English
    res = run_cli("report", str(tmp_path / "two" / "r.json"), "--baseline", str(tmp_path / "one" / "r.json"),
                  "-o", str(tmp_path / "again.json"), "-o", str(tmp_path / "again.md"), "--lang", "en")
    assert res.returncode == 0, res.stderr
    again = load_report(tmp_path / "again.json")
    assert again["changes"]["new"] == ch["new"] and again["changes"]["resolved"] == ch["resolved"]
    md = (tmp_path / "again.md").read_text(encoding="utf-8")
    assert "## Change since the previous report" in md and "| resolved |" in md


def test_a_baseline_from_another_host_is_said_in_every_output(tmp_path):
    """The reader is told, in their language, that the changes compare two PCs: HTML, Markdown, the terminal."""
    root = tmp_path / "root"
    three_area_tree(root)
    first = scan(tmp_path / "one", "--only", "remote", "--root", str(root))
    other = forge(tmp_path / "one" / "r.json", tmp_path / "other-pc.json",
                  lambda r: r["host"].update(hostname="仓库前台-PC2"))
    out = tmp_path / "two"
    out.mkdir()
    res = run_cli("scan", "--only", "remote", "--root", str(root), "--fail-on", "none", "--baseline", str(other),
                  "-o", str(out / "r.json"), "-o", str(out / "r.html"), "-o", str(out / "r.md"))
    assert res.returncode == 0, res.stderr
    here = first["host"]["hostname"]
    zh = f"对比基准是另一台主机（仓库前台-PC2）的报告，不是本机（{here}）的"
    assert zh in res.stdout.replace("\n", "")
    assert load_report(out / "r.json")["changes"]["baseline"]["same_host"] is False
    assert zh in (out / "r.html").read_text(encoding="utf-8")
    assert zh in (out / "r.md").read_text(encoding="utf-8")
    res = run_cli("report", str(out / "r.json"), "-o", str(tmp_path / "en.html"), "-o", str(tmp_path / "en.md"),
                  "--lang", "en")
    assert res.returncode == 0, res.stderr
    en = f"The baseline is the report of another host (仓库前台-PC2), not of this one ({here})"
    assert en in (tmp_path / "en.html").read_text(encoding="utf-8")
    assert en in (tmp_path / "en.md").read_text(encoding="utf-8")
    # the same host's baseline: no such note
    same = scan(tmp_path / "three", "--only", "remote", "--root", str(root), "--baseline",
                str(tmp_path / "one" / "r.json"), outputs=("r.json", "r.html"))
    assert same["changes"]["baseline"]["same_host"] is True
    assert "另一台主机" not in (tmp_path / "three" / "r.html").read_text(encoding="utf-8")


def test_findings_of_sources_that_did_not_run_again_are_not_resolved(spawn, tmp_path):
    """Live baseline with a running tool; an offline tree scan cannot see processes: not rechecked."""
    spawn.start("ToDesk.exe")
    spawn.wait_visible()
    live = scan(tmp_path / "live", "--only", "remote")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    offline = scan(tmp_path / "off", "--only", "remote", "--root", str(root), "--baseline",
                   str(tmp_path / "live" / "r.json"))
    ch = offline["changes"]
    process_ids = {f["id"] for f in live["findings"] if f["target"]["kind"] == "process"}
    assert process_ids and process_ids <= {r["id"] for r in ch["not_rechecked"]}
    assert not process_ids & {r["id"] for r in ch["resolved"]}


def test_an_altered_baseline_is_used_but_flagged(tmp_path):
    root = tmp_path / "root"
    three_area_tree(root)
    scan(tmp_path / "one", "--only", "remote", "--root", str(root))
    base = tmp_path / "one" / "r.json"
    base.write_text(base.read_text(encoding="utf-8").replace('"role": "unspecified"', '"role": "office"'),
                    encoding="utf-8")
    second = scan(tmp_path / "two", "--only", "remote", "--root", str(root), "--baseline", str(base))
    assert second["changes"]["baseline"]["intact"] is False
    assert second["changes"]["new"] == []


def test_a_baseline_that_is_not_a_report_is_a_usage_error(tmp_path):
    bad = tmp_path / "old.dat"
    bad.write_text("[1, 2]")
    res = run_cli("scan", "--only", "remote", "-q", "--baseline", str(bad))
    assert res.returncode == 2 and "--baseline" in res.stderr and "Traceback" not in res.stderr
