"""Running processes and network sockets, via psutil. Live hosts only."""

from __future__ import annotations

import ntpath
import os
from datetime import datetime

import psutil

from ..core.context import ScanContext
from .facts import RemoteFacts, ProcessFact, SocketFact

AREA = "remote"


def _basename(path: str) -> str:
    return ntpath.basename(path) if "\\" in path else os.path.basename(path)


def read_process(proc: psutil.Process) -> ProcessFact:
    """Read one process. name()/exe() raise on Windows for protected processes and always under Wine
    (a plain OSError from NtQuerySystemInformation), so fall back to the command line."""
    cmdline: list[str] = []
    try:
        cmdline = proc.cmdline()
    except (psutil.AccessDenied, OSError):
        pass
    name_source = "psutil"
    try:
        name = proc.name()
    except psutil.NoSuchProcess:
        raise
    except (psutil.AccessDenied, OSError):
        name, name_source = (_basename(cmdline[0]) if cmdline else ""), "cmdline"
    try:
        exe = proc.exe() or None
    except psutil.NoSuchProcess:
        raise
    except (psutil.AccessDenied, OSError):
        exe = cmdline[0] if cmdline and (os.sep in cmdline[0] or "\\" in cmdline[0]) else None
    # Linux truncates comm to 15 characters; the executable or argv[0] has the full name.
    if exe and len(name) >= 15 and _basename(exe).startswith(name):
        name = _basename(exe)
    user = started = None
    ppid = None
    try:
        user = proc.username()
    except (psutil.AccessDenied, OSError, KeyError):
        pass
    try:
        started = datetime.fromtimestamp(proc.create_time()).astimezone().isoformat(timespec="seconds")
    except (psutil.AccessDenied, OSError, ValueError, OverflowError):
        pass
    try:
        ppid = proc.ppid()
    except (psutil.AccessDenied, OSError):
        pass
    return ProcessFact(pid=proc.pid, name=name, exe=exe, cmdline=cmdline, user=user, started=started,
                       ppid=ppid, name_source=name_source)


def _live_source(ctx: ScanContext, source: str):
    """The coverage entry of a live source, or None (marked skipped) when auditing an offline tree."""
    cov = ctx.coverage.source(AREA, source)
    if not ctx.live:
        cov.status, cov.note = "skipped", "live source: not read when auditing an offline tree (--root)"
        return None
    return cov


def collect_processes(ctx: ScanContext, facts: RemoteFacts) -> None:
    cov = _live_source(ctx, "processes")
    if cov is None:
        return
    try:
        pids = psutil.pids()
    except Exception as exc:  # noqa: BLE001 - a failing source must not stop the scan
        cov.status, cov.note = "failed", f"cannot list processes: {exc}"
        return
    by_pid: dict[int, ProcessFact] = {}
    for pid in pids:
        try:
            fact = read_process(psutil.Process(pid))
        except psutil.NoSuchProcess:
            continue  # exited while we looked: not a gap in coverage
        except psutil.AccessDenied:
            cov.skip(f"pid {pid}", "access denied")
            continue
        except Exception as exc:  # noqa: BLE001
            cov.skip(f"pid {pid}", f"unreadable: {type(exc).__name__}")
            continue
        if pid == 0 and not fact.name:
            continue
        by_pid[pid] = fact
        cov.examined += 1
    for fact in by_pid.values():
        parent = by_pid.get(fact.ppid) if fact.ppid is not None else None
        fact.parent = parent.name if parent else None
    facts.processes.extend(by_pid.values())


def collect_sockets(ctx: ScanContext, facts: RemoteFacts) -> None:
    cov = _live_source(ctx, "sockets")
    if cov is None:
        return
    try:
        conns = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        cov.status, cov.note = "failed", "access denied listing sockets (run as administrator/root)"
        return
    except Exception as exc:  # noqa: BLE001
        cov.status, cov.note = "failed", f"cannot list sockets: {exc}"
        return
    unattributed = 0
    for c in conns:
        if not c.laddr:
            continue
        proto = "tcp" if c.type == 1 else "udp"
        status = c.status if proto == "tcp" else "NONE"
        if proto == "tcp" and status not in ("LISTEN", "ESTABLISHED"):
            continue
        pid = c.pid or None  # Wine reports pid 0 for every socket
        if pid is None:
            unattributed += 1
        remote = f"{c.raddr.ip}:{c.raddr.port}" if c.raddr else None
        facts.sockets.append(SocketFact(proto, c.laddr.ip, c.laddr.port, status, pid, remote))
        cov.examined += 1
    if unattributed:
        cov.note = f"{unattributed} sockets without an owning process id (reported by port only)"
