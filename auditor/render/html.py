"""Self-contained HTML report: one file, inline CSS, no script and no external resource (a Content Security
Policy in the page forbids any), readable from 375 px wide, prints cleanly on A4."""

from __future__ import annotations

from typing import Any

from . import view
from .templating import render_template


def render(report: dict[str, Any], lang: str = "zh") -> bytes:
    return render_template("report.html.j2", autoescape=True, **view.build(report, lang)).encode("utf-8")
