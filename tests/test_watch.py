"""Watch mode, for real: `auditor watch` in a child process, real file events in temporary folders, real renamed
processes, a real HTTP server on 127.0.0.1 for the webhook, real signals to stop it."""

from __future__ import annotations

import base64
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from clirun import child_env
from exportgen import decoy_rows, export_rows, write_csv

pytestmark = pytest.mark.live  # sees the processes of this host (judges only its own)

LATENCY_TARGET = 1.0


class WatchProc:
    def __init__(self, tmp: Path, *args: str, env: dict | None = None) -> None:
        self.events = tmp / "events.jsonl"
        self.err = open(tmp / "watch.err", "w+b")
        self.out = open(tmp / "watch.out", "w+b")
        self.proc = subprocess.Popen([sys.executable, "-m", "auditor", "watch", "--events", str(self.events),
                                      "--interval", "0.5", *args], stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL,
                                     env=child_env({"AUDITOR_STATE_DIR": str(tmp / "state"), **(env or {})}))
        self.seen = 0
        self.lines: list[dict] = []
        self.wait_for("watch_started", timeout=60)

    def read(self) -> list[dict]:
        try:
            with open(self.events, encoding="utf-8") as fh:
                fh.seek(self.seen)
                data = fh.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind("\n") + 1]
        self.seen += len(complete.encode("utf-8"))
        new = [json.loads(l) for l in complete.splitlines() if l.strip()]
        self.lines += new
        return new

    def wait_for(self, event: str, timeout: float = 10, **match) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.read()
            for line in self.lines:
                if line["event"] == event and all(line.get(k) == v for k, v in match.items()):
                    return line
            if self.proc.poll() is not None:
                self.err.seek(0)
                raise AssertionError(f"watch exited {self.proc.returncode}: {self.err.read().decode()}")
            time.sleep(0.01)
        raise AssertionError(f"no {event} {match} within {timeout}s; got {[l['event'] for l in self.lines]}")

    def events_of(self, event: str) -> list[dict]:
        self.read()
        return [l for l in self.lines if l["event"] == event]

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(15)
        finally:
            self.out.close()
            self.err.close()


@pytest.fixture
def watcher(tmp_path):
    started: list[WatchProc] = []

    def start(*args: str, env: dict | None = None) -> WatchProc:
        w = WatchProc(tmp_path, *args, env=env)
        started.append(w)
        return w

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def _save_like_an_app(path: Path, data: bytes, chunks: int = 4, pause: float = 0.05) -> float:
    """Write in pieces, as a browser or Excel saving does; returns the time the file was closed."""
    step = max(1, len(data) // chunks)
    with open(path, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i:i + step])
            fh.flush()
            time.sleep(pause)
    return time.time()


def _csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def test_waybill_export_reported_within_a_second_with_masked_evidence(tmp_path, watcher):
    inbox = tmp_path / "Downloads"
    inbox.mkdir()
    w = watcher("--path", str(inbox), "--no-processes")
    rng = random.Random(11)
    rows, expected = export_rows(rng, "pdd", 300)
    closed = _save_like_an_app(inbox / "拼多多订单导出.csv", _csv_bytes(rows, "gb18030"))
    alert = w.wait_for("file_finding", timeout=5)
    latency = alert["ts"] - closed
    assert latency < LATENCY_TARGET, f"reported {latency:.3f}s after close"
    f = alert["finding"]
    assert f["check_id"] == "PI-001" and f["severity"] == "high"
    assert f["evidence"]["records"] == expected
    assert alert["path"].endswith("拼多多订单导出.csv")
    # never a raw value: not in the events file, not on the console
    w.stop()
    text = w.events.read_text(encoding="utf-8") + (tmp_path / "watch.out").read_text(encoding="utf-8")
    header = rows[0]
    for row in rows[1:]:
        for col in ("收货人", "手机", "收货地址"):
            assert row[header.index(col)] not in text
    assert f["evidence"]["samples"] and all("*" in s for s in f["evidence"]["samples"])
    assert json.loads((tmp_path / "watch.out").read_text(encoding="utf-8").splitlines()[0])["event"] == "file_finding"


@pytest.mark.slow
def test_slow_writer_is_scanned_once_when_it_settles(tmp_path, watcher):
    inbox = tmp_path / "Desktop"
    inbox.mkdir()
    w = watcher("--path", str(inbox), "--no-processes")
    rows, expected = export_rows(random.Random(3), "taobao", 400)
    data = _csv_bytes(rows)
    closed = _save_like_an_app(inbox / "订单.csv", data, chunks=12, pause=0.12)  # 1.4 s of writing
    alert = w.wait_for("file_finding", timeout=5)
    assert alert["finding"]["evidence"]["records"] == expected  # the whole file, not a half-written one
    assert alert["ts"] - closed < LATENCY_TARGET
    time.sleep(1.0)
    assert len(w.events_of("file_finding")) == 1
    os.utime(inbox / "订单.csv")  # touched, same content: not a new alert
    time.sleep(1.0)
    assert len(w.events_of("file_finding")) == 1


def test_masked_exports_and_decoys_are_not_alerts(tmp_path, watcher):
    inbox = tmp_path / "exports"
    inbox.mkdir()
    w = watcher("--path", str(inbox), "--no-processes")
    rng = random.Random(5)
    write_csv(inbox / "已脱敏.csv", export_rows(rng, "jd", 200, masked=1.0)[0])
    write_csv(inbox / "商品目录.csv", decoy_rows(rng, "catalog"))
    (inbox / "sub").mkdir()
    write_csv(inbox / "sub" / "库存.csv", decoy_rows(rng, "inventory"))
    write_csv(inbox / "node_modules" / "fixture.csv", export_rows(rng, "pdd", 30)[0])  # a folder scans skip
    write_csv(inbox / "sub" / "真订单.csv", export_rows(rng, "douyin", 30)[0])  # in a new subfolder
    alert = w.wait_for("file_finding", timeout=5)
    assert alert["path"].endswith("真订单.csv")
    time.sleep(0.8)
    assert [a["path"].rsplit("/", 1)[-1] for a in w.events_of("file_finding")] == ["真订单.csv"]


def test_xlsx_moved_into_the_folder_is_reported(tmp_path, watcher):
    from exportgen import write_xlsx

    inbox = tmp_path / "WeChat Files"
    inbox.mkdir()
    staging = tmp_path / "staging"
    rows, expected = export_rows(random.Random(9), "idcard", 20)
    write_xlsx(staging / "名单.xlsx", {"Sheet1": rows})
    w = watcher("--path", str(inbox), "--no-processes")
    t0 = time.time()
    shutil.move(str(staging / "名单.xlsx"), str(inbox / "名单.xlsx"))
    alert = w.wait_for("file_finding", timeout=5)
    assert alert["check_id"] == "PI-002" and alert["finding"]["evidence"]["id_number_rows"] == expected
    assert alert["ts"] - t0 < LATENCY_TARGET


def test_newly_started_remote_tool_is_reported(tmp_path, watcher, spawn):
    inbox = tmp_path / "in"
    inbox.mkdir()
    before = spawn.start("SunloginClient")  # already running when the watch starts
    spawn.wait_visible()
    w = watcher("--path", str(inbox))
    first = w.wait_for("remote_tool", timeout=10, pid=before.pid)
    assert first["already_running"] is True and first["tool"] == "sunlogin"
    proc = spawn.start("ToDesk.exe")
    started = time.time()
    alert = w.wait_for("remote_tool", timeout=10, pid=proc.pid)
    assert alert["already_running"] is False
    assert alert["tool"] == "todesk" and alert["check_id"] == "RC-001" and alert["severity"] == "high"
    assert alert["ts"] - started < 0.5 + 1.5  # one poll interval (0.5 s here) plus reading the new processes
    assert alert["finding"]["evidence"]["exe"].endswith("ToDesk.exe")
    ours = {before.pid, proc.pid}  # other processes of this host may come and go: only ours are judged
    assert [e["pid"] for e in w.events_of("remote_tool") if e["pid"] in ours] == [before.pid, proc.pid]
    time.sleep(1.2)  # each process once, not at every poll
    assert [e["pid"] for e in w.events_of("remote_tool") if e["pid"] in ours] == [before.pid, proc.pid]


def test_watched_folder_that_disappears_and_comes_back(tmp_path, watcher):
    inbox = tmp_path / "USB-export"
    other = tmp_path / "Desktop"
    inbox.mkdir()
    other.mkdir()
    w = watcher("--path", str(inbox), "--path", str(other), "--no-processes")
    shutil.rmtree(inbox)
    lost = w.wait_for("path_lost", timeout=5)
    assert lost["path"] == str(inbox)
    write_csv(other / "a.csv", export_rows(random.Random(1), "taobao", 10)[0])  # the other folder still works
    assert w.wait_for("file_finding", timeout=5)["path"].endswith("a.csv")
    inbox.mkdir()
    write_csv(inbox / "b.csv", export_rows(random.Random(2), "jd", 10)[0])
    w.wait_for("path_restored", timeout=5, path=str(inbox))
    assert w.wait_for("file_finding", timeout=5, path=str(inbox / "b.csv"))
    assert w.proc.poll() is None
    assert w.stop(signal.SIGTERM) == 0
    assert w.events_of("watch_stopped")


def test_a_path_not_there_is_warned_reported_and_watched_for(tmp_path, watcher):
    """`watch --path MISSING --path DESKTOP`: a warning on the terminal (in --lang), a path_lost event at once, the
    other folder watched; when the missing folder appears it is watched too."""
    later = tmp_path / "U盘导出"
    desk = tmp_path / "Desktop"
    desk.mkdir()
    w = watcher("--path", str(later), "--path", str(desk), "--no-processes", "--lang", "en")
    assert w.wait_for("path_lost", timeout=5, path=str(later))["message"] == "watched folder does not exist"
    assert w.wait_for("watch_started")["paths"] == [str(later), str(desk)]
    w.err.seek(0)
    err = w.err.read().decode("utf-8")
    assert f"warning: --path {later}: no such folder; watched for until it appears" in err, err
    assert "watching 1 folder(s), waiting for 1 folder(s) not there yet" in err, err
    assert json.loads((tmp_path / "watch.out").read_text(encoding="utf-8").splitlines()[0])["event"] == "path_lost"
    write_csv(desk / "a.csv", export_rows(random.Random(3), "taobao", 10)[0])
    assert w.wait_for("file_finding", timeout=5)["path"].endswith("a.csv")
    later.mkdir()
    write_csv(later / "b.csv", export_rows(random.Random(4), "jd", 10)[0])
    w.wait_for("path_restored", timeout=5, path=str(later))
    assert w.wait_for("file_finding", timeout=5, path=str(later / "b.csv"))
    assert w.stop() == 0


def test_watch_terminal_lines_in_chinese_by_default(tmp_path, watcher):
    w = watcher("--path", str(tmp_path / "没有"), "--path", str(tmp_path), "--no-processes")
    assert w.stop() == 0
    err = (tmp_path / "watch.err").read_text(encoding="utf-8")
    assert "警告：--path" in err and "文件夹不存在" in err and "正在监视 1 个文件夹" in err and "已停止" in err, err
    assert "watching" not in err and "stopped" not in err


def test_ctrl_c_stops_cleanly(tmp_path, watcher):
    w = watcher("--path", str(tmp_path), "--no-processes")
    t0 = time.time()
    assert w.stop(signal.SIGINT) == 0
    assert time.time() - t0 < 5
    assert w.events_of("watch_stopped")
    assert b"Traceback" not in (tmp_path / "watch.err").read_bytes()


class _Hook(http.server.BaseHTTPRequestHandler):
    status = 200
    bodies: list[dict] = []
    auth: list[str | None] = []
    hits = 0

    def do_POST(self):  # noqa: N802
        type(self).hits += 1
        type(self).auth.append(self.headers.get("Authorization"))
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(json.loads(body))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


def _server(status: int):
    handler = type("Hook", (_Hook,), {"status": status, "bodies": [], "auth": [], "hits": 0})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, handler


def _post_one_alert(tmp_path, watcher, url: str, hook) -> tuple[dict, object]:
    """A watch posting to ``url``, one export dropped in its folder: (its alert, the watch)
    once the webhook got a body or 5 s have passed."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    w = watcher("--path", str(inbox), "--no-processes", "--webhook", url)
    write_csv(inbox / "x.csv", export_rows(random.Random(4), "erp", 15)[0])
    line = w.wait_for("file_finding", timeout=5)
    deadline = time.time() + 5
    while not hook.bodies and time.time() < deadline:
        time.sleep(0.02)
    return line, w


def test_webhook_receives_each_alert(tmp_path, watcher):
    srv, hook = _server(200)
    try:
        line, w = _post_one_alert(tmp_path, watcher, f"http://127.0.0.1:{srv.server_address[1]}/alerts", hook)
        assert hook.bodies == [line]  # the same JSON as the events file; status lines are not posted
        assert hook.auth == [None] and not w.events_of("webhook_failed")
    finally:
        srv.shutdown()


def test_webhook_with_user_and_password_in_its_url_delivers_with_basic_auth(tmp_path, watcher):
    """``http://user:password@host/path``, as a site's alert receiver is often given: the credentials go in an
    Authorization header (urllib alone took ``user:password@127.0.0.1`` for a host name and never delivered)."""
    srv, hook = _server(200)
    try:
        line, w = _post_one_alert(tmp_path, watcher,
                                  f"http://alerts:s3cr%40t@127.0.0.1:{srv.server_address[1]}/hook", hook)
        assert hook.bodies == [line] and not w.events_of("webhook_failed")
        assert hook.auth == ["Basic " + base64.b64encode(b"alerts:s3cr@t").decode()]
        assert "s3cr" not in "".join(json.dumps(e) for e in w.lines)  # never written out
    finally:
        srv.shutdown()


@pytest.mark.slow
def test_webhook_down_alerts_still_written_retries_bounded(tmp_path, watcher):
    srv, hook = _server(503)
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    try:
        for url, expect_hits in ((f"http://127.0.0.1:{srv.server_address[1]}/", 3),
                                 (f"http://127.0.0.1:{dead_port}/", 0)):
            sub = tmp_path / f"run{expect_hits}"
            sub.mkdir()
            inbox = sub / "in"
            inbox.mkdir()
            w = WatchProc(sub, "--path", str(inbox), "--no-processes", "--webhook", url)
            try:
                closed = _save_like_an_app(inbox / "y.csv", _csv_bytes(export_rows(random.Random(6), "jd", 12)[0]))
                alert = w.wait_for("file_finding", timeout=5)
                assert alert["ts"] - closed < LATENCY_TARGET  # a dead webhook delays nothing
                failed = w.wait_for("webhook_failed", timeout=15)
                assert failed["attempts"] == 3 and failed["alert_time"] == alert["time"]
                assert ("503" in failed["error"]) if expect_hits else ("Refused" in failed["error"]
                                                                        or "refused" in failed["error"])
                assert w.proc.poll() is None
            finally:
                assert w.stop() == 0
        assert hook.hits == 3  # bounded: three attempts, then given up
    finally:
        srv.shutdown()


@pytest.mark.slow
def test_idle_watch_uses_almost_no_cpu(tmp_path, watcher):
    w = watcher("--path", str(tmp_path), "--interval", "2.5")
    proc = psutil.Process(w.proc.pid)
    time.sleep(1.0)  # past the start-up
    c0, t0 = sum(proc.cpu_times()[:2]), time.time()
    time.sleep(6)
    share = (sum(proc.cpu_times()[:2]) - c0) / (time.time() - t0)
    assert share < 0.03, f"idle CPU {share:.1%}"  # bench/bench_watch.py measures the 1 % target over 30 s


def test_bad_input_is_a_clear_message(tmp_path):
    from conftest import run_cli

    res = run_cli("watch", "--path", str(tmp_path / "nope"), "--lang", "en")  # every folder missing: nothing to watch
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert f"--path: none of the folders is there ({tmp_path / 'nope'}: no such folder)" in res.stderr
    (tmp_path / "f").write_text("x")
    res = run_cli("watch", "--path", str(tmp_path / "nope"), "--path", str(tmp_path / "f"))
    assert res.returncode == 2 and "所给的文件夹都不存在" in res.stderr and "不是文件夹" in res.stderr
    res = run_cli("watch", "--path", str(tmp_path), "--webhook", "ftp://example.com/x", "--lang", "en")
    assert res.returncode == 2 and "not an http" in res.stderr
    (tmp_path / "a-file").write_text("x")
    res = run_cli("watch", "--path", str(tmp_path), "--events", str(tmp_path / "a-file" / "events.jsonl"), "--lang",
                  "en")
    assert res.returncode == 2 and "cannot open" in res.stderr and "Traceback" not in res.stderr
