"""What the remote-control collectors found: processes (with their executables' version information and SHA-256),
sockets, installed programs, services, autostart entries and OS remote settings. Collectors only state what is
there; the judge (``auditor.remote.judge``) decides what is a finding."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..authenticode import Signer
from .build_marks import BuildMarks


def _present(fact: Any) -> dict[str, Any]:
    """A fact's fields that hold something (None and "" left out of the evidence)."""
    return {k: v for k, v in asdict(fact).items() if v not in (None, "")}


@dataclass
class ProcessFact:
    pid: int
    name: str
    exe: str | None
    cmdline: list[str]
    user: str | None
    started: str | None
    ppid: int | None
    parent: str | None = None
    name_source: str = "psutil"  # psutil | cmdline (when name()/exe() raised)
    version_info: dict[str, str] = field(default_factory=dict)  # PE version strings of the executable
    signers: list[Signer] = field(default_factory=list)  # its Authenticode signers (unverified)
    build_marks: BuildMarks = field(default_factory=BuildMarks)  # its Go build info and Rust crate folders
    exe_sha256: str | None = None  # of the executable, for processes the judge may report

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SocketFact:
    proto: str  # tcp | udp
    ip: str
    port: int
    status: str  # LISTEN | ESTABLISHED | NONE (udp)
    pid: int | None
    remote: str | None = None

    @property
    def loopback_only(self) -> bool:
        return self.ip.startswith("127.") or self.ip in ("::1", "localhost")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InstalledFact:
    name: str
    source: str  # where the fact was read: registry key, dpkg, folder, .desktop file
    version: str | None = None
    publisher: str | None = None
    location: str | None = None
    command: str | None = None  # UninstallString / Exec= line

    def to_dict(self) -> dict[str, Any]:
        return _present(self)


@dataclass
class ServiceFact:
    name: str
    source: str
    display: str | None = None
    command: str | None = None
    start: str | None = None  # auto | manual | disabled | enabled (systemd) | static
    account: str | None = None
    scope: str = "system"  # system | user

    @property
    def autostarts(self) -> bool:
        return self.start in ("auto", "enabled", "boot", "system")

    def to_dict(self) -> dict[str, Any]:
        return _present(self)


@dataclass
class AutostartFact:
    kind: str  # run_key | startup_folder | scheduled_task | xdg_autostart | systemd | cron | rc_local
    name: str
    command: str
    location: str
    user: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _present(self)


@dataclass
class SettingFact:
    feature: str  # rdp | remote_assistance | winrm | sshd | xrdp | vnc | gnome_remote_desktop
    enabled: bool
    source: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RemoteFacts:
    processes: list[ProcessFact] = field(default_factory=list)
    sockets: list[SocketFact] = field(default_factory=list)
    installed: list[InstalledFact] = field(default_factory=list)
    services: list[ServiceFact] = field(default_factory=list)
    autostart: list[AutostartFact] = field(default_factory=list)
    settings: list[SettingFact] = field(default_factory=list)
