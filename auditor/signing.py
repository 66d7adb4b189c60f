"""Keys that seal reports and inspector bundles, and the signatures they make.

Two kinds of key:

* **Ed25519** (RFC 8032): ``auditor keygen --out NAME`` writes ``NAME.key`` (the private key, PKCS#8 PEM,
  owner-only) and ``NAME.pub`` (the public key, SubjectPublicKeyInfo PEM). The private key signs; the public key
  alone verifies, and cannot sign: whoever verifies a bundle cannot forge one.
* **HMAC-SHA256** with a shared secret (the key files of earlier versions): whoever can verify can also sign.
  Still read, so that old material verifies.

``--sign-key FILE`` tells them apart by content: a file that starts (after whitespace) with a PEM private-key line
(``-----BEGIN … PRIVATE KEY-----``) is a private key, and must be an unencrypted PKCS#8 Ed25519 key (as
``auditor keygen`` and ``openssl genpkey -algorithm ed25519`` write it; any other private key is refused); a PEM
public key is refused (it verifies, give it to ``--pubkey``); any other content is an HMAC secret (at least 16
bytes), by this rule (:func:`hmac_secret`):

* the file's bytes, verbatim (``head -c 32 /dev/urandom > site.key`` is a key, whatever bytes it drew);
* except a text key: a file that ends with one ``\\n`` or ``\\r\\n`` and is, before it, UTF-8 text whose every
  character is printable (spaces included): that one line ending is not part of the key (``echo
  0123456789abcdef-site > site.key`` and the same text without the newline are one key). Nothing else is
  removed: leading or trailing spaces stay in the key, and a file with a second newline, a tab, a BOM or any
  other control character is not a text key (all its bytes are the key).

An outside verifier computes HMAC-SHA256 over the canonical bytes with the same secret. Versions before this rule
stripped all surrounding whitespace (bytes 0x09-0x0D and 0x20) from the file; when a key file's stripped bytes
differ from its secret, that earlier secret is also accepted when *verifying* (reports and bundles signed by
earlier versions still verify), never used to sign. A key file is an input from outside: it is read through
auditor.safeio (no FIFO, device or user's link; at most 1 MiB) and its bytes are never shown."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from .errors import UsageError
from .durable import write_bytes
from .safeio import read_input

MAX_KEY_FILE = 1 << 20
MIN_HMAC_KEY = 16
_PEM_PRIVATE = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_PUBLIC = re.compile(rb"-----BEGIN [A-Z0-9 ]*PUBLIC KEY-----")


def _crypto():
    """cryptography's exceptions, serialization and Ed25519 modules. Deferred on purpose: importing cryptography
    (its Rust extension and some 40 modules) is a large share of a short scan's start under Wine, and only Ed25519
    keys need it (a scan without ``--sign-key``, or with an HMAC key, never does)."""
    from cryptography import exceptions
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return exceptions, serialization, ed25519


@dataclass(frozen=True)
class HmacKey:
    """A shared secret: signs and verifies with HMAC-SHA256."""

    secret: bytes = field(repr=False)
    legacy: bytes | None = field(default=None, repr=False)  # the key file as earlier versions read it (verify only)
    kind = "hmac"

    def mac(self, data: bytes) -> str:
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()

    def matches(self, data: bytes, mac: Any) -> bool:
        given = str(mac).encode("utf-8", "replace")
        if hmac.compare_digest(given, self.mac(data).encode()):
            return True
        old = hmac.new(self.legacy, data, hashlib.sha256).hexdigest() if self.legacy else ""
        return bool(old) and hmac.compare_digest(given, old.encode())


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key (32 raw bytes): verifies, never signs."""

    raw: bytes
    kind = "ed25519"

    @property
    def key_id(self) -> str:
        """SHA-256 of the raw public key, in hex: names the key in reports and bundles."""
        return hashlib.sha256(self.raw).hexdigest()

    def verifies(self, data: bytes, signature: Any) -> bool:
        """True when ``signature`` (base64 text, as sealed) is this key's Ed25519 signature of ``data``."""
        sig = signature_bytes(signature)
        if sig is None:
            return False
        exceptions, _, ed25519 = _crypto()
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.raw).verify(sig, data)
        except (exceptions.InvalidSignature, ValueError):
            return False
        return True

    def pem(self) -> bytes:
        _, serialization, ed25519 = _crypto()
        return ed25519.Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class PrivateKey:
    """An Ed25519 private key (32 raw bytes): signs; its public half verifies."""

    raw: bytes = field(repr=False)
    kind = "ed25519"

    @property
    def public(self) -> PublicKey:
        _, serialization, ed25519 = _crypto()
        key = ed25519.Ed25519PrivateKey.from_private_bytes(self.raw).public_key()
        return PublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    def sign(self, data: bytes) -> dict[str, str]:
        """The signature block: the public key's id and the signature of ``data`` in base64."""
        sig = _crypto()[2].Ed25519PrivateKey.from_private_bytes(self.raw).sign(data)
        return {"public_key_sha256": self.public.key_id, "signature": base64.b64encode(sig).decode("ascii")}

    def pem(self) -> bytes:
        _, serialization, ed25519 = _crypto()
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.raw).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def signature_bytes(text: Any) -> bytes | None:
    """The 64 bytes of an Ed25519 signature written in base64 as auditor writes it (padded, no other spelling of
    the same bytes: a changed character is never read as the same signature); None for anything else."""
    if not isinstance(text, str) or len(text) != 88:
        return None
    try:
        sig = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return sig if len(sig) == 64 and base64.b64encode(sig).decode("ascii") == text else None


SigningKey = Union[HmacKey, PrivateKey]
VerifyKey = Union[HmacKey, PublicKey]


def verifier(key: SigningKey | VerifyKey | bytes | None) -> VerifyKey | None:
    """What checks a signature made with ``key``: an HMAC key itself, an Ed25519 private key's public half.
    Raw bytes are an HMAC secret (callers of earlier versions)."""
    if isinstance(key, (bytes, bytearray)):
        return HmacKey(bytes(key))
    if isinstance(key, PrivateKey):
        return key.public
    return key


def signer(key: SigningKey | bytes | None) -> SigningKey | None:
    if isinstance(key, (bytes, bytearray)):
        return HmacKey(bytes(key))
    return key


# --------------------------------------------------------------------------- key files

def parse_signing_key(data: bytes, where: str) -> SigningKey:
    """The key held by a --sign-key file's bytes (see the module's rule); UsageError naming ``where``."""
    text = data.strip()
    if _PEM_PRIVATE.match(text):
        exceptions, serialization, ed25519 = _crypto()
        try:
            key = serialization.load_pem_private_key(text, password=None)
        except (ValueError, TypeError, exceptions.UnsupportedAlgorithm):
            raise UsageError("usage.key.unreadable_private", where=where) from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise UsageError("usage.key.private_not_ed25519", where=where, algorithm=_algorithm(key))
        return PrivateKey(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                            serialization.NoEncryption()))
    if _PEM_PUBLIC.match(text):
        raise UsageError("usage.key.public_cannot_sign", where=where)
    secret = hmac_secret(data)
    if len(secret) < MIN_HMAC_KEY:
        raise UsageError("usage.key.too_short", where=where, size=len(secret), MIN_HMAC_KEY=MIN_HMAC_KEY)
    return HmacKey(secret, legacy=text if text != secret and len(text) >= MIN_HMAC_KEY else None)


def hmac_secret(data: bytes) -> bytes:
    """The HMAC secret a key file's bytes hold (the module's rule): the bytes verbatim, less the one trailing
    line ending of a printable text key."""
    for end in (b"\r\n", b"\n"):
        if data.endswith(end):
            body = data[:-len(end)]
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return data
            return body if text.isprintable() else data
    return data


def parse_verify_key(data: bytes, where: str) -> VerifyKey:
    """The key a --verify-key file holds: an Ed25519 public key (PEM), or what --sign-key reads (an HMAC secret,
    an Ed25519 private key whose public half verifies)."""
    if _PEM_PUBLIC.match(data.strip()):
        return parse_public_key(data, where)
    key = parse_signing_key(data, where)
    return key.public if isinstance(key, PrivateKey) else key


def parse_public_key(data: bytes, where: str) -> PublicKey:
    text = data.strip()
    exceptions, serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_public_key(text)
    except (ValueError, TypeError, exceptions.UnsupportedAlgorithm):
        hint = " (this is a private key: give its .pub file)" if _PEM_PRIVATE.match(text) else ""
        raise UsageError("usage.key.not_pem_public", where=where, hint=hint) from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise UsageError("usage.key.public_not_ed25519", where=where, algorithm=_algorithm(key))
    return PublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _algorithm(key: object) -> str:
    """'RSA', 'EllipticCurve', … from a cryptography key object's class name."""
    name = type(key).__name__.lstrip("_")
    for suffix in ("PrivateKey", "PublicKey"):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    return name or "unknown"


def read_signing_key(path: Path, option: str = "--sign-key") -> SigningKey:
    return parse_signing_key(read_input(path, option, max_size=MAX_KEY_FILE), f"{option} {path}")


def read_public_key(path: Path, option: str = "--pubkey") -> PublicKey:
    return parse_public_key(read_input(path, option, max_size=MAX_KEY_FILE), f"{option} {path}")


def read_verify_key_file(path: Path, option: str = "--verify-key") -> VerifyKey:
    return parse_verify_key(read_input(path, option, max_size=MAX_KEY_FILE), f"{option} {path}")


def read_verify_key(pubkey: Path | None, sign_key: Path | None) -> VerifyKey | None:
    """The key a verifying command was given: ``--pubkey`` (an Ed25519 public key) or ``--sign-key`` (an HMAC
    secret, or an Ed25519 private key whose public half is used); not both."""
    if pubkey and sign_key:
        raise UsageError("usage.key.pubkey_and_sign_key")
    if pubkey:
        return read_public_key(pubkey)
    return verifier(read_signing_key(sign_key)) if sign_key else None


def generate() -> PrivateKey:
    _, serialization, ed25519 = _crypto()
    key = ed25519.Ed25519PrivateKey.generate()
    return PrivateKey(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption()))


def write_key_pair(key: PrivateKey, base: Path) -> tuple[Path, Path]:
    """BASE.key (private, owner-only) and BASE.pub (public; also written owner-only: hand it out as you like)."""
    private, public = base.with_name(base.name + ".key"), base.with_name(base.name + ".pub")
    write_bytes(private, key.pem())
    write_bytes(public, key.public.pem())
    return private, public
