"""Renderers turn a finished report dict into files. They only render; they never judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError
from ..fsutil import write_private
from . import json_report

# extension -> renderer(report, lang) -> bytes ; later issues add .html, .md, .xlsx, .csv ...
RENDERERS: dict[str, Callable[[dict[str, Any], str], bytes]] = {
    ".json": json_report.render,
}


def renderer_for(path: Path) -> Callable[[dict[str, Any], str], bytes]:
    name = path.name.lower()
    for ext in sorted(RENDERERS, key=len, reverse=True):  # longest first: .ecs.ndjson before .ndjson
        if name.endswith(ext):
            return RENDERERS[ext]
    known = ", ".join(sorted(RENDERERS))
    raise UsageError(f"--output {path}: unknown report format {path.suffix or '(no extension)'!r}; known: {known}")


def write(report: dict[str, Any], path: Path, lang: str) -> None:
    write_private(path, renderer_for(path)(report, lang))
