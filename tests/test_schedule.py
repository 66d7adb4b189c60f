"""Scheduling: generated task XML, systemd units and cron entries as text; install/status/remove through the
real CLI (cron with a crontab file override; systemd and schtasks through stand-in commands on PATH; a real
systemd --user timer where a user manager is reachable); the scheduled run itself (dated reports, baseline,
pruning)."""

from __future__ import annotations

import configparser
import json
import os
import random
import shlex
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.core.options import ScanOptions
from auditor.schedule import Job, When, parse_when
from auditor.schedule import texts
from auditor.errors import UsageError
from conftest import run_cli
from exportgen import export_rows, write_csv

NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def _job(tmp: Path, when: When, keep: int = 7) -> Job:
    return Job(when, tmp / "rep orts 100%" / "$HOME", keep, ScanOptions(paths=[tmp / "a b"], role="office"))


def _unit(text: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None, strict=False, comment_prefixes=("#",))
    cp.optionxform = str  # type: ignore[assignment]
    cp.read_string(text)
    return cp


def _systemd_words(line: str) -> list[str]:
    """Split an ExecStart= value the way systemd does for our quoting (double quotes, C escapes, %% and $$)."""
    words = shlex.split(line.replace("%%", "%").replace("$$", "$"), posix=True)
    return words


# --------------------------------------------------------------------------- text generators

def test_parse_when():
    assert parse_when(None, None) == When("daily", 12, 30)
    assert parse_when("02:05", None) == When("daily", 2, 5)
    assert parse_when(None, ["Fri", "18:00"]) == When("weekly", 18, 0, 4)
    assert parse_when(None, ["周日", "7:30"]) == When("weekly", 7, 30, 6)
    for bad in (("25:00", None), ("2pm", None), (None, ["someday", "10:00"]), (None, ["mon", "10:60"])):
        with pytest.raises(UsageError):
            parse_when(*bad)


def test_systemd_units_as_text(tmp_path):
    job = _job(tmp_path, When("weekly", 18, 5, 4))
    service = _unit(texts.systemd_service(job, system=True))
    s = service["Service"]
    assert s["Type"] == "oneshot"
    assert s["Nice"] == "19" and s["IOSchedulingClass"] == "idle" and s["CPUSchedulingPolicy"] == "idle"
    assert s["UMask"] == "0077" and s["SuccessExitStatus"] == "1"
    assert "ProtectSystem" in s  # system scope is hardened
    words = _systemd_words(s["ExecStart"])
    assert words == job.argv()  # paths with spaces, % and $ survive quoting
    assert "%%" in s["ExecStart"] and "$$" in s["ExecStart"]
    assert "ProtectSystem" not in _unit(texts.systemd_service(job, system=False))["Service"]

    timer = _unit(texts.systemd_timer(job))
    assert timer["Timer"]["OnCalendar"] == "Fri *-*-* 18:05:00"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "yuncang-auditor-scan.service"
    assert timer["Install"]["WantedBy"] == "timers.target"
    daily = _unit(texts.systemd_timer(_job(tmp_path, When("daily", 2, 0))))
    assert daily["Timer"]["OnCalendar"] == "*-*-* 02:00:00"


def test_task_xml_as_text(tmp_path):
    job = Job(When("weekly", 9, 15, 0), Path(r"C:\ProgramData\yuncang-auditor\reports & more"), 12,
              ScanOptions(paths=[Path(r"C:\Users\王 五\Desktop")]))
    xml = texts.task_xml(job, system=True)
    root = ET.fromstring(xml.replace('encoding="UTF-16"', ""))  # parsed from text, not bytes
    trig = root.find("t:Triggers/t:CalendarTrigger", NS)
    assert trig.find("t:StartBoundary", NS).text.endswith("T09:15:00")
    assert trig.find("t:ScheduleByWeek/t:DaysOfWeek/t:Monday", NS) is not None
    assert trig.find("t:ScheduleByWeek/t:WeeksInterval", NS).text == "1"
    principal = root.find("t:Principals/t:Principal", NS)
    assert principal.find("t:UserId", NS).text == "S-1-5-18"  # SYSTEM: runs whether or not a user is logged on
    settings = root.find("t:Settings", NS)
    assert settings.find("t:Priority", NS).text == "9"  # lowest priority
    assert settings.find("t:StartWhenAvailable", NS).text == "true"
    assert settings.find("t:DisallowStartIfOnBatteries", NS).text == "false"
    assert settings.find("t:MultipleInstancesPolicy", NS).text == "IgnoreNew"
    exe = root.find("t:Actions/t:Exec/t:Command", NS).text
    args = root.find("t:Actions/t:Exec/t:Arguments", NS).text
    assert exe == job.argv()[0]
    assert subprocess.list2cmdline(job.argv()[1:]) == args
    assert '"C:\\ProgramData\\yuncang-auditor\\reports & more"' in args
    assert "王 五" in args

    user = ET.fromstring(texts.task_xml(job, system=False, user_id="WH\\clerk").replace('encoding="UTF-16"', ""))
    p = user.find("t:Principals/t:Principal", NS)
    assert p.find("t:UserId", NS).text == "WH\\clerk" and p.find("t:LogonType", NS).text == "S4U"
    daily = ET.fromstring(texts.task_xml(_job(tmp_path, When("daily", 1, 2)), True).replace('encoding="UTF-16"', ""))
    assert daily.find("t:Triggers/t:CalendarTrigger/t:ScheduleByDay/t:DaysInterval", NS).text == "1"

    data = texts.task_xml_bytes(xml)
    assert data[:2] == b"\xff\xfe" and "\r\n" in data.decode("utf-16")  # what schtasks /XML reads


def test_cron_entry_as_text(tmp_path):
    job = _job(tmp_path, When("weekly", 6, 7, 6))  # Sunday
    block = texts.cron_block(job)
    lines = block.splitlines()
    assert lines[0].startswith("# BEGIN yuncang-auditor") and lines[-1] == "# END yuncang-auditor"
    assert lines[1].startswith("7 6 * * 0 ")  # cron counts Sunday as 0
    assert r"100\%" in lines[1] and "100%" not in lines[1].replace(r"\%", "")  # % escaped for cron
    assert "nice -n 19" in lines[1] and "umask 077" in lines[1]
    assert texts.cron_fields(_job(tmp_path, When("daily", 23, 59))) == "59 23 * * *"
    system = texts.cron_system_file(job)
    assert "\n7 6 * * 0 root umask 077;" in system

    mine = "MAILTO=ops@example.com\n# nightly backup\n0 1 * * * /usr/local/bin/backup\n"
    added = texts.add_block(mine, block)
    assert added.startswith(mine) and added.count("# BEGIN yuncang-auditor") == 1
    again = texts.add_block(added, texts.cron_block(_job(tmp_path, When("daily", 1, 1))))
    assert again.count("# BEGIN yuncang-auditor") == 1 and "1 1 * * *" in again
    assert texts.strip_block(again) == (mine, True)
    assert texts.strip_block(mine) == (mine, False)


# --------------------------------------------------------------------------- install / status / remove

def _env(tmp: Path, **extra: str) -> dict:
    return {"AUDITOR_STATE_DIR": str(tmp / "state"), **extra}


def test_cron_install_status_remove_keeps_other_entries(tmp_path):
    crontab = tmp_path / "crontab"
    original = "SHELL=/bin/sh\n# backup\n15 3 * * * /usr/local/bin/backup --all\n"
    crontab.write_text(original, encoding="utf-8")
    env = _env(tmp_path, AUDITOR_CRONTAB_FILE=str(crontab))
    out = tmp_path / "reports"

    res = run_cli("schedule", "status", "--lang", "en", "--user", env=env)
    assert res.returncode == 1 and "no schedule installed" in res.stdout

    res = run_cli("schedule", "install", "--lang", "en", "--user", "--backend", "cron", "--weekly", "mon", "08:45",
                  "--output-dir", str(out), "--keep", "3", "--path", str(tmp_path), env=env)
    assert res.returncode == 0, res.stderr
    assert "schedule installed: weekly on Mon at 08:45" in res.stdout
    text = crontab.read_text(encoding="utf-8")
    assert text.startswith(original)
    entry = [l for l in text.splitlines() if l.startswith("45 8 * * 1 ")]
    assert len(entry) == 1 and "schedule run-now" in entry[0] and "--keep 3" in entry[0]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700  # output folder created owner-only

    res = run_cli("schedule", "status", "--lang", "en", env=env)  # no scope given: every installed one
    assert res.returncode == 0, res.stderr
    assert "user: cron, weekly on Mon at 08:45" in res.stdout and "registered: yes" in res.stdout
    assert "last run: none yet" in res.stdout

    # reinstalling replaces our entry, never duplicates it
    res = run_cli("schedule", "install", "--lang", "en", "--user", "--backend", "cron", "--daily", "12:00",
                  "--output-dir", str(out), env=env)
    assert res.returncode == 0, res.stderr
    assert crontab.read_text(encoding="utf-8").count("schedule run-now") == 1

    res = run_cli("schedule", "remove", "--lang", "en", "--user", env=env)
    assert res.returncode == 0, res.stderr
    assert crontab.read_text(encoding="utf-8") == original
    assert run_cli("schedule", "status", "--lang", "en", "--user", env=env).returncode == 1
    res = run_cli("schedule", "remove", "--lang", "en", "--user", env=env)
    assert res.returncode == 0 and "no schedule was installed" in res.stdout


def _fake_tool(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body), encoding="utf-8")
    path.chmod(0o755)


def test_systemd_user_flow_with_a_standin_systemctl(tmp_path):
    """The systemd backend's calls, in order, against a stand-in systemctl (the real one is tested below where
    a user manager exists)."""
    log = tmp_path / "calls.jsonl"
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "systemctl", f"""
        import json, sys
        with open({str(log)!r}, "a") as fh:
            fh.write(json.dumps(sys.argv[1:]) + "\\n")
        if sys.argv[1:3] == ["--user", "show"]:
            print("ActiveState=active\\nUnitFileState=enabled\\nNextElapseUSecRealtime=Mon 2026-12-07 08:45:00 CST")
    """)
    units = tmp_path / "units"
    env = _env(tmp_path, AUDITOR_SYSTEMD_DIR=str(units), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    res = run_cli("schedule", "install", "--lang", "en", "--user", "--backend", "systemd", "--weekly", "mon", "08:45",
                  "--output-dir", str(tmp_path / "r"), env=env)
    assert res.returncode == 0, res.stderr + res.stdout
    calls = [json.loads(l) for l in log.read_text().splitlines()]
    assert ["--user", "daemon-reload"] in calls
    assert ["--user", "enable", "--now", "yuncang-auditor-scan.timer"] in calls
    assert calls.index(["--user", "daemon-reload"]) < calls.index(["--user", "enable", "--now",
                                                                    "yuncang-auditor-scan.timer"])
    timer = units / "yuncang-auditor-scan.timer"
    assert "OnCalendar=Mon *-*-* 08:45:00" in timer.read_text()
    assert "loginctl enable-linger" in res.stdout

    res = run_cli("schedule", "status", "--lang", "en", "--user", env=env)
    assert res.returncode == 0 and "NextElapseUSecRealtime: Mon 2026-12-07 08:45:00 CST" in res.stdout

    res = run_cli("schedule", "remove", "--lang", "en", "--user", env=env)
    assert res.returncode == 0, res.stderr
    assert ["--user", "disable", "--now", "yuncang-auditor-scan.timer"] in \
        [json.loads(l) for l in log.read_text().splitlines()]
    assert not timer.exists() and not (units / "yuncang-auditor-scan.service").exists()


def test_schtasks_registration_through_a_standin(tmp_path):
    """Windows registration is `schtasks /Create /TN … /XML file /F`; the stand-in keeps the XML it was given."""
    log = tmp_path / "calls.jsonl"
    kept = tmp_path / "registered.xml"
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "schtasks", f"""
        import json, shutil, sys
        args = sys.argv[1:]
        with open({str(log)!r}, "a") as fh:
            fh.write(json.dumps(args) + "\\n")
        if args[0] == "/Create":
            shutil.copy(args[args.index("/XML") + 1], {str(kept)!r})
        elif args[0] == "/Query":
            import os
            if not os.path.exists({str(kept)!r}):
                sys.exit(1)
            print("HostName:      WH-01\\nTaskName:      \\\\yuncang-auditor\\\\scheduled-scan\\n"
                  "Next Run Time: 2026/12/1 9:15:00\\nStatus:        Ready\\nLast Result:   0")
        elif args[0] == "/Delete":
            import os
            os.unlink({str(kept)!r})
    """)
    env = _env(tmp_path, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    res = run_cli("schedule", "install", "--lang", "en", "--system", "--backend", "schtasks", "--daily", "09:15",
                  "--output-dir", str(tmp_path / "r"), env=env)
    assert res.returncode == 0, res.stderr + res.stdout
    create = json.loads(log.read_text().splitlines()[0])
    assert create[:3] == ["/Create", "/TN", r"\yuncang-auditor\scheduled-scan"] and create[-1] == "/F"
    xml = kept.read_bytes().decode("utf-16")
    root = ET.fromstring(xml.replace('encoding="UTF-16"', ""))
    assert root.find("t:Principals/t:Principal/t:UserId", NS).text == "S-1-5-18"
    assert root.find("t:Triggers/t:CalendarTrigger/t:StartBoundary", NS).text.endswith("T09:15:00")

    res = run_cli("schedule", "status", "--lang", "en", "--system", env=env)
    assert res.returncode == 0 and "next_run: 2026/12/1 9:15:00" in res.stdout and "status: Ready" in res.stdout
    res = run_cli("schedule", "remove", "--lang", "en", "--system", env=env)
    assert res.returncode == 0 and "deleted" in res.stdout
    assert not kept.exists()


def test_schtasks_failure_is_a_clear_message(tmp_path):
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "schtasks", "import sys\nprint('ERROR: Access is denied.')\nsys.exit(1)\n")
    env = _env(tmp_path, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    res = run_cli("schedule", "install", "--lang", "en", "--system", "--backend", "schtasks", "--output-dir", str(tmp_path / "r"),
                  env=env)
    assert res.returncode == 2
    assert "Access is denied" in res.stdout and "administrator" in res.stdout
    assert run_cli("schedule", "status", "--lang", "en", "--system", env=env).returncode == 1  # nothing recorded


def _user_systemd_reason() -> str | None:
    try:
        res = subprocess.run(["systemctl", "--user", "show-environment"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"systemctl --user cannot run here ({exc})"
    if res.returncode != 0:
        return ("no systemd user manager reachable here (`systemctl --user show-environment`: "
                f"{(res.stderr or res.stdout).strip() or res.returncode}); containers without systemd as PID 1 "
                "have none")
    return None


def test_real_systemd_user_timer(tmp_path):
    reason = _user_systemd_reason()
    if reason:
        pytest.skip(reason)
    env = _env(tmp_path)
    try:
        res = run_cli("schedule", "install", "--lang", "en", "--user", "--backend", "systemd", "--daily", "03:17",
                      "--output-dir", str(tmp_path / "r"), env=env)
        assert res.returncode == 0, res.stderr + res.stdout
        timers = subprocess.run(["systemctl", "--user", "list-timers", "--all", "--no-pager"],
                                capture_output=True, text=True).stdout
        assert "yuncang-auditor-scan.timer" in timers
        assert run_cli("schedule", "status", "--lang", "en", "--user", env=env).returncode == 0
    finally:
        res = run_cli("schedule", "remove", "--lang", "en", "--user", env=env)
    assert res.returncode == 0
    timers = subprocess.run(["systemctl", "--user", "list-timers", "--all", "--no-pager"],
                            capture_output=True, text=True).stdout
    assert "yuncang-auditor-scan.timer" not in timers


def test_print_shows_what_install_would_do_on_this_host(tmp_path):
    """A new user's first step, `schedule install --print --user`: where no systemd user manager answers (a
    container, a PC whose init is not systemd) it shows the cron entry that `install` then writes, line for line;
    where one answers, the units. One decision (backends.plan) for both."""
    crontab = tmp_path / "crontab"
    bin_dir = tmp_path / "bin"
    _fake_tool(bin_dir, "systemctl", "import sys\nprint('Failed to connect to bus: No medium found', "
                                     "file=sys.stderr)\nsys.exit(1)\n")
    env = _env(tmp_path, AUDITOR_CRONTAB_FILE=str(crontab), AUDITOR_SYSTEMD_DIR=str(tmp_path / "units"),
               PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    args = ("schedule", "install", "--lang", "en", "--user", "--daily", "07:05", "--output-dir", str(tmp_path / "r"))
    shown = run_cli(*args, "--print", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "would use cron here" in shown.stderr and "no systemd user manager reachable" in shown.stderr
    assert "[Service]" not in shown.stdout and "5 7 * * * " in shown.stdout
    assert not crontab.exists() and not (tmp_path / "units").exists()  # --print installs nothing
    res = run_cli(*args, env=env)
    assert res.returncode == 0, res.stderr
    assert crontab.read_text(encoding="utf-8") == shown.stdout  # exactly what --print showed
    assert not (tmp_path / "units").exists()

    _fake_tool(bin_dir, "systemctl", "import sys\nsys.exit(0)\n")  # now a user manager answers
    shown = run_cli(*args, "--print", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "would use systemd here" in shown.stderr
    assert f"# {tmp_path / 'units' / 'yuncang-auditor-scan.timer'}" in shown.stdout
    assert "OnCalendar=*-*-* 07:05:00" in shown.stdout


def test_print_without_any_scheduler_says_install_would_refuse(tmp_path):
    env = _env(tmp_path, PATH=str(tmp_path / "empty"))  # neither systemctl nor crontab
    res = run_cli("schedule", "install", "--lang", "en", "--print", "--user", "--output-dir", str(tmp_path / "r"), env=env)
    assert res.returncode == 0, res.stderr
    assert "no scheduler is usable here" in res.stderr and "would refuse (exit 2)" in res.stderr
    assert "# BEGIN yuncang-auditor" in res.stdout
    res = run_cli("schedule", "install", "--lang", "en", "--user", "--output-dir", str(tmp_path / "r"), env=env)
    assert res.returncode == 2 and "no scheduler available here" in res.stderr


def test_install_without_any_scheduler_says_so(tmp_path):
    env = _env(tmp_path, PATH=str(tmp_path / "empty"))
    res = run_cli("schedule", "install", "--lang", "en", "--user", "--backend", "cron", "--output-dir", str(tmp_path / "r"), env=env)
    assert res.returncode == 2
    assert "--backend cron: not usable here" in res.stderr and "Traceback" not in res.stderr


# --------------------------------------------------------------------------- the scheduled run

def test_run_now_dates_compares_and_prunes(tmp_path):
    rng = random.Random(7)
    exports = tmp_path / "exports"
    write_csv(exports / "淘宝订单.csv", export_rows(rng, "taobao", 40)[0])
    out = tmp_path / "reports"
    env = _env(tmp_path)
    args = ("schedule", "run-now", "--lang", "en", "--output-dir", str(out), "--keep", "2", "--only", "files", "--path", str(exports))

    first = run_cli(*args, env=env)
    # the first run: no previous report, so every finding is new since it (README: exit 1 on new high findings)
    assert first.returncode == 1, first.stderr
    assert ("first run (no previous intact report of this PC): every finding counts as new, 1 new "
            "(1 high or critical)") in first.stdout
    assert json.loads((out / "last-run.json").read_text(encoding="utf-8"))["first_run"] is True
    stems = sorted(p.stem for p in out.glob("*.json") if p.name != "last-run.json")
    assert len(stems) == 1 and (out / f"{stems[0]}.html").is_file()
    for p in out.iterdir():
        if p.is_file():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p

    write_csv(exports / "拼多多订单.csv", export_rows(rng, "pdd", 30)[0])  # a new export since the last run
    second = run_cli(*args, env=env)
    assert second.returncode == 1, second.stderr  # new high finding since the previous report
    assert "1 new" in second.stdout and "1 still open" in second.stdout
    newest = sorted(p for p in out.glob("20*.json"))[-1]
    report = json.loads(newest.read_text(encoding="utf-8"))
    assert report["changes"]["baseline"]["intact"] is True
    assert len(report["changes"]["new"]) == 1 and len(report["changes"]["still_open"]) == 1
    assert json.loads((out / "last-run.json").read_text(encoding="utf-8"))["first_run"] is False

    third = run_cli(*args, env=env)
    assert third.returncode == 0, third.stderr  # nothing new
    assert "0 new" in third.stdout and "pruned 2 old files" in third.stdout
    reports = sorted(p.name for p in out.glob("20*"))
    assert len(reports) == 4  # the last 2 runs, JSON + HTML each
    last = json.loads((out / "last-run.json").read_text(encoding="utf-8"))
    assert last["exit_code"] == 0 and last["report"] == reports[-1] and last["baseline"] == reports[1]


def test_first_run_without_findings_exits_0_and_says_first_run(tmp_path):
    exports = tmp_path / "exports"
    write_csv(exports / "商品.csv", [["商品编码", "商品名称"], ["A-1", "纸巾"]])
    out = tmp_path / "reports"
    res = run_cli("schedule", "run-now", "--lang", "en", "--output-dir", str(out), "--only", "files", "--path", str(exports),
                  env=_env(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "first run (no previous intact report of this PC): every finding counts as new, 0 new" in res.stdout


def test_run_now_passes_over_an_altered_previous_report(tmp_path):
    rng = random.Random(8)
    exports = tmp_path / "exports"
    write_csv(exports / "a.csv", export_rows(rng, "jd", 20)[0])
    out = tmp_path / "reports"
    env = _env(tmp_path)
    args = ("schedule", "run-now", "--lang", "en", "--output-dir", str(out), "--keep", "5", "--only", "files", "--path", str(exports))
    assert run_cli(*args, env=env).returncode == 1  # first run: its findings are new
    good = sorted(out.glob("20*.json"))[-1]
    assert run_cli(*args, env=env).returncode == 0
    bad = sorted(out.glob("20*.json"))[-1]
    data = json.loads(bad.read_text(encoding="utf-8"))
    data["findings"] = []  # someone hides the findings
    bad.write_text(json.dumps(data), encoding="utf-8")
    res = run_cli(*args, env=env)
    assert res.returncode == 0, res.stderr
    assert f"since {good.name}" in res.stdout  # compared with the last intact report, not the altered one
