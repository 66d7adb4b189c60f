"""Shared test fixtures: real renamed processes, running the real CLI, validating every report."""

from __future__ import annotations

import functools
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

import siemcheck
import system_packages
from clirun import run_cli  # noqa: F401 - the test modules take it from here

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "reports" / "schema" / "report.schema.json"
SLEEP = shutil.which("sleep")
BIG_JSON = 8 << 20


@functools.lru_cache(maxsize=1)
def _schema_validator(mtime_ns: int) -> jsonschema.Draft202012Validator:
    """Built once (checking the schema itself and compiling it costs about ten times one validation)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def validate_report(report: dict) -> None:
    """``report`` against the published schema (raises jsonschema.ValidationError)."""
    _schema_validator(SCHEMA.stat().st_mtime_ns).validate(report)


def load_report(path: Path) -> dict:
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    validate_report(report)
    return report


@pytest.fixture(autouse=True)
def _private_places(tmp_path_factory, monkeypatch):
    """Every place the agent keeps data (incremental state, quarantine, fleet store, the machine's data and log
    folders used as root, the syslog socket, platformdirs' folders) is private to the test, so no test reads or
    changes the machine's own state or another test's."""
    base = tmp_path_factory.mktemp("agent-home")
    for var, sub in (("AUDITOR_STATE_DIR", "state"), ("AUDITOR_QUARANTINE_DIR", "quarantine"),
                     ("AUDITOR_FLEET_DB", "fleet.sqlite"), ("AUDITOR_DATA_DIR", "data"), ("AUDITOR_LOG_DIR", "logs"),
                     ("AUDITOR_SYSLOG_SOCKET", "no-syslog"), ("XDG_STATE_HOME", "xdg-state"),
                     ("XDG_DATA_HOME", "xdg-data"), ("XDG_CACHE_HOME", "xdg-cache")):
        monkeypatch.setenv(var, str(base / sub))
    yield


@pytest.fixture(autouse=True)
def _validate_every_report(tmp_path):
    """Every JSON report a test leaves in its tmp_path must validate against the published schema, and every
    NDJSON file of SIEM documents against OCSF 1.3.0 / ECS 9.4 and the shipped index template (tests/siemcheck.py).
    (Only regular files: a FIFO named *.json is left alone. A file over 8 MiB is parsed only when its start names a
    schema version, as every report the agent writes does: the hostile tests leave tens of MB of other JSON.)"""
    yield
    for path in tmp_path.rglob("*.json"):
        try:
            st = path.lstat()
            if not stat.S_ISREG(st.st_mode):
                continue
            raw = path.read_bytes()
        except OSError:
            continue
        if st.st_size > BIG_JSON and b'"schema_version"' not in raw[:65536]:
            continue
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError:
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


def listen_code(*ports: int) -> str:
    """Code that listens on 127.0.0.1 on the first of ``ports`` that is free here (none given: any free port) and
    prints the port it got (nothing when every one is taken)."""
    return ("import socket,time\n"
            f"for p in {list(ports) or [0]}:\n"
            "    s=socket.socket()\n"
            "    try:\n"
            "        s.bind(('127.0.0.1',p)); s.listen(); break\n"
            "    except OSError:\n"
            "        s.close(); s=None\n"
            "print(s.getsockname()[1] if s else '',flush=True)\n"
            "time.sleep(120)\n")


# --------------------------------------------------------------------------- system packages

def skip_or_fail(reason: str) -> None:
    """Skip a test that cannot run on this machine; under CI (``CI`` set: `.ci/run` has installed every system
    package first) fail instead, so CI never passes by skipping."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run this test)")
    pytest.skip(reason)


def require(*packages: str) -> None:
    """The Debian packages a test needs (tests/system_packages.py): missing ones skip it, naming the command."""
    lacking = system_packages.missing(*packages)
    if lacking:
        skip_or_fail(f"needs {' '.join(lacking)}: python3 tests/system_packages.py, or as root: "
                     f"{system_packages.install_command(lacking)}")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the Debian `chromium`, with a CJK font so Chinese reports render as text, not boxes."""
    require("chromium", "fontconfig", "fonts-noto-cjk")
    return shutil.which("chromium")


# markers given by what a test uses (pyproject.toml lists every marker; slow and most live ones are explicit)
MARK_BY_FIXTURE = {"chromium": "browser", "winpc": "wine", "built": "wine", "spawn": "live", "live": "live",
                   "tunnels": "live", "corpus": "live"}


def pytest_collection_modifyitems(items):
    """Every test in tests/hostile is marked ``hostile`` (here and not in a tests/hostile/conftest.py: pytest
    imports every conftest.py as the module ``conftest``, and a second one shadows this file for the test modules
    that import its helpers); a test using a fixture of MARK_BY_FIXTURE gets its marker."""
    for item in items:
        if "/hostile/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.hostile)
        for fixture, marker in MARK_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


def quick_subset(cases, quick=lambda case: False, keep: int = 1) -> list:
    """Parameter ``cases`` of an equivalence corpus for the quick run: the first ``keep`` cases and those
    ``quick(case)`` accepts run in it, every other case is marked slow (the full suite runs them all)."""
    out = []
    for i, case in enumerate(cases):
        if i < keep or quick(case):
            out.append(case)
        else:
            out.append(pytest.param(*(case if isinstance(case, tuple) else (case,)), marks=pytest.mark.slow))
    return out
