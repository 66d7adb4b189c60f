"""Jinja2 templates from the reports pack (`reports/templates/`, or AUDITOR_REPORTS_DIR)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from ..resources import pack_dir


@lru_cache(maxsize=None)
def _env(folder: str, autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=autoescape,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render_template(name: str, autoescape: bool, filters: dict | None = None, **context: object) -> str:
    env = _env(str(Path(pack_dir("reports")) / "templates"), autoescape)
    if filters:
        env.filters.update(filters)
    return env.get_template(name).render(**context)
