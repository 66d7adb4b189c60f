"""Severity scale shared by checks, findings, exit codes and renderers."""

from __future__ import annotations

SEVERITIES = ("critical", "high", "medium", "low", "info")
_RANK = {name: len(SEVERITIES) - i for i, name in enumerate(SEVERITIES)}  # critical=5 ... info=1


def rank(severity: str) -> int:
    return _RANK[severity]


def at_least(severity: str, threshold: str) -> bool:
    return rank(severity) >= rank(threshold)


def lower(severity: str, steps: int = 1) -> str:
    i = min(SEVERITIES.index(severity) + steps, len(SEVERITIES) - 1)
    return SEVERITIES[i]
