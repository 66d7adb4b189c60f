"""The inspector's bundle: a ZIP holding the report (JSON + HTML), the checklist answers, host facts and a
manifest with each file's SHA-256, signed with HMAC-SHA256 when a key is given; and its verification.

The ZIP is written by hand, deterministically (stored members, fixed timestamps and attributes, UTF-8 names),
so that `auditor verify` can rebuild the container from its members and compare it byte for byte: a change of
any single byte, in a member or in the ZIP structure, is caught. Members are extracted owner-only (0600)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from ..terminal import echo

FORMAT = "yuncang-auditor-inspection-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00, the ZIP epoch
_FLAGS = 0x800  # names are UTF-8
_MADE_BY = (3 << 8) | 20  # Unix, ZIP 2.0
_EXTERNAL = (0o100600 << 16)  # regular file, owner read/write only


def json_bytes(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def build_zip(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray()
    central = bytearray()
    for name, data in members:
        raw = name.encode("utf-8")
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, _FLAGS, 0, _DOS_TIME, _DOS_DATE, crc, len(data), len(data),
                           len(raw), 0) + raw + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _MADE_BY, 20, _FLAGS, 0, _DOS_TIME, _DOS_DATE, crc,
                               len(data), len(data), len(raw), 0, 0, 0, 0, _EXTERNAL, offset) + raw
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + eocd)


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def make_bundle(files: list[tuple[str, bytes]], meta: dict[str, Any], key: bytes | None) -> bytes:
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, **meta,
        "files": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files],
    }
    if key:
        manifest["signature"] = {"algorithm": "hmac-sha256",
                                 "canonicalization": "json-sorted-keys-compact-utf8-without-signature",
                                 "value": hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()}
    return build_zip([*files, (MANIFEST, json_bytes(manifest))])


def check_bundle(data: bytes, key: bytes | None) -> tuple[list[str], dict[str, Any]]:
    """(problems, facts). No problems: every member is listed in the manifest with its SHA-256, the report's
    own digest holds, the signature matches (with a key), and the container is byte for byte what auditor
    writes for these members."""
    facts: dict[str, Any] = {}
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = [i.filename for i in zf.infolist()]
        contents = {n: zf.read(n) for n in names}
    except Exception as exc:  # noqa: BLE001 - any damage to the container shows up as some exception
        return [f"not a readable ZIP bundle ({type(exc).__name__}: {exc})"], facts
    if MANIFEST not in contents and "report.json" not in contents:
        from ..errors import UsageError

        raise UsageError("a ZIP file that is not an auditor bundle (no manifest.json, no report.json); verify a JSON "
                         "report or an inspector's bundle")
    if MANIFEST not in contents:
        return ["no manifest.json: the bundle's manifest was removed"], facts
    try:
        manifest = json.loads(contents[MANIFEST].decode("utf-8"))
        listed = [(f["name"], int(f["size"]), str(f["sha256"])) for f in manifest["files"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return [f"manifest.json is malformed ({type(exc).__name__})"], facts
    problems: list[str] = []
    if manifest.get("format") != FORMAT:
        problems.append(f"manifest format is {manifest.get('format')!r}, not {FORMAT!r}")
    facts.update(manifest=manifest, files=len(listed))
    expected = [n for n, _, _ in listed] + [MANIFEST]
    if names != expected:
        extra = [n for n in names if n not in expected]
        missing = [n for n in expected if n not in names]
        problems.append("members differ from the manifest"
                        + (f"; not listed: {', '.join(extra)}" if extra else "")
                        + (f"; missing: {', '.join(missing)}" if missing else "")
                        + ("; order changed" if not extra and not missing else ""))
    for name, size, digest in listed:
        body = contents.get(name)
        if body is None:
            continue
        if len(body) != size or hashlib.sha256(body).hexdigest() != digest:
            problems.append(f"{name}: SHA-256 does not match the manifest (altered)")
    if json_bytes(manifest) != contents[MANIFEST]:
        problems.append("manifest.json is not in the form auditor writes (edited)")
    sig = manifest.get("signature")
    facts["signed"] = isinstance(sig, dict)
    if key is not None:
        if not isinstance(sig, dict) or "value" not in sig:
            problems.append("the bundle is not signed (no HMAC signature in the manifest)")
        elif not hmac.compare_digest(str(sig["value"]),
                                     hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()):
            problems.append("HMAC signature does not match: altered, or signed with another key")
    if "report.json" in contents:
        from ..integrity import check

        try:
            report = json.loads(contents["report.json"].decode("utf-8"))
            signed = isinstance(report.get("integrity"), dict) and "hmac_sha256" in report["integrity"]
            problems += [f"report.json: {p}" for p in check(report, key if (key and signed) else None)]
            facts["report_digest"] = (report.get("integrity") or {}).get("digest")
        except (ValueError, AttributeError) as exc:
            problems.append(f"report.json is not valid JSON ({exc})")
    else:
        problems.append("report.json is missing")
    if not problems and build_zip([(n, contents[n]) for n in names]) != data:
        problems.append("the ZIP container's bytes differ from what auditor writes (headers, padding or a comment "
                        "were changed)")
    return problems, facts


def verify_bundle(path: Path, data: bytes, key: bytes | None) -> int:
    """`auditor verify BUNDLE.zip`: 0 with one OK line, 1 with the problems on stderr."""
    problems, facts = check_bundle(data, key)
    if problems:
        echo(f"auditor verify: ALTERED: {path}: " + "; ".join(problems), err=True)  # member names: shown, not obeyed
        return 1
    how = ("signature valid" if key else "signed, signature not checked (no --sign-key)") if facts.get("signed") \
        else "not signed"
    m = facts["manifest"]
    echo(f"OK: {path} is intact ({facts['files']} files as listed in its manifest, created {m.get('created_at')} "
         f"on {m.get('host')}; report SHA-256 {facts.get('report_digest')}; {how})")
    return 0
