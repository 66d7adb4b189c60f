"""Which files the files area reads, by their extension, and the bounds it reads them within: what the walk,
the collector, ``watch`` and the trail's verdicts need without loading the readers themselves (an unchanged
rescan reads no file and imports no reader)."""

from __future__ import annotations

from dataclasses import dataclass

from ..table_formats import SHEET_EXT, TEXT_EXT

ARCHIVE_EXT = {".zip"}
UNSUPPORTED_EXT = {".rar": "RAR archive", ".7z": "7-Zip archive", ".et": "WPS spreadsheet (.et)",
                   ".numbers": "Apple Numbers", ".gz": "gzip archive", ".tar": "tar archive"}
MARKUP_EXT = {".htm", ".html", ".xml"}  # read when their content is an HTML table or an XML Spreadsheet 2003
PDF_EXT = {".pdf"}
CANDIDATE_EXT = TEXT_EXT | SHEET_EXT | ARCHIVE_EXT | MARKUP_EXT | PDF_EXT | set(UNSUPPORTED_EXT)


@dataclass
class Limits:
    max_file_size: int = 2 << 30
    max_workbook: int = 512 << 20  # workbooks are decompressed in memory by calamine
    max_sheet_xml: int = 400 << 20  # about 200 MB of cells in memory at most
    zip_max_members: int = 10_000
    zip_max_total: int = 4 << 30
    zip_max_ratio: int = 200
    nested_max: int = 256 << 20
    max_pdf: int = 256 << 20  # a day's label batch of a large warehouse is tens of MB
