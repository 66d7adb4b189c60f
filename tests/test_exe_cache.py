"""The executable facts cache (auditor/remote/exe_cache.py): what is read from a running program's executable is
kept only for that very file, unchanged; a binary replaced or rewritten with its size and modification time put
back is read again; a corrupt, foreign, loose or linked cache is never used; findings are the same with and
without it. The Windows rule (who may write the executable) is tested here on real SDDL and under Wine in
tests/test_windows_wine.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor import packs
from auditor.core import checks as core_checks
from auditor.core.factory import FindingFactory
from auditor.paths import exe_cache_dir
from auditor.remote import exe_cache
from auditor.remote.collect import read_executable
from auditor.remote.exe_cache import ExeFacts, Session
from auditor.remote.facts import ProcessFact, RemoteFacts
from auditor.remote.judge import RemoteJudge
from auditor.remote.build_marks import GO_MAGIC, INFO_END, INFO_START
from auditor.remote.pe_info import exe_facts
from auditor.remote.tool_index import ToolIndex
from auditor.winacl import writer_problems
from conftest import load_report, run_cli
from signkit import need_tools, signed_copy
from test_renamed import LAUNCHER

POSIX = sys.platform != "win32"
pytestmark = pytest.mark.skipif(not LAUNCHER.exists(), reason="pip's launcher stub not present in this pip build")
SETTLE = exe_cache.SETTLE_NS / 1e9 + 0.1


@pytest.fixture(scope="module")
def binaries(tmp_path_factory) -> dict[str, Path]:
    """A PE with version information, the same signed (osslsigncode), and a non-PE file; settled (their last
    change older than the cache's racy window) so that their facts may be stored."""
    need_tools()
    folder = tmp_path_factory.mktemp("exes")
    plain = folder / "svch0st.exe"
    shutil.copy(LAUNCHER, plain)
    signed = signed_copy(LAUNCHER, folder / "signed.exe", "AnyDesk Software GmbH", "AnyDesk Software GmbH")
    other = folder / "frpc"
    other.write_bytes(b"\x7fELF" + bytes(range(256)) * 40)
    go = folder / "kworker"  # an ELF carrying Go 1.18+ build info (layout of Go's src/debug/buildinfo)
    mod = INFO_START + b"path\tgithub.com/gdy666/lucky\nmod\tgithub.com/gdy666/lucky\t(devel)\t\n" + INFO_END
    go.write_bytes(b"\x7fELF" + b"\x00" * 12 + GO_MAGIC + bytes([8, 2]) + b"\x00" * 16 + bytes([8]) + b"go1.22.1"
                   + bytes([len(mod)]) + mod + b"\x00" * 64)
    time.sleep(SETTLE)
    return {"plain": plain, "signed": signed, "other": other, "go": go}


def _cache() -> Path:
    return exe_cache_dir() / exe_cache.CACHE_FILE


def _entries() -> dict[str, tuple[str, dict]]:
    body = _cache().read_bytes().partition(b"\n")[2]
    out = {}
    for line in body.split(b"\n"):
        name, key, data = line.split(b"\t", 2)
        out[json.loads(name)] = (key.decode(), json.loads(data))
    return out


def _key(path: Path) -> str:
    """The name of the entry of the file at ``path`` as it is now (its key: no path is written down)."""
    with open(path, "rb") as fh:
        return Session().identify(str(path), fh).key


def _entry(path: Path) -> dict:
    return _entries()[_key(path)][1]


def _rewrite(entries: dict[str, tuple[str, dict]]) -> None:
    """The cache file with these entries and a correct checksum."""
    body = b"\n".join(json.dumps(n).encode() + b"\t" + k.encode() + b"\t" + json.dumps(d).encode()
                      for n, (k, d) in entries.items())
    _cache().write_bytes(json.dumps({"format": exe_cache.FORMAT, "sha256": hashlib.sha256(body).hexdigest()}).encode()
                         + b"\n" + body)


def _read(paths, session: Session | None) -> dict[str, ExeFacts]:
    return {str(p): exe_facts(str(p), session, hash_if=lambda facts: True) for p in paths}


def _warm(paths) -> dict[str, ExeFacts]:
    session = Session()
    facts = _read(paths, session)
    session.save()
    return facts


def _hit(path: Path) -> ExeFacts | None:
    """What a new scan's cache holds for ``path`` as it is now (None: it would be read again)."""
    session = Session()
    with open(path, "rb") as fh:
        ident = session.identify(str(path), fh)
    return session.lookup(ident) if ident else None


def test_cached_facts_are_the_facts_read(binaries):
    paths = list(binaries.values())
    uncached = _read(paths, None)
    assert uncached[str(binaries["plain"])].version  # a real PE: version strings read
    assert [s.organization for s in uncached[str(binaries["signed"])].signers] == ["AnyDesk Software GmbH"]
    assert uncached[str(binaries["other"])] == ExeFacts(sha256=hashlib.sha256(binaries["other"].read_bytes()).hexdigest())
    assert uncached[str(binaries["go"])].marks.go_module == "github.com/gdy666/lucky"  # build marks are facts too
    assert _warm(paths) == uncached
    if POSIX:
        assert _cache().stat().st_mode & 0o777 == 0o600 and exe_cache_dir().stat().st_mode & 0o777 == 0o700
    assert set(_entries()) == {_key(p) for p in paths}
    assert not any(str(p).encode() in _cache().read_bytes() for p in paths)  # the file names no file
    for path in paths:
        assert _hit(path) == uncached[str(path)]
    mtime = _cache().stat().st_mtime_ns
    assert _warm(paths) == uncached
    assert _cache().stat().st_mtime_ns == mtime  # all hits, seen today already: not written again


def test_a_hash_is_given_only_where_asked(binaries):
    path = str(binaries["plain"])
    _warm([path])  # the entry holds the hash
    assert _entry(binaries["plain"])["h"]
    session = Session()
    facts = exe_facts(path, session, hash_if=lambda facts: False)
    assert facts.sha256 is None and facts.version  # as without the cache: a hash only for reportable processes
    asked = exe_facts(path, Session(), hash_if=lambda facts: True)
    assert asked.sha256 == hashlib.sha256(binaries["plain"].read_bytes()).hexdigest()


def _same_size_other_bytes(path: Path) -> None:
    """Rewrite ``path`` in place with another product name of the same length, and put its times back."""
    before = path.stat()
    data = path.read_bytes()
    old, new = "Simple Launcher".encode("utf-16-le"), "Remote Control!".encode("utf-16-le")
    assert old in data and len(old) == len(new)
    with open(path, "r+b") as fh:
        fh.write(data.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


def test_rewritten_with_same_size_and_mtime_is_read_again(binaries, tmp_path):
    exe = tmp_path / "tool.exe"
    shutil.copy(binaries["plain"], exe)
    time.sleep(SETTLE)
    assert dict(_warm([exe])[str(exe)].version)["ProductName"] == "Simple Launcher"
    old_key = _key(exe)
    _same_size_other_bytes(exe)  # only the status change time (which no user can set) tells
    assert _hit(exe) is None
    assert dict(_warm([exe])[str(exe)].version)["ProductName"] == "Remote Control!"
    # changed within the racy window: read, not stored (the old entry stays, under the old key, unused)
    assert dict(map(tuple, _entries()[old_key][1]["v"]))["ProductName"] == "Simple Launcher"
    assert _key(exe) not in _entries() and _hit(exe) is None
    time.sleep(SETTLE)  # settled: stored, and used from then on
    _warm([exe])
    assert dict(_hit(exe).version)["ProductName"] == "Remote Control!"


def test_replaced_by_another_file_with_same_size_and_mtime_is_read_again(binaries, tmp_path):
    exe = tmp_path / "tool.exe"
    shutil.copy(binaries["plain"], exe)
    time.sleep(SETTLE)
    _warm([exe])
    st = exe.stat()
    swap = tmp_path / "swap.exe"
    swap.write_bytes(exe.read_bytes().replace("Simple Launcher".encode("utf-16-le"),
                                              "Remote Control!".encode("utf-16-le")))
    os.utime(swap, ns=(st.st_atime_ns, st.st_mtime_ns))
    time.sleep(SETTLE)  # even settled: another file (inode, ctime) is another key
    os.replace(swap, exe)
    assert (exe.stat().st_size, exe.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert _hit(exe) is None
    assert dict(exe_facts(str(exe), Session()).version)["ProductName"] == "Remote Control!"


def _forge(path: Path) -> None:
    """A cache with the right key and checksum that says ``path`` has no version information: only the file's
    owner and mode can tell it apart."""
    entries = _entries()
    key, data = entries[_key(path)]
    _rewrite({**entries, key: (key, {**data, "v": []})})


@pytest.mark.parametrize("damage", ["garbage", "truncated", "body-edited", "empty", "other-format", "bad-hash",
                                    "bad-version", "extra-field", "bad-date"])
def test_corrupt_cache_is_ignored(binaries, damage):
    path = binaries["plain"]
    expected = _warm([path])
    raw = _cache().read_bytes()
    head, _, body = raw.partition(b"\n")
    entries = _entries()
    key, data = entries[_key(path)]
    if damage == "garbage":
        _cache().write_bytes(os.urandom(4096))
    elif damage == "truncated":
        _cache().write_bytes(raw[: len(raw) // 2])
    elif damage == "body-edited":  # the version strings gone, the checksum no longer fits
        _cache().write_bytes(head + b"\n" + body.replace(b'"v":[[', b'"v":[],"x":[[', 1))
    elif damage == "empty":
        _cache().write_bytes(b"")
    elif damage == "other-format":
        _cache().write_bytes(head.replace(exe_cache.FORMAT.encode(), b"executables-0") + b"\n" + body)
    else:  # well-formed, right key and checksum, but the entry is not what the cache writes
        data = {"bad-hash": {**data, "h": "zz" * 32}, "bad-version": {**data, "v": [["ProductName"]]},
                "extra-field": {**data, "pickle": "x"}, "bad-date": {**data, "seen": "yesterday"}}[damage]
        _rewrite({**entries, key: (key, data)})
    os.chmod(_cache(), 0o600)
    assert _read([path], Session()) == expected
    assert _warm([path]) == expected
    assert _hit(path) == expected[str(path)]  # rewritten whole


@pytest.mark.skipif(not POSIX, reason="owner and mode bits are POSIX")
def test_cache_writable_by_others_is_never_trusted(binaries):
    path = binaries["plain"]
    expected = _warm([path])
    _forge(path)
    os.chmod(_cache(), 0o666)
    assert _read([path], Session()) == expected
    _forge(path)
    os.chmod(_cache(), 0o600)  # the same forgery, owner-only: taken (the guard is who could write it)
    assert _read([path], Session())[str(path)].version == ()


@pytest.mark.skipif(not POSIX or os.geteuid() != 0, reason="needs root to give the file to another user")
def test_cache_of_another_owner_is_never_trusted(binaries):
    path = binaries["plain"]
    expected = _warm([path])
    _forge(path)
    os.chown(_cache(), 65534, 65534)
    assert _read([path], Session()) == expected


@pytest.mark.skipif(not POSIX or os.geteuid() != 0, reason="needs root to give the link to another user")
def test_cache_that_is_another_users_link_is_not_followed(binaries, tmp_path):
    path = binaries["plain"]
    expected = _warm([path])
    _forge(path)
    elsewhere = tmp_path / "forged.json"
    os.replace(_cache(), elsewhere)
    os.symlink(elsewhere, _cache())
    os.lchown(_cache(), 65534, 65534)
    session = Session()
    assert _read([path], session) == expected
    session.save()
    assert not _cache().is_symlink()  # replaced the link, never wrote through it
    assert _entry(path)["v"] and json.loads(elsewhere.read_bytes().split(b"\t", 2)[2])["v"] == []


def test_stale_entries_are_dropped_and_the_file_is_bounded(binaries, tmp_path, monkeypatch):
    old = dt.date.today() - dt.timedelta(days=exe_cache.KEEP_DAYS + 1)
    session = Session(today=old)
    _read([binaries["plain"]], session)
    session.save()
    assert _key(binaries["plain"]) in _entries()
    session = Session()
    _read([binaries["other"]], session)
    session.save()
    assert list(_entries()) == [_key(binaries["other"])]  # not seen for 31 days: dropped
    monkeypatch.setattr(exe_cache, "MAX_ENTRIES", 2)
    copies = []
    for n in range(3):
        copies.append(tmp_path / f"copy{n}.exe")
        shutil.copy(binaries["plain"], copies[-1])
    time.sleep(SETTLE)
    for n, path in enumerate(copies):
        session = Session(today=dt.date.today() + dt.timedelta(days=n))
        _read([path], session)
        session.save()
    assert set(_entries()) == {_key(copies[1]), _key(copies[2])}  # the most recently seen
    session = Session()
    session.keep(exe_cache.Ident("0" * 64, True), ExeFacts((("ProductName", "x" * 20000),)))
    assert not session.kept  # larger than an entry may be: read at every scan instead


def test_hit_seen_on_a_later_day_moves_its_date_on(binaries):
    path = binaries["plain"]
    session = Session(today=dt.date.today() - dt.timedelta(days=3))
    _read([path], session)
    session.save()
    assert _hit(path) is not None
    mtime = _cache().stat().st_mtime_ns
    _warm([path])
    assert _entry(path)["seen"] == dt.date.today().isoformat() and _cache().stat().st_mtime_ns != mtime


def test_unwritable_place_still_reads(binaries, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("AUDITOR_STATE_DIR", str(blocker / "state"))
    assert _warm([binaries["plain"]]) == _read([binaries["plain"]], None)
    assert not (blocker / "state").exists()


def _judged(exes: list[Path], session: Session | None) -> list[dict]:
    index = ToolIndex(packs.catalog())
    procs = [ProcessFact(pid=4242 + n, name=exe.name, exe=str(exe), cmdline=[str(exe)], user="WH\\clerk",
                         started=None, ppid=1) for n, exe in enumerate(exes)]
    for p in procs:
        read_executable(p, index, cache=session)
    judge = RemoteJudge(index, FindingFactory(core_checks.checks(), None), [], "PC-01", dt.date.today())
    return [f.to_dict() for f in judge.run(RemoteFacts(processes=procs))]


def test_findings_are_identical_with_and_without_the_cache(binaries):
    exes = [binaries["signed"], binaries["other"], binaries["plain"]]
    without = _judged(exes, None)
    assert {f["check_id"] for f in without} >= {"RC-002"}  # the signed copy is named AnyDesk by its signer
    assert any(f["evidence"].get("exe_sha256") for f in without)
    cold = Session()
    assert _judged(exes, cold) == without
    cold.save()
    assert _judged(exes, Session()) == without


@pytest.mark.skipif(not POSIX, reason="a Linux process named like a catalog tool")
def test_live_scan_reports_are_identical_with_and_without_the_cache(tmp_path):
    """Real processes, child runs of the CLI: a process named frpc (a copy of sleep) is a finding with its
    executable's hash; the first run fills the cache, the second reads it, the third runs without it."""
    frpc = tmp_path / "frpc"
    shutil.copy(shutil.which("sleep"), frpc)
    proc = subprocess.Popen([str(frpc), "120"])
    try:
        time.sleep(SETTLE)
        outs = [tmp_path / f"run{i}.json" for i in range(3)]
        args = ("scan", "--only", "remote", "-q", "--fail-on", "none")
        assert run_cli(*args, "-o", str(outs[0]), child=True).returncode == 0
        assert _entry(frpc)["h"] == hashlib.sha256(frpc.read_bytes()).hexdigest()
        written = _cache().stat().st_mtime_ns
        assert run_cli(*args, "-o", str(outs[1]), child=True).returncode == 0
        assert _cache().stat().st_mtime_ns == written  # every executable from the cache: nothing new to write
        shutil.rmtree(exe_cache_dir())
        assert run_cli(*args, "-o", str(outs[2]), child=True).returncode == 0
    finally:
        proc.kill()
        proc.wait()
    found = [[f for f in load_report(p)["findings"] if str(frpc) in json.dumps(f)] for p in outs]
    assert found[0] and found[0][0]["evidence"]["exe_sha256"] == hashlib.sha256(frpc.read_bytes()).hexdigest()
    assert found[0] == found[1] == found[2]


# ------------------------------------------------------------------ the Windows rule, on real descriptors

SYSTEM32_EXE = ("O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
                "G:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
                "D:PAI(A;;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)(A;;0x1200a9;;;BA)"
                "(A;;0x1200a9;;;SY)(A;;0x1200a9;;;BU)(A;;0x1200a9;;;AC)(A;;0x1200a9;;;S-1-15-2-2)")
PROGRAM_FILES_EXE = ("O:BAG:SYD:AI(A;ID;FA;;;S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464)"
                     "(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;0x1200a9;;;BU)(A;ID;0x1200a9;;;AC)"
                     "(A;OICIIOID;GA;;;CO)")
USER = "S-1-5-21-1004336348-1177238915-682003330-1001"
PROFILE_EXE = f"O:{USER}G:{USER}D:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;FA;;;{USER})"


@pytest.mark.parametrize("sddl", [SYSTEM32_EXE, PROGRAM_FILES_EXE, "O:SYD:P(A;;FA;;;SY)(A;;FRFX;;;WD)",
                                  "O:BAD:(D;;FA;;;WD)(A;;FA;;;BA)", "O:BAD:(A;CIOIIO;FA;;;WD)(A;;FA;;;BA)"])
def test_only_admins_can_change_it(sddl):
    assert writer_problems(sddl) == []


@pytest.mark.parametrize("sddl, problem", [
    (PROFILE_EXE, f"owner {USER}"),
    ("O:BAD:AI(A;ID;FA;;;SY)(A;ID;0x1301bf;;;BU)", "write access for BU"),  # Users: modify (a loosened vendor folder)
    ("O:BAD:(A;;FA;;;WD)", "write access for WD"),
    ("O:BAD:(A;;0x4;;;AU)", "write access for AU"),  # append only
    ("O:BAD:(A;;WD;;;BU)", "write access for BU"),  # WRITE_DAC: may give itself the rest
    ("O:BAD:(A;;SD;;;BU)", "write access for BU"),  # DELETE
    ("O:BAD:(A;;GW;;;BU)", "write access for BU"),
    ("O:BAD:(A;CIOI;FA;;;WD)", "write access for WD"),  # "CIOI" is not inherit-only ("IO" across two codes)
    ("O:BAD:(A;;ZZ;;;BU)", "write access for BU"),  # rights it cannot read count as write
    ("O:BAD:NO_ACCESS_CONTROL", "no DACL (everyone has full access)"),
    ("O:BA", "no DACL (everyone has full access)"),
])
def test_anyone_else_who_can_change_it_is_named(sddl, problem):
    assert problem in writer_problems(sddl)


def test_the_agents_own_account_counts_as_trusted():
    assert writer_problems(PROFILE_EXE, also=USER) == []
    assert writer_problems(PROFILE_EXE, also="S-1-5-18") == [f"owner {USER}", f"write access for {USER}"]


def test_quick_look_up_finds_the_file_itself_never_through_a_final_link(binaries, tmp_path):
    """A hit needs no open of the file's data (one lstat); a path that now ends in a link, a FIFO or a rewritten
    file is no hit (read through safeio, which refuses a user's link, as without a cache)."""
    exe = tmp_path / "tool.exe"
    shutil.copy(binaries["plain"], exe)
    time.sleep(SETTLE)
    expected = _warm([exe])[str(exe)]
    assert Session().quick(str(exe)) == expected
    real = tmp_path / "real.exe"
    os.replace(exe, real)
    os.symlink(real, exe)
    assert Session().quick(str(exe)) is None
    os.unlink(exe)
    if POSIX:
        os.mkfifo(exe)
        assert Session().quick(str(exe)) is None
        assert exe_facts(str(exe), Session(), hash_if=lambda facts: True) == ExeFacts()  # refused, never a wait
        os.unlink(exe)
    os.replace(real, exe)  # the same file back at its path (rename keeps the inode but moves its ctime)
    assert Session().quick(str(exe)) is None
    _same_size_other_bytes(exe)
    assert Session().quick(str(exe)) is None
