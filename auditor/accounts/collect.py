"""The accounts collector: this PC's own accounts (always), and the HR roster, platform/WMS sub-account exports,
login logs and the account map when they are given. All of the area's I/O happens here.

Without input files only the OS accounts are read, quickly and without pandas."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from typing import Any

from ..core.context import ScanContext
from ..core.handover import Handover
from ..core.model import Coverage
from . import net_user, os_linux
from .inputs import Inputs, Vocab, load_inputs, vocab
from .records import OsAccount

AREA = "accounts"


@dataclass
class AccountFacts:
    as_of: dt.date
    inputs: Inputs | None = None  # the input files, when any was given
    vocab: Vocab | None = None
    os_accounts: list[OsAccount] = field(default_factory=list)
    guest_session: dict[str, Any] | None = None  # LightDM's guest session, when enabled
    os_read: bool = False  # this PC's accounts could be read


def has_inputs(opts) -> bool:
    return bool(opts.roster or opts.subaccounts or opts.logins or opts.account_map or opts.column_map)


def collect(ctx: ScanContext, opts, handover: Handover) -> AccountFacts:
    facts = AccountFacts(as_of=opts.as_of or ctx.today)
    if has_inputs(opts):
        facts.vocab = vocab()
        facts.inputs = read_inputs(opts, ctx.coverage)
    facts.os_accounts, facts.guest_session, facts.os_read = collect_os(ctx, facts.as_of)
    return facts


def read_inputs(opts, coverage: Coverage, roster_only: bool = False) -> Inputs:
    """The input files of the options (only the roster with ``roster_only``)."""
    if roster_only:
        return load_inputs(opts.roster, [], [], None, dict(opts.column_map), coverage)
    return load_inputs(opts.roster, list(opts.subaccounts), list(opts.logins), opts.account_map,
                       dict(opts.column_map), coverage)


def collect_os(ctx: ScanContext, today: dt.date) -> tuple[list[OsAccount], dict | None, bool]:
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
