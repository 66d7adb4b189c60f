"""Windows registry facts: Uninstall entries, services, Run keys, remote-access settings.

Everything goes through a `RegistryView`, so the same code reads the live registry (winreg) and the
recorded regedit exports the tests use."""

from __future__ import annotations

from ..adapters.registry import RegistryView
from ..core.context import ScanContext
from .facts import AutostartFact, RemoteFacts, InstalledFact, ServiceFact, SettingFact

AREA = "remote"
UNINSTALL = r"Software\Microsoft\Windows\CurrentVersion\Uninstall"
UNINSTALL_KEYS = (rf"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
                  rf"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall")
RUN_SUFFIXES = (r"Software\Microsoft\Windows\CurrentVersion\Run",
                r"Software\Microsoft\Windows\CurrentVersion\RunOnce",
                r"Software\WOW6432Node\Microsoft\Windows\CurrentVersion\Run",
                r"Software\WOW6432Node\Microsoft\Windows\CurrentVersion\RunOnce",
                r"Software\Microsoft\Windows\CurrentVersion\Policies\Explorer\Run")
SERVICES = r"HKLM\SYSTEM\CurrentControlSet\Services"
START_TYPES = {0: "boot", 1: "system", 2: "auto", 3: "manual", 4: "disabled"}
TS = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server"
TS_POLICY = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
RA = r"HKLM\SYSTEM\CurrentControlSet\Control\Remote Assistance"


def _str(v: object) -> str | None:
    if isinstance(v, str):
        return v.strip("\x00").strip() or None
    if isinstance(v, list):
        return " ".join(str(x) for x in v) or None
    return None


def _int(v: object) -> int | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v.strip())
    return None


def _user_hives(reg: RegistryView) -> list[str]:
    """HKU\\<SID> roots of loaded user profiles (not the *_Classes twins)."""
    sids = reg.subkeys("HKU") or []
    return [f"HKU\\{s}" for s in sids if not s.casefold().endswith("_classes")]


def _installed(reg: RegistryView, facts: RemoteFacts, cov) -> None:
    roots = list(UNINSTALL_KEYS) + [f"{u}\\{UNINSTALL}" for u in _user_hives(reg)]
    for root in roots:
        for sub in reg.subkeys(root) or []:
            key = f"{root}\\{sub}"
            vals = reg.values(key) or {}
            name = _str(vals.get("DisplayName"))
            cov.examined += 1
            if not name:
                continue  # updates and components without a display name
            facts.installed.append(InstalledFact(
                name=name, source=key, version=_str(vals.get("DisplayVersion")),
                publisher=_str(vals.get("Publisher")), location=_str(vals.get("InstallLocation")),
                command=_str(vals.get("UninstallString"))))


def _services(reg: RegistryView, facts: RemoteFacts, cov) -> None:
    for name in reg.subkeys(SERVICES) or []:
        key = f"{SERVICES}\\{name}"
        vals = reg.values(key) or {}
        cov.examined += 1
        svc_type = _int(vals.get("Type"))
        if svc_type is not None and not svc_type & 0x30:
            continue  # kernel and file-system drivers
        start = _int(vals.get("Start"))
        facts.services.append(ServiceFact(
            name=name, source=key, display=_str(vals.get("DisplayName")), command=_str(vals.get("ImagePath")),
            start=START_TYPES.get(start, str(start) if start is not None else None),
            account=_str(vals.get("ObjectName"))))


def _run_keys(reg: RegistryView, facts: RemoteFacts, cov) -> None:
    roots = [("HKLM", None)] + [(u, u.split("\\", 1)[1]) for u in _user_hives(reg)]
    for root, user in roots:
        for suffix in RUN_SUFFIXES:
            key = f"{root}\\{suffix}"
            vals = reg.values(key)
            if vals is None:
                continue
            for value_name, data in vals.items():
                command = _str(data)
                cov.examined += 1
                if command:
                    facts.autostart.append(AutostartFact("run_key", value_name or "(default)", command, key, user))


def _flag(reg: RegistryView, key: str, value: str) -> int | None:
    vals = reg.values(key)
    return _int(vals.get(value)) if vals else None


def _settings(reg: RegistryView, facts: RemoteFacts, cov) -> None:
    deny = _flag(reg, TS, "fDenyTSConnections")
    policy_deny = _flag(reg, TS_POLICY, "fDenyTSConnections")
    if policy_deny is not None:
        deny = policy_deny  # Group Policy wins over the local setting
    rdp_tcp = reg.values(f"{TS}\\WinStations\\RDP-Tcp") or {}
    port = _int(rdp_tcp.get("PortNumber")) or 3389
    nla = _int(rdp_tcp.get("UserAuthentication"))
    policy_nla = _flag(reg, TS_POLICY, "UserAuthentication")
    if policy_nla is not None:
        nla = policy_nla
    cov.examined += 1
    facts.settings.append(SettingFact(
        "rdp", enabled=deny == 0, source=TS if policy_deny is None else TS_POLICY,
        details={"fDenyTSConnections": deny, "port": port, "nla": None if nla is None else bool(nla)}))
    help_ = _flag(reg, RA, "fAllowToGetHelp")
    policy_help = _flag(reg, TS_POLICY, "fAllowToGetHelp")
    if policy_help is not None:
        help_ = policy_help
    full = _flag(reg, RA, "fAllowFullControl")
    cov.examined += 1
    facts.settings.append(SettingFact(
        "remote_assistance", enabled=help_ == 1, source=RA if policy_help is None else TS_POLICY,
        details={"fAllowToGetHelp": help_, "fAllowFullControl": full}))


def collect(ctx: ScanContext, facts: RemoteFacts) -> None:
    reg = ctx.registry
    problems = getattr(reg, "problems", None)  # regedit exports: lines that could not be read
    if problems:
        cov = ctx.coverage.source(AREA, "registry-export")
        for line_no, reason in problems:
            cov.skip(f"line {line_no}", reason)
        cov.note = "lines of the --registry-export files that could not be read: what they held was not examined"
    steps = (("installed:uninstall-keys", _installed), ("services:registry", _services),
             ("autostart:run-keys", _run_keys), ("settings:rdp+remote-assistance", _settings))
    for source, step in steps:
        cov = ctx.coverage.source(AREA, source)
        if reg is None:
            cov.status = "no_data"
            cov.note = "no registry available (offline tree without hive support; pass --registry-export)"
            continue
        try:
            step(reg, facts, cov)
        except Exception as exc:  # noqa: BLE001 - one failing source never stops a scan
            cov.status, cov.note = "failed", f"{type(exc).__name__}: {exc}"
        if cov.status == "ok" and cov.examined == 0:
            cov.status, cov.note = "no_data", "the registry returned nothing for this source"
