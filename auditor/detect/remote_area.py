"""The remote-control area: collect processes, sockets, software, services, autostart and OS remote
settings, then judge them against the tool catalog."""

from __future__ import annotations

from .. import packs
from ..areas import AreaRun
from ..collectors import (linux_autostart, linux_packages, linux_units, processes, remote_services, win_files,
                          win_registry)
from ..facts import Facts
from ..core.model import Finding
from .remote import RemoteChecks
from .tool_index import ToolIndex


def run(run: AreaRun) -> list[Finding]:
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
    checks = RemoteChecks(ToolIndex(packs.catalog()), run.factory, run.approvals, ctx.hostname, run.today)
    return checks.run(facts)
