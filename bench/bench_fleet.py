"""Benchmark of the fleet view on generated report sets.

  python bench/bench_fleet.py [--reports 5000] [--sites 300] [--weeks 4] [--keep DIR]

Real scans are run once (tests/fleetkit.py: a copied waybill-printing PC tree, a clean tree, the live host with
renamed remote tools, browser download history with exports); from them about 300 sites x a few weeks of
sealed reports are generated, then each step runs as its own `auditor` process:

  (a) `auditor fleet ingest DIR` into a new store       target < 10 s, peak RSS < 500 MB
  (b) the same again (nothing new: idempotent)          (no target; should be far below (a))
  (c) `auditor fleet report -o fleet.html`              target < 5 s,  peak RSS < 500 MB
  (d) `auditor fleet report -o .html -o .xlsx -o .md`   (no target)
  (e) `auditor fleet export --format ecs -o x.ndjson`   (no target)

Peak RSS is the largest single process of the step (ingest parses in one worker per CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

WRAP = ("import resource,subprocess,sys,time\n"
        "t=time.perf_counter();r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE)\n"
        "w=time.perf_counter()-t;m=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(w, m, r.returncode);sys.stderr.write(r.stderr.decode('utf-8','replace')[-2000:])")


def step(*args: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) of the largest process, exit code of `auditor ARGS` in its own process."""
    res = subprocess.run([sys.executable, "-c", WRAP, sys.executable, "-m", "auditor", *args], cwd=REPO,
                         capture_output=True, text=True)
    wall, rss_kb, rc = res.stdout.split()
    if int(rc) not in (0, 1):
        raise SystemExit(f"auditor {' '.join(args)} failed ({rc}): {res.stderr}")
    return float(wall), int(rss_kb) / 1024, int(rc)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=5000)
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--weeks", type=int, default=4)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    opts = ap.parse_args()

    import fleetkit

    work = opts.keep or Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        real = fleetkit.real_templates(work / "real")
        t_real = time.perf_counter() - t0
        per_site = max(1, int(opts.reports / opts.sites / opts.weeks))  # PCs per site: per_site or one more
        spec = fleetkit.FleetSpec(sites=opts.sites, pcs_per_site=(per_site, per_site + 1), weeks=opts.weeks + 1,
                                  bad_sites=(0, 7, 42))  # one week more than needed, cut at --reports
        t0 = time.perf_counter()
        fleet = fleetkit.make_fleet(real["templates"], work / "share", spec, limit=opts.reports)
        t_gen = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in fleet.files)
        db = work / "fleet.sqlite"
        if db.exists():
            db.unlink()
        print(f"generated {len(fleet.files)} reports of {len({p['site'] for p in fleet.pcs.values()})} sites, "
              f"{len(fleet.pcs)} PCs, {size / 1e6:.0f} MB of JSON (real scans {t_real:.1f} s, generation "
              f"{t_gen:.1f} s); {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

        rows = []
        w, m, rc = step("fleet", "ingest", str(work / "share"), "--db", str(db), "-q")
        rows.append(("(a) ingest", w, m, 10.0))
        w2, m2, _ = step("fleet", "ingest", str(work / "share"), "--db", str(db), "-q")
        rows.append(("(b) ingest again (idempotent)", w2, m2, None))
        w3, m3, _ = step("fleet", "report", "--db", str(db), "-o", str(work / "fleet.html"), "-q")
        rows.append(("(c) report .html", w3, m3, 5.0))
        w4, m4, _ = step("fleet", "report", "--db", str(db), "-o", str(work / "fleet.html"), "-o",
                         str(work / "fleet.xlsx"), "-o", str(work / "fleet.md"), "-q")
        rows.append(("(d) report .html + .xlsx + .md", w4, m4, None))
        w5, m5, _ = step("fleet", "export", "--format", "ecs", "--db", str(db), "-o", str(work / "x.ndjson"), "-q")
        rows.append(("(e) export ECS NDJSON", w5, m5, None))

        import sqlite3

        con = sqlite3.connect(db)
        counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("reports", "findings", "docs")}
        con.close()
        ok = True
        print(f"{'step':34} {'wall s':>8} {'peak MB':>8}  target")
        for name, wall, peak, target in rows:
            verdict = ""
            if target is not None:
                good = wall < target and peak < 500
                ok &= good
                verdict = f"< {target:g} s, < 500 MB: {'OK' if good else 'MISSED'}"
            print(f"{name:34} {wall:8.2f} {peak:8.0f}  {verdict}")
        print(f"store: {counts['reports']} reports, {counts['findings']} findings, {counts['docs']} distinct finding "
              f"documents, {db.stat().st_size / 1e6:.0f} MB; fleet.html {(work / 'fleet.html').stat().st_size / 1e6:.1f} MB, "
              f"x.ndjson {(work / 'x.ndjson').stat().st_size / 1e6:.0f} MB")
        print(json.dumps({"reports": len(fleet.files), "ingest_s": round(w, 2), "ingest_mb": round(m),
                          "reingest_s": round(w2, 2), "report_html_s": round(w3, 2), "report_mb": round(m3),
                          "report_all_s": round(w4, 2), "export_ecs_s": round(w5, 2), "targets_met": ok}))
        return 0 if ok else 1
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
