"""Findings for a SIEM: the ECS and OCSF mappings, their NDJSON forms and the Elasticsearch/OpenSearch index
template. Used by the renderers (`auditor scan -o FILE.ecs.ndjson / FILE.ocsf.ndjson`) and by the fleet
(`auditor fleet export`); it imports neither.

facts.py     what both mappings copy from a report and a finding (nothing is re-read from the PC)
ecs.py       Elastic Common Schema documents for the data stream ``logs-yuncang.findings-<namespace>``
ocsf.py      OCSF 1.3.0 Compliance Finding (2003) and Data Security Finding (2006) events
ndjson.py    the lines: ``_bulk`` (a ``create`` action, then the document) for ECS; one event per line for OCSF
template.py  the component and composable index templates shipped in reports/siem/
"""
