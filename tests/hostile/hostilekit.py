"""Helpers of the hostile suite (import hostilekit). The hostile suite: tests that play the people the agent exists to catch.

- the **local user**: an ordinary account on the PC (uid ``USER_UID``) that can create files, folders,
  symlinks, FIFOs and processes while the agent runs as root;
- the **share writer**: anyone who can drop files into the folder ``fleet ingest`` reads;
- the **network**: a server on 127.0.0.1 that answers ``--push`` and webhooks as it likes.

Every command is run as the real CLI with a hard timeout (a hang fails the test with the word "hung"): in the
test's process, or in a child process where the child is the point (peak RSS, a hang only a kill ends, another
user); what it leaves behind is searched for the planted personal data and secrets.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pytest

from clirun import QUIET, child_env, run_in_process

USER_UID = USER_GID = 1000  # an ordinary account; it need not exist in /etc/passwd for the kernel
HANG = 60.0  # seconds: no command of the agent may take longer on these small inputs


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


needs_root = pytest.mark.skipif(not is_root(), reason="plays an ordinary user against an agent running as root")


def give_to_user(*paths: Path) -> None:
    """Hand files, folders and links to the ordinary user, as if that user had created them."""
    for p in paths:
        os.lchown(p, USER_UID, USER_GID)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    rss_mb: float | None  # measured by the kernel for a child run only
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def peak_rss_mb(self) -> float:
        assert self.rss_mb is not None, "peak RSS is measured for child runs only: auditor(..., child=True)"
        return self.rss_mb


_MEASURE = r"""
import resource, subprocess, sys, time, json
t = time.monotonic()
try:
    r = subprocess.run(sys.argv[2:], capture_output=True, timeout=float(sys.argv[1]), stdin=subprocess.DEVNULL)
    code, out, err = r.returncode, r.stdout, r.stderr
except subprocess.TimeoutExpired as exc:
    code, out, err = "hung", exc.stdout or b"", exc.stderr or b""
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
sys.stdout.buffer.write(json.dumps({"code": code, "rss": rss, "s": time.monotonic() - t,
    "out": out.decode("utf-8", "replace"), "err": err.decode("utf-8", "replace")}).encode())
"""


def auditor(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = HANG,
            user: bool = False, child: bool = False) -> Run:
    """The CLI, bounded in time (past ``timeout`` the test fails with the word "hung"): in this process by
    default (clirun); ``child=True`` in a real child process whose peak RSS the kernel measures (for the bounds
    on memory, and where only killing the process bounds a hang); ``user=True`` in a child as the ordinary user
    (setpriv), for the cases where the agent is not root."""
    if not (child or user):
        started = time.monotonic()
        res = run_in_process(*args, env={**QUIET, **(env or {})}, cwd=cwd, timeout=timeout)
        return Run(res.returncode, res.stdout, res.stderr, None, time.monotonic() - started)
    argv = [sys.executable, "-m", "auditor", *args]
    if user:
        argv = ["setpriv", f"--reuid={USER_UID}", f"--regid={USER_GID}", "--clear-groups", *argv]
    res = subprocess.run([sys.executable, "-c", _MEASURE, str(timeout), *argv], capture_output=True,
                         env=child_env(env), cwd=cwd, timeout=timeout + 30)
    data = json.loads(res.stdout)
    if data["code"] == "hung":
        pytest.fail(f"hung: `auditor {' '.join(args)}` did not finish within {timeout:.0f} s\n{data['err'][-2000:]}")
    return Run(data["code"], data["out"], data["err"], data["rss"], data["s"])


def texts_under(*places: Path) -> Iterable[tuple[Path, str]]:
    """Every file below ``places`` as text (SQLite databases dumped row by row, binary files decoded leniently),
    for leak searches."""
    for place in places:
        files = [place] if place.is_file() else sorted(p for p in place.rglob("*") if p.is_file())
        for f in files:
            raw = f.read_bytes()
            if raw.startswith(b"SQLite format 3"):
                try:
                    con = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
                    rows = []
                    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                        rows += [repr(r) for r in con.execute(f'SELECT * FROM "{table}"')]
                    con.close()
                    yield f, "\n".join(rows) + raw.decode("utf-8", "replace")
                    continue
                except sqlite3.Error:
                    pass
            yield f, raw.decode("utf-8", "replace") + raw.decode("utf-16-le", "replace")


def assert_no_leak(needles: Iterable[str], *places: Path, text: str = "") -> None:
    """None of ``needles`` (planted mobiles, ID numbers, names, secrets) appears in any file under
    ``places`` nor in ``text`` (the console output)."""
    needles = [n for n in needles if n]
    hits = [f"console: {n}" for n in needles if n in text]
    for path, content in texts_under(*places):
        hits += [f"{path}: {n}" for n in needles if n in content]
    assert not hits, "planted data leaked:\n" + "\n".join(hits[:20])


def state_env(tmp_path: Path) -> dict:
    """Every place the agent may write (state, data, reports) under tmp_path, so leak searches see all of it."""
    env = {"AUDITOR_STATE_DIR": str(tmp_path / "state"), "AUDITOR_QUARANTINE_DIR": str(tmp_path / "quarantine"),
           "AUDITOR_FLEET_DB": str(tmp_path / "fleet.sqlite"), "XDG_STATE_HOME": str(tmp_path / "xdg-state"), "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}
    return env


def limit_memory_mb() -> int:
    """The peak RSS a command may reach on hostile input (README: bounded resources)."""
    return 300




# --------------------------------------------------------------------------- the files area on planted files

MOBILE_PREFIXES = ["130", "133", "135", "136", "138", "139", "150", "151", "158", "159", "177", "186", "187", "189",
                   "199"]


def mobiles(n: int, seed: int = 7) -> list[str]:
    """``n`` planted mobiles (real ranges), the same for the same seed."""
    rng = random.Random(seed)
    return [rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}" for _ in range(n)]


def scan_files(tmp_path: Path, folder: Path, *extra: str, child: bool = False):
    """(run, report, report path) of a full files scan of ``folder`` that must end without a crash
    (``child=True``: in a child process, whose peak RSS is measured)."""
    out = tmp_path / "report.json"
    run = auditor("scan", "--only", "files", "--path", str(folder), "--full", "-q", "-o", str(out),
                  "--fail-on", "none", *extra, env=state_env(tmp_path), child=child)
    assert run.code == 0, run.output[-3000:]
    assert "Traceback" not in run.output
    return run, json.loads(out.read_text(encoding="utf-8")), out


def files_content(report: dict) -> dict:
    return next(c for c in report["coverage"] if c["source"] == "files:content")


def reason_for(report: dict, name: str) -> str:
    """The coverage reason of the file whose shown path ends with ``name``."""
    reasons = [s["reason"] for s in files_content(report)["skipped"] if s["item"].endswith(name)]
    assert reasons, f"{name} is not in the coverage: {files_content(report)}"
    return reasons[0]


def finding_for(report: dict, name: str) -> dict:
    """The one finding whose target ends with ``name``."""
    found = [f for f in report["findings"] if f["target"]["ref"].endswith(name)]
    assert len(found) == 1, [f["target"]["ref"] for f in report["findings"]]
    return found[0]
