"""`auditor report` and `scan --output`: HTML, Markdown, XLSX, CSV and JSON from one real scan of a PC tree
with findings in several areas; Chinese and English; owner-only files; no personal data in clear."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import load_report, run_cli, validate_report
from auditor.render.markdown import md
from reportkit import FORMULA_NAMES, PIPE_NAME, approvals, three_area_tree, unmasked, write

FORMATS = ("html", "md", "xlsx", "csv", "json")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """One scan of a waybill-printing PC tree, rendered by `auditor report` in both languages."""
    base = tmp_path_factory.mktemp("report")
    root = base / "root"
    planted = three_area_tree(root)
    write(root, "var/lib/dpkg/status", "Package: rustdesk\nStatus: install ok installed\nVersion: 1.2.3\n\n")
    allow = approvals(base)
    out = base / "out"
    report = _scan(out, "--root", str(root), "--role", "waybill-printing", "--site", "义乌三号仓",
                   "--allowlist", str(allow))
    files = {}
    for lang in ("zh", "en"):
        args = ["report", str(out / "r.json"), "--lang", lang]
        for ext in FORMATS:
            files[(lang, ext)] = out / f"{lang}.{ext}"
            args += ["-o", str(files[(lang, ext)])]
        res = run_cli(*args)
        assert res.returncode == 0, res.stderr
        assert res.stdout.count("\n") == len(FORMATS)
    return {"root": root, "out": out, "report": report, "files": files, "secrets": planted["secrets"]}


def _scan(out: Path, *args: str) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    res = run_cli("scan", "-q", "--fail-on", "none", "-o", str(out / "r.json"), *args,
                  env={"AUDITOR_STATE_DIR": str(out / "state")})
    assert res.returncode == 0, res.stderr
    return load_report(out / "r.json")


def test_the_scan_has_findings_in_every_available_area(scanned):
    report = scanned["report"]
    areas = {f["area"] for f in report["findings"]}
    assert {"remote", "files"} <= areas
    assert "accounts" in areas
    checks = {f["check_id"] for f in report["findings"]}
    assert {"RC-003", "RC-005", "RC-007", "PI-001", "PI-002"} <= checks


def test_every_output_is_owner_only_and_no_temp_file_is_left(scanned):
    for path in scanned["files"].values():
        assert path.stat().st_size > 0
        assert (path.stat().st_mode & 0o777) == 0o600, path
    assert not list(scanned["out"].glob(".*.tmp"))


def test_json_output_is_resealed_and_points_to_its_source(scanned):
    source = scanned["report"]
    for lang in ("zh", "en"):
        path = scanned["files"][(lang, "json")]
        rendered = load_report(path)
        assert rendered["rendered_from"] == {"digest": source["integrity"]["digest"], "signed": False}
        assert rendered["integrity"]["digest"] != source["integrity"]["digest"]
        assert run_cli("verify", str(path)).returncode == 0
        assert [f["id"] for f in rendered["findings"]] == [f["id"] for f in source["findings"]]


def test_every_finding_is_traceable_to_clause_text(scanned):
    report = scanned["report"]
    clauses = report["clauses"]
    for f in report["findings"]:
        for cid in f["legal_basis"]:
            assert clauses[cid]["law"] and clauses[cid]["article"] and clauses[cid]["text_zh"]
    html_zh = scanned["files"][("zh", "html")].read_text(encoding="utf-8")
    html_en = scanned["files"][("en", "html")].read_text(encoding="utf-8")
    md_zh = scanned["files"][("zh", "md")].read_text(encoding="utf-8")
    for f in report["findings"]:
        assert f'id="f-{f["id"]}"' in html_zh
        for cid in f["legal_basis"]:
            c = clauses[cid]
            anchor = "c-" + re.sub(r"[^0-9A-Za-z_-]", "-", cid)
            assert f'href="#{anchor}"' in html_zh and f'id="{anchor}"' in html_zh
            assert f"{c['short']}{c['article']}" in html_zh
            assert f"{c['short_en']} {c['article_en']}" in html_en
            assert md(f"{c['short']}{c['article']}") in md_zh and md(c["text_zh"]) in md_zh


def test_chinese_and_english(scanned):
    report = scanned["report"]
    zh = scanned["files"][("zh", "html")].read_text(encoding="utf-8")
    en = scanned["files"][("en", "html")].read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert "法定义务履行情况" in zh and "Legal duties" in en
    assert "Legal duties" not in zh and "法定义务履行情况" not in en
    for f in report["findings"]:
        assert _html_text(f["title"]["zh"]) in zh
        assert _html_text(f["title"]["en"]) in en
        assert _html_text(f["remediation"]["zh"]) in zh
    md_en = scanned["files"][("en", "md")].read_text(encoding="utf-8")
    assert md_en.startswith("# Cloud-warehouse personal-information leak audit report")
    assert "义乌三号仓" in zh and "义乌三号仓" in en  # the site label is data, not translated


def _html_text(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def test_html_is_self_contained(scanned):
    for lang in ("zh", "en"):
        text = scanned["files"][(lang, "html")].read_text(encoding="utf-8")
        assert "Content-Security-Policy" in text and "default-src 'none'" in text
        assert "<script" not in text.lower()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text, re.I)
        assert not re.search(r"@import|url\(\s*['\"]?(https?:|//)", text, re.I)
        assert "@media print" in text and "max-width:720px" in text
        # formula-looking and markup-looking names are escaped, never markup
        assert "&#34;x.invalid&#34;" in text and '"x.invalid"' not in text


def test_duty_verdicts_and_score_in_every_format(scanned):
    report = scanned["report"]
    duties = {d["id"]: d for d in report["duties"]}
    assert duties["D-REMOTE"]["verdict"] == "not_met"
    assert duties["D-DEIDENTIFY"]["verdict"] == "not_met"
    assert duties["D-SENSITIVE"]["verdict"] == "not_met"
    assert duties["D-ORG"]["verdict"] == "not_assessed"
    score = report["score"]
    assert score["value"] == round(100 * 0.99 ** sum(d["points"] for d in score["deductions"]))
    assert score["grade"] in ("D", "F")  # critical findings cap the grade at D
    md = scanned["files"][("zh", "md")].read_text(encoding="utf-8")
    assert f"**{score['value']} / 100**" in md and f"等级 **{score['grade']}**" in md
    for d in report["duties"]:
        assert d["title"]["zh"] in md
    csv_rows = _csv(scanned["files"][("en", "csv")])
    assert {r["Duties"] for r in csv_rows} >= {"D-REMOTE", "D-DEIDENTIFY, D-SENSITIVE"}


def test_accepted_risks_with_approver_and_expiry(scanned):
    report = scanned["report"]
    risks = {r["tool"]: r for r in report["accepted_risks"]}
    assert risks["rustdesk"]["status"] == "active" and risks["rustdesk"]["findings"]
    assert 40 <= risks["rustdesk"]["days_left"] <= 46
    rc007 = next(f for f in report["findings"] if f["id"] in risks["rustdesk"]["findings"])
    assert rc007["check_id"] == "RC-007"
    assert risks["todesk"]["status"] == "expired" and risks["todesk"]["days_left"] < 0
    html = scanned["files"][("zh", "html")].read_text(encoding="utf-8")
    assert "李主管 (IT)" in html and "IT-2026-118" in html and "王经理" in html


def _csv(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_csv_rfc4180_bom_and_formula_injection(scanned):
    report = scanned["report"]
    for lang in ("zh", "en"):
        path = scanned["files"][(lang, "csv")]
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
        header, body = rows[0], rows[1:]
        assert len(body) == len(report["findings"])  # one row per finding
        assert all(len(r) == len(header) for r in body)
        assert b"\r\n" in raw and re.search(rb'"[^"]*\r?\n[^"]*"', raw)  # multi-line evidence is quoted
        for r in body:
            for cell in r:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    labels = {r["Target"] for r in _csv(scanned["files"][("en", "csv")])}
    for name in FORMULA_NAMES:
        assert "'" + name in labels, (name, labels)
    assert PIPE_NAME in labels
    refs = {r["Target reference"] for r in _csv(scanned["files"][("en", "csv")])}
    assert any(ref.endswith(PIPE_NAME) for ref in refs)


def test_markdown_tables_hold_together(scanned):
    md = scanned["files"][("en", "md")].read_text(encoding="utf-8")
    assert "a\\|b 订单\\*导出\\_.csv" in md
    table_widths = []
    for block in re.split(r"\n\s*\n", md):
        lines = [l for l in block.splitlines() if l.startswith("|")]
        if len(lines) >= 2:
            widths = {len(re.findall(r"(?<!\\)\|", l)) for l in lines}
            assert len(widths) == 1, lines[:3]
            table_widths.append(widths.pop())
    assert len(table_widths) > 5


def test_xlsx_numbers_dates_and_sheets(scanned):
    import python_calamine as pc

    report = scanned["report"]
    for lang in ("zh", "en"):
        wb = pc.CalamineWorkbook.from_path(str(scanned["files"][(lang, "xlsx")]))
        names = wb.sheet_names
        summary = wb.get_sheet_by_name(names[0]).to_python()
        cells = {r[0]: r[1:] for r in summary if r and isinstance(r[0], str) and r[0]}
        score_label, total_label = ("得分", "发现总数") if lang == "zh" else ("Score", "Findings")
        assert isinstance(cells[score_label][0], (int, float)) and cells[score_label][0] == report["score"]["value"]
        assert cells[total_label][0] == len(report["findings"])
        started = cells["开始时间" if lang == "zh" else "Started"][0]
        assert isinstance(started, dt.datetime)
        assert started == dt.datetime.fromisoformat(report["started_at"]).replace(tzinfo=None)
        # one sheet per scanned area, then duties, coverage, accepted risks, legal basis
        from auditor.i18n import t
        from auditor.render.view import area_label

        area_sheets = [area_label(lang, a).replace("/", "-") for a in report["scope"]["areas"]]
        assert names[1:1 + len(area_sheets)] == area_sheets
        assert t(lang, "r.sheet_duties") in names and t(lang, "r.sheet_legal") in names
        remote = wb.get_sheet_by_name(area_sheets[0]).to_python()
        assert len(remote) - 1 == sum(1 for f in report["findings"] if f["area"] == "remote")
        assert all(isinstance(r[0], (int, float)) for r in remote[1:])
        risks = wb.get_sheet_by_name(t(lang, "r.sheet_risks")).to_python()
        expires = [r[4] for r in risks[1:]]
        assert all(isinstance(e, (dt.date, dt.datetime)) for e in expires), expires
        assert isinstance(risks[1][5], (int, float))
        cov = wb.get_sheet_by_name(t(lang, "r.sheet_coverage")).to_python()
        assert all(isinstance(r[3], (int, float)) for r in cov[1:len(report["coverage"]) + 1])
        legal = wb.get_sheet_by_name(t(lang, "r.sheet_legal")).to_python()
        assert all(isinstance(r[3], (dt.date, dt.datetime)) for r in legal[1:])
        # text stays text: the formula-looking file names are strings, not formulas
        labels = {r[5] for name in area_sheets for r in wb.get_sheet_by_name(name).to_python()[1:] if len(r) > 5}
        assert set(FORMULA_NAMES) <= labels


def test_xlsx_has_no_formulas(scanned):
    import zipfile

    with zipfile.ZipFile(scanned["files"][("zh", "xlsx")]) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name)


def test_no_personal_data_in_clear_in_any_output(scanned, tmp_path):
    """The planted mobile and ID numbers never appear; only masked samples do. Then the files area itself
    scans every output (HTML/Markdown/JSON as text copies) and must find zero unmasked records."""
    import python_calamine as pc

    secrets = scanned["secrets"]
    assert len(secrets) > 100
    texts = {}
    for (lang, ext), path in scanned["files"].items():
        if ext == "xlsx":
            wb = pc.CalamineWorkbook.from_path(str(path))
            texts[path.name] = "\n".join(str(c) for n in wb.sheet_names for r in wb.get_sheet_by_name(n).to_python()
                                         for c in r)
        else:
            texts[path.name] = path.read_bytes().decode("utf-8-sig")
    for name, text in texts.items():
        assert not [s for s in secrets if s in text], name
        assert not unmasked(text), (name, unmasked(text)[:3])
    assert "****" in texts["zh.html"]  # masked samples are shown
    # self-scan with the files area
    folder = tmp_path / "outputs"
    folder.mkdir()
    for path in scanned["files"].values():
        shutil.copy(path, folder / path.name)
        if path.suffix in (".html", ".md", ".json"):
            shutil.copy(path, folder / f"{path.name}.txt")
    out = tmp_path / "self.json"
    res = run_cli("scan", "--only", "files", "--path", str(folder), "-q", "-o", str(out), "--full",
                  env={"AUDITOR_STATE_DIR": str(tmp_path / "state")})
    assert res.returncode == 0, res.stderr
    self_scan = load_report(out)
    assert [f for f in self_scan["findings"] if f["area"] == "files"] == []
    examined = next(c for c in self_scan["coverage"] if c["source"] == "files:content")["examined"]
    assert examined >= 2 * len(FORMATS)
    if "files_summary" in self_scan:
        assert self_scan["files_summary"].get("unmasked_records", 0) == 0


def test_scan_writes_every_format_directly(scanned, tmp_path):
    outs = [tmp_path / f"direct.{ext}" for ext in FORMATS]
    args = ["scan", "-q", "--fail-on", "none", "--only", "remote", "--root", str(scanned["root"]), "--lang", "en"]
    for p in outs:
        args += ["--output", str(p)]
    res = run_cli(*args)
    assert res.returncode == 0, res.stderr
    report = load_report(tmp_path / "direct.json")
    assert report["duties"] and report["score"] and report["clauses"]
    digest = report["integrity"]["digest"]
    for p in outs:
        assert (p.stat().st_mode & 0o777) == 0o600
    assert digest in (tmp_path / "direct.html").read_text(encoding="utf-8")
    assert digest in (tmp_path / "direct.md").read_text(encoding="utf-8")
    assert digest in (tmp_path / "direct.csv").read_text(encoding="utf-8-sig")
    assert "Legal duties" in (tmp_path / "direct.html").read_text(encoding="utf-8")


def test_report_of_an_older_json_without_judgement(scanned, tmp_path):
    """A 1.0 report (no duties/score/clauses) renders fully: `auditor report` judges it with today's packs."""
    from auditor.core.model import SCHEMA_VERSION
    from auditor.integrity import seal

    old = json.loads((scanned["out"] / "r.json").read_text(encoding="utf-8"))
    for key in ("areas", "duties", "score", "accepted_risks", "clauses", "changes", "integrity"):
        old.pop(key, None)
    old["schema_version"] = "1.0"
    src = tmp_path / "old.json"
    src.write_text(json.dumps(seal(old), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    res = run_cli("report", str(src), "-o", str(tmp_path / "new.json"), "-o", str(tmp_path / "new.html"))
    assert res.returncode == 0, res.stderr
    new = load_report(tmp_path / "new.json")
    assert new["schema_version"] == SCHEMA_VERSION and len(new["duties"]) >= 8 and new["clauses"]
    assert "D-REMOTE" in (tmp_path / "new.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("content,fragment", [
    (b"{not json", "malformed JSON"),
    (b'{"schema_version": "2.0", "findings": []}', "unsupported report schema version '2.0'"),
    (b'{"hello": 1}', "not an auditor JSON report"),
    (b"\xff\xfe\x00", "not UTF-8"),
])
def test_report_rejects_bad_input_with_one_line(tmp_path, content, fragment):
    src = tmp_path / "bad.dat"  # not *.json: the suite validates every JSON report left in tmp_path
    src.write_bytes(content)
    res = run_cli("report", str(src), "-o", str(tmp_path / "x.html"))
    assert res.returncode == 2
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and fragment in lines[0], res.stderr
    assert not (tmp_path / "x.html").exists()


def test_report_refuses_an_altered_report(scanned, tmp_path):
    src = tmp_path / "r.json"
    text = (scanned["out"] / "r.json").read_text(encoding="utf-8")
    src.write_text(text.replace('"role": "waybill-printing"', '"role": "office"', 1), encoding="utf-8")
    res = run_cli("report", str(src), "-o", str(tmp_path / "x.html"), "--lang", "en")
    assert res.returncode == 2 and "refusing to render" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "x.html").exists()


def test_report_unknown_format_fails_before_reading(scanned, tmp_path):
    res = run_cli("report", str(scanned["out"] / "r.json"), "-o", str(tmp_path / "x.pdf"), "--lang", "en")
    assert res.returncode == 2 and "unknown report format" in res.stderr
    validate_report(scanned["report"])


def test_undecodable_file_name_bytes_do_not_break_any_writer(tmp_path):
    """A remote tool started from a folder whose name is not UTF-8 (possible on Linux): every format is written,
    the bytes are shown as \\xNN, and the JSON still verifies."""
    import os
    import subprocess

    from conftest import SLEEP

    folder = os.path.join(os.fsencode(tmp_path), b"\xff\xfe-dir")
    os.mkdir(folder)
    exe = os.path.join(folder, b"ToDesk.exe")
    shutil.copy2(SLEEP, exe)
    proc = subprocess.Popen([exe, b"600"])
    try:
        import time

        time.sleep(0.3)
        outs = [tmp_path / f"r.{ext}" for ext in FORMATS]
        args = ["scan", "--only", "remote", "-q", "--fail-on", "none"]
        for p in outs:
            args += ["-o", str(p)]
        res = run_cli(*args)
        assert res.returncode == 0, res.stderr
    finally:
        proc.kill()
        proc.wait()
    report = load_report(tmp_path / "r.json")
    hit = next(f for f in report["findings"] if f["evidence"].get("pid") == proc.pid)
    assert "\\xff\\xfe-dir" in hit["evidence"]["exe"]
    assert "\\xff\\xfe-dir" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert run_cli("verify", str(tmp_path / "r.json")).returncode == 0
