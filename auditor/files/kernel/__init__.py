"""The file kernel: exports judged at disk speed, with exactly the reference's findings and counts.

The reference is auditor.tabular (reading) with auditor.files.table_scan (judging): every decision of the
kernel is one the reference makes, and whatever the kernel cannot read exactly it hands to the reference.
``grid`` finds records and cells in bytes, ``shapes`` decides whole columns of regular cells, ``batch`` judges
a batch as the reference's batch paths do, ``textscan`` drives a text file, ``scanner`` plugs it into the
files area's FileScanner."""
