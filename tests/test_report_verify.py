"""`auditor verify`: 0 when a JSON report is exactly as written, 1 with a clear message for any change (a
single byte anywhere, a wrong key), 2 when the file is not a JSON report."""

from __future__ import annotations

import json
import zipfile

import pytest

from conftest import run_cli
from reportkit import forge

KEY = b"0123456789abcdef-site-key"


@pytest.fixture(scope="module")
def signed(tmp_path_factory, request):
    base = tmp_path_factory.mktemp("verify")
    key = base / "key"
    key.write_bytes(KEY)
    root = base / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc" / "os-release").write_text('PRETTY_NAME="统信 UOS 20"\n', encoding="utf-8")
    plain, sig = base / "plain.json", base / "signed.json"
    for out, extra in ((plain, []), (sig, ["--sign-key", str(key)])):
        res = run_cli("scan", "--only", "remote", "--root", str(root), "-q", "-o", str(out), *extra)
        assert res.returncode == 0, res.stderr
    return {"base": base, "key": key, "plain": plain, "signed": sig}


def _verify(path, *extra):
    return run_cli("verify", "--lang", "en", str(path), *extra)


def _altered(res, *fragments):
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    assert "ALTERED" in res.stderr and "Traceback" not in res.stderr
    assert len([l for l in res.stderr.splitlines() if l.strip()]) == 1
    for frag in fragments:
        assert frag in res.stderr
    assert res.stdout == ""


def test_intact_reports_verify(signed):
    res = _verify(signed["plain"])
    assert res.returncode == 0 and res.stdout.startswith("OK: ") and "not signed" in res.stdout
    res = _verify(signed["signed"], "--sign-key", str(signed["key"]))
    assert res.returncode == 0 and "signature valid" in res.stdout
    res = _verify(signed["signed"])
    assert res.returncode == 0 and "signature not checked" in res.stdout


def _flip(data: bytes, pos: int) -> bytes:
    """Replace one byte by another printable one (a hex digit stays a hex digit, a letter a letter)."""
    old = data[pos:pos + 1]
    table = {b"0": b"1", b"a": b"b", b" ": b"\t", b"\n": b" "}
    new = table.get(old) or (bytes([old[0] + 1]) if old.isdigit() and old != b"9" else b"0" if old == b"9"
                             else b"x" if old != b"x" else b"y")
    assert new != old
    return data[:pos] + new + data[pos + 1:]


@pytest.mark.slow
def test_a_one_byte_change_anywhere_is_detected(signed, tmp_path):
    data = signed["plain"].read_bytes()
    text = data.decode("utf-8")
    digest = json.loads(text)["integrity"]["digest"]
    positions = {
        "hostname value": data.index(b'"hostname": "') + len('"hostname": "'),
        "a count": data.index(b'"examined": ') + len('"examined": '),
        "indentation": data.index(b'\n  "tool"') + 1,
        "a newline": data.index(b"\n"),
        "the digest": data.index(digest.encode()) + 5,
        "the algorithm": data.index(b'"sha256"') + 3,
        "a key name": data.index(b'"started_at"') + 2,
        "a structural brace": 0,
        "the last byte": len(data) - 1,
        "chinese text": data.index("统信".encode()) + 1,
    }
    for what, pos in positions.items():
        bad = tmp_path / "bad.dat"
        bad.write_bytes(_flip(data, pos))
        res = _verify(bad)
        assert res.returncode == 1, (what, res.stdout, res.stderr)
        assert "ALTERED" in res.stderr and "Traceback" not in res.stderr, what


def test_content_change_message(signed, tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_text(signed["plain"].read_text(encoding="utf-8").replace('"examined": 0', '"examined": 1', 1),
                   encoding="utf-8")
    _altered(_verify(bad), "SHA-256 digest does not match")


def test_wrong_key_and_missing_signature(signed, tmp_path):
    other = tmp_path / "other.key"
    other.write_bytes(b"another-site-key-0123456789")
    _altered(_verify(signed["signed"], "--sign-key", str(other)), "HMAC signature does not match")
    _altered(_verify(signed["plain"], "--sign-key", str(signed["key"])), "not signed")


def test_a_resigned_forgery_without_the_key_fails(signed, tmp_path):
    """Someone edits the report and recomputes the SHA-256 digest: only the HMAC catches it."""
    forged = forge(signed["signed"], tmp_path / "forged.dat", lambda r: r["host"].update(role="office"))
    assert _verify(forged).returncode == 0  # the digest alone cannot tell
    _altered(_verify(forged, "--sign-key", str(signed["key"])), "HMAC signature does not match")


def test_truncated_and_stripped_reports(signed, tmp_path):
    data = signed["plain"].read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(data[: len(data) // 2])
    _altered(_verify(cut), "no longer valid UTF-8 JSON")
    report = json.loads(data)
    del report["integrity"]
    stripped = tmp_path / "stripped.dat"
    stripped.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _altered(_verify(stripped), "no integrity digest")


def test_other_files_are_usage_errors(signed, tmp_path):
    html = tmp_path / "r.html"
    res = run_cli("report", str(signed["plain"]), "-o", str(html))
    assert res.returncode == 0
    res = _verify(html)
    assert res.returncode == 2 and "not a JSON report" in res.stderr
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("r.json", signed["plain"].read_bytes())
    res = _verify(bundle)
    assert res.returncode == 2 and "ZIP" in res.stderr
    res = run_cli("verify", "--lang", "en", str(tmp_path / "missing.json"))
    assert res.returncode == 2 and "no such file" in res.stderr


def test_report_rerender_keeps_the_signature_chain(signed, tmp_path):
    out = tmp_path / "re.json"
    res = run_cli("report", str(signed["signed"]), "--sign-key", str(signed["key"]), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert _verify(out, "--sign-key", str(signed["key"])).returncode == 0
    rendered = json.loads(out.read_text(encoding="utf-8"))
    assert rendered["rendered_from"]["signed"] is True
    other = tmp_path / "other.key"
    other.write_bytes(b"another-site-key-0123456789")
    res = run_cli("report", str(signed["signed"]), "--sign-key", str(other), "-o", str(tmp_path / "x.html"), "--lang",
                  "en")
    assert res.returncode == 2 and "HMAC signature does not match" in res.stderr
