"""The file extensions of tables: text tables and workbooks (the readers are in ``auditor.tabular``; this list
is imported by who only needs to know which files are tables)."""

TEXT_EXT = {".csv", ".tsv", ".txt", ".tab"}
SHEET_EXT = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
