"""Removable-drive evidence on Windows: USB storage devices from the registry (``Enum\\USBSTOR`` with their
install/arrival/removal times, ``MountedDevices`` drive letters), and shortcuts (``Recent\\*.lnk``, Office
``Recent``) and Jump Lists (``AutomaticDestinations``) whose target lies on a removable volume.

Registry reads go through a RegistryView (live ``winreg`` or regedit exports). Shortcuts are parsed with
LnkParse3; Jump Lists (OLE compound files of LNK streams) are opened with olefile."""

from __future__ import annotations

import datetime as dt
import errno
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import safeio
from ..adapters.registry import RegistryView
from ..textcodec import WINDOWS_ANSI
from .profiles import ci_path

CONTROL_SETS = ("CurrentControlSet", "ControlSet001", "ControlSet002")
DEVPROP_GUID = "{83da6326-97a6-4088-9453-a1923f573b29}"
# 0064/0065 are install times (sources disagree which is first), 0066 last arrival, 0067 last removal.
PROP_INSTALL = ("0064", "0065")
PROP_ARRIVAL, PROP_REMOVAL = "0066", "0067"
_DOS_DEVICE = re.compile(r"^\\DosDevices\\([A-Za-z]):$", re.I)
_USBSTOR_PATH = re.compile(r"USBSTOR#([^#]+)#([^#]+)#", re.I)
_CLASS_PART = re.compile(r"(Ven|Prod|Rev)_([^&]*)", re.I)
DRIVE_REMOVABLE = "DRIVE_REMOVABLE"
MAX_LNK_BYTES = 1 << 20
MAX_JUMPLIST_BYTES = 16 << 20


def filetime_to_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, (bytes, bytearray)) and len(value) >= 8:
        value = int.from_bytes(bytes(value[:8]), "little")
    if not isinstance(value, int) or value <= 0:
        return None
    try:
        return dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=value // 10)
    except OverflowError:
        return None


@dataclass
class UsbDevice:
    device_class: str  # e.g. Disk&Ven_Kingston&Prod_DataTraveler_3.0&Rev_PMAP
    serial: str
    vendor: str = ""
    product: str = ""
    revision: str = ""
    friendly_name: str = ""
    serial_generated: bool = False  # '&' as 2nd character: Windows made the serial up
    installed: dt.datetime | None = None
    last_installed: dt.datetime | None = None
    last_arrival: dt.datetime | None = None
    last_removal: dt.datetime | None = None
    drive_letters: list[str] = field(default_factory=list)
    times_readable: bool = False

    @property
    def ref(self) -> str:
        return f"{self.device_class}\\{self.serial}"

    def to_dict(self, iso) -> dict[str, Any]:
        return {
            "device": self.friendly_name or f"{self.vendor} {self.product}".strip() or self.device_class,
            "vendor": self.vendor, "product": self.product, "revision": self.revision,
            "serial": self.serial, "serial_generated_by_windows": self.serial_generated,
            "installed": iso(self.installed), "last_installed": iso(self.last_installed),
            "last_connected": iso(self.last_arrival), "last_removed": iso(self.last_removal),
            "drive_letters": self.drive_letters,
            "times_source": "registry Properties (DEVPKEY 0064-0067)" if self.times_readable
            else "not readable (Properties keys need SYSTEM rights or were not exported)",
        }


def _system_key(reg: RegistryView, sub: str) -> str | None:
    for cs in CONTROL_SETS:
        key = f"HKLM\\SYSTEM\\{cs}\\{sub}"
        if reg.subkeys(key) is not None:
            return key
    return None


def _default_value(reg: RegistryView, key: str) -> Any:
    values = reg.values(key) or {}
    for name, value in values.items():
        if name in ("", "@", "(Default)", "(默认)"):
            return value
    return next(iter(values.values()), None) if len(values) == 1 else None


def usb_devices(reg: RegistryView) -> list[UsbDevice] | None:
    """USB mass-storage devices ever connected; None when the USBSTOR key is not in this registry view."""
    base = _system_key(reg, "Enum\\USBSTOR")
    if base is None:
        return None
    devices: list[UsbDevice] = []
    for cls in sorted(reg.subkeys(base) or []):
        parts = {k.lower(): v.replace("_", " ").strip() for k, v in _CLASS_PART.findall(cls)}
        for serial in sorted(reg.subkeys(f"{base}\\{cls}") or []):
            key = f"{base}\\{cls}\\{serial}"
            values = reg.values(key) or {}
            dev = UsbDevice(cls, serial, parts.get("ven", ""), parts.get("prod", ""), parts.get("rev", ""),
                            str(values.get("FriendlyName") or ""), len(serial) > 1 and serial[1] == "&")
            props = f"{key}\\Properties\\{DEVPROP_GUID}"
            installs = [t for t in (filetime_to_datetime(_default_value(reg, f"{props}\\{p}")) for p in PROP_INSTALL) if t]
            if installs:
                dev.installed, dev.last_installed = min(installs), max(installs)
            dev.last_arrival = filetime_to_datetime(_default_value(reg, f"{props}\\{PROP_ARRIVAL}"))
            dev.last_removal = filetime_to_datetime(_default_value(reg, f"{props}\\{PROP_REMOVAL}"))
            dev.times_readable = bool(installs or dev.last_arrival or dev.last_removal)
            devices.append(dev)
    return devices


def mounted_usb_letters(reg: RegistryView) -> dict[str, tuple[str, str]] | None:
    """Drive letter -> (USBSTOR device class, serial) for letters last assigned to a USB storage volume;
    None when MountedDevices is not in this registry view."""
    values = reg.values("HKLM\\SYSTEM\\MountedDevices")
    if values is None:
        return None
    out: dict[str, tuple[str, str]] = {}
    for name, data in values.items():
        m = _DOS_DEVICE.match(name)
        if not m or not isinstance(data, (bytes, bytearray)) or len(data) <= 24:
            continue  # 12-byte MBR records and GPT 'DMIO:ID:' records are fixed disks
        text = bytes(data).decode("utf-16-le", errors="replace")
        dev = _USBSTOR_PATH.search(text)
        if dev:
            out[m.group(1).upper()] = (dev.group(1), dev.group(2))
    return out


def attach_letters(devices: list[UsbDevice], letters: dict[str, tuple[str, str]]) -> None:
    for letter, (cls, serial) in sorted(letters.items()):
        for dev in devices:
            if dev.device_class.casefold() == cls.casefold() and dev.serial.casefold() == serial.casefold():
                dev.drive_letters.append(f"{letter}:")


# --------------------------------------------------------------------------------------------- shortcuts

@dataclass
class ShortcutTarget:
    source: str  # the .lnk / Jump List file (and stream) that names the target
    kind: str  # recent_lnk | office_recent_lnk | jump_list
    os_user: str
    target_path: str
    drive_type: str | None
    drive_serial: str | None
    volume_label: str | None
    target_modified: dt.datetime | None
    target_accessed: dt.datetime | None
    shortcut_time: dt.datetime | None  # when the shortcut itself was last written (last open)

    @property
    def file_name(self) -> str:
        return re.split(r"[\\/]", self.target_path)[-1] if self.target_path else ""

    @property
    def drive_letter(self) -> str | None:
        return self.target_path[0].upper() if re.match(r"^[A-Za-z]:", self.target_path or "") else None


def parse_lnk_bytes(data: bytes) -> dict[str, Any] | None:
    """Target path and volume facts of one shell link (or None when it is not a readable link)."""
    try:
        import LnkParse3

        with warnings.catch_warnings():  # LnkParse3 warns on undecodable shell-item names
            warnings.simplefilter("ignore")
            info = LnkParse3.lnk_file(indata=data, cp=WINDOWS_ANSI).get_json()  # cp: LNK files without Unicode paths
    except Exception:  # noqa: BLE001 - LnkParse3 raises many kinds of errors on damaged links
        return None
    link = info.get("link_info") or {}
    loc = link.get("location_info") or {}
    header = info.get("header") or {}
    path = (link.get("local_base_path_unicode") or link.get("local_base_path") or "").strip("\x00")
    suffix = (link.get("common_path_suffix_unicode") or link.get("common_path_suffix") or "").strip("\x00")
    if path and suffix and not path.lower().endswith(suffix.lower()):
        path = path.rstrip("\\") + "\\" + suffix
    if not path:
        path = (info.get("data") or {}).get("relative_path") or ""
    return {
        "target_path": path,
        "drive_type": loc.get("drive_type"),
        "drive_serial": loc.get("drive_serial_number"),
        "volume_label": loc.get("volume_label") or loc.get("volume_label_unicode"),
        "modified": header.get("modified_time"),
        "accessed": header.get("accessed_time"),
    }


RECENT_DIRS = (("recent_lnk", "AppData/Roaming/Microsoft/Windows/Recent"),
               ("office_recent_lnk", "AppData/Roaming/Microsoft/Office/Recent"))
JUMPLIST_DIR = "AppData/Roaming/Microsoft/Windows/Recent/AutomaticDestinations"


def _mtime(path: Path, tree: safeio.Tree = safeio.LIVE) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(tree.stat(path).st_mtime, tz=dt.timezone.utc)
    except (OSError, OverflowError, ValueError):
        return None


def _target(parsed: dict[str, Any], source: str, kind: str, os_user: str, when: dt.datetime | None) -> ShortcutTarget:
    def utc(value):
        return value if isinstance(value, dt.datetime) else None

    return ShortcutTarget(source, kind, os_user, parsed["target_path"], parsed["drive_type"], parsed["drive_serial"],
                          parsed["volume_label"], utc(parsed["modified"]), utc(parsed["accessed"]), when)


def _small_file(path: Path, limit: int, what: str, tree: safeio.Tree, problems: list[tuple[str, str]]) -> bytes | None:
    """The bytes of a shortcut or Jump List, read through ``tree``; None (with the problem noted) when it is
    not a regular file, is too large or cannot be read."""
    try:
        return tree.read_bytes(path, max_size=limit)
    except safeio.Refused as exc:
        problems.append((str(path), f"too large for {what}" if exc.errno == errno.EFBIG else exc.reason))
    except OSError as exc:
        problems.append((str(path), safeio.reason_of(exc)))
    return None


def recent_shortcuts(home: Path, problems: list[tuple[str, str]],
                     tree: safeio.Tree = safeio.LIVE) -> tuple[list[ShortcutTarget], int]:
    """Targets of the user's recent-file shortcuts and Jump List entries; (targets, files examined). Every
    file is opened through ``tree`` (auditor.safeio)."""
    out: list[ShortcutTarget] = []
    examined = 0
    os_user = home.name
    for kind, rel in RECENT_DIRS:
        folder = ci_path(home, rel, tree)
        if folder is None or not tree.is_dir(folder):
            continue
        try:
            entries = [e.path for e in tree.files(folder) if e.path.suffix.lower() == ".lnk"]
        except OSError as exc:
            problems.append((str(folder), safeio.reason_of(exc)))
            continue
        for lnk in entries:
            examined += 1
            data = _small_file(lnk, MAX_LNK_BYTES, "a shortcut", tree, problems)
            if data is None:
                continue
            parsed = parse_lnk_bytes(data)
            if parsed is None or not parsed["target_path"]:
                problems.append((str(lnk), "not a readable shortcut"))
                continue
            out.append(_target(parsed, str(lnk), kind, os_user, _mtime(lnk, tree)))
    folder = ci_path(home, JUMPLIST_DIR, tree)
    if folder is not None and tree.is_dir(folder):
        try:
            lists = [e.path for e in tree.files(folder) if e.name.lower().endswith(".automaticdestinations-ms")]
        except OSError as exc:
            problems.append((str(folder), safeio.reason_of(exc)))
            lists = []
        for jl in lists:
            examined += 1
            out.extend(jump_list_targets(jl, os_user, problems, tree))
    return out, examined


def jump_list_targets(path: Path, os_user: str, problems: list[tuple[str, str]],
                      tree: safeio.Tree = safeio.LIVE) -> list[ShortcutTarget]:
    """LNK streams of an AutomaticDestinations Jump List (every stream but ``DestList``)."""
    try:
        import olefile
    except ModuleNotFoundError:
        problems.append((str(path), "olefile not installed: Jump Lists not read"))
        return []
    data = _small_file(path, MAX_JUMPLIST_BYTES, "a Jump List", tree, problems)
    if data is None:
        return []
    try:  # read once into memory: the file itself is never opened again
        if data[:8] != olefile.MAGIC:
            problems.append((str(path), "not an OLE compound file"))
            return []
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - damaged Jump Lists are common
        problems.append((str(path), f"unreadable Jump List ({type(exc).__name__})"))
        return []
    out: list[ShortcutTarget] = []
    when = _mtime(path, tree)
    try:
        for entry in ole.listdir(streams=True, storages=False):
            name = "/".join(entry)
            if name.lower() == "destlist":
                continue
            try:
                parsed = parse_lnk_bytes(ole.openstream(entry).read())
            except Exception:  # noqa: BLE001
                parsed = None
            if parsed and parsed["target_path"]:
                out.append(_target(parsed, f"{path}:{name}", "jump_list", os_user, when))
    finally:
        ole.close()
    return out
