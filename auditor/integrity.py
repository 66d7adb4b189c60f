"""Tamper evidence for reports: a SHA-256 digest of the canonical JSON, optionally an HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def canonical(report: dict[str, Any]) -> bytes:
    body = {k: v for k, v in report.items() if k != "integrity"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def seal(report: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
    data = canonical(report)
    integrity: dict[str, Any] = {"algorithm": "sha256", "digest": hashlib.sha256(data).hexdigest(),
                                 "canonicalization": "json-sorted-keys-compact-utf8-without-integrity"}
    if key:
        integrity["hmac_sha256"] = hmac.new(key, data, hashlib.sha256).hexdigest()
    report["integrity"] = integrity
    return report


def check(report: dict[str, Any], key: bytes | None = None, data: bytes | None = None) -> list[str]:
    """Problems found; [] when the report is intact (and correctly signed when a key is given). ``data``: the
    canonical bytes when the caller computed them already. The report may come from anyone: whatever the
    integrity block holds (a number, a non-ASCII text) is compared, never trusted to be a hex string."""
    integ = report.get("integrity")
    if not isinstance(integ, dict) or "digest" not in integ:
        return ["the report carries no integrity digest"]
    data = canonical(report) if data is None else data
    problems = []
    if hashlib.sha256(data).hexdigest() != integ["digest"]:
        problems.append("SHA-256 digest does not match the content: the report was altered")
    if key is not None:
        mac = integ.get("hmac_sha256")
        if not mac:
            problems.append("the report is not signed (no hmac_sha256)")
        elif not hmac.compare_digest(str(mac).encode("utf-8", "replace"),
                                     hmac.new(key, data, hashlib.sha256).hexdigest().encode()):
            problems.append("HMAC signature does not match: altered, or signed with another key")
    return problems
