"""Owner-only ACL for our output files on Windows (chmod 0600 means nothing there).

Grants full control to the current user, SYSTEM and Administrators, and removes inherited entries,
through the Win32 security API via ctypes (no pywin32 needed). Under Wine the ACL is synthetic: the
call path runs, but Wine does not enforce it.
"""

from __future__ import annotations

import ctypes
from ctypes import wintypes
from pathlib import Path

SE_FILE_OBJECT = 1
DACL_SECURITY_INFORMATION = 0x4
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000
SDDL_REVISION_1 = 1


def _current_user_sid() -> str:
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    TOKEN_QUERY = 0x0008
    token = wintypes.HANDLE()
    if not advapi32.OpenProcessToken(kernel32.GetCurrentProcess(), TOKEN_QUERY, ctypes.byref(token)):
        raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
    try:
        size = wintypes.DWORD()
        advapi32.GetTokenInformation(token, 1, None, 0, ctypes.byref(size))  # TokenUser
        buf = ctypes.create_string_buffer(size.value)
        if not advapi32.GetTokenInformation(token, 1, buf, size, ctypes.byref(size)):
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        psid = ctypes.cast(buf, ctypes.POINTER(ctypes.c_void_p))[0]
        sid_str = wintypes.LPWSTR()
        if not advapi32.ConvertSidToStringSidW(ctypes.c_void_p(psid), ctypes.byref(sid_str)):
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        value = sid_str.value or ""
        kernel32.LocalFree(sid_str)
        return value
    finally:
        kernel32.CloseHandle(token)


def owner_only_sddl(user_sid: str) -> str:
    # P = protected (no inheritance); FA = full access; SY = SYSTEM; BA = Administrators.
    return f"D:P(A;;FA;;;{user_sid})(A;;FA;;;SY)(A;;FA;;;BA)"


def restrict_to_owner(path: Path) -> None:
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    sd = ctypes.c_void_p()
    sddl = owner_only_sddl(_current_user_sid())
    if not advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(
        sddl, SDDL_REVISION_1, ctypes.byref(sd), None
    ):
        raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
    try:
        present = wintypes.BOOL()
        defaulted = wintypes.BOOL()
        dacl = ctypes.c_void_p()
        if not advapi32.GetSecurityDescriptorDacl(sd, ctypes.byref(present), ctypes.byref(dacl),
                                                  ctypes.byref(defaulted)):
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        rc = advapi32.SetNamedSecurityInfoW(
            str(path), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            None, None, dacl, None,
        )
        if rc != 0:
            raise ctypes.WinError(rc)  # type: ignore[attr-defined]
    finally:
        kernel32.LocalFree(sd)


def file_owner(path: Path) -> str | None:
    """DOMAIN\\user owning a file, or None when Windows will not say."""
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    OWNER_SECURITY_INFORMATION = 0x1
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
