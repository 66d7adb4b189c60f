"""Benchmark: the Windows agent under Wine, one-file `dist/auditor.exe` against the one-folder agent installed by
the MSI, beside the Linux console script, same host, same run.

Run:  python bench/bench_wine.py [--runs 5] [--profile OUT]
(builds dist/ first when it is missing or stale, as the tests do; needs Wine: run as root on Debian.)
Wall times under Wine grow with the host's load (every Wine call waits for the wineserver to be scheduled): the
CPU time of the exe's processes and the load average are printed beside them. ``--profile OUT`` profiles
`scan --only remote` from the source tree instead (see profile()).

In one fresh Wine prefix (a running wineserver, the four stand-in remote tools running) the one-file exe is copied
to C:\\ProgramData\\yuncang-auditor and the MSI is installed silently (Program Files). Prints the median wall time
of start-up (`--version`) and `scan --only remote` for the one-file exe, the installed one-folder exe and the
`auditor` console script of this Python, the ratios one-file / one-folder, the sizes, the MSI's silent install time
and the first start of each exe. The runs alternate between the two exes so that load on the host hits both alike.
"""

from __future__ import annotations

import argparse
import os
import pstats
import resource
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


def children_cpu() -> float:
    """User + system CPU seconds of the waited-for child processes so far (the Windows programs Wine ran; not the
    wineserver's share, which is the host's)."""
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def timed_pair(fa, fb, runs: int, cpu: dict[str, list[float]] | None = None) -> tuple[list[float], list[float]]:
    """Alternate a and b (a, b, a, b, ...): host load during the run weighs on both alike. ``cpu`` gets the CPU
    seconds of each run under "a" and "b" (less sensitive to the host's load than wall time)."""
    ta, tb = [], []
    for _ in range(runs):
        for fn, sink, name in ((fa, ta, "a"), (fb, tb, "b")):
            c0, t0 = children_cpu(), time.perf_counter()
            fn()
            sink.append(time.perf_counter() - t0)
            if cpu is not None:
                cpu.setdefault(name, []).append(children_cpu() - c0)
    return ta, tb


def profile(pc: "wine_env.WinePC", out: Path) -> None:
    """cProfile of `scan --only remote` run from this source tree by the build's Windows CPython in the prefix (the
    frozen exe cannot be profiled): where a short scan's time goes under Wine, imports aside (a source tree
    compiles and opens each module, the frozen exe reads them from its archive). Writes ``out`` (pstats)."""
    links = {"x:": wine_env.CACHE, "y:": REPO}
    for letter, target in links.items():
        (pc.prefix / "dosdevices" / letter).symlink_to(target)
    win, work = pc.workdir("profile")
    code = ("import cProfile, sys; sys.path.insert(0, 'Y:\\\\'); from auditor.cli import main; "
            "cProfile.run(\"main(['scan', '--only', 'remote', '-q', '-o', 'r.json'])\", 'scan.prof')")
    for _ in range(2):  # the first run compiles the tree and fills the caches; the second is the one kept
        res = pc.run([r"X:\py\python.exe", "-c", code], cwd=work)
        assert (work / "scan.prof").is_file(), res.output
    shutil.copy(work / "scan.prof", out)
    pstats.Stats(str(out)).sort_stats("cumulative").print_stats(40)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", type=Path, metavar="OUT",
                    help="instead of timing: cProfile `scan --only remote` from this tree under Wine into OUT")
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
        if args.profile:
            profile(pc, args.profile.resolve())
            return
        _, work = pc.workdir("bench")
        cpu_start: dict[str, list[float]] = {}
        cpu_remote: dict[str, list[float]] = {}
        one_start, dir_start = timed_pair(lambda: pc.run([onefile, "--version"]),
                                          lambda: pc.run([installed, "--version"]), args.runs, cpu_start)
        _, lin_start = timed(lambda: linux("--version"), args.runs)
        scan = ["scan", "--only", "remote", "-q", "-o", "r.json"]
        one_remote, dir_remote = timed_pair(lambda: pc.run([onefile, *scan], cwd=work),
                                            lambda: pc.run([installed, *scan], cwd=work), args.runs, cpu_remote)
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
        for name, cpu in (("start-up (--version)", cpu_start), ("scan --only remote", cpu_remote)):
            print(f"CPU of the exe's processes, {name}: one file {med(cpu['a']):.2f} s, installed "
                  f"{med(cpu['b']):.2f} s (median)")
        print(f"host load: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    finally:
        pc.shutdown()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
