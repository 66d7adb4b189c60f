"""The accounts judge: ties accounts to the roster's people (``auditor.accounts.join``) and judges them
(``auditor.accounts.checks``); the checks that need an input that was not given are listed in the coverage as not
assessed. No I/O. Hands the roster's departures to the export trail."""

from __future__ import annotations

from ..core.area import JudgeContext
from ..core.model import Finding
from .checks import AccountChecks, shared_pc
from .collect import AccountFacts
from .departures import departures_from
from .join import Joiner


def judge(facts: AccountFacts, jc: JudgeContext) -> list[Finding]:
    opts, inputs, as_of = jc.options, facts.inputs, facts.as_of
    joiner = Joiner(inputs, facts.os_accounts, facts.vocab, as_of)
    views = joiner.run()
    if inputs is not None and inputs.logins is not None:
        cov = next((c for c in jc.coverage.entries if c.source.startswith("logins:")), None)
        extra = []
        if joiner.future_events:
            extra.append(f"{joiner.future_events} log lines after --as-of {as_of} ignored")
        if joiner.failed_events:
            extra.append(f"{joiner.failed_events} failed logins not counted as logins")
        if cov is not None and extra:
            cov.note = "; ".join([cov.note, *extra]) if cov.note else "; ".join(extra)
    checks = AccountChecks(jc.factory, as_of, opts.stale_days, jc.role,
                           has_roster=bool(inputs and inputs.has_roster),
                           has_subaccounts=bool(inputs and inputs.has_subaccounts),
                           has_logins=bool(inputs and inputs.has_logins))
    findings = checks.run(views, facts.os_accounts, facts.guest_session,
                          shared_pc(jc.role, facts.os_accounts, as_of, opts.stale_days))
    checks.report_coverage(jc.coverage, facts.os_read)
    if inputs is not None and inputs.has_roster:
        jc.handover.departures = departures_from(inputs)
    return findings
