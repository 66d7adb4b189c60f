"""Signatures a verifier cannot forge: `auditor keygen` writes an Ed25519 key pair; reports and
inspector bundles signed with the private key verify with the public key alone (`auditor verify --pubkey`), and a
one-byte change or another key is refused. The digest is over RFC 8785 canonical JSON (checked against the RFC's
test vectors and an independent implementation, and reproduced with standard tools: the `rfc8785` package,
`cryptography`, `openssl`). Material sealed the old way (Python-sorted JSON, HMAC) still verifies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import shutil
import sqlite3
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given, settings, strategies as st

from auditor import canonical_json
from auditor.errors import UsageError
from auditor.integrity import check, seal
from auditor.signing import HmacKey, PrivateKey, parse_public_key, parse_signing_key
from conftest import run_cli
from fleetkit import ingest_cli
from reportkit import forge

LEGACY = Path(__file__).resolve().parent / "fixtures" / "legacy"


# --------------------------------------------------------------------------- RFC 8785

# RFC 8785 Appendix B: IEEE 754 doubles (as hex) and their canonical text
NUMBERS = {
    "0000000000000000": "0", "8000000000000000": "0", "0000000000000001": "5e-324",
    "8000000000000001": "-5e-324", "7fefffffffffffff": "1.7976931348623157e+308",
    "ffefffffffffffff": "-1.7976931348623157e+308", "4340000000000000": "9007199254740992",
    "c340000000000000": "-9007199254740992", "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22", "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23", "444b1ae4d6e2ef4e": "999999999999999700000",
    "444b1ae4d6e2ef4f": "999999999999999900000", "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7", "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332", "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333", "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343", "becbf647612f3696": "-0.0000033333333333333333",
    "43143ff3c1cb0959": "1424953923781206.2",
}


def test_rfc8785_number_vectors():
    for bits, text in NUMBERS.items():
        value = struct.unpack(">d", bytes.fromhex(bits))[0]
        assert canonical_json.jcs(value) == text.encode(), bits
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            canonical_json.jcs(bad)


def test_rfc8785_examples():
    # 3.2.2: literals, numbers and string escaping
    source = ('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], '
              '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}')
    assert canonical_json.jcs(json.loads(source)) == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}').encode("utf-8")
    # 3.2.3: members sorted by UTF-16 code units (the emoji's surrogates sort before U+FB33)
    source = ('{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", '
              '"1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", '
              '"\\u00f6": "Latin Small Letter O With Diaeresis"}')
    values = [v for _, v in json.loads(canonical_json.jcs(json.loads(source))).items()]
    assert values == ["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign",
                      "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"]
    for bad in ({"x": "\ud800"}, {1: "x"}, 2 ** 53, {"a": object()}):
        with pytest.raises(ValueError):
            canonical_json.jcs(bad)


def test_a_report_rfc8785_cannot_express_is_sealed_the_earlier_way_and_verifies():
    report = seal({"schema_version": "1.1", "findings": [], "inode": 2 ** 60})
    assert report["integrity"]["canonicalization"] == "json-sorted-keys-compact-utf8-without-integrity"
    assert check(report) == []
    report["inode"] += 1
    assert check(report) == ["SHA-256 digest does not match the content: the report was altered"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 53) + 1, 2 ** 53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",)),
                                                                        max_size=6), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_the_same_bytes_as_an_independent_implementation(value):
    assert canonical_json.jcs(value) == rfc8785.dumps(value)


# --------------------------------------------------------------------------- keys

@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    base = tmp_path_factory.mktemp("keys")
    for name in ("site", "other"):
        res = run_cli("keygen", "--lang", "en", "--out", str(base / name))
        assert res.returncode == 0, res.stderr
    return base


def test_keygen_writes_an_owner_only_pair_and_never_overwrites(keys, tmp_path):
    private, public = keys / "site.key", keys / "site.pub"
    assert (private.stat().st_mode & 0o777) == 0o600
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    pub = serialization.load_pem_public_key(public.read_bytes())
    assert isinstance(key, ed25519.Ed25519PrivateKey) and isinstance(pub, ed25519.Ed25519PublicKey)
    assert key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == \
        pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert b"PRIVATE" not in public.read_bytes()
    before = private.read_bytes()
    res = run_cli("keygen", "--lang", "en", "--out", str(keys / "site"))
    assert res.returncode == 2 and "not overwritten" in res.stderr and private.read_bytes() == before
    res = run_cli("keygen", "--lang", "en", "--out", str(tmp_path / "no" / "such" / "x"))
    assert res.returncode == 2 and "does not exist" in res.stderr
    res = run_cli("keygen", "--lang", "en", "--out", str(tmp_path / "inspector.key"))  # NAME.key given: NAME is used
    assert res.returncode == 0 and (tmp_path / "inspector.key").exists() and (tmp_path / "inspector.pub").exists()


def test_what_a_key_file_holds_decides_its_kind():
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert isinstance(parse_signing_key(b"\n" + pem + b"\n", "k"), PrivateKey)
    assert isinstance(parse_signing_key(b"0123456789abcdef-site-key\n", "k"), HmacKey)
    public = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    refused = {
        "a public key": public,
        "an encrypted key": private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.BestAvailableEncryption(b"pass")),
        "an RSA key": rsa.generate_private_key(65537, 2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        "a short secret": b"short",
    }
    for what, data in refused.items():
        with pytest.raises(UsageError):
            parse_signing_key(data, what)
    assert parse_public_key(public, "p").raw == private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    for data in (pem, b"not a key"):
        with pytest.raises(UsageError):
            parse_public_key(data, "p")


# --------------------------------------------------------------------------- reports

@pytest.fixture(scope="module")
def signed(keys, tmp_path_factory):
    base = tmp_path_factory.mktemp("ed25519")
    root = base / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc" / "os-release").write_text('PRETTY_NAME="统信 UOS 20"\n', encoding="utf-8")
    out = base / "signed.json"
    res = run_cli("scan", "--only", "remote", "--root", str(root), "-q", "-o", str(out), "--sign-key",
                  str(keys / "site.key"))
    assert res.returncode == 0, res.stderr
    return out


def _verify(path, *extra):
    return run_cli("verify", "--lang", "en", str(path), *extra)


def _altered(res, *fragments):
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    assert "ALTERED" in res.stderr and "Traceback" not in res.stderr and res.stdout == ""
    for frag in fragments:
        assert frag in res.stderr, res.stderr


def test_a_signed_report_verifies_with_the_public_key_alone(signed, keys):
    integ = json.loads(signed.read_text(encoding="utf-8"))["integrity"]
    assert integ["canonicalization"] == "rfc8785-without-integrity" and "hmac_sha256" not in integ
    res = _verify(signed, "--pubkey", str(keys / "site.pub"))
    assert res.returncode == 0 and "signature valid (Ed25519 key" in res.stdout, res.stderr
    res = _verify(signed)
    assert res.returncode == 0 and "signature not checked (no --pubkey)" in res.stdout
    res = _verify(signed, "--sign-key", str(keys / "site.key"))  # the private key's public half
    assert res.returncode == 0 and "signature valid" in res.stdout
    _altered(_verify(signed, "--pubkey", str(keys / "other.pub")), "Ed25519 signature does not match",
             "another key")
    hmac_key = keys / "hmac.key"
    hmac_key.write_bytes(b"0123456789abcdef-site-key")
    _altered(_verify(signed, "--sign-key", str(hmac_key)), "signed with an Ed25519 key")
    res = _verify(signed, "--pubkey", str(keys / "site.key"))
    assert res.returncode == 2 and "this is a private key" in res.stderr
    res = _verify(signed, "--pubkey", str(keys / "site.pub"), "--sign-key", str(keys / "site.key"))
    assert res.returncode == 2 and "not both" in res.stderr


def _flip(data: bytes, pos: int) -> bytes:
    old = data[pos:pos + 1]
    table = {b"0": b"1", b"a": b"b", b"A": b"B", b" ": b"\t", b"\n": b" ", b"=": b"A", b"+": b"/"}
    new = table.get(old) or ((b"2" if old == b"1" else b"1") if old.isdigit() else b"x" if old != b"x" else b"y")
    assert new != old
    return data[:pos] + new + data[pos + 1:]


def test_a_one_byte_change_or_a_forged_digest_is_refused(signed, keys, tmp_path):
    data = signed.read_bytes()
    report = json.loads(data)
    sig = report["integrity"]["ed25519"]["signature"]
    positions = {
        "hostname value": data.index(b'"hostname": "') + len('"hostname": "'),
        "chinese text": data.index("统信".encode()) + 1,
        "the digest": data.index(report["integrity"]["digest"].encode()) + 5,
        "the signature": data.index(sig.encode()) + 10,
        "the signature's last character": data.index(sig.encode()) + 85,
        "the key id": data.index(report["integrity"]["ed25519"]["public_key_sha256"].encode()) + 3,
        "the canonicalization": data.index(b"rfc8785-without") + 1,
        "the last byte": len(data) - 1,
    }
    pub = parse_public_key((keys / "site.pub").read_bytes(), "p")
    for what, pos in positions.items():
        bad = tmp_path / "bad.dat"
        bad.write_bytes(_flip(data, pos))
        res = _verify(bad, "--pubkey", str(keys / "site.pub"))
        assert res.returncode == 1 and "ALTERED" in res.stderr and "Traceback" not in res.stderr, what
    for i in range(len(sig)):  # every character of the signature, in-process
        changed = json.loads(data)
        s = changed["integrity"]["ed25519"]["signature"]
        changed["integrity"]["ed25519"]["signature"] = s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
        assert check(changed, pub), i
    # whoever edits the content and recomputes the digest cannot recompute the signature
    path = forge(signed, tmp_path / "forged.dat", lambda r: r["host"].update(role="office"))
    assert _verify(path).returncode == 0  # the digest alone cannot tell
    _altered(_verify(path, "--pubkey", str(keys / "site.pub")), "altered after it was signed")


def test_another_tool_checks_the_digest_and_the_signature(signed, keys, tmp_path):
    """The README's recipe: RFC 8785 of the report without "integrity", SHA-256, Ed25519 over the same bytes."""
    report = json.loads(signed.read_text(encoding="utf-8"))
    integ = report.pop("integrity")
    canonical = rfc8785.dumps(report)
    assert hashlib.sha256(canonical).hexdigest() == integ["digest"]
    pub = serialization.load_pem_public_key((keys / "site.pub").read_bytes())
    signature = base64.b64decode(integ["ed25519"]["signature"])
    pub.verify(signature, canonical)  # raises when it does not match
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert hashlib.sha256(raw).hexdigest() == integ["ed25519"]["public_key_sha256"]
    if shutil.which("openssl"):
        (tmp_path / "canonical.json").write_bytes(canonical)
        (tmp_path / "sig.bin").write_bytes(signature)
        res = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(keys / "site.pub"),
                              "-rawin", "-in", str(tmp_path / "canonical.json"), "-sigfile", str(tmp_path / "sig.bin")],
                             capture_output=True, text=True)
        assert res.returncode == 0 and "Signature Verified Successfully" in res.stdout, res.stdout + res.stderr


def test_report_rerender_checks_and_resigns_with_the_key_pair(signed, keys, tmp_path):
    out = tmp_path / "re.json"
    res = run_cli("report", "--lang", "en", str(signed), "--sign-key", str(keys / "site.key"), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert _verify(out, "--pubkey", str(keys / "site.pub")).returncode == 0
    assert json.loads(out.read_text(encoding="utf-8"))["rendered_from"]["signed"] is True
    res = run_cli("report", "--lang", "en", str(signed), "--sign-key", str(keys / "other.key"), "-o", str(tmp_path / "x.html"))
    assert res.returncode == 2 and "Ed25519 signature does not match" in res.stderr


def test_report_resigns_with_another_key_given_verify_key(signed, keys, tmp_path):
    """Re-signing: the input checked with --verify-key, the output signed with --sign-key."""
    out = tmp_path / "s2.json"
    res = run_cli("report", "--lang", "en", str(signed), "-o", str(out), "--verify-key", str(keys / "site.pub"),
                  "--sign-key", str(keys / "other.key"))
    assert res.returncode == 0, res.stderr
    assert _verify(out, "--pubkey", str(keys / "other.pub")).returncode == 0
    _altered(_verify(out, "--pubkey", str(keys / "site.pub")), "signed with another key")
    assert json.loads(out.read_text(encoding="utf-8"))["rendered_from"]["signed"] is True
    # the private key verifies too (its public half); an HMAC key file signs the output
    hmac_key = tmp_path / "hmac.key"
    hmac_key.write_bytes(b"0123456789abcdef-hq-key\n")
    out2 = tmp_path / "s3.json"
    res = run_cli("report", "--lang", "en", str(out), "-o", str(out2), "--verify-key", str(keys / "other.key"),
                  "--sign-key", str(hmac_key))
    assert res.returncode == 0, res.stderr
    assert _verify(out2, "--sign-key", str(hmac_key)).returncode == 0
    # the wrong verify key: refused with the command's tamper exit, nothing written
    bad = tmp_path / "bad.json"
    res = run_cli("report", "--lang", "en", str(signed), "-o", str(bad), "--verify-key", str(keys / "other.pub"),
                  "--sign-key", str(keys / "other.key"))
    assert res.returncode == 2 and "Ed25519 signature does not match: signed with another key" in res.stderr
    assert "refusing to render it" in res.stderr and not bad.exists()
    res = run_cli("report", "--lang", "en", str(out2), "-o", str(bad), "--verify-key", str(keys / "site.pub"))
    assert res.returncode == 2 and "not signed with an Ed25519 key" in res.stderr and not bad.exists()
    res = run_cli("report", "--lang", "en", str(signed), "-o", str(bad), "--verify-key", str(tmp_path / "missing.pub"))
    assert res.returncode == 2 and "missing.pub" in res.stderr and not bad.exists()


def test_an_hmac_key_file_is_its_bytes(tmp_path):
    """Random bytes are a key as they are; a text key's one trailing newline is not part of it; an outside
    verifier computes HMAC-SHA256 with the file's bytes."""
    report = tmp_path / "r.json"
    assert run_cli("scan", "--only", "remote", "--root", str(_tiny_root(tmp_path)), "-q", "-o",
                   str(report)).returncode == 0
    keys = {
        "binary, starting and ending in whitespace": b"\n\t\x00\x9f" + bytes(range(200, 210)) + b" \n",
        "text with a newline": b"0123456789abcdef-site\n",
        "text with CRLF": b"0123456789abcdef-site\r\n",
        "text with spaces kept": b"  0123456789abcdef-site  \n",
    }
    secrets = {
        "binary, starting and ending in whitespace": keys["binary, starting and ending in whitespace"],
        "text with a newline": b"0123456789abcdef-site",
        "text with CRLF": b"0123456789abcdef-site",
        "text with spaces kept": b"  0123456789abcdef-site  ",
    }
    for what, data in keys.items():
        key = tmp_path / "k.key"
        key.write_bytes(data)
        out = tmp_path / "signed.json"
        res = run_cli("report", "--lang", "en", str(report), "-o", str(out), "--sign-key", str(key))
        assert res.returncode == 0, (what, res.stderr)
        sealed = json.loads(out.read_text(encoding="utf-8"))
        integ = sealed.pop("integrity")
        mac = hmac.new(secrets[what], rfc8785.dumps(sealed), hashlib.sha256).hexdigest()
        assert integ["hmac_sha256"] == mac, what
        assert _verify(out, "--sign-key", str(key)).returncode == 0, what
    # 16 random bytes are always a key, whatever they are (earlier, whitespace at either end was cut off)
    key = tmp_path / "urandom.key"
    key.write_bytes(b" \n\t\r" + bytes(range(240, 252)))
    assert run_cli("report", "--lang", "en", str(report), "-o", str(tmp_path / "u.json"), "--sign-key", str(key)).returncode == 0
    key.write_bytes(b"fifteen-bytes!!\n")
    res = run_cli("report", "--lang", "en", str(report), "-o", str(tmp_path / "u.json"), "--sign-key", str(key))
    assert res.returncode == 2 and "key too short (15 bytes; at least 16)" in res.stderr


def test_reports_signed_by_the_earlier_key_rule_still_verify(tmp_path):
    """Earlier versions stripped all surrounding whitespace from a key file: what they signed verifies."""
    key = tmp_path / "padded.key"
    key.write_bytes(b"  0123456789abcdef-old-site \n\n")
    report = json.loads((LEGACY / "v1.1-plain.json").read_text(encoding="utf-8"))
    seal(report, HmacKey(key.read_bytes().strip()))  # as the earlier version signed
    old = tmp_path / "old.json"
    old.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    assert check(report, parse_signing_key(key.read_bytes(), "k")) == []
    out = tmp_path / "again.json"
    res = run_cli("report", "--lang", "en", str(old), "-o", str(out), "--sign-key", str(key))
    assert res.returncode == 0, res.stderr
    integ = json.loads(out.read_text(encoding="utf-8"))["integrity"]  # signed with the key as it is now read
    again = json.loads(out.read_text(encoding="utf-8"))
    again.pop("integrity")
    assert integ["hmac_sha256"] == hmac.new(key.read_bytes(), rfc8785.dumps(again), hashlib.sha256).hexdigest()
    other = tmp_path / "other.key"
    other.write_bytes(b"0123456789abcdef-new-site")
    assert check(report, parse_signing_key(other.read_bytes(), "k")) != []


def _tiny_root(base: Path) -> Path:
    root = base / "root"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    return root


def test_fleet_ingest_checks_ed25519_signatures_with_the_public_key(signed, keys, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    shutil.copy(signed, share / "signed.json")
    shutil.copy(LEGACY / "v1.1-plain.json", share / "unsigned.json")
    db = tmp_path / "fleet.sqlite"
    res = ingest_cli(share, db=db, extra=("--pubkey", str(keys / "site.pub")))
    assert res.returncode == 1
    assert "unsigned.json: signature: the report is not signed with an Ed25519 key" in res.stderr
    con = sqlite3.connect(db)
    assert con.execute("SELECT signature, signature_checked FROM reports").fetchall() == [("ed25519", 1)]
    con.close()
    res = ingest_cli(share, db=tmp_path / "other.sqlite", extra=("--pubkey", str(keys / "other.pub")))
    assert res.returncode == 1 and "signed.json: signature: Ed25519 signature does not match" in res.stderr


# --------------------------------------------------------------------------- bundles

def test_a_bundle_signed_with_the_private_key_verifies_with_the_public_key_alone(keys, tmp_path):
    exports = tmp_path / "Desktop"
    exports.mkdir()
    (exports / "说明.txt").write_text("没有订单\n", encoding="utf-8")
    answers = tmp_path / "answers.toml"
    answers.write_text('[answers]\nQ-RULES = "yes"\n', encoding="utf-8")
    bundle = tmp_path / "检查包.zip"
    res = run_cli("inspect", "--output", str(bundle), "--answers", str(answers), "--path", str(exports),
                  "--sign-key", str(keys / "site.key"), env={"AUDITOR_STATE_DIR": str(tmp_path / "state")})
    assert res.returncode in (0, 1), res.stderr
    assert "auditor verify" in res.stdout and "--pubkey" in res.stdout
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        report = json.loads(zf.read("report.json"))
    sig = manifest["signature"]
    assert sig["algorithm"] == "ed25519" and sig["canonicalization"] == "rfc8785-without-signature"
    assert "ed25519" in report["integrity"]
    # the signature with standard tools: RFC 8785 of the manifest without "signature", Ed25519
    body = {k: v for k, v in manifest.items() if k != "signature"}
    serialization.load_pem_public_key((keys / "site.pub").read_bytes()).verify(
        base64.b64decode(sig["value"]), rfc8785.dumps(body))

    res = _verify(bundle, "--pubkey", str(keys / "site.pub"))
    assert res.returncode == 0 and "signature valid (Ed25519 key" in res.stdout, res.stderr
    res = _verify(bundle)
    assert res.returncode == 0 and "signature not checked (no --pubkey)" in res.stdout
    _altered(_verify(bundle, "--pubkey", str(keys / "other.pub")), "Ed25519 signature does not match")
    data = bundle.read_bytes()
    for pos in (100, data.index(b'"signature"') + 30, data.index(b'"value"') + 20, len(data) // 2, len(data) - 3):
        bad = tmp_path / "bad.zip"
        bad.write_bytes(_flip(data, pos))
        res = _verify(bad, "--pubkey", str(keys / "site.pub"))
        assert res.returncode == 1 and "ALTERED" in res.stderr, pos


# --------------------------------------------------------------------------- old material

def test_material_sealed_the_old_way_still_verifies(tmp_path):
    key = LEGACY / "legacy-hmac.key"
    for name in ("v1.1-plain.json", "v1.1-hmac.json", "bundle-v1-hmac.zip"):
        integ_ok = _verify(LEGACY / name)
        assert integ_ok.returncode == 0 and integ_ok.stdout.startswith("OK: "), integ_ok.stderr
    for name in ("v1.1-hmac.json", "bundle-v1-hmac.zip"):
        res = _verify(LEGACY / name, "--sign-key", str(key))
        assert res.returncode == 0 and "signature valid (HMAC)" in res.stdout, res.stderr
        other = tmp_path / "other.key"
        other.write_bytes(b"another-site-key-0123456789")
        _altered(_verify(LEGACY / name, "--sign-key", str(other)), "HMAC signature does not match")
    report = json.loads((LEGACY / "v1.1-hmac.json").read_text(encoding="utf-8"))
    assert report["integrity"]["canonicalization"] == "json-sorted-keys-compact-utf8-without-integrity"
    data = (LEGACY / "v1.1-hmac.json").read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_bytes(data.replace(b'"waybill-printing"', b'"office"', 1))
    _altered(_verify(bad), "SHA-256 digest does not match")
    # read, rendered and re-sealed the new way; loaded into the fleet store with its HMAC checked
    out = tmp_path / "re.json"
    res = run_cli("report", "--lang", "en", str(LEGACY / "v1.1-hmac.json"), "--sign-key", str(key), "-o", str(out), "-o",
                  str(tmp_path / "re.html"))
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["integrity"]["canonicalization"] == "rfc8785-without-integrity"
    assert _verify(out, "--sign-key", str(key)).returncode == 0
    share = tmp_path / "share"
    share.mkdir()
    shutil.copy(LEGACY / "v1.1-hmac.json", share / "old.json")
    res = ingest_cli(share, db=tmp_path / "fleet.sqlite", extra=("--sign-key", str(key)))
    assert res.returncode == 0, res.stderr
