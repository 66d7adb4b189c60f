"""Installing, querying and removing the schedule: systemd (system or --user), cron (where systemd is absent),
Windows Task Scheduler (schtasks). Commands run through ``runcmd`` (a missing tool is a clear message); paths
that tests and unusual systems need to move can be overridden by environment variables:

- ``AUDITOR_SYSTEMD_DIR``: folder for the unit files (default /etc/systemd/system or ~/.config/systemd/user)
- ``AUDITOR_CRONTAB_FILE``: a file standing in for the user's crontab (or for /etc/cron.d/yuncang-auditor)
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from shutil import which
from typing import Any

from .. import runcmd
from ..durable import write_bytes
from ..errors import UsageError
from ..messages import Text
from . import NAME, TASK_NAME, UNIT, Job
from .texts import (add_block, cron_block, cron_system_file, strip_block, systemd_service, systemd_timer,
                    task_xml, task_xml_bytes)


@dataclass
class Result:
    ok: bool
    lines: list[str] = field(default_factory=list)  # messages.Text: shown in the command's --lang
    files: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def _fail(res: runcmd.CmdResult) -> str:
    return res.error or Text("schedule.backend.exit_code", code=res.returncode, output=res.text.strip()[:300])


# --------------------------------------------------------------------------- systemd

class Systemd:
    name = "systemd"

    def __init__(self, system: bool) -> None:
        self.system = system

    def _ctl(self, *args: str, timeout: float = 30) -> runcmd.CmdResult:
        return runcmd.run(["systemctl", *([] if self.system else ["--user"]), *args], timeout=timeout)

    def unit_dir(self) -> Path:
        override = os.environ.get("AUDITOR_SYSTEMD_DIR")
        if override:
            return Path(override)
        if self.system:
            return Path("/etc/systemd/system")
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(base) / "systemd" / "user"

    def available(self) -> tuple[bool, str]:
        if sys.platform == "win32":
            return False, Text("schedule.unavailable.on_windows")
        if self.system:
            if not Path("/run/systemd/system").is_dir():
                return False, Text("schedule.unavailable.systemd_not_init")
            res = self._ctl("--version", timeout=10)
            return (res.returncode == 0, "" if res.returncode == 0 else _fail(res))
        res = self._ctl("show-environment", timeout=10)
        if res.returncode == 0:
            return True, ""
        return False, Text("schedule.unavailable.no_user_manager", fail=_fail(res))

    def paths(self) -> tuple[Path, Path]:
        d = self.unit_dir()
        return d / f"{UNIT}.service", d / f"{UNIT}.timer"

    def install(self, job: Job) -> Result:
        service, timer = self.paths()
        service.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(service, systemd_service(job, self.system).encode("utf-8"), mode=0o644)
        write_bytes(timer, systemd_timer(job).encode("utf-8"), mode=0o644)
        for args in (("daemon-reload",), ("enable", "--now", f"{UNIT}.timer")):
            res = self._ctl(*args)
            if res.returncode != 0:
                self._delete_files()
                self._ctl("daemon-reload")
                return Result(False, [Text("schedule.backend.systemctl_failed", args=" ".join(args), fail=_fail(res))])
        lines = [Text("schedule.backend.timer_enabled", unit=f"{UNIT}.timer",
                      scope=Text("schedule.scope.system" if self.system else "schedule.scope.user"))]
        if not self.system:
            lines.append(Text("schedule.backend.linger_note", user=os.environ.get("USER", "$USER")))
        return Result(True, lines, [str(service), str(timer)])

    def _delete_files(self) -> list[str]:
        gone = []
        for p in self.paths():
            try:
                p.unlink()
                gone.append(str(p))
            except FileNotFoundError:
                pass
        return gone

    def status(self) -> Result:
        service, timer = self.paths()
        present = timer.exists() and service.exists()
        facts: dict[str, Any] = {"unit_files": [str(service), str(timer)], "unit_files_present": present}
        res = self._ctl("show", f"{UNIT}.timer", "--property=ActiveState,UnitFileState,NextElapseUSecRealtime,"
                                                 "LastTriggerUSec,LoadState", timeout=15)
        if res.returncode == 0:
            for line in res.text.splitlines():
                k, _, v = line.partition("=")
                if k:
                    facts[k] = v
        else:
            facts["systemctl"] = _fail(res)
        ok = present and facts.get("ActiveState", "active") == "active"
        return Result(ok, facts=facts)

    def remove(self) -> Result:
        res = self._ctl("disable", "--now", f"{UNIT}.timer")
        lines = [] if res.returncode == 0 else [Text("schedule.backend.disable_failed", unit=f"{UNIT}.timer",
                                                     fail=_fail(res))]
        gone = self._delete_files()
        self._ctl("daemon-reload")
        return Result(True, lines + [Text("schedule.backend.removed_file", path=p) for p in gone], gone)


# --------------------------------------------------------------------------- cron

class Cron:
    name = "cron"

    def __init__(self, system: bool) -> None:
        self.system = system
        override = os.environ.get("AUDITOR_CRONTAB_FILE")
        self.file = Path(override) if override else (Path(f"/etc/cron.d/{NAME}") if system else None)

    def available(self) -> tuple[bool, str]:
        if sys.platform == "win32":
            return False, Text("schedule.unavailable.on_windows")
        if os.environ.get("AUDITOR_CRONTAB_FILE"):
            return True, ""
        if self.system:
            return (Path("/etc/cron.d").is_dir(), Text("schedule.unavailable.no_cron_d"))

        return (which("crontab") is not None, Text("schedule.unavailable.no_crontab"))

    def _read_user(self) -> str:
        if self.file is not None:
            try:
                return self.file.read_text(encoding="utf-8")
            except FileNotFoundError:
                return ""
        res = runcmd.run(["crontab", "-l"])
        if res.returncode == 0:
            return res.text
        if res.returncode == 1:
            return ""  # crontab -l exits 1 when the user has none
        raise UsageError("usage.schedule.cannot_read_crontab", fail=_fail(res))

    def _write_user(self, text: str) -> None:
        if self.file is not None:
            write_bytes(self.file, text.encode("utf-8"), mode=0o600)
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "crontab"
            path.write_text(text, encoding="utf-8")
            res = runcmd.run(["crontab", str(path)])
        if res.returncode != 0:
            raise UsageError("usage.schedule.cannot_install_crontab", fail=_fail(res))

    def install(self, job: Job) -> Result:
        if self.system:  # /etc/cron.d/<name> (or the file standing in for it) is ours alone
            write_bytes(self.file, cron_system_file(job).encode("utf-8"), mode=0o644)
            return Result(True, [Text("schedule.backend.cron_written", path=self.file)], [str(self.file)])
        self._write_user(add_block(self._read_user(), cron_block(job)))
        where = self._where()
        return Result(True, [Text("schedule.backend.cron_added", where=where)], [str(where)])

    def _where(self) -> str:
        """The user's crontab, as a line names it (the file standing in for it, when one does)."""
        return str(self.file) if self.file else Text("schedule.backend.user_crontab")

    def _entry(self) -> str | None:
        text = self._read_system() if self.system else self._read_user()
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith(f"# BEGIN {NAME}") and i + 1 < len(lines):
                return lines[i + 1]
        return None

    def _read_system(self) -> str:
        try:
            return self.file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""

    def status(self) -> Result:
        entry = self._entry()
        return Result(entry is not None, facts={"entry": entry, "where": str(self.file or "user crontab")})

    def remove(self) -> Result:
        if self.system:
            try:
                self.file.unlink()
                return Result(True, [Text("schedule.backend.removed_file", path=self.file)], [str(self.file)])
            except FileNotFoundError:
                return Result(True, [Text("schedule.backend.file_absent", path=self.file)])
        text, found = strip_block(self._read_user())
        if found:
            self._write_user(text)
        where = self._where()
        return Result(True, [Text("schedule.backend.cron_removed" if found else "schedule.backend.cron_no_entry",
                                  where=where)])


# --------------------------------------------------------------------------- Windows Task Scheduler

class Schtasks:
    name = "schtasks"

    def __init__(self, system: bool) -> None:
        self.system = system

    def available(self) -> tuple[bool, str]:

        return (which("schtasks") is not None, Text("schedule.unavailable.no_schtasks"))

    def install(self, job: Job) -> Result:
        xml = task_xml(job, self.system)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "task.xml"
            path.write_bytes(task_xml_bytes(xml))
            res = runcmd.run(["schtasks", "/Create", "/TN", TASK_NAME, "/XML", str(path), "/F"], timeout=60)
        if res.returncode != 0:
            return Result(False, [Text("schedule.backend.schtasks_create_failed_system" if self.system
                                       else "schedule.backend.schtasks_create_failed", fail=_fail(res))])
        return Result(True, [Text("schedule.backend.task_registered_system" if self.system
                                  else "schedule.backend.task_registered_user", task=TASK_NAME)], [TASK_NAME])

    def status(self) -> Result:
        res = runcmd.run(["schtasks", "/Query", "/TN", TASK_NAME, "/FO", "LIST", "/V"], timeout=30)
        if res.returncode != 0:
            return Result(False, facts={"schtasks": _fail(res)})
        facts: dict[str, Any] = {}
        labels = {"Next Run Time": "next_run", "下次运行时间": "next_run", "Last Run Time": "last_run",
                  "上次运行时间": "last_run", "Last Result": "last_result", "上次结果": "last_result",
                  "Status": "status", "状态": "status", "模式": "status"}
        for line in res.text.splitlines():
            k, sep, v = line.partition(":")
            if sep and k.strip() in labels and labels[k.strip()] not in facts:
                facts[labels[k.strip()]] = v.strip()
        return Result(True, facts=facts)

    def remove(self) -> Result:
        res = runcmd.run(["schtasks", "/Delete", "/TN", TASK_NAME, "/F"], timeout=30)
        if res.returncode != 0:
            return Result(False, [Text("schedule.backend.schtasks_delete_failed", fail=_fail(res))])
        return Result(True, [Text("schedule.backend.task_deleted", task=TASK_NAME)])


BACKENDS = {"systemd": Systemd, "cron": Cron, "schtasks": Schtasks}


def plan(name: str, system: bool):
    """The backend ``install`` would use on this host, and why the others were passed over: the one named, or the
    first available of schtasks (Windows) / systemd, cron; with the reasons of those passed over (``backend``
    None when none is usable). ``choose`` (install) and ``install --print`` both decide through this function."""
    order = [name] if name != "auto" else (["schtasks"] if sys.platform == "win32" else ["systemd", "cron"])
    reasons = []
    for n in order:
        backend = BACKENDS[n](system)
        ok, why = backend.available()
        if ok:
            return backend, reasons
        reasons.append(Text("schedule.passed_over", name=n, why=why))
    return None, reasons


def fallback(name: str) -> str:
    """The backend whose text ``install --print`` shows when none is usable here: the one named, or the last
    resort of this platform (cron on Linux: systemd, when it is the init system, is usable)."""
    return name if name != "auto" else ("schtasks" if sys.platform == "win32" else "cron")


def choose(name: str, system: bool):
    """The backend to install with (``plan``); a usage error naming each reason when none is usable."""
    backend, reasons = plan(name, system)
    if backend is not None:
        return backend
    if name != "auto":
        raise UsageError("usage.schedule.backend_unusable", name=name, reason=reasons[0].params["why"])
    raise UsageError("usage.schedule.no_backend", reasons=reasons)


def is_admin() -> bool:
    if sys.platform == "win32":
        try:
            import ctypes

            return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            return False
    return hasattr(os, "geteuid") and os.geteuid() == 0


def now_iso() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")
