"""The account judgements (AC-001 … AC-010). The collector and the joiner gather facts; this module decides
which facts are findings, and which checks could not be assessed for lack of input.

Staff account names and staff names appear in full (they are the firm's own staff, and the officer must
act on them); login-log action texts are reduced to a category and the table word that matched, so no
order or customer detail from a log line reaches the report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..core.checks import roles
from ..core.factory import FindingFactory
from ..core.model import Coverage, Finding, Subject, Target
from ..i18n import both, t
from .dates import iso
from .join import AccountView, Person
from .records import LoginEvent, OsAccount

AREA = "accounts"
MAX_LOGINS = 20  # log lines listed per finding (the total is given too)
SESSION_GAP = dt.timedelta(minutes=30)  # events from one IP closer than this form one session
SESSION_MIN = dt.timedelta(minutes=10)  # a lone login counts as a session this long


@dataclass
class Session:
    ip: str
    start: dt.datetime
    end: dt.datetime
    events: list[LoginEvent]

    def to_dict(self) -> dict[str, Any]:
        return {"ip": self.ip, "from": iso(self.start), "to": iso(self.end), "events": len(self.events),
                "sources": sorted({e.source for e in self.events})}


def sessions(events: list[LoginEvent]) -> list[Session]:
    """Per-IP sessions: a logout ends one; a gap over SESSION_GAP starts a new one."""
    out: list[Session] = []
    by_ip: dict[str, list[LoginEvent]] = {}
    for e in sorted(events, key=lambda e: e.time):
        if e.ip:
            by_ip.setdefault(e.ip, []).append(e)
    for ip, evs in by_ip.items():
        cur: Session | None = None
        for e in evs:
            if cur is None or e.time - cur.end > SESSION_GAP or cur.events[-1].action == "logout":
                if cur:
                    out.append(cur)
                cur = Session(ip, e.time, e.time, [e])
            else:
                cur.end = e.time
                cur.events.append(e)
        if cur:
            out.append(cur)
    for s in out:
        if s.end - s.start < SESSION_MIN and s.events[-1].action != "logout":
            s.end = s.start + SESSION_MIN
    return sorted(out, key=lambda s: s.start)


def overlapping(sess: list[Session]) -> list[tuple[Session, Session]]:
    pairs = []
    for i, a in enumerate(sess):
        for b in sess[i + 1:]:
            if b.start >= a.end:
                break
            if a.ip != b.ip:
                pairs.append((a, b))
    return pairs


class AccountChecks:
    def __init__(self, factory: FindingFactory, as_of: dt.date, stale_days: int, role: str | None,
                 has_roster: bool, has_subaccounts: bool, has_logins: bool) -> None:
        self.factory = factory
        self.as_of = as_of
        self.stale_days = stale_days
        self.role = role
        self.has_roster = has_roster
        self.has_subaccounts = has_subaccounts
        self.has_logins = has_logins
        self.findings: list[Finding] = []
        self.notes: dict[str, list[tuple[str, str]]] = {}

    # ------------------------------------------------------------------ helpers
    def _days_since(self, when: dt.datetime | dt.date) -> int:
        day = when.date() if isinstance(when, dt.datetime) else when
        return (self.as_of - day).days

    def _add(self, check: str, view: AccountView, evidence: dict[str, Any], params: dict[str, Any],
             conditions: dict[str, bool] | None = None, note: dict[str, str] | None = None,
             ref: str | None = None) -> None:
        params = {"account": view.account, "platform": view.platform_label, **params}
        target = Target("account", ref or view.ref, view.label)
        self.findings.append(self.factory.make(check, target, evidence, params, subject=account_subject(view),
                                               conditions=conditions, note=note))

    def evidence(self, view: AccountView, person: Person | None = None, logins: list[LoginEvent] | None = None,
                 **extra: Any) -> dict[str, Any]:
        last, last_src = view.last_login
        logins = logins or []
        if person is None and len(view.people) == 1:
            person = view.people[0]
        ev: dict[str, Any] = {
            "account": view.account,
            "platform": view.platform,
            "shop": view.shop or None,
            "holder": "、".join(view.holders) or None,
            "employee_id": person.employee_id if person else (", ".join(view.employee_ids) or None),
            "roster_status": person.status or None if person else None,
            "departed": person.departed(self.as_of) if person else None,
            "hire_date": person.hire_date.isoformat() if person and person.hire_date else None,
            "leave_date": person.leave_date.isoformat() if person and person.leave_date else None,
            "department": person.department or None if person else None,
            "account_status": view.status or None,
            "enabled": view.enabled,
            "created": iso(view.created),
            "last_login": iso(last),
            "permissions": view.permissions or None,
            "matched_by": view.matched_by,
            "logins": [e.to_dict() for e in logins[:MAX_LOGINS]],
            "logins_total": len(logins),
            "sources": {
                "account": view.rows,
                "roster": f"{person.source} row {person.row}" if person else None,
                "last_login": last_src or None,
                "logins": sorted({e.source for e in logins}),
            },
            "as_of": self.as_of.isoformat(),
        }
        if view.os is not None:
            ev["os"] = os_facts(view.os)
        ev.update(extra)
        return ev

    def _note(self, check: str, item: str, reason: str) -> None:
        self.notes.setdefault(check, [])
        if (item, reason) not in self.notes[check]:
            self.notes[check].append((item, reason))

    # ------------------------------------------------------------------ platform + OS people checks
    def run(self, views: list[AccountView], os_accounts: list[OsAccount], guest_session: dict[str, str] | None,
            shared_pc: tuple[bool, dict[str, str]]) -> list[Finding]:
        for view in sorted(views, key=lambda v: v.ref):
            departed_enabled = self._departed(view)
            if view.kind == "platform":
                if not departed_enabled:
                    self._stale_or_never(view)
                self._orphan(view)
            self._shared(view)
        self._os(views, guest_session, shared_pc)
        return self.findings

    def _departed(self, view: AccountView) -> bool:
        gone = [p for p in view.people if p.departed(self.as_of)]
        fired = False
        for person in gone:
            leave = person.leave_date
            if view.enabled:
                self._add("AC-001", view, self.evidence(
                    view, person, [e for e in view.events if leave and e.time.date() > leave],
                    days_since_departure=self._days_since(leave) if leave else None,
                    note_leave_date=None if leave else both("evidence_text.no_leave_date")),
                    {"holder": _who(person), "leave_date": leave.isoformat() if leave else "?"})
                fired = True
            if leave is None:
                self._note("AC-002", view.ref, f"holder {_who(person)} has left but the roster has no leave date")
                continue
            after = [e for e in view.events if e.time.date() > leave and e.action != "logout"]
            # log lines that name their user: the departed person's own lines when there are any
            own = [e for h, evs in view.log_holders.items() if _same_name(h, person.name) for e in evs
                   if e.time.date() > leave and e.action != "logout"]
            if own:
                after = sorted(own, key=lambda e: e.time)
            export_after = view.export_last_login if view.export_last_login and \
                view.export_last_login.date() > leave else None
            if not after and not export_after:
                continue
            active_sharers = [p for p in view.people if not p.departed(self.as_of)]
            note = None
            if active_sharers:
                names = "、".join(_who(p) for p in active_sharers)
                note = both("note.shared_with_staff", names=names)
            extra: dict[str, Any] = {"days_since_departure": self._days_since(leave),
                                     "first_login_after_departure": iso(after[0].time) if after else iso(export_after),
                                     "ips_after_departure": sorted({e.ip for e in after if e.ip})}
            if export_after and not after:
                extra["evidence_basis"] = "last-login column of the account export"
            exported = sum(e.count or 0 for e in after if e.action == "export")
            if any(e.action == "export" for e in after):
                extra["exports_after_departure"] = sum(1 for e in after if e.action == "export")
                extra["records_exported_after_departure"] = exported or None
            self._add("AC-002", view, self.evidence(view, person, after, **extra),
                      {"holder": _who(person), "leave_date": leave.isoformat(), "n": len(after) or 1},
                      conditions={"only_departed_holders": not active_sharers}, note=note)
        return fired

    def _stale_or_never(self, view: AccountView) -> None:
        if not view.enabled:
            return
        last, _src = view.last_login
        n = self.stale_days
        if last is not None:
            days = self._days_since(last)
            if days > n:
                self._add("AC-003", view, self.evidence(view, None,
                                                        view.events[-5:], days_since_login=days, stale_days=n),
                          {"days": days})
            return
        # no login known: the export says never, or the logs cover the period and show none
        covered = view.log_since is not None and self._days_since(view.log_since) > n
        created = view.created
        if view.export_never or (covered and created is not None and view.log_since <= created):
            if created is None:
                self._note("AC-006", view.ref, "never logged in, but the export has no creation date")
                return
            age = self._days_since(created)
            if age > n:
                self._add("AC-006", view, self.evidence(view, None,
                                                        never_logged_in=True, days_since_created=age, stale_days=n),
                          {"days": age})
            return
        if covered:
            days = self._days_since(view.log_since)
            self._add("AC-003", view, self.evidence(
                view, None, days_since_login=days, stale_days=n,
                no_login_in_logs_since=iso(view.log_since)), {"days": days})
            return
        if not view.has_last_login_column and not self.has_logins:
            self._note("AC-003", view.ref, "no last-login column and no login log")

    def _orphan(self, view: AccountView) -> None:
        if not self.has_roster or not view.enabled or view.people:
            return
        if view.ambiguous:
            self._note("AC-004", view.ref, "; ".join(view.ambiguous))
            return
        reason = (both("evidence_text.orphan.unknown_ids", ids=", ".join(view.unknown_ids)) if view.unknown_ids
                  else both("evidence_text.orphan.holder") if view.holders else both("evidence_text.orphan.nobody"))
        self._add("AC-004", view, self.evidence(view, None, view.events[-5:], orphan_reason=reason), {})

    def _shared(self, view: AccountView) -> None:
        pairs = overlapping(sessions(view.events)) if view.kind != "os" else []
        people = view.people + [p for p in view.login_people if p not in view.people]
        several = len({(p.employee_id, p.name) for p in people}) > 1
        if not pairs and not several:
            return
        extra: dict[str, Any] = {}
        if pairs:
            extra["overlapping_sessions"] = [{"a": a.to_dict(), "b": b.to_dict()} for a, b in pairs[:5]]
            extra["overlaps_total"] = len(pairs)
            extra["ips"] = sorted({s.ip for pair in pairs for s in pair})
        if several:
            extra["people"] = [p.to_dict() for p in people]
        extra["can_export"] = view.can_export
        if view.can_export:
            extra["export_basis"] = both("evidence_text.export_basis.permission", permissions=view.permissions) \
                if view.can_export_permission else both("evidence_text.export_basis.log")
        logins = [e for pair in pairs[:5] for s in pair for e in s.events]
        self._add("AC-005", view, self.evidence(view, None, sorted(logins, key=lambda e: e.time), **extra), {},
                  conditions={"can_export": view.can_export})

    # ------------------------------------------------------------------ OS account hygiene
    def _os(self, views: list[AccountView], guest_session: dict[str, str] | None,
            shared_pc: tuple[bool, dict[str, str]]) -> None:
        flagged = {f.target.ref for f in self.findings if f.check_id == "AC-001"}
        for view in views:
            acc = view.os
            if acc is None:
                continue
            in_scope = acc.human and acc.interactive
            if acc.guest and acc.enabled:
                self._add("AC-009", view, {**os_facts(acc), "as_of": self.as_of.isoformat()}, {})
            if not in_scope or not acc.enabled:
                continue
            if acc.guest:
                continue  # AC-009 says it all
            if view.ref not in flagged:
                self._os_stale(view, acc)
            if acc.password_empty or acc.password_required is False:
                self._add("AC-010", view, {**os_facts(acc), "as_of": self.as_of.isoformat()}, {})
            if acc.password_never_expires and shared_pc[0]:
                self._add("AC-008", view, {**os_facts(acc), "shared_pc": shared_pc[1],
                                           "as_of": self.as_of.isoformat()}, {})
            elif acc.password_never_expires:
                self._note("AC-008", view.ref, f"password never expires, but this PC does not look shared "
                                               f"({shared_pc[1]['en']})")
        if guest_session:
            view = AccountView("os", "os", "OS", "", "guest session (LightDM)", "os:lightdm:allow-guest")
            self._add("AC-009", view, {"setting": "allow-guest=true", "source": guest_session["source"],
                                       "as_of": self.as_of.isoformat()}, {})

    def _os_stale(self, view: AccountView, acc: OsAccount) -> None:
        n = self.stale_days
        base = {**os_facts(acc), "stale_days": n, "as_of": self.as_of.isoformat()}
        if acc.last_login is not None:
            days = self._days_since(acc.last_login)
            if days > n:
                self._add("AC-007", view, {**base, "days_since_login": days}, {"days": days})
            return
        created = acc.password_set
        if acc.never_logged_in:
            if created is None or self._days_since(created) > n:
                days = self._days_since(created) if created else n
                self._add("AC-007", view, {**base, "never_logged_in": True,
                                           "days_since_password_set": days if created else None}, {"days": days})
            return
        if acc.logins_since is not None and self._days_since(acc.logins_since) > n and \
                (created is None or self._days_since(created) > n):
            days = self._days_since(acc.logins_since)
            self._add("AC-007", view, {**base, "no_login_in_records_since": iso(acc.logins_since)}, {"days": days})
            return
        self._note("AC-007", view.ref, f"last login unknown (no login records cover {n} days)")

    # ------------------------------------------------------------------ coverage of the checks
    def report_coverage(self, coverage: Coverage, os_assessed: bool) -> None:
        need: dict[str, list[str]] = {}
        plat = "--subaccounts (platform/WMS sub-account export)"
        roster = "--roster (HR roster)"
        logs = "--logins (login log)"
        if not self.has_roster:
            for cid in ("AC-001", "AC-002", "AC-004"):
                need.setdefault(cid, []).append(roster)
            need.setdefault("AC-005", []).append(roster + " for accounts mapped to several people")
        if not self.has_subaccounts:
            for cid in ("AC-001", "AC-003", "AC-004", "AC-006"):
                need.setdefault(cid, []).append(plat)
        if not self.has_logins:
            need.setdefault("AC-002", []).append(logs + " for login times and IPs")
            need.setdefault("AC-005", []).append(logs + " for use from several IPs at once")
        if not os_assessed:
            for cid in ("AC-007", "AC-008", "AC-009", "AC-010"):
                need.setdefault(cid, []).append("the accounts of this PC (not readable in this scan)")
        for cid in sorted(set(need) | set(self.notes)):
            entry = coverage.source(AREA, f"check {cid}")
            missing = need.get(cid, [])
            nothing = (cid in ("AC-003", "AC-006") and not self.has_subaccounts) or \
                (cid in ("AC-001", "AC-002", "AC-004") and not self.has_roster) or \
                (cid == "AC-005" and not self.has_subaccounts and not self.has_logins) or \
                (cid in ("AC-007", "AC-008", "AC-009", "AC-010") and not os_assessed)
            entry.status = "not_assessed" if nothing else "partial"
            parts = []
            if missing:
                parts.append("needs " + "; ".join(missing))
            notes = self.notes.get(cid, [])
            for item, reason in notes[:50]:
                entry.skipped.append({"item": item, "reason": reason})
            if len(notes) > 50:
                entry.skipped.append({"item": cid, "reason": f"{len(notes) - 50} more not listed"})
            entry.note = "; ".join(parts) or "some accounts could not be judged (see skipped)"


def account_subject(view: AccountView) -> Subject:
    """A PC account is an OS user; a platform or WMS account carries its platform and the employee ids it is
    registered to."""
    if view.kind == "os":
        return Subject("account", account=view.account or None, user=view.account or None)
    return Subject("account", account=view.account or None, platform=view.platform or None,
                   employee_id=", ".join(view.employee_ids) or None)


def os_facts(acc: OsAccount) -> dict[str, Any]:
    return {
        "system": acc.system, "account": acc.name, "full_name": acc.full_name or None, "uid": acc.uid,
        "enabled": acc.enabled, "locked": acc.locked, "guest": acc.guest, "admin": acc.admin,
        "groups": acc.groups or None,
        "password_last_set": iso(acc.password_set), "password_never_expires": acc.password_never_expires,
        "password_required": acc.password_required, "password_empty": acc.password_empty,
        "account_expires": iso(acc.account_expires),
        "last_login": iso(acc.last_login), "last_login_ip": acc.last_login_ip or None,
        "never_logged_in": acc.never_logged_in, "login_records_since": iso(acc.logins_since),
        "sources": dict(acc.sources), "raw": acc.facts or None,
    }


def _who(person: Person) -> str:
    return f"{person.name} {person.employee_id}".strip() if person.name else person.employee_id


def _same_name(a: str, b: str) -> bool:
    return bool(a) and bool(b) and a.replace(" ", "").casefold() == b.replace(" ", "").casefold()


def shared_pc(role: str | None, os_accounts: list[OsAccount], as_of: dt.date,
              days: int) -> tuple[bool, dict[str, str]]:
    """(shared, why) — why in every language ({"zh", "en"})."""
    role_name = {"zh": t("zh", role or "unspecified"), "en": role or "unspecified"}
    shared_role = roles().get(role or "")
    if shared_role is not None and shared_role.shared_pc:  # checks/roles.toml
        return True, both("evidence_text.shared_pc.role", role=role_name)
    recent = sorted(a.name for a in os_accounts if a.enabled and a.human and a.interactive and a.last_login
                    and (as_of - a.last_login.date()).days <= days)
    if len(recent) >= 2:
        return True, both("evidence_text.shared_pc.logins", n=len(recent), days=days, names=", ".join(recent))
    return False, both("evidence_text.shared_pc.not_shared", role=role_name, n=len(recent), days=days)
