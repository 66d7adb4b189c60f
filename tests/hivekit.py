"""Real Windows registry hive files (REGF) for the tests, made on Linux.

Wine cannot write one (it has no `reg save`; RegSaveKeyW writes its text format). The hives here are written by
hivex (`hivexregedit --merge`, Debian package libwin-hivex-perl), an independent REGF implementation, into an empty
hive made by :func:`empty_hive` (a header, one bin, a root key and its security cell: the one thing hivex cannot
create). What goes in is regedit text: the recorded exports of tests/fixtures/windows/*.reg, split by hive as Windows
keeps them on disk (``HKLM\\SOFTWARE`` -> ``Windows\\System32\\config\\SOFTWARE``, ``CurrentControlSet`` ->
``ControlSet001``, ``HKEY_USERS\\<SID>`` -> that profile's ``NTUSER.DAT``), plus a SAM hive built by :func:`sam_reg`
with the F, V and C value layouts of real Windows (checked against a SAM of a real Windows 7 PC, see
auditor/accounts/sam.py).

``python tests/hivekit.py DIR`` writes the committed fixture tests/fixtures/windows/hives/ again."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

FIX = Path(__file__).parent / "fixtures" / "windows"
HIVES_FIXTURE = FIX / "hives"
SID = "S-1-5-21-3418240715-2905163847-1620495783"
USER_SID = f"{SID}-1001"
REG_SOURCES = ("uninstall.reg", "run_keys.reg", "services.reg", "remote_features_enabled.reg", "usb_storage.reg")
CHINA_BIAS = -480  # UTC+8: UTC = local + bias (minutes)
TOOL = "hivexregedit"


def available() -> bool:
    return shutil.which(TOOL) is not None


# --------------------------------------------------------------------------- an empty hive

def empty_hive(name: str = "ROOT") -> bytes:
    """The smallest REGF file hivex can open and extend: base block, one 4 KiB bin holding the root key (flags
    KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME), its security cell (an empty DACL) and one free cell."""
    key = name.encode("ascii")
    nk = bytearray(b"nk" + struct.pack("<H", 0x2C) + struct.pack("<Q", 0) + struct.pack("<I", 0)
                   + struct.pack("<I", 0xFFFFFFFF) + struct.pack("<II", 0, 0)
                   + struct.pack("<II", 0xFFFFFFFF, 0xFFFFFFFF) + struct.pack("<I", 0) + struct.pack("<I", 0xFFFFFFFF))
    sk_field = len(nk)
    nk += struct.pack("<I", 0) + struct.pack("<I", 0xFFFFFFFF) + struct.pack("<5I", 0, 0, 0, 0, 0)
    nk += struct.pack("<HH", len(key), 0) + key
    nk_at = 0x20
    nk_size = (4 + len(nk) + 7) & ~7
    sk_at = nk_at + nk_size
    struct.pack_into("<I", nk, sk_field, sk_at)
    sd = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + struct.pack("<BBHHH", 2, 0, 8, 0, 0)
    sk = b"sk" + struct.pack("<HIIII", 0, sk_at, sk_at, 1, len(sd)) + sd
    sk_size = (4 + len(sk) + 7) & ~7
    hbin = bytearray(0x1000)
    hbin[0:4] = b"hbin"
    struct.pack_into("<III", hbin, 4, 0, len(hbin), 0)
    struct.pack_into("<i", hbin, nk_at, -nk_size)
    hbin[nk_at + 4:nk_at + 4 + len(nk)] = nk
    struct.pack_into("<i", hbin, sk_at, -sk_size)
    hbin[sk_at + 4:sk_at + 4 + len(sk)] = sk
    free = sk_at + sk_size
    struct.pack_into("<i", hbin, free, len(hbin) - free)
    base = bytearray(4096)
    base[0:4] = b"regf"
    struct.pack_into("<IIQIIIIIII", base, 4, 1, 1, 0, 1, 5, 0, 1, nk_at, len(hbin), 1)
    label = name.encode("utf-16-le")[:64]
    base[0x30:0x30 + len(label)] = label
    checksum = 0
    for i in range(0, 0x1FC, 4):
        checksum ^= struct.unpack_from("<I", base, i)[0]
    struct.pack_into("<I", base, 0x1FC, checksum)
    return bytes(base) + bytes(hbin)


# --------------------------------------------------------------------------- regedit text split by hive

def _sections(text: str) -> list[tuple[str, list[str]]]:
    """[(key path, value lines)] of a regedit 5.00 text (continued lines kept as they are)."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("[") and line.rstrip().endswith("]"):
            out.append((line.strip()[1:-1], []))
        elif out and line.strip() and not line.startswith("Windows Registry Editor"):
            out[-1][1].append(line)
    return out


def _read_reg(path: Path) -> str:
    raw = path.read_bytes()
    return raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")


def split_by_hive(texts: list[str]) -> dict[str, list[tuple[str, list[str]]]]:
    """Sections by hive file: "SOFTWARE", "SYSTEM", "SAM" or "NTUSER.DAT:<SID>"; keys relative to the hive's root,
    CurrentControlSet written as ControlSet001."""
    hives: dict[str, list[tuple[str, list[str]]]] = {}
    for text in texts:
        for key, lines in _sections(text):
            parts = key.split("\\")
            top = parts[0].upper()
            if top in ("HKEY_LOCAL_MACHINE", "HKLM") and len(parts) > 1:
                hive, rest = parts[1].upper(), parts[2:]
                if hive == "SYSTEM" and rest and rest[0].casefold() == "currentcontrolset":
                    rest = ["ControlSet001", *rest[1:]]
            elif top in ("HKEY_USERS", "HKU") and len(parts) > 1:
                hive, rest = f"NTUSER.DAT:{parts[1]}", parts[2:]
            else:
                continue
            if rest:
                hives.setdefault(hive, []).append(("\\".join(rest), lines))
    return hives


_STRING_VALUE = re.compile(r'^((?:"(?:[^"\\]|\\.)*")|@)="((?:[^"\\]|\\.)*)"\s*$')


def _ascii_only(line: str) -> str:
    """hivexregedit reads the text as Latin-1: string data is given as hex(1) (UTF-16 LE) instead."""
    m = _STRING_VALUE.match(line)
    if not m or m.group(2).isascii():
        return line
    text = re.sub(r"\\(.)", r"\1", m.group(2))
    return f"{m.group(1)}={_hex(1, (text + chr(0)).encode('utf-16-le'))}"


def write_hive(path: Path, sections: list[tuple[str, list[str]]]) -> Path:
    """A hive file at ``path`` holding ``sections`` (keys relative to its root; parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(empty_hive())
    made: set[str] = set()
    lines = ["Windows Registry Editor Version 5.00", ""]
    for key, values in sections:
        parts = key.split("\\")
        for depth in range(1, len(parts) + 1):
            sub = "\\".join(parts[:depth])
            if sub.casefold() not in made:
                made.add(sub.casefold())
                lines += [f"[HIVE\\{sub}]", ""]
        lines += [f"[HIVE\\{key}]", *map(_ascii_only, values), ""]
    script = path.with_name(path.name + ".reg")
    script.write_text("\r\n".join(lines), encoding="utf-8")
    try:
        res = subprocess.run([TOOL, "--merge", "--prefix", "HIVE", "--encoding", "UTF-16LE", str(path), str(script)],
                             capture_output=True, text=True, timeout=120)
    finally:
        script.unlink()
    if res.returncode != 0:
        raise RuntimeError(f"{TOOL} --merge {path.name}: {res.stderr.strip()[-2000:]}")
    return path


# --------------------------------------------------------------------------- SAM

def _hex(kind: int, data: bytes) -> str:
    return f"hex({kind:x}):" + ",".join(f"{b:02x}" for b in data)


def filetime(when: dt.datetime | None) -> int:
    """Local time of a UTC+8 PC as FILETIME (UTC); None: never."""
    if when is None:
        return 0
    utc = when + dt.timedelta(minutes=CHINA_BIAS)
    return int((utc - dt.datetime(1601, 1, 1)).total_seconds() * 10_000_000)


def sid_bytes(sid: str) -> bytes:
    parts = sid.split("-")
    subs = [int(p) for p in parts[3:]]
    return bytes([1, len(subs)]) + int(parts[2]).to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


def f_value(rid: int, acb: int, last_logon: dt.datetime | None, password_set: dt.datetime | None,
            logons: int, expires: dt.datetime | None = None) -> bytes:
    data = bytearray(80)
    struct.pack_into("<H", data, 0, 2)
    struct.pack_into("<Q", data, 0x08, filetime(last_logon))
    struct.pack_into("<Q", data, 0x18, filetime(password_set))
    struct.pack_into("<Q", data, 0x20, filetime(expires) if expires else 0x7FFFFFFFFFFFFFFF)
    struct.pack_into("<I", data, 0x30, rid)
    struct.pack_into("<H", data, 0x38, acb)
    struct.pack_into("<HHH", data, 0x3C, 0, 936, 0)
    struct.pack_into("<H", data, 0x42, logons)
    return bytes(data)


def v_value(name: str, full_name: str = "", comment: str = "") -> bytes:
    table = bytearray(0xCC)
    blob = bytearray()
    for i, text in ((1, name), (2, full_name), (3, comment)):
        raw = text.encode("utf-16-le")
        struct.pack_into("<III", table, 0x0C * i, len(blob), len(raw), 0)
        blob += raw + b"\0" * (-len(raw) % 4)
    return bytes(table + blob + b"\0" * 16)  # (hashes and the rest would follow: none here)


def c_value(rid: int, name: str, members: list[str]) -> bytes:
    name_raw = name.encode("utf-16-le")
    blob = bytearray(name_raw)
    members_raw = b"".join(sid_bytes(m) for m in members)
    words = [rid, 0, 0xB0, 0x10002, 0, len(name_raw), 0, len(blob), 0, 0, len(blob), len(members_raw), len(members)]
    return struct.pack("<13I", *words) + bytes(blob) + members_raw


ACCOUNTS = [  # RID, name, full name, ACB flags, last logon (local), password set, logons
    (500, "Administrator", "", 0x0211, dt.datetime(2025, 3, 2, 9, 15), dt.datetime(2025, 3, 1, 18, 0), 7),
    (501, "Guest", "", 0x0215, None, None, 0),
    (1001, "chenmo", "陈默", 0x0210, dt.datetime(2026, 11, 20, 8, 41, 5), dt.datetime(2026, 1, 4, 10, 0), 412),
    (1002, "zhangwei", "张伟", 0x0010, dt.datetime(2026, 3, 14, 17, 30), dt.datetime(2025, 12, 1, 9, 0), 95),
    (1003, "cangku02", "仓库2号机", 0x0410, dt.datetime(2026, 11, 2, 20, 5), dt.datetime(2026, 6, 1, 9, 0), 60),
    (1004, "temp01", "", 0x0014, None, dt.datetime(2026, 2, 1, 9, 0), 0),
]
ALIASES = [(0x220, "Administrators", [500, 1001]), (0x221, "Users", [1001, 1002, 1003, 1004]), (0x222, "Guests", [501])]


def sam_sections() -> list[tuple[str, list[str]]]:
    base = r"SAM\Domains\Account"
    sections = [(base, [f'"V"={_hex(3, bytes(40) + sid_bytes(SID))}'])]
    for rid, name, full, acb, last, pw, logons in ACCOUNTS:
        sections.append((rf"{base}\Users\{rid:08X}", [f'"F"={_hex(3, f_value(rid, acb, last, pw, logons))}',
                                                      f'"V"={_hex(3, v_value(name, full))}']))
        sections.append((rf"{base}\Users\Names\{name}", [f"@={_hex(rid, b'')}"]))
    for rid, name, members in ALIASES:
        sids = [f"S-1-5-21-3418240715-2905163847-1620495783-{m}" for m in members]
        sections.append((rf"SAM\Domains\Builtin\Aliases\{rid:08X}", [f'"C"={_hex(3, c_value(rid, name, sids))}']))
    return sections


# --------------------------------------------------------------------------- a Windows tree

def extra_sections() -> dict[str, list[tuple[str, list[str]]]]:
    """What a real PC's hives hold beside the recorded exports: the profile list, the current control set, the
    time zone (China Standard Time)."""
    home = "%SystemDrive%\\Users\\chenmo\0".encode("utf-16-le")
    system_home = "%systemroot%\\system32\\config\\systemprofile\0".encode("utf-16-le")
    return {
        "SOFTWARE": [(rf"Microsoft\Windows NT\CurrentVersion\ProfileList\{USER_SID}",
                      [f'"ProfileImagePath"={_hex(2, home)}']),
                     (r"Microsoft\Windows NT\CurrentVersion\ProfileList\S-1-5-18",
                      [f'"ProfileImagePath"={_hex(2, system_home)}'])],
        "SYSTEM": [("Select", ['"Current"=dword:00000001', '"Default"=dword:00000001']),
                   (r"ControlSet001\Control\TimeZoneInformation",
                    ['"Bias"=dword:fffffe20', '"ActiveTimeBias"=dword:fffffe20',
                     '"TimeZoneKeyName"="China Standard Time"'])],
    }


def make_hives(folder: Path, sources: tuple[str, ...] = REG_SOURCES) -> dict[str, Path]:
    """SOFTWARE, SYSTEM, SAM and the user's NTUSER.DAT in ``folder`` (as in Windows\\System32\\config, with
    NTUSER.DAT beside them), from the recorded exports. Returns name -> path."""
    by_hive = split_by_hive([_read_reg(FIX / name) for name in sources])
    for hive, sections in extra_sections().items():
        by_hive.setdefault(hive, []).extend(sections)
    by_hive["SAM"] = sam_sections()
    out = {}
    for hive, sections in sorted(by_hive.items()):
        name = "NTUSER.DAT" if hive.startswith("NTUSER.DAT:") else hive
        out[name] = write_hive(folder / name, sections)
    return out


def windows_tree(root: Path, hives: dict[str, Path] | Path = HIVES_FIXTURE) -> Path:
    """A minimal offline Windows tree at ``root`` (C:) with the hives in place and the user's profile folder."""
    src = hives if isinstance(hives, dict) else {p.name: p for p in Path(hives).iterdir() if p.is_file()}
    config = root / "Windows" / "System32" / "config"
    config.mkdir(parents=True, exist_ok=True)
    profile = root / "Users" / "chenmo"
    (profile / "Desktop").mkdir(parents=True, exist_ok=True)
    for name, path in src.items():
        if name == "NTUSER.DAT":
            shutil.copy(path, profile / "NTUSER.DAT")
        elif re.fullmatch(r"SOFTWARE|SYSTEM|SAM", name):
            shutil.copy(path, config / name)
    return root


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HIVES_FIXTURE
    for name, path in make_hives(target).items():
        print(f"{name}: {path.stat().st_size} bytes")
