"""The file kernel: text exports judged in vectorised byte operations (numpy), with exactly the reference's
findings and counts.

The reference is auditor.tabular (reading) with auditor.files.table_scan (judging): every decision of the
kernel is one the reference makes, and whatever the kernel cannot read exactly it hands to the reference.
``grid`` finds records and cells in bytes, ``shapes`` decides whole columns of regular cells, ``batch`` judges
a batch as the reference's batch paths do, ``textscan`` drives a text file; for workbooks ``arrowc`` takes
fastexcel's Arrow columns, ``sheetgrid`` lays their text out as ``grid`` lays a text table's, ``sheetscan``
drives a workbook and ``sheetchild`` reads a large one in a child process; ``scanner`` is the files area's
FileScanner with the kernel (what auditor.files.collect reads with). tests/test_files_kernel.py and tests/test_sheet_kernel.py hold
the equivalence on the generated corpora."""
