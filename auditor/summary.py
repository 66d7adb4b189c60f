"""The rich summary printed on the terminal after a scan.

Everything taken from the report (host, titles, targets, coverage sources: names the audited users chose)
reaches rich as ``terminal.text``, never as markup; only our own labels carry styles."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .i18n import t
from .render.view import area_label, assessment_text, no_findings_text, other_host_note, reader_notes
from .core.severity import NAMES, severity
from .terminal import text

MAX_ROWS = 25


def print_summary(report: dict[str, Any], lang: str, console: Console | None = None) -> None:
    console = console or Console(highlight=False, emoji=False)
    host = report["host"]
    console.print(Text.assemble((t(lang, "title"), "bold"), "  ",
                                text(f"{report['tool']['name']} {report['tool']['version']}")))
    console.print(Text.assemble(
        f"{t(lang, 'host')}: ", text(host.get("hostname", "")), " (", text(host.get("os", "")), ")  ",
        f"{t(lang, 'role')}: ", text(t(lang, host.get("role") or "unspecified")), "  ",
        f"{t(lang, 'areas')}: ", text(", ".join(str(a) for a in report["scope"]["areas"]))))

    score = report.get("score")
    if isinstance(score, dict) and "value" in score:
        console.print(Text.assemble(f"{t(lang, 'r.score')}: ", text(f"{score['value']} / 100", "bold"), "  ",
                                    f"{t(lang, 'r.grade')}: ", text(score.get("grade", ""), "bold")))
        if assessment_text(score, lang):  # how much the score rests on: never a bare A for a partial scan
            console.print(text(f"{t(lang, 'r.assessment')}: {assessment_text(score, lang)}",
                               "" if (score.get("assessment") or {}).get("complete") else "yellow"))
    if other_host_note(report, lang):  # a baseline of another PC: the changes compare two PCs
        console.print(text(other_host_note(report, lang), "bold yellow"))

    counts = Table(show_header=True, header_style="bold")
    counts.add_column(t(lang, "severity"))
    counts.add_column(t(lang, "count"), justify="right")
    for sev in NAMES:
        counts.add_row(_severity(sev, lang), text(report["summary"]["by_severity"].get(sev, 0)))
    console.print(counts)

    findings = report["findings"]
    if not findings:
        console.print(text(no_findings_text(report, lang)))
    else:
        table = Table(show_header=True, header_style="bold", expand=False)
        table.add_column(t(lang, "severity"))
        table.add_column(t(lang, "check"))
        table.add_column(t(lang, "finding"), overflow="fold")
        table.add_column(t(lang, "target"), overflow="fold")
        for f in findings[:MAX_ROWS]:
            table.add_row(_severity(f["severity"], lang), text(f["check_id"]), text(f["title"][lang]),
                          text(f["target"]["label"]))
        console.print(table)
        if len(findings) > MAX_ROWS:
            console.print(text(t(lang, "more", n=len(findings) - MAX_ROWS)))

    cov = Table(title=t(lang, "coverage"), show_header=True, header_style="bold")
    cov.add_column(t(lang, "r.area"))
    for key in ("source", "status", "examined", "skipped"):
        cov.add_column(t(lang, key))
    for c in report["coverage"]:
        status = t(lang, f"coverage_status.{c['status']}")
        cov.add_row(text(area_label(lang, c["area"])), text(c["source"]),
                    text(status, "" if c["status"] == "ok" else "yellow"), text(c["examined"]), text(len(c["skipped"])))
    console.print(cov)
    for c in report["coverage"]:  # what the reader must know about a source (a roster column named twice)
        for note in reader_notes(c, lang):
            console.print(text(f"{area_label(lang, c['area'])} · {c['source']}: {note}", "yellow"))


def _severity(sev: str, lang: str) -> Text:
    return text(t(lang, sev), severity(sev).style)
