"""auditor.durable, the one writer of the agent's own files and folders: owner-only from the first moment, atomic,
fsynced; and every command that creates a data folder creates it owner-only (0700), whatever the umask."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import stat
from pathlib import Path

import pytest

from auditor.durable import (make_dirs, mkdir_private, private_dir, private_temp_dir, sha256_file, sha256_stream,
                             write_bytes, write_chunks)
from auditor.watch.alerts import open_events
from conftest import load_report, run_cli
from exportgen import export_rows, write_csv

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@contextlib.contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def test_write_creates_each_missing_folder_owner_only_and_leaves_existing_ones(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    target = shared / "a" / "b" / "report.json"
    with umask(0o022):
        assert write_bytes(target, b"{}") == 2
    assert target.read_bytes() == b"{}" and mode(target) == 0o600
    assert (mode(shared / "a"), mode(shared / "a" / "b")) == (0o700, 0o700)
    assert mode(shared) == 0o755  # not ours to change
    assert [p.name for p in (shared / "a" / "b").iterdir()] == ["report.json"]  # no temporary file left


def test_replace_is_atomic_and_a_failure_leaves_the_old_file(tmp_path):
    target = tmp_path / "state.json"
    write_bytes(target, b"old")

    def chunks():
        yield b"new, half"
        raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError):
        write_chunks(target, chunks())
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]

    def refuse():
        raise RuntimeError("last check failed")

    with pytest.raises(RuntimeError):
        write_chunks(target, [b"new"], before_replace=refuse)
    assert target.read_bytes() == b"old"
    write_chunks(target, [b"n", b"ew"])
    assert target.read_bytes() == b"new" and mode(target) == 0o600


def test_other_modes_only_when_asked(tmp_path):
    unit = tmp_path / "units" / "x.service"
    write_bytes(unit, b"[Unit]\n", mode=0o644)
    assert mode(unit) == 0o644 and mode(unit.parent) == 0o700
    theirs = tmp_path / "theirs.csv"
    write_chunks(theirs, [b"a,b\n"], private=False)  # a user's file put back: the default mode of a new file
    assert theirs.read_bytes() == b"a,b\n"


def test_private_dir_restricts_an_existing_folder_make_dirs_does_not(tmp_path):
    old = tmp_path / "reports"
    old.mkdir(mode=0o755)
    os.chmod(old, 0o755)
    assert make_dirs(old) == old and mode(old) == 0o755
    assert private_dir(old) == old and mode(old) == 0o700
    with umask(0):
        mkdir_private(tmp_path / "one")
        dfd = os.open(tmp_path, os.O_RDONLY)
        try:
            mkdir_private("two", dir_fd=dfd)
        finally:
            os.close(dfd)
    assert mode(tmp_path / "one") == mode(tmp_path / "two") == 0o700
    with pytest.raises(FileExistsError):
        mkdir_private(tmp_path / "one")
    tmp = Path(private_temp_dir("auditor-test-"))
    try:
        assert mode(tmp) == 0o700
    finally:
        tmp.rmdir()


def test_hashing(tmp_path):
    data = os.urandom(3 << 20) + b"tail"
    path = tmp_path / "blob"
    path.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == want
    fh = io.BytesIO(b"skip" + data)
    fh.read(4)
    assert sha256_stream(fh) == want  # what is left to read


def test_remediate_apply_creates_the_data_folder_owner_only(tmp_path, monkeypatch):
    """`remediate mask --apply` with the default quarantine: the user data folder it creates (and the XDG data
    folder above it) are 0700, not 0755 under umask 022."""
    monkeypatch.delenv("AUDITOR_QUARANTINE_DIR")
    data_home = tmp_path / "home" / ".local" / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.setenv("AUDITOR_DATA_DIR", str(data_home / "yuncang-auditor"))  # the machine's folder, as root
    (tmp_path / "home").mkdir()
    export = write_csv(tmp_path / "exports" / "订单.csv", export_rows(random.Random(7), "pdd", 12)[0])
    with umask(0o022):
        res = run_cli("remediate", "mask", "--lang", "en", str(export), "--apply")
    assert res.returncode == 0, res.stderr
    own = data_home / "yuncang-auditor"
    for folder in (tmp_path / "home" / ".local", data_home, own, own / "quarantine", own / "quarantine" / "items"):
        assert mode(folder) == 0o700, folder


def test_scan_output_folder_and_events_folder_are_owner_only(tmp_path):
    out = tmp_path / "out" / "daily" / "r.json"
    empty = tmp_path / "empty"
    empty.mkdir()
    with umask(0o022):
        res = run_cli("scan", "--only", "files", "--path", str(empty), "-q", "--fail-on", "none", "-o", str(out))
        events = open_events(tmp_path / "watch" / "logs" / "events.jsonl")
        events.close()
    assert res.returncode == 0, res.stderr
    load_report(out)
    assert (mode(out), mode(out.parent), mode(out.parent.parent)) == (0o600, 0o700, 0o700)
    assert (mode(tmp_path / "watch"), mode(tmp_path / "watch" / "logs")) == (0o700, 0o700)
    assert mode(tmp_path / "watch" / "logs" / "events.jsonl") == 0o600
