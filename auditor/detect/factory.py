"""Building findings from check definitions (titles, basis, remediation and severity come from data)."""

from __future__ import annotations

from typing import Any

from ..i18n import fill
from ..model import Finding, Target
from ..packs import CheckDef


class FindingFactory:
    def __init__(self, checks: dict[str, CheckDef], role: str | None) -> None:
        self.checks = checks
        self.role = role

    def make(self, check_id: str, target: Target, evidence: dict[str, Any], params: dict[str, Any] | None = None,
             severity: str | None = None, note: dict[str, str] | None = None) -> Finding:
        chk = self.checks[check_id]
        params = params or {}
        return Finding(
            check_id=chk.id, area=chk.area, severity=severity or chk.severity_for(self.role),
            title={lang: fill(text, params, lang) for lang, text in chk.title.items()},
            target=target, evidence=evidence, legal_basis=list(chk.legal_basis),
            remediation=dict(chk.remediation), note=note,
        )
