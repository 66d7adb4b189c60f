"""Benchmark: the Windows agent `dist/auditor.exe` under Wine beside the Linux console script, same host.

Run:  python bench/bench_wine.py [--runs 5]
(builds dist/auditor.exe first when it is missing or stale, as the tests do; needs Wine: run as root on Debian.)

Prints the median wall time of: start-up (`--version`) and `scan --only remote` for the exe (in a fresh Wine prefix
with a running wineserver and the four stand-in remote tools running) and for the `auditor` console script of this
Python; the exe's size; and the first start of the exe (one-file unpacking into a cold %TEMP%, no wineserver).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import wine_env  # noqa: E402  (tests/wine_env.py: build, prefix, stand-in programs)

TOOLS = [r"C:\Program Files\ToDesk\ToDesk.exe", r"C:\Program Files (x86)\Oray\SunLogin\SunloginClient\SunloginClient.exe",
         r"C:\Program Files (x86)\AnyDesk\AnyDesk.exe", r"C:\Users\Public\frpc.exe"]


def timed(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def linux(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "auditor", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   cwd=REPO)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    t0 = time.perf_counter()
    wine_env.ensure_built()
    build = time.perf_counter() - t0
    size = wine_env.DIST_EXE.stat().st_size
    base = Path(tempfile.mkdtemp(prefix="bench-wine-"))
    pc = wine_env.WinePC(base / "pc")
    try:
        t0 = time.perf_counter()
        pc.boot()
        boot = time.perf_counter() - t0
        # first start: the wineserver and Wine's services already up, %TEMP% cold
        t0 = time.perf_counter()
        res = pc.auditor("--version")
        first = time.perf_counter() - t0
        assert res.returncode == 0, res.output
        for path in TOOLS:
            pc.start(path)
        rows = []
        exe_start, exe_start_all = timed(lambda: pc.auditor("--version"), args.runs)
        lin_start, lin_start_all = timed(lambda: linux("--version"), args.runs)
        _, work = pc.workdir("bench")
        exe_remote, exe_remote_all = timed(lambda: pc.auditor("scan", "--only", "remote", "-q", "-o", "r.json",
                                                              cwd=work), args.runs)
        out = base / "linux.json"
        lin_remote, lin_remote_all = timed(lambda: linux("scan", "--only", "remote", "-q", "-o", str(out)), args.runs)
        rows.append(("start-up (--version)", exe_start, lin_start))
        rows.append(("scan --only remote", exe_remote, lin_remote))
        print(f"dist/auditor.exe: {size / 1e6:.1f} MB ({size} bytes)")
        if wine_env.TIMINGS:
            print("set-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in wine_env.TIMINGS.items())
                  + (f" (ensure_built {build:.1f} s)" if build > 1 else ""))
        print(f"Wine prefix boot {boot:.1f} s; exe first start {first:.2f} s")
        print(f"{'median of ' + str(args.runs):28} {'auditor.exe (Wine)':>20} {'console script':>16}")
        for name, exe_t, lin_t in rows:
            print(f"{name:28} {exe_t:>18.2f} s {lin_t:>14.2f} s")
        print("runs: exe start " + " ".join(f"{t:.2f}" for t in exe_start_all)
              + " | exe remote " + " ".join(f"{t:.2f}" for t in exe_remote_all)
              + " | linux start " + " ".join(f"{t:.2f}" for t in lin_start_all)
              + " | linux remote " + " ".join(f"{t:.2f}" for t in lin_remote_all))
    finally:
        pc.shutdown()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
