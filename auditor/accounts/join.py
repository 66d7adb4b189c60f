"""Joining accounts, people and logins (pandas): each platform/WMS account, OS account and login-log
account is tied to roster people by, in this order, the mapping file, an employee-id column, the holder's
name, the name inside the account (`店铺:姓名`), or an account that is an employee id. Login-log lines are
tied to accounts by platform, shop and account name. The result is one ``AccountView`` per account with
every fact and the file and row it came from; judging is for ``checks``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from .inputs import Inputs, Vocab, norm_account, split_names
from .records import LoginEvent, OsAccount

_BRACKETS = re.compile(r"[(\[（【].*?[)\]）】]")
_TRAILING = re.compile(r"[\s\-_.·0-9]+$")
_LEADING = re.compile(r"^[\s\-_.·0-9]+")


@dataclass
class Person:
    employee_id: str
    name: str
    department: str
    position: str
    status: str
    state: str | None  # active | departed | None
    hire_date: dt.date | None
    leave_date: dt.date | None
    source: str
    row: int
    account: str = ""  # the employee's PC account, when the roster has that column

    def departed(self, as_of: dt.date) -> bool:
        """Gone by the audit day: a leave date before it (the date wins over the status column, so that
        `--as-of` replays the past), or, without a leave date, a status that says so."""
        if self.leave_date is not None:
            return self.leave_date < as_of
        return self.state == "departed"

    def to_dict(self) -> dict[str, Any]:
        return {"employee_id": self.employee_id, "name": self.name, "department": self.department or None,
                "roster_status": self.status or None,
                "hire_date": self.hire_date.isoformat() if self.hire_date else None,
                "leave_date": self.leave_date.isoformat() if self.leave_date else None,
                "source": f"{self.source} row {self.row}"}


@dataclass
class AccountView:
    kind: str  # platform | os | log_only
    platform: str
    platform_label: str
    shop: str
    account: str
    ref: str
    enabled: bool | None = None
    status: str = ""
    created: dt.datetime | None = None
    export_last_login: dt.datetime | None = None
    export_last_login_source: str = ""
    export_never: bool = False
    has_last_login_column: bool = False
    events: list[LoginEvent] = field(default_factory=list)
    failed_logins: int = 0
    permissions: str = ""
    can_export_permission: bool = False
    holders: list[str] = field(default_factory=list)
    employee_ids: list[str] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    matched_by: str | None = None
    ambiguous: list[str] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    login_people: list[Person] = field(default_factory=list)  # holders named in the login log lines
    log_holders: dict[str, list[LoginEvent]] = field(default_factory=dict)  # holder name -> its log lines
    log_since: dt.datetime | None = None  # earliest time the login logs for this platform cover
    rows: list[str] = field(default_factory=list)
    os: OsAccount | None = None

    @property
    def last_login(self) -> tuple[dt.datetime | None, str]:
        best: tuple[dt.datetime | None, str] = (self.export_last_login, self.export_last_login_source)
        for ev in self.events:
            if ev.action != "logout" and (best[0] is None or ev.time > best[0]):
                best = (ev.time, f"{ev.source}" + (f" row {ev.row}" if ev.row else ""))
        return best

    @property
    def can_export(self) -> bool:
        return self.can_export_permission or any(e.action == "export" for e in self.events)

    @property
    def label(self) -> str:
        holder = "、".join(self.holders[:3])
        name = f"{self.shop}:{self.account}" if self.shop and ":" not in self.account else self.account
        return name + (f" ({holder})" if holder else "") + f" [{self.platform_label}]"


def _key(platform: str | None, shop: str, account: str) -> tuple[str, str, str]:
    acct = norm_account(account)
    shop_k = norm_account(shop) if shop and ":" not in acct else ""
    return (platform or "other", shop_k, acct)


def _ref(platform: str | None, shop: str, account: str) -> str:
    if shop and ":" not in account and "：" not in account:
        return f"{platform or 'other'}:{shop}:{account}"
    return f"{platform or 'other'}:{account}"


def _clean(value: Any) -> Any:
    """pandas missing values (None/NaN/NaT) as None."""
    try:
        import pandas as pd

        if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
            return None
    except (TypeError, ValueError):
        pass
    return value


class Joiner:
    def __init__(self, inputs: Inputs | None, os_accounts: list[OsAccount], voc: Vocab | None,
                 as_of: dt.date) -> None:
        self.inputs = inputs
        self.os_accounts = os_accounts
        self.voc = voc
        self.as_of = as_of
        self.people: list[Person] = []
        self.by_id: dict[str, Person] = {}
        self.by_name: dict[str, list[Person]] = {}
        self.by_account: dict[str, list[Person]] = {}  # the roster's PC-account column
        self.future_events = 0
        self.failed_events = 0

    # ------------------------------------------------------------------ roster
    def _load_people(self) -> None:
        if self.inputs is None or self.inputs.roster is None:
            return
        for rec in self.inputs.roster.to_dict("records"):
            rec = {k: _clean(v) for k, v in rec.items()}
            p = Person(rec["employee_id"] or "", rec["name"] or "", rec["department"] or "", rec["position"] or "",
                       rec["status"] or "", rec["state"], rec["hire_date"], rec["leave_date"], rec["source"],
                       int(rec["row"]), rec.get("account") or "")
            self.people.append(p)
            if p.account:
                self.by_account.setdefault(p.account.casefold(), []).append(p)
            if p.employee_id:
                self.by_id[p.employee_id.casefold()] = p
            if p.name:
                self.by_name.setdefault(_name_key(p.name), []).append(p)

    # ------------------------------------------------------------------ accounts
    def run(self) -> list[AccountView]:
        self._load_people()
        views: dict[tuple[str, str, str], AccountView] = {}
        label = self.voc.platform_label if self.voc else (lambda p: p)

        if self.inputs is not None and self.inputs.subaccounts is not None and len(self.inputs.subaccounts):
            sub = self.inputs.subaccounts.copy()
            sub["platform"] = sub["platform"].map(lambda p: _clean(p) or "other")
            sub["key"] = [_key(p, s or "", a) for p, s, a in zip(sub["platform"], sub["shop"], sub["account"])]
            for key, grp in sub.groupby("key", sort=False):
                rows = [{k: _clean(v) for k, v in r.items()} for r in grp.to_dict("records")]
                first = rows[0]
                view = AccountView("platform", first["platform"], label(first["platform"]), first["shop"] or "",
                                   first["account"], _ref(first["platform"], first["shop"] or "", first["account"]))
                enabled = [r["enabled"] for r in rows if r["enabled"] is not None]
                view.enabled = any(enabled) if enabled else None
                view.status = " / ".join(dict.fromkeys(r["status"] for r in rows if r["status"]))
                created = [r["created"] for r in rows if r["created"]]
                view.created = min(created) if created else None
                lasts = [r["last_login"] for r in rows if r["last_login"]]
                view.export_last_login = max(lasts) if lasts else None
                view.export_last_login_source = next((f"{r['source']} row {r['row']}" for r in rows
                                                      if lasts and r["last_login"] == view.export_last_login), "")
                view.has_last_login_column = any(r["has_last_login"] for r in rows)
                view.export_never = not lasts and all(r["never_logged_in"] for r in rows if r["has_last_login"]) \
                    and view.has_last_login_column
                view.permissions = " / ".join(dict.fromkeys(r["permissions"] for r in rows if r["permissions"]))
                view.can_export_permission = any(r["can_export"] for r in rows)
                for r in rows:
                    for h in split_names(r["holder"] or ""):
                        if h not in view.holders:
                            view.holders.append(h)
                    if r["employee_id"] and r["employee_id"] not in view.employee_ids:
                        view.employee_ids.append(r["employee_id"])
                view.rows = [f"{r['source']} row {r['row']}" for r in rows]
                views[key] = view

        for acc in self.os_accounts:
            key = ("os", "", norm_account(acc.name))
            view = AccountView("os", "os", "OS", "", acc.name, f"os:{acc.name}", enabled=acc.enabled,
                               status="enabled" if acc.enabled else "disabled" if acc.enabled is False else "unknown",
                               export_last_login=acc.last_login,
                               export_last_login_source=acc.sources.get("last_login", ""), os=acc)
            if acc.full_name:
                view.holders.append(acc.full_name)
            view.events = [e for e in acc.logins]
            view.rows = [acc.sources.get("account", "")]
            views[key] = view

        if self.inputs is not None and self.inputs.logins is not None and len(self.inputs.logins):
            import pandas as pd  # only with input files: the OS-only scan stays light

            self._attach_logins(views, pd)
        for view in views.values():
            self._match(view)
        return list(views.values())

    def _attach_logins(self, views: dict[tuple[str, str, str], AccountView], pd) -> None:
        """Tie each log line to one account: platform + full account name (`店铺:子账号`), then the full
        name alone, then the sub-account part alone, each only where it names exactly one account (and the
        platforms agree or one is unknown). Lines that tie to none make accounts of their own."""
        logs = self.inputs.logins.copy()
        logs["platform"] = logs["platform"].map(lambda p: _clean(p) or "other")
        logs["acct_n"] = logs["account"].map(norm_account)
        logs["shop_k"] = [norm_account(s) if s and ":" not in a else "" for s, a in zip(logs["shop"], logs["acct_n"])]
        logs["full"] = [f"{s}:{a}" if s else a for s, a in zip(logs["shop_k"], logs["acct_n"])]
        logs["sub"] = logs["full"].map(_sub)
        logs["_i"] = range(len(logs))
        acc = pd.DataFrame([{"platform_acc": k[0], "full": f"{k[1]}:{k[2]}" if k[1] else k[2],
                             "sub": _sub(f"{k[1]}:{k[2]}" if k[1] else k[2]), "key": k} for k in views if k[0] != "os"],
                           columns=["platform_acc", "full", "sub", "key"], dtype=object)
        matched = []
        rest = logs[["_i", "platform", "full", "sub"]]
        for on, same_platform in (("full", True), ("full", False), ("sub", False)):
            if rest.empty or acc.empty:
                break
            m = rest.merge(acc[["platform_acc", on, "key"]], on=on, how="inner")
            if same_platform:
                m = m[m["platform"] == m["platform_acc"]]
            else:
                m = m[(m["platform"] == m["platform_acc"]) | (m["platform"] == "other") | (m["platform_acc"] == "other")]
            per_line = m.groupby("_i")["key"].nunique()
            m = m[m["_i"].isin(per_line[per_line == 1].index)].drop_duplicates("_i")
            matched.append(m[["_i", "key"]])
            rest = rest[~rest["_i"].isin(m["_i"])]
        key_of: dict[int, tuple[str, str, str]] = {}
        for m in matched:
            key_of.update(zip(m["_i"], m["key"]))
        label = self.voc.platform_label if self.voc else (lambda p: p)
        self.log_platforms: dict[str, set[str]] = {}
        for rec in logs.to_dict("records"):
            rec = {k: _clean(v) for k, v in rec.items()}
            key = key_of.get(rec["_i"])
            if key is None:  # an account seen only in the login log
                key = (rec["platform"], rec["shop_k"], rec["acct_n"])
                if key not in views:
                    views[key] = AccountView("log_only", rec["platform"], label(rec["platform"]), rec["shop"] or "",
                                             rec["account"], _ref(rec["platform"], rec["shop"] or "", rec["account"]))
            view = views[key]
            self.log_platforms.setdefault(rec["source"], set()).add(view.platform)
            if not rec["ok"]:
                view.failed_logins += 1
                self.failed_events += 1
                continue
            if rec["time"].date() > self.as_of:
                self.future_events += 1
                continue
            view.events.append(LoginEvent(rec["time"], ip=rec["ip"] or "", action=rec["action"],
                                          action_label=rec["action_label"] or "", count=rec["count"],
                                          source=rec["source"], row=int(rec["row"])))
            holder = rec["holder"] or ""
            if holder and view.kind == "log_only" and holder not in view.holders:
                view.holders.append(holder)
            if holder:
                view.log_holders.setdefault(holder, []).append(view.events[-1])
            if rec["employee_id"] and view.kind == "log_only" and rec["employee_id"] not in view.employee_ids:
                view.employee_ids.append(rec["employee_id"])
        for view in views.values():
            view.events.sort(key=lambda e: e.time)
        self._log_coverage(views)

    def _log_coverage(self, views: dict[tuple[str, str, str], AccountView]) -> None:
        """From when the login logs cover each platform (a log covers its own platform and the platforms of
        the accounts its lines tied to): an account absent from them did not log in since then."""
        since: dict[str, dt.datetime] = {}
        for span in self.inputs.log_spans:
            platforms = set(self.log_platforms.get(span["source"], set()))
            if span["platform"]:
                platforms.add(span["platform"])
            for p in platforms or {"other"}:
                if p not in since or span["first"] < since[p]:
                    since[p] = span["first"]
        only_one = len({v.platform for v in views.values() if v.kind != "os"}) <= 1
        for view in views.values():
            if view.kind == "os":
                continue
            view.log_since = since.get(view.platform)
            if view.log_since is None and only_one and since:
                view.log_since = min(since.values())  # one platform in play: the logs are its logs

    # ------------------------------------------------------------------ people
    def _match(self, view: AccountView) -> None:
        if not self.people and not (self.inputs and self.inputs.account_map is not None):
            return
        sub = view.account.replace("：", ":").rsplit(":", 1)[-1].strip()
        tries = [
            ("account_map", lambda: self._by_map(view)),
            ("roster_account", lambda: self.by_account.get(view.account.casefold(), [])[:1]),
            ("employee_id", lambda: self._by_ids(view.employee_ids, view)),
            ("holder", lambda: self._by_names(view.holders, view)),
            ("name_in_account", lambda: self._by_names(self._names_in(sub), view) if view.kind != "os" else []),
            ("account_is_employee_id", lambda: [p for p in (self.by_id.get(view.account.casefold()),
                                                            self.by_id.get(sub.casefold())) if p][:1]),
        ]
        for method, attempt in tries:
            found = attempt()
            if found or (method in ("account_map", "employee_id") and view.unknown_ids):
                view.people = _unique(found)
                view.matched_by = method
                break
        for holder in view.log_holders:
            people = self.by_name.get(_name_key(holder), [])
            if len(people) == 1:
                view.login_people.append(people[0])
        if not view.people and view.login_people and view.kind == "log_only":
            view.people = _unique(view.login_people)
            view.matched_by = "login_holder"

    def _by_map(self, view: AccountView) -> list[Person]:
        amap = self.inputs.account_map if self.inputs else None
        if amap is None or not len(amap):
            return []
        acct = norm_account(view.account)
        found: list[Person] = []
        for rec in amap.to_dict("records"):
            rec = {k: _clean(v) for k, v in rec.items()}
            if norm_account(rec["account"]) != acct:
                continue
            if rec["platform"] and rec["platform"] != view.platform:
                continue
            if rec["shop"] and view.shop and norm_account(rec["shop"]) != norm_account(view.shop):
                continue
            view.rows.append(f"{rec['source']} row {rec['row']}")
            if rec["employee_id"]:
                found.extend(self._by_ids([rec["employee_id"]], view))
            elif rec["name"]:
                found.extend(self._by_names([rec["name"]], view))
        return found

    def _by_ids(self, ids: list[str], view: AccountView) -> list[Person]:
        found = []
        for emp in ids:
            p = self.by_id.get(emp.casefold())
            if p:
                found.append(p)
            elif self.people and emp not in view.unknown_ids:
                view.unknown_ids.append(emp)
        return found

    def _by_names(self, names: list[str], view: AccountView) -> list[Person]:
        found = []
        for name in names:
            cands = self.by_name.get(_name_key(name), [])
            if len(cands) == 1:
                found.append(cands[0])
            elif len(cands) > 1:
                ids = ", ".join(p.employee_id or f"row {p.row}" for p in cands)
                note = f"name {name} matches {len(cands)} roster rows ({ids}); use --account-map"
                if note not in view.ambiguous:
                    view.ambiguous.append(note)
        return found

    def _names_in(self, sub: str) -> list[str]:
        """Roster names in the sub-account part: exact, without digits/separators, or contained once."""
        if not sub or not self.by_name:
            return []
        if _name_key(sub) in self.by_name:
            return [sub]
        bare = _LEADING.sub("", _TRAILING.sub("", sub))
        if bare and _name_key(bare) in self.by_name:
            return [bare]
        key = _name_key(sub)
        inside = [n for n in self.by_name if len(n) >= 2 and n in key]
        if len(inside) == 1:
            return [self.by_name[inside[0]][0].name]
        return []


def _name_key(name: str) -> str:
    """Name comparison form: NFKC, no spaces, a bracketed note dropped ("张三（客服）" is 张三)."""
    key = norm_account(name).replace(" ", "")
    bare = _BRACKETS.sub("", key)
    return bare or key


def _sub(full: str) -> str:
    return full.rsplit(":", 1)[-1].strip()


def _unique(people: list[Person]) -> list[Person]:
    seen, out = set(), []
    for p in people:
        ident = (p.employee_id, p.name, p.row)
        if ident not in seen:
            seen.add(ident)
            out.append(p)
    return out
