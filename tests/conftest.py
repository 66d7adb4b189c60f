"""Shared test fixtures: real renamed processes, running the real CLI, validating every report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import siemcheck

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "reports" / "schema" / "report.schema.json"
SLEEP = shutil.which("sleep")


def validate_report(report: dict) -> None:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(report, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def load_report(path: Path) -> dict:
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    validate_report(report)
    return report


@pytest.fixture(autouse=True)
def _private_places(tmp_path_factory, monkeypatch):
    """Every place the agent keeps data (incremental state, quarantine, fleet store, platformdirs' folders) is
    private to the test, so no test reads or changes the machine's own state or another test's."""
    base = tmp_path_factory.mktemp("agent-home")
    for var, sub in (("AUDITOR_STATE_DIR", "state"), ("AUDITOR_QUARANTINE_DIR", "quarantine"),
                     ("AUDITOR_FLEET_DB", "fleet.sqlite"), ("XDG_STATE_HOME", "xdg-state"),
                     ("XDG_DATA_HOME", "xdg-data"), ("XDG_CACHE_HOME", "xdg-cache")):
        monkeypatch.setenv(var, str(base / sub))
    yield


@pytest.fixture(autouse=True)
def _validate_every_report(tmp_path):
    """Every JSON report a test leaves in its tmp_path must validate against the published schema, and every
    NDJSON file of SIEM documents against OCSF 1.3.0 / ECS 9.4 and the shipped index template (tests/siemcheck.py)."""
    yield
    for path in tmp_path.rglob("*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue
        if isinstance(data, dict) and "schema_version" in data and "findings" in data:
            validate_report(data)
    assert_valid_siem_files(tmp_path)


_SIEM_CHECKED: set[tuple[str, int, int]] = set()


def assert_valid_siem_files(folder: Path) -> None:
    """Every *.ndjson file under ``folder`` (not checked before in this state) holds valid SIEM documents."""
    for path in folder.rglob("*.ndjson"):
        try:
            st = path.stat()
        except OSError:
            continue
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key in _SIEM_CHECKED or not path.is_file():
            continue
        problems = siemcheck.check_file(path)
        assert not problems, f"{path}: {len(problems)} problems: " + "; ".join(problems[:20])
        _SIEM_CHECKED.add(key)


@pytest.fixture(scope="session", autouse=True)
def _validate_every_siem_file(tmp_path_factory):
    """The NDJSON files written by module- and session-scoped fixtures (outside any test's tmp_path) too."""
    yield
    assert_valid_siem_files(tmp_path_factory.getbasetemp())


class Spawner:
    """Starts copies of `sleep` under given names (a stand-in for ToDesk.exe & co.) and cleans up."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        folder = self.base / f"p{len(self.procs)}"
        folder.mkdir(parents=True)
        exe = folder / name
        shutil.copy2(SLEEP, exe)
        proc = subprocess.Popen([str(exe), "600", *args], stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def wait_visible(self) -> None:
        import psutil

        deadline = time.time() + 5
        for proc in self.procs:
            while time.time() < deadline:
                try:
                    if psutil.Process(proc.pid).exe().endswith(Path(proc.args[0]).name):
                        break
                except (psutil.NoSuchProcess, OSError):
                    pass
                time.sleep(0.02)

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.wait()


@pytest.fixture
def spawn(tmp_path_factory):
    s = Spawner(tmp_path_factory.mktemp("procs"))
    yield s
    s.stop()


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real command line, in a child process (exit codes, stderr and all)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "auditor", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)


def findings_of(report: dict, check_id: str | None = None) -> list[dict]:
    return [f for f in report["findings"] if check_id is None or f["check_id"] == check_id]


def copy_checks(dest: Path) -> Path:
    target = dest / "checks"
    shutil.copytree(REPO / "checks", target)
    return target


def start_named_python(folder: Path, name: str, code: str) -> subprocess.Popen:
    """Run ``code`` in a copy of this Python interpreter named ``name`` (a real process under a chosen
    name that can open sockets); the code's first printed line is awaited."""
    exe = folder / name
    exe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(sys.executable, exe)
    proc = subprocess.Popen([str(exe), "-c", code], stdout=subprocess.PIPE, text=True)
    proc.first_line = proc.stdout.readline().strip()  # type: ignore[attr-defined]
    return proc


def listen_code(port: int = 0) -> str:
    return ("import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
            f"s.bind(('127.0.0.1',{port}));s.listen();print(s.getsockname()[1],flush=True);time.sleep(120)")


# --------------------------------------------------------------------------- headless Chromium (HTML reports)

_APT_UPDATED = False


def _apt_install(*packages: str) -> None:
    """Install Debian packages (root only); `apt-get update` runs once per test session."""
    global _APT_UPDATED
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _APT_UPDATED:
        subprocess.run(["apt-get", "update"], env=env, check=True, capture_output=True, timeout=900)
        _APT_UPDATED = True
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *packages], env=env, check=True,
                   capture_output=True, timeout=1800)


def _can_apt() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    res = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    return bool(res.stdout.strip())


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the Debian `chromium` (installed with apt-get when missing and we are root), with a CJK font so
    Chinese reports render as text, not boxes."""
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if exe is None and _can_apt():
        _apt_install("chromium")
        exe = shutil.which("chromium") or "/usr/bin/chromium"
    if exe is None or not Path(exe).exists():
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")
    if not _has_cjk_font() and _can_apt():
        _apt_install("fonts-noto-cjk")
    return exe


def pytest_collection_modifyitems(items):
    """The hostile suite (tests/hostile, see hostilekit.py): every test there is marked ``hostile``. (Here and not in
    a tests/hostile/conftest.py: pytest imports every conftest.py as the module ``conftest``, and a second one
    shadows this file for the test modules that import its helpers.)"""
    for item in items:
        if "/hostile/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.hostile)
