"""Run an external command safely on an office PC: output to temporary files (pipes can hang under
Wine and on some Windows consoles), a hard timeout, never a shell, low priority inherited."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from .textcodec import decode_console


@dataclass
class CmdResult:
    returncode: int | None  # None: did not run or timed out
    stdout: bytes
    error: str | None = None

    @property
    def text(self) -> str:
        """The output as text (console code pages and all: auditor.textcodec)."""
        return decode_console(self.stdout)


def run(argv: list[str], timeout: float = 20.0) -> CmdResult:
    exe = shutil.which(argv[0])
    if exe is None:
        return CmdResult(None, b"", f"{argv[0]} not found")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen([exe, *argv[1:]], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    env={**os.environ, "LC_ALL": os.environ.get("LC_ALL", "C")},
                                    # no console window flashing up when run from Task Scheduler
                                    creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as exc:
            return CmdResult(None, b"", f"cannot start {argv[0]}: {exc.strerror or exc}")
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            return CmdResult(None, b"", f"{argv[0]} timed out after {timeout:.0f} s")
        out.seek(0)
        return CmdResult(rc, out.read())
