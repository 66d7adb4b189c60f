"""Owner-only ACL for our output files and folders on Windows (chmod 0600 means nothing there).

Grants full control to the current user, SYSTEM and Administrators (inherited by what a folder holds), and
removes inherited entries, through the Win32 security API via ctypes (no pywin32 needed). Under Wine the ACL is
synthetic: the call path runs, but Wine does not enforce it.
"""

from __future__ import annotations

import ctypes
from ctypes import wintypes
from pathlib import Path

SE_FILE_OBJECT = 1
OWNER_SECURITY_INFORMATION = 0x1
DACL_SECURITY_INFORMATION = 0x4
PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000
SDDL_REVISION_1 = 1
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
    return advapi32, kernel32


def _error() -> OSError:
    return ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]


def _current_user_sid() -> str:
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
        sid_str = wintypes.LPWSTR()
        if not advapi32.ConvertSidToStringSidW(psid, ctypes.byref(sid_str)):
            raise _error()
        try:
            return sid_str.value or ""
        finally:
            kernel32.LocalFree(ctypes.cast(sid_str, ctypes.c_void_p))
    finally:
        kernel32.CloseHandle(token)


def owner_only_sddl(user_sid: str, folder: bool = False) -> str:
    # P = protected (nothing inherited from above); FA = full access; SY = SYSTEM; BA = Administrators;
    # OICI on a folder: files and folders created in it inherit the same entries
    flags = "OICI" if folder else ""
    return f"D:P(A;{flags};FA;;;{user_sid})(A;{flags};FA;;;SY)(A;{flags};FA;;;BA)"


def restrict_to_owner(path: Path) -> None:
    advapi32, kernel32 = _api()
    sd = ctypes.c_void_p()
    sddl = owner_only_sddl(_current_user_sid(), folder=Path(path).is_dir())
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
    info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION
    rc = advapi32.GetNamedSecurityInfoW(str(path), SE_FILE_OBJECT, info, None, None, None, None, ctypes.byref(sd))
    if rc != 0:
        raise ctypes.WinError(rc)  # type: ignore[attr-defined]
    try:
        text = wintypes.LPWSTR()
        if not advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, info,
                                                                             ctypes.byref(text), None):
            raise _error()
        try:
            return text.value or ""
        finally:
            kernel32.LocalFree(ctypes.cast(text, ctypes.c_void_p))
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
    kernel32.CreateFileW.restype = wintypes.HANDLE
    kernel32.CreateFileW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, ctypes.c_void_p,
                                     wintypes.DWORD, wintypes.DWORD, wintypes.HANDLE]
    advapi32.GetSecurityInfo.restype = wintypes.DWORD
    advapi32.GetSecurityInfo.argtypes = [wintypes.HANDLE, ctypes.c_int, wintypes.DWORD, ctypes.POINTER(ctypes.c_void_p),
                                         ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p),
                                         ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
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
            text = wintypes.LPWSTR()
            if not advapi32.ConvertSidToStringSidW(owner, ctypes.byref(text)):
                return None
            try:
                return text.value
            finally:
                kernel32.LocalFree(ctypes.cast(text, ctypes.c_void_p))
        finally:
            kernel32.LocalFree(sd)
    finally:
        kernel32.CloseHandle(handle)
