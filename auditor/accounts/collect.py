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
from . import net_user, netapi, os_linux, sam
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
        if not ctx.live:
            return _offline_windows(ctx, today)
        return _live_windows(ctx, today)
    if ctx.live and sys.platform == "darwin":
        cov = ctx.coverage.source(AREA, "os-accounts")
        cov.status, cov.note = "not_assessed", "macOS accounts (Directory Services) are not read by this version"
        return [], None, False
    facts = os_linux.collect(ctx, today)
    return facts.accounts, facts.guest_session, bool(facts.accounts)


def _live_windows(ctx: ScanContext, today: dt.date) -> tuple[list[OsAccount], None, bool]:
    """Through the Net API (any display language); `net user` only when the API is not there or refuses."""
    try:
        got = netapi.collect_live()
    except OSError as exc:
        accounts, problems = net_user.collect_live(today)
        cov = ctx.coverage.source(AREA, "os-accounts:net user")
        cov.note = f"NetUserEnum failed ({exc.strerror or exc}); read from `net user` instead"
        _account_coverage(cov, "net user", accounts, problems)
        if not accounts and not problems:  # e.g. Wine's `net`, which prints only its usage text
            cov.note += "; `net user` gave no data: no account listed"
        return accounts, None, bool(accounts)
    cov = ctx.coverage.source(AREA, "os-accounts:netapi")
    cov.note = got.method
    _account_coverage(cov, "NetUserEnum", got.accounts, got.problems)
    return got.accounts, None, bool(got.accounts)


def _offline_windows(ctx: ScanContext, today: dt.date) -> tuple[list[OsAccount], None, bool]:
    """From the tree's SAM hive, when the scan reads the tree's hives (no --registry-export given)."""
    cov = ctx.coverage.source(AREA, "os-accounts:sam-hive")
    got = sam.collect(ctx.registry, today) if ctx.registry is not None else None
    if got is None:
        cov.status = "not_assessed"
        cov.note = ("offline Windows tree: no readable SAM hive (Windows\\System32\\config\\SAM) in this registry "
                    "view; with --registry-export the hives of the tree are not read")
        return [], None, False
    accounts, problems = got
    cov.note = "HKLM\\SAM of the tree (Windows\\System32\\config\\SAM)"
    _account_coverage(cov, "SAM", accounts, problems)
    return accounts, None, bool(accounts)


def _account_coverage(cov, what: str, accounts: list[OsAccount], problems: list[str]) -> None:
    for p in problems:
        cov.skip(what, p)
    cov.examined = len(accounts)
    for acc in accounts:
        for p in acc.problems:
            cov.skip(f"{what} {acc.name}", p)
    if not accounts:
        cov.status = "failed" if problems else "no_data"
