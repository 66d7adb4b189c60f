"""Renderers turn a finished report dict into files. They only render; they never judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError
from ..durable import write_bytes
from ..siem import ndjson
from . import csv_report, html, json_report, markdown, xlsx

# extension -> renderer(report, lang) -> bytes
RENDERERS: dict[str, Callable[[dict[str, Any], str], bytes]] = {
    ".json": json_report.render,
    ".html": html.render,
    ".htm": html.render,
    ".md": markdown.render,
    ".xlsx": xlsx.render,
    ".csv": csv_report.render,
    ".ecs.ndjson": ndjson.render_ecs,  # ECS documents in a _bulk body for the data stream
    ".ocsf.ndjson": ndjson.render_ocsf,  # OCSF 1.3.0 events, one per line
}


def renderer_for(path: Path) -> Callable[[dict[str, Any], str], bytes]:
    name = path.name.lower()
    for ext in sorted(RENDERERS, key=len, reverse=True):  # longest first: .ecs.ndjson before .ndjson
        if name.endswith(ext):
            return RENDERERS[ext]
    known = ", ".join(sorted(RENDERERS))
    raise UsageError(f"--output {path}: unknown report format {path.suffix or '(no extension)'!r}; known: {known}")


def write(report: dict[str, Any], path: Path, lang: str) -> None:
    write_bytes(path, renderer_for(path)(report, lang))
