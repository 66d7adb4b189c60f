"""The file kernel: text exports judged in vectorised byte operations (numpy), with exactly the reference's
findings and counts.

The reference is auditor.tabular (reading) with auditor.files.table_scan (judging): every decision of the
kernel is one the reference makes, and whatever the kernel cannot read exactly it hands to the reference.
``grid`` finds records and cells in bytes, ``shapes`` decides whole columns of regular cells, ``batch`` judges
a batch as the reference's batch paths do, ``textscan`` drives a text file, ``scanner`` is the files area's
FileScanner with the kernel (what auditor.files.collect reads with). tests/test_files_kernel.py holds the
equivalence on the generated corpora."""
