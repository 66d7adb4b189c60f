"""Files read on several cores (``--jobs``): the real CLI gives the same findings, coverage and incremental
state with one worker or several; a worker that dies costs no file."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from auditor import safeio
from auditor.files.collect import TableReader
from auditor.files.parallel import ParallelReads
from auditor.files.walk import Candidate
from conftest import run_cli
from exportgen import decoy_rows, export_rows, write_csv, write_xlsx, write_zip


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("jobs") / "Documents"
    rng = random.Random(16)
    for i in range(14):
        layout = ("taobao", "erp", "idcard", "pdd", "jd")[i % 5]
        rows, _ = export_rows(rng, layout, 400 + 300 * i, masked=(0.0, 0.5, 1.0)[i % 3], excel_wrap=i % 4 == 1)
        enc, delim = (("utf-8", ","), ("gbk", ","), ("utf-16", "\t"), ("gb18030", ","))[i % 4]
        write_csv(root / f"d{i % 3}" / f"订单{i}.csv", rows, encoding=enc, delimiter=delim)
    write_csv(root / "catalog.csv", decoy_rows(rng, "catalog", 500))
    rows, _ = export_rows(rng, "douyin", 700)
    write_xlsx(root / "发货.xlsx", {"明细": rows})
    inner, _ = export_rows(rng, "jd", 300)
    write_zip(root / "备份.zip", {"a.csv": "\n".join(",".join(r) for r in inner).encode("utf-8"), "b.txt": b"x"})
    (root / "坏的.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    (root / "binary.csv").write_bytes(bytes(range(256)) * 100)
    return root


def _scan(tmp_path: Path, tree: Path, state: str, *extra: str) -> dict:
    out = tmp_path / f"{state}-{len(list(tmp_path.iterdir()))}.json"
    run = run_cli("scan", "--only", "files", "--path", str(tree), "-q", "-o", str(out), "--fail-on", "none", *extra,
                  env={"AUDITOR_STATE_DIR": str(tmp_path / state)})
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


def _content(report: dict) -> tuple[list, dict]:
    findings = [(f["check_id"], f["severity"], f["target"], f["evidence"]) for f in report["findings"]]
    cov = next(c for c in report["coverage"] if c["source"] == "files:content")
    return findings, {k: cov.get(k) for k in ("status", "examined", "skipped", "partial", "note")}


def _counts(findings: list) -> list:
    """What an incremental rescan keeps of a finding (no samples; the file's times may differ)."""
    keep = ("records", "id_number_rows", "total_rows", "masked_rows", "kinds", "sheets", "sha256")
    return [(c, s, t, {k: e.get(k) for k in keep}) for c, s, t, e in findings]


@pytest.mark.slow  # process pools
def test_one_worker_or_two_give_the_same_report_and_state(tmp_path, tree):
    one = _scan(tmp_path, tree, "s1", "--jobs", "1")
    two = _scan(tmp_path, tree, "s2", "--jobs", "2")
    assert _content(one) == _content(two)
    findings, cov = _content(two)
    assert len(findings) >= 10 and "19 files read, 0 unchanged" in cov["note"]
    assert {s["item"].rsplit("/", 1)[-1] for s in cov["skipped"]} >= {"坏的.xlsx", "binary.csv"}
    # the state written by the workers' results: an unchanged rescan reads nothing and finds the same
    again = _scan(tmp_path, tree, "s2", "--jobs", "2")
    assert _counts(_content(again)[0]) == _counts(findings)  # the state keeps no samples, and says so
    assert "0 files read, 19 unchanged" in _content(again)[1]["note"]
    # one file changed: read again (in this process; no pool for one file), the rest reused
    changed = tree / "d0" / "订单0.csv"
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    once = _scan(tmp_path, tree, "s2")
    assert "1 files read, 18 unchanged" in _content(once)[1]["note"]
    assert _counts(_content(once)[0]) == _counts(findings)


def test_jobs_must_be_a_positive_number(tmp_path, tree):
    run = run_cli("scan", "--only", "files", "--path", str(tree), "--jobs", "0", "-q", "--lang", "en",
                  env={"AUDITOR_STATE_DIR": str(tmp_path / "s")})
    assert run.returncode == 2 and "not a positive whole number" in run.stderr


class DyingReader(TableReader):
    """A worker's reader that dies (the process ends) on a file named die*.csv."""

    def summaries(self, path, opener=None, tree=safeio.LIVE):
        if path.name.startswith("die") and opener is None:  # only in a worker: the pool opens by path
            os._exit(9)
        return super().summaries(path, opener, tree)


@pytest.mark.slow  # process pools
def test_a_dead_worker_costs_no_file(tmp_path):
    rng = random.Random(3)
    names = ["a.csv", "b.csv", "die.csv", "c.csv", "d.csv", "e.csv"]
    for name in names:
        write_csv(tmp_path / name, export_rows(rng, "taobao", 200)[0])
    reader = TableReader()
    reads = ParallelReads(reader, DyingReader, 2, safeio.LIVE)
    got = []
    try:
        for name in names:
            st = (tmp_path / name).stat()
            reads.add(name, Candidate(tmp_path / name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_uid))
            got += list(reads.ready())
        got += list(reads.ready(wait=True))
    finally:
        reads.close()
    assert [name for name, _ in got] == names  # walk order kept
    assert reads.broken
    assert all(s[0]["records"] == 200 and s[0]["sha256"] for _, s in got)
