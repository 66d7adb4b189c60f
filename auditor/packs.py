"""Loading the data packs in `checks/`: the TOML reader every pack uses, the legal clauses and the remote-tool
catalog. Check definitions and roles are loaded by ``auditor.core.checks``.

Everything a check says (titles, severities, legal basis, remediation) is data; the code only decides
*whether* a check fires and with which evidence.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import packcache
from .errors import PackError
from .resources import pack_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10 on older UOS/Kylin builds
    import tomli as tomllib


def load_toml(path: Path) -> dict[str, Any]:
    """The pack file ``path``, parsed (from the pack cache when it holds exactly these bytes); unreadable,
    malformed or empty (nothing defined) is a pack error naming it (exit 2)."""
    path = Path(path)
    return packcache.load(f"{path.parent.name}.{path.stem}", path.parent, [path.name], parse_toml)[path.name]


def parse_toml(data: bytes, path: Path) -> dict[str, Any]:
    """The TOML document ``data`` (the bytes of the pack file ``path``, named in errors)."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PackError("pack.not_utf8", path=path, reason=exc.reason, start=exc.start) from None
    except tomllib.TOMLDecodeError as exc:
        raise PackError("pack.malformed_toml", path=path, exc=exc) from None
    if not doc:
        raise PackError("pack.empty", path=path)
    return doc


def string_list(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """``raw[key]``, a list of strings in a pack (missing: empty), each stripped, blank ones left out."""
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PackError("pack.not_string_list", where=where, key=key)
    return tuple(v.strip() for v in value if v.strip())


# --------------------------------------------------------------------------- legal clauses

@lru_cache(maxsize=None)
def legal_clauses(root: Path | None = None) -> dict[str, dict[str, Any]]:
    path = (root or pack_dir("checks")) / "legal.toml"
    data = load_toml(path)
    if not data.get("clause"):
        raise PackError("pack.legal.none", path=path)
    out: dict[str, dict[str, Any]] = {}
    for raw in data.get("clause", []):
        if raw.get("id") in out:
            raise PackError("pack.legal.duplicate", id=raw.get('id'))
        out[raw["id"]] = raw
    return out


# --------------------------------------------------------------------------- remote-tool catalog

CATEGORIES = ("remote_support", "rmm", "vnc", "rdp", "tunnel", "rat", "builtin", "im_assist")
_TOOL_ID = re.compile(r"^[a-z0-9_-]+$")
_LIST_KEYS = ("services", "packages", "install_paths", "display_names", "autostart_names", "domains", "sources",
              "go_modules", "rust_crates")
# a Go module path whose first element is a domain (never std's "cmd/go" nor "command-line-arguments"); a crate
# folder of three characters or more, lower case, as cargo's package names
_GO_MODULE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+(/[A-Za-z0-9._~+-]+)*$")
_RUST_CRATE = re.compile(r"^[a-z0-9_][a-z0-9_-]{2,63}$")


@dataclass(frozen=True)
class Tool:
    id: str
    name: str
    name_zh: str
    vendor: str
    category: str
    exposure: str
    processes: tuple[str, ...]  # all OSes: a Windows exe runs on Linux under Wine too
    services: tuple[str, ...]
    packages: tuple[str, ...]
    install_paths: tuple[str, ...]
    display_names: tuple[str, ...]
    autostart_names: tuple[str, ...]
    ports: tuple[int, ...]  # every port the tool listens on: `ports` (local/IPC) and `listen_ports` of its file
    domains: tuple[str, ...]
    pe: dict[str, tuple[str, ...]]
    sources: tuple[str, ...]
    origin: str
    listen_ports: tuple[int, ...] = ()  # the subset that accepts direct/LAN connections from other machines
    reviewed: dt.date | None = None  # when the entry's facts were last checked against its sources
    go_modules: tuple[str, ...] = ()  # Go main-module paths its binaries carry (auditor.remote.build_marks)
    rust_crates: tuple[str, ...] = ()  # crate folders of its Rust source paths (auditor.remote.build_marks)

    @property
    def is_tunnel(self) -> bool:
        return self.category == "tunnel"


def _tool_from(raw: dict[str, Any], origin: str) -> Tool:
    tid = raw.get("id")
    if not isinstance(tid, str) or not _TOOL_ID.match(tid):
        raise PackError("pack.tools.bad_id", origin=origin, tid=tid)
    for key in ("name", "vendor", "category"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise PackError("pack.tools.missing_or_empty", origin=origin, tid=tid, key=key)
    if raw["category"] not in CATEGORIES:
        raise PackError("pack.tools.unknown_category", origin=origin, tid=tid, category=raw['category'],
                        categories=', '.join(CATEGORIES))
    exposure = raw.get("exposure", "inbound")
    if exposure not in ("inbound", "outbound"):
        raise PackError("pack.tools.bad_exposure", origin=origin, tid=tid)
    lists: dict[str, tuple[str, ...]] = {}
    for key in _LIST_KEYS:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PackError("pack.tools.not_string_list", origin=origin, tid=tid, key=key)
        lists[key] = tuple(v for v in value if v.strip())
    if not lists["sources"]:
        raise PackError("pack.tools.no_sources", origin=origin, tid=tid)
    procs_raw = raw.get("processes", {})
    if not isinstance(procs_raw, dict):
        raise PackError("pack.tools.bad_processes", origin=origin, tid=tid)
    procs: list[str] = []
    for os_name, names in procs_raw.items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PackError("pack.tools.bad_os_processes", origin=origin, tid=tid, os_name=os_name)
        procs.extend(n for n in names if n.strip())
    ports, listen_ports = (raw.get(key, []) for key in ("ports", "listen_ports"))
    for key, value in (("ports", ports), ("listen_ports", listen_ports)):
        if not isinstance(value, list) or not all(isinstance(p, int) and 0 < p < 65536 for p in value):
            raise PackError("pack.tools.bad_ports", origin=origin, tid=tid, key=key)
    if set(ports) & set(listen_ports):
        raise PackError("pack.tools.port_twice", origin=origin, tid=tid)
    reviewed = raw.get("reviewed")
    if reviewed is not None and (not isinstance(reviewed, dt.date) or isinstance(reviewed, dt.datetime)):
        raise PackError("pack.tools.bad_reviewed", origin=origin, tid=tid)
    for key, shape in (("go_modules", _GO_MODULE), ("rust_crates", _RUST_CRATE)):
        bad = [v for v in lists[key] if not shape.match(v)]
        if bad:
            raise PackError("pack.tools.bad_build_mark", origin=origin, tid=tid, key=key, value=bad[0])
    pe_raw = raw.get("pe", {})
    pe = {k: tuple(v for v in pe_raw.get(k, []) if v.strip())
          for k in ("original_filenames", "company_names", "product_names", "signers")}
    return Tool(
        id=tid, name=raw["name"], name_zh=raw.get("name_zh") or raw["name"], vendor=raw["vendor"],
        category=raw["category"], exposure=exposure, processes=tuple(dict.fromkeys(procs)),
        services=lists["services"], packages=lists["packages"], install_paths=lists["install_paths"],
        display_names=lists["display_names"], autostart_names=lists["autostart_names"],
        ports=tuple(dict.fromkeys(ports + listen_ports)), domains=lists["domains"], pe=pe, sources=lists["sources"],
        origin=origin, listen_ports=tuple(listen_ports), reviewed=reviewed, go_modules=lists["go_modules"],
        rust_crates=lists["rust_crates"],
    )


def load_catalog(folder: Path) -> dict[str, Tool]:
    """The tools of every ``*.toml`` in ``folder``, validated (the parsed files come from the pack cache when it
    holds exactly these files' bytes)."""
    tools: dict[str, Tool] = {}
    if not folder.is_dir():
        raise PackError("pack.tools.no_folder", folder=folder)
    names = sorted(path.name for path in folder.glob("*.toml"))
    if not names:
        raise PackError("pack.tools.empty", folder=folder)
    parsed = packcache.load("remote-tools", folder, names, parse_toml)
    for name in names:
        data = parsed[name]
        entries = data.get("tool") if "tool" in data else [data]
        if not isinstance(entries, list) or not all(isinstance(raw, dict) for raw in entries):
            raise PackError("pack.tools.not_tables", name=name)
        for raw in entries:
            tool = _tool_from(raw, name)
            if tool.id in tools:
                raise PackError("pack.tools.duplicate", name=name, id=tool.id, origin=tools[tool.id].origin)
            tools[tool.id] = tool
    return tools


@lru_cache(maxsize=None)
def catalog(folder: Path | None = None) -> dict[str, Tool]:
    return load_catalog(folder or pack_dir("checks") / "remote-tools")


@dataclass(frozen=True)
class Glob:
    """A catalog glob (fnmatch, case-insensitive) made ready for matching many texts: casefolded once, and a text
    that lacks the pattern's longest literal part is refused without running the pattern (a live host's process
    list meets a hundred globs per process)."""

    pattern: str  # casefolded
    literal: str  # a part every match contains ("" when the pattern has a [set]: then always run)

    @classmethod
    def of(cls, pattern: str) -> Glob:
        low = pattern.casefold()
        return cls(low, "" if "[" in low else max(re.split(r"[*?]", low), key=len))

    def match(self, low: str) -> bool:
        """Whether the casefolded text ``low`` matches."""
        return self.literal in low and fnmatch.fnmatchcase(low, self.pattern)
