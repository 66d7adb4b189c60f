"""The export-trail collector: the download history of every browser profile of every user (or of the ``--home``
folders) within ``--days`` days, each back-office export located on disk and given the file scan's verdict, the
USB storage devices and drive letters of the registry, and the recent-file shortcuts and Jump Lists that point to
a removable volume. All of the area's I/O happens here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.context import ScanContext
from ..core.handover import Departures, FileVerdict, FileVerdicts, Handover
from ..resources import pack_dir
from . import backoffice, profiles, usb
from .chromium_downloads import read_downloads as read_chromium
from .download import Download, Window, iso_local
from .filelink import PRESENT, UNKNOWN, drive_letter, locate
from .firefox_downloads import read_downloads as read_firefox
from .sqlite_ro import Unreadable

AREA = "trail"


@dataclass
class Export:
    """A back-office export in a browser's download history, and what became of its file."""

    download: Download
    match: backoffice.PageMatch
    home: Path
    file_state: str = UNKNOWN  # present | absent | unknown
    local_path: Path | None = None
    file_check: str = ""  # how the file was looked for
    on_usb: tuple[str, str] | None = None  # (device class, serial) when saved to a USB drive letter
    verdict: FileVerdict | None = None
    verdict_source: str = ""

    @property
    def ref(self) -> str:
        d = self.download
        return f"{d.browser}/{d.os_user}/{d.profile}/{d.key}"

    def local_date(self) -> dt.date | None:
        return self.download.start.astimezone().date() if self.download.start else None


@dataclass
class TrailFacts:
    window: Window
    catalog: backoffice.Catalog
    exports: list[Export] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)  # one row per profile read (the report section)
    usb_letters: dict[str, tuple[str, str]] = field(default_factory=dict)  # drive letter -> (class, serial)
    devices: list[usb.UsbDevice] = field(default_factory=list)
    removable: list[usb.ShortcutTarget] = field(default_factory=list)  # shortcuts to files on removable volumes
    departures: Departures | None = None  # the roster's departures (with --roster, when it could be read)


def collect(ctx: ScanContext, opts, handover: Handover) -> TrailFacts:
    homes_given = bool(opts.homes)
    homes = [Path(h) for h in opts.homes] if homes_given else ctx.home_dirs()
    facts = TrailFacts(Window.ending(opts.as_of or ctx.today, max(1, int(opts.days or 90))),
                       backoffice.catalog(pack_dir("checks") / "backoffices.toml"))
    found = _discover(ctx, homes, homes_given, facts.window)
    for home, prof in found:
        facts.exports += _read_profile(ctx, home, prof, homes_given, facts)
    facts.usb_letters, facts.devices = _usb_registry(ctx)
    verdicts = handover.file_verdicts or FileVerdicts()
    for exp in facts.exports:
        _locate(ctx, exp, homes_given, facts.usb_letters, verdicts)
    if opts.roster:
        facts.departures = _departures(ctx, handover.departures, facts.exports)
    facts.removable = _removable_shortcuts(ctx, homes, homes_given, facts.usb_letters)
    return facts


# --------------------------------------------------------------------------------------------- browsers

def _discover(ctx: ScanContext, homes: list[Path], homes_given: bool,
              window: Window) -> list[tuple[Path, profiles.Profile]]:
    disc = ctx.coverage.source(AREA, "browser-profiles")
    found: list[tuple[Path, profiles.Profile]] = []
    for home in homes:
        problems: list[tuple[str, str]] = []
        for prof in profiles.discover(home, problems, profiles.home_tree(ctx, home, homes_given)):
            found.append((home, prof))
        for item, reason in problems:
            disc.skip(item, reason)
    disc.examined = len(found)
    where = "the given --home folders" if homes_given else "every user's home folder"
    disc.note = (f"{len(found)} browser profiles found under {len(homes)} home folders ({where}); "
                 f"window {window.days} days from {iso_local(window.since)}")
    if not found:
        disc.status = "no_data"
    return found


def _read_profile(ctx: ScanContext, home: Path, prof: profiles.Profile, homes_given: bool,
                  facts: TrailFacts) -> list[Export]:
    cov = ctx.coverage.source(AREA, f"browser:{prof.label}")
    row: dict[str, Any] = {"browser": prof.browser.id, "browser_name": prof.browser.name, "os_user": prof.os_user,
                           "profile": prof.folder, "database": prof.database.name, "status": "ok",
                           "downloads_in_window": 0, "exports": 0, "missing_columns": []}
    facts.profiles.append(row)
    tree = profiles.home_tree(ctx, home, homes_given)
    try:
        if prof.browser.engine == "firefox":
            result = read_firefox(prof.database, facts.window, prof.folder, prof.os_user, tree)
        else:
            result = read_chromium(prof.database, facts.window, prof.browser.id, prof.folder, prof.os_user, tree)
    except Unreadable as exc:
        cov.skip(str(prof.database), str(exc))
        cov.status, row["status"] = "failed", "failed"
        cov.note = f"{prof.database.name} not read: {exc}"
        return []
    except OSError as exc:
        cov.status, row["status"] = "failed", "failed"
        cov.note = f"{prof.database.name} not read: {exc.strerror or exc}"
        return []
    if result.note:
        cov.status, row["status"] = "no_data", "no_data"
        cov.note = f"{prof.database.name}: {result.note}"
        return []
    exports: list[Export] = []
    skipped = Counter()
    for d in result.rows:
        match = facts.catalog.match_pages(d.urls)
        d.urls = {}  # the URLs have served their purpose: nothing below may see them
        if match is None:
            skipped["other sites"] += 1
            continue
        if not d.file_name or not facts.catalog.is_export_file(d.file_name, d.mime_type):
            skipped["back-office files that are not exports"] += 1
            continue
        if d.state in ("cancelled", "blocked"):
            skipped[f"{d.state} exports"] += 1
            continue
        exports.append(Export(d, match, home))
    cov.examined = len(result.rows)
    row.update(downloads_in_window=len(result.rows), exports=len(exports), missing_columns=result.missing_columns)
    parts = [f"{prof.database.name} opened {result.how}", f"{len(result.rows)} downloads in the window",
             f"{len(exports)} back-office exports"]
    parts += [f"{n} {what} not listed" for what, n in sorted(skipped.items())]
    if result.missing_columns:
        parts.append(f"old schema without {', '.join(result.missing_columns)}")
    if result.wal_problem:
        parts.append(f"{result.wal_problem}: the newest downloads may be missing until the browser is closed")
        cov.status = "partial"
    cov.note = "; ".join(parts)
    return exports


# --------------------------------------------------------------------------------------------- files

def _locate(ctx: ScanContext, exp: Export, homes_given: bool, usb_letters: dict[str, tuple[str, str]],
            verdicts: FileVerdicts) -> None:
    d = exp.download
    letter = drive_letter(d.target_path)
    if letter and letter in usb_letters:
        exp.on_usb = usb_letters[letter]
    exp.file_state, exp.local_path, exp.file_check = locate(d.target_path, ctx, exp.home, homes_given)
    if exp.file_state == PRESENT and exp.local_path is not None:
        exp.verdict, exp.verdict_source = verdicts.lookup(exp.local_path,
                                                          profiles.home_tree(ctx, exp.home, homes_given))


# --------------------------------------------------------------------------------------------- departures

def _departures(ctx: ScanContext, departures: Departures | None, exports: list[Export]) -> Departures | None:
    """The roster's departures as the accounts area handed them over, and the coverage of matching them to the
    OS users who downloaded exports."""
    cov = ctx.coverage.source(AREA, "roster:departures")
    if departures is None or departures.problem:
        cov.status = "failed"
        cov.note = f"roster not read: {departures.problem if departures else 'no departures were handed over'}"
        return None
    cov.note = departures.note + " (matched on the OS user name: roster account, employee id or name)"
    cov.examined = len(departures.by_key)
    if not departures.by_key:
        cov.status = "no_data"
    unmatched = sorted({e.download.os_user for e in exports if departures.for_user(e.download.os_user) is None})
    if unmatched and departures.by_key:
        cov.note += f"; OS users not in the roster: {', '.join(unmatched)}"
    return departures


# --------------------------------------------------------------------------------------------- removable drives

def _usb_registry(ctx: ScanContext) -> tuple[dict[str, tuple[str, str]], list[usb.UsbDevice]]:
    cov = ctx.coverage.source(AREA, "removable:usb-registry")
    reg = ctx.registry
    if reg is None:
        cov.status = "skipped"
        cov.note = ("no Windows registry in this audit (live Windows, or --registry-export with --root)"
                    if not ctx.windows else "registry not available")
        return {}, []
    try:
        devices = usb.usb_devices(reg)
        letters = usb.mounted_usb_letters(reg)
    except Exception as exc:  # noqa: BLE001 - one failing source never stops a scan
        cov.status, cov.note = "failed", f"{type(exc).__name__}: {exc}"
        return {}, []
    if devices is None and letters is None:
        cov.status, cov.note = "no_data", "neither Enum\\USBSTOR nor MountedDevices is in the registry view"
        return {}, []
    devices = devices or []
    letters = letters or {}
    usb.attach_letters(devices, letters)
    cov.examined = len(devices)
    unreadable = [d for d in devices if not d.times_readable]
    notes = [f"{len(devices)} USB storage devices, {len(letters)} drive letters last assigned to USB volumes"]
    if unreadable:
        notes.append(f"connection times not readable for {len(unreadable)} devices (Properties keys need "
                     "SYSTEM rights or were not exported)")
    cov.note = "; ".join(notes)
    return letters, devices


def _removable_shortcuts(ctx: ScanContext, homes: list[Path], homes_given: bool,
                         usb_letters: dict[str, tuple[str, str]]) -> list[usb.ShortcutTarget]:
    cov = ctx.coverage.source(AREA, "removable:shortcuts")
    targets: list[usb.ShortcutTarget] = []
    examined = 0
    for home in homes:
        problems: list[tuple[str, str]] = []
        found, n = usb.recent_shortcuts(home, problems, profiles.home_tree(ctx, home, homes_given))
        targets.extend(found)
        examined += n
        for item, reason in problems:
            cov.skip(item, reason)
    cov.examined = examined
    removable = [t for t in targets if t.drive_type == usb.DRIVE_REMOVABLE or (t.drive_letter in usb_letters)]
    cov.note = (f"{examined} shortcut / Jump List files read, {len(targets)} targets, "
                f"{len(removable)} on removable volumes")
    if not examined:
        cov.status = "no_data"
        cov.note = "no recent-file shortcuts or Jump Lists found (Windows user profiles only)"
    return removable
