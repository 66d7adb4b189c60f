"""The one place findings are made: titles, legal basis, remediation and severity come from the check's data
(``auditor.core.checks``); the judge gives the target, the subject, the evidence, the title's parameters and the
named conditions that hold, never a severity."""

from __future__ import annotations

from typing import Any, Mapping

from ..i18n import fill
from .checks import CheckDef
from .model import Finding, Subject, Target


class FindingFactory:
    def __init__(self, checks: Mapping[str, CheckDef], role: str | None) -> None:
        self.checks = checks
        self.role = role

    def make(self, check_id: str, target: Target, evidence: dict[str, Any], params: dict[str, Any] | None = None,
             *, subject: Subject | None = None, conditions: Mapping[str, bool] | None = None,
             note: dict[str, str] | None = None) -> Finding:
        """A finding of ``check_id``. ``conditions``: {condition name: whether it holds}, the names of the check's
        ``escalations``. A parameter may differ per language: ``{"platform": {"zh": "拼多多", "en": "Pinduoduo"}}``."""
        chk = self.checks[check_id]
        params = params or {}
        holding = [name for name, holds in (conditions or {}).items() if holds]
        return Finding(
            check_id=chk.id, area=chk.area, severity=chk.severity_for(self.role, holding),
            title={lang: fill(text, params, lang) for lang, text in chk.title.items()},
            target=target, evidence=evidence, legal_basis=list(chk.legal_basis),
            remediation=dict(chk.remediation), note=note, subject=subject,
        )

