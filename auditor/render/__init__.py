"""Renderers turn a finished report dict into files. They only render; they never judge."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError
from ..durable import write_bytes

# extension -> (module, function); the function renders (report, lang) -> bytes. A format's module is imported
# when that format is written: a scan writing JSON does not import jinja2 (HTML, Markdown) or xlsxwriter.
RENDERERS: dict[str, tuple[str, str]] = {
    ".json": ("auditor.render.json_report", "render"),
    ".html": ("auditor.render.html", "render"),
    ".htm": ("auditor.render.html", "render"),
    ".md": ("auditor.render.markdown", "render"),
    ".xlsx": ("auditor.render.xlsx", "render"),
    ".csv": ("auditor.render.csv_report", "render"),
    ".ecs.ndjson": ("auditor.siem.ndjson", "render_ecs"),  # ECS documents in a _bulk body for the data stream
    ".ocsf.ndjson": ("auditor.siem.ndjson", "render_ocsf"),  # OCSF 1.3.0 events, one per line
}


def renderer_for(path: Path) -> Callable[[dict[str, Any], str], bytes]:
    name = path.name.lower()
    for ext in sorted(RENDERERS, key=len, reverse=True):  # longest first: .ecs.ndjson before .ndjson
        if name.endswith(ext):
            module, function = RENDERERS[ext]
            return getattr(importlib.import_module(module), function)  # on demand: see RENDERERS
    known = ", ".join(sorted(RENDERERS))
    raise UsageError("usage.unknown_format", path=path, suffix=path.suffix or '(no extension)', known=known)


def write(report: dict[str, Any], path: Path, lang: str) -> None:
    write_bytes(path, renderer_for(path)(report, lang))
