"""What a trail finding says about one export: its evidence (platform, page, time, browser, OS user, file, what
became of it, the file scan's verdict), its target and its typed subject. Reports keep platform, host and URL path
only: no query strings, fragments or download URL chains."""

from __future__ import annotations

import re
from typing import Any

from ..core.model import Subject, Target
from ..i18n import both
from ..leakguard import mask_pi
from ..paths import location_of
from . import profiles
from .collect import Export
from .download import iso_local
from .filelink import ABSENT, PRESENT

_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_unmasked(exp: Export) -> bool:
    """Did the file scan judge this export's file to hold unmasked personal data?"""
    return exp.verdict is not None and exp.verdict.finding


def platform_names(exp: Export) -> dict[str, str]:
    """The platform's name in each language (a title parameter)."""
    return {"zh": exp.match.platform.name_zh, "en": exp.match.platform.name_en}


def export_evidence(exp: Export) -> dict[str, Any]:
    d, m = exp.download, exp.match
    ev: dict[str, Any] = {
        "platform": m.platform.id,
        "platform_name": platform_names(exp),
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
        "size_bytes": _size(exp),
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
        ev["file_verdict"] = verdict_evidence(exp)
    return ev


def verdict_evidence(exp: Export) -> dict[str, Any]:
    v, source = exp.verdict, exp.verdict_source
    if v is not None:
        return {"source": source, "finding_id": v.finding_id, "check_id": v.check_id, "records": v.records,
                "masked_share": v.masked_share, "unmasked": v.finding}
    if source == "no-personal-data":
        return {"source": "verdict_for", "records": 0, "unmasked": False,
                "note": both("evidence_text.verdict.clean")}
    return {"source": "unavailable", "unmasked": None,
            "note": both("evidence_text.verdict.unavailable", reason=source)}


def target_of(exp: Export) -> Target:
    d = exp.download
    when = iso_local(d.start) or "?"
    browser = profiles.BROWSER_NAMES.get(d.browser, d.browser)
    label = (f"{exp.match.platform.name_zh}: {mask_pi(d.file_name)} ({browser} "
             f"{d.os_user}/{d.profile}, {when})")
    return Target("download", exp.ref, label)


def subject_of(exp: Export, removable: bool = False) -> Subject:
    d = exp.download
    target = mask_pi(d.target_path) or None
    size = _size(exp)
    return Subject("download", path=target, name=mask_pi(d.file_name) or None,
                   size=size if size is not None and size >= 0 else None,
                   sha256=d.sha256 if d.sha256 and _SHA256.fullmatch(d.sha256) else None,
                   mime_type=d.mime_type or None,
                   location="removable" if removable or exp.on_usb else location_of(target),
                   records=exp.verdict.records if exp.verdict else None, user=d.os_user or None,
                   platform=exp.match.platform.id, url_host=exp.match.host, url_path=mask_pi(exp.match.path) or None,
                   time=iso_local(d.start))


def _size(exp: Export) -> int | None:
    d = exp.download
    return d.total_bytes if d.total_bytes and d.total_bytes > 0 else d.received_bytes
