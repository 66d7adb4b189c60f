"""OS remote-access servers (SSH, WinRM, xrdp, GNOME Remote Desktop, Vino): enabled, running, listening.

Derived from the service, process and socket facts gathered before, plus the listening state of the
RDP port read from the registry."""

from __future__ import annotations

from ..core.context import ScanContext
from .facts import RemoteFacts, SettingFact

AREA = "remote"
# feature -> (service/unit names, process names, default ports, windows-only?)
SERVERS = {
    "sshd": (("ssh", "sshd", "sshd-keygen"), ("sshd", "sshd.exe"), (22,), None),
    "winrm": (("WinRM",), (), (5985, 5986), True),
    "xrdp": (("xrdp",), ("xrdp",), (3389,), False),
    "gnome_remote_desktop": (("gnome-remote-desktop",), ("gnome-remote-desktop-daemon",), (3389,), False),
    "vino": (("vino-server",), ("vino-server",), (5900,), False),
}


def _listeners(facts: RemoteFacts, ports: tuple[int, ...], pids: set[int]) -> list[str]:
    out = []
    for s in facts.sockets:
        if s.status != "LISTEN" or s.port not in ports:
            continue
        if s.pid is None or s.pid in pids or not pids:
            out.append(f"{s.ip}:{s.port}")
    return sorted(set(out))


def collect(ctx: ScanContext, facts: RemoteFacts) -> None:
    cov = ctx.coverage.source(AREA, "settings:remote-servers")
    windows = ctx.windows
    for feature, (units, procs, ports, win_only) in SERVERS.items():
        if win_only is not None and win_only != windows:
            continue
        cov.examined += 1
        unit_names = {u.casefold() for u in units}
        services = [s for s in facts.services if s.name.casefold() in unit_names]
        autostart = [s for s in services if s.autostarts]
        xdg = [a for a in facts.autostart if a.kind == "xdg_autostart" and a.name.casefold() in unit_names]
        proc_names = {p.casefold() for p in procs}
        running = [p for p in facts.processes if p.name.casefold() in proc_names]
        pids = {p.pid for p in running}
        listening = _listeners(facts, ports, pids) if (running or autostart or not procs) else []
        if feature == "winrm" and not autostart:
            listening = []  # ports 5985/5986 alone are not proof of WinRM
        if not (autostart or xdg or running or listening):
            continue
        facts.settings.append(SettingFact(feature, True, "services/processes/sockets", {
            "autostart_units": [s.name + (f" ({s.scope})" if s.scope != "system" else "") for s in autostart]
            + [a.location for a in xdg],
            "running_pids": sorted(pids),
            "listening": listening,
        }))
    rdp = next((s for s in facts.settings if s.feature == "rdp"), None)
    if rdp is not None and ctx.live:
        port = rdp.details.get("port") or 3389
        rdp.details["listening"] = sorted({f"{s.ip}:{s.port}" for s in facts.sockets
                                           if s.status == "LISTEN" and s.port == port})
