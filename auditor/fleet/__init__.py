"""Fleet view: the JSON reports of many PCs in one embedded SQLite store, one fleet report
(HTML/XLSX/Markdown) and SIEM export (ECS / OCSF NDJSON in the Elasticsearch/OpenSearch `_bulk` format).

store.py    the SQLite store (owner-only; a report's SHA-256 digest is its key)
ingest.py   reading, verifying and loading report files; rejected files with their reasons
tables.py   the fleet's tables (pandas): per PC, per site, per week, tools, export locations, silent PCs
render.py   the fleet report in HTML, XLSX and Markdown
siem.py     one ECS or OCSF document per finding, in bulk-API NDJSON
push.py     POSTing NDJSON to a `_bulk` endpoint with bounded retries
"""

from __future__ import annotations

NAME = "yuncang-auditor"
#: a PC whose latest report is older than this many days is "silent" (FL-001)
DEFAULT_SILENT_DAYS = 7
