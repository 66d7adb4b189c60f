"""Facts the account collectors gather (no judgement here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoginEvent:
    """One login (or logged action) of an account, with where the fact came from."""

    time: dt.datetime
    ip: str = ""
    action: str = "login"  # login | logout | view | export | print | other
    action_label: str = ""  # the table word that classified it (never the raw text: it may hold customer data)
    count: int | None = None
    source: str = ""
    row: int | None = None
    tty: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"time": self.time.replace(microsecond=0).isoformat(sep=" "), "ip": self.ip,
                               "action": self.action, "source": self.source}
        if self.action_label:
            out["action_label"] = self.action_label
        if self.count is not None:
            out["count"] = self.count
        if self.row is not None:
            out["row"] = self.row
        if self.tty:
            out["tty"] = self.tty
        return out


@dataclass
class OsAccount:
    system: str  # linux | windows
    name: str
    uid: int | None = None
    full_name: str = ""
    enabled: bool | None = None  # None: could not tell
    locked: bool = False
    interactive: bool = True  # has a login shell (Linux)
    human: bool = True  # a person's account, not a system/service one
    guest: bool = False
    admin: bool = False
    password_set: dt.date | None = None
    password_never_expires: bool = False
    password_expires: dt.date | None = None
    password_required: bool | None = None
    password_empty: bool | None = None
    account_expires: dt.date | None = None
    last_login: dt.datetime | None = None
    last_login_ip: str = ""
    never_logged_in: bool = False  # the source says so explicitly (net user "Never", lastlog with no entry)
    login_history_complete: bool = False  # absence of a login record means "no login at all"
    logins_since: dt.datetime | None = None  # earliest time the login records cover (rotated wtmp)
    logins: list[LoginEvent] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
