"""A RegistryView over the hive files of an offline Windows tree (``--root`` on a mounted disk), read with regipy
(a maintained REGF parser; pure Python, so it runs in the Windows agent too).

What is mounted where, as on the running PC:

* ``HKLM\\SOFTWARE``, ``HKLM\\SYSTEM``, ``HKLM\\SAM``: ``Windows\\System32\\config\\SOFTWARE``, ``SYSTEM``, ``SAM``;
  ``HKLM\\SYSTEM\\CurrentControlSet`` is the control set that ``SYSTEM\\Select\\Current`` names;
* ``HKU\\<SID>``: the ``NTUSER.DAT`` of each profile in ``SOFTWARE\\...\\ProfileList`` (its ProfileImagePath found in
  the tree), and of each ``Users\\<name>`` folder no profile names (mounted as ``HKU\\<name>``: its SID is not known
  without SOFTWARE).

Every hive file is opened through the tree (``auditor.safeio``: confined to ``--root``, a regular file only, read
only up to the size it had when opened) and parsed where it lies: only the cells a look-up needs are read, so memory
does not grow with the hive. A hive is opened on first use, user hives a few at a time (:meth:`HiveRegistry.close`
closes them all).
A hive that is missing, too large, unreadable or not a hive is recorded in :attr:`HiveRegistry.hives` and its keys
simply do not exist; a damaged key or value is recorded in :attr:`HiveRegistry.damaged` and skipped. A hive whose
header says it was not closed cleanly (sequence numbers differ: the PC was running, hibernated or crashed) is read
as it is, and says so: the changes still in its ``.LOG1``/``.LOG2`` files are not applied.

Bounds: hive files as in :data:`MAX_HIVE` (the format's own limit is 4 GiB); per key 65,536 subkeys and 16,384
values listed, a value's data over 1 MiB left out, and at most 16 MiB of one key's values kept (the rest named in
:attr:`HiveRegistry.damaged`)."""

from __future__ import annotations

import io
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import BinaryIO, Callable

from .. import safeio
from .registry import decode_value, normalize_key

MAX_HIVE = {"SOFTWARE": 2 << 30, "SYSTEM": 2 << 30, "SAM": 256 << 20, "NTUSER.DAT": 1 << 30}
MAX_SUBKEYS = 65_536
MAX_VALUES = 16_384
MAX_VALUE_BYTES = 1 << 20
MAX_KEY_BYTES = 16 << 20
MAX_PROBLEMS = 1000
USER_HIVES_HELD = 4
CONFIG = r"C:\Windows\System32\config"
PROFILE_LIST = r"Microsoft\Windows NT\CurrentVersion\ProfileList"
REGF_HEADER_SIZE = 4096
logging.getLogger("regipy").setLevel(logging.CRITICAL)  # its complaints about damaged cells are ours to report


@dataclass
class HiveFile:
    """One hive file of the tree and what became of it: ``read``, ``missing``, ``unreadable``, ``too_large``, ``not_a_hive`` or ``not_read`` (not needed so far);
    ``dirty``: not closed cleanly (its transaction logs were not applied)."""

    name: str  # SOFTWARE, SYSTEM, SAM, NTUSER.DAT
    mounted_at: str  # HKLM\SOFTWARE, HKU\S-1-5-21-...
    path: str  # where it is in the audited system (C:\Users\chenmo\NTUSER.DAT)
    status: str = "not_read"
    reason: str = ""
    dirty: bool = False
    size: int = 0


class _Hive:
    """One parsed hive: keys found by path (case-insensitive), each key's children listed once."""

    def __init__(self, stream: BinaryIO, where: str, problems: Callable[[str, str], None]) -> None:
        from regipy.registry import Cell, NKRecord  # noqa: PLC0415 - deferred: only offline Windows trees need it
        from regipy.structs import REGF_HEADER

        self._nk = NKRecord
        self.where = where
        self._problem = problems
        self.stream = stream
        self.header = REGF_HEADER.parse_stream(stream)
        self.dirty = self.header.primary_sequence_num != self.header.secondary_sequence_num
        root_at = REGF_HEADER_SIZE + self.header.root_key_offset
        stream.seek(root_at + 4)
        if stream.read(2) != b"nk":
            raise ValueError("the root key is not where the header says")
        self.root = NKRecord(Cell(cell_type="nk", offset=root_at + 6, size=0), self.stream)
        self._nodes: dict[tuple[str, ...], object | None] = {(): self.root}
        self._children: dict[tuple[str, ...], dict[str, tuple[str, object]]] = {}

    def node(self, parts: tuple[str, ...]):
        key = tuple(p.casefold() for p in parts)
        if key in self._nodes:
            return self._nodes[key]
        parent = self.node(parts[:-1])
        found = None
        if parent is not None:
            found = self._listing(key[:-1], parent).get(key[-1], (None, None))[1]
        self._nodes[key] = found
        return found

    def _listing(self, key: tuple[str, ...], nk) -> dict[str, tuple[str, object]]:
        if key not in self._children:
            out: dict[str, tuple[str, object]] = {}
            try:
                for child in nk.iter_subkeys() or ():
                    if len(out) >= MAX_SUBKEYS:
                        self._problem(self._name(key), f"more than {MAX_SUBKEYS} subkeys: the rest not listed")
                        break
                    out.setdefault(child.name.casefold(), (child.name, child))
            except Exception as exc:  # noqa: BLE001 - a damaged list: what was read is kept
                self._problem(self._name(key), f"subkey list unreadable ({type(exc).__name__})")
            self._children[key] = out
        return self._children[key]

    def _name(self, key: tuple[str, ...]) -> str:
        return "\\".join((self.where, *key))

    def subkeys(self, parts: tuple[str, ...]) -> list[str] | None:
        nk = self.node(parts)
        if nk is None:
            return None
        return [name for name, _ in self._listing(tuple(p.casefold() for p in parts), nk).values()]

    def values(self, parts: tuple[str, ...]) -> dict[str, object] | None:
        nk = self.node(parts)
        if nk is None:
            return None
        return self._values(nk, self._name(tuple(parts)))

    def _values(self, nk, where: str) -> dict[str, object]:
        """Each value as decode_value gives it (the raw type, not regipy's reading of it, so a DEVPROP FILETIME
        stays bytes as in a regedit export)."""
        from construct import Int32ul  # noqa: PLC0415 - regipy's own dependency, deferred with it
        from regipy.structs import VALUE_KEY

        out: dict[str, object] = {}
        count = nk.header.values_count
        if not count:
            return out
        if count > MAX_VALUES:
            self._problem(where, f"{count} values: only the first {MAX_VALUES} read")
            count = MAX_VALUES
        stream = self.stream
        start = REGF_HEADER_SIZE + 4 + nk.header.values_list_offset
        kept = 0
        for i in range(count):
            try:
                stream.seek(start + 4 * i)
                stream.seek(REGF_HEADER_SIZE + 4 + Int32ul.parse_stream(stream))
                vk = VALUE_KEY.parse_stream(stream)
                name = "" if vk.name_size == 0 else vk.name.decode(
                    "ascii" if vk.flags.VALUE_COMP_NAME else "utf-16-le", "replace")
                length = vk.data_size & 0x7FFFFFFF
                if length > MAX_VALUE_BYTES:
                    self._problem(f"{where}\\{name or '(default)'}", f"{length} bytes: over the 1 MiB bound, left out")
                    continue
                if vk.data_size & 0x80000000:  # up to 4 bytes kept in the offset field itself
                    raw = Int32ul.build(vk.data_offset)[:min(length, 4)]
                else:
                    stream.seek(REGF_HEADER_SIZE + 4 + vk.data_offset)
                    raw = stream.read(length)
                    if length > 0x3FD8 and raw[:2] == b"db" and self.header.minor_version >= 4:
                        raw = self._nk._parse_indirect_block(stream, _Big(raw, length))
                    elif len(raw) < length:
                        raise ValueError("data beyond the end of the hive")
                value, problem = decode_value(int(vk.data_type) & 0xFFFFFFFF, raw)
                if problem:
                    self._problem(f"{where}\\{name or '(default)'}", problem)
                    continue
                kept += len(raw)
                if kept > MAX_KEY_BYTES:
                    self._problem(where, f"values over {MAX_KEY_BYTES >> 20} MiB in all: the rest left out")
                    break
                out[name] = value
            except Exception as exc:  # noqa: BLE001 - one damaged value never hides the others
                self._problem(where, f"value {i + 1} unreadable ({type(exc).__name__})")
        return out


@dataclass
class _Big:
    """What regipy's big-data reader needs of a value: the 'db' header and the declared size."""

    value: bytes
    size: int


class HiveRegistry:
    """The registry of an offline Windows tree from its hive files (see the module doc).

    ``locate`` maps a path of the audited system (``C:\\Users\\chenmo\\NTUSER.DAT``) to the file in the tree, or None
    (``ScanContext.win_path``); ``tree`` opens it (confined to the tree)."""

    def __init__(self, tree: safeio.Tree, locate: Callable[[str], Path | None]) -> None:
        self.tree = tree
        self.locate = locate
        self.damaged: list[tuple[str, str]] = []  # (key or value, reason)
        self._dropped = 0
        self.hives: dict[str, HiveFile] = {}
        self._machine: dict[str, _Hive | None] = {}
        self._users: OrderedDict[str, _Hive | None] = OrderedDict()
        self._user_files: dict[str, str] | None = None
        self._control_set: str | None = None
        self._open: list[BinaryIO] = []
        for name in ("SOFTWARE", "SYSTEM", "SAM"):
            self.hives[f"HKLM\\{name}"] = HiveFile(name, f"HKLM\\{name}", f"{CONFIG}\\{name}")

    # ------------------------------------------------------------------ what was read
    def _problem(self, where: str, reason: str) -> None:
        if len(self.damaged) < MAX_PROBLEMS:
            self.damaged.append((where, reason))
        else:
            self._dropped += 1

    @property
    def damaged_not_listed(self) -> int:
        return self._dropped

    def read_hives(self) -> list[HiveFile]:
        """Every hive file known so far (user hives once HKU was listed), with what became of it."""
        return list(self.hives.values())

    # ------------------------------------------------------------------ loading
    def _load(self, info: HiveFile) -> _Hive | None:
        path = self.locate(info.path)
        if path is None:
            info.status, info.reason = "missing", "not in the tree"
            return None
        limit = MAX_HIVE.get(info.name, MAX_HIVE["NTUSER.DAT"])
        try:
            raw = self.tree.open(path, buffered=False)
        except OSError as exc:
            info.status, info.reason = "unreadable", safeio.reason_of(exc)
            return None
        info.size = safeio.opened_size(raw)
        stream = io.BufferedReader(raw, 1 << 16)  # type: ignore[arg-type]
        try:
            if info.size > limit:
                info.status, info.reason = "too_large", f"{info.size} bytes, over the {limit >> 20} MiB bound"
            elif stream.read(4) != b"regf":
                info.status, info.reason = "not_a_hive", "no regf header"
            else:
                stream.seek(0)
                hive = _Hive(stream, info.mounted_at, self._problem)
                info.status, info.dirty = "read", hive.dirty
                if hive.dirty:
                    info.reason = "not closed cleanly: changes in its .LOG1/.LOG2 files not applied"
                self._open.append(stream)
                return hive
        except OSError as exc:
            info.status, info.reason = "unreadable", safeio.reason_of(exc)
        except Exception as exc:  # noqa: BLE001 - a damaged header or root: the hive is not read
            info.status, info.reason = "not_a_hive", f"header or root key unreadable ({type(exc).__name__})"
        stream.close()
        return None

    def _hklm(self, name: str) -> _Hive | None:
        if name not in self._machine:
            self._machine[name] = self._load(self.hives[f"HKLM\\{name}"])
        return self._machine[name]

    def _profiles(self) -> dict[str, str]:
        """HKU name (SID, or the folder's name) -> path of its NTUSER.DAT in the audited system."""
        if self._user_files is not None:
            return self._user_files
        found: dict[str, str] = {}
        seen: set[str] = set()
        software = self._hklm("SOFTWARE")
        parts = tuple(PROFILE_LIST.split("\\"))
        for sid in (software.subkeys(parts) if software else None) or []:
            home = (software.values((*parts, sid)) or {}).get("ProfileImagePath")  # type: ignore[union-attr]
            if not isinstance(home, str) or not home.strip():
                continue
            home = _expand(home.strip())
            found[sid] = home + "\\NTUSER.DAT"
            seen.add(PureWindowsPath(home).name.casefold())
        users = self.locate(r"C:\Users")
        if users is not None:
            for folder in self.tree.folders(users):
                if folder.name.casefold() in seen or folder.name.casefold() in ("public", "default", "all users"):
                    continue
                if self.locate(rf"C:\Users\{folder.name}\NTUSER.DAT") is not None:
                    found[folder.name] = rf"C:\Users\{folder.name}\NTUSER.DAT"
        for name, path in found.items():
            self.hives.setdefault(f"HKU\\{name}", HiveFile("NTUSER.DAT", f"HKU\\{name}", path))
        self._user_files = {name: path for name, path in found.items() if self.locate(path) is not None}
        for name in found:
            if name not in self._user_files:
                self.hives[f"HKU\\{name}"].reason = "profile without an NTUSER.DAT in the tree"
        return self._user_files

    def _user(self, name: str) -> _Hive | None:
        key = next((k for k in self._profiles() if k.casefold() == name.casefold()), None)
        if key is None:
            return None
        if key in self._users:
            self._users.move_to_end(key)
            return self._users[key]
        hive = self._load(self.hives[f"HKU\\{key}"])
        self._users[key] = hive
        while len(self._users) > USER_HIVES_HELD:
            _, gone = self._users.popitem(last=False)
            if gone is not None:
                gone.stream.close()
                self._open.remove(gone.stream)
        return hive

    def close(self) -> None:
        """Close every hive file held open (look-ups after this open them again)."""
        for stream in self._open:
            stream.close()
        self._open.clear()
        self._machine.clear()
        self._users.clear()

    def __enter__(self) -> "HiveRegistry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def control_set(self) -> str:
        """``ControlSet00N`` that CurrentControlSet is on the running PC (SYSTEM\\Select\\Current)."""
        if self._control_set is None:
            system = self._hklm("SYSTEM")
            current = (system.values(("Select",)) or {}).get("Current") if system else None
            self._control_set = f"ControlSet{current:03d}" if isinstance(current, int) and 0 < current < 1000 \
                else "ControlSet001"
        return self._control_set

    # ------------------------------------------------------------------ RegistryView
    def _route(self, key: str) -> tuple[_Hive | None, tuple[str, ...]] | list[str] | None:
        parts = normalize_key(key).split("\\")
        hive, rest = parts[0], parts[1:]
        if hive == "HKLM":
            if not rest:
                return [n for n in ("SAM", "SOFTWARE", "SYSTEM") if self._hklm(n) is not None]
            name = rest[0].upper()
            if name not in ("SOFTWARE", "SYSTEM", "SAM"):
                return None
            tail = rest[1:]
            if name == "SYSTEM" and tail and tail[0].casefold() == "currentcontrolset":
                tail = [self.control_set(), *tail[1:]]
            return self._hklm(name), tuple(tail)
        if hive == "HKU":
            if not rest:
                return [n for n in self._profiles() if self._user(n) is not None]
            return self._user(rest[0]), tuple(rest[1:])
        return None  # HKCU, HKCR, HKCC: no such thing offline

    def subkeys(self, key: str) -> list[str] | None:
        routed = self._route(key)
        if routed is None or isinstance(routed, list):
            return routed
        hive, parts = routed
        return hive.subkeys(parts) if hive is not None else None

    def values(self, key: str) -> dict[str, object] | None:
        routed = self._route(key)
        if routed is None or isinstance(routed, list):
            return None if routed is None else {}
        hive, parts = routed
        return hive.values(parts) if hive is not None else None


def _expand(path: str) -> str:
    """ProfileImagePath's variables as Windows sets them for every profile."""
    for var, value in (("%systemdrive%", "C:"), ("%systemroot%", r"C:\Windows"), ("%windir%", r"C:\Windows")):
        at = path.casefold().find(var)
        if at >= 0:
            path = path[:at] + value + path[at + len(var):]
    return path
