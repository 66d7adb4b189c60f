"""Benchmark of `auditor watch`.

  python bench/bench_watch.py [--trials 20] [--idle 30] [--rows 300]

(a) latency: a waybill export is written in pieces into a watched folder (as a browser or Excel saves it); the
    time from closing the file to the `file_finding` line in the events file, over --trials files (CSV and XLSX);
(b) idle CPU: the watch process's CPU time over --idle seconds with nothing happening (process polling on,
    default 2.5 s interval), as a share of one core.
Targets: every export reported within 1 s of being closed; idle CPU under 1 %.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from exportgen import export_rows, write_xlsx  # noqa: E402


def tail(events: Path, pos: int) -> tuple[list[dict], int]:
    try:
        with open(events, encoding="utf-8") as fh:
            fh.seek(pos)
            data = fh.read()
    except FileNotFoundError:
        return [], pos
    done = data[: data.rfind("\n") + 1]
    return [json.loads(l) for l in done.splitlines() if l.strip()], pos + len(done.encode("utf-8"))


def wait_event(events: Path, pos: int, event: str, timeout: float) -> tuple[dict, int]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines, pos = tail(events, pos)
        for line in lines:
            if line["event"] == event:
                return line, pos
        time.sleep(0.005)
    raise SystemExit(f"no {event} within {timeout}s")


def csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("gb18030")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--rows", type=int, default=300)
    a = ap.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inbox = tmp / "Downloads"
        inbox.mkdir()
        events = tmp / "events.jsonl"
        proc = subprocess.Popen([sys.executable, "-m", "auditor", "watch", "--path", str(inbox), "--events", str(events),
                                 "--quiet"], cwd=HERE.parent, stderr=subprocess.DEVNULL,
                                env={**os.environ, "AUDITOR_STATE_DIR": str(tmp / "state")})
        try:
            _, pos = wait_event(events, 0, "watch_started", 60)
            latencies = []
            for i in range(a.trials):
                rows = export_rows(rng, ["taobao", "pdd", "jd", "douyin", "erp"][i % 5], a.rows)[0]
                if i % 4 == 3:
                    staged = tmp / f"staged{i}.xlsx"
                    write_xlsx(staged, {"Sheet1": rows})
                    data = staged.read_bytes()
                    name = f"export{i}.xlsx"
                else:
                    data, name = csv_bytes(rows), f"export{i}.csv"
                with open(inbox / name, "wb") as fh:
                    step = max(1, len(data) // 4)
                    for j in range(0, len(data), step):
                        fh.write(data[j:j + step])
                        fh.flush()
                        time.sleep(0.03)
                closed = time.time()
                line, pos = wait_event(events, pos, "file_finding", 10)
                latencies.append(line["ts"] - closed)
                time.sleep(0.3)
            time.sleep(3)  # let the last scan and any start-up work settle
            p = psutil.Process(proc.pid)
            c0, t0 = sum(p.cpu_times()[:2]), time.time()
            time.sleep(a.idle)
            idle = (sum(p.cpu_times()[:2]) - c0) / (time.time() - t0)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(f"latency close->alert over {len(latencies)} exports ({a.rows} rows, CSV and XLSX): "
          f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms (target < 1000 ms)")
    print(f"idle CPU over {a.idle:.0f} s: {idle * 100:.2f} % of one core (target < 1 %)")
    ok = latencies[-1] < 1.0 and idle < 0.01
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
