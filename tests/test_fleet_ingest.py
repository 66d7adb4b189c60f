"""`auditor fleet ingest`: a folder of reports from many PCs into a real SQLite store, idempotently; altered,
truncated, future-schema and malformed files rejected with their reasons without stopping the run; signatures
checked with a key; the default store in the user's data directory, owner-only."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from fleetkit import (FleetSpec, altered, future_schema, ingest_cli, make_fleet, make_report, store_dump,
                      templates_once, truncated, write_report)

KEY = b"fleet-signing-key-0123456789"


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    return templates_once(tmp_path_factory)


@pytest.fixture(scope="module")
def share(real, tmp_path_factory):
    """A network share: reports of 5 sites, 2-3 PCs each, 3 weeks, and broken files among them."""
    base = tmp_path_factory.mktemp("share")
    fleet = make_fleet(real["templates"], base / "reports", FleetSpec(sites=5, pcs_per_site=(2, 3), weeks=3))
    bad = base / "reports" / "0-broken"  # sorts first: the good files after them must still load
    src = fleet.files[0]
    reasons = {
        altered(src, bad / "altered.json"): "altered: SHA-256 digest does not match the content",
        truncated(src, bad / "truncated.json"): "malformed: not valid JSON (truncated?)",
        future_schema(src, bad / "future.json"): "unknown schema version '2.0'",
    }
    (bad / "empty.json").write_bytes(b"")
    reasons[bad / "empty.json"] = "malformed: empty file"
    (bad / "page.json").write_text("<html><body>not a report</body></html>", encoding="utf-8")
    reasons[bad / "page.json"] = "malformed: not valid JSON"
    (bad / "other.json").write_text('{"name": "something else"}', encoding="utf-8")
    reasons[bad / "other.json"] = "malformed: not an auditor JSON report"
    (bad / "gbk.json").write_bytes("{\"站点\": 1}".encode("gbk"))
    reasons[bad / "gbk.json"] = "malformed: not UTF-8"
    (base / "reports" / "beside.html").write_text("<html></html>", encoding="utf-8")  # not *.json: left alone
    (base / "reports" / "last-run.json").write_text('{"code": 0}', encoding="utf-8")  # the scheduler's own record
    return {"dir": base / "reports", "fleet": fleet, "reasons": reasons}


def _rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_folder_of_many_pcs_loads_and_bad_files_are_listed_with_reasons(share, tmp_path):
    db = tmp_path / "fleet.sqlite"
    res = ingest_cli(share["dir"], db=db)
    assert res.returncode == 1, res.stderr  # some files were rejected
    assert "Traceback" not in res.stderr
    good = len(share["fleet"].files)
    total = good + len(share["reasons"])
    assert f"{total} files: {good} loaded, 0 already in the store, {len(share['reasons'])} rejected" in res.stdout
    for path, reason in share["reasons"].items():
        line = next((ln for ln in res.stderr.splitlines() if ln.strip().startswith(str(path) + ":")), None)
        assert line is not None, f"{path} not listed:\n{res.stderr}"
        assert reason in line, line
    # a real SQLite file, owner-only, holding every PC of every site
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert _rows(db, "SELECT COUNT(*) FROM reports") == [(good,)]
    hosts = {h for (h,) in _rows(db, "SELECT DISTINCT hostname FROM reports")}
    assert hosts == set(share["fleet"].pcs)
    sites = {s for (s,) in _rows(db, "SELECT DISTINCT site FROM reports")}
    assert sites == {p["site"] for p in share["fleet"].pcs.values()}
    rejected = dict(_rows(db, "SELECT source, reason FROM rejected"))
    assert set(rejected) == {str(p) for p in share["reasons"]}
    # findings and duty verdicts come from the reports themselves
    some = json.loads(share["fleet"].files[-1].read_text(encoding="utf-8"))
    digest = some["integrity"]["digest"]
    stored = dict(_rows(db, f"SELECT fid, check_id FROM findings WHERE digest = '{digest}'"))
    assert stored == {f["id"]: f["check_id"] for f in some["findings"]}
    verdicts = dict(_rows(db, f"SELECT duty, verdict FROM duties WHERE digest = '{digest}'"))
    assert verdicts == {d["id"]: d["verdict"] for d in some["duties"]}


def test_ingesting_again_changes_nothing(share, tmp_path):
    db = tmp_path / "fleet.sqlite"
    ingest_cli(share["dir"], db=db)
    before = store_dump(db)
    res = ingest_cli(share["dir"], db=db)
    good = len(share["fleet"].files)
    assert f"{good + len(share['reasons'])} files: 0 loaded, {good} already in the store" in res.stdout
    assert store_dump(db) == before
    # the same reports copied elsewhere, and one re-formatted (same content, other whitespace): still nothing new
    copy = tmp_path / "copy"
    shutil.copytree(share["dir"], copy, ignore=shutil.ignore_patterns("0-broken"))
    one = share["fleet"].files[3]
    data = json.loads(one.read_text(encoding="utf-8"))
    (copy / "reformatted.json").write_text(json.dumps(data, ensure_ascii=True, indent=None), encoding="utf-8")
    res = ingest_cli(copy, db=db)
    assert res.returncode == 0, res.stderr
    assert f"{good + 1} files: 0 loaded, {good + 1} already in the store, 0 rejected" in res.stdout
    assert store_dump(db) == before


def test_parallel_and_serial_ingest_build_the_same_store(share, tmp_path):
    dbs = {}
    for workers in ("1", "2"):
        dbs[workers] = tmp_path / f"w{workers}.sqlite"
        res = ingest_cli(share["dir"], db=dbs[workers], env={"AUDITOR_FLEET_WORKERS": workers})
        assert res.returncode == 1 and "Traceback" not in res.stderr
    skip = ("ingested_at", "first_seen")
    assert store_dump(dbs["1"], skip) == store_dump(dbs["2"], skip)


def test_signatures_are_checked_with_a_key(real, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)
    folder = tmp_path / "signed"
    fleet = make_fleet(real["templates"], folder, FleetSpec(sites=2, pcs_per_site=(2, 2), weeks=2), key=KEY)
    base = json.loads(fleet.files[0].read_text(encoding="utf-8"))
    finished = dt.datetime.fromisoformat(base["finished_at"]) + dt.timedelta(hours=1)
    body = {k: v for k, v in base.items() if k != "integrity"}
    write_report(folder / "x" / "other-key.json", make_report(body, "OTHER-KEY", "义乌1号仓", "office", finished,
                                                             b"another-key-0123456789abcdef"))
    write_report(folder / "x" / "unsigned.json", make_report(body, "UNSIGNED", "义乌1号仓", "office", finished, None))
    db = tmp_path / "fleet.sqlite"
    res = ingest_cli(folder, db=db, extra=("--sign-key", str(key_file)))
    assert res.returncode == 1
    assert "other-key.json: signature: HMAC signature does not match" in res.stderr
    assert "unsigned.json: signature: the report is not signed" in res.stderr
    assert _rows(db, "SELECT COUNT(*), SUM(signed), SUM(signature_checked) FROM reports") == [(len(fleet.files),) * 3]
    # without a key the digests are still checked and every intact report loads
    res = ingest_cli(folder, db=tmp_path / "nokey.sqlite")
    assert res.returncode == 0, res.stderr
    assert _rows(tmp_path / "nokey.sqlite", "SELECT COUNT(*), SUM(signature_checked) FROM reports") == [
        (len(fleet.files) + 2, 0)]


def test_an_older_report_without_verdicts_is_judged_on_loading(real, tmp_path):
    from auditor.integrity import seal

    rep = json.loads(json.dumps(real["templates"]["dirty"]))
    for k in ("areas", "duties", "score", "accepted_risks", "clauses", "integrity"):
        rep.pop(k, None)
    rep["schema_version"] = "1.0"
    write_report(tmp_path / "in" / "old.json", seal(rep))
    db = tmp_path / "fleet.sqlite"
    res = ingest_cli(tmp_path / "in", db=db)
    assert res.returncode == 0, res.stderr
    assert _rows(db, "SELECT schema_version, judged_at_ingest, score IS NOT NULL FROM reports") == [("1.0", 1, 1)]
    verdicts = dict(_rows(db, "SELECT duty, verdict FROM duties"))
    assert verdicts["D-REMOTE"] == "not_met"


def test_default_store_is_in_the_user_data_directory_owner_only(real, tmp_path, monkeypatch):
    if sys.platform != "linux":
        pytest.skip("XDG_DATA_HOME is a Linux convention")
    folder = tmp_path / "one"
    write_report(folder / "r.json", real["templates"]["clean"])
    data_home = tmp_path / "xdg"
    env = {"XDG_DATA_HOME": str(data_home),
           "AUDITOR_DATA_DIR": str(data_home / "yuncang-auditor")}  # the machine's folder when run as root
    monkeypatch.delenv("AUDITOR_FLEET_DB")  # the default location is the point here
    res = run_cli("fleet", "ingest", str(folder), env=env)
    assert res.returncode == 0, res.stderr
    db = data_home / "yuncang-auditor" / "fleet.sqlite"
    assert db.is_file() and str(db) in res.stdout
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    out = tmp_path / "f.md"
    res = run_cli("fleet", "report", "-o", str(out), env=env)
    assert res.returncode == 0 and out.is_file(), res.stderr


def test_a_missing_or_foreign_store_is_a_usage_error(tmp_path):
    res = run_cli("fleet", "report", "--db", str(tmp_path / "nope.sqlite"), "-o", str(tmp_path / "f.html"), "--lang",
                  "en")
    assert res.returncode == 2 and "no fleet store there" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "nope.sqlite").exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(os.urandom(4096))
    res = run_cli("fleet", "export", "--format", "ecs", "--db", str(junk), "-o", str(tmp_path / "x.ndjson"), "--lang",
                  "en")
    assert res.returncode == 2 and "not a usable SQLite fleet store" in res.stderr
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.close()
    res = run_cli("fleet", "ingest", str(tmp_path), "--db", str(other), "--lang", "en")
    assert res.returncode == 2 and "not a usable SQLite fleet store" in res.stderr
    res = run_cli("fleet", "report", "--db", str(junk), "-o", str(tmp_path / "f.pdf"), "--lang", "en")
    assert res.returncode == 2 and "unknown fleet report format" in res.stderr
    res = run_cli("fleet")  # no --lang to give without a subcommand: Chinese, the default
    assert res.returncode == 2 and "ingest、report 或 export" in res.stderr


def test_a_path_that_does_not_exist_is_listed_and_the_rest_loads(real, tmp_path):
    write_report(tmp_path / "in" / "r.json", real["templates"]["dirty"])
    res = ingest_cli(tmp_path / "missing", tmp_path / "in", db=tmp_path / "f.sqlite")
    assert res.returncode == 1
    assert "2 files: 1 loaded" in res.stdout
    assert f"{tmp_path / 'missing'}: cannot read (no such file or folder)" in res.stderr


def test_member_by_member_parsing_is_json_loads(share):
    """The ingest parser reuses large members it has met before; it must read exactly what json.loads reads and
    rebuild exactly auditor.integrity.canonical (in either canonicalization: RFC 8785, and the sorted JSON of
    reports sealed before)."""
    from auditor.fleet import ingest as I
    from auditor.integrity import CANONICALIZATIONS, canonical

    I._init({}, {}, None)
    for path in share["fleet"].files:
        text = path.read_text(encoding="utf-8")
        report, hits, fresh = I._parse(text)
        assert report == json.loads(text)
        for name in CANONICALIZATIONS:
            assert I._canonical_parts(report, {**hits, **fresh}, name)["canonical"] == canonical(json.loads(text), name)
    assert I._SPANS.get("clauses")  # the legal appendix was met again and again
    for text in ['{"a":1}', "{}", ' { "a" : [1,2] , "b":"x" } ', '{"a":1,"a":2}', '{"a":1} x', "[1]", '{"a":1,}',
                 '{"a"1}', '{"a":1', '"s"', '{"a":1}\n\n', '{"k":' + json.dumps("x" * 3000) + "}"]:
        try:
            expected = json.loads(text)
        except ValueError as exc:
            expected = ("error", str(exc))
        try:
            got = I._parse(text)[0]
        except ValueError as exc:
            got = ("error", str(exc))
        assert got == expected, text


def test_an_altered_legal_appendix_is_caught_after_many_good_reports(share, tmp_path):
    folder = tmp_path / "in"
    for i, path in enumerate(share["fleet"].files[:6]):
        (folder / f"a{i}").mkdir(parents=True)
        shutil.copy(path, folder / f"a{i}" / path.name)
    rep = json.loads(share["fleet"].files[0].read_text(encoding="utf-8"))
    first = next(iter(rep["clauses"]))
    rep["clauses"][first]["text_zh"] += "（已删改）"
    write_report(folder / "zz" / "appendix-altered.json", rep)
    res = ingest_cli(folder, db=tmp_path / "f.sqlite", env={"AUDITOR_FLEET_WORKERS": "1"})
    assert res.returncode == 1
    assert "appendix-altered.json: altered: SHA-256 digest does not match" in res.stderr
    assert "7 files: 6 loaded" in res.stdout


def test_the_folder_of_a_scheduled_scan_loads_as_it_is(tmp_path):
    out = tmp_path / "share" / "义乌一仓"
    res = run_cli("schedule", "run-now", "--output-dir", str(out), "--only", "remote", "--site", "义乌一仓",
                  env={"AUDITOR_STATE_DIR": str(tmp_path / "state")})
    assert res.returncode in (0, 1), res.stderr
    assert (out / "last-run.json").exists() and list(out.glob("*.html"))
    db = tmp_path / "f.sqlite"
    res = ingest_cli(tmp_path / "share", db=db)
    assert res.returncode == 0, res.stderr
    assert "1 files: 1 loaded" in res.stdout
    assert _rows(db, "SELECT site FROM reports") == [("义乌一仓",)]
