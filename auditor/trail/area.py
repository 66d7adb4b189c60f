"""The export-trail area: order/waybill exports downloaded from shop back offices in the last ``--days``
days, from every browser profile of every user, with what became of each file, and signs that such files went
to removable drives.

Findings: TR-001 export gone from its download location; TR-002 too many exports in a day; TR-003 export
after the holder's departure (``--roster``); TR-004 export still on disk, unmasked (linked to the file scan's
finding); TR-005 any other export (listed for the approval log); TR-006 export on a removable drive; TR-007
USB storage devices used. The report's optional ``trail`` section holds the window, the profiles read and
exports per platform per week."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..areas import AreaRun
from ..i18n import both
from ..leakguard import mask_pi
from ..model import Finding, Target
from ..resources import pack_dir
from . import backoffice, profiles, usb
from .chromium_downloads import read_downloads as read_chromium
from .download import Download, Window, iso_local
from .filelink import ABSENT, PRESENT, UNKNOWN, drive_letter, file_verdict, is_unmasked, locate
from .firefox_downloads import read_downloads as read_firefox
from .sqlite_ro import Unreadable

AREA = "trail"
REPORT_SECTIONS = "report_sections"  # run.shared key: optional top-level report data by name
_COPY_SUFFIX = re.compile(r" \(\d+\)(?=\.[^.]*$|$)")  # Chromium's "name (1).xlsx" for repeated downloads


@dataclass
class Export:
    download: Download
    match: backoffice.PageMatch
    home: Path
    file_state: str = UNKNOWN
    local_path: Path | None = None
    file_check: str = ""
    on_usb: tuple[str, str] | None = None  # (device class, serial) when saved to a USB drive letter
    verdict: dict[str, Any] | None = None
    verdict_source: str = ""
    finding_id: str = ""

    @property
    def ref(self) -> str:
        d = self.download
        return f"{d.browser}/{d.os_user}/{d.profile}/{d.key}"

    def local_date(self) -> dt.date | None:
        return self.download.start.astimezone().date() if self.download.start else None


def _platform_name(exp: Export) -> dict[str, str]:
    """The export's platform in each language (a per-language title parameter)."""
    return {"zh": exp.match.platform.name_zh, "en": exp.match.platform.name_en}


def normalized_name(name: str) -> str:
    return _COPY_SUFFIX.sub("", name.strip()).casefold()


def run(run: AreaRun) -> list[Finding]:
    return TrailScan(run).run()


class TrailScan:
    def __init__(self, run: AreaRun) -> None:
        self.run_ = run
        self.ctx = run.ctx
        self.opts = run.opts
        self.catalog = backoffice.catalog(pack_dir("checks") / "backoffices.toml")
        self.window = Window.ending(self.opts.as_of or run.today, max(1, int(self.opts.days or 90)))
        self.homes_given = bool(self.opts.homes)
        self.homes = [Path(h) for h in self.opts.homes] if self.homes_given else self.ctx.home_dirs()
        self.findings: list[Finding] = []
        self.profile_rows: list[dict[str, Any]] = []

    # ----------------------------------------------------------------------------------------- orchestration
    def run(self) -> list[Finding]:
        exports = self._read_profiles()
        usb_letters, devices = self._usb_registry()
        for exp in exports:
            self._locate(exp, usb_letters)
        self._status_findings(exports)
        self._daily_findings(exports)
        self._departure_findings(exports)
        self._removable_findings(exports, usb_letters, devices)
        if devices:
            self._device_inventory(devices)
        self._report_section(exports)
        return self.findings

    def _tree(self, home: Path):
        """Where this home's files are opened (auditor.safeio: the scan's tree, or a --home copy's own)."""
        return profiles.home_tree(self.ctx, home, self.homes_given)

    def _make(self, check_id: str, target: Target, evidence: dict[str, Any], params: dict[str, Any],
              severity: str | None = None) -> Finding:
        finding = self.run_.factory.make(check_id, target, evidence, params, severity=severity)
        self.findings.append(finding)
        return finding

    # ----------------------------------------------------------------------------------------- browsers
    def _read_profiles(self) -> list[Export]:
        disc = self.ctx.coverage.source(AREA, "browser-profiles")
        found: list[tuple[Path, profiles.Profile]] = []
        for home in self.homes:
            problems: list[tuple[str, str]] = []
            for prof in profiles.discover(home, problems, self._tree(home)):
                found.append((home, prof))
            for item, reason in problems:
                disc.skip(item, reason)
        disc.examined = len(found)
        where = "the given --home folders" if self.homes_given else "every user's home folder"
        disc.note = (f"{len(found)} browser profiles found under {len(self.homes)} home folders ({where}); "
                     f"window {self.window.days} days from {iso_local(self.window.since)}")
        if not found:
            disc.status = "no_data"
        exports: list[Export] = []
        for home, prof in found:
            exports.extend(self._read_profile(home, prof))
        return exports

    def _read_profile(self, home: Path, prof: profiles.Profile) -> list[Export]:
        cov = self.ctx.coverage.source(AREA, f"browser:{prof.label}")
        row: dict[str, Any] = {"browser": prof.browser.id, "browser_name": prof.browser.name, "os_user": prof.os_user,
                               "profile": prof.folder, "database": prof.database.name, "status": "ok",
                               "downloads_in_window": 0, "exports": 0, "missing_columns": []}
        self.profile_rows.append(row)
        tree = self._tree(home)
        try:
            if prof.browser.engine == "firefox":
                result = read_firefox(prof.database, self.window, prof.folder, prof.os_user, tree)
            else:
                result = read_chromium(prof.database, self.window, prof.browser.id, prof.folder, prof.os_user, tree)
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
            match = self.catalog.match_pages(d.urls)
            d.urls = {}  # the URLs have served their purpose: nothing below may see them
            if match is None:
                skipped["other sites"] += 1
                continue
            if not d.file_name or not self.catalog.is_export_file(d.file_name, d.mime_type):
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

    # ----------------------------------------------------------------------------------------- files
    def _locate(self, exp: Export, usb_letters: dict[str, tuple[str, str]]) -> None:
        d = exp.download
        letter = drive_letter(d.target_path)
        if letter and letter in usb_letters:
            exp.on_usb = usb_letters[letter]
        exp.file_state, exp.local_path, exp.file_check = locate(d.target_path, self.ctx, exp.home, self.homes_given)
        if exp.file_state == PRESENT and exp.local_path is not None:
            exp.verdict, exp.verdict_source = file_verdict(exp.local_path, self.run_.shared, self._tree(exp.home))

    def _export_evidence(self, exp: Export) -> dict[str, Any]:
        d, m = exp.download, exp.match
        ev: dict[str, Any] = {
            "platform": m.platform.id,
            "platform_name": _platform_name(exp),
            "host": m.host,
            "page_path": mask_pi(m.path) or None,
            "matched_on": m.field,
            "export_page": m.export_page,
            "time": iso_local(d.start),
            "completed": iso_local(d.end),
            "browser": d.browser,
            "browser_name": profiles.BROWSER_NAMES.get(d.browser, d.browser),
            "profile": d.profile,
            "os_user": d.os_user,
            "file_name": mask_pi(d.file_name),
            "target_path": mask_pi(d.target_path),
            "size_bytes": d.total_bytes if d.total_bytes and d.total_bytes > 0 else d.received_bytes,
            "mime_type": d.mime_type,
            "state": d.state,
            "file_exists": {PRESENT: True, ABSENT: False}.get(exp.file_state),
            "file_check": exp.file_check,
        }
        if d.opened is not None:
            ev["opened_from_browser"] = d.opened
        if d.sha256:
            ev["sha256"] = d.sha256
        if d.by_extension:
            ev["by_extension"] = d.by_extension
        if d.deleted_by_browser is not None:
            ev["deleted_in_browser"] = d.deleted_by_browser
        if exp.on_usb:
            ev["saved_to_usb_device"] = {"device_class": exp.on_usb[0], "serial": exp.on_usb[1]}
        if exp.file_state == PRESENT:
            ev["file_verdict"] = self._verdict_evidence(exp)
        return ev

    @staticmethod
    def _verdict_evidence(exp: Export) -> dict[str, Any]:
        v, source = exp.verdict, exp.verdict_source
        if v is not None:
            return {"source": source, "finding_id": v.get("finding_id"), "check_id": v.get("check_id"),
                    "records": v.get("records"), "masked_share": v.get("masked_share"), "unmasked": is_unmasked(v)}
        if source == "no-personal-data":
            return {"source": "verdict_for", "records": 0, "unmasked": False,
                    "note": both("evidence_text.verdict.clean")}
        return {"source": "unavailable", "unmasked": None,
                "note": both("evidence_text.verdict.unavailable", reason=source)}

    def _status_findings(self, exports: list[Export]) -> None:
        for exp in exports:
            d = exp.download
            ev = self._export_evidence(exp)
            params = {"platform": _platform_name(exp), "file": mask_pi(d.file_name)}
            severity = None
            if d.state == "complete" and exp.file_state == ABSENT and not exp.on_usb:
                check = "TR-001"
            elif exp.file_state == PRESENT and is_unmasked(exp.verdict):
                check = "TR-004"
                params["records"] = exp.verdict.get("records") if exp.verdict else None
            else:
                check = "TR-005"
                judged_clean = exp.file_state == PRESENT and ev["file_verdict"].get("unmasked") is False
                if d.state != "complete" or judged_clean:
                    severity = "info"
            finding = self._make(check, self._target(exp), ev, params, severity)
            exp.finding_id = finding.fingerprint

    @staticmethod
    def _target(exp: Export) -> Target:
        d = exp.download
        when = iso_local(d.start) or "?"
        browser = profiles.BROWSER_NAMES.get(d.browser, d.browser)
        label = (f"{exp.match.platform.name_zh}: {mask_pi(d.file_name)} ({browser} "
                 f"{d.os_user}/{d.profile}, {when})")
        return Target("download", exp.ref, label)

    # ----------------------------------------------------------------------------------------- patterns
    def _daily_findings(self, exports: list[Export]) -> None:
        limit = self.catalog.max_exports_per_day
        groups: dict[tuple[str, dt.date], list[Export]] = defaultdict(list)
        for exp in exports:
            day = exp.local_date()
            if day is not None:
                groups[(exp.download.os_user, day)].append(exp)
        for (user, day), items in sorted(groups.items()):
            if len(items) <= limit:
                continue
            ev = {"os_user": user, "date": day.isoformat(), "exports": len(items), "limit": limit,
                  "by_platform": dict(sorted(Counter(e.match.platform.id for e in items).items())),
                  "first": iso_local(min(e.download.start for e in items)),
                  "last": iso_local(max(e.download.start for e in items)),
                  "export_findings": [e.finding_id for e in items]}
            self._make("TR-002", Target("download-day", f"{user}/{day.isoformat()}", f"{user} {day.isoformat()}"),
                       ev, {"user": user, "date": day.isoformat(), "count": len(items)})

    def _departure_findings(self, exports: list[Export]) -> None:
        roster_path = getattr(self.opts, "roster", None)
        if not roster_path:
            return
        cov = self.ctx.coverage.source(AREA, "roster:departures")
        from .roster import load_departures

        try:
            departures, note = load_departures(Path(roster_path), dict(getattr(self.opts, "column_map", {}) or {}))
        except Exception as exc:  # noqa: BLE001 - an unreadable roster is a coverage entry, not a crash
            cov.status, cov.note = "failed", f"roster not read: {type(exc).__name__}: {exc}"
            return
        cov.note = note + " (matched on the OS user name: roster account, employee id or name)"
        users = {e.download.os_user for e in exports}
        cov.examined = len(departures)
        if not departures:
            cov.status = "no_data"
        for exp in exports:
            dep = departures.get(exp.download.os_user.casefold())
            day = exp.local_date()
            if dep is None or day is None or day <= dep.date:
                continue
            ev = self._export_evidence(exp)
            ev.update({"departure_date": dep.date.isoformat(), "roster_match": dep.who,
                       "export_finding": exp.finding_id})
            self._make("TR-003", Target("download", exp.ref, self._target(exp).label), ev,
                       {"user": exp.download.os_user, "departure": dep.date.isoformat(), "date": day.isoformat(),
                        "platform": _platform_name(exp), "file": mask_pi(exp.download.file_name)})
        unmatched = sorted(u for u in users if u.casefold() not in departures)
        if unmatched and departures:
            cov.note += f"; OS users not in the roster: {', '.join(unmatched)}"

    # ----------------------------------------------------------------------------------------- removable drives
    def _usb_registry(self) -> tuple[dict[str, tuple[str, str]], list[usb.UsbDevice]]:
        cov = self.ctx.coverage.source(AREA, "removable:usb-registry")
        reg = self.ctx.registry
        if reg is None:
            cov.status = "skipped"
            cov.note = ("no Windows registry in this audit (live Windows, or --registry-export with --root)"
                        if not self.ctx.windows else "registry not available")
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
        if devices is not None and unreadable:
            notes.append(f"connection times not readable for {len(unreadable)} devices (Properties keys need "
                         "SYSTEM rights or were not exported)")
        cov.note = "; ".join(notes)
        return letters, devices

    def _removable_findings(self, exports: list[Export], usb_letters: dict[str, tuple[str, str]],
                            devices: list[usb.UsbDevice]) -> None:
        cov = self.ctx.coverage.source(AREA, "removable:shortcuts")
        targets: list[usb.ShortcutTarget] = []
        examined = 0
        for home in self.homes:
            problems: list[tuple[str, str]] = []
            found, n = usb.recent_shortcuts(home, problems, self._tree(home))
            targets.extend(found)
            examined += n
            for item, reason in problems:
                cov.skip(item, reason)
        cov.examined = examined
        by_device = {(d.device_class.casefold(), d.serial.casefold()): d for d in devices}

        def device_for(letter: str | None) -> dict[str, Any] | None:
            if not letter or letter not in usb_letters:
                return None
            cls, serial = usb_letters[letter]
            dev = by_device.get((cls.casefold(), serial.casefold()))
            return dev.to_dict(iso_local) if dev else {"device_class": cls, "serial": serial}

        removable = [t for t in targets if t.drive_type == usb.DRIVE_REMOVABLE or (t.drive_letter in usb_letters)]
        cov.note = (f"{examined} shortcut / Jump List files read, {len(targets)} targets, "
                    f"{len(removable)} on removable volumes")
        if not examined:
            cov.status = "no_data"
            cov.note = "no recent-file shortcuts or Jump Lists found (Windows user profiles only)"
        by_name: dict[str, list[usb.ShortcutTarget]] = defaultdict(list)
        for t in removable:
            by_name[normalized_name(t.file_name)].append(t)
        for exp in exports:
            entries = []
            for t in by_name.get(normalized_name(exp.download.file_name), []):
                entry = {"source": t.kind, "shortcut": mask_pi(t.source), "os_user": t.os_user,
                         "target_path": mask_pi(t.target_path),
                         "drive_type": t.drive_type, "volume_serial": t.drive_serial, "volume_label": t.volume_label,
                         "removable_by": "shortcut drive type" if t.drive_type == usb.DRIVE_REMOVABLE
                         else "drive letter last assigned to a USB storage device (MountedDevices)",
                         "shortcut_written": iso_local(t.shortcut_time), "target_modified": iso_local(t.target_modified),
                         "target_accessed": iso_local(t.target_accessed)}
                dev = device_for(t.drive_letter)
                if dev:
                    entry["usb_device"] = dev
                entries.append(entry)
            if exp.on_usb:
                entries.append({"source": "download_target", "target_path": mask_pi(exp.download.target_path),
                                "removable_by": "drive letter last assigned to a USB storage device (MountedDevices)",
                                "usb_device": device_for(drive_letter(exp.download.target_path))})
            if not entries:
                continue
            ev = self._export_evidence(exp)
            ev.update({"removable_entries": entries, "export_finding": exp.finding_id})
            self._make("TR-006", Target("download", exp.ref, self._target(exp).label), ev,
                       {"file": mask_pi(exp.download.file_name)})

    def _device_inventory(self, devices: list[usb.UsbDevice]) -> None:
        ev = {"devices": [d.to_dict(iso_local) for d in devices],
              "source": "HKLM\\SYSTEM\\CurrentControlSet\\Enum\\USBSTOR, HKLM\\SYSTEM\\MountedDevices"}
        self._make("TR-007", Target("device-inventory", "usbstor", "USB storage devices"), ev,
                   {"count": len(devices)})

    # ----------------------------------------------------------------------------------------- report section
    def _report_section(self, exports: list[Export]) -> None:
        weekly: Counter = Counter()
        for exp in exports:
            day = exp.local_date()
            if day is None:
                continue
            year, week, _ = day.isocalendar()
            weekly[(exp.match.platform.id, exp.match.host, f"{year}-W{week:02d}",
                    dt.date.fromisocalendar(year, week, 1).isoformat())] += 1
        section = {
            "window": self.window.to_dict(),
            "profiles": self.profile_rows,
            "weekly": [{"platform": p, "host": h, "week": w, "week_start": s, "exports": n}
                       for (p, h, w, s), n in sorted(weekly.items())],
        }
        self.run_.shared.setdefault(REPORT_SECTIONS, {})["trail"] = section
