"""The inspector's bundle: a ZIP holding the report (JSON + HTML), the checklist answers, host facts and a
manifest with each file's SHA-256, signed when a key is given (Ed25519 over the manifest's RFC 8785 canonical
JSON: the public key alone verifies; or, as before, HMAC-SHA256 with a shared secret); and its verification.

The ZIP is written by hand, deterministically (stored members, fixed timestamps and attributes, UTF-8 names),
so that `auditor verify` can rebuild the container's structure from its members and compare it byte for byte: a
change of any single byte, in a member or in the ZIP structure, is caught. Members are extracted owner-only
(0600).

A bundle to verify may come from anyone, so it is read within bounds and never inflated: the end record and the
central directory are parsed here (no ZIP64, at most ``MAX_MEMBERS`` members), the manifest is read first and
checked, every member's declared size is bounded before a byte of it is read, a compressed member is a change
(auditor stores members: nothing is ever decompressed, so no ratio can explode), and members are hashed as
they stream by, in 1 MiB pieces. Only report.json (at most auditor.report_input.MAX_BYTES) is held in memory."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .. import boundedjson, canonical_json
from ..errors import UsageError
from ..fleet.texts import shown
from ..integrity import check, ed25519_problem, signature_kind
from ..messages import Text, localized
from ..report_input import MAX_BYTES as MAX_REPORT_BYTES, sealed_shape_problem
from ..signing import HmacKey, SigningKey, VerifyKey, signer, verifier
from ..terminal import echo

FORMAT = "yuncang-auditor-inspection-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_BUNDLE_BYTES = 160 << 20  # the whole ZIP
MAX_MEMBERS = 16  # an auditor bundle has 5
MAX_MEMBER_BYTES = 96 << 20  # one member (report.html of the largest report)
MAX_MANIFEST_BYTES = 1 << 20
_LIMITS = {MANIFEST: MAX_MANIFEST_BYTES, "report.json": MAX_REPORT_BYTES}
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00, the ZIP epoch
_FLAGS = 0x800  # names are UTF-8
_MADE_BY = (3 << 8) | 20  # Unix, ZIP 2.0
_EXTERNAL = (0o100600 << 16)  # regular file, owner read/write only
_LOCAL, _CENTRAL, _END = 0x04034B50, 0x02014B50, 0x06054B50
_PIECE = 1 << 20


def json_bytes(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _local_header(raw: bytes, crc: int, size: int) -> bytes:
    return struct.pack("<IHHHHHIIIHH", _LOCAL, 20, _FLAGS, 0, _DOS_TIME, _DOS_DATE, crc, size, size, len(raw), 0) + raw


def _central_entry(raw: bytes, crc: int, size: int, offset: int) -> bytes:
    return struct.pack("<IHHHHHHIIIHHHHHII", _CENTRAL, _MADE_BY, 20, _FLAGS, 0, _DOS_TIME, _DOS_DATE, crc, size, size,
                       len(raw), 0, 0, 0, 0, _EXTERNAL, offset) + raw


def _end_record(count: int, central_size: int, central_offset: int) -> bytes:
    return struct.pack("<IHHHHIIH", _END, 0, 0, count, count, central_size, central_offset, 0)


def build_zip(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray()
    central = bytearray()
    for name, data in members:
        raw = name.encode("utf-8")
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        out += _local_header(raw, crc, len(data)) + data
        central += _central_entry(raw, crc, len(data), offset)
    return bytes(out + central + _end_record(len(members), len(central), len(out)))


#: how the signed bytes of a manifest are made: RFC 8785 from this version on, Python's sorted JSON before
JCS, LEGACY = "rfc8785-without-signature", "json-sorted-keys-compact-utf8-without-signature"
_CANONICAL = {JCS: canonical_json.jcs, LEGACY: canonical_json.legacy}


def _canonical(manifest: dict[str, Any], canonicalization: str = JCS) -> bytes:
    """The manifest without its signature, canonicalized: the bytes the signature is over."""
    return _CANONICAL[canonicalization]({k: v for k, v in manifest.items() if k != "signature"})


def make_bundle(files: list[tuple[str, bytes]], meta: dict[str, Any], key: SigningKey | bytes | None) -> bytes:
    """The bundle's bytes; signed with an Ed25519 private key (the public key alone verifies) or, as before, an
    HMAC secret."""
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, **meta,
        "files": [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files],
    }
    key = signer(key)
    if isinstance(key, HmacKey):
        manifest["signature"] = {"algorithm": "hmac-sha256", "canonicalization": JCS,
                                 "value": key.mac(_canonical(manifest))}
    elif key is not None:
        sig = key.sign(_canonical(manifest))
        manifest["signature"] = {"algorithm": "ed25519", "canonicalization": JCS,
                                 "public_key_sha256": sig["public_key_sha256"], "value": sig["signature"]}
    return build_zip([*files, (MANIFEST, json_bytes(manifest))])


def _signature_problem(manifest: dict[str, Any], key: VerifyKey) -> str | None:
    """Why the manifest's signature is not ``key``'s; None when it is."""
    sig = manifest.get("signature")
    if not isinstance(sig, dict) or "value" not in sig:
        return Text("verify.bundle_not_signed")
    canonicalization = sig.get("canonicalization")
    if canonicalization not in _CANONICAL:
        return Text("verify.bundle_canonicalization")
    data = _canonical(manifest, canonicalization)
    if isinstance(key, HmacKey):
        if sig.get("algorithm") != "hmac-sha256":
            return Text("verify.ed25519_not_hmac")
        if not key.matches(data, sig["value"]):
            return Text("verify.hmac_mismatch")
        return None
    if sig.get("algorithm") != "ed25519":
        return Text("verify.not_ed25519", what=Text("verify.the_bundle"))
    return ed25519_problem({"public_key_sha256": sig.get("public_key_sha256"), "signature": sig["value"]}, data,
                           key, Text("verify.the_bundle"))


class _Unreadable(Exception):
    pass


@dataclass
class _Member:
    name: str
    raw: bytes
    method: int
    crc: int
    size: int  # compressed size (what is stored)
    usize: int
    offset: int


def _read_at(fh: BinaryIO, offset: int, n: int) -> bytes:
    fh.seek(offset)
    return fh.read(n)


def _directory(fh: BinaryIO, size: int) -> tuple[list[_Member], tuple[int, int, int]]:
    """The members listed in the central directory, and (count, central size, central offset); _Unreadable when
    the end record or the directory is missing, damaged, ZIP64 or larger than a bundle's."""
    tail_len = min(size, 22 + 0xFFFF)
    tail = _read_at(fh, size - tail_len, tail_len)
    at = tail.rfind(struct.pack("<I", _END))
    if at < 0 or len(tail) - at < 22:
        raise _Unreadable("no end of central directory: not a ZIP file, or cut short")
    _sig, disk, cd_disk, n_disk, count, cd_size, cd_offset, comment = struct.unpack("<IHHHHIIH", tail[at:at + 22])
    if disk or cd_disk or n_disk != count or 0xFFFF in (count, n_disk) or 0xFFFFFFFF in (cd_size, cd_offset):
        raise _Unreadable("a multi-part or ZIP64 archive")
    end_pos = size - tail_len + at
    if cd_offset + cd_size != end_pos or at + 22 + comment != len(tail):
        raise _Unreadable("the central directory is not where the end record says")
    if cd_size > 4096 * (46 + 1024):
        raise _Unreadable(f"a central directory of {cd_size} bytes")
    cd = _read_at(fh, cd_offset, cd_size)
    members, pos = [], 0
    for _ in range(count):
        if len(cd) - pos < 46:
            raise _Unreadable("the central directory is cut short")
        (sig, _made, _need, _flags, method, _t, _d, crc, csize, usize, n_name, n_extra, n_comment, _dn, _ia, _ea,
         offset) = struct.unpack("<IHHHHHHIIIHHHHHII", cd[pos:pos + 46])
        if sig != _CENTRAL or len(cd) - pos < 46 + n_name + n_extra + n_comment:
            raise _Unreadable("a damaged central directory entry")
        raw = cd[pos + 46:pos + 46 + n_name]
        members.append(_Member(raw.decode("utf-8", "backslashreplace"), raw, method, crc, csize, usize, offset))
        pos += 46 + n_name + n_extra + n_comment
    if pos != len(cd):
        raise _Unreadable("the central directory holds more than its entries")
    return members, (count, cd_size, cd_offset)


def _data_start(fh: BinaryIO, m: _Member, size: int) -> int:
    head = _read_at(fh, m.offset, 30)
    if len(head) < 30 or struct.unpack("<I", head[:4])[0] != _LOCAL:
        raise _Unreadable(f"{m.name}: no local header where the directory says")
    n_name, n_extra = struct.unpack("<HH", head[26:30])
    start = m.offset + 30 + n_name + n_extra
    if start + m.size > size:
        raise _Unreadable(f"{m.name}: declared larger than the bundle")
    return start


def _stream(fh: BinaryIO, start: int, length: int, keep: bool) -> tuple[str, int, bytes | None]:
    """(SHA-256, CRC-32, the bytes when ``keep``) of ``length`` stored bytes, read in pieces."""
    sha, crc, kept = hashlib.sha256(), 0, bytearray() if keep else None
    fh.seek(start)
    left = length
    while left:
        piece = fh.read(min(_PIECE, left))
        if not piece:
            raise _Unreadable("a member is cut short")
        sha.update(piece)
        crc = zlib.crc32(piece, crc)
        if kept is not None:
            kept += piece
        left -= len(piece)
    return sha.hexdigest(), crc & 0xFFFFFFFF, bytes(kept) if kept is not None else None


class _Malformed(ValueError):
    """What is wrong with a manifest's shape, in words (no value of it quoted)."""


def _listed(manifest: Any) -> list[tuple[str, int, str]]:
    """(name, size, SHA-256) of each file the manifest lists; :class:`_Malformed` saying what is wrong."""
    if not isinstance(manifest, dict):
        raise _Malformed(f"a JSON {type(manifest).__name__}, not an object")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise _Malformed('no "files" list' if files is None else '"files" is not a list')
    if len(files) > MAX_MEMBERS:
        raise _Malformed(f'"files" lists {len(files)} entries; a bundle holds at most {MAX_MEMBERS}')
    out = []
    for i, f in enumerate(files, 1):
        if not isinstance(f, dict):
            raise _Malformed(f'"files" entry {i} is not an object')
        name, size, digest = f.get("name"), f.get("size"), f.get("sha256")
        if not isinstance(name, str):
            raise _Malformed(f'"files" entry {i}: "name" missing or not a text')
        if type(size) is not int or size < 0:
            raise _Malformed(f'"files" entry {i}: "size" missing or not a whole number of bytes')
        if not isinstance(digest, str):
            raise _Malformed(f'"files" entry {i}: "sha256" missing or not a text')
        out.append((name, size, digest))
    return out


def check_bundle(data: bytes, key: VerifyKey | SigningKey | bytes | None) -> tuple[list[str], dict[str, Any]]:
    """:func:`check_bundle_file` on bytes in memory."""
    return check_bundle_file(io.BytesIO(data), len(data), key)


def check_bundle_file(fh: BinaryIO, size: int, key: VerifyKey | SigningKey | bytes | None) -> tuple[list[str], dict[str, Any]]:
    """(problems, facts). No problems: every member is listed in the manifest with its SHA-256, the report's
    own digest holds (and it is a valid report), the signature matches (with a key), and the container is byte
    for byte what auditor writes for these members."""
    facts: dict[str, Any] = {}
    try:
        members, _end = _directory(fh, size)
    except _Unreadable as exc:
        return [Text("verify.bundle_unreadable", exc=exc)], facts
    names = [m.name for m in members]
    by_name = {m.name: m for m in members}
    if MANIFEST not in by_name and "report.json" not in by_name:
        raise UsageError("usage.verify.zip_not_bundle")
    if len(members) > MAX_MEMBERS:
        return [Text("verify.bundle_too_many", count=len(members), limit=MAX_MEMBERS)], facts
    if len(by_name) != len(members):
        return [Text("verify.bundle_name_twice")], facts
    if MANIFEST not in by_name:
        return [Text("verify.bundle_no_manifest")], facts
    try:
        contents = _contents(fh, size, members)
    except _Unreadable as exc:
        return [Text("verify.bundle_unreadable", exc=exc)], facts
    try:
        manifest = boundedjson.loads(contents[MANIFEST].body, boundedjson.Limits(max_bytes=MAX_MANIFEST_BYTES))
    except boundedjson.OutOfBounds as exc:
        return [Text("verify.manifest_not_json", why=exc.reason)], facts
    try:
        listed = _listed(manifest)
    except _Malformed as exc:
        return [Text("verify.manifest_malformed", exc=exc)], facts
    problems: list[str] = [p for c in contents.values() for p in c.problems]
    if manifest.get("format") != FORMAT:
        problems.append(Text("verify.manifest_format", format=FORMAT))
    facts.update(manifest=manifest, files=len(listed))
    expected = [n for n, _, _ in listed] + [MANIFEST]
    if names != expected:
        extra = [n for n in names if n not in expected]
        missing = [n for n in expected if n not in names]
        which = "differ" if extra and missing else "not_listed" if extra else "missing" if missing else "order"
        problems.append(Text(f"verify.members_{which}", not_listed=", ".join(extra), missing=", ".join(missing)))
    for name, size_, digest in listed:
        c = contents.get(name)
        if c is None or c.problems:
            continue
        if c.length != size_ or c.sha256 != digest:
            problems.append(Text("verify.member_altered", name=name))
    if json_bytes(manifest) != contents[MANIFEST].body:
        problems.append(Text("verify.manifest_edited"))
    sig = manifest.get("signature")
    facts["signed"] = isinstance(sig, dict)
    facts["signature"] = sig if isinstance(sig, dict) else None
    key = verifier(key)
    if key is not None:
        problem = _signature_problem(manifest, key)
        if problem:
            problems.append(problem)
    problems += _report_problems(contents.get("report.json"), key, facts)
    if not problems and not _same_container(fh, size, members):
        problems.append(Text("verify.container_differs"))
    return problems, facts


@dataclass
class _Content:
    length: int = 0
    sha256: str = ""
    body: bytes | None = None
    problems: tuple[str, ...] = ()


def _contents(fh: BinaryIO, size: int, members: list[_Member]) -> dict[str, _Content]:
    """Each member hashed as it streams by (the manifest and report.json kept); a member that is compressed,
    declared larger than its bound or than the bundle, or whose CRC does not match is not read further and
    carries its problem."""
    out: dict[str, _Content] = {}
    for m in sorted(members, key=lambda m: m.name != MANIFEST):  # the manifest first
        limit = _LIMITS.get(m.name, MAX_MEMBER_BYTES)
        if m.method != 0:
            out[m.name] = _Content(problems=(Text("verify.member_compressed", name=m.name),))
            continue
        if m.size != m.usize or m.size > limit:
            out[m.name] = _Content(problems=(Text("verify.member_too_large", name=m.name, size=m.usize, limit=limit),))
            continue
        start = _data_start(fh, m, size)
        digest, crc, body = _stream(fh, start, m.size, keep=m.name in _LIMITS)
        problems = () if crc == m.crc else (Text("verify.member_crc", name=m.name),)
        out[m.name] = _Content(m.size, digest, body, problems)
    if out[MANIFEST].problems:
        raise _Unreadable(out[MANIFEST].problems[0])
    return out


def _report_problems(content: _Content | None, key: VerifyKey | None, facts: dict[str, Any]) -> list[str]:
    if content is None:
        return [Text("verify.report_missing")]
    if content.problems or content.body is None:
        return []
    try:
        report = boundedjson.loads(content.body)
    except boundedjson.OutOfBounds as exc:
        return [Text("verify.report_not_json", why=exc.reason)]
    if not isinstance(report, dict):
        return [Text("verify.report_not_report")]
    integ = report.get("integrity")
    signed = signature_kind(integ) is not None
    problems = [Text("verify.in_report_json", problem=p) for p in check(report, key if (key and signed) else None)]
    facts["report_digest"] = integ.get("digest") if isinstance(integ, dict) else None
    if not problems:
        why = sealed_shape_problem(report)
        if why:
            problems.append(Text("verify.in_report_json", problem=Text("verify.sealed_not_shape", why=why)))
    return problems


def _same_container(fh: BinaryIO, size: int, members: list[_Member]) -> bool:
    """The headers, central directory and end record are exactly those auditor writes for these members (their
    data was hashed against the manifest already): compared piece by piece, nothing rebuilt in memory."""
    pos, central = 0, bytearray()
    for m in members:
        head = _local_header(m.raw, m.crc, m.size)
        if m.offset != pos or _read_at(fh, pos, len(head)) != head:
            return False
        central += _central_entry(m.raw, m.crc, m.size, pos)
        pos += len(head) + m.size
    expected = bytes(central) + _end_record(len(members), len(central), pos)
    return pos + len(expected) == size and _read_at(fh, pos, len(expected)) == expected


def verify_bundle(path: Path, fh: BinaryIO, key: VerifyKey | None, lang: str = "en") -> int:
    """`auditor verify BUNDLE.zip`: 0 with one OK line, 1 with the problems on stderr (in ``lang`` after the
    ``OK:`` / ``ALTERED:`` that scripts read)."""
    problems, facts = check_bundle_file(fh, os.fstat(fh.fileno()).st_size, key)
    if problems:  # member names: shown, not obeyed
        echo(f"auditor verify: ALTERED: {path}: " + "; ".join(localized(p, lang) for p in problems), err=True)
        return 1
    sig = facts.get("signature")
    if sig is None:
        how = Text("verify.not_signed")
    else:
        by = (Text("verify.by_ed25519", key_id=str(sig.get("public_key_sha256"))[:16])
              if sig.get("algorithm") == "ed25519" else "HMAC")
        hint = "--pubkey" if sig.get("algorithm") == "ed25519" else "--sign-key"
        how = Text("verify.signature_valid", by=by) if key else Text("verify.not_checked", by=by, hint=hint)
    m = facts["manifest"]
    echo("OK: " + Text("verify.bundle_intact", path=path, files=facts["files"],
                       created=shown(str(m.get("created_at")), 40), host=shown(str(m.get("host")), 100),
                       digest=facts.get("report_digest"), how=how).text(lang))
    return 0
