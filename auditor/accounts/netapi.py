"""Windows local accounts through the Net API (netapi32 via ctypes, no pywin32): `NetUserEnum` level 3 gives
name, full name, flags (disabled, locked out, password not required, never expires), privilege, last logon,
password age, account expiry and RID for every local account in one call, in numbers and flags rather than the
display language's words, so any Windows language reads the same. Where level 3 is refused (Wine answers
ERROR_INVALID_LEVEL), the names come from level 0 and each account from `NetUserGetInfo` at the richest level the
system gives (3, 2, then 1 with the full name from level 10); the facts a level lacks stay unknown and the
coverage says which level was read. Local group names (`NetUserGetLocalGroups`) are shown as the system names
them; an administrator is known by privilege, RID 500 or membership of the group whose SID is S-1-5-32-544
(whatever the group is called in this language), the guest by RID 501 (by its default name only where the
system gives no RID).

The conversion to :class:`OsAccount` (:func:`to_account`) works on plain values and is tested anywhere; the calls
run on Windows only (and under Wine in the tests)."""

from __future__ import annotations

import ctypes
import datetime as dt
from ctypes import wintypes
from dataclasses import dataclass, field

from .records import OsAccount

UF_ACCOUNTDISABLE = 0x0002
UF_LOCKOUT = 0x0010
UF_PASSWD_NOTREQD = 0x0020
UF_DONT_EXPIRE_PASSWD = 0x10000
USER_PRIV_GUEST, USER_PRIV_USER, USER_PRIV_ADMIN = 0, 1, 2
PRIVILEGES = {USER_PRIV_GUEST: "guest", USER_PRIV_USER: "user", USER_PRIV_ADMIN: "administrator"}
RID_ADMINISTRATOR, RID_GUEST = 500, 501
ADMINISTRATORS_SID = "S-1-5-32-544"
GUEST_NAMES = ("guest", "来宾", "來賓")  # the built-in guest's default names, used only when no RID is given
TIMEQ_FOREVER = 0xFFFFFFFF
FILTER_NORMAL_ACCOUNT = 0x2
MAX_PREFERRED_LENGTH = 0xFFFFFFFF
NERR_SUCCESS, ERROR_MORE_DATA, ERROR_INVALID_LEVEL = 0, 234, 124
MAX_ACCOUNTS = 10_000  # local accounts read (a PC has a handful)
FLAG_NAMES = {UF_ACCOUNTDISABLE: "disabled", UF_LOCKOUT: "locked_out", UF_PASSWD_NOTREQD: "password_not_required",
              UF_DONT_EXPIRE_PASSWD: "password_never_expires"}

# struct members: DWORD is 32 bits on Windows; c_uint32 keeps the layout the same wherever the module is read
# (wintypes.DWORD is c_ulong, 64 bits on Linux), so the tests can check it against the SDK headers
_DWORD = ctypes.c_uint32
_LEVEL1 = [("name", wintypes.LPWSTR), ("password", wintypes.LPWSTR), ("password_age", _DWORD),
           ("priv", _DWORD), ("home_dir", wintypes.LPWSTR), ("comment", wintypes.LPWSTR),
           ("flags", _DWORD), ("script_path", wintypes.LPWSTR)]
_LEVEL2 = _LEVEL1 + [("auth_flags", _DWORD), ("full_name", wintypes.LPWSTR),
                     ("usr_comment", wintypes.LPWSTR), ("parms", wintypes.LPWSTR), ("workstations", wintypes.LPWSTR),
                     ("last_logon", _DWORD), ("last_logoff", _DWORD),
                     ("acct_expires", _DWORD), ("max_storage", _DWORD),
                     ("units_per_week", _DWORD), ("logon_hours", ctypes.c_void_p),
                     ("bad_pw_count", _DWORD), ("num_logons", _DWORD),
                     ("logon_server", wintypes.LPWSTR), ("country_code", _DWORD),
                     ("code_page", _DWORD)]
_LEVEL3 = _LEVEL2 + [("user_id", _DWORD), ("primary_group_id", _DWORD),
                     ("profile", wintypes.LPWSTR), ("home_dir_drive", wintypes.LPWSTR),
                     ("password_expired", _DWORD)]
_LEVEL10 = [("name", wintypes.LPWSTR), ("comment", wintypes.LPWSTR), ("usr_comment", wintypes.LPWSTR),
            ("full_name", wintypes.LPWSTR)]


class USER_INFO_1(ctypes.Structure):  # noqa: N801 (the Windows names)
    _fields_ = _LEVEL1


class USER_INFO_2(ctypes.Structure):  # noqa: N801
    _fields_ = _LEVEL2


class USER_INFO_3(ctypes.Structure):  # noqa: N801
    _fields_ = _LEVEL3


class USER_INFO_10(ctypes.Structure):  # noqa: N801
    _fields_ = _LEVEL10


class USER_MODALS_INFO_0(ctypes.Structure):  # noqa: N801
    _fields_ = [("min_passwd_len", _DWORD), ("max_passwd_age", _DWORD),
                ("min_passwd_age", _DWORD), ("force_logoff", _DWORD),
                ("password_hist_len", _DWORD)]


STRUCTS = {1: USER_INFO_1, 2: USER_INFO_2, 3: USER_INFO_3, 10: USER_INFO_10}


@dataclass
class NetUser:
    """One account as the Net API gave it; ``level`` is the richest USER_INFO level read (None: unknown)."""

    name: str
    level: int
    full_name: str | None = None
    comment: str | None = None
    flags: int | None = None
    priv: int | None = None
    password_age: int | None = None  # seconds since the password was set
    last_logon: int | None = None  # seconds since 1970 (UTC); 0: never
    acct_expires: int | None = None  # seconds since 1970; TIMEQ_FOREVER: never
    bad_pw_count: int | None = None
    num_logons: int | None = None
    user_id: int | None = None  # the RID
    password_expired: int | None = None
    groups: list[str] = field(default_factory=list)


@dataclass
class Collected:
    accounts: list[OsAccount]
    method: str  # what was called, for the coverage ("NetUserEnum level 3", ...)
    problems: list[str]
    max_password_age: int | None = None  # seconds; None: never or unknown


def _from_struct(info, level: int) -> NetUser:
    def get(name: str):
        return getattr(info, name, None)

    return NetUser(name=get("name") or "", level=level, full_name=get("full_name"), comment=get("comment"),
                   flags=get("flags"), priv=get("priv"), password_age=get("password_age"),
                   last_logon=get("last_logon"), acct_expires=get("acct_expires"), bad_pw_count=get("bad_pw_count"),
                   num_logons=get("num_logons"), user_id=get("user_id"), password_expired=get("password_expired"))


def _local(seconds: int) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(seconds)
    except (OverflowError, OSError, ValueError):
        return None


def to_account(user: NetUser, now: dt.datetime, max_password_age: int | None = None,
               admins_group: str | None = None) -> OsAccount:
    """The account as the accounts area judges it. ``now`` is this PC's local time; ``max_password_age`` the
    local policy's (NetUserModalsGet), None when passwords never expire or it is unknown; ``admins_group`` the
    local name of the Administrators group (S-1-5-32-544)."""
    flags = user.flags or 0
    known = user.flags is not None
    expires = _local(user.acct_expires) if user.acct_expires not in (None, TIMEQ_FOREVER, 0) else None
    expired = bool(expires and expires < now)
    disabled = bool(flags & UF_ACCOUNTDISABLE) if known else None
    password_set = now - dt.timedelta(seconds=user.password_age) if user.password_age is not None else None
    never_expires = bool(flags & UF_DONT_EXPIRE_PASSWD)
    password_expires = None
    if password_set is not None and known and not never_expires and max_password_age:
        password_expires = (password_set + dt.timedelta(seconds=max_password_age)).date()
    last = _local(user.last_logon) if user.last_logon else None
    source = f"NetUserGetInfo level {user.level}" if user.level != 3 else "NetUserEnum level 3"
    facts = {"flags": [name for bit, name in FLAG_NAMES.items() if flags & bit] if known else None,
             "privilege": PRIVILEGES.get(user.priv, user.priv) if user.priv is not None else None,
             "rid": user.user_id, "logon_count": user.num_logons, "bad_password_count": user.bad_pw_count,
             "password_expired": bool(user.password_expired) if user.password_expired is not None else None,
             "level": user.level}
    return OsAccount(
        system="windows", name=user.name, uid=user.user_id, full_name=user.full_name or "",
        enabled=None if disabled is None else (not disabled and not expired), locked=bool(flags & UF_LOCKOUT),
        interactive=True, human=True,
        guest=user.user_id == RID_GUEST if user.user_id is not None else user.name.casefold() in GUEST_NAMES,
        admin=user.priv == USER_PRIV_ADMIN or user.user_id == RID_ADMINISTRATOR or bool(
            admins_group and any(g.casefold() == admins_group.casefold() for g in user.groups)),
        password_set=password_set.date() if password_set else None, password_never_expires=never_expires,
        password_expires=password_expires,
        password_required=None if not known else not flags & UF_PASSWD_NOTREQD, password_empty=None,
        account_expires=expires.date() if expires else None,
        last_login=last, never_logged_in=user.last_logon == 0 and user.level >= 2,
        login_history_complete=user.level >= 2,
        groups=list(user.groups),
        sources={"account": source, **({"last_login": source} if user.level >= 2 else {})},
        facts={k: v for k, v in facts.items() if v is not None},
        problems=[] if user.level >= 2 else [f"last logon not given by this system (USER_INFO level {user.level} "
                                             "only)"],
    )


# --------------------------------------------------------------------------- the calls (Windows)

def _api():
    netapi = ctypes.WinDLL("netapi32")  # type: ignore[attr-defined]
    pbuf = ctypes.POINTER(ctypes.c_void_p)
    pdword = ctypes.POINTER(wintypes.DWORD)
    netapi.NetUserEnum.restype = wintypes.DWORD
    netapi.NetUserEnum.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, pbuf, wintypes.DWORD, pdword,
                                   pdword, pdword]
    netapi.NetUserGetInfo.restype = wintypes.DWORD
    netapi.NetUserGetInfo.argtypes = [wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.DWORD, pbuf]
    netapi.NetUserGetLocalGroups.restype = wintypes.DWORD
    netapi.NetUserGetLocalGroups.argtypes = [wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD,
                                             pbuf, wintypes.DWORD, pdword, pdword]
    netapi.NetUserModalsGet.restype = wintypes.DWORD
    netapi.NetUserModalsGet.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, pbuf]
    netapi.NetApiBufferFree.restype = wintypes.DWORD
    netapi.NetApiBufferFree.argtypes = [ctypes.c_void_p]
    return netapi


class NetApiError(OSError):
    def __init__(self, call: str, code: int) -> None:
        super().__init__(code, f"{call} failed: error {code}")
        self.code = code


def _enum(netapi, level: int) -> list[NetUser]:
    """Every local account at ``level`` (0 or 3), following the resume handle."""
    out: list[NetUser] = []
    resume = wintypes.DWORD(0)
    while True:
        buf = ctypes.c_void_p()
        read, total = wintypes.DWORD(), wintypes.DWORD()
        rc = netapi.NetUserEnum(None, level, FILTER_NORMAL_ACCOUNT, ctypes.byref(buf), MAX_PREFERRED_LENGTH,
                                ctypes.byref(read), ctypes.byref(total), ctypes.byref(resume))
        try:
            if rc not in (NERR_SUCCESS, ERROR_MORE_DATA):
                raise NetApiError(f"NetUserEnum level {level}", rc)
            if buf.value:
                if level == 0:
                    names = ctypes.cast(buf, ctypes.POINTER(wintypes.LPWSTR))
                    out += [NetUser(name=names[i] or "", level=0) for i in range(read.value)]
                else:
                    items = ctypes.cast(buf, ctypes.POINTER(STRUCTS[level]))
                    out += [_from_struct(items[i], level) for i in range(read.value)]
        finally:
            if buf.value:
                netapi.NetApiBufferFree(buf)
        if rc != ERROR_MORE_DATA or read.value == 0 or len(out) >= MAX_ACCOUNTS:
            return out[:MAX_ACCOUNTS]


def _get_info(netapi, name: str, level: int):
    buf = ctypes.c_void_p()
    rc = netapi.NetUserGetInfo(None, name, level, ctypes.byref(buf))
    if rc != NERR_SUCCESS:
        raise NetApiError(f"NetUserGetInfo level {level}", rc)
    try:
        return _from_struct(ctypes.cast(buf, ctypes.POINTER(STRUCTS[level]))[0], level)
    finally:
        netapi.NetApiBufferFree(buf)


def _detail(netapi, name: str) -> NetUser:
    """One account at the richest level this system answers (3, 2, 1; the full name from level 10 with 1)."""
    last: NetApiError | None = None
    for level in (3, 2, 1):
        try:
            user = _get_info(netapi, name, level)
        except NetApiError as exc:
            last = exc
            continue
        if level == 1:
            try:
                user.full_name = _get_info(netapi, name, 10).full_name
            except NetApiError:
                pass
        return user
    raise last or NetApiError("NetUserGetInfo", 0)


def _groups(netapi, name: str) -> list[str]:
    buf = ctypes.c_void_p()
    read, total = wintypes.DWORD(), wintypes.DWORD()
    rc = netapi.NetUserGetLocalGroups(None, name, 0, 0, ctypes.byref(buf), MAX_PREFERRED_LENGTH,
                                      ctypes.byref(read), ctypes.byref(total))
    try:
        if rc != NERR_SUCCESS or not buf.value:
            return []
        names = ctypes.cast(buf, ctypes.POINTER(wintypes.LPWSTR))
        return [names[i] for i in range(read.value) if names[i]]
    finally:
        if buf.value:
            netapi.NetApiBufferFree(buf)


def _max_password_age(netapi) -> int | None:
    buf = ctypes.c_void_p()
    if netapi.NetUserModalsGet(None, 0, ctypes.byref(buf)) != NERR_SUCCESS or not buf.value:
        return None
    try:
        age = ctypes.cast(buf, ctypes.POINTER(USER_MODALS_INFO_0))[0].max_passwd_age
    finally:
        netapi.NetApiBufferFree(buf)
    return None if age in (TIMEQ_FOREVER, 0) else age


def _name_of_sid(sid: str) -> str | None:
    """The local name of a well-known SID (the Administrators group is "Administratoren" in German)."""
    advapi32 = ctypes.WinDLL("advapi32")  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
    advapi32.ConvertStringSidToSidW.argtypes = [wintypes.LPCWSTR, ctypes.POINTER(ctypes.c_void_p)]
    advapi32.LookupAccountSidW.argtypes = [wintypes.LPCWSTR, ctypes.c_void_p, wintypes.LPWSTR,
                                           ctypes.POINTER(wintypes.DWORD), wintypes.LPWSTR,
                                           ctypes.POINTER(wintypes.DWORD), ctypes.POINTER(wintypes.DWORD)]
    kernel32.LocalFree.argtypes = [ctypes.c_void_p]
    psid = ctypes.c_void_p()
    if not advapi32.ConvertStringSidToSidW(sid, ctypes.byref(psid)):
        return None
    try:
        name, domain = ctypes.create_unicode_buffer(256), ctypes.create_unicode_buffer(256)
        n_name, n_domain, use = wintypes.DWORD(256), wintypes.DWORD(256), wintypes.DWORD()
        if not advapi32.LookupAccountSidW(None, psid, name, ctypes.byref(n_name), domain, ctypes.byref(n_domain),
                                          ctypes.byref(use)):
            return None
        return name.value or None
    finally:
        kernel32.LocalFree(psid)


def collect_live(now: dt.datetime | None = None) -> Collected:
    """This PC's local accounts through the Net API. Raises OSError when the API is not there or refuses even
    the list of names (the caller then falls back to `net user`)."""
    netapi = _api()
    now = now or dt.datetime.now()
    problems: list[str] = []
    try:
        users = _enum(netapi, 3)
        method = "NetUserEnum level 3"
    except NetApiError as exc:
        if exc.code != ERROR_INVALID_LEVEL:
            raise
        users = []
        levels: set[int] = set()
        for named in _enum(netapi, 0):
            try:
                user = _detail(netapi, named.name)
            except NetApiError as err:
                problems.append(f"{named.name}: {err.strerror}")
                user = named
            levels.add(user.level)
            users.append(user)
        method = "NetUserEnum level 0 + NetUserGetInfo level " + "/".join(str(v) for v in sorted(levels, reverse=True))
    max_age = _max_password_age(netapi)
    admins = _name_of_sid(ADMINISTRATORS_SID)
    accounts = []
    for user in users:
        user.groups = _groups(netapi, user.name)
        accounts.append(to_account(user, now, max_age, admins))
    return Collected(accounts, method, problems, max_age)
