"""The Windows Application event log through advapi32 (RegisterEventSourceW / ReportEventW /
DeregisterEventSource via ctypes, no pywin32).

The source name is the agent's (``yuncang-auditor``). Windows accepts a source nobody registered and files the
entry in the Application log; the Event Viewer then prefixes the text with "The description for Event ID … cannot
be found" unless the source is registered with a message file (the MSI does: the .NET Framework's
EventLogMessages.dll, whose every message is "%1"). Wine's advapi32 accepts the calls and returns a fixed handle
(0xCAFE4242) but stores nothing: it only writes the text to its debug channel ``eventlog`` (``WINEDEBUG=+eventlog``),
which is how the Wine tests see the call."""

from __future__ import annotations

import ctypes
from ctypes import wintypes

SOURCE = "yuncang-auditor"
EVENTLOG_ERROR_TYPE, EVENTLOG_WARNING_TYPE, EVENTLOG_INFORMATION_TYPE = 0x1, 0x2, 0x4
TYPES = {"error": EVENTLOG_ERROR_TYPE, "warning": EVENTLOG_WARNING_TYPE, "info": EVENTLOG_INFORMATION_TYPE}
MAX_CHARS = 31_839  # ReportEvent's limit for one string
WINE_HANDLE = 0xCAFE4242


def report(text: str, level: str = "info", event_id: int = 1000, source: str = SOURCE) -> bool:
    """Write one entry; True when Windows took it, False when the handle is Wine's stand-in (nothing stored).
    Raises OSError when the system refuses."""
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    advapi32.RegisterEventSourceW.restype = wintypes.HANDLE
    advapi32.RegisterEventSourceW.argtypes = [wintypes.LPCWSTR, wintypes.LPCWSTR]
    advapi32.ReportEventW.restype = wintypes.BOOL
    advapi32.ReportEventW.argtypes = [wintypes.HANDLE, wintypes.WORD, wintypes.WORD, wintypes.DWORD, ctypes.c_void_p,
                                      wintypes.WORD, wintypes.DWORD, ctypes.POINTER(wintypes.LPCWSTR),
                                      ctypes.c_void_p]
    advapi32.DeregisterEventSource.restype = wintypes.BOOL
    advapi32.DeregisterEventSource.argtypes = [wintypes.HANDLE]
    handle = advapi32.RegisterEventSourceW(None, source)
    if not handle:
        raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
    try:
        strings = (wintypes.LPCWSTR * 1)(text[:MAX_CHARS])
        if not advapi32.ReportEventW(handle, TYPES.get(level, EVENTLOG_INFORMATION_TYPE), 0, event_id, None, 1, 0,
                                     strings, None):
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
    finally:
        advapi32.DeregisterEventSource(handle)
    return handle != WINE_HANDLE
