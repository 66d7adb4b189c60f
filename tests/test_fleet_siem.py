"""SIEM export: one ECS or OCSF document per finding in the Elasticsearch/OpenSearch `_bulk` NDJSON format, from
the fleet store (`auditor fleet export`) and from one scan (`auditor scan -o FILE.ecs.ndjson`); pushed over real
HTTP on 127.0.0.1 to a bulk endpoint with bounded retries; no customer data in clear in any document."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from bulkserver import Behaviour, BulkServer, basic
from conftest import run_cli
from fleetkit import FleetSpec, ingest_cli, make_fleet, templates_once
from reportkit import scan, three_area_tree


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    real = templates_once(tmp_path_factory)
    base = tmp_path_factory.mktemp("fleet-siem")
    spec = FleetSpec(sites=4, pcs_per_site=(2, 3), weeks=3, silent_every=3)
    fl = make_fleet(real["templates"], base / "share", spec)
    db = base / "fleet.sqlite"
    assert ingest_cli(base / "share", db=db).returncode == 0
    con = sqlite3.connect(db)
    findings = con.execute("SELECT COUNT(*) FROM findings").fetchone()[0]
    checks = {c for (c,) in con.execute("SELECT DISTINCT check_id FROM findings")}
    con.close()
    silent = sum(1 for p in fl.pcs.values() if p["silent"])
    exports = {}
    for fmt in ("ecs", "ocsf"):
        exports[fmt] = base / f"{fmt}.ndjson"
        res = run_cli("fleet", "export", "--db", str(db), "--format", fmt, "-o", str(exports[fmt]), "--as-of",
                      spec.end.isoformat())
        assert res.returncode == 0, res.stderr
    return {"db": db, "base": base, "findings": findings, "silent": silent, "checks": checks, "spec": spec,
            "exports": exports, "secrets": real["secrets"]}


def bulk_pairs(path: Path) -> list[tuple[dict, dict]]:
    """Parse NDJSON exactly as the bulk API does: newline-terminated, action line then source line."""
    data = path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    assert len(lines) % 2 == 0
    pairs = []
    for i in range(0, len(lines), 2):
        action, doc = json.loads(lines[i]), json.loads(lines[i + 1])
        assert list(action) == ["index"] and set(action["index"]) == {"_index", "_id"}
        pairs.append((action, doc))
    return pairs


def test_ecs_documents_one_per_finding(store):
    pairs = bulk_pairs(store["exports"]["ecs"])
    assert len(pairs) == store["findings"] + store["silent"]
    ids = [a["index"]["_id"] for a, _ in pairs]
    assert len(set(ids)) == len(ids)
    assert {a["index"]["_index"] for a, _ in pairs} == {"yuncang-auditor-findings"}
    codes = set()
    for action, doc in pairs:
        assert doc["ecs"]["version"].startswith("8.")
        assert doc["@timestamp"] and doc["message"]
        ev = doc["event"]
        assert ev["kind"] in ("state", "alert") and ev["type"] == ["info"] and ev["category"]
        assert ev["id"] == action["index"]["_id"] and ev["code"] == doc["rule"]["id"]
        assert 0 <= ev["risk_score"] <= 100 and 1 <= ev["severity"] <= 5
        assert doc["host"]["name"] and doc["labels"]["site"]
        y = doc["yuncang"]
        assert y["finding"]["check_id"] == doc["rule"]["id"] and isinstance(y["evidence"], str)
        codes.add(doc["rule"]["id"])
        if doc["rule"]["id"] == "RC-001":
            assert doc["process"]["pid"] > 0 and doc["process"]["executable"]
            assert isinstance(doc["process"]["command_line"], str) and isinstance(doc["process"]["args"], list)
        if doc["rule"]["id"].startswith("PI-"):
            assert doc["file"]["path"] and len(doc["file"]["hash"]["sha256"]) == 64
            assert y["records"] > 0 and "samples" not in y["evidence"]
        if doc["rule"]["id"] == "FL-001":
            assert doc["event"]["kind"] == "alert" and doc["event"]["category"] == ["host"]
    assert codes >= store["checks"] | {"FL-001"}


def test_ocsf_classes(store):
    pairs = bulk_pairs(store["exports"]["ocsf"])
    assert len(pairs) == store["findings"] + store["silent"]
    seen = set()
    for action, doc in pairs:
        cid = doc["unmapped"]["finding"]["check_id"]
        assert doc["category_uid"] == 2 and doc["activity_id"] == 1
        assert doc["type_uid"] == doc["class_uid"] * 100 + 1
        assert doc["metadata"]["version"] == "1.3.0" and doc["metadata"]["product"]["name"] == "yuncang-auditor"
        assert doc["finding_info"]["uid"] == action["index"]["_id"] and doc["finding_info"]["title"]
        assert isinstance(doc["time"], int) and doc["time"] > 1_600_000_000_000
        sev = doc["unmapped"]["finding"]["severity"]
        assert doc["severity_id"] == {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}[sev]
        assert doc["device"]["hostname"]
        if cid.startswith("PI-") or cid in ("TR-001", "TR-004", "TR-005"):
            assert doc["class_uid"] == 2006 and doc["class_name"] == "Data Security Finding"
            assert doc["data_security"]["detection_system_id"] == 1
            assert doc["data_security"]["data_lifecycle_state_id"] == 1
            assert doc["file"]["name"] and "compliance" not in doc
            if cid.startswith("PI-"):
                assert doc["file"]["hashes"][0]["algorithm_id"] == 3
            seen.add(2006)
        else:
            assert doc["class_uid"] == 2003 and doc["class_name"] == "Compliance Finding"
            comp = doc["compliance"]
            assert comp["control"] == cid and comp["requirements"] and comp["standards"]
            assert comp["status_id"] == (3 if sev in ("critical", "high", "medium") else 2)
            seen.add(2003)
    assert seen == {2003, 2006}


def test_no_customer_data_in_clear(store, tmp_path):
    secrets = store["secrets"]
    assert len(secrets) > 100  # phone and ID numbers written into the exports the real scans read
    folder = tmp_path / "ndjson"
    folder.mkdir()
    for fmt, path in store["exports"].items():
        text = path.read_text(encoding="utf-8")
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{fmt}: {leaked[:5]}"
        shutil.copy(path, folder / f"{fmt}-export.txt")
    # the product's own detector over the documents: nothing personal in them
    out = tmp_path / "check.json"
    res = run_cli("scan", "--only", "files", "--path", str(folder), "-o", str(out), "-q", "--fail-on", "none",
                  env={"AUDITOR_STATE_DIR": str(tmp_path / "state")})
    assert res.returncode == 0, res.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["findings"] == [], [f["title"]["en"] for f in report["findings"]]
    examined = [c for c in report["coverage"] if c["area"] == "files"]
    assert sum(c["examined"] for c in examined) >= 2
    # control: the same detector does flag export rows leaked into bulk NDJSON documents
    import random

    from exportgen import export_rows

    rows, _ = export_rows(random.Random(5), "taobao", 30)
    leak = tmp_path / "leak"
    leak.mkdir()
    with open(leak / "leak.txt", "w", encoding="utf-8") as fh:
        for r in rows[1:]:
            fh.write(json.dumps({"index": {"_index": "x", "_id": "1"}}) + "\n")
            fh.write(json.dumps({"yuncang": {"evidence": ",".join(map(str, r))}}, ensure_ascii=False) + "\n")
    res = run_cli("scan", "--only", "files", "--path", str(leak), "-o", str(tmp_path / "leak.json"), "-q",
                  "--fail-on", "none", env={"AUDITOR_STATE_DIR": str(tmp_path / "state2")})
    assert res.returncode == 0, res.stderr
    assert [f["check_id"] for f in json.loads((tmp_path / "leak.json").read_text(encoding="utf-8"))["findings"]] == [
        "PI-001"]


def test_export_is_deterministic_and_latest_only(store, tmp_path):
    again = tmp_path / "again.ndjson"
    res = run_cli("fleet", "export", "--db", str(store["db"]), "--format", "ecs", "-o", str(again), "--as-of",
                  store["spec"].end.isoformat(), "-q")
    assert res.returncode == 0 and res.stdout == ""
    assert again.read_bytes() == store["exports"]["ecs"].read_bytes()
    latest = tmp_path / "latest.ndjson"
    res = run_cli("fleet", "export", "--db", str(store["db"]), "--format", "ocsf", "--latest", "--no-silent",
                  "--index", "soc-pi", "-o", str(latest))
    assert res.returncode == 0, res.stderr
    pairs = bulk_pairs(latest)
    assert 0 < len(pairs) < store["findings"]
    assert {a["index"]["_index"] for a, _ in pairs} == {"soc-pi"}
    assert not any(d["unmapped"]["finding"]["check_id"] == "FL-001" for _, d in pairs)
    res = run_cli("fleet", "export", "--db", str(store["db"]), "--format", "ecs")
    assert res.returncode == 2 and "-o FILE.ndjson, --push URL" in res.stderr


def test_one_pc_scan_writes_ecs_and_ocsf_ndjson(tmp_path):
    root = tmp_path / "root"
    planted = three_area_tree(root)["secrets"]
    out = tmp_path / "out"
    report = scan(out, "--root", str(root), "--site", "义乌一仓", "--role", "waybill-printing",
                  outputs=("r.json", "r.ecs.ndjson", "r.ocsf.ndjson"))
    digest = report["integrity"]["digest"]
    for fmt in ("ecs", "ocsf"):
        path = out / f"r.{fmt}.ndjson"
        assert (path.stat().st_mode & 0o777) == 0o600
        pairs = bulk_pairs(path)
        assert [a["index"]["_id"] for a, _ in pairs] == [f"{digest[:24]}-{f['id']}" for f in report["findings"]]
        text = path.read_text(encoding="utf-8")
        assert not [s for s in planted if s in text]
    ecs = [d for _, d in bulk_pairs(out / "r.ecs.ndjson")]
    assert {d["labels"]["site"] for d in ecs} == {"义乌一仓"}
    assert {d["yuncang"]["report"]["digest"] for d in ecs} == {digest}


# --------------------------------------------------------------------------- pushing over HTTP

@pytest.fixture
def server():
    made = []

    def make(**kw):
        s = BulkServer(Behaviour(**kw))
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _push(store, url, *extra, fmt="ecs"):
    return run_cli("fleet", "export", "--db", str(store["db"]), "--format", fmt, "--as-of",
                   store["spec"].end.isoformat(), "--push", url, "--lang", "en", *extra)


@pytest.mark.slow
def test_push_survives_outages_and_throttling_and_is_idempotent(store, server):
    srv = server(fail_requests=2, throttle_first=7)
    res = _push(store, srv.url, "--batch", "40")
    assert res.returncode == 0, res.stderr
    total = store["findings"] + store["silent"]
    assert f"Pushed {total} documents to {srv.url}/_bulk" in res.stdout
    assert len(srv.docs) == total and srv.bad_requests == []
    sent = {d["event"]["id"] for d in srv.docs.values()}
    assert sent == {a["index"]["_id"] for a, _ in bulk_pairs(store["exports"]["ecs"])}
    first = srv.requests
    res = _push(store, srv.url + "/", "--batch", "40")  # again: same _ids, nothing duplicated
    assert res.returncode == 0, res.stderr
    assert len(srv.docs) == total and srv.requests > first


def test_push_from_the_written_file_with_basic_auth(store, server, tmp_path):
    srv = server(auth=basic("elastic", "pa:ss"))
    url = srv.url.replace("http://", "http://elastic:pa%3Ass@")
    out = tmp_path / "o.ndjson"
    res = _push(store, url, "-o", str(out), fmt="ocsf")
    assert res.returncode == 0, res.stderr
    assert len(srv.docs) == len(bulk_pairs(out)) and srv.indices == {"yuncang-auditor-ocsf"}
    assert "pa:ss" not in res.stdout and "pa%3Ass" not in res.stdout


@pytest.mark.slow
def test_push_gives_up_after_bounded_retries(store, server):
    srv = server(always_fail=True)
    t0 = time.monotonic()
    res = _push(store, srv.url, "--retries", "2")
    assert res.returncode == 1
    assert "Push failed" in res.stderr and "gave up after 2 retries" in res.stderr and "Traceback" not in res.stderr
    assert srv.requests == 3 and time.monotonic() - t0 < 30
    # nobody listening at all
    srv.close()
    res = _push(store, srv.url, "--retries", "1")
    assert res.returncode == 1 and "no answer" in res.stderr


def test_documents_refused_for_good_are_listed(store, server):
    bad = bulk_pairs(store["exports"]["ecs"])[3][0]["index"]["_id"]
    srv = server(reject_ids={bad})
    res = _push(store, srv.url)
    assert res.returncode == 1
    assert f"{bad}: HTTP 400: mapper_parsing_exception" in res.stderr
    assert len(srv.docs) == store["findings"] + store["silent"] - 1
    res = run_cli("fleet", "export", "--db", str(store["db"]), "--format", "ecs", "--push", "ftp://x")
    assert res.returncode == 2 and "not an http(s) URL" in res.stderr
