"""Sealed reports for the hostile suite: one real scan to start from, and sealing again after a change the way a
share writer can (the SHA-256 seal needs no key)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from hostilekit import auditor, state_env


def scanned_report(base: Path) -> dict:
    """A real scan of a copied waybill-printing PC (remote tools, unmasked exports, an account without a
    password): {"path", "report", "secrets" (the personal data its exports hold)}."""
    from reportkit import three_area_tree

    tree = three_area_tree(base / "root")
    out = base / "r.json"
    res = auditor("scan", "-q", "--fail-on", "none", "--root", str(base / "root"), "--only", "remote", "--only",
                  "files", "--only", "accounts", "-o", str(out), env=state_env(base))
    assert res.code == 0, res.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert len(report["findings"]) >= 5
    return {"base": base, "path": out, "report": report, "secrets": tree["secrets"]}


def sealed(report: dict, hostname: str | None = None) -> bytes:
    """The report as auditor writes it, sealed again after a change."""
    from auditor.integrity import seal
    from auditor.render.json_report import render

    rep = copy.deepcopy(report)
    rep.pop("integrity", None)
    if hostname:
        rep["host"]["hostname"] = hostname
    return render(seal(rep))


def forged(value, reseal: bool = True) -> bytes:
    """Any JSON value written as a report file (\\u escapes, so that lone surrogates reach the reader), its seal
    recomputed over what it now holds (NaN, lone surrogates, 10**30), as a forger without the key would."""
    if reseal and isinstance(value, dict):
        body = {k: v for k, v in value.items() if k != "integrity"}
        canon = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=True)
        value = {**value, "integrity": {"algorithm": "sha256", "canonicalization":
                                        "json-sorted-keys-compact-utf8-without-integrity",
                                        "digest": hashlib.sha256(canon.encode("utf-8", "surrogatepass")).hexdigest()}}
    return (json.dumps(value, ensure_ascii=True, indent=2, allow_nan=True) + "\n").encode("ascii")
