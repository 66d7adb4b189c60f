"""The rich summary printed on the terminal after a scan."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .i18n import t
from .render.view import assessment_text, no_findings_text
from .severity import SEVERITIES

STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}
MAX_ROWS = 25


def print_summary(report: dict[str, Any], lang: str, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    host = report["host"]
    console.print(f"[bold]{t(lang, 'title')}[/bold]  {report['tool']['name']} {report['tool']['version']}")
    console.print(f"{t(lang, 'host')}: {host['hostname']} ({host.get('os', '')})  "
                  f"{t(lang, 'role')}: {t(lang, host.get('role') or 'unspecified')}  {t(lang, 'areas')}: {', '.join(report['scope']['areas'])}")

    score = report.get("score")
    if isinstance(score, dict) and "value" in score:
        console.print(f"{t(lang, 'r.score')}: [bold]{score['value']} / 100[/bold]  "
                      f"{t(lang, 'r.grade')}: [bold]{score.get('grade', '')}[/bold]")
        if assessment_text(score, lang):  # how much the score rests on: never a bare A for a partial scan
            console.print(Text(f"{t(lang, 'r.assessment')}: {assessment_text(score, lang)}",
                               style="" if (score.get("assessment") or {}).get("complete") else "yellow"))

    counts = Table(show_header=True, header_style="bold")
    counts.add_column(t(lang, "severity"))
    counts.add_column(t(lang, "count"), justify="right")
    for sev in SEVERITIES:
        counts.add_row(f"[{STYLE[sev]}]{t(lang, sev)}[/]", str(report["summary"]["by_severity"].get(sev, 0)))
    console.print(counts)

    findings = report["findings"]
    if not findings:
        console.print(Text(no_findings_text(report, lang)))
    else:
        table = Table(show_header=True, header_style="bold", expand=False)
        table.add_column(t(lang, "severity"))
        table.add_column(t(lang, "check"))
        table.add_column(t(lang, "finding"), overflow="fold")
        table.add_column(t(lang, "target"), overflow="fold")
        for f in findings[:MAX_ROWS]:
            table.add_row(f"[{STYLE[f['severity']]}]{t(lang, f['severity'])}[/]", f["check_id"],
                          f["title"][lang], f["target"]["label"])
        console.print(table)
        if len(findings) > MAX_ROWS:
            console.print(t(lang, "more", n=len(findings) - MAX_ROWS))

    cov = Table(title=t(lang, "coverage"), show_header=True, header_style="bold")
    for key in ("source", "status", "examined", "skipped"):
        cov.add_column(t(lang, key))
    for c in report["coverage"]:
        status = t(lang, c["status"])
        cov.add_row(f"{c['area']}:{c['source']}", status if c["status"] == "ok" else f"[yellow]{status}[/]",
                    str(c["examined"]), str(len(c["skipped"])))
    console.print(cov)
