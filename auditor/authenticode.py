"""The Authenticode signer of a Windows executable: the subject of the certificate that signed it, read from the
PE certificate table (the security data directory: WIN_CERTIFICATE entries holding PKCS #7 SignedData) with
pefile and asn1crypto, so that a renamed vendor binary whose version info was stripped or altered is still named
by who signed it.

The signature is **not verified**: a self-made certificate can carry any subject. That is enough here, because a
signer is only ever used to *name* a binary as a remote-control tool (a finding), never to clear one: forging a
vendor's subject can only make the agent report a program, not hide one. The same code runs on Linux, on a
``--root`` copy of a Windows disk and in the Windows build (WinVerifyTrust would verify the chain but works on
the live system only, needs the catalog files of the machine and is not what Wine implements); see
auditor.remote's signer matching.

Bounds: the certificate table is read only up to MAX_TABLE bytes (real ones are 5–30 KB), at most MAX_ENTRIES
entries and MAX_CERTS certificates per signature are looked at; anything malformed is simply no signer."""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_TABLE = 1 << 20
MAX_ENTRIES = 8
MAX_CERTS = 64
SECURITY_DIRECTORY = 4  # IMAGE_DIRECTORY_ENTRY_SECURITY
WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002


@dataclass(frozen=True)
class Signer:
    common_name: str
    organization: str
    issuer: str

    def names(self) -> tuple[str, ...]:
        """The subject names a catalog's ``signers`` may list (common name, organisation)."""
        return tuple(n for n in (self.common_name, self.organization) if n)

    def to_dict(self) -> dict[str, str | bool]:
        return {"subject": self.common_name, "organization": self.organization, "issuer": self.issuer,
                "verified": False}


def certificate_table(data: bytes) -> bytes:
    """The raw certificate table of a PE image held in ``data`` (b"" when there is none)."""
    # deferred: pefile is needed only for executables, never by the other areas
    import pefile

    try:
        pe = pefile.PE(data=data, fast_load=True)
    except pefile.PEFormatError:
        return b""
    # never pe.close(): parsed from bytes, it holds no file or mapping, and close() runs a full gc.collect()
    # (30 ms per executable under Wine)
    dirs = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    if len(dirs) <= SECURITY_DIRECTORY:
        return b""
    entry = dirs[SECURITY_DIRECTORY]
    offset, size = entry.VirtualAddress, entry.Size  # a file offset, not an RVA, for this directory
    if not offset or not size or offset >= len(data):
        return b""
    return data[offset:offset + min(size, MAX_TABLE)]


def signers(data: bytes) -> list[Signer]:
    """The signer of each PKCS #7 signature in a PE image's certificate table, in order."""
    out: list[Signer] = []
    table = certificate_table(data)
    pos = 0
    for _ in range(MAX_ENTRIES):
        if pos + 8 > len(table):
            break
        length, _revision, kind = struct.unpack_from("<IHH", table, pos)
        if length < 8 or pos + length > len(table):
            break
        if kind == WIN_CERT_TYPE_PKCS_SIGNED_DATA:
            signer = _signer(table[pos + 8:pos + length])
            if signer is not None:
                out.append(signer)
        pos += (length + 7) & ~7  # entries are 8-byte aligned
    return out


def _signer(blob: bytes) -> Signer | None:
    # deferred with pefile above: asn1crypto parses a signature only when an executable carries one
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(blob)
        if info["content_type"].native != "signed_data":
            return None
        signed = info["content"]
        signer_infos = signed["signer_infos"]
        if not len(signer_infos):
            return None
        sid = signer_infos[0]["sid"]
        if sid.name != "issuer_and_serial_number":
            return None
        issuer, serial = sid.chosen["issuer"], sid.chosen["serial_number"].native
        certs = signed["certificates"]
        for i, choice in enumerate(certs if certs is not None else []):
            if i >= MAX_CERTS:
                break
            if choice.name != "certificate":
                continue
            cert = choice.chosen
            if cert.serial_number == serial and cert.issuer == issuer:
                subject = cert.subject.native
                return Signer(_text(subject.get("common_name")), _text(subject.get("organization_name")),
                              _text(cert.issuer.native.get("common_name")))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
        return None  # asn1crypto parses lazily: a malformed signature surfaces here
    return None


def _text(value) -> str:
    if isinstance(value, list):  # a name may carry the attribute more than once
        value = value[0] if value else ""
    return str(value or "").strip()[:200]


def norm_signer(name: str) -> str:
    """A signer name as compared with the catalog: case, spaces and trailing punctuation ignored
    ("AnyDesk Software GmbH" = "anydesk software gmbh", "Co., Ltd" = "Co., Ltd.")."""
    return " ".join(name.casefold().split()).rstrip(" .")
