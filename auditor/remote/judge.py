"""The remote-control judge: catalog tools running, renamed, listening, auto-starting or installed; tunnels;
OS remote features. One finding per running process (the thing to stop) and one per tool for its autostart
entries or installation (the things to remove). No I/O: executables' version information and hashes are facts
the collector gathered."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from .. import packs
from ..allowlist import Approval, find_approval
from ..core.area import JudgeContext
from ..core.factory import FindingFactory
from ..core.model import Finding, Subject, Target
from ..i18n import both
from ..redact import redact_cmdline, redact_command
from .facts import ProcessFact, RemoteFacts, SocketFact
from .tool_index import Match, ToolIndex

# Processes that legitimately own remote-access ports (RDP, SSH) and are judged as OS features instead.
OS_PORT_OWNERS = {"svchost.exe", "system", "sshd", "sshd.exe", "xrdp", "xrdp-sesman", "gnome-remote-desktop-daemon",
                  "vino-server", "lsass.exe", "services.exe", "wininit.exe", "wineserver", "wineserver64"}
MAX_CONNECTIONS = 20
# how a renamed binary was recognised (RC-002 evidence "recognised_by"), by the look-up that named it
RECOGNISED_BY = {"pe_original_filename": "version_info", "pe_product_name": "version_info",
                 "pe_company_name": "version_info", "pe_signer": "signer", "go_module": "go_module",
                 "rust_crate": "rust_crate", "install_path": "folder"}


def _tool_dict(tool) -> dict[str, Any]:
    return {"id": tool.id, "name": tool.name, "name_zh": tool.name_zh, "vendor": tool.vendor,
            "category": tool.category, "catalog_sources": list(tool.sources)}


def _approval_note(approval: Approval | None, today: dt.date) -> tuple[dict | None, dict | None]:
    if approval is None:
        return None, None
    info = approval.to_dict(today)
    if approval.expired(today):
        return info, both("note.approval_expired", expires=approval.expires.isoformat(), approver=approval.approver)
    return info, None


def judge(facts: RemoteFacts, jc: JudgeContext) -> list[Finding]:
    return RemoteJudge(ToolIndex(packs.catalog()), jc.factory, jc.approvals, jc.hostname, jc.today).run(facts)


def _tool_subject(kind: str, tool, **facts: Any) -> Subject:
    return Subject(kind, tool=tool.id, tool_name=tool.name, tool_category=tool.category, **facts)


def _process_subject(p: ProcessFact, tool, kind: str = "process", **facts: Any) -> Subject:
    return _tool_subject(kind, tool, pid=p.pid, process=p.name, exe=p.exe, cmdline=tuple(redact_cmdline(p.cmdline)),
                         user=p.user, started=p.started, ppid=p.ppid, sha256=p.exe_sha256, **facts)


class RemoteJudge:
    def __init__(self, index: ToolIndex, factory: FindingFactory, approvals: list[Approval], hostname: str,
                 today: dt.date) -> None:
        self.index = index
        self.factory = factory
        self.approvals = approvals
        self.hostname = hostname
        self.today = today

    def _active_approval(self, tool_id: str) -> tuple[Approval | None, bool]:
        approval = find_approval(self.approvals, tool_id, self.hostname)
        return approval, bool(approval and not approval.expired(self.today))

    # ------------------------------------------------------------------ the checks
    def run(self, facts: RemoteFacts) -> list[Finding]:
        findings: list[Finding] = []
        sockets_by_pid: dict[int, list[SocketFact]] = defaultdict(list)
        for s in facts.sockets:
            if s.pid is not None:
                sockets_by_pid[s.pid].append(s)
        running_tools: dict[str, list[dict]] = defaultdict(list)
        approved_evidence: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        matched_pids: set[int] = set()

        for p in facts.processes:
            m, renamed = self.index.match_process(p)
            if m is None:
                continue
            matched_pids.add(p.pid)
            ev = self._process_evidence(p, m, sockets_by_pid.get(p.pid, []), renamed)
            tool = m.tool
            running_tools[tool.id].append(ev)
            approval, active = self._active_approval(tool.id)
            if active:
                approved_evidence[tool.id]["processes"].append(ev)
                continue
            findings.append(self._process_finding(p, m, renamed, ev, approval))

        findings += self._unknown_listeners(facts, matched_pids, running_tools)
        findings += self._persistence(facts, running_tools, approved_evidence)
        for tool_id, ev in approved_evidence.items():
            tool = self.index.tools[tool_id]
            approval, _ = self._active_approval(tool_id)
            findings.append(self.factory.make(
                "RC-007", Target("tool", tool.id, tool.name), {"tool": _tool_dict(tool), **ev,
                                                               "approval": approval.to_dict(self.today)},
                {"tool": tool.name}, subject=_tool_subject("tool", tool)))
        findings += self._os_features(facts)
        return findings

    def _process_evidence(self, p: ProcessFact, m: Match, sockets: list[SocketFact], renamed: bool) -> dict:
        listening = sorted({f"{s.proto}/{s.ip}:{s.port}" for s in sockets if s.status == "LISTEN"})
        connections = sorted({s.remote for s in sockets if s.status == "ESTABLISHED" and s.remote})
        ev: dict[str, Any] = {
            "pid": p.pid, "name": p.name, "exe": p.exe, "cmdline": redact_cmdline(p.cmdline), "user": p.user,
            "started": p.started, "ppid": p.ppid, "parent": p.parent, "listening": listening,
            "connections": connections[:MAX_CONNECTIONS], "match": {"how": m.how, "value": m.value},
            "tool": _tool_dict(m.tool),
        }
        if p.name_source != "psutil":
            ev["name_source"] = p.name_source
        if p.version_info:
            ev["pe_version_info"] = dict(p.version_info)
        if p.exe_sha256:
            ev["exe_sha256"] = p.exe_sha256
        if renamed:
            ev["renamed"] = True
            ev["recognised_by"] = RECOGNISED_BY.get(m.how, m.how)
        if m.how == "pe_signer":
            ev["pe_signers"] = [s.to_dict() for s in p.signers]
        elif m.how == "go_module":
            ev["go_build"] = {"module": p.build_marks.go_module, "package": p.build_marks.go_package}
        elif m.how == "rust_crate":
            ev["rust_crates"] = [c for c in p.build_marks.rust_crates if c in m.tool.rust_crates]
        return ev

    def _process_finding(self, p: ProcessFact, m: Match, renamed: bool, ev: dict, approval: Approval | None) -> Finding:
        tool = m.tool
        target = Target("process", p.exe or p.name, f"{p.name} (pid {p.pid})")
        params = {"tool": tool.name, "name": p.name}
        info, note = _approval_note(approval, self.today)
        if info:
            ev["approval"] = info
        subject = _process_subject(p, tool)
        if tool.exposure == "outbound":
            return self.factory.make("RC-009", target, ev, params, subject=subject, note=note)
        if tool.category == "im_assist":
            return self.factory.make("RC-008", target, ev, params, subject=subject, note=note)
        if renamed:
            return self.factory.make("RC-002", target, ev, params, subject=subject, note=note)
        check = "RC-005" if tool.is_tunnel else "RC-001"
        return self.factory.make(check, target, ev, params, subject=subject, note=note)

    def _unknown_listeners(self, facts: RemoteFacts, matched_pids: set[int], running: dict[str, list[dict]]) -> list[Finding]:
        out: list[Finding] = []
        procs = {p.pid: p for p in facts.processes}
        seen: set[tuple[int | None, int]] = set()
        for s in facts.sockets:
            if s.status != "LISTEN" or s.port not in self.index.ports:
                continue
            tools = self.index.ports[s.port]
            if s.pid is not None and s.pid in matched_pids:
                continue
            if s.pid is None and any(t.id in running for t in tools):
                # No owner reported (Wine, some Windows builds): a running tool of this port explains it.
                for t in tools:
                    for ev in running.get(t.id, []):
                        ev.setdefault("listening_unattributed", []).append(f"{s.proto}/{s.ip}:{s.port}")
                continue
            p = procs.get(s.pid) if s.pid is not None else None
            if p is not None and p.name.casefold() in OS_PORT_OWNERS:
                continue
            if (s.pid, s.port) in seen:
                continue
            seen.add((s.pid, s.port))
            name = p.name if p else "(unknown process)"
            ev: dict[str, Any] = {"port": s.port, "proto": s.proto, "address": s.ip, "pid": s.pid,
                                  "loopback_only": s.loopback_only,
                                  "port_of": [_tool_dict(t) for t in tools]}
            if p:
                ev.update({"name": p.name, "exe": p.exe, "cmdline": redact_cmdline(p.cmdline), "user": p.user,
                           "started": p.started, "parent": p.parent})
                if p.exe_sha256:
                    ev["exe_sha256"] = p.exe_sha256
                subject = _process_subject(p, tools[0], kind="socket", port=s.port, address=s.ip)
            else:
                subject = _tool_subject("socket", tools[0], port=s.port, address=s.ip, pid=s.pid)
            ref = f"{p.exe or p.name}:{s.port}" if p else f"port:{s.proto}/{s.port}"
            label = f"{name} (pid {s.pid}) :{s.port}" if p else f"{s.proto}/{s.ip}:{s.port}"
            out.append(self.factory.make("RC-006", Target("socket", ref, label), ev,
                                         {"port": s.port, "name": name}, subject=subject))
        return out

    def _persistence(self, facts: RemoteFacts, running: dict[str, list[dict]],
                     approved_evidence: dict[str, dict[str, list]]) -> list[Finding]:
        autostart: dict[str, list[dict]] = defaultdict(list)
        installed: dict[str, list[dict]] = defaultdict(list)
        for svc in facts.services:
            tool = self.index.by_service(svc.name)
            m = Match(tool, "service_name", svc.name) if tool else self.index.by_command(svc.command)
            if m is None:
                continue
            entry = _redacted({**svc.to_dict(), "match": {"how": m.how, "value": m.value}})
            (autostart if svc.autostarts else installed)[m.tool.id].append({"kind": "service", **entry})
        for a in facts.autostart:
            m = self.index.by_command(a.command)
            if m is None:
                tool = self.index.by_autostart_name(a.name)
                m = Match(tool, "autostart_name", a.name) if tool else None
            if m is None:
                continue
            autostart[m.tool.id].append(_redacted({**a.to_dict(), "match": {"how": m.how, "value": m.value}}))
        for inst in facts.installed:
            m = self._match_installed(inst)
            if m is not None:
                installed[m.tool.id].append(_redacted({**inst.to_dict(), "match": {"how": m.how, "value": m.value}}))

        out: list[Finding] = []
        for tool_id in sorted(set(autostart) | set(installed)):
            tool = self.index.tools[tool_id]
            approval, active = self._active_approval(tool_id)
            ev: dict[str, Any] = {"tool": _tool_dict(tool), "autostart": autostart.get(tool_id, []),
                                  "installed": installed.get(tool_id, []),
                                  "running_pids": [e["pid"] for e in running.get(tool_id, [])]}
            if active:
                approved_evidence[tool_id]["autostart"].extend(ev["autostart"])
                approved_evidence[tool_id]["installed"].extend(ev["installed"])
                continue
            info, note = _approval_note(approval, self.today)
            if info:
                ev["approval"] = info
            params = {"tool": tool.name}
            target = Target("tool", tool.id, tool.name)
            subject = _tool_subject("tool", tool)
            if tool.exposure == "outbound" or tool.category == "im_assist":
                if tool_id in running:
                    continue  # already listed with its process
                check = "RC-009" if tool.exposure == "outbound" else "RC-008"
                out.append(self.factory.make(check, target, ev, params, subject=subject, note=note))
            elif autostart.get(tool_id):
                check = "RC-005" if tool.is_tunnel else "RC-003"
                out.append(self.factory.make(check, Target("autostart", tool.id, tool.name), ev, params,
                                             subject=subject, note=note))
            elif tool_id not in running:
                out.append(self.factory.make("RC-004", target, ev, params, subject=subject, note=note))
            elif ev["installed"]:
                # running and installed: the process finding also names where it is installed (what to remove)
                for proc_ev in running[tool_id]:
                    proc_ev["installed"] = ev["installed"]
        return out

    def _match_installed(self, inst) -> Match | None:
        if inst.source in ("dpkg", "rpm"):
            tool = self.index.packages.get(inst.name.casefold())
            return Match(tool, "package", inst.name) if tool else None
        if inst.source == "folder":
            return self.index.by_path(inst.location)
        tool = self.index.by_display_name(inst.name)
        if tool:
            return Match(tool, "display_name", inst.name)
        return self.index.by_path(inst.location) if inst.location else None

    def _os_features(self, facts: RemoteFacts) -> list[Finding]:
        out: list[Finding] = []
        checks = {"rdp": "RC-010", "remote_assistance": "RC-011", "winrm": "RC-012", "sshd": "RC-013",
                  "xrdp": "RC-014", "gnome_remote_desktop": "RC-014", "vino": "RC-014"}
        names = {"xrdp": "xrdp", "gnome_remote_desktop": "GNOME Remote Desktop", "vino": "Vino (VNC)"}
        for s in facts.settings:
            if not s.enabled or s.feature not in checks:
                continue
            listening = s.details.get("listening") or []
            exposed = [a for a in listening if not a.split(":")[0].startswith("127.") and not a.startswith("[::1]")
                       and not a.startswith("::1")]
            ev = {"feature": s.feature, "source": s.source, **s.details, "exposed_addresses": exposed}
            shown = names.get(s.feature, s.feature)
            port = s.details.get("port")
            subject = Subject("setting", setting=s.feature, tool_name=shown, tool_category="os_feature",
                              port=port if isinstance(port, int) else None)
            out.append(self.factory.make(checks[s.feature], Target("setting", s.feature, shown), ev,
                                         {"feature": shown}, subject=subject, conditions={"exposed": bool(exposed)}))
        return out


def _redacted(entry: dict[str, Any]) -> dict[str, Any]:
    """A service, autostart or installed-program entry with the secrets of its command string masked
    (``ExecStart=frpc -t TOKEN``, an UninstallString, a .desktop ``Exec=`` line, a scheduled task)."""
    if isinstance(entry.get("command"), str):
        entry["command"] = redact_command(entry["command"])
    return entry
