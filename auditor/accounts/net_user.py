"""Windows local accounts from `net user` (the list) and `net user NAME` (one account), English and
Chinese consoles. The live path runs the commands through ``runcmd`` and only on Windows; the parsers
work on recorded outputs (tests/fixtures/windows/net_user_*.txt).

Layout facts (see tests/fixtures/windows/README.md): labels are padded to a value column (29 in English,
23 GBK bytes in Chinese), so a label and its value are separated by two or more spaces; group lists
continue on indented lines; values stay English (`Yes`/`No`/`All`) on Chinese Windows, except "never"
(`从不`); dates are `2024/3/5 9:12:33` (zh-CN) or `3/5/2024 9:12:33 AM` (en-US)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .. import runcmd
from ..textsafe import quote
from .dates import BadDate, parse_when
from .records import OsAccount

LABELS: dict[str, tuple[str, ...]] = {
    "name": ("User name", "用户名"),
    "full_name": ("Full Name", "全名"),
    "comment": ("Comment", "注释"),
    "active": ("Account active", "帐户启用", "账户启用"),
    "expires": ("Account expires", "帐户到期", "账户到期"),
    "pw_last_set": ("Password last set", "上次设置密码"),
    "pw_expires": ("Password expires", "密码到期"),
    "pw_required": ("Password required", "需要密码"),
    "last_logon": ("Last logon", "上次登录"),
    "local_groups": ("Local Group Memberships", "本地组成员"),
    "global_groups": ("Global Group memberships", "全局组成员"),
}
_BY_LABEL = {label.casefold(): key for key, labels in LABELS.items() for label in labels}
YES = {"yes", "是"}
NO = {"no", "否"}
NEVER = {"never", "从不", "从未"}
DONE = ("The command completed", "命令成功完成")
GUEST_COMMENTS = ("built-in account for guest access", "供来宾访问计算机或访问域的内置帐户")
_SPLIT = re.compile(r"\s{2,}")


@dataclass
class NetUser:
    """One `net user NAME` output, fields as printed (raw) plus the parsed ones."""

    raw: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def get(self, key: str) -> str:
        return self.raw.get(key, "")


def parse_list(text: str) -> list[str]:
    """Account names from `net user` (after the dashes line, in 25-character columns)."""
    names: list[str] = []
    started = False
    for line in text.splitlines():
        stripped = line.strip()
        if not started:
            started = stripped.startswith("-----")
            continue
        if not stripped or stripped.startswith(DONE):
            continue
        names.extend(n.strip() for n in _SPLIT.split(stripped) if n.strip())
    return names


def parse_detail(text: str) -> NetUser:
    out = NetUser()
    pieces: dict[str, list[str]] = {}  # joined once at the end: many continuation lines cost no more than one
    last: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.strip().startswith(DONE):
            last = None if not line.strip() else last
            continue
        if line[:1].isspace():  # continuation of a group list
            if last:
                pieces[last].append(line.strip())
            continue
        parts = _SPLIT.split(line.strip(), maxsplit=1)
        label = parts[0].strip()
        key = _BY_LABEL.get(label.casefold(), label)
        pieces[key] = [parts[1].strip() if len(parts) > 1 else ""]
        last = key
    out.raw = {key: " ".join(p for p in parts if p) for key, parts in pieces.items()}
    return out


def _groups(value: str) -> list[str]:
    return [g.strip() for g in value.split("*") if g.strip() and g.strip().casefold() not in ("none", "无")]


def _yes(value: str) -> bool | None:
    v = value.strip().casefold()
    return True if v in YES else False if v in NO else None


def _when(user: NetUser, key: str) -> tuple[dt.datetime | None, bool]:
    """(time, never) of a date field; an unreadable date is noted in ``problems``."""
    value = user.get(key)
    if value.strip().casefold() in NEVER:
        return None, True
    try:
        return parse_when(value), False
    except BadDate:
        user.problems.append(f"{key}: {quote(value)} is not a date")
        return None, False


def to_account(user: NetUser, today: dt.date, source: str) -> OsAccount:
    name = user.get("name")
    active = _yes(user.get("active"))
    expires, expires_never = _when(user, "expires")
    expired = bool(expires and expires.date() < today)
    pw_set, _ = _when(user, "pw_last_set")
    pw_exp, pw_never = _when(user, "pw_expires")
    last, last_never = _when(user, "last_logon")
    comment = user.get("comment")
    groups = _groups(user.get("local_groups"))
    guest = name.casefold() == "guest" or any(c in comment.casefold() for c in GUEST_COMMENTS)
    return OsAccount(
        system="windows", name=name, uid=None, full_name=user.get("full_name"),
        enabled=None if active is None else (active and not expired), locked=active is False,
        interactive=True, human=True, guest=guest, admin=any(g.casefold() in ("administrators", "管理员") for g in groups),
        password_set=pw_set.date() if pw_set else None, password_never_expires=pw_never,
        password_expires=pw_exp.date() if pw_exp else None,
        password_required=_yes(user.get("pw_required")), password_empty=None,
        account_expires=expires.date() if expires else None,
        last_login=last, never_logged_in=last_never, login_history_complete=True,
        groups=groups, sources={"account": source, "last_login": source}, facts={
            k: user.get(k) for k in ("active", "expires", "pw_last_set", "pw_expires", "pw_required", "last_logon")
            if k in user.raw},
        problems=list(user.problems),
    )


def collect_live(today: dt.date) -> tuple[list[OsAccount], list[str]]:
    """Run `net user` and `net user NAME` (Windows only). Returns accounts and problems."""
    problems: list[str] = []
    res = runcmd.run(["net", "user"])
    if res.returncode != 0:
        return [], [res.error or f"net user exited {res.returncode}"]
    accounts: list[OsAccount] = []
    for name in parse_list(res.text):
        one = runcmd.run(["net", "user", name])
        if one.returncode != 0:
            problems.append(f"net user {name}: {one.error or f'exit {one.returncode}'}")
            continue
        acc = to_account(parse_detail(one.text), today, f"net user {name}")
        if not acc.name:
            acc.name = name
        accounts.append(acc)
    return accounts, problems
