"""The remote-control collector: processes and sockets, installed software, services, autostart entries and OS
remote settings, and for every running executable its PE version information and signers (and the SHA-256 of
those the judge may report), through the executable facts cache. All of the area's I/O happens here."""

from __future__ import annotations

from .. import packs
from ..core.context import ScanContext
from ..core.handover import Handover
from ..core.options import ScanOptions
from ..redact import rules as secret_rules
from . import linux_autostart, linux_packages, linux_units, processes, remote_services, win_files, win_registry
from .exe_cache import ExeFacts, Session
from .facts import ProcessFact, RemoteFacts
from .pe_info import exe_facts
from .tool_index import ToolIndex


def collect(ctx: ScanContext, opts: ScanOptions, handover: Handover) -> RemoteFacts:
    secret_rules()  # checks/secrets.toml checked before anything is read: a malformed pack is exit 2, up front
    facts = RemoteFacts()
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
    listeners = {s.pid for s in facts.sockets if s.status == "LISTEN" and s.port in index.ports}
    if facts.processes:
        cache = Session()
        for p in facts.processes:
            read_executable(p, index, p.pid in listeners, cache)
        cache.save()
    return facts


def read_executable(p: ProcessFact, index: ToolIndex, on_tool_port: bool = False,
                    cache: Session | None = None) -> None:
    """The executable's PE version information, signers and Go/Rust build marks, and its SHA-256 when the process
    is a catalog tool (by name, version information, signer, build mark or install folder) or listens on a tool's
    port; from the executable facts cache when it holds them for this very file."""

    def _take(found: ExeFacts) -> None:
        p.version_info, p.signers, p.build_marks = dict(found.version), list(found.signers), found.marks

    def reportable(found: ExeFacts) -> bool:
        _take(found)  # the match below judges the process by what its executable says
        return on_tool_port or index.match_process(p)[0] is not None

    found = exe_facts(p.exe, cache, hash_if=reportable)
    _take(found)
    p.exe_sha256 = found.sha256
