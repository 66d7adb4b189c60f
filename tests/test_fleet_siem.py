"""SIEM export: one ECS or OCSF document per finding, from the fleet store (`auditor fleet export`) and from one
scan (`auditor scan -o FILE.ecs.ndjson`): ECS as a `_bulk` body of `create` actions on the data stream
logs-yuncang.findings-<namespace>, OCSF 1.3.0 one event per line; pushed over real HTTP(S) on 127.0.0.1 to a
stand-in cluster with bounded retries, the index templates installed on request; every document valid against
the official definitions (tests/siemcheck.py; conftest checks every NDJSON file a test leaves); no customer data
in clear in any document."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import random
import re
import sqlite3
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import siemcheck
from bulkserver import Behaviour, BulkServer, basic
from conftest import run_cli
from exportgen import export_rows
from fleetkit import FleetSpec, ingest_cli, make_fleet, templates_once
from reportkit import scan, three_area_tree

STREAM = "logs-yuncang.findings-default"
HEX_RUN = re.compile(r"[0-9a-f]{16,}")


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
    """Parse a _bulk body exactly as the bulk API does: newline-terminated, action line then source line."""
    data = path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    assert len(lines) % 2 == 0
    pairs = []
    for i in range(0, len(lines), 2):
        action, doc = json.loads(lines[i]), json.loads(lines[i + 1])
        assert list(action) == ["create"] and set(action["create"]) == {"_index", "_id"}
        pairs.append((action, doc))
    return pairs


def events(path: Path) -> list[dict]:
    """OCSF NDJSON: every line one event, nothing else."""
    data = path.read_bytes()
    assert data.endswith(b"\n")
    out = [json.loads(line) for line in data.split(b"\n")[:-1]]
    assert all(isinstance(e, dict) and "class_uid" in e for e in out)
    return out


def test_ecs_documents_one_per_finding(store):
    pairs = bulk_pairs(store["exports"]["ecs"])
    assert len(pairs) == store["findings"] + store["silent"]
    ids = [a["create"]["_id"] for a, _ in pairs]
    assert len(set(ids)) == len(ids)
    assert {a["create"]["_index"] for a, _ in pairs} == {STREAM}
    codes = set()
    for action, doc in pairs:
        assert siemcheck.ecs_problems(doc) == []
        assert doc["ecs"]["version"] == "9.4.0" and doc["@timestamp"] and doc["message"]
        assert doc["data_stream"] == {"type": "logs", "dataset": "yuncang.findings", "namespace": "default"}
        ev = doc["event"]
        assert ev["kind"] in ("state", "alert") and ev["type"] == ["info"] and ev["category"]
        assert ev["dataset"] == "yuncang.findings"
        assert ev["id"] == action["create"]["_id"] and ev["code"] == doc["rule"]["id"]
        assert 0 <= ev["risk_score"] <= 100 and 1 <= ev["severity"] <= 5
        assert doc["host"]["name"] and doc["labels"]["site"] and len(doc["host"]["id"]) == 32
        assert doc["agent"] == {"type": "yuncang-auditor", "name": "yuncang-auditor", "version": doc["rule"]["version"]}
        assert "observer" not in doc
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


def test_ocsf_events_one_per_line_and_valid(store):
    evs = events(store["exports"]["ocsf"])
    assert len(evs) == store["findings"] + store["silent"]
    assert len({e["metadata"]["uid"] for e in evs}) == len(evs)
    seen = set()
    for doc in evs:
        assert siemcheck.ocsf_problems(doc) == []
        cid = doc["unmapped"]["finding"]["check_id"]
        assert doc["category_uid"] == 2 and doc["activity_id"] == 1
        assert doc["metadata"]["version"] == "1.3.0" and doc["metadata"]["product"]["name"] == "yuncang-auditor"
        assert doc["metadata"]["profiles"] == ["host"] and "is_alert" not in doc
        assert doc["finding_info"]["uid"] == doc["metadata"]["uid"] and doc["finding_info"]["title"]
        assert isinstance(doc["time"], int) and doc["time"] > 1_600_000_000_000
        sev = doc["unmapped"]["finding"]["severity"]
        assert doc["severity_id"] == {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}[sev]
        assert doc["device"]["name"] and len(doc["device"]["uid"]) == 32
        if cid.startswith("PI-") or cid in ("TR-001", "TR-004", "TR-005"):
            assert doc["class_uid"] == 2006 and doc["class_name"] == "Data Security Finding"
            ds = doc["data_security"]
            assert (ds["category_id"], ds["category"]) == (1, "Personal")
            assert ds["detection_system_id"] == 1 and ds["data_lifecycle_state_id"] == 1
            assert doc["file"]["name"] and "compliance" not in doc and "remediation" not in doc
            assert doc["unmapped"]["finding"]["remediation"] and doc["unmapped"]["compliance"]["control"] == cid
            if cid.startswith("PI-"):
                assert doc["file"]["hashes"][0]["algorithm_id"] == 3
            else:
                assert doc["src_endpoint"]["hostname"] == doc["src_endpoint"]["domain"]
            seen.add(2006)
        else:
            assert doc["class_uid"] == 2003 and doc["class_name"] == "Compliance Finding"
            comp = doc["compliance"]
            assert comp["control"] == cid and comp["requirements"] and comp["standards"]
            assert comp["status_id"] == (3 if sev in ("critical", "high", "medium") else 2)
            assert doc["remediation"]["desc"]
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
        # Digests, ids and a locator's path_hex (the path's bytes, which hold this run's temporary folder) are hex:
        # an 11-digit run in them reads as a mobile to the detector, differently on every run. They are not
        # personal data (leakguard leaves them alone for the same reason), so the detector sees them blanked.
        (folder / f"{fmt}-export.txt").write_text(HEX_RUN.sub("HEX", text), encoding="utf-8")
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
    rows, _ = export_rows(random.Random(5), "taobao", 30)
    leak = tmp_path / "leak"
    leak.mkdir()
    with open(leak / "leak.txt", "w", encoding="utf-8") as fh:
        for r in rows[1:]:
            fh.write(json.dumps({"create": {"_index": "x", "_id": "1"}}) + "\n")
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
    res = run_cli("fleet", "export", "--db", str(store["db"]), "--format", "ecs", "--latest", "--no-silent",
                  "--namespace", "soc", "-o", str(latest))
    assert res.returncode == 0, res.stderr
    pairs = bulk_pairs(latest)
    assert 0 < len(pairs) < store["findings"]
    assert {a["create"]["_index"] for a, _ in pairs} == {"logs-yuncang.findings-soc"}
    assert {d["data_stream"]["namespace"] for _, d in pairs} == {"soc"}
    assert not any(d["rule"]["id"] == "FL-001" for _, d in pairs)
    res = run_cli("fleet", "export", "--db", str(store["db"]), "--format", "ocsf", "--latest", "--no-silent",
                  "-o", str(tmp_path / "latest.ocsf.ndjson"))
    assert res.returncode == 0 and len(events(tmp_path / "latest.ocsf.ndjson")) == len(pairs)
    res = run_cli("fleet", "export", "--db", str(store["db"]), "--format", "ecs", "--lang", "en")
    assert res.returncode == 2 and "-o FILE.ndjson, --push URL" in res.stderr
    for bad in ("Soc", "a-b", "x y", "_x"):
        res = run_cli("fleet", "export", "--db", str(store["db"]), "--format", "ecs", "--namespace", bad, "-o",
                      str(tmp_path / "x.ndjson"))
        assert res.returncode == 2 and "--namespace" in res.stderr and not (tmp_path / "x.ndjson").exists()


def test_one_pc_scan_writes_ecs_and_ocsf_ndjson(tmp_path):
    root = tmp_path / "root"
    planted = three_area_tree(root)["secrets"]
    (root / "etc" / "machine-id").write_text("0F3C7A9D2B6E4F1A8C5D3E7B9A1C2D4E\n")
    out = tmp_path / "out"
    report = scan(out, "--root", str(root), "--site", "义乌一仓", "--role", "waybill-printing",
                  outputs=("r.json", "r.ecs.ndjson", "r.ocsf.ndjson"))
    digest = report["integrity"]["digest"]
    assert report["host"]["machine_id"] == "0f3c7a9d2b6e4f1a8c5d3e7b9a1c2d4e"
    ids = [f"{digest[:24]}-{f['id']}" for f in report["findings"]]
    for fmt in ("ecs", "ocsf"):
        path = out / f"r.{fmt}.ndjson"
        assert (path.stat().st_mode & 0o777) == 0o600
        assert siemcheck.check_file(path) == []
        text = path.read_text(encoding="utf-8")
        assert not [s for s in planted if s in text]
    pairs = bulk_pairs(out / "r.ecs.ndjson")
    assert [a["create"]["_id"] for a, _ in pairs] == ids and {a["create"]["_index"] for a, _ in pairs} == {STREAM}
    assert [e["metadata"]["uid"] for e in events(out / "r.ocsf.ndjson")] == ids
    ecs = [d for _, d in pairs]
    assert {d["labels"]["site"] for d in ecs} == {"义乌一仓"}
    assert {d["yuncang"]["report"]["digest"] for d in ecs} == {digest}
    assert {d["host"]["id"] for d in ecs} == {"0f3c7a9d2b6e4f1a8c5d3e7b9a1c2d4e"}
    assert {e["device"]["uid"] for e in events(out / "r.ocsf.ndjson")} == {"0f3c7a9d2b6e4f1a8c5d3e7b9a1c2d4e"}


# --------------------------------------------------------------------------- the index template

def test_template_is_printed_and_maps_every_field(store, tmp_path):
    res = run_cli("fleet", "export", "--template")
    assert res.returncode == 0, res.stderr
    printed = json.loads(res.stdout)
    index = printed["index_templates"]["logs-yuncang.findings"]
    assert index["index_patterns"] == ["logs-yuncang.findings-*"] and index["data_stream"] == {}
    assert set(index["composed_of"]) == set(printed["component_templates"])
    types = siemcheck.template_field_types()
    assert types["host.name"] == "keyword" and types["@timestamp"] == "date" and types["yuncang.records"] == "long"
    assert types["data_stream.namespace"] == "constant_keyword"
    flat = siemcheck.ecs_fields()
    for name, mapped in types.items():  # every ECS field mapped as ECS defines it
        if not name.startswith("yuncang.") and not name.startswith("labels.") and name in flat:
            assert mapped == flat[name]["type"], name
    # every field of every document the fleet and a scan produce is mapped, with a type its values fit
    docs = [d for _, d in bulk_pairs(store["exports"]["ecs"])]
    emitted = {n for d in docs for n, _ in siemcheck.flatten(d)}
    assert len(emitted) > 60
    for doc in docs:
        assert siemcheck.template_problems(doc, types) == []
    # OpenSearch: the same fields, no Elasticsearch-only types
    res = run_cli("fleet", "export", "--template", "opensearch")
    assert res.returncode == 0
    os_types = siemcheck.template_field_types("opensearch")
    assert set(os_types) == set(types)
    assert not {"match_only_text", "wildcard", "constant_keyword"} & set(os_types.values())
    assert json.loads(res.stdout)["index_templates"]["logs-yuncang.findings"]["data_stream"] == {}
    res = run_cli("fleet", "export", "--template", "--format", "ecs", "-o", str(tmp_path / "x.ndjson"), "--lang", "en")
    assert res.returncode == 2 and "give it alone" in res.stderr


# --------------------------------------------------------------------------- pushing over HTTP

@pytest.fixture
def server():
    made = []

    def make(tls=None, **kw):
        s = BulkServer(Behaviour(**kw), tls=tls)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _push(store, url, *extra, fmt="ecs", env=None):
    return run_cli("fleet", "export", "--db", str(store["db"]), "--format", fmt, "--as-of",
                   store["spec"].end.isoformat(), "--push", url, "--lang", "en", *extra, env=env)


@pytest.mark.slow
def test_push_creates_in_the_data_stream_survives_outages_and_is_idempotent(store, server):
    srv = server(fail_requests=2, throttle_first=7)
    res = _push(store, srv.url, "--batch", "40")
    assert res.returncode == 0, res.stderr
    total = store["findings"] + store["silent"]
    assert f"Pushed {total} documents to {srv.url}/_bulk" in res.stdout
    assert len(srv.docs) == total and srv.bad_requests == [] and srv.invalid == []
    assert srv.ops == {"create"} and srv.indices == {STREAM}
    sent = {d["event"]["id"] for d in srv.docs.values()}
    assert sent == {a["create"]["_id"] for a, _ in bulk_pairs(store["exports"]["ecs"])}
    first = srv.requests
    res = _push(store, srv.url + "/", "--batch", "40")  # again: same _ids, 409 each, nothing duplicated
    assert res.returncode == 0, res.stderr
    assert "Pushed 0 documents" in res.stdout and f"{total} were there already" in res.stdout
    assert len(srv.docs) == total and srv.requests > first


def test_push_installs_the_template_first_when_asked(store, server):
    srv = server()
    res = _push(store, srv.url, "--install-template", "--namespace", "prod")
    assert res.returncode == 0, res.stderr
    assert srv.template_puts == ["logs-yuncang.findings@ecs", "logs-yuncang.findings@yuncang",
                                 "logs-yuncang.findings"]
    assert "Index templates installed" in res.stdout
    assert srv.indices == {"logs-yuncang.findings-prod"} and srv.is_data_stream("logs-yuncang.findings-prod")
    assert len(srv.docs) == store["findings"] + store["silent"]
    assert srv.invalid == []  # every field of every document mapped by the installed template
    refusing = server(refuse_templates=True)
    res = _push(store, refusing.url, "--install-template")
    assert res.returncode == 1 and "the template was not installed (HTTP 403" in res.stderr
    assert refusing.docs == {}
    res = _push(store, srv.url, "--install-template", fmt="ocsf")
    assert res.returncode == 2 and "--install-template goes with --push and --format ecs" in res.stderr


def test_push_from_the_written_file_with_basic_auth(store, server, tmp_path):
    srv = server(auth=basic("elastic", "pa:ss"))
    url = srv.url.replace("http://", "http://elastic:pa%3Ass@")
    out = tmp_path / "o.ndjson"
    res = _push(store, url, "-o", str(out), fmt="ocsf")
    assert res.returncode == 0, res.stderr
    assert len(srv.docs) == len(events(out)) and srv.indices == {"yuncang-auditor-ocsf"}
    assert srv.ops == {"create"} and srv.invalid == []
    assert "pa:ss" not in res.stdout and "pa%3Ass" not in res.stdout
    out2 = tmp_path / "o2.ndjson"
    srv2 = server()
    res = _push(store, srv2.url, "-o", str(out2), "--index", "soc-findings")
    assert res.returncode == 0, res.stderr
    assert srv2.indices == {"soc-findings"} and len(srv2.docs) == len(bulk_pairs(out2))


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
    bad = bulk_pairs(store["exports"]["ecs"])[3][0]["create"]["_id"]
    srv = server(reject_ids={bad})
    res = _push(store, srv.url)
    assert res.returncode == 1
    assert f"{bad}: HTTP 400: mapper_parsing_exception" in res.stderr
    assert len(srv.docs) == store["findings"] + store["silent"] - 1
    res = run_cli("fleet", "export", "--db", str(store["db"]), "--format", "ecs", "--push", "ftp://x")
    assert res.returncode == 2 and "not an http(s) URL" in res.stderr


# --------------------------------------------------------------------------- a private CA

def _certificate(subject: str, key, issuer_name, issuer_key, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(
            "127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory):
    """A private CA (as a site's own PKI) and a server certificate for 127.0.0.1 that it signed."""
    base = tmp_path_factory.mktemp("ca")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "义乌仓 内部 CA")])
    ca = _certificate("义乌仓 内部 CA", ca_key, ca_name, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate("siem.local", server_key, ca_name, ca_key, ca=False)
    (base / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (base / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (base / "server.key").write_bytes(server_key.private_bytes(serialization.Encoding.PEM,
                                                                serialization.PrivateFormat.PKCS8,
                                                                serialization.NoEncryption()))
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")])
    (base / "other-ca.pem").write_bytes(_certificate("another CA", other_key, other_name, other_key, ca=True)
                                        .public_bytes(serialization.Encoding.PEM))
    return base


def test_push_over_https_trusts_a_private_ca_with_ca_cert(store, server, private_ca, tmp_path):
    srv = server(tls=(private_ca / "server.pem", private_ca / "server.key"))
    key = tmp_path / "api.key"
    key.write_text("SECRET-API-KEY-42\n")
    res = _push(store, srv.url, "--api-key-file", str(key), "--retries", "0")
    assert res.returncode == 1 and "certificate verify failed" in res.stderr and srv.docs == {}
    res = _push(store, srv.url, "--api-key-file", str(key), "--ca-cert", str(private_ca / "other-ca.pem"),
                "--retries", "0")
    assert res.returncode == 1 and "certificate verify failed" in res.stderr and srv.docs == {}
    res = _push(store, srv.url, "--api-key-file", str(key), "--ca-cert", str(private_ca / "ca.pem"),
                "--install-template")
    assert res.returncode == 0, res.stderr
    assert len(srv.docs) == store["findings"] + store["silent"] and srv.invalid == []
    assert "SECRET-API-KEY-42" not in res.stdout + res.stderr
    (tmp_path / "not-a-cert.pem").write_text("hello\n")
    res = _push(store, srv.url, "--ca-cert", str(tmp_path / "not-a-cert.pem"))
    assert res.returncode == 2 and "--ca-cert" in res.stderr and "no PEM certificate" in res.stderr
