"""Benchmarks of the files area on generated data, each against a reference measured in the same run.

  python bench/bench_files.py [--gb 1.0] [--xlsx-rows 200000] [--files 10000] [--jobs N] [--keep DIR] [--cases abc]

(a) a >= 1 GiB tree of CSV/TXT exports in the encodings and layouts of real ones (bench/exporttree.py: UTF-8
    with and without BOM, GBK, GB18030, UTF-16 tab-separated, title lines, Excel's ="..." wrapping, masking):
    our scan (all cores, and one) beside `rg -c` with the mobile-number pattern;
(b) a 200,000-row XLSX: our scan in rows/s, interpreter start included, beside python-calamine's own load;
(c) an unchanged rescan of 10,000 files;
(d) the peak RSS of every scan (the scan process and its workers: wait4 reports the largest).
In (a) the CPU seconds of every process (user + system) are printed beside the wall time: on a machine shared
with other work the wall ratio depends on the load, the CPU ratio much less.
Targets: (a) at most 2x ripgrep, (b) >= 150,000 rows/s, (c) < 1 s, (d) < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
from exportgen import export_rows, write_csv, write_xlsx  # noqa: E402
from exporttree import make_tree  # noqa: E402

RG_PATTERN = r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)"
CALAMINE_LOAD = ("import sys, python_calamine as pc\n"
                 "wb = pc.CalamineWorkbook.from_path(sys.argv[1])\n"
                 "print(sum(len(wb.get_sheet_by_name(n).to_python()) for n in wb.sheet_names))")
MEASURE = ("import resource, subprocess, sys\n"
           "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
           "use = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
           "print(code, use.ru_maxrss / 1024, use.ru_utime + use.ru_stime)")


def timed(args: list[str], cpu: list[float] | None = None) -> tuple[float, str]:
    """Wall seconds and standard output of a command; its CPU seconds (user + system) appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=True).stdout
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall, out


def scan(paths: list[Path], state: Path, extra: tuple[str, ...] = (), cpu: list[float] | None = None
         ) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (MB) of the child, and the report; ``cpu`` receives the CPU seconds of the scan and
    every process it started (user + system: what a busy machine inflates least)."""
    out = state / "r.json"
    args = [sys.executable, "-m", "auditor", "scan", "--only", "files", "-q", "--fail-on", "none", "-o", str(out), *extra]
    for p in paths:
        args += ["--path", str(p)]
    t0 = time.perf_counter()
    # normal priority: ripgrep runs at normal priority too (the agent itself runs at idle priority). The scan
    # is started by a small wrapper that reports its peak RSS (the largest of the scan and its workers): a
    # child started straight from this process would inherit this process's own high-water mark at exec.
    proc = subprocess.run([sys.executable, "-c", MEASURE, *args], stdout=subprocess.PIPE, text=True, cwd=HERE.parent,
                          env={**os.environ, "AUDITOR_STATE_DIR": str(state), "AUDITOR_PRIORITY": "normal"})
    wall = time.perf_counter() - t0
    code, rss, used = map(float, proc.stdout.split())
    if cpu is not None:
        cpu.append(used)
    if code != 0:
        raise SystemExit(f"scan failed with exit code {code:.0f}")
    return wall, rss, json.loads(out.read_text(encoding="utf-8"))


def rescan_in_process(root: Path, state: Path) -> float:
    """The scan pipeline on an unchanged tree, without interpreter start: walk, state look-ups, report (median
    of 3)."""
    os.environ["AUDITOR_STATE_DIR"] = str(state)
    os.environ["AUDITOR_PRIORITY"] = "normal"
    sys.path.insert(0, str(HERE.parent))
    from auditor.core.options import ScanOptions
    from auditor.scan.pipeline import run

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        run(ScanOptions(only=["files"], paths=[root]))
        times.append(time.perf_counter() - t0)
    return sorted(times)[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--xlsx-rows", type=int, default=200_000)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tree", type=Path, help="the CSV/TXT tree of (a), made there when missing, kept")
    ap.add_argument("--keep", type=Path, help="keep generated data here (reused when present)")
    ap.add_argument("--cases", default="abc", help="the cases to run, of a, b and c (d covers those run)")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    rng = random.Random(42)
    try:
        rss_a = rss_b = rss_c = 0.0
        # (a) CSV/TXT tree vs ripgrep
        if "a" in args.cases:
            tree = args.tree or base / "tree"
            if not tree.exists():
                make_tree(tree, args.gb)
            files = [p for p in tree.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL)  # warm the page cache for both
            rg = shutil.which("rg")
            rg_cpu: list[float] = []
            rg_s = min(timed([rg, "-c", RG_PATTERN, str(tree)], rg_cpu)[0] for _ in range(2)) if rg else float("nan")
            rg_c = min(rg_cpu) if rg_cpu else float("nan")
            print(f"(a) tree of {len(files)} CSV/TXT exports, {size / 2**30:.2f} GiB   load {os.getloadavg()[0]:.1f}")
            print(f"    rg -c (mobile pattern): {rg_s:.2f} s ({size / 2**20 / rg_s:.0f} MiB/s), CPU {rg_c:.2f} s")
            for jobs in (args.jobs, 1):
                st = base / f"state-a{jobs}"
                shutil.rmtree(st, ignore_errors=True)
                st.mkdir()
                cpu: list[float] = []
                ours, rss, rep = scan([tree], st, ("--full", "--jobs", str(jobs)), cpu)
                rss_a = max(rss_a, rss)
                recs = rep["files_summary"]["unmasked_records"]
                # CPU seconds (user + system, every process) say what the machine's load does not: the wall
                # ratio needs idle cores, the CPU ratio holds on a busy machine too
                print(f"    ours --jobs {jobs}: {ours:.2f} s ({size / 2**20 / ours:.0f} MiB/s)   ratio {ours / rg_s:.1f}x rg   "
                      f"CPU {cpu[0]:.2f} s = {cpu[0] / rg_c:.1f}x rg's   load {os.getloadavg()[0]:.1f}   "
                      f"{len(rep['findings'])} files with findings, {recs} records   peak RSS {rss:.0f} MB")
        # (b) XLSX rows per second
        if "b" in args.cases:
            xl = base / "xlsx"
            xfile = xl / "big.xlsx"
            if not xfile.exists():
                rows, _ = export_rows(rng, "douyin", args.xlsx_rows)
                write_xlsx(xfile, {"明细": rows})
            st = base / "state-b"
            shutil.rmtree(st, ignore_errors=True)
            st.mkdir()
            cpu: list[float] = []
            t_xl, rss_b, rep = scan([xl], st, ("--full",), cpu)
            n = rep["findings"][0]["evidence"]["total_rows"]
            t_cal, out = timed([sys.executable, "-c", CALAMINE_LOAD, str(xfile)])
            print(f"(b) XLSX {n} rows ({xfile.stat().st_size / 2**20:.0f} MiB)   load {os.getloadavg()[0]:.1f}: ours "
                  f"{t_xl:.2f} s = {n / t_xl:,.0f} rows/s (CPU {cpu[0]:.2f} s, both processes); python-calamine's own "
                  f"load {t_cal:.2f} s = {int(out) / t_cal:,.0f} rows/s (both incl. interpreter start)   ratio "
                  f"{t_xl / t_cal:.2f}x   peak RSS {rss_b:.0f} MB")
        # (c) unchanged rescan of 10,000 files
        if "c" in args.cases:
            many = base / "many"
            if not many.exists():
                rows, _ = export_rows(rng, "jd", 20)
                for i in range(args.files):
                    write_csv(many / f"u{i % 100}" / f"f{i}.csv", rows if i % 10 == 0 else [["日期", "数量"], ["1", "2"]])
            st = base / "state-c"
            shutil.rmtree(st, ignore_errors=True)
            st.mkdir()
            first, _, _ = scan([many], st)
            cpu = []
            second, rss_c, rep = scan([many], st, cpu=cpu)
            cov = next(c for c in rep["coverage"] if c["source"] == "files:content")
            inproc = rescan_in_process(many, st)
            print(f"(c) {args.files} files   load {os.getloadavg()[0]:.1f}: first scan {first:.2f} s, unchanged rescan "
                  f"{second:.2f} s CLI (CPU {cpu[0]:.2f} s; interpreter start, {len(rep['findings'])} findings written "
                  f"to JSON) / {inproc:.2f} s in-process walk + state + judgement ({cov['note']})   peak RSS "
                  f"{rss_c:.0f} MB")
        print(f"(d) peak RSS: {max(rss_a, rss_b, rss_c):.0f} MB (target < 300 MB)")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
