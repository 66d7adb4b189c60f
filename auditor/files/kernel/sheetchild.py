"""A large workbook read by kernel.sheetscan in a child process of its own: fastexcel holds every cell of a
sheet while it reads it (about 250 MB for 200,000 rows of 11 columns), and in a process that imported only
the kernel that peak stays within the memory bound; in the scan process it would come on top of everything
the scan holds. The parent hands over the workbook's bytes (read through auditor.safeio) and the rules on
standard input and gets the sheets' judgements back on standard output; the child opens no file.

Not on Windows (processes started from auditor.exe: see auditor.files.parallel) nor in a frozen build: there
the workbook is read in the scan process. The child is killed after ``time_bound`` seconds (then, as when it
fails, the reference reader reads the workbook in the scan process)."""

from __future__ import annotations

import pickle
import subprocess
import sys

from ...pii.rules import PiiRules
from ..table_scan import TableAnalyzer, TableResult
from .grid import Unsupported
from .sheetscan import WorkbookKernel

# the child: the parent's import path first (a checkout, a virtual environment), then this module
_BOOT = ("import pickle, sys\n"
         "sys.path[:] = pickle.load(sys.stdin.buffer)\n"
         "from auditor.files.kernel.sheetchild import serve\n"
         "serve()\n")


def usable() -> bool:
    return sys.platform != "win32" and not getattr(sys, "frozen", False) and bool(sys.executable)


def time_bound(size: int) -> float:
    """Seconds the child may take for a workbook of ``size`` bytes (about 50 times what it needs)."""
    return 60.0 + 5.0 * size / (1 << 20)


def read_in_child(rules: PiiRules, data: bytes) -> list[TableResult]:
    """WorkbookKernel.read_bytes in a child process; Unsupported when it declines or does not finish (the
    caller's reference reader then reads the workbook and says what is wrong with it)."""
    timeout = time_bound(len(data))
    payload = pickle.dumps(list(sys.path)) + pickle.dumps([rules, data], protocol=pickle.HIGHEST_PROTOCOL)
    del data
    try:
        proc = subprocess.run([sys.executable, "-c", _BOOT], input=payload, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=False, timeout=timeout)
    except OSError as exc:
        raise Unsupported(f"the workbook reader's process did not start ({exc.strerror or exc})") from None
    except subprocess.TimeoutExpired:  # killed: the reference reader takes the workbook
        raise Unsupported(f"the workbook reader's process took more than {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise Unsupported(f"the workbook reader's process ended with code {proc.returncode}")
    status, value = pickle.loads(proc.stdout)  # written by serve() below, in our own child
    if status != "ok":
        raise Unsupported(value)
    return value


def serve() -> None:
    """The child's side: (rules, bytes) in, ("ok", judgements) or ("unsupported", reason) out."""
    payload = pickle.load(sys.stdin.buffer)
    kernel = WorkbookKernel(TableAnalyzer(payload[0]))
    try:
        out = ("ok", kernel.read_bytes(payload.pop()))  # the only reference: released once fastexcel has it
    except Unsupported as exc:
        out = ("unsupported", str(exc))
    pickle.dump(out, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
