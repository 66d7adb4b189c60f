"""Owner-only ACL for our output files and folders on Windows (chmod 0600 means nothing there), and the
SYSTEM-and-Administrators-only ACL of the agent's data folder under %ProgramData%.

Grants full control to the current user, SYSTEM and Administrators (inherited by what a folder holds), and
removes inherited entries, through the Win32 security API via ctypes (no pywin32 needed). Under Wine the ACL is
synthetic: the call path runs, but Wine does not enforce it, and reads back one derived from the Unix mode.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
from ctypes import wintypes
from pathlib import Path
from typing import Any, Callable

SE_FILE_OBJECT = 1
OWNER_SECURITY_INFORMATION = 0x1
DACL_SECURITY_INFORMATION = 0x4
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000
SDDL_REVISION_1 = 1
_OWNER_DACL = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
TOKEN_QUERY = 0x0008
TOKEN_USER_CLASS = 1


def _api():
    """advapi32/kernel32 with full prototypes: without them ctypes passes handles and pointers as 32-bit ints,
    and on 64-bit Windows GetCurrentProcess()'s pseudo-handle -1 arrives as 0xFFFFFFFF ("invalid handle")."""
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    PHANDLE, PVOID = ctypes.POINTER(wintypes.HANDLE), ctypes.c_void_p
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    kernel32.GetCurrentProcess.argtypes = []
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    kernel32.LocalFree.restype = PVOID
    kernel32.LocalFree.argtypes = [PVOID]
    kernel32.CreateFileW.restype = wintypes.HANDLE
    kernel32.CreateFileW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, ctypes.c_void_p,
                                     wintypes.DWORD, wintypes.DWORD, wintypes.HANDLE]
    kernel32.GetFileType.argtypes = [wintypes.HANDLE]
    kernel32.GetFileType.restype = wintypes.DWORD
    advapi32.OpenProcessToken.argtypes = [wintypes.HANDLE, wintypes.DWORD, PHANDLE]
    advapi32.GetTokenInformation.argtypes = [wintypes.HANDLE, ctypes.c_int, PVOID, wintypes.DWORD,
                                             ctypes.POINTER(wintypes.DWORD)]
    advapi32.ConvertSidToStringSidW.argtypes = [PVOID, ctypes.POINTER(wintypes.LPWSTR)]
    advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW.argtypes = [
        wintypes.LPCWSTR, wintypes.DWORD, ctypes.POINTER(PVOID), ctypes.POINTER(wintypes.ULONG)]
    advapi32.GetSecurityDescriptorDacl.argtypes = [PVOID, ctypes.POINTER(wintypes.BOOL), ctypes.POINTER(PVOID),
                                                   ctypes.POINTER(wintypes.BOOL)]
    advapi32.SetNamedSecurityInfoW.restype = wintypes.DWORD
    advapi32.SetNamedSecurityInfoW.argtypes = [wintypes.LPWSTR, ctypes.c_int, wintypes.DWORD, PVOID, PVOID,
                                               PVOID, PVOID]
    advapi32.GetNamedSecurityInfoW.restype = wintypes.DWORD
    advapi32.GetNamedSecurityInfoW.argtypes = [wintypes.LPCWSTR, ctypes.c_int, wintypes.DWORD,
                                               ctypes.POINTER(PVOID), ctypes.POINTER(PVOID), ctypes.POINTER(PVOID),
                                               ctypes.POINTER(PVOID), ctypes.POINTER(PVOID)]
    advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW.argtypes = [
        PVOID, wintypes.DWORD, wintypes.DWORD, ctypes.POINTER(wintypes.LPWSTR), ctypes.POINTER(wintypes.ULONG)]
    advapi32.GetSecurityInfo.restype = wintypes.DWORD
    advapi32.GetSecurityInfo.argtypes = [wintypes.HANDLE, ctypes.c_int, wintypes.DWORD, ctypes.POINTER(PVOID),
                                         ctypes.POINTER(PVOID), ctypes.POINTER(PVOID), ctypes.POINTER(PVOID),
                                         ctypes.POINTER(PVOID)]
    return advapi32, kernel32


def _error() -> OSError:
    return ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]


def _local_string(kernel32, make: Callable[[Any], int]) -> str | None:
    """The text of a string Windows allocates for us: ``make(out)`` calls an API that stores a LocalAlloc'd wide
    string through ``out`` (a pointer to an LPWSTR) and returns nonzero on success. The string is read and
    LocalFree'd; None when the call failed (``ctypes.get_last_error()`` still tells why)."""
    text = wintypes.LPWSTR()
    if not make(ctypes.byref(text)):
        return None
    try:
        return text.value or ""
    finally:
        kernel32.LocalFree(ctypes.cast(text, ctypes.c_void_p))


def current_user_sid() -> str:
    advapi32, kernel32 = _api()
    token = wintypes.HANDLE()
    if not advapi32.OpenProcessToken(kernel32.GetCurrentProcess(), TOKEN_QUERY, ctypes.byref(token)):
        raise _error()
    try:
        size = wintypes.DWORD()
        advapi32.GetTokenInformation(token, TOKEN_USER_CLASS, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        if not advapi32.GetTokenInformation(token, TOKEN_USER_CLASS, buf, size, ctypes.byref(size)):
            raise _error()
        psid = ctypes.cast(buf, ctypes.POINTER(ctypes.c_void_p))[0]  # TOKEN_USER.User.Sid
        sid = _local_string(kernel32, lambda out: advapi32.ConvertSidToStringSidW(psid, out))
        if sid is None:
            raise _error()
        return sid
    finally:
        kernel32.CloseHandle(token)


_current_user_sid = current_user_sid  # the name the Wine tests call


def owner_only_sddl(user_sid: str, folder: bool = False) -> str:
    # P = protected (nothing inherited from above); FA = full access; SY = SYSTEM; BA = Administrators;
    # OICI on a folder: files and folders created in it inherit the same entries
    flags = "OICI" if folder else ""
    return f"D:P(A;{flags};FA;;;{user_sid})(A;{flags};FA;;;SY)(A;{flags};FA;;;BA)"


def restrict_to_owner(path: Path) -> None:
    advapi32, kernel32 = _api()
    sd = ctypes.c_void_p()
    sddl = owner_only_sddl(current_user_sid(), folder=Path(path).is_dir())
    if not advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, ctypes.byref(sd),
                                                                         None):
        raise _error()
    try:
        present = wintypes.BOOL()
        defaulted = wintypes.BOOL()
        dacl = ctypes.c_void_p()
        if not advapi32.GetSecurityDescriptorDacl(sd, ctypes.byref(present), ctypes.byref(dacl),
                                                  ctypes.byref(defaulted)):
            raise _error()
        rc = advapi32.SetNamedSecurityInfoW(
            str(path), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            None, None, dacl, None,
        )
        if rc != 0:
            raise ctypes.WinError(rc)  # type: ignore[attr-defined]
    finally:
        kernel32.LocalFree(sd)


def file_sddl(path: Path) -> str:
    """The owner and DACL of ``path`` as SDDL (for checks and tests)."""
    advapi32, kernel32 = _api()
    sd = ctypes.c_void_p()
    rc = advapi32.GetNamedSecurityInfoW(str(path), SE_FILE_OBJECT, _OWNER_DACL, None, None, None, None,
                                        ctypes.byref(sd))
    if rc != 0:
        raise ctypes.WinError(rc)  # type: ignore[attr-defined]
    return _sddl_of(advapi32, kernel32, sd)


def handle_sddl(fd: int) -> str:
    """The owner and DACL of an open file (a C runtime descriptor, as ``safeio`` opens them) as SDDL: of the very
    file that was opened, whatever its path names by now."""
    import msvcrt  # Windows only (this module's functions run on Windows alone)

    advapi32, kernel32 = _api()
    sd = ctypes.c_void_p()
    rc = advapi32.GetSecurityInfo(msvcrt.get_osfhandle(fd), SE_FILE_OBJECT, _OWNER_DACL, None, None, None, None,
                                  ctypes.byref(sd))
    if rc != 0:
        raise ctypes.WinError(rc)  # type: ignore[attr-defined]
    return _sddl_of(advapi32, kernel32, sd)


def stat_and_sddl(path: str, nofollow: bool = True) -> tuple[os.stat_result, str]:
    """``os.stat`` of the file ``path`` names (with ``nofollow``, of a final junction or symbolic link itself) and
    its owner and DACL as SDDL, both through one handle opened for its attributes and security descriptor only
    (never its data; as an identification-level client, should the path name a pipe): two looks at one file,
    whatever the path names a moment later. Raises OSError."""
    import msvcrt  # Windows only

    advapi32, kernel32 = _api()
    read_control, read_attributes, share_all, open_existing = 0x00020000, 0x80, 0x7, 3
    flags = 0x00100000 | 0x00010000  # SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION
    if nofollow:
        flags |= 0x00200000  # FILE_FLAG_OPEN_REPARSE_POINT: a link itself, not what it points to
    handle = kernel32.CreateFileW(path, read_control | read_attributes, share_all, None, open_existing, flags, None)
    if handle in (None, wintypes.HANDLE(-1).value):
        raise _error()
    try:
        if kernel32.GetFileType(handle) != 1:  # FILE_TYPE_DISK
            raise OSError(errno.EINVAL, "not a file on a disk", path)
        fd = msvcrt.open_osfhandle(handle, os.O_RDONLY)
    except BaseException:
        kernel32.CloseHandle(handle)
        raise
    try:
        return os.fstat(fd), handle_sddl(fd)
    finally:
        os.close(fd)


def _sddl_of(advapi32, kernel32, sd: ctypes.c_void_p) -> str:
    """The SDDL text of a security descriptor Windows allocated, which is freed."""
    try:
        text = _local_string(kernel32, lambda out: advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd, SDDL_REVISION_1, _OWNER_DACL, out, None))
        if text is None:
            raise _error()
        return text
    finally:
        kernel32.LocalFree(sd)


def file_owner(path: Path) -> str | None:
    """DOMAIN\\user owning a file, or None when Windows will not say."""
    advapi32, kernel32 = _api()
    advapi32.LookupAccountSidW.argtypes = [wintypes.LPCWSTR, ctypes.c_void_p, wintypes.LPWSTR,
                                           ctypes.POINTER(wintypes.DWORD), wintypes.LPWSTR,
                                           ctypes.POINTER(wintypes.DWORD), ctypes.POINTER(wintypes.DWORD)]
    owner = ctypes.c_void_p()
    sd = ctypes.c_void_p()
    rc = advapi32.GetNamedSecurityInfoW(str(path), SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION,
                                        ctypes.byref(owner), None, None, None, ctypes.byref(sd))
    if rc != 0:
        return None
    try:
        name = ctypes.create_unicode_buffer(256)
        domain = ctypes.create_unicode_buffer(256)
        n_name, n_domain, use = wintypes.DWORD(256), wintypes.DWORD(256), wintypes.DWORD()
        if not advapi32.LookupAccountSidW(None, owner, name, ctypes.byref(n_name), domain, ctypes.byref(n_domain),
                                          ctypes.byref(use)):
            return None
        return f"{domain.value}\\{name.value}" if domain.value else name.value
    finally:
        kernel32.LocalFree(sd)


def owner_sid(path: str, nofollow: bool = True) -> str | None:
    """The owner SID (``S-1-5-18``…) of a file, folder or, with ``nofollow``, of a junction or symbolic link
    itself rather than what it points to; None when Windows will not say."""
    advapi32, kernel32 = _api()
    read_control, share_all, open_existing = 0x00020000, 0x7, 3
    flags = 0x02000000 | (0x00200000 if nofollow else 0)  # BACKUP_SEMANTICS (folders) | OPEN_REPARSE_POINT
    handle = kernel32.CreateFileW(path, read_control, share_all, None, open_existing, flags, None)
    if handle in (None, wintypes.HANDLE(-1).value):
        return None
    try:
        owner, sd = ctypes.c_void_p(), ctypes.c_void_p()
        if advapi32.GetSecurityInfo(handle, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, ctypes.byref(owner), None,
                                    None, None, ctypes.byref(sd)) != 0:
            return None
        try:
            return _local_string(kernel32, lambda out: advapi32.ConvertSidToStringSidW(owner, out))
        finally:
            kernel32.LocalFree(sd)
    finally:
        kernel32.CloseHandle(handle)


# ------------------------------------------------------------------ the data folder: SYSTEM and Administrators only

# owner Administrators; protected DACL: full control for SYSTEM and Administrators, inherited by what it holds
ADMIN_ONLY_SDDL = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
TRUSTED_SIDS = frozenset({"SY", "BA", "S-1-5-18", "S-1-5-32-544",
                          "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"})  # TrustedInstaller
_SID = r"S-1-[0-9-]+|[A-Z]{2}"
_SDDL = re.compile(rf"O:(?P<owner>{_SID})|G:(?:{_SID})|D:(?P<flags>(?:NO_ACCESS_CONTROL|P|AI|AR)*)"
                   r"(?P<aces>(?:\([^)]*\))*)|S:.*")


def _sddl_parts(sddl: str) -> tuple[str | None, str | None, list[list[str]]]:
    """(owner, DACL flags or None when there is no ``D:`` part, the DACL's entries split into their fields)."""
    owner, flags, aces = None, None, ""
    pos = 0
    while pos < len(sddl):
        part = _SDDL.match(sddl, pos)
        if part is None or part.end() == pos:
            break
        if part.group("owner"):
            owner = part.group("owner")
        elif part.group(0).startswith("D:"):
            flags, aces = part.group("flags"), part.group("aces")
        pos = part.end()
    return owner, flags, [ace.split(";") for ace in re.findall(r"\(([^)]*)\)", aces)]


def _owner_and_dacl_problems(owner: str | None, flags: str | None, trusted: frozenset[str]) -> list[str]:
    problems = [] if owner is not None and owner.upper() in trusted else [f"owner {owner or '(none)'}"]
    if flags is None or "NO_ACCESS_CONTROL" in flags:
        problems.append("no DACL (everyone has full access)")
    return problems


def _is_deny(fields: list[str]) -> bool:
    return fields[0].upper() in ("D", "OD", "XD")  # a deny entry only takes rights away


def admin_only_problems(sddl: str) -> list[str]:
    """Why a security descriptor (SDDL with owner and DACL) is not SYSTEM-and-Administrators-only: an owner
    other than SYSTEM, Administrators or TrustedInstaller (an owner may always change the DACL), a DACL that
    inherits from above, an entry allowing anyone else. [] when it is as it should be."""
    owner, flags, aces = _sddl_parts(sddl)
    problems = _owner_and_dacl_problems(owner, flags, TRUSTED_SIDS)
    if flags is None or "NO_ACCESS_CONTROL" in flags:
        return problems
    if "P" not in flags.replace("NO_ACCESS_CONTROL", ""):
        problems.append("entries inherited from the parent folder")
    for fields in aces:
        if len(fields) < 6 or _is_deny(fields):
            continue
        if fields[5].upper() not in TRUSTED_SIDS:
            problems.append(f"access for {fields[5]}")
    return problems


# the rights of an SDDL access mask, by its two-letter codes (Windows writes a mask as codes or in hex)
_RIGHTS = {"GA": 0x10000000, "GR": 0x80000000, "GW": 0x40000000, "GX": 0x20000000, "RC": 0x20000, "SD": 0x10000,
           "WD": 0x40000, "WO": 0x80000, "CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "RP": 0x10, "WP": 0x20,
           "DT": 0x40, "LO": 0x80, "CR": 0x100, "FA": 0x1F01FF, "FR": 0x120089, "FW": 0x120116, "FX": 0x1200A0,
           "KA": 0xF003F, "KR": 0x20019, "KW": 0x20006, "KX": 0x20019}
# what lets an account change a file's bytes or its protection: FILE_WRITE_DATA, FILE_APPEND_DATA, DELETE,
# WRITE_DAC, WRITE_OWNER, MAXIMUM_ALLOWED, GENERIC_ALL, GENERIC_WRITE
WRITE_RIGHTS = 0x2 | 0x4 | 0x10000 | 0x40000 | 0x80000 | 0x02000000 | 0x10000000 | 0x40000000


def _codes(text: str) -> list[str]:
    """An SDDL field of two-letter codes ("OICIIO") as its codes."""
    return [text[i:i + 2].upper() for i in range(0, len(text), 2)]


def _mask(rights: str) -> int | None:
    """The access mask an SDDL entry's rights field stands for; None when it cannot be read."""
    if rights.lower().startswith("0x"):
        try:
            return int(rights, 16)
        except ValueError:
            return None
    if len(rights) % 2:
        return None
    mask = 0
    for code in _codes(rights):
        bit = _RIGHTS.get(code)
        if bit is None:
            return None
        mask |= bit
    return mask


def writer_problems(sddl: str, also: str = "") -> list[str]:
    """Why a file's security descriptor (SDDL with owner and DACL) lets someone other than SYSTEM, Administrators,
    TrustedInstaller (and ``also``, the account the agent runs as) change its bytes: another owner (an owner may
    always change the DACL), no DACL, an entry granting write, append, delete or a change of its protection to
    anyone else (an entry whose rights cannot be read counts as one). Entries only inherited by what a folder
    holds (``IO``) do not apply to the file itself. [] when only those accounts can change it."""
    trusted = TRUSTED_SIDS | ({also.upper()} if also else frozenset())
    owner, flags, aces = _sddl_parts(sddl)
    problems = _owner_and_dacl_problems(owner, flags, trusted)
    for fields in aces:
        if len(fields) < 6:
            problems.append("an unreadable entry")
            continue
        if _is_deny(fields) or "IO" in _codes(fields[1]):
            continue
        sid = fields[5].upper()
        if sid in trusted or sid == "OW":  # OWNER RIGHTS: the owner, checked above
            continue
        mask = _mask(fields[2])
        if mask is None or mask & WRITE_RIGHTS:
            problems.append(f"write access for {fields[5]}")
    return problems


def set_admin_only(path: Path | str) -> None:
    """Make ``path`` owned by Administrators with the protected SYSTEM + Administrators DACL (needs an elevated
    administrator or SYSTEM). Raises OSError."""
    advapi32, kernel32 = _api()
    advapi32.GetSecurityDescriptorOwner.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                                    ctypes.POINTER(wintypes.BOOL)]
    sd = ctypes.c_void_p()
    if not advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(ADMIN_ONLY_SDDL, SDDL_REVISION_1,
                                                                         ctypes.byref(sd), None):
        raise _error()
    try:
        present, defaulted = wintypes.BOOL(), wintypes.BOOL()
        dacl, owner = ctypes.c_void_p(), ctypes.c_void_p()
        if not advapi32.GetSecurityDescriptorDacl(sd, ctypes.byref(present), ctypes.byref(dacl),
                                                  ctypes.byref(defaulted)):
            raise _error()
        if not advapi32.GetSecurityDescriptorOwner(sd, ctypes.byref(owner), ctypes.byref(defaulted)):
            raise _error()
        info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION
        rc = advapi32.SetNamedSecurityInfoW(str(path), SE_FILE_OBJECT, info, owner, None, dacl, None)
        if rc != 0:
            raise ctypes.WinError(rc)  # type: ignore[attr-defined]
    finally:
        kernel32.LocalFree(sd)
