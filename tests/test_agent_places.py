"""Where the agent keeps its data (auditor.paths) and its own log (auditor.agentlog), on Linux: root's protected
folders created 0700 and repaired when loosened, a user's own folders for a user's run, earlier versions' data
moved once, a rotating owner-only log file and syslog datagrams without personal data. Real folders, real
ownership changes (the suite runs as root), real processes and a real datagram socket. The Windows side
(%ProgramData% with its ACL, the event log) runs under Wine in test_windows_wine.py."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor import paths
from auditor.agentlog import MAX_BYTES, alert_line, command_line
from clirun import child_env
from conftest import run_cli

OWN_ENV = (paths.ENV_DATA, paths.ENV_STATE, paths.ENV_QUARANTINE, paths.ENV_FLEET_DB, paths.ENV_LOGS)
MOBILE = "13812345678"
needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")


@pytest.fixture
def bare(monkeypatch):
    """No override of the agent's places (only the XDG folders stay private to the test)."""
    for var in OWN_ENV:
        monkeypatch.delenv(var, raising=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@needs_root
def test_root_keeps_its_data_in_var_lib_and_var_log(bare):
    assert paths.system_context()
    assert paths.data_dir() == Path("/var/lib/yuncang-auditor")
    assert paths.state_dir() == Path("/var/lib/yuncang-auditor/state")
    assert paths.quarantine_dir() == Path("/var/lib/yuncang-auditor/quarantine")
    assert paths.fleet_db_path() == Path("/var/lib/yuncang-auditor/fleet.sqlite")
    assert paths.reports_dir() == Path("/var/lib/yuncang-auditor/reports")
    assert paths.log_dir() == Path("/var/log/yuncang-auditor")
    assert paths.protected_roots() == [Path("/var/lib/yuncang-auditor"), Path("/var/log/yuncang-auditor")]
    # a user's schedule keeps its reports in the user's folder whoever installs it
    assert paths.reports_dir(system=False) == Path(os.environ["XDG_DATA_HOME"]) / "yuncang-auditor" / "reports"


@needs_root
def test_a_users_run_keeps_the_users_folders(tmp_path):
    """An ordinary user (uid 65534) gets its own XDG folders, and no protected folder."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    env = {k: v for k, v in os.environ.items() if k not in OWN_ENV and not k.startswith("XDG_")}
    env["HOME"] = str(home)
    code = ("import json; from auditor import paths; print(json.dumps({'system': paths.system_context(), "
            "'state': str(paths.state_dir()), 'quarantine': str(paths.quarantine_dir()), 'fleet': str(paths.fleet_db_path()),"
            " 'logs': str(paths.log_dir()), 'roots': [str(p) for p in paths.protected_roots()]}))")
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable]
    probe = subprocess.run([*as_user, "-c", "pass"], env=env, capture_output=True, text=True, timeout=60, cwd=str(home))
    if probe.returncode != 0:  # e.g. an interpreter under root's 0700 home (pyenv's 3.9 of .ci/lowest)
        pytest.skip(f"this interpreter cannot run as uid 65534: {probe.stderr.strip()[:200]}")
    res = subprocess.run([*as_user, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=str(home))
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got == {"system": False, "state": f"{home}/.local/state/yuncang-auditor",
                   "quarantine": f"{home}/.local/share/yuncang-auditor/quarantine",
                   "fleet": f"{home}/.local/share/yuncang-auditor/fleet.sqlite",
                   "logs": f"{home}/.local/state/yuncang-auditor/log", "roots": []}


@needs_root
def test_the_protected_folder_is_created_0700_before_first_use(bare, tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv(paths.ENV_DATA, str(root))
    assert paths.protected_roots() == [root]  # logs go inside it when it is moved
    state = paths.prepare(paths.state_dir())
    assert state == root / "state" and state.is_dir()
    assert _mode(root) == 0o700 and _mode(state) == 0o700 and os.stat(root).st_uid == 0
    assert paths.protect(root).outcome == "created"
    assert paths.protect(root, again=True).outcome == "ok"


@needs_root
def test_a_loosened_folder_is_repaired(tmp_path):
    """Someone made it 0755 and theirs, put a world-writable state folder in it and a link for the quarantine."""
    root = tmp_path / "data"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    os.chown(root, 1234, 1234)
    (root / "state").mkdir()
    os.chmod(root / "state", 0o777)
    os.chown(root / "state", 1234, 1234)
    elsewhere = tmp_path / "user-folder"
    elsewhere.mkdir()
    (root / "quarantine").symlink_to(elsewhere)
    os.lchown(root / "quarantine", 1234, 1234)
    result = paths.protect(root, again=True)
    assert result.outcome == "repaired"
    assert "owner was uid 1234" in result.detail and "mode was 0755" in result.detail
    assert "state: was uid 1234 mode 0777" in result.detail and "quarantine: a link of uid 1234 set aside" in result.detail
    assert _mode(root) == 0o700 and os.stat(root).st_uid == 0
    assert _mode(root / "state") == 0o700 and os.stat(root / "state").st_uid == 0
    assert not (root / "quarantine").exists() and elsewhere.is_dir()  # the link's target untouched
    assert paths.protect(root, again=True).outcome == "ok"


@needs_root
def test_a_link_placed_instead_of_the_folder_is_removed(tmp_path):
    target = tmp_path / "somewhere"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    root = tmp_path / "data"
    root.symlink_to(target)
    os.lchown(root, 1234, 1234)
    result = paths.protect(root, again=True)
    assert result.outcome == "repaired" and "a link owned by uid 1234 was removed" in result.detail
    assert root.is_dir() and not root.is_symlink() and _mode(root) == 0o700
    assert (target / "keep.txt").read_text() == "x"


@needs_root
def test_earlier_data_is_moved_once(bare, tmp_path, monkeypatch):
    """What an earlier version kept in root's own folders moves to the protected folder, once."""
    xdg_state, xdg_data = Path(os.environ["XDG_STATE_HOME"]), Path(os.environ["XDG_DATA_HOME"])
    old_state = xdg_state / "yuncang-auditor"
    old_state.mkdir(parents=True)
    (old_state / "schedule-system.json").write_text("{}")
    old_q = xdg_data / "yuncang-auditor" / "quarantine" / "items"
    old_q.mkdir(parents=True)
    (old_q / "original.csv").write_bytes(b"kept")
    (xdg_data / "yuncang-auditor" / "fleet.sqlite").write_bytes(b"SQLite format 3\0")
    root = tmp_path / "data"
    monkeypatch.setenv(paths.ENV_DATA, str(root))
    lines = paths.migrate()
    assert len(lines) == 3 and all(line.startswith("moved: ") for line in lines)
    assert (root / "state" / "schedule-system.json").read_text() == "{}"
    assert (root / "quarantine" / "items" / "original.csv").read_bytes() == b"kept"
    assert (root / "fleet.sqlite").read_bytes().startswith(b"SQLite")
    assert not old_state.exists() and _mode(root) == 0o700
    assert paths.migrate() == []


# --------------------------------------------------------------------------- the log

def _run_agentlog(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from auditor import agentlog\n" + code],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120, cwd=str(cwd))


REPORT = {"host": {"hostname": f"仓库PC-{MOBILE}"}, "summary": {"total": 3, "by_severity": {"high": 1, "low": 2}},
          "score": {"value": 71, "grade": "C", "assessed_areas": ["remote", "files"]}}


def test_scan_summary_in_the_log_file_and_syslog(tmp_path):
    """One line per scan in the owner-only log file and as a syslog datagram (the format journald and rsyslog
    read from /dev/log), personal data masked in both."""
    sock_path = tmp_path / "log.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock_path))
    server.settimeout(30)
    logs = tmp_path / "logs"
    (tmp_path / "report.json").write_text(json.dumps(REPORT), encoding="utf-8")
    code = (f"import json; agentlog.start('scan --only remote'); report = json.load(open('report.json')); "
            f"print(agentlog.scan_finished(report, ['/srv/r-{MOBILE}.json']))")
    try:
        res = _run_agentlog(code, {paths.ENV_LOGS: str(logs), "AUDITOR_SYSLOG_SOCKET": str(sock_path)}, tmp_path)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == "syslog"
        datagram = server.recv(65536).decode("utf-8")
    finally:
        server.close()
    assert datagram.startswith("<12>")  # facility user, warning: a high finding
    assert " yuncang-auditor[" in datagram and "3 findings (critical 0, high 1, medium 0, low 2, info 0)" in datagram
    assert "grade C" in datagram and MOBILE not in datagram and "138******78" in datagram
    log = logs / "auditor.log"
    assert _mode(log) == 0o600 and _mode(logs) == 0o700
    text = log.read_text(encoding="utf-8")
    assert "command: scan --only remote" in text and "[system log: syslog]" in text and "WARNING" in text
    assert MOBILE not in text and "138******78" in text


def test_no_syslog_socket_is_said_not_fatal(tmp_path):
    res = _run_agentlog(f"print(agentlog.system_log('x {MOBILE}'))",
                        {paths.ENV_LOGS: str(tmp_path / "logs"), "AUDITOR_SYSLOG_SOCKET": str(tmp_path / "none")},
                        tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == f"no syslog socket at {tmp_path / 'none'}"


def test_the_log_file_rotates_and_stays_owner_only(tmp_path):
    logs = tmp_path / "logs"
    code = ("log = agentlog.start('watch')\n"
            "for i in range(8000): log.info('alert %d %s', i, 'x' * 900)\n")  # 7 MB: past five rotations
    res = _run_agentlog(code, {paths.ENV_LOGS: str(logs)}, tmp_path)
    assert res.returncode == 0, res.stderr
    files = sorted(p.name for p in logs.iterdir())
    assert files == ["auditor.log", "auditor.log.1", "auditor.log.2", "auditor.log.3", "auditor.log.4",
                     "auditor.log.5"]
    assert all(_mode(logs / f) == 0o600 and (logs / f).stat().st_size <= MAX_BYTES + 1024 for f in files)


def test_an_internal_error_leaves_its_traceback_masked(tmp_path):
    logs = tmp_path / "logs"
    code = (f"agentlog.start('scan')\n"
            f"try:\n    open('/nonexistent/订单_{MOBILE}.csv')\n"
            f"except OSError as exc:\n    agentlog.internal_error(exc)\n")
    res = _run_agentlog(code, {paths.ENV_LOGS: str(logs), "AUDITOR_SYSLOG_SOCKET": str(tmp_path / "none")}, tmp_path)
    assert res.returncode == 0, res.stderr
    text = (logs / "auditor.log").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "FileNotFoundError" in text
    assert MOBILE not in text and "138******78" in text


def test_an_unwritable_log_never_fails_the_command(tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    res = _run_agentlog("agentlog.start('scan'); print('went on')", {paths.ENV_LOGS: str(blocker / "logs")}, tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == "went on"
    assert res.stderr.count("cannot write the log file") == 1


def test_watch_alert_line():
    line = alert_line({"event": "file_finding", "check_id": "PI-001", "severity": "high", "records": 40,
                       "path": r"C:\Users\a\Desktop\订单导出.csv", "ts": 1.0})
    assert line == r"watch alert file_finding check_id=PI-001 severity=high records=40 path=C:\Users\a\Desktop\订单导出.csv"


def test_command_lines_are_logged_without_their_values():
    assert command_line(["scan", "--only", "remote", "--output", f"/home/张伟/{MOBILE}.json"]) == \
        "scan --only … --output …"
    assert command_line(["schedule", "install", "--daily", "09:00", "--system"]) == \
        "schedule install --daily … --system"
    assert command_line(["watch", "--webhook=https://hooks.example/abc?token=s3cret"]) == "watch --webhook"
    assert command_line(["remediate", "mask", "zhangsan", "--apply"]) == "remediate mask … --apply"


@pytest.fixture
def syslog_socket(tmp_path):
    sock_path = tmp_path / "log.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock_path))
    server.settimeout(30)
    yield sock_path, server
    server.close()


def test_a_scan_run_logs_its_command_and_summary(tmp_path, syslog_socket):
    """The real `auditor scan`: the log file (in the data location) says the command and the summary, the system
    log gets the summary line."""
    sock_path, server = syslog_socket
    logs = tmp_path / "logs"
    res = run_cli("scan", "--only", "accounts", "--output", str(tmp_path / "r.json"), "--quiet",
                  env={paths.ENV_LOGS: str(logs), "AUDITOR_SYSLOG_SOCKET": str(sock_path)},
                  child=True)  # a process of its own: the agent's places are decided once per process
    assert res.returncode in (0, 1), res.stderr
    datagram = server.recv(65536).decode("utf-8")
    assert " yuncang-auditor[" in datagram and "scan finished on " in datagram and "areas accounts" in datagram
    text = (logs / "auditor.log").read_text(encoding="utf-8")
    assert "command: scan --only … --output … --quiet" in text and "scan finished on " in text
    assert "[system log: syslog]" in text and str(tmp_path / "r.json") in text


@pytest.mark.slow  # two child processes
def test_debug_prints_the_traceback_of_an_internal_error(tmp_path):
    """Exit 3 stays; `--debug` (before or after the command) adds the traceback, personal data masked; the log
    file has it either way. (The bug is made by replacing the pipeline's run in the child process: there is no
    known bug to trigger.)"""
    logs = tmp_path / "logs"
    code = ("import sys\nfrom auditor.scan import pipeline\n"
            f"def run(opts):\n    raise RuntimeError('bug near 订单_{MOBILE}.csv')\n"
            "pipeline.run = run\nfrom auditor.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    env = {**os.environ, paths.ENV_LOGS: str(logs)}
    out = str(tmp_path / "r.json")
    for argv in (["--debug", "scan", "--only", "remote", "-o", out, "--lang", "en"],
                 ["scan", "--only", "remote", "-o", out, "--debug", "--lang", "en"]):
        res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env,
                             timeout=120)
        assert res.returncode == 3, res.stderr
        assert "Traceback (most recent call last)" in res.stderr and "RuntimeError: bug near" in res.stderr
        assert MOBILE not in res.stderr and "138******78" in res.stderr
        assert "auditor: internal error: RuntimeError" in res.stderr and str(logs / "auditor.log") in res.stderr
    res = subprocess.run([sys.executable, "-c", code, "scan", "--only", "remote", "-o", out, "--lang", "en"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 3 and "Traceback" not in res.stderr and "internal error: RuntimeError" in res.stderr
    text = (logs / "auditor.log").read_text(encoding="utf-8")
    assert text.count("Traceback (most recent call last)") == 3 and MOBILE not in text


def test_a_watch_alert_goes_to_the_log_and_the_system_log(tmp_path, syslog_socket):
    """Each alert the watch sink emits (not its status lines) is one masked line in both logs."""
    sock_path, server = syslog_socket
    logs = tmp_path / "logs"
    code = ("from auditor import agentlog\nfrom auditor.watch.alerts import Sink\nagentlog.start('watch')\n"
            "sink = Sink(None, console=False)\n"
            f"sink.emit('file_finding', check_id='PI-001', severity='high', records=40, path='/srv/{MOBILE}.csv')\n"
            "sink.emit('started', message='watching')\nsink.close()\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, paths.ENV_LOGS: str(logs), "AUDITOR_SYSLOG_SOCKET": str(sock_path)})
    assert res.returncode == 0, res.stderr
    datagram = server.recv(65536).decode("utf-8")
    assert datagram.startswith("<12>") and "watch alert file_finding check_id=PI-001 severity=high" in datagram
    assert MOBILE not in datagram
    text = (logs / "auditor.log").read_text(encoding="utf-8")
    assert text.count("watch alert ") == 1 and "WARNING" in text and MOBILE not in text


# --------------------------------------------------------------------------- owner-only from the first creation

def _loose_modes(root: Path) -> list[str]:
    """Every folder under ``root`` (itself included) that is not 0700, every file that is not 0600."""
    found = []
    for folder, dirs, files in os.walk(root):
        for path, want in [(Path(folder), 0o700)] + [(Path(folder) / f, 0o600) for f in files]:
            if _mode(path) != want:
                found.append(f"{path.relative_to(root.parent)} {_mode(path):04o}")
    return found


def _fresh_data(tmp_path: Path, name: str, monkeypatch) -> tuple[Path, dict]:
    """A data folder no command has made yet: every place of the agent inside it (no per-place override)."""
    for var in (paths.ENV_STATE, paths.ENV_QUARANTINE, paths.ENV_FLEET_DB, paths.ENV_LOGS):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / name / "yuncang-auditor"
    return data, {paths.ENV_DATA: str(data)}


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # what a login shell usually has: folders made without a mode come out 0755
    yield
    os.umask(old)


@needs_root
def test_every_command_makes_its_data_folders_owner_only(tmp_path, monkeypatch, umask_022):
    """scan, remediate, fleet, schedule run-now, inspect and watch, each first on a fresh data folder: every folder
    it creates there is 0700 and every file 0600 (fleet.sqlite in a 0700 folder, whoever made the folder)."""
    from exportgen import export_rows, write_csv
    import random

    exports = tmp_path / "exports"
    write_csv(exports / "订单.csv", export_rows(random.Random(4), "taobao", 20)[0])
    report = tmp_path / "r.json"
    runs = {
        "scan": ("scan", "--only", "files", "--path", str(exports), "-q", "-o", str(report)),
        "remediate": ("remediate", "mask", str(exports / "订单.csv"), "--apply"),
        "fleet": ("fleet", "ingest", str(report)),
        "run-now": ("schedule", "run-now", "--only", "files", "--path", str(exports)),
        "inspect": ("inspect", "-o", str(tmp_path / "b.zip"), "--path", str(exports)),
    }
    made = {}
    for name, args in runs.items():
        data, env = _fresh_data(tmp_path, name, monkeypatch)
        res = run_cli(*args, env=env)
        assert res.returncode in (0, 1), (name, res.stderr)
        assert _loose_modes(data) == [], name
        made[name] = sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_dir())
    assert "quarantine" in made["remediate"] and "state" in made["scan"] and "reports" in made["run-now"]
    assert (tmp_path / "fleet" / "yuncang-auditor" / "fleet.sqlite").is_file()

    # watch (a long-running process: a child, stopped by SIGTERM), its events file in a folder it creates
    data, env = _fresh_data(tmp_path, "watch", monkeypatch)
    events = tmp_path / "w" / "events" / "e.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "watch", "--path", str(exports), "--no-processes",
                             "--events", str(events)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=child_env({k: v for k, v in env.items()}), stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (events.exists() and "watch_started" in events.read_text()):
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(30)
    assert _loose_modes(data) == [] and (data / "logs").is_dir()
    assert _mode(events.parent) == 0o700 and _mode(events.parent.parent) == 0o700 and _mode(events) == 0o600


@needs_root
def test_a_data_folder_left_loose_is_made_owner_only_before_use(tmp_path, monkeypatch, umask_022):
    """A data folder an earlier version or another tool left 0755 (with a 0755 quarantine in it): the first command
    that writes there makes it 0700 before fleet.sqlite or an original lands in it."""
    data, env = _fresh_data(tmp_path, "old", monkeypatch)
    (data / "quarantine").mkdir(parents=True)
    os.chmod(data, 0o755)
    os.chmod(data / "quarantine", 0o755)
    export = tmp_path / "a.csv"
    from exportgen import export_rows, write_csv
    import random

    write_csv(export, export_rows(random.Random(5), "jd", 10)[0])
    res = run_cli("remediate", "mask", str(export), "--apply", env=env)
    assert res.returncode == 0, res.stderr
    assert _loose_modes(data) == []


@pytest.fixture
def user_home():
    """A home for uid 65534 that it can reach by its absolute path (pytest's base folder is root's, 0700)."""
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="auditor-user-"))
    os.chmod(top, 0o755)
    try:
        yield top / "home"
    finally:
        shutil.rmtree(top, ignore_errors=True)


@needs_root
def test_a_users_data_folder_left_loose_is_made_owner_only(user_home):
    """An ordinary user (uid 65534) whose `yuncang-auditor` data folder an earlier version left 0755: `remediate
    mask --apply` and then `fleet ingest` leave it, the quarantine and the fleet store owner-only."""
    from exportgen import export_rows, write_csv
    import random

    home = user_home
    data = home / ".local" / "share" / "yuncang-auditor"
    data.mkdir(parents=True)
    os.chmod(data, 0o755)
    write_csv(home / "a.csv", export_rows(random.Random(6), "pdd", 10)[0])
    for folder, _, files in os.walk(home):
        for p in [folder, *(os.path.join(folder, f) for f in files)]:
            os.chown(p, 65534, 65534)
    env = {k: v for k, v in os.environ.items() if k not in OWN_ENV and not k.startswith("XDG_")}
    env.update(HOME=str(home), AUDITOR_PRIORITY="normal")
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable]
    probe = subprocess.run([*as_user, "-c", "import auditor"], env=env, capture_output=True, text=True, timeout=60,
                           cwd=str(home))
    if probe.returncode != 0:  # e.g. an interpreter under root's 0700 home (pyenv)
        pytest.skip(f"this interpreter cannot run as uid 65534: {probe.stderr.strip()[:200]}")
    res = subprocess.run([*as_user, "-m", "auditor", "remediate", "mask", "a.csv", "--apply"], env=env,
                         capture_output=True, text=True, timeout=120, cwd=str(home))
    assert res.returncode == 0, res.stderr
    report = home / "r.json"
    res = subprocess.run([*as_user, "-m", "auditor", "scan", "--only", "files", "--path", str(home), "-q", "-o",
                          str(report)], env=env, capture_output=True, text=True, timeout=120, cwd=str(home))
    assert res.returncode in (0, 1), res.stderr
    res = subprocess.run([*as_user, "-m", "auditor", "fleet", "ingest", str(report)], env=env, capture_output=True,
                         text=True, timeout=120, cwd=str(home))
    assert res.returncode == 0, res.stderr
    assert _mode(data) == 0o700 and _mode(data / "quarantine") == 0o700 and _mode(data / "fleet.sqlite") == 0o600
    assert _mode(home / ".local" / "state" / "yuncang-auditor") == 0o700
