"""The fleet store: one SQLite file, created owner-only in the agent's data folder (`auditor.paths.fleet_db_path`)
unless --db says otherwise.

Why SQLite (README "Fleet view"): it is in the Python standard library (nothing to add to the one-file Windows
build or to install on a UOS/Kylin PC), one file that can be copied or backed up, safe against two ingests at
once (file locks, one transaction per batch), and fast enough: 5,000 reports load in seconds and the fleet
tables are built with pandas from a few small queries (bench/bench_fleet.py).

A report is keyed by the SHA-256 digest of its canonical JSON (auditor.integrity), so loading the same report
twice changes nothing. Each finding's JSON is stored once per distinct content (``docs``) for the SIEM export.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable

from ..errors import UsageError
from ..durable import make_dirs, restrict_to_owner
from ..messages import os_error
from ..paths import data_dir, fleet_db_path, prepare
from . import NAME

STORE_VERSION = 2  # 2: reports.machine_id and reports.signature; a version-1 store is upgraded in place

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
  digest TEXT PRIMARY KEY,          -- SHA-256 of the canonical JSON (integrity.digest)
  pc TEXT NOT NULL,                 -- site + '\x1f' + casefolded host name: one PC of the fleet
  hostname TEXT NOT NULL, site TEXT NOT NULL, role TEXT NOT NULL,
  os TEXT, os_version TEXT, kernel TEXT, tool_version TEXT, schema_version TEXT NOT NULL,
  started_at TEXT, finished_at TEXT NOT NULL,
  finished_utc TEXT NOT NULL,       -- ISO 8601 in UTC, for ordering
  local_date TEXT NOT NULL,         -- the date in the report's own time zone (YYYY-MM-DD)
  signed INTEGER NOT NULL, signature_checked INTEGER NOT NULL, judged_at_ingest INTEGER NOT NULL,
  score INTEGER, grade TEXT, areas TEXT,
  total INTEGER NOT NULL, critical INTEGER NOT NULL, high INTEGER NOT NULL, medium INTEGER NOT NULL,
  low INTEGER NOT NULL, info INTEGER NOT NULL,
  source TEXT NOT NULL, file_sha256 TEXT NOT NULL, ingested_at TEXT NOT NULL,
  machine_id TEXT,                  -- host.machine_id (/etc/machine-id, MachineGuid) when the report has one
  signature TEXT                    -- 'ed25519', 'hmac' or NULL (not signed)
);
CREATE INDEX IF NOT EXISTS reports_pc ON reports (pc, finished_utc);
CREATE INDEX IF NOT EXISTS reports_file ON reports (file_sha256);
CREATE TABLE IF NOT EXISTS findings (
  digest TEXT NOT NULL, fid TEXT NOT NULL, check_id TEXT NOT NULL, area TEXT NOT NULL, severity TEXT NOT NULL,
  title_zh TEXT, title_en TEXT, target TEXT,
  tool TEXT, tool_category TEXT,    -- remote-control findings: the tool's catalog name / category
  location TEXT,                    -- export findings: where the file lay (desktop, downloads, usb, ...)
  platform TEXT, platform_en TEXT,  -- export-trail findings: the back office the export came from
  records INTEGER,                  -- export findings: records of people in the file
  doc TEXT NOT NULL,                -- key of the finding's JSON in docs
  PRIMARY KEY (digest, fid)
);
CREATE INDEX IF NOT EXISTS findings_check ON findings (check_id);
CREATE TABLE IF NOT EXISTS docs (hash TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS duties (
  digest TEXT NOT NULL, duty TEXT NOT NULL, verdict TEXT NOT NULL, PRIMARY KEY (digest, duty)
);
CREATE TABLE IF NOT EXISTS duty_defs (id TEXT PRIMARY KEY, ord INTEGER NOT NULL, title_zh TEXT NOT NULL,
  title_en TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clauses (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
  source TEXT NOT NULL, file_sha256 TEXT NOT NULL, reason TEXT NOT NULL, first_seen TEXT NOT NULL,
  PRIMARY KEY (source, file_sha256)
);
"""

REPORT_COLUMNS = ("digest", "pc", "hostname", "site", "role", "os", "os_version", "kernel", "tool_version",
                  "schema_version", "started_at", "finished_at", "finished_utc", "local_date", "signed",
                  "signature_checked", "judged_at_ingest", "score", "grade", "areas", "total", "critical", "high",
                  "medium", "low", "info", "source", "file_sha256", "ingested_at", "machine_id", "signature")
FINDING_COLUMNS = ("digest", "fid", "check_id", "area", "severity", "title_zh", "title_en", "target", "tool",
                   "tool_category", "location", "platform", "platform_en", "records", "doc")


def default_path() -> Path:
    return fleet_db_path()


class Store:
    """The fleet store. ``Store.open(path, create=True)`` for ingest; reading commands use create=False so a
    mistyped --db is an error, not a new empty store."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: Path | None = None, create: bool = False) -> "Store":
        path = Path(path) if path else default_path()
        if not path.exists():
            if not create:
                raise UsageError("usage.fleet.no_store", path=path)
            _create_private(path)
        elif path.is_dir():
            raise UsageError("usage.fleet.db_is_dir", path=path)
        try:
            db = sqlite3.connect(str(path), timeout=60, isolation_level=None)
            db.execute("PRAGMA foreign_keys=OFF")
            version = _meta(db, "store_version")
            if version is None:
                if not create:
                    raise UsageError("usage.fleet.not_store", path=path)
                db.executescript("BEGIN IMMEDIATE;" + SCHEMA +
                                 f"INSERT OR IGNORE INTO meta VALUES ('store_version', '{STORE_VERSION}');"
                                 f"INSERT OR IGNORE INTO meta VALUES ('application', '{NAME} fleet store');COMMIT;")
            elif int(version) > STORE_VERSION:
                raise UsageError("usage.fleet.newer_store", path=path, NAME=NAME, version=version)
            elif int(version) < STORE_VERSION:
                _upgrade(db, int(version))
        except sqlite3.DatabaseError as exc:
            raise UsageError("usage.fleet.unusable_db", path=path, exc=exc) from None
        return cls(path, db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def known_files(self) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
        """file SHA-256 -> digest of the ingested report; (source, file SHA-256) -> reason it was rejected."""
        ok = dict(self.db.execute("SELECT file_sha256, digest FROM reports"))
        bad = {(s, h): r for s, h, r in self.db.execute("SELECT source, file_sha256, reason FROM rejected")}
        return ok, bad

    def has_digest(self, digest: str) -> bool:
        return self.db.execute("SELECT 1 FROM reports WHERE digest = ?", (digest,)).fetchone() is not None

    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def add_report(self, row: dict[str, Any], findings: Iterable[tuple], duties: Iterable[tuple[str, str]]) -> bool:
        """Insert one report (inside a transaction). False when its digest is already stored."""
        cur = self.db.execute(f"INSERT OR IGNORE INTO reports ({', '.join(REPORT_COLUMNS)}) "
                              f"VALUES ({', '.join('?' * len(REPORT_COLUMNS))})",
                              tuple(row[c] for c in REPORT_COLUMNS))
        if cur.rowcount == 0:
            return False
        digest = row["digest"]
        self.db.executemany(f"INSERT OR IGNORE INTO findings VALUES ({', '.join('?' * len(FINDING_COLUMNS))})",
                            ((digest, *f) for f in findings))
        self.db.executemany("INSERT OR IGNORE INTO duties VALUES (?, ?, ?)", ((digest, d, v) for d, v in duties))
        return True

    def add_docs(self, docs: Iterable[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO docs VALUES (?, ?)", docs)

    def add_duty_defs(self, defs: Iterable[tuple[str, int, str, str]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO duty_defs VALUES (?, ?, ?, ?)", defs)

    def add_clauses(self, clauses: Iterable[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO clauses VALUES (?, ?)", clauses)

    def add_rejected(self, source: str, file_sha256: str, reason: str, when: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO rejected VALUES (?, ?, ?, ?)", (source, file_sha256, reason, when))

    # ------------------------------------------------------------------ reading
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        return self.db.execute(sql, params).fetchall()

    def frame(self, sql: str, params: tuple | list = ()):
        import pandas as pd

        cur = self.db.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return pd.DataFrame.from_records(cur.fetchall(), columns=cols)

    def counts(self) -> dict[str, int]:
        return {t: self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("reports", "findings", "docs", "duties", "rejected")}


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:  # no meta table: an empty or foreign database
        if db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
            raise sqlite3.DatabaseError("it holds other tables") from None
        return None
    return row[0] if row else None


def _upgrade(db: sqlite3.Connection, version: int) -> None:
    """Bring a store of an earlier version to STORE_VERSION, in one transaction (reports signed before version 2
    could only be signed with HMAC)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if version < 2:
            db.execute("ALTER TABLE reports ADD COLUMN machine_id TEXT")
            db.execute("ALTER TABLE reports ADD COLUMN signature TEXT")
            db.execute("UPDATE reports SET signature = 'hmac' WHERE signed = 1")
        db.execute("UPDATE meta SET value = ? WHERE key = 'store_version'", (str(STORE_VERSION),))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _create_private(path: Path) -> None:
    """An empty file, owner-only from the first moment (SQLite gives its journal the same mode)."""
    if path.parent == data_dir():
        prepare(path.parent)  # the default store, in the agent's own data folder
    else:
        make_dirs(path.parent if str(path.parent) else Path("."))  # a --db of the user's choosing
    try:
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise UsageError("usage.fleet.cannot_create_db", path=path, why=os_error(exc)) from None
    os.close(fd)
    restrict_to_owner(path)
