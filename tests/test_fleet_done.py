"""The fleet's "done when", through the command line only: a folder of reports from many PCs becomes one fleet report
that names the worst sites and the silent PCs; re-ingesting changes nothing; a tampered report is rejected with
its reason; the NDJSON loads through the bulk API with no customer data in clear."""

from __future__ import annotations

import json

import pytest

from bulkserver import BulkServer
from conftest import run_cli
from fleetkit import FleetSpec, altered, ingest_cli, make_fleet, store_dump, templates_once


@pytest.mark.slow
def test_done_when(tmp_path_factory):
    real = templates_once(tmp_path_factory)
    base = tmp_path_factory.mktemp("done")
    share = base / "share"
    spec = FleetSpec(sites=12, pcs_per_site=(2, 4), weeks=4, bad_sites=(5,), silent_every=6, seed=8)
    fleet = make_fleet(real["templates"], share, spec)
    tampered = altered(fleet.files[10], share / "某仓" / "PC-X" / "tampered.json")
    db = base / "fleet.sqlite"

    res = ingest_cli(share, db=db)
    assert res.returncode == 1
    assert f"{tampered}: altered: SHA-256 digest does not match the content" in res.stderr
    assert f"{len(fleet.files)} loaded" in res.stdout

    html = base / "fleet.html"
    res = run_cli("fleet", "report", "--db", str(db), "--as-of", spec.end.isoformat(), "-o", str(html),
                  "-o", str(base / "fleet.xlsx"), "-o", str(base / "fleet.md"))
    assert res.returncode == 0, res.stderr
    page = html.read_text(encoding="utf-8")
    worst = page[page.index('id="worst"'):page.index('id="silent"')]
    first_rows = worst.split("<tr>")[2:5]  # the three sites ranked first
    assert any(fleet.worst_sites[0] in row for row in first_rows), fleet.worst_sites
    silent_section = page[page.index('id="silent"'):page.index('id="duties"')]
    silent = {h for h, p in fleet.pcs.items() if p["silent"]}
    assert silent and all(h in silent_section for h in silent)
    assert str(tampered) in page  # the rejected file is in the report too

    before = store_dump(db)
    res = ingest_cli(share, db=db)
    assert "0 loaded" in res.stdout and store_dump(db) == before

    srv = BulkServer()
    try:
        out = base / "fleet.ecs.ndjson"
        res = run_cli("fleet", "export", "--db", str(db), "--format", "ecs", "-o", str(out), "--push", srv.url,
                      "--as-of", spec.end.isoformat())
        assert res.returncode == 0, res.stderr
        lines = out.read_bytes().split(b"\n")[:-1]
        assert len(srv.docs) == len(lines) // 2 > 0 and srv.bad_requests == []
        text = out.read_text(encoding="utf-8")
        assert not [s for s in real["secrets"] if s in text]
        assert all(json.loads(line) for line in lines)
    finally:
        srv.close()
