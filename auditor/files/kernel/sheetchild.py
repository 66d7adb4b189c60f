"""A large workbook read by kernel.sheetscan in a child process of its own: fastexcel holds every cell of a
sheet while it reads it (about 250 MB for 200,000 rows of 11 columns), and in a process that imported only
the kernel that peak stays within the memory bound; in the scan process it would come on top of everything
the scan holds. The parent hands over the workbook's bytes (read through auditor.safeio) and the rules in an
anonymous memory file (or on standard input) and gets the sheets' judgements back on standard output; the child
opens no file of the user's.

The child is started before the scan process checks the workbook's extent (auditor.table_bounds, a pass over
every XML part): while that check runs on one core, the child starts its interpreter, imports the kernel and
opens the workbook (fastexcel reads the workbook's parts and shared strings, no sheet) on the other. It then
waits for one byte: ``go`` (the extent is within the bound) makes it load and judge the sheets, anything
else (the end of its input: the workbook was refused or the scan ended) makes it exit without loading one.
No sheet is loaded before the extent check has passed, so a sheet claiming a huge extent is never laid out.

Not on Windows (processes started from auditor.exe: see auditor.files.parallel) nor in a frozen build: there
the workbook is read in the scan process. The child is killed after ``time_bound`` seconds from ``go`` (then,
as when it fails, the reference reader reads the workbook in the scan process)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

from ...pii.rules import PiiRules
from ..table_scan import TableAnalyzer, TableResult
from .grid import Unsupported
from .sheetscan import WorkbookKernel

GO = b"g"
# the child: its whole input read first (builtins only: nothing waits on the child's imports), from the memory
# file named by its argument or else from standard input; the parent's import path set (a checkout, a virtual
# environment), then this module
_BOOT = ("import pickle, sys\n"
         "fd = int(sys.argv[1])\n"
         "if fd >= 0:\n"
         "    with open(fd, 'rb') as src:\n"
         "        payload = list(pickle.load(src))\n"
         "else:  # the buffer serve() reads go from\n"
         "    payload = list(pickle.load(sys.stdin.buffer))\n"
         "sys.path[:] = payload.pop(0)\n"
         "from auditor.files.kernel.sheetchild import serve\n"
         "serve(payload)\n")


def usable() -> bool:
    return sys.platform != "win32" and not getattr(sys, "frozen", False) and bool(sys.executable)


def time_bound(size: int) -> float:
    """Seconds the child may take for a workbook of ``size`` bytes (about 50 times what it needs)."""
    return 60.0 + 5.0 * size / (1 << 20)


class Started:
    """A child started on a workbook's bytes, opening it: ``result`` lets it read the sheets and returns their
    judgements, ``cancel`` ends it without loading a sheet. One of the two must be called.

    The bytes go to the child in a memory file (Linux ``memfd``: no name, gone with the last descriptor), so the
    scan process never waits on the child to take them; where there is none they go on standard input with
    ``go`` (the child then opens the workbook only after the extent check: nothing overlaps, nothing waits)."""

    def __init__(self, rules: PiiRules, data: bytes) -> None:
        self.timeout = time_bound(len(data))
        payload = pickle.dumps((list(sys.path), pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL), data),
                               protocol=pickle.HIGHEST_PROTOCOL)
        del data
        self.failed = ""
        self.pending = b""  # what result() sends before go
        fd = _memory_file(payload)
        if fd < 0:
            self.pending = payload
        del payload
        try:
            self.proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(fd)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, pass_fds=(fd,) if fd >= 0 else ())
        except OSError as exc:
            self.proc, self.pending = None, b""
            self.failed = f"the workbook reader's process did not start ({exc.strerror or exc})"
        finally:
            if fd >= 0:
                os.close(fd)  # the child holds its own descriptor

    def result(self) -> list[TableResult]:
        """The sheets' judgements; Unsupported when the child declines or does not finish (the caller's
        reference reader then reads the workbook and says what is wrong with it)."""
        proc, self.proc = self.proc, None
        if proc is None:
            raise Unsupported(self.failed or "the workbook reader's process was ended")
        try:  # GO written (a child that has ended already, having declined the workbook, is not an error)
            out, _ = proc.communicate(self.pending + GO, timeout=self.timeout)
        except subprocess.TimeoutExpired:  # killed: the reference reader takes the workbook
            _end(proc)
            raise Unsupported(f"the workbook reader's process took more than {self.timeout:.0f} s") from None
        if proc.returncode != 0:
            raise Unsupported(f"the workbook reader's process ended with code {proc.returncode}")
        try:
            status, value = pickle.loads(out)  # written by serve() below, in our own child
        except (EOFError, pickle.UnpicklingError, ValueError, TypeError):
            raise Unsupported("the workbook reader's process gave no answer") from None
        if status != "ok":
            raise Unsupported(value)
        return value

    def cancel(self) -> None:
        """End the child without letting it load a sheet (the workbook was refused, or not read after all)."""
        proc, self.proc = self.proc, None
        if proc is not None:
            _end(proc)


def _memory_file(payload: bytes) -> int:
    """A descriptor of an anonymous memory file holding ``payload``, read from its start; -1 where there is none
    (not Linux)."""
    if not hasattr(os, "memfd_create"):
        return -1
    try:
        fd = os.memfd_create("auditor-workbook", os.MFD_CLOEXEC)
    except OSError:
        return -1
    try:
        with open(fd, "wb", closefd=False) as fh:
            fh.write(payload)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        return -1
    return fd


def _end(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.communicate()  # reaped, its pipes closed


def start(rules: PiiRules, data: bytes) -> Started:
    return Started(rules, data)


def read_in_child(rules: PiiRules, data: bytes) -> list[TableResult]:
    """WorkbookKernel.read_bytes in a child process; Unsupported when it declines or does not finish."""
    return Started(rules, data).result()


def serve(payload: list) -> None:
    """The child's side: [pickled rules, bytes] in (``payload`` holds the one reference to the bytes), the
    workbook opened, then, on ``go``, ("ok", judgements) or ("unsupported", reason) written to standard output;
    on anything else nothing."""
    data = payload.pop()
    kernel = WorkbookKernel(TableAnalyzer(pickle.loads(payload.pop())))  # pickled by our own parent
    try:
        opened = [kernel.open(data)]
    except Unsupported as exc:
        out = ("unsupported", str(exc))
    else:
        del data  # fastexcel holds its own copy
        if sys.stdin.buffer.read(1) != GO:
            return
        try:
            out = ("ok", kernel.sheets(opened))
        except Unsupported as exc:
            out = ("unsupported", str(exc))
    pickle.dump(out, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
