"""Linux accounts of the audited system: /etc/passwd, /etc/shadow, /etc/login.defs, the login records
(wtmp and its rotated copies, lastlog, or the newer lastlog2 / wtmpdb SQLite databases, whichever the
system has) and the LightDM guest session. Every file is opened through ``ctx.tree`` (auditor.safeio): a
regular file only, and with ``--root`` every link resolved inside the audited tree, so a copied tree whose
``/etc/passwd`` links to ``/etc/passwd`` never shows the auditing machine's accounts. Read only: SQLite
databases are read from private copies (auditor.trail.sqlite_ro)."""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import sqlite3
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .. import safeio
from ..core.context import ScanContext
from ..core.model import SourceCoverage
from ..trail.sqlite_ro import Unreadable, read_database
from .records import LoginEvent, OsAccount

AREA = "accounts"
# struct utmp on glibc x86-64 / aarch64 / i386: 384 bytes (ut_tv as two int32, ut_addr_v6 as 4 int32)
UTMP = struct.Struct("<h2xi32s4s32s256shhii4s16s20x")
LASTLOG = struct.Struct("<i32s256s")  # ll_time is int32 even on 64-bit glibc: 292 bytes
USER_PROCESS, BOOT_TIME = 7, 2
WTMPDB_USER_PROCESS = 3
NOLOGIN_SHELLS = ("nologin", "false", "sync", "shutdown", "halt")
WTMP_FILES = ("/var/log/wtmp",)
LASTLOG_FILE = "/var/log/lastlog"
LASTLOG2_DB = "/var/lib/lastlog/lastlog2.db"
WTMPDB_DB = "/var/lib/wtmpdb/wtmp.db"
MAX_TEXT_BYTES = 64 << 20  # passwd, shadow, login.defs, lightdm.conf
MAX_LOGIN_RECORDS = 256 << 20  # one wtmp file (or its decompressed rotation)
MAX_LASTLOG_SCAN = 64 << 20  # lastlog is sparse: uids up to ~230,000 are looked at for "has any entry"
LIGHTDM_CONFS = ("/usr/share/lightdm/lightdm.conf.d", "/etc/lightdm/lightdm.conf.d", "/etc/lightdm/lightdm.conf")
_EPOCH = dt.date(1970, 1, 1)


@dataclass
class LinuxFacts:
    accounts: list[OsAccount] = field(default_factory=list)
    guest_session: dict[str, str] | None = None
    login_sources: list[str] = field(default_factory=list)
    logins_since: dt.datetime | None = None
    history_complete: bool = False


# --------------------------------------------------------------------------- time zone of the audited tree

def _zone(ctx: ScanContext):
    """The audited system's zone for converting epoch times to wall-clock times (None: this host's)."""
    if ctx.live:
        return None
    try:
        from zoneinfo import ZoneInfo
    except ImportError:  # pragma: no cover
        return dt.timezone.utc
    try:  # the link to the zone file is resolved inside the tree
        with ctx.tree.open(ctx.path("/etc/localtime"), max_size=1 << 20) as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ValueError):
        pass
    try:
        name = ctx.tree.read_text(ctx.path("/etc/timezone"), max_size=4096).strip()
        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - unknown zone name, no tzdata: fall back to UTC
        return dt.timezone.utc


def _from_epoch(seconds: float, zone) -> dt.datetime | None:
    try:
        if zone is None:
            return dt.datetime.fromtimestamp(seconds)
        return dt.datetime.fromtimestamp(seconds, zone).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


# --------------------------------------------------------------------------- passwd, shadow, login.defs

def read_login_defs(ctx: ScanContext) -> tuple[int, int]:
    uid_min, uid_max = 1000, 60000
    try:
        lines = ctx.tree.read_text(ctx.path("/etc/login.defs"), max_size=MAX_TEXT_BYTES).splitlines()
    except OSError:
        return uid_min, uid_max
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            if parts[0] == "UID_MIN":
                uid_min = int(parts[1])
            elif parts[0] == "UID_MAX":
                uid_max = int(parts[1])
    return uid_min, uid_max


def read_colon_file(path: Path, fields: int, cov: SourceCoverage,
                    tree: safeio.Tree = safeio.LIVE) -> list[list[str]] | None:
    try:
        text = tree.read_text(path, max_size=MAX_TEXT_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        cov.skip(str(path), safeio.reason_of(exc))
        return None
    rows = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith(("#", "+", "-")):
            continue
        parts = line.split(":")
        if len(parts) < fields:
            cov.skip(f"{path.name} line {no}", f"{len(parts)} fields, expected {fields}")
            continue
        rows.append(parts)
    return rows


def _day(value: str) -> dt.date | None:
    try:
        n = int(value)
    except ValueError:
        return None
    return _EPOCH + dt.timedelta(days=n) if 0 < n < 200000 else None


# --------------------------------------------------------------------------- login records

def iter_utmp(data: bytes) -> Iterator[tuple[int, str, str, str, int, bytes]]:
    """(type, line, user, host, seconds, addr) of each whole record of a wtmp/utmp file."""
    usable = len(data) - len(data) % UTMP.size
    for rec in UTMP.iter_unpack(data[:usable]):
        ut_type, _pid, line, _id, user, host, _term, _exit, _session, sec, _usec, addr = rec
        yield ut_type, _cstr(line), _cstr(user), _cstr(host), sec, addr


def _addr(addr: bytes) -> str:
    if addr[4:] == b"\0" * 12:
        return "" if addr[:4] == b"\0\0\0\0" else str(ipaddress.IPv4Address(addr[:4]))
    return str(ipaddress.IPv6Address(addr))


def _read_bytes(path: Path, tree: safeio.Tree = safeio.LIVE) -> bytes:
    """A login-record file, decompressed when rotated with gzip; at most MAX_LOGIN_RECORDS bytes (the
    newest records of a longer file are lost: the reader says so)."""
    with tree.open(path, max_size=MAX_LOGIN_RECORDS if path.suffix != ".gz" else None) as fh:
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=fh) as gz:
                data = gz.read(MAX_LOGIN_RECORDS + 1)
            if len(data) > MAX_LOGIN_RECORDS:
                raise safeio.Refused(path, f"decompresses to more than {MAX_LOGIN_RECORDS} bytes")
            return data
        return fh.read()


def wtmp_paths(ctx: ScanContext) -> list[Path]:
    tree = ctx.tree
    out: list[Path] = []
    for base in WTMP_FILES:
        path = ctx.path(base)
        try:
            rotated = [e.path for e in tree.files(path.parent) if e.name.startswith(path.name + ".")]
        except OSError:
            rotated = []
        out.extend(p for p in [*rotated, path] if tree.exists(p))
    return out


def read_wtmp(path: Path, zone, events: dict[str, list[LoginEvent]],
              tree: safeio.Tree = safeio.LIVE) -> tuple[int, dt.datetime | None]:
    """Adds USER_PROCESS records to ``events`` (by user). Returns (records, earliest record time)."""
    data = _read_bytes(path, tree)
    records, first = 0, None
    for ut_type, line, user, host, sec, addr in iter_utmp(data):
        records += 1
        when = _from_epoch(sec, zone) if sec > 0 else None
        if when and (first is None or when < first):
            first = when
        if ut_type != USER_PROCESS or not user or when is None:
            continue
        ip = _addr(addr) or host
        events.setdefault(user, []).append(LoginEvent(when, ip=ip, action="login", source=str(path), tty=line))
    return records, first


def read_lastlog(path: Path, uid: int, zone, tree: safeio.Tree = safeio.LIVE) -> tuple[dt.datetime, str, str] | None:
    try:
        with tree.open(path, buffered=False) as fh:
            fh.seek(uid * LASTLOG.size)
            raw = fh.read(LASTLOG.size)
    except (OSError, OverflowError, ValueError):
        return None
    if len(raw) < LASTLOG.size:
        return None
    sec, line, host = LASTLOG.unpack(raw)
    when = _from_epoch(sec, zone) if sec > 0 else None
    return (when, _cstr(line), _cstr(host)) if when else None


def lastlog_has_entries(path: Path, tree: safeio.Tree = safeio.LIVE) -> bool:
    """A lastlog that holds at least one login (an all-zero or empty file proves nothing). The file is sparse
    (one record per uid up to the largest): only its first MAX_LASTLOG_SCAN bytes are looked at."""
    try:
        with tree.open(path) as fh:
            left = MAX_LASTLOG_SCAN
            while left > 0:
                chunk = fh.read(min(1 << 20, left))
                if not chunk:
                    return False
                if chunk.strip(b"\0"):
                    return True
                left -= len(chunk)
    except OSError:
        return False
    return False


def _rows(path: Path, table: str, sql: str, tree: safeio.Tree) -> list[tuple]:
    """Rows of a login database, from a private copy (auditor.trail.sqlite_ro). Raises sqlite3.Error when it
    cannot be read."""
    try:
        rows, _how, _problem = read_database(path, {table: None}, lambda con: con.execute(sql).fetchall(),
                                             tree=tree)
    except Unreadable as exc:
        raise sqlite3.DatabaseError(str(exc)) from None
    return rows


def read_lastlog2(path: Path, zone, tree: safeio.Tree = safeio.LIVE) -> dict[str, LoginEvent]:
    rows = _rows(path, "lastlog2", "SELECT Name, Time, TTY, RemoteHost FROM Lastlog2", tree)
    out: dict[str, LoginEvent] = {}
    for name, sec, tty, host in rows:
        when = _from_epoch(int(sec), zone) if sec else None
        if name and when:
            out[str(name)] = LoginEvent(when, ip=host or "", action="login", source=str(path), tty=tty or "")
    return out


def read_wtmpdb(path: Path, zone, events: dict[str, list[LoginEvent]],
                tree: safeio.Tree = safeio.LIVE) -> tuple[int, dt.datetime | None]:
    rows = _rows(path, "wtmp", "SELECT Type, User, Login, TTY, RemoteHost FROM wtmp", tree)
    first = None
    for typ, user, login_us, tty, host in rows:
        when = _from_epoch(int(login_us) / 1e6, zone) if login_us else None
        if when and (first is None or when < first):
            first = when
        if typ == WTMPDB_USER_PROCESS and user and when:
            events.setdefault(str(user), []).append(
                LoginEvent(when, ip=host or "", action="login", source=str(path), tty=tty or ""))
    return len(rows), first


# --------------------------------------------------------------------------- guest session

def lightdm_guest(ctx: ScanContext) -> dict[str, str] | None:
    """LightDM's ``allow-guest`` (later files override earlier ones, as LightDM reads them)."""
    tree = ctx.tree
    files: list[Path] = []
    for entry in LIGHTDM_CONFS:
        path = ctx.path(entry)
        if tree.is_dir(path):
            try:
                files.extend(e.path for e in tree.files(path) if e.name.endswith(".conf"))
            except OSError:
                continue
        elif tree.exists(path):
            files.append(path)
    state: dict[str, str] | None = None
    for path in files:
        try:
            lines = tree.read_text(path, max_size=MAX_TEXT_BYTES).splitlines()
        except OSError:
            continue
        section = ""
        for no, line in enumerate(lines, 1):
            line = line.strip()
            if line.startswith("["):
                section = line
            elif line.replace(" ", "").startswith("allow-guest=") and section.startswith(("[Seat", "[SeatDefaults")):
                value = line.split("=", 1)[1].strip().lower()
                state = {"value": value, "source": f"{path} line {no}"}
    return state if state and state["value"] == "true" else None


# --------------------------------------------------------------------------- the collector

def collect(ctx: ScanContext, today: dt.date) -> LinuxFacts:
    facts = LinuxFacts()
    cov = ctx.coverage.source(AREA, "os-accounts:passwd+shadow")
    passwd_path, shadow_path = ctx.path("/etc/passwd"), ctx.path("/etc/shadow")
    passwd = read_colon_file(passwd_path, 7, cov, ctx.tree)
    if passwd is None:
        if cov.skipped:
            cov.status, cov.note = "failed", f"{passwd_path} cannot be read"
        else:
            cov.status, cov.note = "no_data", f"{passwd_path} not found"
        return facts
    shadow_rows = read_colon_file(shadow_path, 8, cov, ctx.tree)
    shadow = {r[0]: r for r in shadow_rows} if shadow_rows is not None else None
    if shadow is None:
        cov.status = "partial"
        cov.note = (f"{shadow_path} not readable: enabled/locked and password age unknown "
                    "(run as root, or copy /etc/shadow into the --root tree)")
    uid_min, uid_max = read_login_defs(ctx)
    zone = _zone(ctx)

    for parts in passwd:
        name, _x, uid_s, _gid, gecos, _home, shell = parts[:7]
        try:
            uid = int(uid_s)
        except ValueError:
            cov.skip(f"passwd {name}", f"uid {uid_s!r} is not a number")
            continue
        cov.examined += 1
        interactive = not shell.strip() or not shell.rstrip("/").rsplit("/", 1)[-1].startswith(NOLOGIN_SHELLS)
        acc = OsAccount(system="linux", name=name, uid=uid, full_name=gecos.split(",")[0].strip(),
                        interactive=interactive, human=uid_min <= uid <= uid_max and uid != 65534,
                        guest=name.casefold() == "guest" or name.casefold().startswith("guest-"),
                        admin=uid == 0, sources={"account": str(passwd_path)})
        acc.facts["shell"] = shell
        sh = shadow.get(name) if shadow is not None else None
        if sh is not None:
            pw_hash, lastchg, _min, max_days, _warn, _inactive, expire = (sh + [""] * 9)[1:8]
            acc.sources["password"] = str(shadow_path)
            acc.password_empty = pw_hash == ""
            acc.locked = pw_hash.startswith(("!", "*"))
            acc.account_expires = _day(expire)
            expired = bool(acc.account_expires and acc.account_expires <= today)
            acc.enabled = not acc.locked and not expired
            acc.password_set = _day(lastchg)
            acc.password_never_expires = max_days.strip() in ("", "-1") or (max_days.isdigit() and int(max_days) >= 99999)
            if acc.password_set and not acc.password_never_expires and max_days.isdigit():
                acc.password_expires = acc.password_set + dt.timedelta(days=int(max_days))
            acc.facts.update({"password_state": "empty" if pw_hash == "" else "locked" if acc.locked else "set",
                              "max_days": max_days or None, "last_change_days": lastchg or None,
                              "expire_days": expire or None})
        elif shadow is not None:
            acc.enabled = None
            acc.problems.append("no /etc/shadow entry")
        facts.accounts.append(acc)

    _logins(ctx, facts, zone)
    facts.guest_session = lightdm_guest(ctx)
    return facts


def _logins(ctx: ScanContext, facts: LinuxFacts, zone) -> None:
    cov = ctx.coverage.source(AREA, "os-logins:wtmp+lastlog")
    tree = ctx.tree
    events: dict[str, list[LoginEvent]] = {}
    earliest: dt.datetime | None = None
    for path in wtmp_paths(ctx):
        try:
            records, first = read_wtmp(path, zone, events, tree)
        except OSError as exc:
            cov.skip(str(path), safeio.reason_of(exc))
            continue
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            cov.skip(str(path), f"cannot read ({type(exc).__name__})")
            continue
        cov.examined += records
        if records:
            facts.login_sources.append(str(path))
            if first and (earliest is None or first < earliest):
                earliest = first
    wtmpdb = ctx.path(WTMPDB_DB)
    if tree.exists(wtmpdb):
        try:
            records, first = read_wtmpdb(wtmpdb, zone, events, tree)
            cov.examined += records
            facts.login_sources.append(str(wtmpdb))
            if first and (earliest is None or first < earliest):
                earliest = first
        except sqlite3.Error as exc:
            cov.skip(str(wtmpdb), f"not a readable wtmpdb database ({exc})")
    lastlog = ctx.path(LASTLOG_FILE)
    use_lastlog = tree.is_file(lastlog) and lastlog_has_entries(lastlog, tree)
    last2: dict[str, LoginEvent] = {}
    db2 = ctx.path(LASTLOG2_DB)
    if tree.exists(db2):
        try:
            last2 = read_lastlog2(db2, zone, tree)
            cov.examined += len(last2)
            if last2:
                facts.login_sources.append(str(db2))
        except sqlite3.Error as exc:
            cov.skip(str(db2), f"not a readable lastlog2 database ({exc})")
    if use_lastlog:
        facts.login_sources.append(str(lastlog))
    facts.history_complete = use_lastlog or bool(last2)
    facts.logins_since = earliest

    for acc in facts.accounts:
        acc.logins = sorted(events.get(acc.name, []), key=lambda e: e.time)
        candidates: list[tuple[dt.datetime, str, str]] = [(e.time, e.ip, e.source) for e in acc.logins]
        if use_lastlog and acc.uid is not None:
            rec = read_lastlog(lastlog, acc.uid, zone, tree)
            if rec:
                candidates.append((rec[0], rec[2], str(lastlog)))
        if acc.name in last2:
            ev = last2[acc.name]
            candidates.append((ev.time, ev.ip, ev.source))
        if candidates:
            when, ip, src = max(candidates, key=lambda c: c[0])
            acc.last_login, acc.last_login_ip = when, ip
            acc.sources["last_login"] = src
        acc.login_history_complete = facts.history_complete
        acc.logins_since = earliest
        acc.never_logged_in = not candidates and facts.history_complete
    if not facts.login_sources:
        cov.status = "no_data"
        cov.note = "no login records (wtmp, lastlog, lastlog2, wtmpdb) on this system"
    else:
        since = earliest.isoformat(sep=" ") if earliest else "unknown"
        cov.note = f"sources: {', '.join(facts.login_sources)}; wtmp records since {since}"
