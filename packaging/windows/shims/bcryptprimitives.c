/* bcryptprimitives.dll for Wine 8 only (never shipped in auditor.exe): Rust's std (python-calamine) imports
   ProcessPrng from it, which real Windows 10/11 has and Wine 8.0 lacks. Forwards to RtlGenRandom. */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
