"""Markdown report (CommonMark + GitHub tables). Text from the report is escaped so that a file name or a
process name can neither break a table nor inject markup or HTML."""

from __future__ import annotations

import re
from typing import Any

from . import view
from .templating import render_template

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~&])")


def md(value: Any) -> str:
    """Inline text: Markdown/HTML punctuation escaped, line breaks kept as hard breaks."""
    text = _SPECIAL.sub(r"\\\1", str(value)).replace("\r", "")
    return text.replace("\n", "  \n")


def cell(value: Any) -> str:
    """A table cell: like md(), with line breaks as <br> (tables cannot hold a newline)."""
    return _SPECIAL.sub(r"\\\1", str(value)).replace("\r", "").replace("\n", "<br>")


def render(report: dict[str, Any], lang: str = "zh") -> bytes:
    text = render_template("report.md.j2", autoescape=False, filters={"md": md, "cell": cell},
                           **view.build(report, lang))
    return re.sub(r"\n{3,}", "\n\n", text).encode("utf-8")
