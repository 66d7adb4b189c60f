"""The one severity scale: what each level weighs in the score, how it looks on a terminal, in a spreadsheet and
in HTML, and what it is called in OCSF and ECS. Every other part of the agent (findings, exit codes, the score,
renderers, the fleet view, the SIEM mappings) reads it from here; the zh/en labels are in the i18n catalogs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Severity:
    name: str
    rank: int  # critical 5 … info 1: higher is worse
    weight: int  # score deduction points per finding (formula v1)
    style: str  # rich style of the terminal summary
    color: str  # colour of the level in spreadsheets and HTML
    ocsf_id: int  # OCSF severity_id
    ocsf_name: str  # OCSF severity
    ecs: int  # ECS event.severity
    risk_score: int  # ECS event.risk_score (0-100)

    @property
    def css(self) -> str:
        """Class token of the level in the HTML reports (``s-high``, ``b-high``) and its CSS variable."""
        return self.name


SEVERITIES: tuple[Severity, ...] = (
    Severity("critical", 5, 30, "bold white on red", "#7F1D1D", 5, "Critical", 5, 99),
    Severity("high", 4, 15, "bold red", "#C2410C", 4, "High", 4, 73),
    Severity("medium", 3, 5, "yellow", "#A16207", 3, "Medium", 3, 47),
    Severity("low", 2, 1, "cyan", "#0369A1", 2, "Low", 2, 21),
    Severity("info", 1, 0, "dim", "#6B7280", 1, "Informational", 1, 0),
)
NAMES: tuple[str, ...] = tuple(s.name for s in SEVERITIES)  # worst first
_BY_NAME = {s.name: s for s in SEVERITIES}


def severity(name: str) -> Severity:
    """The level called ``name``; KeyError for a name that is none."""
    return _BY_NAME[name]


def is_severity(name: object) -> bool:
    return isinstance(name, str) and name in _BY_NAME


def rank(name: str) -> int:
    return _BY_NAME[name].rank


def at_least(name: str, threshold: str) -> bool:
    return rank(name) >= rank(threshold)


def highest(*names: str | None) -> str:
    """The worst of the given levels (None ignored); ValueError when none is given."""
    given = [n for n in names if n is not None]
    if not given:
        raise ValueError("highest() of no severity")
    return max(given, key=rank)
