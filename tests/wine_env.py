"""A Windows PC for the tests: a fresh Wine prefix running the real `dist/auditor.exe` (one file) or the agent the
real MSI installs, both built by `packaging/windows/build.sh`.

The module fixtures (`winpc` in test_windows_wine.py, `msipc` in test_windows_msi.py) call `ensure_built()`, which
needs the Wine tools installed (tests/system_packages.py; missing ones skip the tests, and fail them under CI) and
rebuilds when dist/ is missing or built
from other sources (`dist/auditor.exe.inputs` against `packaging/windows/sources.py`; with `sign=` or `msi=True`
build.sh is always asked, and does nothing when dist/ already matches), then boot a `WinePC`.

The prefix is made to look like an office PC rather than a Wine desktop:
* the user's Desktop/Documents/Downloads/... are real folders (Wine links them all to $HOME);
* no Z: drive (Wine maps the whole Linux file system there, and the agent walks every fixed drive); a D: data
  drive instead, as many office PCs have;
* `bcryptprimitives.dll`, which Windows 10/11 has and Wine 8 lacks (python-calamine's Rust runtime needs it), is
  put in system32 from the build cache. The exe does not carry it.

Wine facts this relies on (see the README's "Windows agent" section): Windows programs get pipes, never regular
files, as stdout/stderr; helper processes Wine starts on demand may inherit those pipes, so output is read by
threads and the result is taken when the process exits, not at end-of-file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

import system_packages

REPO = Path(__file__).resolve().parent.parent
WINDOWS = REPO / "packaging" / "windows"
BUILD_SH = WINDOWS / "build.sh"
CACHE = Path(os.environ.get("AUDITOR_WIN_CACHE", WINDOWS / ".cache")).resolve()
DIST = REPO / "dist"
DIST_EXE = DIST / "auditor.exe"
DIST_FOLDER = DIST / "auditor"  # the one-folder build the MSI installs
SLEEPER_C = Path(__file__).resolve().parent / "wine" / "sleeper.c"
EXE_DIR = r"C:\ProgramData\yuncang-auditor"  # where the one-file tests put the exe (as IT did before the MSI)
INSTALL_DIR = r"C:\Program Files\yuncang-auditor"  # where the MSI installs the one-folder agent
DATA_DIR = r"C:\ProgramData\yuncang-auditor"  # the agent's reports and data (kept by the uninstall)
SKIP_ENV = "AUDITOR_WINE_TESTS"  # =skip: only for machines that cannot run Wine at all; never in CI
PACKAGES = ("wine64", "wine", "gcc-mingw-w64-x86-64-win32", "wixl", "msitools")  # build.sh's tools

# Measured durations of the set-up steps (seconds), for the README and the closing note.
TIMINGS: dict[str, float] = {}


class WineUnavailable(RuntimeError):
    pass


def _source_digest() -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("auditor_build_sources", WINDOWS / "sources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.digest(REPO)


def exe_is_current() -> bool:
    stamp = DIST_EXE.with_name("auditor.exe.inputs")
    try:
        return DIST_EXE.is_file() and stamp.read_text().strip() == _source_digest()
    except OSError:
        return False


def _missing_tools(sign: bool) -> str | None:
    """Why build.sh cannot run here (None: it can). The tests never install them: tests/system_packages.py does."""
    lacking = system_packages.missing(*PACKAGES, *(("osslsigncode",) if sign else ()))
    if not lacking:
        return None
    return (f"needs {' '.join(lacking)}: python3 tests/system_packages.py, or as root: "
            f"{system_packages.install_command(lacking)}")


def dist_msi() -> Path:
    """The MSI build.sh made (dist/yuncang-auditor-VERSION-x64.msi)."""
    found = sorted(DIST.glob("yuncang-auditor-*-x64.msi"))
    if len(found) != 1:
        raise RuntimeError(f"expected one MSI in {DIST}, found {[p.name for p in found]}")
    return found[0]


def ensure_built(sign: tuple[Path, Path] | None = None, timestamp_url: str | None = None, msi: bool = False) -> None:
    """Wine + mingw installed, the build cache's shim present, dist/ built from this tree; ``sign=(CERT, KEY)``:
    signed with that certificate (build.sh --sign, time-stamped by ``timestamp_url``); ``msi``: build.sh is asked
    even when the exe is current (it re-packages when its packaging stage changed)."""
    why = _missing_tools(sign is not None)
    if why:
        raise WineUnavailable(why)
    need_exe = not exe_is_current() or sign is not None or msi
    need_prepare = not (CACHE / "bcryptprimitives.dll").is_file()
    if not (need_exe or need_prepare):
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    log = CACHE / "build.log"
    argv = ["bash", str(BUILD_SH)] + ([] if need_exe else ["--prepare"])
    if sign is not None:
        argv += ["--sign", str(sign[0]), str(sign[1])] + (["--timestamp-url", timestamp_url] if timestamp_url else [])
    started = time.monotonic()
    with open(log, "wb") as fh:
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, timeout=40 * 60)
    TIMINGS[" ".join(["build.sh", *argv[2:3]])] = time.monotonic() - started
    if res.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"{' '.join(argv)} failed (exit {res.returncode}); end of {log}:\n{tail}")
    if not DIST_EXE.is_file():
        raise RuntimeError("build.sh finished without dist/auditor.exe")
    # (sources edited while it built: the exe is from the tree as it was when the build started; the next
    # session rebuilds it)


@dataclass
class Result:
    returncode: int | None
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _drain(stream, sink: list[bytes]) -> None:
    try:
        for chunk in iter(lambda: stream.read1(65536), b""):
            sink.append(chunk)
    except (OSError, ValueError):
        pass


class Background:
    """A Windows program started in the prefix (a stand-in remote tool)."""

    def __init__(self, proc: subprocess.Popen, win_path: str) -> None:
        self.proc = proc
        self.win_path = win_path

    @property
    def name(self) -> str:
        return PureWindowsPath(self.win_path).name

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.stdout:
            self.proc.stdout.close()


class WinePC:
    """``exe=False``: nothing is put in C:\\ProgramData\\yuncang-auditor (the MSI tests install the agent)."""

    def __init__(self, base: Path, exe: bool = True) -> None:
        self.base = base
        self.home = base / "home"
        self.prefix = base / "prefix"
        self.drive_c = self.prefix / "drive_c"
        self.drive_d = base / "drive_d"
        self.env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "WINELOADER")}
        self.env.update(HOME=str(self.home), WINEPREFIX=str(self.prefix), WINEARCH="win64", WINEDEBUG="-all",
                        WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe,winemenubuilder.exe=d", LANG="C.UTF-8", LC_ALL="C.UTF-8")
        self.server: subprocess.Popen | None = None
        self.background: list[Background] = []
        self.user = ""
        self.copy_exe = exe
        self.exe = EXE_DIR + r"\auditor.exe"

    # ------------------------------------------------------------------ set-up and tear-down
    def boot(self) -> "WinePC":
        started = time.monotonic()
        self.home.mkdir(parents=True)
        self.prefix.mkdir(parents=True)
        quiet = dict(env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Create the prefix with a server of its own, then stop it (the registry is saved), shape it like an
        # office PC while nothing runs (drives are read when Wine's services start)...
        subprocess.run(["wine", "wineboot", "-i"], timeout=300, check=True, **quiet)
        subprocess.run(["wineserver", "-k"], timeout=60, **quiet)
        users = self.drive_c / "users"
        self.user = next(p.name for p in users.iterdir() if p.name.casefold() != "public")
        profile = users / self.user
        for name in ("Desktop", "Documents", "Downloads", "Music", "Pictures", "Videos"):
            link = profile / name
            if link.is_symlink():
                link.unlink()
            link.mkdir(exist_ok=True)
        dosdevices = self.prefix / "dosdevices"
        (dosdevices / "z:").unlink(missing_ok=True)
        self.drive_d.mkdir()
        (dosdevices / "d:").symlink_to(self.drive_d)
        # ...and keep our own persistent wineserver: later programs attach to it (fast starts) and it is ours to
        # stop. (Started before the prefix exists, every program start would re-run the prefix update: ~10 s.)
        self.server = subprocess.Popen(["wineserver", "-f", "-p"], **quiet)
        # Wine's services start with the first program; they keep the stdio they get, so give them nothing to hold
        subprocess.run(["wine", "cmd", "/c", "exit"], timeout=120, check=True, **quiet)
        shutil.copy(CACHE / "bcryptprimitives.dll", self.drive_c / "windows" / "system32" / "bcryptprimitives.dll")
        if self.copy_exe:
            exe = self.c_path(self.exe)
            exe.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(DIST_EXE, exe)
        # the stand-in programs: a plain Windows console exe, and the same with ToDesk's version resource
        res = self.base / "todesk_version.res"
        subprocess.run(["x86_64-w64-mingw32-windres", str(SLEEPER_C.with_name("todesk_version.rc")), "-O", "coff",
                        "-o", str(res)], check=True, capture_output=True, timeout=120)
        for name, extra in (("sleeper.exe", []), ("sleeper_todesk_pe.exe", [str(res)])):
            subprocess.run(["x86_64-w64-mingw32-gcc", "-O2", "-s", "-o", str(self.base / name), str(SLEEPER_C), *extra,
                            "-lws2_32"], check=True, capture_output=True, timeout=120)
        TIMINGS["prefix boot"] = time.monotonic() - started
        return self

    def shutdown(self) -> None:
        for bg in self.background:
            bg.stop()
        subprocess.run(["wineserver", "-k"], env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        if self.server is not None:
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        shutil.rmtree(self.base, ignore_errors=True)

    # ------------------------------------------------------------------ paths
    def c_path(self, win_path: str) -> Path:
        """The Linux path of a C: or D: path, matching existing folders case-insensitively as Windows does."""
        pure = PureWindowsPath(win_path)
        drive = pure.drive.upper()
        cur = {"C:": self.drive_c, "D:": self.drive_d}[drive]
        for part in pure.parts[1:]:
            nxt = cur / part
            if not nxt.exists() and cur.is_dir():
                nxt = next((c for c in cur.iterdir() if c.name.casefold() == part.casefold()), nxt)
            cur = nxt
        return cur

    def profile(self, rel: str = "") -> str:
        """A path in the Wine user's profile: ``profile("Desktop")`` -> ``C:\\users\\root\\Desktop``."""
        return rf"C:\users\{self.user}" + (f"\\{rel}" if rel else "")

    def workdir(self, name: str) -> tuple[str, Path]:
        """A fresh folder on C: to run the exe in (its relative --output paths land there)."""
        win = rf"C:\work\{name}"
        path = self.c_path(win)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return win, path

    # ------------------------------------------------------------------ running Windows programs
    def run(self, argv: list[str], cwd: Path | None = None, timeout: float = 300) -> Result:
        """Run a Windows program to its end. stdout/stderr are pipes read by threads: the result is taken when
        the program exits, even if a helper Wine started still holds the pipes."""
        proc = subprocess.Popen(["wine", *argv], env=self.env, cwd=cwd or self.drive_c, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out: list[bytes] = []
        err: list[bytes] = []
        readers = [threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True),
                   threading.Thread(target=_drain, args=(proc.stderr, err), daemon=True)]
        for r in readers:
            r.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = None
        for r in readers:
            r.join(timeout=3)
        return Result(rc, b"".join(out).decode("utf-8", "replace"), b"".join(err).decode("utf-8", "replace"))

    def auditor(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> Result:
        """The real dist/auditor.exe (copied to C:\\ProgramData\\yuncang-auditor)."""
        return self.run([self.exe, *args], cwd=cwd, timeout=timeout)

    def reg(self, *args: str) -> Result:
        """Wine's ``reg.exe``. It has been seen to fail silently (no output, within a full CI run while the
        wineserver was busy): a run that fails or hangs is tried again, twice at most (every use here is idempotent:
        it only adds values, with /f)."""
        for attempt in range(3):
            res = self.run(["reg", *args], timeout=60)
            if res.returncode == 0:
                break
            time.sleep(1 + attempt)
        assert res.returncode == 0, f"reg {' '.join(args)}: exit {res.returncode} {res.output}"
        return res

    def reg_add(self, key: str, value: str | None, data: str | None = None, kind: str = "REG_SZ") -> None:
        args = ["add", key]
        args += ["/ve"] if value is None else ["/v", value]
        if data is not None:
            args += ["/t", kind, "/d", data]
        self.reg(*args, "/f")

    def start(self, win_path: str, seconds: int = 600, port: int | None = None, pe: str = "") -> Background:
        """Start a copy of the sleeper program at ``win_path`` (a renamed Windows exe) and wait until it runs.
        ``pe="todesk"``: the copy carries ToDesk's version resource (a renamed ToDesk)."""
        dest = self.c_path(win_path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.base / ("sleeper_todesk_pe.exe" if pe == "todesk" else "sleeper.exe"), dest)
        argv = ["wine", win_path, str(seconds)] + ([str(port)] if port else [])
        proc = subprocess.Popen(argv, env=self.env, cwd=self.drive_c, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        bg = Background(proc, win_path)
        self.background.append(bg)
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=60)
        if not line or b"ready" not in line[0]:
            bg.stop()
            raise RuntimeError(f"{win_path} did not start (exit {proc.poll()})")
        return bg

    def stop_background(self) -> None:
        for bg in self.background:
            bg.stop()
        self.background.clear()
