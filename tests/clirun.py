"""Running the command line in tests: the one home of it.

By default ``auditor.cli.main(argv)`` runs **in this process** (no interpreter start-up, no import of the package
per call): stdout and stderr captured, the environment applied and restored, the working folder changed and
restored, an empty stdin, ``AUDITOR_PRIORITY=normal`` (the pytest process keeps its priority), the data-pack
caches cleared when a run names its own packs (``AUDITOR_CHECKS_DIR`` / ``AUDITOR_REPORTS_DIR``), and a run
past its timeout fails as hung (SIGALRM interrupts it where it waits).

``child=True`` runs ``python -m auditor`` in a real child process instead. Keep that where the child is the point
and say why at the call: the exit code of the real entry point, signals and kills, priorities, a user other than
root (setpriv), hangs on hostile inputs bounded by killing the process, peak RSS measured by the kernel,
``watch`` (a long-running process), concurrency between two commands, the installed wheel.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from auditor import cli

PACK_VARS = ("AUDITOR_CHECKS_DIR", "AUDITOR_REPORTS_DIR")
QUIET = {"AUDITOR_PRIORITY": "normal"}  # never lower the priority of the process that runs the tests


class Hung(BaseException):
    """Raised in the main thread by the timeout alarm (a BaseException: the CLI's last-resort handler of
    ``Exception`` must not turn it into exit 3)."""


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120,
            child: bool = False) -> subprocess.CompletedProcess:
    """``auditor ARGS`` with ``env`` added to this environment: in process, or in a child with ``child=True``."""
    if child:
        return run_child(*args, env=env, cwd=cwd, timeout=timeout)
    return run_in_process(*args, env=env, cwd=cwd, timeout=timeout)


def run_child(*args: str, env: dict | None = None, cwd: Path | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m auditor ARGS`` in a child process (exit codes, stderr and all)."""
    return subprocess.run([sys.executable, "-m", "auditor", *args], capture_output=True, text=True,
                          env=child_env(env), cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)


def child_env(env: dict | None = None) -> dict:
    return {**os.environ, **QUIET, **(env or {})}


_packs_seen: tuple = ()


def clear_pack_caches() -> None:
    """Forget every cached pack (checks, catalog, rules, templates...): each ``functools`` cache defined in a
    module of the package. Found by walking the loaded modules, so it follows the package as it is re-arranged."""
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "auditor" or name.startswith("auditor.")):
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()


@contextlib.contextmanager
def applied_env(env: dict) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(env)
    tz = os.environ.get("TZ")
    if tz != saved.get("TZ"):
        time.tzset()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if tz != saved.get("TZ"):
            time.tzset()


@contextlib.contextmanager
def _working_folder(cwd: Path | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    before = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _alarm(seconds: float, what: str) -> Iterator[None]:
    """Interrupt the main thread after ``seconds`` (where it waits in a system call, too)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def ring(signum, frame):
        raise Hung(f"`auditor {what}` did not finish within {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    raw = stream.buffer.getvalue()  # type: ignore[attr-defined]
    return raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")  # as text=True reads a pipe


def run_in_process(*args: str, env: dict | None = None, cwd: Path | None = None,
                   timeout: float = 120) -> subprocess.CompletedProcess:
    """``cli.main(ARGS)`` in this process; the result looks like the child's."""
    global _packs_seen
    full = {**QUIET, **(env or {})}
    out, err = _stream(), _stream()
    with applied_env(full):
        packs = tuple(os.environ.get(v) for v in PACK_VARS)
        if packs != _packs_seen or any(packs):  # a site's own packs, possibly edited since the last run
            clear_pack_caches()
        _packs_seen = packs
        stdin = sys.stdin
        try:
            sys.stdin = io.StringIO("")
            with _working_folder(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                    _alarm(timeout, " ".join(args)):
                try:
                    code = cli.main(list(args))
                except SystemExit as exc:  # argparse's --version and --help, as the interpreter would exit
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                    if isinstance(exc.code, str):
                        print(exc.code, file=sys.stderr)
        except Hung as exc:
            pytest.fail(f"hung: {exc}\n{_text(err)[-2000:]}")
        finally:
            sys.stdin = stdin
    return subprocess.CompletedProcess(["auditor", *args], code, _text(out), _text(err))
