"""Polling for newly started remote-control tools: the process list every few seconds (psutil), only new
processes read, matched with the catalog's tool index and judged by the remote-control checks (so an alert
carries the same finding and evidence as a scan, renamed copies and approvals included)."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import psutil

from .. import packs
from ..allowlist import Approval
from ..core.factory import FindingFactory
from ..remote.collect import read_executable
from ..remote.facts import ProcessFact, RemoteFacts, SocketFact
from ..remote.judge import RemoteJudge
from ..remote.processes import read_process
from ..remote.tool_index import ToolIndex


class ProcessWatcher:
    def __init__(self, factory: FindingFactory, approvals: list[Approval]) -> None:
        self.index = ToolIndex(packs.catalog())
        self.checks = RemoteJudge(self.index, factory, approvals, socket.gethostname(), dt.date.today())
        self.known: dict[int, float] = {}  # pid -> create time (a reused pid is a new process)
        self.first = True

    def poll(self) -> list[dict[str, Any]]:
        """Findings (as dicts, with ``already_running`` on the first poll) for processes new since the last poll."""
        try:
            pids = psutil.pids()
        except Exception:  # noqa: BLE001
            return []
        alive = set(pids)
        for pid in [p for p in self.known if p not in alive]:
            del self.known[pid]
        new: list[ProcessFact] = []
        for pid in pids:
            if pid in self.known:
                continue
            try:
                proc = psutil.Process(pid)
                self.known[pid] = proc.create_time()
                fact = read_process(proc)
            except (psutil.Error, OSError):
                continue
            if pid == 0 and not fact.name:
                continue
            new.append(fact)
        first, self.first = self.first, False
        for p in new:
            read_executable(p, self.index)
        matched = [p for p in new if self.index.match_process(p)[0] is not None]
        if not matched:
            return []
        facts = RemoteFacts()
        for p in matched:
            try:
                p.parent = psutil.Process(p.ppid).name() if p.ppid else None
            except (psutil.Error, OSError):
                pass
            facts.processes.append(p)
            facts.sockets.extend(_sockets(p.pid))
        self.checks.today = dt.date.today()
        out = []
        for f in self.checks.run(facts):
            d = f.to_dict()
            d["already_running"] = first
            out.append(d)
        return out


def _sockets(pid: int) -> list[SocketFact]:
    try:
        proc = psutil.Process(pid)
        conns = proc.net_connections(kind="inet") if hasattr(proc, "net_connections") else proc.connections("inet")
    except (psutil.Error, OSError):
        return []
    out = []
    for c in conns:
        if not c.laddr:
            continue
        proto = "tcp" if c.type == socket.SOCK_STREAM else "udp"
        status = c.status if proto == "tcp" else "NONE"
        if proto == "tcp" and status not in ("LISTEN", "ESTABLISHED"):
            continue
        remote = f"{c.raddr.ip}:{c.raddr.port}" if c.raddr else None
        out.append(SocketFact(proto, c.laddr.ip, c.laddr.port, status, pid, remote))
    return out
