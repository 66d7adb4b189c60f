"""`auditor verify FILE [--pubkey NAME.pub | --sign-key FILE]`: is this JSON report exactly as auditor wrote it?

Exit 0 with one "OK" line when the SHA-256 digest matches the content (and, with a key, the signature: Ed25519
checked with the public key alone, or the HMAC-SHA256 of earlier versions with its shared key) and the file's
bytes are exactly what auditor writes for that content; exit 1 with a clear message when anything was changed or
the signature is not that key's; exit 2 when FILE is not a JSON report (HTML, Markdown, XLSX and CSV reports show
the digest of the JSON report they were rendered from). An inspector's .zip bundle is checked by
auditor.inspector.bundle (manifest, signature, report digest, container bytes).

``--lang`` sets the language of the lines (Chinese by default, as every command); the ``OK:`` and ``ALTERED:`` that
begin them are the same in every language (scripts read them)."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from .. import boundedjson, safeio
from ..core.options import existing_file
from ..errors import UsageError
from ..inspector.bundle import MAX_BUNDLE_BYTES, verify_bundle
from ..integrity import CANONICALIZATIONS, KEYS, check, signature_kind, signed_by
from ..messages import Text, Worded, localized
from ..render.json_report import render as render_json, render_indented
from ..report_input import MAX_BYTES, sealed_shape_problem
from ..signing import VerifyKey, read_verify_key, signature_bytes
from ..terminal import echo
from .options import add_lang, add_sign_key

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check a report's or bundle's digest (and signature)")
    p.add_argument("file", type=existing_file, metavar="FILE")
    p.add_argument("--pubkey", type=existing_file, metavar="NAME.pub",
                   help="Ed25519 public key (auditor keygen): the signature must be this key's")
    add_sign_key(p, "HMAC key file of earlier versions (or the Ed25519 private key)")
    add_lang(p, "language of the lines after OK: / ALTERED: (default: zh)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path, lang = Path(args.file), args.lang
    key = read_verify_key(args.pubkey, args.sign_key)
    try:
        fh = safeio.open_regular(path, max_size=max(MAX_BUNDLE_BYTES, MAX_BYTES))
    except OSError as exc:
        raise UsageError("usage.cannot_read", path=path, why=Worded(safeio.reason_of(exc))) from None
    with fh:
        head = fh.read(4)
        if path.suffix.lower() == ".zip" or head[:2] == b"PK":  # an inspector's bundle
            fh.seek(0)
            return verify_bundle(path, fh, key, lang)
        size = os.fstat(fh.fileno()).st_size
        if size > MAX_BYTES:
            raise UsageError("usage.verify.too_large_bytes", path=path, size=size, MAX_BYTES=MAX_BYTES)
        data = head + fh.read()
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    looks_json = (path.suffix.lower() == ".json" or body.lstrip()[:1] == b"{"
                  or b'"schema_version"' in body[:256])  # a report whose first byte was changed
    if not looks_json:
        raise UsageError("usage.verify.not_json", path=path)
    try:
        report = boundedjson.loads(data)
    except boundedjson.OutOfBounds as exc:
        if exc.too_large:
            raise UsageError("usage.verify.too_large", path=path, why=exc.reason) from None
        if exc.reason.startswith(("not valid JSON", "not UTF-8")):
            return _altered(path, [Text("verify.not_json_now", why=exc.reason)], lang)
        return _altered(path, [Text("verify.not_written_shape", why=exc.reason)], lang)
    if not isinstance(report, dict) or "schema_version" not in report or "findings" not in report:
        raise UsageError("usage.verify.not_report", path=path)

    integ = report.get("integrity")
    problems = block_problems(integ) + check(report, key)
    if not problems and render_json(report) != data and render_indented(report) != data:  # either layout
        problems.append(Text("verify.bytes_differ"))
    if not problems:
        problems += _shape_problems(path, report)
    if problems:
        return _altered(path, problems, lang)
    echo("OK: " + Text("verify.intact", path=path, digest=integ["digest"], how=how_signed(integ, key)).text(lang))
    return 0


def how_signed(integ: dict[str, Any], key: VerifyKey | None) -> Text:
    """'signature valid (…)', 'signed (…), signature not checked (…)' or 'not signed', for the OK lines."""
    by = signed_by(integ)
    if not by:
        return Text("verify.not_signed")
    if key is not None:
        return Text("verify.signature_valid", by=by)
    hint = "--pubkey" if signature_kind(integ) == "ed25519" else "--sign-key"
    return Text("verify.not_checked", by=by, hint=hint)


def block_problems(integ: Any) -> list[str]:
    """What is wrong with the shape of an integrity block (the digest itself is checked by integrity.check)."""
    if not isinstance(integ, dict) or "digest" not in integ:
        return []
    problems = []
    if integ.get("algorithm") != "sha256" or integ.get("canonicalization") not in CANONICALIZATIONS:
        problems.append(Text("verify.block_algorithm"))
    if not _HEX64.match(str(integ.get("digest"))) or ("hmac_sha256" in integ and
                                                      not _HEX64.match(str(integ["hmac_sha256"]))):
        problems.append(Text("verify.block_malformed"))
    if "ed25519" in integ and not _ed25519_block_ok(integ["ed25519"]):
        problems.append(Text("verify.block_ed25519_malformed"))
    if "ed25519" in integ and "hmac_sha256" in integ:
        problems.append(Text("verify.block_two_signatures"))
    if set(integ) - KEYS:
        problems.append(Text("verify.block_unexpected_keys", keys=", ".join(sorted(set(integ) - KEYS))))
    return problems


def _ed25519_block_ok(block: Any) -> bool:
    if not isinstance(block, dict) or set(block) != {"public_key_sha256", "signature"}:
        return False
    return bool(_HEX64.match(str(block["public_key_sha256"]))) and signature_bytes(block["signature"]) is not None


def _shape_problems(path: Path, report: dict) -> list[str]:
    why = sealed_shape_problem(report)
    if why and why.startswith("too many"):
        raise UsageError("usage.verify.too_large", path=path, why=why)
    return [Text("verify.sealed_not_shape", why=why)] if why else []


def _altered(path: Path, problems: list[str], lang: str) -> int:
    echo(f"auditor verify: ALTERED: {path}: " + "; ".join(localized(p, lang) for p in problems), err=True)
    return 1
