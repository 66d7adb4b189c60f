"""The finding and coverage model that every area writes and every renderer reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .leakguard import mask_pi, scrub

SCHEMA_VERSION = "1.1"


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

    @property
    def fingerprint(self) -> str:
        """Stable id of the finding across scans: same check on the same target (its masked ref)."""
        raw = f"{self.check_id}|{self.target.kind}|{mask_pi(self.target.ref)}".encode("utf-8", "surrogateescape")
        return hashlib.sha256(raw).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """The finding as reports and alerts carry it: every string checked for personal data
        (``auditor.leakguard.scrub``)."""
        out = {
            "id": self.fingerprint,
            "check_id": self.check_id,
            "area": self.area,
            "severity": self.severity,
            "title": self.title,
            "target": self.target.to_dict(),
            "evidence": self.evidence,
            "legal_basis": self.legal_basis,
            "remediation": self.remediation,
        }
        if self.note:
            out["note"] = self.note
        return scrub(out)


@dataclass
class SourceCoverage:
    """What one collector examined, and every item it skipped with the reason."""

    area: str
    source: str
    status: str = "ok"  # ok | partial | no_data | skipped | failed | not_assessed
    examined: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    note: str = ""

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append({"item": item, "reason": reason})
        if self.status == "ok":
            self.status = "partial"

    def to_dict(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "source": self.source,
            "status": self.status,
            "examined": self.examined,
            "skipped": self.skipped,
            "note": self.note,
        }


class Coverage:
    def __init__(self) -> None:
        self.entries: list[SourceCoverage] = []

    def source(self, area: str, source: str) -> SourceCoverage:
        entry = SourceCoverage(area, source)
        self.entries.append(entry)
        return entry

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.entries]
