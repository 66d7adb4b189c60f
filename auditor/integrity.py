"""Tamper evidence for reports: a SHA-256 digest of the report's canonical JSON, optionally signed.

The integrity block (``report["integrity"]``) is left out of what is digested and signed::

    {"algorithm": "sha256", "canonicalization": "rfc8785-without-integrity", "digest": "<hex>",
     "ed25519": {"public_key_sha256": "<hex>", "signature": "<base64>"}}     # or "hmac_sha256": "<hex>"

``canonicalization`` names how the bytes were made (auditor.canonical_json): reports sealed from this version on
use RFC 8785 (JCS), which another tool can reproduce; reports sealed before carry
``json-sorted-keys-compact-utf8-without-integrity`` (Python's sorted compact JSON) and still verify. The
signature is over the same canonical bytes: Ed25519 (a key pair; the public key verifies and cannot sign) or,
as before, HMAC-SHA256 with a shared secret (auditor.signing)."""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from . import canonical_json
from .messages import Text
from .signing import HmacKey, PublicKey, SigningKey, VerifyKey, signer, verifier

JCS = "rfc8785-without-integrity"
LEGACY = "json-sorted-keys-compact-utf8-without-integrity"
#: canonicalization name -> value -> bytes; reports are sealed with the first
CANONICALIZATIONS: dict[str, Callable[[Any], bytes]] = {JCS: canonical_json.jcs, LEGACY: canonical_json.legacy}
TEXT_FORMS: dict[str, Callable[[Any], str]] = {JCS: canonical_json.jcs_text, LEGACY: canonical_json.legacy_text}
KEYS = {"algorithm", "digest", "canonicalization", "hmac_sha256", "ed25519"}


def canonicalization_of(report: dict[str, Any]) -> str:
    """The canonicalization the report was sealed with (the current one for a report not sealed yet)."""
    integ = report.get("integrity")
    name = integ.get("canonicalization") if isinstance(integ, dict) else None
    return name if isinstance(name, str) else JCS


def canonical(report: dict[str, Any], canonicalization: str | None = None) -> bytes:
    """The bytes that are digested and signed: the report without its integrity block, canonicalized as
    ``canonicalization`` says (default: as the report says it was sealed; RFC 8785 for a new report)."""
    name = canonicalization or canonicalization_of(report)
    if name not in CANONICALIZATIONS:
        raise ValueError(f"unknown canonicalization {name[:60]!r}")
    return CANONICALIZATIONS[name]({k: v for k, v in report.items() if k != "integrity"})


def signature_kind(integ: Any) -> str | None:
    """'ed25519', 'hmac' or None: how an integrity block (or a bundle manifest's signature) says it was signed."""
    if not isinstance(integ, dict):
        return None
    if "ed25519" in integ or integ.get("algorithm") == "ed25519":
        return "ed25519"
    if "hmac_sha256" in integ or integ.get("algorithm") == "hmac-sha256":
        return "hmac"
    return None


def seal(report: dict[str, Any], key: SigningKey | bytes | None = None) -> dict[str, Any]:
    """Set the report's integrity block (RFC 8785 canonicalization), signed when ``key`` is given. A report holding
    a value RFC 8785 cannot express (an integer beyond ±(2^53-1)) is sealed the earlier way and says so."""
    try:
        name, data = JCS, canonical(report, JCS)
    except ValueError:
        name, data = LEGACY, canonical(report, LEGACY)
    integrity: dict[str, Any] = {"algorithm": "sha256", "digest": hashlib.sha256(data).hexdigest(),
                                 "canonicalization": name}
    key = signer(key)
    if isinstance(key, HmacKey):
        integrity["hmac_sha256"] = key.mac(data)
    elif key is not None:
        integrity["ed25519"] = key.sign(data)
    report["integrity"] = integrity
    return report


def check(report: dict[str, Any], key: SigningKey | VerifyKey | bytes | None = None,
          data: bytes | None = None) -> list[str]:
    """Problems found; [] when the report is intact (and signed by ``key`` when one is given: an HMAC secret, an
    Ed25519 public key, or an Ed25519 private key whose public half is used). ``data``: the canonical bytes when
    the caller computed them already. The report may come from anyone: whatever the integrity block holds (a
    number, a non-ASCII text) is compared, never trusted to be a hex string."""
    integ = report.get("integrity")
    if not isinstance(integ, dict) or "digest" not in integ:
        return [Text("verify.no_digest")]
    if data is None:
        try:
            data = canonical(report)
        except ValueError as exc:
            return [Text("verify.not_canonical", exc=exc)]
    problems = []
    if hashlib.sha256(data).hexdigest() != integ["digest"]:
        problems.append(Text("verify.digest_mismatch"))
    problem = signature_problem(integ, data, verifier(key))
    if problem:
        problems.append(problem)
    return problems


def signature_problem(block: dict[str, Any], data: bytes, key: VerifyKey | None) -> str | None:
    """Why the signature in ``block`` (a report's integrity block) is not ``key``'s signature of ``data``;
    None when it is, or when no key is given."""
    if key is None:
        return None
    if isinstance(key, HmacKey):
        mac = block.get("hmac_sha256")
        if not mac:
            return Text("verify.ed25519_not_hmac" if "ed25519" in block else "verify.report_not_hmac")
        if not key.matches(data, mac):
            return Text("verify.hmac_mismatch")
        return None
    return ed25519_problem(block.get("ed25519"), data, key, Text("verify.the_report"))


def ed25519_problem(sig: Any, data: bytes, key: PublicKey, what: str) -> str | None:
    if not isinstance(sig, dict):
        return Text("verify.not_ed25519", what=what)
    other = sig.get("public_key_sha256") != key.key_id
    if not key.verifies(data, sig.get("signature")):
        return Text("verify.ed25519_other_key" if other else "verify.ed25519_altered")
    if other:
        return Text("verify.ed25519_key_id_changed")
    return None


def signed_by(integ: Any) -> str:
    """How a report says it is signed, for the messages of verify and report: 'Ed25519 key <id…>', 'HMAC', ''."""
    kind = signature_kind(integ)
    if kind == "ed25519":
        key_id = integ["ed25519"].get("public_key_sha256") if isinstance(integ.get("ed25519"), dict) else None
        return Text("verify.by_ed25519", key_id=key_id[:16]) if isinstance(key_id, str) else "Ed25519"
    return "HMAC" if kind == "hmac" else ""
