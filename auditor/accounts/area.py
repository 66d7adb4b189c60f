"""The accounts area: this PC's own accounts (always), and, with the HR roster, platform/WMS sub-account
exports and login logs, the accounts of departed, absent or shared staff.

Without input files only the OS accounts are audited, quickly and without pandas; the checks that need a
roster, an export or a log are listed in the coverage as not assessed, naming the input that enables them."""

from __future__ import annotations

import sys

from ..areas import AreaRun
from ..core.context import ScanContext
from ..core.model import Finding
from . import net_user, os_linux
from .checks import AccountChecks, shared_pc
from .records import OsAccount

AREA = "accounts"


def collect_os(ctx: ScanContext, today) -> tuple[list[OsAccount], dict | None, bool]:
    """(accounts, LightDM guest session, whether this PC's accounts could be read)."""
    if ctx.windows:
        cov = ctx.coverage.source(AREA, "os-accounts:net user")
        if not ctx.live:
            cov.status = "not_assessed"
            cov.note = ("offline Windows tree: local accounts live in the SAM registry hive, which this version "
                        "does not read; run the agent on the PC itself")
            return [], None, False
        accounts, problems = net_user.collect_live(today)
        for p in problems:
            cov.skip("net user", p)
        cov.examined = len(accounts)
        for acc in accounts:
            for p in acc.problems:
                cov.skip(f"net user {acc.name}", p)
        if not accounts:
            cov.status = "failed" if problems else "no_data"
            if not problems:  # e.g. Wine's `net`, which prints only its usage text
                cov.note = "`net user` gave no data: no account listed"
        return accounts, None, bool(accounts)
    if ctx.live and sys.platform == "darwin":
        cov = ctx.coverage.source(AREA, "os-accounts")
        cov.status, cov.note = "not_assessed", "macOS accounts (Directory Services) are not read by this version"
        return [], None, False
    facts = os_linux.collect(ctx, today)
    return facts.accounts, facts.guest_session, bool(facts.accounts)


def run(run: AreaRun) -> list[Finding]:
    opts = run.opts
    as_of = opts.as_of or run.today
    inputs = None
    voc = None
    if opts.roster or opts.subaccounts or opts.logins or opts.account_map or opts.column_map:
        from .inputs import load_inputs, vocab

        voc = vocab()
        inputs = load_inputs(opts.roster, list(opts.subaccounts), list(opts.logins), opts.account_map,
                             dict(opts.column_map), run.ctx.coverage)
    os_accounts, guest_session, os_ok = collect_os(run.ctx, as_of)

    from .join import Joiner

    joiner = Joiner(inputs, os_accounts, voc, as_of)
    views = joiner.run()
    if inputs is not None and inputs.logins is not None:
        cov = next((c for c in run.ctx.coverage.entries if c.source.startswith("logins:")), None)
        extra = []
        if joiner.future_events:
            extra.append(f"{joiner.future_events} log lines after --as-of {as_of} ignored")
        if joiner.failed_events:
            extra.append(f"{joiner.failed_events} failed logins not counted as logins")
        if cov is not None and extra:
            cov.note = "; ".join([cov.note, *extra]) if cov.note else "; ".join(extra)

    checks = AccountChecks(run.factory, as_of, opts.stale_days, run.ctx.role,
                           has_roster=bool(inputs and inputs.has_roster),
                           has_subaccounts=bool(inputs and inputs.has_subaccounts),
                           has_logins=bool(inputs and inputs.has_logins))
    findings = checks.run(views, os_accounts, guest_session,
                          shared_pc(run.ctx.role, os_accounts, as_of, opts.stale_days))
    checks.report_coverage(run.ctx.coverage, os_ok)
    run.shared["accounts"] = {
        "as_of": as_of,
        "people": [{"employee_id": p.employee_id, "name": p.name, "departed": p.departed(as_of),
                    "leave_date": p.leave_date} for p in joiner.people],
    }
    return findings
