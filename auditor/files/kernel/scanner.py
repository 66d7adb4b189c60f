"""FileScanner with the kernel: text tables judged by auditor.files.kernel.textscan, the reference reader
taking every file the kernel refuses (and giving the outcome the reference gives)."""

from __future__ import annotations

from typing import IO

from ...tabular import TEXT_EXT, UnreadableTable
from ..file_scan import FileScanner, Limits, Outcome, _Rewindable
from ...pii.rules import PiiRules
from .grid import Unsupported
from .textscan import TextKernel


class KernelScanner(FileScanner):
    def __init__(self, rules: PiiRules, limits: Limits | None = None) -> None:
        super().__init__(rules, limits)
        self.text = TextKernel(self.analyzer)

    def _table(self, fh: IO[bytes], target: str, ext: str, size: int) -> Outcome:
        if ext == ".xls" and _rewinds(fh):
            ext = self._read_as(fh, ext)  # a TSV saved as .xls is a text table for the kernel too
        if ext in TEXT_EXT and _rewinds(fh):
            try:
                table, sha256 = self.text.read(fh)
            except UnreadableTable as exc:
                return Outcome(target, size, skipped=str(exc))
            except (Unsupported, UnicodeError, ValueError):
                fh.seek(0)  # the reference reads it, and says what is wrong with it if anything is
            else:
                return Outcome(target, size, tables=[table], sha256=sha256)
        return super()._table(fh, target, ext, size)


def _rewinds(fh: IO[bytes]) -> bool:
    """Whether ``fh`` can be read again from its start (a file, a member read into memory; not a stream)."""
    try:
        return fh.seekable() and not isinstance(fh, _Rewindable)
    except (OSError, ValueError):
        return False
