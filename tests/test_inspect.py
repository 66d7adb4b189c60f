"""The inspector's spot check, for real: the CLI in a child process (answers from a file, from a terminal through
a pseudo-terminal, or none), a renamed remote tool running, real exports, real ZIP bundles verified by
`auditor verify`, and every kind of tampering, down to single bytes, caught."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import select
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from clirun import child_env
from auditor.inspector.bundle import build_zip, check_bundle, json_bytes
from conftest import run_cli, validate_report
from exportgen import export_rows, write_csv

pytestmark = pytest.mark.live  # sees the processes of this host (judges only its own)

QUESTIONS = ["Q-RULES", "Q-OWNER", "Q-TRAINING", "Q-OFFBOARD", "Q-LOGS", "Q-DPA", "Q-MASKPRINT"]


@pytest.fixture
def site(tmp_path):
    exports = tmp_path / "Desktop"
    write_csv(exports / "淘宝订单.csv", export_rows(random.Random(1), "taobao", 40)[0], encoding="gb18030")
    key = tmp_path / "key"
    key.write_bytes(os.urandom(32).hex().encode())
    return {"exports": exports, "key": key, "env": {"AUDITOR_STATE_DIR": str(tmp_path / "state")}}


def _members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_spot_check_bundle_verifies_and_carries_everything(tmp_path, site, spawn):
    tool = spawn.start("ToDesk.exe")
    spawn.wait_visible()
    answers = tmp_path / "answers.toml"
    answers.write_text('inspector = "张三 (邮政管理局)"\n[answers]\nQ-RULES = "yes"\n'
                       'Q-OWNER = { answer = "否", note = "尚未任命" }\nQ-LOGS = "partial"\nQ-DPA = "na"\n',
                       encoding="utf-8")
    bundle = tmp_path / "检查包.zip"
    t0 = time.time()
    res = run_cli("inspect", "--output", str(bundle), "--answers", str(answers), "--path", str(site["exports"]),
                  "--sign-key", str(site["key"]), "--role", "waybill-printing", "--site", "义乌一仓", env=site["env"])
    took = time.time() - t0
    assert res.returncode == 1, res.stderr  # high findings exist
    assert "检查表已回答 4/7 项" in res.stdout and "检查包已写入" in res.stdout  # Chinese by default
    assert took < 120

    members = _members(bundle)
    assert list(members) == ["report.json", "report.html", "answers.json", "host.json", "manifest.json"]
    manifest = json.loads(members["manifest.json"])
    for f in manifest["files"]:
        assert hashlib.sha256(members[f["name"]]).hexdigest() == f["sha256"] and len(members[f["name"]]) == f["size"]
    assert manifest["signature"]["algorithm"] == "hmac-sha256" and manifest["inspector"] == "张三 (邮政管理局)"

    report = json.loads(members["report.json"])
    validate_report(report)
    assert report["scope"]["areas"] == ["remote", "files", "accounts"]
    checks = {f["check_id"] for f in report["findings"]}
    assert any(f["check_id"] == "RC-001" and f["evidence"]["pid"] == tool.pid and f["severity"] == "critical"
               for f in report["findings"])
    assert "PI-001" in checks
    assert report["inspection"]["within_budget"] is True and report["inspection"]["scan_seconds"] < 120
    assert report["inspection"]["folders"] == [str(site["exports"])]
    assert any(c["area"] == "accounts" for c in report["coverage"])  # OS accounts were read
    assert b"<html" in members["report.html"][:2000].lower()

    checklist = json.loads(members["answers.json"])
    by_id = {q["id"]: q for q in checklist["questions"]}
    assert [q["id"] for q in checklist["questions"]] == QUESTIONS
    assert by_id["Q-RULES"]["answer"] == "yes" and by_id["Q-OWNER"]["answer"] == "no"
    assert by_id["Q-OWNER"]["note"] == "尚未任命" and by_id["Q-TRAINING"]["answer"] == "not_answered"
    assert by_id["Q-OWNER"]["duty"] == "D-ORG" and "PIPL-52" in by_id["Q-OWNER"]["clauses"]
    assert by_id["Q-MASKPRINT"]["duty"] == "D-DEIDENTIFY" and "GBT41833-MASK" in by_id["Q-MASKPRINT"]["clauses"]
    assert checklist["duties"]["D-ORG"] == "not_met" and checklist["duties"]["D-ENTRUST"] == "na"
    host = json.loads(members["host.json"])
    assert host["tool"]["name"] == "yuncang-auditor" and host["tool"]["version"]
    assert host["host"]["hostname"] and host["host"]["site"] == "义乌一仓"
    # no raw personal data in the bundle
    raw = export_rows(random.Random(1), "taobao", 40)[0]
    blob = b"".join(members.values()).decode("utf-8")
    for row in raw[1:]:
        assert row[4] not in blob and row[3] not in blob

    ok = run_cli("verify", "--lang", "en", str(bundle), "--sign-key", str(site["key"]))
    assert ok.returncode == 0 and "signature valid" in ok.stdout, ok.stderr
    assert run_cli("verify", "--lang", "en", str(bundle)).returncode == 0
    other = tmp_path / "other-key"
    other.write_bytes(b"another key of sufficient length")
    bad = run_cli("verify", "--lang", "en", str(bundle), "--sign-key", str(other))
    assert bad.returncode == 1 and "HMAC signature does not match" in bad.stderr


def _bundle(tmp_path: Path, site: dict, name: str = "b.zip", *extra: str) -> Path:
    bundle = tmp_path / name
    res = run_cli("inspect", "-o", str(bundle), "--path", str(site["exports"]), "--sign-key", str(site["key"]),
                  *extra, env=site["env"])
    assert res.returncode in (0, 1), res.stderr
    return bundle


@pytest.mark.slow
def test_every_single_byte_change_is_caught(tmp_path, site):
    bundle = _bundle(tmp_path, site)
    data = bundle.read_bytes()
    assert check_bundle(data, None)[0] == []
    key = site["key"].read_bytes().strip()
    # every byte of the ZIP structure (local headers, central directory, end record) and 400 content bytes
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    positions = set()
    for info in infos:
        positions.update(range(info.header_offset, info.header_offset + 30 + len(info.filename.encode())))
    cd_start = len(data) - 22 - sum(46 + len(i.filename.encode()) for i in infos)
    positions.update(range(cd_start, len(data)))
    positions.update(random.Random(0).sample(range(len(data)), 400))
    for pos in sorted(positions):
        for flip in (0x01, 0x80):
            altered = bytearray(data)
            altered[pos] ^= flip
            problems, _ = check_bundle(bytes(altered), None)
            assert problems, f"a change of byte {pos} (xor {flip:#x}) went unnoticed"
    # and through the CLI: a byte of the HTML report, a byte of the manifest
    for pos in (infos[1].header_offset + 30 + len("report.html") + 500, cd_start - 40):
        altered = bytearray(data)
        altered[pos] ^= 0x20
        path = tmp_path / f"altered-{pos}.zip"
        path.write_bytes(bytes(altered))
        res = run_cli("verify", "--lang", "en", str(path))
        assert res.returncode == 1 and "ALTERED" in res.stderr and "Traceback" not in res.stderr
    assert check_bundle(data, key)[0] == []


def test_rebuilt_bundles_are_caught(tmp_path, site):
    """Tampering that keeps the ZIP valid: a member replaced, added, removed; hashes recomputed without the key."""
    bundle = _bundle(tmp_path, site)
    key = site["key"].read_bytes().strip()
    members = _members(bundle)

    def rebuild(m: dict[str, bytes]) -> bytes:
        return build_zip(list(m.items()))

    html = dict(members)
    html["report.html"] = members["report.html"].replace(b"</body>", b"<p>all clear</p></body>")
    problems, _ = check_bundle(rebuild(html), None)
    assert any("report.html: SHA-256 does not match" in p for p in problems)

    extra = dict(members)
    extra = {**{k: v for k, v in extra.items() if k != "manifest.json"}, "notes.txt": b"x",
             "manifest.json": members["manifest.json"]}
    assert any("not listed: notes.txt" in p for p in check_bundle(rebuild(extra), None)[0])
    missing = {k: v for k, v in members.items() if k != "host.json"}
    assert any("missing: host.json" in p for p in check_bundle(rebuild(missing), None)[0])

    # a forger who recomputes the manifest hashes: caught by the signature (with the key) ...
    manifest = json.loads(members["manifest.json"])
    for f in manifest["files"]:
        if f["name"] == "report.html":
            f["sha256"] = hashlib.sha256(html["report.html"]).hexdigest()
            f["size"] = len(html["report.html"])
    forged = {**html, "manifest.json": json_bytes(manifest)}
    assert check_bundle(rebuild(forged), None)[0] == []  # (without a key nothing anchors the manifest)
    assert any("HMAC signature does not match" in p for p in check_bundle(rebuild(forged), key)[0])
    # ... and an edited report.json also breaks the report's own digest
    report = json.loads(members["report.json"])
    report["findings"] = []
    body = json_bytes(report)
    for f in manifest["files"]:
        if f["name"] == "report.json":
            f["sha256"], f["size"] = hashlib.sha256(body).hexdigest(), len(body)
    forged = {**members, "report.json": body, "manifest.json": json_bytes(manifest)}
    assert any(p.startswith("report.json: SHA-256 digest does not match") for p in check_bundle(rebuild(forged), None)[0])

    ordinary = tmp_path / "ordinary.zip"
    with zipfile.ZipFile(ordinary, "w") as zf:
        zf.writestr("a.txt", "hello")
    res = run_cli("verify", "--lang", "en", str(ordinary))
    assert res.returncode == 2 and "not an auditor bundle" in res.stderr
    no_manifest = {k: v for k, v in members.items() if k != "manifest.json"}
    assert check_bundle(rebuild(no_manifest), None)[0] == ["no manifest.json: the bundle's manifest was removed"]
    (tmp_path / "trunc.zip").write_bytes(bundle.read_bytes()[:1000])
    res = run_cli("verify", "--lang", "en", str(tmp_path / "trunc.zip"))
    assert res.returncode == 1 and "not a readable ZIP bundle" in res.stderr


def test_a_malformed_manifest_says_what_is_wrong(tmp_path, site):
    """`auditor verify` on a bundle whose manifest.json was rewritten: the message says what is wrong with it (it
    once said only "malformed (TypeError)")."""
    members = _members(_bundle(tmp_path, site))
    manifest = json.loads(members["manifest.json"])
    first = dict(manifest["files"][0])
    for i, (shape, said) in enumerate((
            ([1, 2], "manifest.json is malformed: a JSON list, not an object"),
            ({**manifest, "files": {"a": 1}}, 'manifest.json is malformed: "files" is not a list'),
            ({k: v for k, v in manifest.items() if k != "files"}, 'manifest.json is malformed: no "files" list'),
            ({**manifest, "files": [{**first, "size": "12"}]},
             'manifest.json is malformed: "files" entry 1: "size" missing or not a whole number of bytes'),
            ({**manifest, "files": ["report.json"]}, 'manifest.json is malformed: "files" entry 1 is not an object'),
            ({**manifest, "files": [{"name": "report.json", "size": 1}]},
             'manifest.json is malformed: "files" entry 1: "sha256" missing or not a text'))):
        path = tmp_path / f"m{i}.zip"
        path.write_bytes(build_zip(list({**members, "manifest.json": json_bytes(shape)}.items())))
        res = run_cli("verify", "--lang", "en", str(path))
        assert res.returncode == 1 and said in res.stderr, res.stderr
        assert "Error)" not in res.stderr
    path = tmp_path / "not-json.zip"
    path.write_bytes(build_zip(list({**members, "manifest.json": b"{not json"}.items())))
    res = run_cli("verify", "--lang", "en", str(path))
    assert res.returncode == 1 and "manifest.json is not a JSON manifest (" in res.stderr, res.stderr


def test_no_terminal_and_no_answers_file_still_writes_the_bundle(tmp_path, site):
    bundle = tmp_path / "b.zip"
    res = subprocess.run([sys.executable, "-m", "auditor", "inspect", "-o", str(bundle), "--path",
                          str(site["exports"])], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         env=child_env({**site["env"]}), timeout=120)
    assert res.returncode == 1, res.stderr
    checklist = json.loads(_members(bundle)["answers.json"])
    assert checklist["source"] == "not answered (no terminal and no answers file)"
    assert {q["answer"] for q in checklist["questions"]} == {"not_answered"}
    assert run_cli("verify", "--lang", "en", str(bundle)).returncode == 0


def test_checklist_answered_at_a_terminal(tmp_path, site):
    import pty

    bundle = tmp_path / "b.zip"
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "inspect", "-o", str(bundle), "--path",
                             str(site["exports"]), "--lang", "en", "--inspector", "Li Si"],
                            stdin=slave, stdout=slave, stderr=slave, env=child_env({**site["env"]}))
    os.close(slave)
    # Q-RULES yes + note; Q-OWNER no; Q-TRAINING skipped; Q-OFFBOARD partial; Q-LOGS "x" (refused) then na;
    # Q-DPA skipped; Q-MASKPRINT skipped
    lines = ["y", "rules v3, 2025-06", "n", "", "", "p", "", "x", "na", "", "", ""]
    os.write(master, ("\n".join(lines) + "\n").encode())
    output = b""
    deadline = time.time() + 120
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    proc.wait(30)
    os.close(master)
    text = output.decode("utf-8", "replace")
    assert proc.returncode == 1, text
    assert "[1/7] Q-RULES" in text and "please type y, n, p or na" in text
    checklist = json.loads(_members(bundle)["answers.json"])
    got = {q["id"]: (q["answer"], q["note"]) for q in checklist["questions"]}
    assert got == {"Q-RULES": ("yes", "rules v3, 2025-06"), "Q-OWNER": ("no", None),
                   "Q-TRAINING": ("not_answered", None), "Q-OFFBOARD": ("partial", None), "Q-LOGS": ("na", None),
                   "Q-DPA": ("not_answered", None), "Q-MASKPRINT": ("not_answered", None)}
    assert checklist["source"] == "interactive" and checklist["inspector"] == "Li Si"


def test_every_terminal_line_follows_lang(tmp_path, site):
    """`inspect --lang zh` speaks Chinese on every line it prints, `--lang en` English; its own usage errors too."""
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for lang, done, written in (("zh", "现场检查完成", "检查包已写入"), ("en", "spot check done", "bundle written")):
        bundle = tmp_path / f"{lang}.zip"
        res = run_cli("inspect", "-o", str(bundle), "--path", str(site["exports"]), "--lang", lang,
                      "--sign-key", str(site["key"]), env=site["env"])
        assert res.returncode == 1, res.stderr
        lines = res.stdout.splitlines()
        assert len(lines) == 2 and lines[0].startswith(done) and lines[1].startswith(written), res.stdout
        assert f"auditor verify {bundle} --sign-key KEYFILE" in lines[1]
        for line in lines:
            words = cjk.sub("", line.replace(str(bundle), "").replace("auditor verify", "").replace("--sign-key", ""))
            assert bool(cjk.search(line)) == (lang == "zh"), line
            if lang == "zh":  # no English word left, only numbers, paths, commands
                assert not re.search(r"[A-Za-z]{3,}", words.replace("KEYFILE", "")), line
        bad = run_cli("inspect", "-o", str(tmp_path / "b.txt"), "--lang", lang, env=site["env"])
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1
        assert ("检查包须为 .zip 文件" if lang == "zh" else "the bundle is a .zip file") in bad.stderr
        bad = run_cli("inspect", "-o", str(tmp_path / "nowhere" / "b.zip"), "--lang", lang, env=site["env"])
        assert bad.returncode == 2 and ("不存在" if lang == "zh" else "does not exist") in bad.stderr


def test_answers_json_and_bad_answers(tmp_path, site):
    good = tmp_path / "a.json"
    good.write_text(json.dumps({"answers": {q: "yes" for q in QUESTIONS}}), encoding="utf-8")
    bundle = _bundle(tmp_path, site, "b.zip", "--answers", str(good))
    checklist = json.loads(_members(bundle)["answers.json"])
    assert checklist["answered"] == 7 and set(checklist["duties"].values()) == {"met"}

    for name, text, message in (
            ("unknown.toml", '[answers]\nQ-NOPE = "yes"\n', "unknown question 'Q-NOPE'"),
            ("value.toml", '[answers]\nQ-RULES = "maybe"\n', "'maybe' is not an answer"),
            ("broken.toml", '[answers\nQ-RULES = "yes"\n', "malformed TOML"),
            ("broken.json", '{"answers": {', "malformed JSON"),
            ("shape.json", '{"Q-RULES": "yes"}', "needs an [answers] table")):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        out = tmp_path / f"{name}.zip"
        res = run_cli("inspect", "-o", str(out), "--answers", str(path), "--path", str(site["exports"]),
                      "--lang", "en", env=site["env"])
        assert res.returncode == 2 and message in res.stderr, (name, res.stderr)
        assert not out.exists()
    res = run_cli("inspect", "-o", str(tmp_path / "b.tar"), "--lang", "en", env=site["env"])
    assert res.returncode == 2 and "is a .zip file" in res.stderr
