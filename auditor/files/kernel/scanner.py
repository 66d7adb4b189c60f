"""FileScanner with the kernel: text tables judged by auditor.files.kernel.textscan, workbooks by
auditor.files.kernel.sheetscan (where fastexcel is installed), the reference reader taking every file the
kernel refuses (and giving the outcome the reference gives)."""

from __future__ import annotations

from typing import IO

from ...tabular import SHEET_EXT, TEXT_EXT, UnreadableTable
from ..file_scan import FileScanner, Limits, Outcome, _Rewindable
from ..table_scan import TableResult
from ...pii.rules import PiiRules
from .grid import Unsupported
from . import sheetchild
from .sheetscan import WorkbookKernel, available
from .textscan import TextKernel


CHILD_BYTES = 4 << 20  # a workbook this large is read in a child process (kernel.sheetchild)


class KernelScanner(FileScanner):
    def __init__(self, rules: PiiRules, limits: Limits | None = None) -> None:
        super().__init__(rules, limits)
        self.text = TextKernel(self.analyzer)
        self.workbooks = WorkbookKernel(self.analyzer) if available() else None
        self.ahead: sheetchild.Started | None = None  # a child opening the workbook while its extent is checked

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
        try:
            return super()._table(fh, target, ext, size)
        finally:
            if self.ahead is not None:  # the workbook was refused (its extent) or failed before its sheets
                self.ahead.cancel()
                self.ahead = None

    def _sheets_ahead(self, fh: IO[bytes], ext: str, size: int) -> None:
        if size >= CHILD_BYTES and ext in SHEET_EXT and self.workbooks is not None and sheetchild.usable() \
                and _rewinds(fh):
            fh.seek(0)
            self.ahead = sheetchild.start(self.analyzer.rules, fh.read())
            fh.seek(0)

    def _sheets(self, fh: IO[bytes], target: str, ext: str) -> list[TableResult]:
        if ext in SHEET_EXT and self.workbooks is not None and _rewinds(fh):
            try:
                if self.ahead is not None:
                    ahead, self.ahead = self.ahead, None
                    return ahead.result()
                fh.seek(0)
                data = fh.read()
                if len(data) >= CHILD_BYTES and sheetchild.usable():
                    return sheetchild.read_in_child(self.analyzer.rules, data)
                return self.workbooks.read_bytes(data)
            except (Unsupported, UnicodeError, ValueError):
                fh.seek(0)  # the reference reads it, and says what is wrong with it if anything is
        return super()._sheets(fh, target, ext)


def _rewinds(fh: IO[bytes]) -> bool:
    """Whether ``fh`` can be read again from its start (a file, a member read into memory; not a stream)."""
    try:
        return fh.seekable() and not isinstance(fh, _Rewindable)
    except (OSError, ValueError):
        return False
