"""Opening one candidate file (or archive) and judging every table inside it.

Formats: text tables (CSV, TSV, TXT), workbooks (calamine), tables written as markup under ``.xls``, ``.htm(l)``
and ``.xml`` names (HTML tables and "XML Spreadsheet 2003", recognised by their content: a real BIFF ``.xls``
still goes to calamine), tab-separated text saved as ``.xls`` (read as a TSV) and PDF label batches (their text
layer, judged by auditor.files.label_scan), also inside ZIP archives.

Never crashes on bad input: every file that cannot be judged comes back as a skipped outcome with the
reason (encrypted, corrupt, too large, zip bomb, unsupported, binary, vanished, permission denied)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Callable

from .. import safeio
from ..durable import sha256_stream
from ..html_tables import html_tables
from ..markup_rows import markup_kind
from ..pdf_text import UnreadablePdf, read_pdf
from ..table_bounds import workbook_extent
from ..tabular import UnreadableTable, iter_sheets, tab_separated
from ..pii.rules import PiiRules
from ..textcodec import SAMPLE, decode_short
from ..xml_sheets import xml_worksheets
from .formats import (ARCHIVE_EXT, CANDIDATE_EXT, MARKUP_EXT, PDF_EXT, SHEET_EXT, TEXT_EXT, UNSUPPORTED_EXT,
                      Limits)
from .label_scan import judge_pages
from .textpath import display_path
from .table_scan import TableAnalyzer, TableResult

MARKUP_READERS = {"html": html_tables, "xml": xml_worksheets}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK"


@dataclass
class Outcome:
    target: str
    size: int
    tables: list[TableResult] = field(default_factory=list)
    skipped: str | None = None
    sha256: str | None = None
    encoding: str | None = None
    pages: int | None = None  # a PDF's pages

    @property
    def records(self) -> int:
        return sum(t.records for t in self.tables)

    @property
    def id_rows(self) -> int:
        return sum(t.id_rows for t in self.tables)

    def summary(self) -> dict[str, Any]:
        """Counts only: what the state store keeps and what evidence is built from."""
        kinds: dict[str, str] = {}
        for t in self.tables:
            for k, v in t.kinds.items():
                if kinds.get(k) != "unmasked":
                    kinds[k] = v
        masked = sum(t.masked_rows for t in self.tables)
        pi_rows = self.records + masked
        return {
            "records": self.records, "id_rows": self.id_rows, "masked_rows": masked,
            "total_rows": sum(t.total_rows for t in self.tables),
            "masked_share": round(masked / pi_rows, 4) if pi_rows else 0.0,
            "kinds": kinds,
            "sheets": [{"name": t.sheet, "rows": t.total_rows, "records": t.records, **t.column_evidence(),
                        **({"pages": self.pages} if self.pages is not None else {})} for t in self.tables],
            "samples": [x for t in self.tables for x in t.samples][:3],
            "skipped": self.skipped, "sha256": self.sha256, "encoding": self.encoding,
            "truncated": [f"sheet {t.sheet!r}: {n}" if t.sheet else n for t in self.tables for n in t.notes],
        }


class _HashingReader(io.RawIOBase):
    """Hashes what is read, so a streamed CSV is hashed in the same pass."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.hash, self.pos_max = raw, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def readinto(self, b) -> int:  # type: ignore[override]
        pos = self.raw.tell()
        n = self.raw.readinto(b)
        if n and pos + n > self.pos_max:
            start = max(0, self.pos_max - pos)
            self.hash.update(memoryview(b)[start:n])
            self.pos_max = pos + n
        return n or 0


def _encrypted_ole(head: bytes, fh: IO[bytes]) -> bool:
    try:
        import olefile

        fh.seek(0)
        ole = olefile.OleFileIO(fh)
        try:
            names = {"/".join(e).lower() for e in ole.listdir(streams=True, storages=True)}
        finally:
            ole.close()
        return "encryptedpackage" in names or "encryptioninfo" in names
    except Exception:  # noqa: BLE001
        return False


def _sheet_xml_bytes(fh: IO[bytes]) -> int:
    """Uncompressed size of the worksheets of an OOXML/ODS workbook (what calamine holds in memory)."""
    try:
        fh.seek(0)
        with zipfile.ZipFile(fh) as zf:
            return sum(i.file_size for i in zf.infolist()
                       if i.filename.startswith(("xl/worksheets/", "content.xml")) or i.filename == "xl/sharedStrings.xml")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return 0
    finally:
        fh.seek(0)


class FileScanner:
    def __init__(self, rules: PiiRules, limits: Limits | None = None) -> None:
        self.rules = rules
        self.limits = limits or Limits()
        self.analyzer = TableAnalyzer(rules)

    def scan(self, path: Path, opener: Callable[..., IO[bytes]] | None = None,
             tree: safeio.Tree = safeio.LIVE) -> list[Outcome]:
        """Judge one file. ``opener`` opens the entry a walk listed (auditor.safeio.OpenDir); without it the
        path is opened through ``tree``. Either way only a regular file is read (a FIFO, a device or a user's
        link is a skipped outcome with the reason), and only up to the size it had when it was opened."""
        ext = path.suffix.lower()
        name = display_path(path)
        try:
            fh = opener() if opener is not None else tree.open(path)
        except FileNotFoundError:
            return [Outcome(name, 0, skipped="vanished before it could be read")]
        except OSError as exc:
            return [Outcome(name, 0, skipped=safeio.reason_of(exc))]
        with fh:
            size = safeio.opened_size(fh)
            if ext in UNSUPPORTED_EXT:
                return [Outcome(name, size, skipped=f"unsupported format: {UNSUPPORTED_EXT[ext]}, not examined")]
            if size > self.limits.max_file_size:
                return [Outcome(name, size, skipped=f"too large ({size} bytes > limit {self.limits.max_file_size})")]
            try:
                if ext in ARCHIVE_EXT:
                    return self._archive(fh, name, size, depth=0)
                out = self._table(fh, name, ext, size)
                if out.sha256 is None and not out.skipped:
                    out.sha256 = _sha256(fh)
                return [out]
            except FileNotFoundError:
                return [Outcome(name, size, skipped="vanished while being read")]
            except OSError as exc:
                return [Outcome(name, size, skipped=f"read error ({safeio.reason_of(exc)})")]

    # ------------------------------------------------------------------ tables
    @staticmethod
    def _read_as(fh: IO[bytes], ext: str) -> str:
        """The extension a file is read under: ".tsv" for an ".xls" that is tab-separated text (neither an OLE
        workbook nor an HTML or XML 2003 table), else its own."""
        if ext != ".xls":
            return ext
        sample = fh.read(SAMPLE)
        fh.seek(0)
        if sample.startswith(OLE_MAGIC) or markup_kind(sample) is not None:
            return ext
        return ".tsv" if tab_separated(sample) else ext

    def _table(self, fh: IO[bytes], target: str, ext: str, size: int) -> Outcome:
        out = Outcome(target, size)
        if ext in PDF_EXT:
            return self._pdf(fh, out)
        ext = self._read_as(fh, ext)
        head = fh.read(8)
        fh.seek(0)
        markup = None
        if ext in MARKUP_EXT or (ext == ".xls" and not head.startswith(OLE_MAGIC)):
            markup = markup_kind(fh.read(SAMPLE))  # a web ".xls" is a table written as HTML or XML
            fh.seek(0)
            if markup is None and ext in MARKUP_EXT:
                return out  # a page or an XML document without tables: examined, nothing to judge
        if ext in SHEET_EXT and markup is None:
            if head.startswith(OLE_MAGIC) and ext != ".xls":
                out.skipped = ("encrypted (password-protected workbook)" if _encrypted_ole(head, fh)
                               else "not a valid workbook (OLE container with an OOXML extension)")
                return out
            if head.startswith(OLE_MAGIC) and _encrypted_ole(head, fh):
                out.skipped = "encrypted (password-protected workbook)"
                return out
            if head.startswith(ZIP_MAGIC):
                bomb = self._zip_bomb(fh, size)
                if bomb:
                    out.skipped = bomb
                    return out
            if size > self.limits.max_workbook:
                out.skipped = f"workbook too large to open safely ({size} bytes)"
                return out
            sheet_bytes = _sheet_xml_bytes(fh) if head.startswith(ZIP_MAGIC) else 0
            if sheet_bytes > self.limits.max_sheet_xml:
                out.skipped = (f"workbook too large to open safely ({sheet_bytes >> 20} MiB of sheet data; "
                               f"limit {self.limits.max_sheet_xml >> 20} MiB)")
                return out
            self._sheets_ahead(fh, ext, size)  # may start reading while the extent is checked (kernel.sheetchild)
            extent = workbook_extent(fh) if head.startswith(ZIP_MAGIC) else None
            if extent:
                out.skipped = extent
                return out
            fh.seek(0)
        reader: IO[bytes] = fh
        hasher = None
        if ext in TEXT_EXT or markup:
            hasher = _HashingReader(fh)
            reader = io.BufferedReader(hasher, 1 << 20)
        try:
            if markup:
                out.tables = [self.analyzer.analyze(rows, name) for name, rows in MARKUP_READERS[markup](reader)]
            else:
                out.tables = self._sheets(reader, target, ext)
        except UnreadableTable as exc:
            out.skipped, out.tables = str(exc), []
            return out
        except (UnicodeError, ValueError) as exc:
            out.skipped, out.tables = f"unreadable text ({type(exc).__name__})", []
            return out
        if hasher is not None:
            # hash what the reader did not consume (the text wrapper may be closed by now)
            fh.seek(hasher.pos_max)
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                hasher.hash.update(chunk)
            out.sha256 = hasher.hash.hexdigest()
        return out

    def _sheets_ahead(self, fh: IO[bytes], ext: str, size: int) -> None:
        """A workbook that passed every check but its extent's: the reference reader starts nothing here."""

    def _sheets(self, fh: IO[bytes], target: str, ext: str) -> list[TableResult]:
        """Every table of a text table or workbook file, judged (auditor.files.kernel reads them faster)."""
        return [self.analyzer.analyze(sheet.rows, sheet.name) for sheet in iter_sheets(target, fh=fh, ext=ext)]

    def _pdf(self, fh: IO[bytes], out: Outcome) -> Outcome:
        """A PDF's text layer judged as a label batch: one table of distinct recipients."""
        if out.size > self.limits.max_pdf:
            out.skipped = f"PDF too large to examine ({out.size} bytes > limit {self.limits.max_pdf})"
            return out
        try:
            doc = read_pdf(fh)
        except UnreadablePdf as exc:
            out.skipped = str(exc)
            return out
        out.pages = doc.pages
        out.tables.append(judge_pages(doc.texts, self.rules, doc.notes))
        return out

    # ------------------------------------------------------------------ archives
    def _zip_bomb(self, fh: IO[bytes], size: int) -> str | None:
        try:
            fh.seek(0)
            with zipfile.ZipFile(fh) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return None  # let the workbook reader report it as corrupt
        total = sum(i.file_size for i in infos)
        if len(infos) > self.limits.zip_max_members:
            return f"zip bomb suspected: {len(infos)} members"
        if total > self.limits.zip_max_total or (total > (64 << 20) and total > size * self.limits.zip_max_ratio):
            return f"zip bomb suspected: declares {total} bytes uncompressed from {size} bytes"
        return None

    def _archive(self, fh: IO[bytes], target: str, size: int, depth: int) -> list[Outcome]:
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            return [Outcome(target, size, skipped=f"corrupt or truncated archive ({type(exc).__name__})")]
        with zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            bomb = self._zip_bomb(fh, size)
            if bomb:
                return [Outcome(target, size, skipped=bomb)]
            outcomes: list[Outcome] = []
            for info in infos:
                name = _member_name(info)
                member_target = f"{target}!{name}"
                ext = PurePosixPath(name).suffix.lower()
                if ext not in CANDIDATE_EXT:
                    continue
                if info.flag_bits & 0x1:
                    outcomes.append(Outcome(member_target, info.file_size, skipped="encrypted archive member"))
                    continue
                if ext in UNSUPPORTED_EXT:
                    outcomes.append(Outcome(member_target, info.file_size,
                                            skipped=f"unsupported format: {UNSUPPORTED_EXT[ext]}, not examined"))
                    continue
                if info.compress_size and info.file_size > (16 << 20) and \
                        info.file_size > info.compress_size * self.limits.zip_max_ratio:
                    outcomes.append(Outcome(member_target, info.file_size, skipped=(
                        f"zip bomb suspected: ratio {info.file_size // max(info.compress_size, 1)}:1")))
                    continue
                try:
                    if ext in ARCHIVE_EXT:
                        if depth >= 1:
                            outcomes.append(Outcome(member_target, info.file_size,
                                                    skipped="archive nested more than one level, not examined"))
                            continue
                        if info.file_size > self.limits.nested_max:
                            outcomes.append(Outcome(member_target, info.file_size, skipped="nested archive too large"))
                            continue
                        inner = io.BytesIO(zf.read(info))
                        outcomes.extend(self._archive(inner, member_target, info.file_size, depth + 1))
                        continue
                    if ext in PDF_EXT and info.file_size > min(self.limits.max_pdf, self.limits.nested_max):
                        outcomes.append(Outcome(member_target, info.file_size, skipped="PDF too large to examine"))
                        continue
                    if ext in SHEET_EXT or ext in PDF_EXT:  # random access: held in memory
                        if info.file_size > self.limits.max_workbook:
                            outcomes.append(Outcome(member_target, info.file_size, skipped="workbook too large"))
                            continue
                        data = io.BytesIO(zf.read(info))
                        outcomes.append(self._table(data, member_target, ext, info.file_size))
                    elif info.file_size <= self.limits.nested_max:
                        data = io.BytesIO(zf.read(info))
                        outcomes.append(self._table(data, member_target, ext, info.file_size))
                    else:
                        with zf.open(info) as member:
                            buf = io.BufferedReader(_Seekless(member), 1 << 20)
                            outcomes.append(self._table(_Rewindable(buf), member_target, ext, info.file_size))
                except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
                    outcomes.append(Outcome(member_target, info.file_size,
                                            skipped=f"corrupt archive member ({type(exc).__name__})"))
            if not outcomes:
                outcomes.append(Outcome(target, size, skipped=None))
            return outcomes


def _sha256(fh: IO[bytes]) -> str:
    """SHA-256 of an opened file (up to the size it had when it was opened)."""
    fh.seek(0)
    return sha256_stream(fh)


def _member_name(info: zipfile.ZipInfo) -> str:
    """Member names from Chinese Windows zips are GBK without the UTF-8 flag."""
    name = info.filename
    if not info.flag_bits & 0x800:  # zipfile read the raw name as cp437
        try:
            name = decode_short(name.encode("cp437")) or name
        except UnicodeEncodeError:
            pass
    return name


class _Seekless(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self.raw.read(len(b))
        b[: len(data)] = data
        return len(data)


class _Rewindable(io.RawIOBase):
    """A forward-only stream that can be rewound once to its start (what encoding sniffing needs)."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw = raw
        self.head = raw.peek(SAMPLE)[:SAMPLE]
        self.head = raw.read(len(self.head))
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0 or offset > len(self.head) or (self.pos > len(self.head) and offset != self.pos):
            raise io.UnsupportedOperation("rewind only to the start")
        self.pos = offset
        return offset

    def readinto(self, b) -> int:  # type: ignore[override]
        n = len(b)
        if self.pos < len(self.head):
            chunk = self.head[self.pos:self.pos + n]
        else:
            chunk = self.raw.read(n)
        b[: len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)
