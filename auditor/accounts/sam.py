"""Local accounts of an offline Windows tree from its SAM hive (``HKLM\\SAM``, read through any RegistryView:
auditor.adapters.hives on a mounted disk).

Per account (``SAM\\Domains\\Account\\Users\\<RID>``), the binary ``F`` value holds the times and flags and ``V`` the
names; the ``C`` value of each built-in alias (``SAM\\Domains\\Builtin\\Aliases\\<RID>``) lists its members' SIDs, so
administrators are those in alias 0x220 (S-1-5-32-544) whatever it is called. Layouts, as Windows NT to 11 write
them (little-endian):

* ``F`` (80 bytes): 0x08 last logon, 0x18 password last set, 0x20 account expires, 0x28 last failed logon (FILETIME,
  UTC; 0 or 0x7FFF... = never), 0x30 RID, 0x38 account control bits (ACB: 0x1 disabled, 0x4 password not
  required, 0x200 password never expires, 0x400 locked out), 0x40 failed logons, 0x42 logons;
* ``V``: a 0xCC-byte table of (offset, length, unused) triples, data after it: entry 1 the account name, 2 the
  full name, 3 the comment (UTF-16 LE);
* alias ``C``: 0x10/0x14 name offset and length, 0x28/0x2C member list offset and length, 0x30 member count, data
  after 0x34; members are binary SIDs.

Times are shown in the audited PC's local time (``TimeZoneInformation``'s ActiveTimeBias, else Bias, else UTC).
Nothing here is a secret: the password hashes (in ``V`` beyond the names) are never read."""

from __future__ import annotations

import datetime as dt
import struct

from ..adapters.registry import RegistryView
from .records import OsAccount

USERS = r"HKLM\SAM\SAM\Domains\Account\Users"
ACCOUNT = r"HKLM\SAM\SAM\Domains\Account"
ALIASES = r"HKLM\SAM\SAM\Domains\Builtin\Aliases"
TIMEZONE = r"HKLM\SYSTEM\CurrentControlSet\Control\TimeZoneInformation"
ADMINISTRATORS_ALIAS = 0x220
RID_GUEST = 501
ACB_DISABLED, ACB_PWNOTREQ, ACB_PWNOEXP, ACB_AUTOLOCK = 0x1, 0x4, 0x200, 0x400
NEVER = (0, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
V_TABLE = 0xCC
C_DATA = 0x34
MAX_ACCOUNTS = 10_000
SOURCE = "SAM hive"


class BadRecord(ValueError):
    pass


def filetime(value: int, bias_minutes: int = 0) -> dt.datetime | None:
    """A FILETIME (UTC) as the audited PC's local time; None for never/unset."""
    if value in NEVER:
        return None
    try:
        return dt.datetime(1601, 1, 1) + dt.timedelta(microseconds=value // 10) - dt.timedelta(minutes=bias_minutes)
    except OverflowError:
        return None


def sid_text(raw: bytes) -> str:
    """A binary SID as text (S-1-5-21-...)."""
    if len(raw) < 8 or raw[0] != 1 or len(raw) < 8 + 4 * raw[1]:
        raise BadRecord("not a SID")
    authority = int.from_bytes(raw[2:8], "big")
    subs = struct.unpack_from(f"<{raw[1]}I", raw, 8)
    return "-".join(["S", "1", str(authority), *map(str, subs)])


def parse_f(data: bytes) -> dict[str, int]:
    if len(data) < 0x44:
        raise BadRecord(f"F value of {len(data)} bytes (expected 80)")
    last_logon, pw_set, expires, last_failed = (struct.unpack_from("<Q", data, o)[0] for o in (0x08, 0x18, 0x20, 0x28))
    rid, = struct.unpack_from("<I", data, 0x30)
    acb, = struct.unpack_from("<H", data, 0x38)
    failed, logons = struct.unpack_from("<HH", data, 0x40)
    return {"last_logon": last_logon, "password_set": pw_set, "expires": expires, "last_failed": last_failed,
            "rid": rid, "acb": acb, "failed_logons": failed, "logons": logons}


def parse_v(data: bytes) -> dict[str, str]:
    if len(data) < V_TABLE:
        raise BadRecord(f"V value of {len(data)} bytes (shorter than its table)")

    def entry(i: int) -> str:
        offset, length = struct.unpack_from("<II", data, 0x0C * i)
        start = V_TABLE + offset
        if length > 0x4000 or start + length > len(data):
            raise BadRecord(f"V entry {i} outside the value")
        return data[start:start + length].decode("utf-16-le", "replace")

    return {"name": entry(1), "full_name": entry(2), "comment": entry(3)}


def alias_members(data: bytes) -> tuple[str, list[str]]:
    """(alias name, member SIDs) of an alias ``C`` value."""
    if len(data) < C_DATA:
        raise BadRecord(f"C value of {len(data)} bytes")
    words = struct.unpack_from("<13I", data, 0)
    name_at, name_len, members_at, members_len, count = words[4], words[5], words[10], words[11], words[12]
    name = data[C_DATA + name_at:C_DATA + name_at + name_len].decode("utf-16-le", "replace")
    blob = data[C_DATA + members_at:C_DATA + members_at + members_len]
    sids, pos = [], 0
    for _ in range(min(count, 10_000)):
        if pos + 8 > len(blob):
            break
        size = 8 + 4 * blob[pos + 1]
        sids.append(sid_text(blob[pos:pos + size]))
        pos += size
    return name, sids


def _signed(value: object) -> int:
    if not isinstance(value, int):
        return 0
    return value - (1 << 32) if value >= 1 << 31 else value


def _bias(reg: RegistryView) -> int:
    zone = reg.values(TIMEZONE) or {}
    for name in ("ActiveTimeBias", "Bias"):
        if isinstance(zone.get(name), int):
            return _signed(zone[name])
    return 0


def _domain_sid(reg: RegistryView) -> str | None:
    """The PC's account-domain SID, at the end of ``Domains\\Account``'s V value."""
    v = (reg.values(ACCOUNT) or {}).get("V")
    if isinstance(v, bytes) and len(v) >= 24 and v[-24:-22] == b"\x01\x04":
        try:
            return sid_text(v[-24:])
        except BadRecord:
            return None
    return None


def _groups(reg: RegistryView, problems: list[str]) -> dict[str, list[tuple[int, str]]]:
    """member SID -> [(alias RID, alias name)]."""
    out: dict[str, list[tuple[int, str]]] = {}
    for key in reg.subkeys(ALIASES) or []:
        try:
            rid = int(key, 16)
        except ValueError:
            continue  # Members, Names
        c = (reg.values(f"{ALIASES}\\{key}") or {}).get("C")
        if not isinstance(c, bytes):
            continue
        try:
            name, members = alias_members(c)
        except (BadRecord, struct.error) as exc:
            problems.append(f"alias {key}: {exc}")
            continue
        for sid in members:
            out.setdefault(sid, []).append((rid, name))
    return out


def collect(reg: RegistryView, today: dt.date) -> tuple[list[OsAccount], list[str]] | None:
    """The local accounts in the SAM hive; None when this registry has no SAM (no hive, or not readable)."""
    rids = reg.subkeys(USERS)
    if rids is None:
        return None
    problems: list[str] = []
    bias = _bias(reg)
    domain = _domain_sid(reg)
    groups = _groups(reg, problems)
    accounts: list[OsAccount] = []
    for key in rids[:MAX_ACCOUNTS]:
        if key.casefold() == "names":
            continue
        values = reg.values(f"{USERS}\\{key}") or {}
        f, v = values.get("F"), values.get("V")
        try:
            if not isinstance(f, bytes) or not isinstance(v, bytes):
                raise BadRecord("F or V value missing")
            facts, names = parse_f(f), parse_v(v)
        except (BadRecord, struct.error) as exc:
            problems.append(f"user {key}: {exc}")
            continue
        accounts.append(to_account(facts, names, today, bias, domain, groups))
    return accounts, problems


def to_account(f: dict[str, int], v: dict[str, str], today: dt.date, bias: int, domain: str | None,
               groups: dict[str, list[tuple[int, str]]]) -> OsAccount:
    acb, rid = f["acb"], f["rid"]
    member_of = [alias for sid, aliases in groups.items() for alias in aliases
                 if sid.rsplit("-", 1)[-1] == str(rid) and (domain is None or sid.rsplit("-", 1)[0] == domain)]
    expires = filetime(f["expires"], bias)
    expired = bool(expires and expires.date() < today)
    last = filetime(f["last_logon"], bias)
    pw_set = filetime(f["password_set"], bias)
    return OsAccount(
        system="windows", name=v["name"], uid=rid, full_name=v["full_name"],
        enabled=not acb & ACB_DISABLED and not expired, locked=bool(acb & ACB_AUTOLOCK),
        interactive=True, human=True, guest=rid == RID_GUEST,
        admin=any(alias_rid == ADMINISTRATORS_ALIAS for alias_rid, _ in member_of),
        password_set=pw_set.date() if pw_set else None, password_never_expires=bool(acb & ACB_PWNOEXP),
        password_required=not acb & ACB_PWNOTREQ, password_empty=None,
        account_expires=expires.date() if expires else None,
        last_login=last, never_logged_in=last is None and f["logons"] == 0, login_history_complete=True,
        groups=sorted({name for _, name in member_of}),
        sources={"account": SOURCE, "last_login": SOURCE},
        facts={"rid": rid, "account_control": f"0x{acb:04x}", "logon_count": f["logons"],
               "failed_logon_count": f["failed_logons"],
               "last_failed_logon": (lf.isoformat(sep=" ") if (lf := filetime(f["last_failed"], bias)) else None)},
    )
