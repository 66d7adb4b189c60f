"""The share writer and the network against `fleet ingest`, `fleet export --push`, `report` and `verify`.

The share is written by others: huge files, deep nesting, huge integers, wrong types everywhere, too many
findings, a FIFO and links. Each bad file is rejected with its reason while the rest loads, within bounded time
and memory, and later `fleet report` / `fleet export` still work. Sealed reports are re-sealed after each
change (SHA-256 needs no key), so the checks behind the digest are the ones tried. The network: a SIEM that
redirects (to a second server that records whether credentials reached it), drips its answer, answers
gigabytes or hostile JSON."""

from __future__ import annotations

import copy
import http.server
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from hostile_reports import scanned_report, sealed
from hostilekit import assert_no_leak, auditor, give_to_user, limit_memory_mb, needs_root

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX share and sockets")

@pytest.fixture(scope="module")
def real(tmp_path_factory):
    return scanned_report(tmp_path_factory.mktemp("hostile-fleet"))


def share_dir(tmp_path_factory, name: str) -> Path:
    # outside tmp_path: the suite's autouse check validates every report left in tmp_path
    return tmp_path_factory.mktemp(name)


def ingest(*paths: Path, db: Path, env: dict | None = None, timeout: float = 60, child: bool = False):
    return auditor("fleet", "ingest", *map(str, paths), "--db", str(db), "--lang", "en", env=env, timeout=timeout,
                   child=child)


def rejected(res) -> dict[str, str]:
    out = {}
    for line in res.stderr.splitlines():
        if line.startswith("  ") and ": " in line:
            name, reason = line.strip().split(": ", 1)
            out[Path(name).name] = reason
    return out


def assert_clean_exit(res, *codes: int) -> None:
    assert res.code in codes, (res.code, res.stderr[-2000:])
    assert "Traceback" not in res.output and "internal error" not in res.output


# --------------------------------------------------------------------------- the share writer

@pytest.mark.slow
def test_huge_files_are_rejected_unread_or_bounded(real, tmp_path_factory, tmp_path):
    share = share_dir(tmp_path_factory, "share-huge")
    (share / "good.json").write_bytes(sealed(real["report"], "GOOD-PC"))
    with open(share / "sixty-mb.json", "wb") as fh:  # sparse: 60 MB that reading would have to go through
        fh.truncate(60 << 20)
    (share / "ten-million-objects.json").write_bytes(b"[" + b"{}," * 10_000_000 + b"{}]")  # 30 MB of {}
    (share / "long-line.json").write_bytes(b'["' + b"1" * (30 << 20) + b'"]')  # one 30 MB string
    res = ingest(share, db=tmp_path / "f.sqlite", child=True)  # peak RSS measured
    assert_clean_exit(res, 1)
    why = rejected(res)
    assert why["sixty-mb.json"].startswith("too large: 62914560 bytes")
    assert why["ten-million-objects.json"].startswith("too large: too many values")
    assert "longer than" in why["long-line.json"]
    assert "4 files: 1 loaded" in res.stdout
    assert res.peak_rss_mb < limit_memory_mb(), res.peak_rss_mb
    assert res.seconds < 20


@pytest.mark.parametrize("shape", ["array", "object", "in-evidence", "mixed-with-strings"])
def test_deep_nesting_is_refused_before_parsing(real, tmp_path_factory, tmp_path, shape):
    share = share_dir(tmp_path_factory, "share-deep")
    if shape == "array":
        data = b"[" * 200_000 + b"]" * 200_000
    elif shape == "object":
        data = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    else:
        deep: object = "x"
        for i in range(65):
            deep = [deep, "]]]]"] if shape == "mixed-with-strings" else [deep]
        rep = copy.deepcopy(real["report"])
        rep["findings"][0]["evidence"]["nested"] = deep
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(10_000)
        try:
            data = sealed(rep, "DEEP-PC")
        finally:
            sys.setrecursionlimit(old)
    (share / "deep.json").write_bytes(data)
    (share / "good.json").write_bytes(sealed(real["report"], "GOOD-PC"))
    res = ingest(share, db=tmp_path / "f.sqlite")
    assert_clean_exit(res, 1)
    assert rejected(res)["deep.json"] == "malformed: nested more than 64 levels deep"
    assert "1 loaded" in res.stdout
    # the same file handed to report and verify: a reason, never exit 3
    rep_res = auditor("report", str(share / "deep.json"), "-o", str(tmp_path / "x.html"))
    assert_clean_exit(rep_res, 2)
    assert "nested more than 64 levels deep" in rep_res.stderr
    ver = auditor("verify", str(share / "deep.json"))
    assert_clean_exit(ver, 1)
    assert "ALTERED" in ver.stderr and "nested more than 64" in ver.stderr


def test_evidence_64_levels_deep_is_accepted(real, tmp_path_factory, tmp_path):
    """The bound is the stated one: 64 levels (the report itself is 1, findings 2, ...) still load."""
    share = share_dir(tmp_path_factory, "share-64")
    deep: object = 1
    for _ in range(64 - 4):  # the report, findings, the finding and its evidence are the 4 levels above
        deep = [deep]
    rep = copy.deepcopy(real["report"])
    rep["findings"][0]["evidence"]["nested"] = deep
    (share / "r.json").write_bytes(sealed(rep, "AT-LIMIT"))
    res = ingest(share, db=tmp_path / "f.sqlite")
    assert_clean_exit(res, 0)


NUMBERS = {
    "int-2-64": 2 ** 64,
    "int-4400-digits": "9" * 4400,  # beyond Python's int-from-text limit
    "float-overflow": "1e400",
    "nan": "NaN",
    "infinity": "-Infinity",
}


def test_numbers_out_of_range_are_rejected_and_nothing_breaks_later(real, tmp_path_factory, tmp_path):
    share = share_dir(tmp_path_factory, "share-num")
    for name, number in NUMBERS.items():
        rep = copy.deepcopy(real["report"])
        rep["findings"][0]["evidence"]["records"] = "@@NUMBER@@"
        (share / f"{name}.json").write_bytes(sealed(rep, name).replace(b'"@@NUMBER@@"', str(number).encode()))
    (share / "good.json").write_bytes(sealed(real["report"], "GOOD-PC"))
    db = tmp_path / "f.sqlite"
    res = ingest(share, db=db)
    assert_clean_exit(res, 1)
    why = rejected(res)
    assert sorted(why) == sorted(f"{n}.json" for n in NUMBERS)
    for name in NUMBERS:
        assert why[f"{name}.json"].startswith("malformed: ") and any(
            w in why[f"{name}.json"] for w in ("integer beyond", "not a JSON number", "too large to represent"))
    _fleet_outputs_work(db, tmp_path)


@pytest.mark.slow
def test_wrong_types_everywhere(real, tmp_path_factory, tmp_path):
    """Every field a fleet command reads, given every other JSON type, re-sealed: each file is loaded or rejected
    with a reason, the run goes on, and the fleet report and SIEM export still work afterwards."""
    share = share_dir(tmp_path_factory, "share-types")
    rep = real["report"]
    fields = [("schema_version",), ("host",), ("host", "hostname"), ("host", "site"), ("host", "role"),
              ("host", "os"), ("finished_at",), ("started_at",), ("findings",), ("findings", 0),
              ("findings", 0, "id"), ("findings", 0, "check_id"), ("findings", 0, "severity"),
              ("findings", 0, "title"), ("findings", 0, "title", "zh"), ("findings", 0, "target"),
              ("findings", 0, "target", "label"), ("findings", 0, "evidence"), ("findings", 0, "evidence", "path"),
              ("findings", 0, "evidence", "records"), ("findings", 0, "legal_basis"), ("findings", 0, "remediation"),
              ("duties",), ("duties", 0), ("duties", 0, "title"), ("duties", 0, "verdict"), ("duties", 0, "id"),
              ("score",), ("score", "value"), ("score", "grade"), ("score", "assessed_areas"), ("clauses",),
              ("coverage", 0, "status"), ("summary", "by_severity"), ("tool",), ("tool", "version"), ("areas",)]
    values = ["a string", -1, 3.5, True, None, ["x"], {"zh": 1, "en": [2]}]
    n = 0
    for path in fields:
        for value in values:
            n += 1
            mutant = copy.deepcopy(rep)
            mutant["host"]["hostname"] = f"PC-{n:04d}"
            node = mutant
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
            (share / f"m{n:04d}.json").write_bytes(sealed(mutant))
    (share / "zz-good.json").write_bytes(sealed(rep, "GOOD-PC"))
    db = tmp_path / "f.sqlite"
    res = ingest(share, db=db, timeout=120)
    assert_clean_exit(res, 1)
    why = rejected(res)
    assert "zz-good.json" not in why
    assert len(why) >= n * 0.8, f"only {len(why)} of {n} wrong-typed reports rejected"
    assert all(r.startswith(("malformed: ", "unknown schema version")) for r in why.values()), set(why.values())
    assert "malformed: findings[0].title: expected object, got a string" in why.values()
    _fleet_outputs_work(db, tmp_path)


def _fleet_outputs_work(db: Path, tmp_path: Path) -> None:
    res = auditor("fleet", "report", "--db", str(db), "-o", str(tmp_path / "f.html"), "-o", str(tmp_path / "f.xlsx"),
                  "-o", str(tmp_path / "f.md"))
    assert_clean_exit(res, 0)
    for fmt in ("ecs", "ocsf"):
        res = auditor("fleet", "export", "--db", str(db), "--format", fmt, "-o", str(tmp_path / f"x.{fmt}.ndjson"))
        assert_clean_exit(res, 0)
        assert "skipped" not in res.output  # a validated store holds only valid documents


@pytest.mark.slow
def test_too_many_findings(real, tmp_path_factory, tmp_path):
    share = share_dir(tmp_path_factory, "share-many")
    rep = copy.deepcopy(real["report"])
    small = dict(rep["findings"][-1], evidence={}, title={"zh": "x", "en": "x"}, remediation={"zh": "x", "en": "x"},
                 target={"kind": "x", "ref": "x", "label": "x"})
    rep["findings"] = [dict(small, id=f"{i:016x}") for i in range(20_001)]
    (share / "many.json").write_bytes(sealed(rep, "MANY-PC"))
    res = ingest(share, db=tmp_path / "f.sqlite", child=True)  # peak RSS measured
    assert_clean_exit(res, 1)
    assert rejected(res)["many.json"] == "too large: too many findings (20001; limit 20000)"
    assert res.peak_rss_mb < limit_memory_mb(), res.peak_rss_mb


@needs_root
def test_fifo_links_and_swapped_folders_in_the_share(real, tmp_path_factory, tmp_path):
    """The share writer plants a FIFO named like a report, links to a root-only file and to a root-only folder,
    and hands over a folder link as the share itself: nothing hangs, no link is followed, the root-only report
    (holding a planted secret) is never read."""
    share = share_dir(tmp_path_factory, "share-links")
    vault = share_dir(tmp_path_factory, "root-only")
    os.chmod(vault, 0o700)
    secret = "VAULT-SECRET-7f3a"
    (vault / "private.json").write_bytes(sealed(real["report"], secret))
    (share / "good.json").write_bytes(sealed(real["report"], "GOOD-PC"))
    os.mkfifo(share / "pipe.json")
    (share / "file-link.json").symlink_to(vault / "private.json")
    (share / "dir-link").symlink_to(vault)
    os.mkfifo(share / "ignored.fifo")  # not *.json: not a report at all, left alone
    give_to_user(share / "pipe.json", share / "file-link.json", share / "dir-link")
    handed = share_dir(tmp_path_factory, "handed") / "share-link"
    handed.symlink_to(vault)
    give_to_user(handed)
    db = tmp_path / "f.sqlite"
    res = ingest(share, handed, share / "file-link.json", db=db, timeout=30)
    assert_clean_exit(res, 1)
    why = rejected(res)
    assert "FIFO" in why["pipe.json"]
    assert "not followed" in why["file-link.json"] and "not followed" in why["dir-link"]
    assert "not followed" in why["share-link"]
    assert "1 loaded" in res.stdout and "ignored.fifo" not in res.output
    assert_no_leak([secret], db, text=res.output)


def test_names_in_the_share_are_shown_not_obeyed(real, tmp_path_factory, tmp_path):
    share = share_dir(tmp_path_factory, "share-names")
    name = "a\x1b[2J\u202egnp.json"  # clear screen, right-to-left override
    (share / name).write_bytes(b"{not json")
    (share / "line\nbreak.json").write_bytes(b"[]")
    res = ingest(share, db=tmp_path / "f.sqlite")
    assert_clean_exit(res, 1)
    assert "\x1b" not in res.stderr and "\u202e" not in res.stderr
    assert "\\x1b[2J\\u202egnp.json" in res.stderr and "line\\x0abreak.json" in res.stderr


def test_reasons_never_quote_the_report(real, tmp_path_factory, tmp_path):
    """A crafted report carries a mobile and an ID number where the reason would name them: no output, log or
    store row repeats them."""
    share = share_dir(tmp_path_factory, "share-quote")
    mobile, id_number = "13912345678", "33078219900101123X"
    rep = copy.deepcopy(real["report"])
    rep["schema_version"] = mobile
    (share / "version.json").write_bytes(sealed(rep, "Q1"))
    rep = copy.deepcopy(real["report"])
    rep["findings"][0]["evidence"][id_number] = {"x": 1}
    rep["findings"][0]["severity"] = id_number
    (share / "severity.json").write_bytes(sealed(rep, "Q2"))
    rep = copy.deepcopy(real["report"])
    rep["finished_at"] = mobile
    (share / "time.json").write_bytes(sealed(rep, "Q3"))
    rep = copy.deepcopy(real["report"])
    rep["summary"]["by_area"][mobile] = -1
    (share / "key.json").write_bytes(sealed(rep, "Q4"))
    db = tmp_path / "f.sqlite"
    res = ingest(share, db=db)
    assert_clean_exit(res, 1)
    assert len(rejected(res)) == 4
    assert_no_leak([mobile, id_number], db, text=res.output)
    for f in ("version.json", "severity.json", "time.json", "key.json"):
        out = auditor("report", str(share / f), "-o", str(tmp_path / "x.html"))
        assert_clean_exit(out, 2)
        ver = auditor("verify", str(share / f))
        assert_clean_exit(ver, 1)
        assert_no_leak([mobile, id_number], text=out.output + ver.output)


def test_export_skips_bad_stored_documents(real, tmp_path_factory, tmp_path):
    """A store filled by an earlier version (no validation) holds a finding whose title is a string, one that is
    not JSON and one nested too deeply: export writes every other document and counts the skipped ones."""
    share = share_dir(tmp_path_factory, "share-export")
    for i in range(3):
        (share / f"r{i}.json").write_bytes(sealed(real["report"], f"PC-{i}"))
    db = tmp_path / "f.sqlite"
    assert_clean_exit(ingest(share, db=db), 0)
    con = sqlite3.connect(db)
    hashes = [h for (h,) in con.execute("SELECT hash FROM docs ORDER BY hash")]
    doc = json.loads(con.execute("SELECT json FROM docs WHERE hash = ?", (hashes[0],)).fetchone()[0])
    doc["title"] = "a string"
    con.execute("UPDATE docs SET json = ? WHERE hash = ?", (json.dumps(doc), hashes[0]))
    con.execute("UPDATE docs SET json = ? WHERE hash = ?", ("{not json", hashes[1]))
    con.execute("UPDATE docs SET json = ? WHERE hash = ?", ("[" * 5000 + "]" * 5000, hashes[2]))
    total = con.execute("SELECT COUNT(*) FROM findings").fetchone()[0]
    bad = con.execute("SELECT COUNT(*) FROM findings WHERE doc IN (?, ?, ?)", tuple(hashes[:3])).fetchone()[0]
    con.commit()
    con.close()
    out = tmp_path / "x.ndjson"
    res = auditor("fleet", "export", "--db", str(db), "--format", "ecs", "-o", str(out), "--no-silent", "--lang", "en")
    assert_clean_exit(res, 0)
    assert f"{bad} stored documents skipped" in res.stderr
    assert f"{total - bad} documents (ecs); {bad} stored documents skipped" in res.stdout
    assert len(out.read_bytes().splitlines()) == 2 * (total - bad)


# --------------------------------------------------------------------------- the network

class _Server:
    """One HTTP(S) server on 127.0.0.1 whose every answer is decided by ``answer(handler)``; it records the
    requests it received (path and Authorization header)."""

    def __init__(self, answer, tls: tuple[Path, Path] | None = None) -> None:
        self.seen: list[tuple[str, str | None]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                outer.seen.append((self.path, self.headers.get("Authorization")))
                answer(self)

            do_GET = do_POST  # noqa: N815

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made: list[_Server] = []

    def make(answer, tls=None) -> _Server:
        s = _Server(answer, tls)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _send(handler, status: int, body: bytes = b"{}", headers: dict | None = None) -> None:
    handler.send_response(status)
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture(scope="module")
def store(real, tmp_path_factory):
    share = share_dir(tmp_path_factory, "share-push")
    (share / "r.json").write_bytes(sealed(real["report"], "PUSH-PC"))
    db = share.parent / "push.sqlite"
    assert_clean_exit(ingest(share, db=db), 0)
    return db


def _push(db: Path, url: str, *extra: str, timeout: float = 60, child: bool = False):
    return auditor("fleet", "export", "--db", str(db), "--format", "ecs", "--no-silent", "--push", url, "--lang",
                   "en", "--retries", "1", *extra, timeout=timeout, child=child)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed_and_credentials_stay(store, servers, tmp_path, status):
    elsewhere = servers(lambda h: _send(h, 200, b'{"errors": false, "items": []}'))
    target = elsewhere.url.replace("127.0.0.1", "localhost") + "/_bulk"
    redirector = servers(lambda h: _send(h, status, b"", {"Location": target}))
    key = tmp_path / "api.key"
    key.write_text("SECRET-API-KEY-42\n")
    for extra, url in ((("--api-key-file", str(key)), redirector.url),
                       ((), redirector.url.replace("http://", "http://elastic:PASS-9x@"))):
        res = _push(store, url, *extra)
        assert_clean_exit(res, 1)
        assert f"HTTP {status} redirect to localhost" in res.stderr and "not followed" in res.stderr
        assert "SECRET-API-KEY-42" not in res.output and "PASS-9x" not in res.output
    assert elsewhere.seen == [], "a request (with credentials) reached the redirect target"
    assert len(redirector.seen) == 2 and all(auth for _, auth in redirector.seen)


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a certificate")
    base = tmp_path_factory.mktemp("tls")
    cert, key = base / "cert.pem", base / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def test_https_redirected_to_http_is_refused_as_a_downgrade(store, servers, tls_cert):
    plain = servers(lambda h: _send(h, 200, b'{"errors": false, "items": []}'))
    secure = servers(lambda h: _send(h, 302, b"", {"Location": plain.url + "/_bulk"}), tls=tls_cert)
    res = auditor("fleet", "export", "--db", str(store), "--format", "ecs", "--no-silent", "--push",
                  secure.url.replace("https://", "https://elastic:PASS-9x@"), "--retries", "0", "--lang", "en",
                  env={"SSL_CERT_FILE": str(tls_cert[0])})
    assert_clean_exit(res, 1)
    assert "HTTP 302 redirect to 127.0.0.1 over plain http (a downgrade from https)" in res.stderr
    assert secure.seen and secure.seen[0][1].startswith("Basic ")
    assert plain.seen == []


def test_credentials_over_plain_http_to_another_machine_are_refused(store, tmp_path):
    key = tmp_path / "api.key"
    key.write_text("SECRET-API-KEY-42\n")
    for extra, url in (((), "http://elastic:PASS-9x@siem.invalid:9200"),
                       (("--api-key-file", str(key)), "http://siem.invalid:9200")):
        res = _push(store, url, *extra)
        assert_clean_exit(res, 2)
        assert "credentials would be sent in clear over http" in res.stderr and "siem.invalid" in res.stderr
        assert "PASS-9x" not in res.output and "SECRET-API-KEY-42" not in res.output
    res = _push(store, "ftp://elastic:PASS-9x@siem.invalid/")  # not http(s): the message shows no credentials
    assert_clean_exit(res, 2)
    assert "not an http(s) URL" in res.stderr and "PASS-9x" not in res.output
    key.write_text("SECRET-API\r\nX-Injected: 1\n")  # a line break would end the header
    res = _push(store, "https://siem.invalid:9200", "--api-key-file", str(key))
    assert_clean_exit(res, 2)
    assert "line breaks" in res.stderr and "SECRET-API" not in res.output
    # allowed explicitly: it tries (and finds nobody there)
    res = _push(store, "http://elastic:PASS-9x@siem.invalid:9200", "--allow-http-credentials", "--timeout", "3",
                "--retries", "0")
    assert_clean_exit(res, 1)
    assert "no answer" in res.stderr


@pytest.mark.slow
def test_a_dripping_server_cannot_hold_the_push(store, servers):
    def drip(h):
        h.send_response(200)
        h.send_header("Content-Length", "1000000")
        h.end_headers()
        for _ in range(60):
            try:
                h.wfile.write(b" ")
                h.wfile.flush()
            except OSError:
                return
            time.sleep(0.5)

    srv = servers(drip)
    t0 = time.monotonic()
    res = _push(store, srv.url, "--timeout", "2", "--retries", "1")
    assert_clean_exit(res, 1)
    assert "no answer within 2 s" in res.stderr and "gave up after 1 retries" in res.stderr
    assert time.monotonic() - t0 < 15


@pytest.mark.slow
@pytest.mark.parametrize("body", ["huge", "deep", "escapes", "weird-items"])
def test_hostile_answers(store, servers, body):
    def answer(h):
        if body == "huge":
            h.send_response(200)
            h.send_header("Content-Length", str(40 << 20))
            h.end_headers()
            chunk = b" " * (1 << 20)
            try:
                for _ in range(40):
                    h.wfile.write(chunk)
            except OSError:
                return
        elif body == "deep":
            _send(h, 200, b'{"items":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
        elif body == "escapes":
            _send(h, 400, "\x1b[2J\x1b]0;pwned\x07\u202e bad".encode("utf-8"))
        else:  # one document per request (--batch 1): one odd item back
            items = [{"index": {"status": "abc", "error": {"type": "\x1b[31m", "reason": ["x"] * 3}}}]
            _send(h, 200, json.dumps({"errors": True, "items": items}).encode())

    srv = servers(answer)
    res = _push(store, srv.url, "--batch", "1" if body == "weird-items" else "500", child=True)  # peak RSS
    assert_clean_exit(res, 1)
    assert "\x1b" not in res.stderr and "\u202e" not in res.stderr
    assert res.peak_rss_mb < limit_memory_mb()
    if body == "huge":
        assert "answer larger than" in res.stderr


# --------------------------------------------------------------------------- report and verify on hostile files

def test_report_and_verify_never_block_on_a_fifo_or_follow_a_users_link(real, tmp_path_factory, tmp_path):
    share = share_dir(tmp_path_factory, "share-cli")
    os.mkfifo(share / "r.json")
    for cmd in (("report", str(share / "r.json"), "-o", str(tmp_path / "x.html")), ("verify", str(share / "r.json")),
                ("report", str(real["path"]), "--baseline", str(share / "r.json"), "-o", str(tmp_path / "y.html"))):
        res = auditor(*cmd, timeout=20, child=True)  # a FIFO: only a kill would end a hang
        assert_clean_exit(res, 2)


@pytest.mark.parametrize("change", ["title-string", "severity-number", "score-101", "duty-extra-field",
                                    "timestamp-text", "evidence-lone-surrogate"])
def test_resealed_mistyped_reports(real, tmp_path_factory, tmp_path, change):
    rep = copy.deepcopy(real["report"])
    if change == "title-string":
        rep["findings"][0]["title"] = "all clear"
    elif change == "severity-number":
        rep["findings"][0]["severity"] = 5
    elif change == "score-101":
        rep["score"]["value"] = 101
    elif change == "duty-extra-field":
        rep["duties"][0]["injected"] = True
    elif change == "timestamp-text":
        rep["finished_at"] = "yesterday"
    else:
        rep["findings"][0]["evidence"]["name"] = "@@S@@"
    path = share_dir(tmp_path_factory, "share-mistyped") / "r.json"
    data = sealed(rep)
    if change == "evidence-lone-surrogate":  # a lone surrogate escape, re-sealed over the parsed text
        data = data.replace(b'"@@S@@"', b'"\\ud800"')
    path.write_bytes(data)
    res = auditor("report", str(path), "-o", str(tmp_path / "x.html"))
    assert_clean_exit(res, 2)
    assert not (tmp_path / "x.html").exists()
    ver = auditor("verify", str(path))
    assert_clean_exit(ver, 1)
    assert "ALTERED" in ver.stderr
    base = auditor("report", str(real["path"]), "--baseline", str(path), "-o", str(tmp_path / "y.html"))
    assert_clean_exit(base, 2)
    assert "--baseline" in base.stderr


# --------------------------------------------------------------------------- inspector bundles

@pytest.fixture(scope="module")
def bundle(real):
    from auditor.inspector.bundle import json_bytes, make_bundle

    report_bytes = real["path"].read_bytes()
    files = [("report.json", json_bytes(json.loads(report_bytes))), ("report.html", b"<html>" + b"x" * 5000 + b"</html>"),
             ("answers.json", json_bytes({"answers": {}})), ("host.json", json_bytes({"hostname": "B-PC"}))]
    return make_bundle(files, {"created_at": "2026-11-30T12:00:00+08:00", "host": "B-PC"}, None)


def _zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A ZIP from (name, stored bytes, method, crc, declared uncompressed size) as a forger would write it."""
    import struct

    out, central = bytearray(), bytearray()
    for name, data, method, crc, usize in members:
        raw = name.encode()
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, method, 0, 33, crc, len(data), usize, len(raw), 0)
        out += raw + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 788, 20, 0x800, method, 0, 33, crc, len(data), usize,
                               len(raw), 0, 0, 0, 0, 0o100600 << 16, off) + raw
    return bytes(out + central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                                             len(out), 0))


def _bomb(gigabytes: float) -> tuple[bytes, int]:
    """A raw deflate stream of zeros inflating to ``gigabytes``: one full-flushed 16 MiB block, repeated (after a
    full flush nothing refers back), then the final block. Returns (stream, inflated size)."""
    piece = 16 << 20
    block = (c := zlib.compressobj(9, zlib.DEFLATED, -15)).compress(b"\0" * piece) + c.flush(zlib.Z_FULL_FLUSH)
    n = int(gigabytes * (1 << 30)) // piece
    return block * n + zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH), n * piece


def test_a_bundle_member_inflating_to_gigabytes_is_never_inflated(bundle, tmp_path_factory):
    import zipfile

    with zipfile.ZipFile(__import__("io").BytesIO(bundle)) as zf:
        members = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    bomb, size = _bomb(1.5)
    assert len(zlib.decompressobj(-15).decompress(bomb, 1 << 20)) == 1 << 20  # a real stream of zeros
    forged = [(n, d, 0, zlib.crc32(d), len(d)) if n != "report.html" else (n, bomb, 8, 0, size) for n, d in members]
    path = share_dir(tmp_path_factory, "bundle-bomb") / "b.zip"
    path.write_bytes(_zip(forged))
    res = auditor("verify", str(path), "--lang", "en", timeout=30, child=True)  # peak RSS
    assert_clean_exit(res, 1)
    assert "report.html: compressed (auditor stores members): altered, not inflated" in res.stderr
    assert res.peak_rss_mb < 150 and res.seconds < 10


@pytest.mark.slow
@pytest.mark.parametrize("trick", ["declared-huge", "many-members", "manifest-huge", "manifest-deep",
                                   "overlapping", "comment", "not-a-bundle"])
def test_crafted_bundles(bundle, tmp_path_factory, trick):
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        members = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    entries = [(n, d, 0, zlib.crc32(d), len(d)) for n, d in members]
    expect_code = 1
    if trick == "declared-huge":
        entries = [(n, d, m, c, (3 << 30) if n == "report.html" else u) for n, d, m, c, u in entries]
    elif trick == "many-members":
        entries += [(f"x{i}.txt", b"", 0, 0, 0) for i in range(5000)]
    elif trick == "manifest-huge":
        entries = [(n, d + b" " * (2 << 20), m, zlib.crc32(d + b" " * (2 << 20)), len(d) + (2 << 20))
                   if n == "manifest.json" else (n, d, m, c, u) for n, d, m, c, u in entries]
    elif trick == "manifest-deep":
        deep = b"[" * 100_000 + b"]" * 100_000
        entries = [(n, deep, 0, zlib.crc32(deep), len(deep)) if n == "manifest.json" else (n, d, m, c, u)
                   for n, d, m, c, u in entries]
    elif trick == "not-a-bundle":
        entries = [("a.txt", b"hi", 0, zlib.crc32(b"hi"), 2)]
        expect_code = 2
    data = _zip(entries)
    if trick == "overlapping":  # two central entries pointing at the same local header
        data = bundle.replace(b"report.html", b"report.json", 2)
    elif trick == "comment":
        data = bundle[:-2] + b"\x05\x00hello"
    path = share_dir(tmp_path_factory, "bundle-" + trick) / "b.zip"
    path.write_bytes(data)
    res = auditor("verify", str(path), timeout=30, child=True)  # peak RSS
    assert_clean_exit(res, expect_code)
    assert res.peak_rss_mb < 150 and res.seconds < 15
