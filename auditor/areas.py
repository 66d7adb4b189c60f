"""The audit areas and what each one runs. `scan --only AREA` picks from these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from . import packs
from .allowlist import Approval
from .collectors import (linux_autostart, linux_packages, linux_units, processes, remote_services, win_files,
                         win_registry)
from .context import ScanContext
from .detect.factory import FindingFactory
from .detect.remote import RemoteChecks
from .detect.tool_index import ToolIndex
from .facts import Facts
from .model import Finding


@dataclass
class AreaRun:
    ctx: ScanContext
    factory: FindingFactory
    approvals: list[Approval]
    today: dt.date


def run_remote(run: AreaRun) -> list[Finding]:
    ctx = run.ctx
    facts = Facts()
    processes.collect_processes(ctx, facts)
    processes.collect_sockets(ctx, facts)
    if ctx.windows:
        win_registry.collect(ctx, facts)
        win_files.collect(ctx, facts)
    else:
        linux_packages.collect(ctx, facts)
        linux_units.collect(ctx, facts)
        linux_autostart.collect(ctx, facts)
    remote_services.collect(ctx, facts)
    index = ToolIndex(packs.catalog())
    checks = RemoteChecks(index, run.factory, run.approvals, ctx.hostname, run.today)
    return checks.run(facts)


# name -> (runner, needs extra input to be useful)
AREAS: dict[str, tuple[Callable[[AreaRun], list[Finding]] | None, str]] = {
    "remote": (run_remote, "remote-control tools, tunnels and OS remote features"),
    "files": (None, "unmasked waybill/order exports on disk"),
    "accounts": (None, "departed, stale and shared accounts"),
}
