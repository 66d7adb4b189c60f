"""The texts a scheduler reads: Windows Task Scheduler XML, systemd service + timer units, cron entries.

Pure functions of a ``Job`` (tested as text); the backends write and register them."""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import subprocess
from xml.sax.saxutils import escape

from ..errors import UsageError
from . import NAME, SYSTEMD_DAYS, TASK_DAYS, TASK_NAME, UNIT, Job, check_value

BEGIN = f"# BEGIN {NAME} (managed by `auditor schedule`; remove with `auditor schedule remove`)"
END = f"# END {NAME}"
TASK_PRIORITY = 9  # lowest: IDLE_PRIORITY_CLASS with low I/O and memory priority
SYSTEM_SID = "S-1-5-18"


# --------------------------------------------------------------------------- systemd

def _sd_quote(arg: str) -> str:
    """One word of an ExecStart= line (systemd.syntax(7)): C-style escapes inside double quotes, %% for a
    literal % (no specifier expanded), $$ for a literal $ (no variable expanded)."""
    check_value("a command argument", arg)
    text = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    if not arg or re.search(r"[\s;'\"\\]", arg):
        return f'"{text}"'
    return text


def systemd_service(job: Job, system: bool) -> str:
    cmd = " ".join(_sd_quote(a) for a in job.argv())
    hardening = "NoNewPrivileges=yes\nProtectSystem=full\n" if system else ""
    return (
        "[Unit]\n"
        f"Description={NAME} scheduled scan (云仓个人信息泄露隐患检查)\n"
        "Documentation=man:systemd.timer(5)\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={cmd}\n"
        "# low priority: an office PC stays usable while it scans\n"
        "Nice=19\n"
        "CPUSchedulingPolicy=idle\n"
        "IOSchedulingClass=idle\n"
        "UMask=0077\n"
        "# exit 1 = new findings since the previous report: a result, not a failure of the unit\n"
        "SuccessExitStatus=1\n"
        "TimeoutStartSec=2h\n"
        f"{hardening}"
    )


def systemd_timer(job: Job) -> str:
    when = job.when
    day = f"{SYSTEMD_DAYS[when.day]} " if when.kind == "weekly" else ""
    return (
        "[Unit]\n"
        f"Description={NAME} scheduled scan, {when.describe()}\n"
        "\n"
        "[Timer]\n"
        f"OnCalendar={day}*-*-* {when.hour:02d}:{when.minute:02d}:00\n"
        "# a run missed while the PC was off happens at the next start\n"
        "Persistent=true\n"
        "AccuracySec=1min\n"
        f"Unit={UNIT}.service\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )


# --------------------------------------------------------------------------- cron

def _cron_escape(command: str) -> str:
    return command.replace("%", r"\%")  # % is a line break in a crontab command


def cron_command(job: Job) -> str:
    log = os.path.join(str(job.output_dir), "schedule.log")
    cmd = " ".join(shlex.quote(a) for a in job.argv())
    return _cron_escape(f"umask 077; nice -n 19 {cmd} >> {shlex.quote(log)} 2>&1")


def cron_fields(job: Job) -> str:
    when = job.when
    dow = str((when.day + 1) % 7) if when.kind == "weekly" else "*"  # cron: 0 = Sunday
    return f"{when.minute} {when.hour} * * {dow}"


def cron_block(job: Job, user_field: str | None = None) -> str:
    """Our entry, between markers, for a user crontab (``user_field`` None) or /etc/cron.d (``"root"``)."""
    who = f" {user_field}" if user_field else ""
    return f"{BEGIN}\n{cron_fields(job)}{who} {cron_command(job)}\n{END}\n"


def cron_system_file(job: Job) -> str:
    return ("# /etc/cron.d/" + NAME + "\nSHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            + cron_block(job, "root"))


def strip_block(text: str) -> tuple[str, bool]:
    """``text`` without our marked block; whether one was there. Everything else is kept as it was."""
    out, inside, found = [], False, False
    for line in text.splitlines(keepends=True):
        if line.startswith(f"# BEGIN {NAME}"):
            inside = found = True
            continue
        if inside:
            if line.startswith(END):
                inside = False
            continue
        out.append(line)
    return "".join(out), found


def add_block(text: str, block: str) -> str:
    rest, _ = strip_block(text)
    if rest and not rest.endswith("\n"):
        rest += "\n"
    return rest + block


# --------------------------------------------------------------------------- Windows Task Scheduler

def _user_id() -> str:
    user = os.environ.get("USERNAME") or os.environ.get("USER") or ""
    domain = os.environ.get("USERDOMAIN")
    return f"{domain}\\{user}" if domain else user


_TASK_ENV_VAR = re.compile(r"%[^%]+%")


def _task_value(what: str, value: str) -> str:
    """A value for the task XML: checked like every scheduler text, and refused when Task Scheduler would expand
    part of it as an environment variable (``%NAME%`` in the command, its arguments and folder; there is no
    escape for it). XML escaping is done where the value is placed."""
    check_value(what, value)
    if _TASK_ENV_VAR.search(value):
        raise UsageError("usage.schedule.percent_pair", what=what, value=value)
    return value


def task_xml(job: Job, system: bool, today: dt.date | None = None, user_id: str | None = None) -> str:
    """Task Scheduler 1.2 XML: a calendar trigger, run whether or not a user is logged on (SYSTEM, or the user
    through S4U without a stored password), lowest priority, missed runs caught up, no battery conditions."""
    for word in job.argv():
        _task_value("a command argument", word)
    when = job.when
    start = f"{(today or dt.date.today()).isoformat()}T{when.hour:02d}:{when.minute:02d}:00"
    if when.kind == "weekly":
        schedule = (f"      <ScheduleByWeek>\n        <DaysOfWeek>\n          <{TASK_DAYS[when.day]} />\n"
                    "        </DaysOfWeek>\n        <WeeksInterval>1</WeeksInterval>\n      </ScheduleByWeek>\n")
    else:
        schedule = "      <ScheduleByDay>\n        <DaysInterval>1</DaysInterval>\n      </ScheduleByDay>\n"
    if system:
        principal = (f"      <UserId>{SYSTEM_SID}</UserId>\n"
                     "      <RunLevel>HighestAvailable</RunLevel>\n")
    else:
        principal = (f"      <UserId>{escape(check_value('the user name', user_id or _user_id()))}</UserId>\n"
                     "      <LogonType>S4U</LogonType>\n"
                     "      <RunLevel>LeastPrivilege</RunLevel>\n")
    argv = job.argv()
    command, arguments = argv[0], subprocess.list2cmdline(argv[1:])
    workdir = os.path.dirname(command)
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\n'
        "  <RegistrationInfo>\n"
        f"    <Author>{NAME}</Author>\n"
        f"    <Description>{escape(NAME)} scheduled scan (云仓个人信息泄露隐患检查), {escape(when.describe())}; "
        f"reports in {escape(str(job.output_dir))}, last {job.keep} kept</Description>\n"
        f"    <URI>{escape(TASK_NAME)}</URI>\n"
        "  </RegistrationInfo>\n"
        "  <Triggers>\n"
        "    <CalendarTrigger>\n"
        f"      <StartBoundary>{start}</StartBoundary>\n"
        "      <Enabled>true</Enabled>\n"
        f"{schedule}"
        "    </CalendarTrigger>\n"
        "  </Triggers>\n"
        "  <Principals>\n"
        '    <Principal id="Author">\n'
        f"{principal}"
        "    </Principal>\n"
        "  </Principals>\n"
        "  <Settings>\n"
        "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n"
        "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n"
        "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n"
        "    <AllowHardTerminate>true</AllowHardTerminate>\n"
        "    <StartWhenAvailable>true</StartWhenAvailable>\n"
        "    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>\n"
        "    <IdleSettings>\n"
        "      <StopOnIdleEnd>false</StopOnIdleEnd>\n"
        "      <RestartOnIdle>false</RestartOnIdle>\n"
        "    </IdleSettings>\n"
        "    <AllowStartOnDemand>true</AllowStartOnDemand>\n"
        "    <Enabled>true</Enabled>\n"
        "    <Hidden>false</Hidden>\n"
        "    <RunOnlyIfIdle>false</RunOnlyIfIdle>\n"
        "    <WakeToRun>false</WakeToRun>\n"
        "    <ExecutionTimeLimit>PT2H</ExecutionTimeLimit>\n"
        f"    <Priority>{TASK_PRIORITY}</Priority>\n"
        "  </Settings>\n"
        '  <Actions Context="Author">\n'
        "    <Exec>\n"
        f"      <Command>{escape(command)}</Command>\n"
        f"      <Arguments>{escape(arguments)}</Arguments>\n"
        f"      <WorkingDirectory>{escape(workdir)}</WorkingDirectory>\n"
        "    </Exec>\n"
        "  </Actions>\n"
        "</Task>\n"
    )


def task_xml_bytes(text: str) -> bytes:
    """schtasks /Create /XML wants UTF-16 with a byte-order mark and CRLF line ends."""
    return text.replace("\n", "\r\n").encode("utf-16")
