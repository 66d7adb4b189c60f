"""The finding and coverage model that every area writes and every renderer reads: a finding is about a
``Target`` (what the fingerprint and the reader's label are made of) and a typed ``Subject`` (the same thing as
facts with one set of names across areas, for the fleet view and the SIEM mappings)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any

from ..leakguard import mask_pi, scrub_shown

SCHEMA_VERSION = "1.3"  # 1.2: finding.subject; 1.3: first_report

# Bounds on what one report entry holds (README: Bounds). A list or text cut by them says so in the entry.
MAX_EVIDENCE_ITEMS = 50  # items of any list in a finding's evidence; the rest counted under "omitted"
MAX_EVIDENCE_TEXT = 32768  # characters of any text in a finding's evidence (a Windows path fits)
MAX_SKIPPED_LISTED = 1000  # skipped items listed per coverage source; the rest counted in "skipped_more"


@dataclass
class Target:
    """What a finding is about. ``ref`` is stable across scans (a path, a tool id, a service name);
    ``label`` is what a person reads (may include a pid). Both may be built from names found on disk: they are
    kept as given for the areas' own matching, and leave the agent masked (``auditor.leakguard``): in
    :meth:`to_dict` and in the finding's fingerprint, which must not be computable from a raw number either."""

    kind: str  # process | tool | service | path | socket | setting | account | file
    ref: str
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": mask_pi(self.ref), "label": mask_pi(self.label)}


SUBJECT_KINDS = ("file", "process", "account", "download", "tool", "setting", "socket", "device")


@dataclass(frozen=True)
class Subject:
    """The thing a finding is about, as typed facts. Each fact has one name whatever area states it; a fact that
    does not apply is None and left out of the report. Texts that may hold names from the PC (paths, command
    lines) are given as shown (masked), like the evidence."""

    kind: str  # one of SUBJECT_KINDS
    # a file on disk, or a downloaded one
    path: str | None = None
    name: str | None = None  # the file's (or member's) shown name
    size: int | None = None
    sha256: str | None = None  # of the file, or of a process's executable
    mtime: str | None = None
    owner: str | None = None
    mime_type: str | None = None
    location: str | None = None  # desktop | downloads | documents | wechat | qq | dingtalk | temp | removable | …
    records: int | None = None  # rows holding an unmasked mobile or ID number
    id_rows: int | None = None
    kinds: tuple[str, ...] | None = None  # kinds of personal data present unmasked (phone, id, name, address…)
    # a process
    pid: int | None = None
    process: str | None = None  # process name
    exe: str | None = None
    cmdline: tuple[str, ...] | None = None  # secrets masked
    started: str | None = None
    ppid: int | None = None
    # people and accounts
    user: str | None = None  # OS user
    account: str | None = None  # platform, WMS or PC account
    employee_id: str | None = None
    platform: str | None = None  # platform id (shop back office, WMS, ERP)
    # remote-control tools, OS settings, sockets
    tool: str | None = None  # catalog id (checks/remote-tools)
    tool_name: str | None = None
    tool_category: str | None = None  # catalog category, or os_feature
    setting: str | None = None  # OS remote feature (rdp, winrm, sshd, xrdp…)
    port: int | None = None
    address: str | None = None  # listening address
    # downloads and devices
    url_host: str | None = None
    url_path: str | None = None
    time: str | None = None  # when the download (or event) happened
    device: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SUBJECT_KINDS:
            raise ValueError(f"unknown subject kind {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for key in _SUBJECT_FIELDS:  # every fact is a string, a number or a tuple of strings: read as it stands
            value = getattr(self, key)
            if value is None:
                continue
            out[key] = mask_pi(value) if isinstance(value, str) and key != "sha256" else \
                [mask_pi(v) for v in value] if isinstance(value, tuple) else value
        return out


_SUBJECT_FIELDS = tuple(f.name for f in fields(Subject))


@dataclass
class Finding:
    check_id: str
    area: str
    severity: str
    title: dict[str, str]
    target: Target
    evidence: dict[str, Any]
    legal_basis: list[str]
    remediation: dict[str, str]
    note: dict[str, str] | None = None
    subject: Subject | None = None

    @property
    def fingerprint(self) -> str:
        """Stable id of the finding across scans: same check on the same target (its masked ref)."""
        raw = f"{self.check_id}|{self.target.kind}|{mask_pi(self.target.ref)}".encode("utf-8", "surrogateescape")
        return hashlib.sha256(raw).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """The finding as reports and alerts carry it: every string valid text (a file name's undecodable bytes
        as \\xNN) and checked for personal data, in one walk (``auditor.leakguard.scrub_shown``), as the report
        boundary checks the rest of the report."""
        out = {
            "id": self.fingerprint,
            "check_id": self.check_id,
            "area": self.area,
            "severity": self.severity,
            "title": self.title,
            "target": self.target.to_dict(),
            "evidence": bound_evidence(self.evidence),
            "legal_basis": self.legal_basis,
            "remediation": self.remediation,
        }
        if self.note:
            out["note"] = self.note
        if self.subject is not None:
            out["subject"] = bound_evidence(self.subject.to_dict())
        return scrub_shown(out)


def bound_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """The evidence within MAX_EVIDENCE_ITEMS / MAX_EVIDENCE_TEXT: a longer list keeps its first items and a
    longer text its beginning; what was left out is counted under ``omitted`` (dotted key -> items or
    characters left out), so the report says so."""
    omitted: dict[str, int] = {}

    def cut(value: Any, where: str) -> Any:
        if isinstance(value, str):
            if len(value) > MAX_EVIDENCE_TEXT:
                omitted[where] = omitted.get(where, 0) + len(value) - MAX_EVIDENCE_TEXT
                return value[:MAX_EVIDENCE_TEXT] + "…"
            return value
        if isinstance(value, dict):
            return {k: cut(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            if len(value) > MAX_EVIDENCE_ITEMS:
                omitted[where] = omitted.get(where, 0) + len(value) - MAX_EVIDENCE_ITEMS
                value = value[:MAX_EVIDENCE_ITEMS]
            return [cut(v, where) for v in value]
        return value

    if not isinstance(evidence, dict):
        return evidence
    out = cut(evidence, "")
    if omitted:
        out["omitted"] = {**(out.get("omitted") if isinstance(out.get("omitted"), dict) else {}), **omitted}
    return out


@dataclass
class SourceCoverage:
    """What one collector examined, and every item it skipped with the reason (the first MAX_SKIPPED_LISTED
    listed, the rest counted in ``skipped_more``)."""

    area: str
    source: str
    status: str = "ok"  # ok | partial | no_data | skipped | failed | not_assessed
    examined: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    note: str = ""
    skipped_more: int = 0
    notes: list[dict[str, str]] = field(default_factory=list)  # notes for the reader, {"zh": …, "en": …} each

    def skip(self, item: str, reason: str) -> None:
        """An item not examined: listed with the reason; the source becomes partial."""
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append({"item": item, "reason": reason})
        else:
            self.skipped_more += 1
        if self.status == "ok":
            self.status = "partial"

    def partly(self, item: str, reason: str) -> None:
        """An item examined only in part (a bound cut it): listed like a skipped one; the source is partial."""
        self.skip(item, f"partly examined: {reason}")

    def fail(self, item: str, reason: str) -> None:
        """Nothing of this source could be read (its folder, file or database): it failed, never ok."""
        self.skip(item, reason)
        self.status = "failed"

    def to_dict(self) -> dict[str, Any]:
        out = {
            "area": self.area,
            "source": self.source,
            "status": self.status,
            "examined": self.examined,
            "skipped": self.skipped,
            "note": self.note,
        }
        if self.skipped_more:
            out["skipped_more"] = self.skipped_more
        if self.notes:
            out["notes"] = self.notes
        return out


class Coverage:
    def __init__(self) -> None:
        self.entries: list[SourceCoverage] = []

    def source(self, area: str, source: str) -> SourceCoverage:
        entry = SourceCoverage(area, source)
        self.entries.append(entry)
        return entry

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.entries]
