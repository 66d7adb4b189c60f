"""The export-trail judge. No I/O.

TR-001 export gone from its download location; TR-002 too many exports in a day; TR-003 export after the
holder's departure (``--roster``); TR-004 export still on disk, unmasked (linked to the file scan's finding);
TR-005 any other export (listed for the approval log); TR-006 export on a removable drive; TR-007 USB storage
devices used. The report's optional ``trail`` section holds the window, the profiles read and exports per
platform per week."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

from ..core.area import JudgeContext
from ..core.model import Finding, Subject, Target
from ..leakguard import mask_pi
from . import usb
from .collect import Export, TrailFacts
from .download import iso_local
from .evidence import export_evidence, is_unmasked, platform_names, subject_of, target_of
from .filelink import ABSENT, PRESENT, drive_letter

_COPY_SUFFIX = re.compile(r" \(\d+\)(?=\.[^.]*$|$)")  # Chromium's "name (1).xlsx" for repeated downloads


def normalized_name(name: str) -> str:
    return _COPY_SUFFIX.sub("", name.strip()).casefold()


def judge(facts: TrailFacts, jc: JudgeContext) -> list[Finding]:
    return TrailJudge(facts, jc).run()


class TrailJudge:
    def __init__(self, facts: TrailFacts, jc: JudgeContext) -> None:
        self.facts = facts
        self.jc = jc
        self.findings: list[Finding] = []
        self.finding_ids: dict[str, str] = {}  # export ref -> the id of its status finding

    def run(self) -> list[Finding]:
        exports = self.facts.exports
        self._status_findings(exports)
        self._daily_findings(exports)
        self._departure_findings(exports)
        self._removable_findings(exports)
        if self.facts.devices:
            self._device_inventory(self.facts.devices)
        self.jc.sections["trail"] = section(self.facts)
        return self.findings

    def _make(self, check_id: str, target: Target, evidence: dict[str, Any], params: dict[str, Any],
              subject: Subject, conditions: dict[str, bool] | None = None) -> Finding:
        finding = self.jc.factory.make(check_id, target, evidence, params, subject=subject, conditions=conditions)
        self.findings.append(finding)
        return finding

    def _status_findings(self, exports: list[Export]) -> None:
        for exp in exports:
            d = exp.download
            ev = export_evidence(exp)
            params = {"platform": platform_names(exp), "file": mask_pi(d.file_name)}
            kept_unjudged = False
            if d.state == "complete" and exp.file_state == ABSENT and not exp.on_usb:
                check = "TR-001"
            elif exp.file_state == PRESENT and is_unmasked(exp):
                check = "TR-004"
                params["records"] = exp.verdict.records if exp.verdict else None
            else:
                check = "TR-005"
                judged_clean = exp.file_state == PRESENT and ev["file_verdict"].get("unmasked") is False
                kept_unjudged = d.state == "complete" and not judged_clean
            finding = self._make(check, target_of(exp), ev, params, subject_of(exp),
                                 conditions={"kept_unjudged": kept_unjudged})
            self.finding_ids[exp.ref] = finding.fingerprint

    def _daily_findings(self, exports: list[Export]) -> None:
        limit = self.facts.catalog.max_exports_per_day
        groups: dict[tuple[str, dt.date], list[Export]] = defaultdict(list)
        for exp in exports:
            day = exp.local_date()
            if day is not None:
                groups[(exp.download.os_user, day)].append(exp)
        for (user, day), items in sorted(groups.items()):
            if len(items) <= limit:
                continue
            first = iso_local(min(e.download.start for e in items))
            ev = {"os_user": user, "date": day.isoformat(), "exports": len(items), "limit": limit,
                  "by_platform": dict(sorted(Counter(e.match.platform.id for e in items).items())),
                  "first": first, "last": iso_local(max(e.download.start for e in items)),
                  "export_findings": [self.finding_ids[e.ref] for e in items]}
            self._make("TR-002", Target("download-day", f"{user}/{day.isoformat()}", f"{user} {day.isoformat()}"),
                       ev, {"user": user, "date": day.isoformat(), "count": len(items)},
                       Subject("download", user=user or None, time=first))

    def _departure_findings(self, exports: list[Export]) -> None:
        departures = self.facts.departures
        if departures is None:
            return
        for exp in exports:
            dep = departures.for_user(exp.download.os_user)
            day = exp.local_date()
            if dep is None or day is None or day <= dep.date:
                continue
            ev = export_evidence(exp)
            ev.update({"departure_date": dep.date.isoformat(), "roster_match": dep.who,
                       "export_finding": self.finding_ids[exp.ref]})
            self._make("TR-003", Target("download", exp.ref, target_of(exp).label), ev,
                       {"user": exp.download.os_user, "departure": dep.date.isoformat(), "date": day.isoformat(),
                        "platform": platform_names(exp), "file": mask_pi(exp.download.file_name)},
                       replace(subject_of(exp), employee_id=dep.employee_id or None))

    def _removable_findings(self, exports: list[Export]) -> None:
        usb_letters = self.facts.usb_letters
        by_device = {(d.device_class.casefold(), d.serial.casefold()): d for d in self.facts.devices}

        def device_for(letter: str | None) -> dict[str, Any] | None:
            if not letter or letter not in usb_letters:
                return None
            cls, serial = usb_letters[letter]
            dev = by_device.get((cls.casefold(), serial.casefold()))
            return dev.to_dict(iso_local) if dev else {"device_class": cls, "serial": serial}

        by_name: dict[str, list[usb.ShortcutTarget]] = defaultdict(list)
        for t in self.facts.removable:
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
            ev = export_evidence(exp)
            ev.update({"removable_entries": entries, "export_finding": self.finding_ids[exp.ref]})
            self._make("TR-006", Target("download", exp.ref, target_of(exp).label), ev,
                       {"file": mask_pi(exp.download.file_name)}, subject_of(exp, removable=True))

    def _device_inventory(self, devices: list[usb.UsbDevice]) -> None:
        ev = {"devices": [d.to_dict(iso_local) for d in devices],
              "source": "HKLM\\SYSTEM\\CurrentControlSet\\Enum\\USBSTOR, HKLM\\SYSTEM\\MountedDevices"}
        self._make("TR-007", Target("device-inventory", "usbstor", "USB storage devices"), ev,
                   {"count": len(devices)}, Subject("device", device="USB storage devices"))


def section(facts: TrailFacts) -> dict[str, Any]:
    """The report's ``trail`` section: the window, the profiles read and exports per platform, host and week."""
    weekly: Counter = Counter()
    for exp in facts.exports:
        day = exp.local_date()
        if day is None:
            continue
        year, week, _ = day.isocalendar()
        weekly[(exp.match.platform.id, exp.match.host, f"{year}-W{week:02d}",
                dt.date.fromisocalendar(year, week, 1).isoformat())] += 1
    return {
        "window": facts.window.to_dict(),
        "profiles": facts.profiles,
        "weekly": [{"platform": p, "host": h, "week": w, "week_start": s, "exports": n}
                   for (p, h, w, s), n in sorted(weekly.items())],
    }
