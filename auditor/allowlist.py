"""The allowlist of approved remote tools: who approved what, on which hosts, until when."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from . import safeio
from .errors import UsageError
from .messages import Text
from .packs import Tool, tomllib
from .textsafe import quote

_HEADER = re.compile(r"^\s*\[\[\s*approved\s*\]\]\s*(#.*)?$")
MAX_HOST_PATTERN = 255  # a host name is at most 255 characters; a longer pattern only costs time to match
MAX_TEXT = 1000  # approver, reason, ticket: shown in every report


@dataclass(frozen=True)
class Approval:
    tool: str
    hosts: tuple[str, ...]
    approver: str
    reason: str
    expires: dt.date
    ticket: str | None
    line: int

    def applies_to(self, hostname: str) -> bool:
        return any(fnmatch.fnmatch(hostname.casefold(), h.casefold()) for h in self.hosts)

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def to_dict(self, today: dt.date) -> dict:
        return {"tool": self.tool, "hosts": list(self.hosts), "approver": self.approver, "reason": self.reason,
                "expires": self.expires.isoformat(), "ticket": self.ticket,
                "status": "expired" if self.expired(today) else "active"}


MAX_ALLOWLIST_BYTES = 4 << 20


def load_allowlist(path: Path, tools: dict[str, Tool]) -> list[Approval]:
    try:
        text = safeio.read_input(path, "allowlist", max_size=MAX_ALLOWLIST_BYTES).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError("usage.allowlist.not_utf8", path=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError("usage.allowlist.malformed", path=path, why=_one_line(exc)) from None
    except RecursionError:
        raise UsageError("usage.allowlist.too_deep", path=path) from None
    lines = text.splitlines()
    header_lines = [i + 1 for i, line in enumerate(lines) if _HEADER.match(line)]
    unknown = set(data) - {"approved"}
    if unknown:
        shown = ", ".join(quote(k) for k in sorted(unknown)[:5]) + (", …" if len(unknown) > 5 else "")
        raise UsageError("usage.allowlist.unknown_top_keys", path=path, shown=shown)
    entries = data.get("approved", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError("usage.allowlist.approved_not_tables", path=path)
    out = []
    for n, raw in enumerate(entries):
        line = header_lines[n] if n < len(header_lines) else 0
        end = header_lines[n + 1] if n + 1 < len(header_lines) else len(lines) + 1

        def at(key: str | None = None) -> str:
            """Where to point the user: the key's own line inside this entry, else the entry's header."""
            for i in range(line, end - 1):
                if key and re.match(rf"\s*{key}\s*=", lines[i]):
                    return Text("where.allowlist_line", path=path, line=i + 1)
            return Text("where.allowlist_line", path=path, line=line)

        where = at()
        for key in ("tool", "approver", "reason", "expires"):
            if key not in raw:
                raise UsageError("usage.allowlist.entry_lacks", where=where, key=key)
        if not isinstance(raw["tool"], str) or raw["tool"] not in tools:
            raise UsageError("usage.allowlist.unknown_tool", at=at('tool'), tool=quote(raw['tool']))
        expires = raw["expires"]
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise UsageError("usage.allowlist.bad_expires", at=at('expires')) from None
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        if not isinstance(expires, dt.date):
            raise UsageError("usage.allowlist.bad_expires", at=at('expires'))
        hosts = raw.get("hosts", raw.get("host", "*"))
        hosts = [hosts] if isinstance(hosts, str) else hosts
        if not isinstance(hosts, list) or not hosts or \
                not all(isinstance(h, str) and 0 < len(h) <= MAX_HOST_PATTERN for h in hosts):
            raise UsageError("usage.allowlist.bad_hosts", at=at('hosts'), MAX_HOST_PATTERN=MAX_HOST_PATTERN)
        for key in ("approver", "reason"):
            if not isinstance(raw[key], str) or not raw[key].strip() or len(raw[key]) > MAX_TEXT:
                raise UsageError("usage.allowlist.bad_text", at=at(key), key=key, MAX_TEXT=MAX_TEXT)
        ticket = raw.get("ticket")
        if isinstance(ticket, int) and not isinstance(ticket, bool):
            ticket = str(ticket)
        if ticket is not None and (not isinstance(ticket, str) or len(ticket) > MAX_TEXT):
            raise UsageError("usage.allowlist.bad_ticket", at=at('ticket'))
        out.append(Approval(raw["tool"], tuple(hosts), raw["approver"].strip(), raw["reason"].strip(), expires,
                            ticket.strip() or None if ticket else None, line))
    return out


def _one_line(exc: Exception) -> str:
    """A parser's message on one line, bounded (a TOML error may quote the offending text)."""
    return " ".join(str(exc).split())[:300]


def find_approval(approvals: list[Approval], tool_id: str, hostname: str) -> Approval | None:
    """The approval that governs this tool on this host: an active one if any, else the latest expired."""
    matching = [a for a in approvals if a.tool == tool_id and a.applies_to(hostname)]
    if not matching:
        return None
    return max(matching, key=lambda a: a.expires)
