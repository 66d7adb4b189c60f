"""The Windows-native pieces that work on plain values, tested anywhere: the Net API's USER_INFO facts turned into
accounts (auditor.accounts.netapi.to_account, with the values real Windows returns for its built-in and ordinary
accounts), and the check of the data folder's security descriptor (winacl.admin_only_problems) on the SDDL that
real Windows gives for %ProgramData% and for folders created in it. The calls themselves run under Wine
(test_windows_wine.py)."""

from __future__ import annotations

import datetime as dt

from auditor.accounts.netapi import (TIMEQ_FOREVER, UF_ACCOUNTDISABLE, UF_DONT_EXPIRE_PASSWD, UF_LOCKOUT,
                                     UF_PASSWD_NOTREQD, NetUser, to_account)
from auditor.winacl import ADMIN_ONLY_SDDL, admin_only_problems

NOW = dt.datetime(2026, 12, 1, 12, 0, 0)
UF_SCRIPT, UF_NORMAL = 0x1, 0x200  # always set on local accounts


def _epoch(when: dt.datetime) -> int:
    return int(when.timestamp())


def test_level3_ordinary_account():
    user = NetUser(name="chenmo", level=3, full_name="陈默", flags=UF_SCRIPT | UF_NORMAL, priv=1,
                   password_age=86400 * 30, last_logon=_epoch(dt.datetime(2026, 11, 30, 8, 15)),
                   acct_expires=TIMEQ_FOREVER, bad_pw_count=0, num_logons=412, user_id=1001, password_expired=0,
                   groups=["Users", "Remote Desktop Users"])
    acc = to_account(user, NOW, max_password_age=42 * 86400, admins_group="Administrators")
    assert (acc.name, acc.full_name, acc.uid, acc.enabled, acc.locked, acc.admin, acc.guest) == \
        ("chenmo", "陈默", 1001, True, False, False, False)
    assert acc.last_login == dt.datetime(2026, 11, 30, 8, 15) and not acc.never_logged_in
    assert acc.password_set == dt.date(2026, 11, 1) and acc.password_expires == dt.date(2026, 12, 13)
    assert acc.password_required is True and acc.password_never_expires is False
    assert acc.login_history_complete and acc.problems == []
    assert acc.sources == {"account": "NetUserEnum level 3", "last_login": "NetUserEnum level 3"}
    assert acc.facts == {"flags": [], "privilege": "user", "rid": 1001, "logon_count": 412, "bad_password_count": 0,
                         "password_expired": False, "level": 3}


def test_builtin_accounts_by_rid_in_any_language():
    """A German Windows: "Gast" and "Administratoren". The guest is RID 501, the administrator group is found by
    its SID's local name, not by an English word."""
    guest = to_account(NetUser(name="Gast", level=3, flags=UF_SCRIPT | UF_NORMAL | UF_ACCOUNTDISABLE |
                               UF_PASSWD_NOTREQD | UF_DONT_EXPIRE_PASSWD, priv=0, password_age=0, last_logon=0,
                               acct_expires=TIMEQ_FOREVER, user_id=501, num_logons=0), NOW)
    assert guest.guest and guest.enabled is False and guest.never_logged_in and guest.password_required is False
    assert guest.password_never_expires and guest.facts["flags"] == ["disabled", "password_not_required",
                                                                     "password_never_expires"]
    admin = to_account(NetUser(name="lagerleiter", level=3, flags=UF_SCRIPT | UF_NORMAL, priv=1, password_age=10,
                               last_logon=0, acct_expires=TIMEQ_FOREVER, user_id=1005,
                               groups=["Administratoren"]), NOW, admins_group="Administratoren")
    assert admin.admin and not admin.guest and admin.never_logged_in


def test_locked_out_expired_and_never_expiring():
    locked = to_account(NetUser(name="cangku02", level=3, flags=UF_SCRIPT | UF_NORMAL | UF_LOCKOUT, priv=1,
                                password_age=100, last_logon=_epoch(NOW) - 3600, acct_expires=TIMEQ_FOREVER,
                                user_id=1003), NOW)
    assert locked.locked and locked.enabled is True and locked.facts["flags"] == ["locked_out"]
    expired = to_account(NetUser(name="temp01", level=3, flags=UF_SCRIPT | UF_NORMAL, priv=1, password_age=100,
                                 last_logon=0, acct_expires=_epoch(dt.datetime(2026, 6, 30)), user_id=1004), NOW)
    assert expired.enabled is False and expired.account_expires == dt.date(2026, 6, 30)
    forever = to_account(NetUser(name="pos", level=3, flags=UF_SCRIPT | UF_NORMAL | UF_DONT_EXPIRE_PASSWD, priv=2,
                                 password_age=86400 * 400, last_logon=0, acct_expires=TIMEQ_FOREVER, user_id=1006),
                         NOW, max_password_age=42 * 86400)
    assert forever.password_never_expires and forever.password_expires is None and forever.admin


def test_level1_what_wine_gives():
    """Wine answers NetUserEnum at level 0 only and NetUserGetInfo at level 1: no last logon, no RID. The account
    says so, and is never taken for one that never logged on."""
    acc = to_account(NetUser(name="root", level=1, flags=UF_SCRIPT | UF_NORMAL, priv=0, password_age=0,
                             groups=["Administrators"]), NOW, admins_group="Administrators")
    assert acc.admin and not acc.guest  # Wine's level 1 says "guest" privilege; the group decides
    assert acc.last_login is None and not acc.never_logged_in and not acc.login_history_complete
    assert acc.sources == {"account": "NetUserGetInfo level 1"}
    assert acc.problems == ["last logon not given by this system (USER_INFO level 1 only)"]
    assert to_account(NetUser(name="Guest", level=1), NOW).guest  # no RID: the default name


# --------------------------------------------------------------------------- the data folder's ACL

def test_admin_only_descriptor_is_accepted():
    assert admin_only_problems(ADMIN_ONLY_SDDL) == []
    # as Windows reads it back: auto-inherited flag, owner SYSTEM, the SIDs spelled out
    assert admin_only_problems("O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)") == []
    assert admin_only_problems("O:S-1-5-32-544D:P(A;OICI;FA;;;S-1-5-18)(A;OICI;FA;;;S-1-5-32-544)") == []
    # a deny entry only takes rights away
    assert admin_only_problems("O:BAD:P(D;OICI;FA;;;WD)(A;OICI;FA;;;SY)") == []


def test_a_folder_a_user_created_in_programdata_is_loose():
    """What a standard user's `mkdir C:\\ProgramData\\yuncang-auditor` gives: the user owns it and it inherits
    %ProgramData%'s entries (Users may read and create)."""
    sddl = ("O:S-1-5-21-3418240715-2905163847-1620495783-1001G:S-1-5-21-3418240715-2905163847-1620495783-513"
            "D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)")
    assert admin_only_problems(sddl) == [
        "owner S-1-5-21-3418240715-2905163847-1620495783-1001", "entries inherited from the parent folder",
        "access for CO", "access for BU", "access for BU"]
    assert admin_only_problems("O:BA") == ["no DACL (everyone has full access)"]
    assert admin_only_problems("O:BAD:NO_ACCESS_CONTROL") == ["no DACL (everyone has full access)"]
    # Wine's synthetic descriptor (from the Unix mode): never taken for a protected one
    wine = "O:S-1-5-21-0-0-0-1000D:(A;OICI;FA;;;SY)(A;OICI;FA;;;S-1-5-21-0-0-0-1000)(A;OICI;0x1200a9;;;WD)"
    assert len(admin_only_problems(wine)) == 4
