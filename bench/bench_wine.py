"""Benchmark: the Windows agent under Wine, one-file `dist/auditor.exe` against the one-folder agent installed by
the MSI, beside the Linux console script, same host, same run.

Run:  python bench/bench_wine.py [--runs 5]
(builds dist/ first when it is missing or stale, as the tests do; needs Wine: run as root on Debian.)

In one fresh Wine prefix (a running wineserver, the four stand-in remote tools running) the one-file exe is copied
to C:\\ProgramData\\yuncang-auditor and the MSI is installed silently (Program Files). Prints the median wall time
of start-up (`--version`) and `scan --only remote` for the one-file exe, the installed one-folder exe and the
`auditor` console script of this Python, the ratios one-file / one-folder, the sizes, the MSI's silent install time
and the first start of each exe. The runs alternate between the two exes so that load on the host hits both alike.
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


def timed_pair(fa, fb, runs: int) -> tuple[list[float], list[float]]:
    """Alternate a and b (a, b, a, b, ...): host load during the run weighs on both alike."""
    ta, tb = [], []
    for _ in range(runs):
        for fn, sink in ((fa, ta), (fb, tb)):
            t0 = time.perf_counter()
            fn()
            sink.append(time.perf_counter() - t0)
    return ta, tb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    t0 = time.perf_counter()
    wine_env.ensure_built(msi=True)
    build = time.perf_counter() - t0
    size = wine_env.DIST_EXE.stat().st_size
    msi = wine_env.dist_msi()
    folder_files = [p for p in wine_env.DIST_FOLDER.rglob("*") if p.is_file()]
    base = Path(tempfile.mkdtemp(prefix="bench-wine-"))
    pc = wine_env.WinePC(base / "pc")
    onefile = pc.exe
    installed = wine_env.INSTALL_DIR + r"\auditor.exe"
    try:
        t0 = time.perf_counter()
        pc.boot()
        boot = time.perf_counter() - t0
        # first start of the one-file exe: the wineserver and Wine's services already up, %TEMP% cold
        t0 = time.perf_counter()
        res = pc.run([onefile, "--version"])
        first = time.perf_counter() - t0
        assert res.returncode == 0, res.output
        deploy = pc.c_path(r"C:\deploy")
        deploy.mkdir()
        shutil.copy(msi, deploy / msi.name)
        t0 = time.perf_counter()
        res = pc.run(["msiexec", "/i", rf"C:\deploy\{msi.name}", "/qn"], timeout=900)
        install = time.perf_counter() - t0
        assert res.returncode == 0, res.output
        t0 = time.perf_counter()
        res = pc.run([installed, "--version"])
        first_dir = time.perf_counter() - t0
        assert res.returncode == 0, res.output
        for path in TOOLS:
            pc.start(path)
        _, work = pc.workdir("bench")
        one_start, dir_start = timed_pair(lambda: pc.run([onefile, "--version"]),
                                          lambda: pc.run([installed, "--version"]), args.runs)
        _, lin_start = timed(lambda: linux("--version"), args.runs)
        scan = ["scan", "--only", "remote", "-q", "-o", "r.json"]
        one_remote, dir_remote = timed_pair(lambda: pc.run([onefile, *scan], cwd=work),
                                            lambda: pc.run([installed, *scan], cwd=work), args.runs)
        out = base / "linux.json"
        _, lin_remote = timed(lambda: linux("scan", "--only", "remote", "-q", "-o", str(out)), args.runs)
        med = statistics.median
        rows = [("start-up (--version)", one_start, dir_start, lin_start),
                ("scan --only remote", one_remote, dir_remote, lin_remote)]
        print(f"dist/auditor.exe (one file): {size / 1e6:.1f} MB; dist/auditor/ (one folder): {len(folder_files)} "
              f"files, {sum(p.stat().st_size for p in folder_files) / 1e6:.1f} MB; {msi.name}: "
              f"{msi.stat().st_size / 1e6:.1f} MB")
        if wine_env.TIMINGS:
            print("set-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in wine_env.TIMINGS.items())
                  + (f" (ensure_built {build:.1f} s)" if build > 1 else ""))
        print(f"Wine prefix boot {boot:.1f} s; msiexec /i /qn {install:.1f} s; first start: one file {first:.2f} s, "
              f"installed one folder {first_dir:.2f} s")
        print(f"{'median of ' + str(args.runs):24} {'one file (Wine)':>16} {'installed (Wine)':>17} "
              f"{'ratio':>6} {'console script':>15}")
        for name, a, b, c in rows:
            print(f"{name:24} {med(a):>14.2f} s {med(b):>15.2f} s {med(a) / med(b):>5.1f}x {med(c):>13.2f} s")
        for name, a, b, c in rows:
            print(f"runs {name}: one file " + " ".join(f"{t:.2f}" for t in a) + " | installed "
                  + " ".join(f"{t:.2f}" for t in b) + " | console script " + " ".join(f"{t:.2f}" for t in c))
    finally:
        pc.shutdown()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
