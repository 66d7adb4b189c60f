"""The parsed-pack cache (auditor/packcache.py): a stale cache is rebuilt, a corrupt, foreign or loose one is never
used, and what a start reads from the cache is exactly what parsing the packs gives."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from auditor import packcache, packs
from auditor.errors import PackError
from auditor.paths import pack_cache_dir
from auditor.resources import pack_dir
from conftest import load_report, run_cli

CATALOG = pack_dir("checks") / "remote-tools"
POSIX = sys.platform != "win32"


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    folder = tmp_path / "remote-tools"
    shutil.copytree(CATALOG, folder)
    return folder


def _cache() -> Path:
    return pack_cache_dir() / "packs.json"


def _entries() -> dict[str, tuple[str, bytes]]:
    """The cache file's entries by name: (key, JSON of the parsed files)."""
    body = _cache().read_bytes().partition(b"\n")[2]
    out = {}
    for line in body.split(b"\n"):
        name, key, data = line.split(b"\t", 2)
        out[json.loads(name)] = (key.decode(), data)
    return out


def _catalog_entry() -> dict:
    return json.loads(_entries()["remote-tools"][1])


def _rewrite(entries: dict[str, tuple[str, bytes]]) -> None:
    """The cache file with these entries and a correct checksum."""
    body = b"\n".join(json.dumps(n).encode() + b"\t" + k.encode() + b"\t" + v for n, (k, v) in entries.items())
    _cache().write_bytes(json.dumps({"format": 2, "sha256": hashlib.sha256(body).hexdigest()}).encode() + b"\n"
                         + body)


def test_cached_catalog_is_the_parsed_catalog(catalog_copy):
    parsed = packs.load_catalog(catalog_copy)  # no cache yet: parsed and written
    assert _cache().is_file()
    if POSIX:
        assert _cache().stat().st_mode & 0o777 == 0o600
        assert pack_cache_dir().stat().st_mode & 0o777 == 0o700
    mtime = _cache().stat().st_mtime_ns
    cached = packs.load_catalog(catalog_copy)
    assert _cache().stat().st_mtime_ns == mtime  # read, not rewritten
    assert cached == parsed and len(cached) > 150
    assert any(t.reviewed is not None for t in cached.values())  # TOML dates come back as dates
    assert [t.id for t in cached.values()] == [t.id for t in parsed.values()]


def test_edited_added_or_removed_pack_file_rebuilds(catalog_copy):
    packs.load_catalog(catalog_copy)
    todesk = catalog_copy / "todesk.toml"
    todesk.write_text(todesk.read_text(encoding="utf-8").replace('name = "ToDesk"', 'name = "ToDesk Edited"', 1),
                      encoding="utf-8")
    assert packs.load_catalog(catalog_copy)["todesk"].name == "ToDesk Edited"
    assert "todesk.toml" in _catalog_entry()
    (catalog_copy / "zz_site.toml").write_text(
        'id = "zz_site"\nname = "Site Tool"\nvendor = "Site"\ncategory = "rmm"\nsources = ["site"]\n', encoding="utf-8")
    assert "zz_site" in packs.load_catalog(catalog_copy)
    (catalog_copy / "zz_site.toml").unlink()
    assert "zz_site" not in packs.load_catalog(catalog_copy)
    assert "zz_site.toml" not in _catalog_entry()


def test_same_size_edit_is_seen_by_its_time(catalog_copy):
    packs.load_catalog(catalog_copy)
    todesk = catalog_copy / "todesk.toml"
    before = todesk.stat()
    text = todesk.read_text(encoding="utf-8").replace('name = "ToDesk"', 'name = "ToDesX"', 1)
    todesk.write_text(text, encoding="utf-8")
    os.utime(todesk, ns=(before.st_atime_ns, before.st_mtime_ns + 1))
    assert todesk.stat().st_size == before.st_size
    assert packs.load_catalog(catalog_copy)["todesk"].name == "ToDesX"


def test_one_file_holds_every_pack_and_an_entry_rebuilt_keeps_the_others(catalog_copy, tmp_path):
    packs.load_catalog(catalog_copy)
    legal = tmp_path / "checks" / "legal.toml"
    legal.parent.mkdir()
    legal.write_text('[[clause]]\nid = "a"\n', encoding="utf-8")
    assert packs.load_toml(legal) == {"clause": [{"id": "a"}]}
    assert {"remote-tools", "checks.legal"} <= set(_entries())
    legal.write_text('[[clause]]\nid = "bb"\n', encoding="utf-8")
    assert packs.load_toml(legal) == {"clause": [{"id": "bb"}]}
    assert json.loads(_entries()["checks.legal"][1]) == {"legal.toml": {"clause": [{"id": "bb"}]}}
    assert "todesk.toml" in _catalog_entry()
    assert [p.name for p in pack_cache_dir().iterdir()] == ["packs.json"]


def test_same_bytes_in_another_folder_is_another_key(catalog_copy, tmp_path):
    packs.load_catalog(catalog_copy)
    first = _entries()["remote-tools"][0]
    other = tmp_path / "other"
    shutil.copytree(catalog_copy, other)
    packs.load_catalog(other)
    assert _entries()["remote-tools"][0] != first


@pytest.mark.parametrize("damage", ["garbage", "truncated", "body-edited", "empty", "header-only", "bad-date",
                                    "bad-line"])
def test_corrupt_cache_is_ignored_and_rebuilt(catalog_copy, damage):
    parsed = packs.load_catalog(catalog_copy)
    raw = _cache().read_bytes()
    head, _, body = raw.partition(b"\n")
    if damage == "garbage":
        _cache().write_bytes(os.urandom(4096))
    elif damage == "truncated":
        _cache().write_bytes(raw[: len(raw) // 2])
    elif damage == "body-edited":  # a tool renamed, the checksum of the header no longer fits
        _cache().write_bytes(head + b"\n" + body.replace(b'"id":"todesk"', b'"id":"todesk_gone"', 1))
    elif damage == "empty":
        _cache().write_bytes(b"")
    elif damage == "header-only":
        _cache().write_bytes(head)
    elif damage == "bad-date":  # well-formed (right key and checksum), but a tagged date is not a date
        entries = _entries()
        key, data = entries["remote-tools"]
        _rewrite({**entries, "remote-tools": (key, data.replace(b'"v":"20', b'"v":"xx', 1))})
    else:  # a line without its tabs, checksum right
        body = body + b'\n"broken"'
        _cache().write_bytes(json.dumps({"format": 2, "sha256": hashlib.sha256(body).hexdigest()}).encode() + b"\n"
                             + body)
    os.chmod(_cache(), 0o600)
    assert packs.load_catalog(catalog_copy) == parsed
    assert packs.load_catalog(catalog_copy) == parsed
    assert "todesk.toml" in _catalog_entry()


def _forge(catalog_copy) -> None:
    """A cache with a correct key and checksum that hides ToDesk: only its owner and mode can tell it apart."""
    entries = _entries()
    key, data = entries["remote-tools"]
    _rewrite({**entries, "remote-tools": (key, data.replace(b'"id":"todesk"', b'"id":"not_todesk"', 1))})


@pytest.mark.skipif(not POSIX, reason="owner and mode bits are POSIX")
def test_cache_writable_by_others_is_never_trusted(catalog_copy):
    packs.load_catalog(catalog_copy)
    _forge(catalog_copy)
    os.chmod(_cache(), 0o666)
    assert "todesk" in packs.load_catalog(catalog_copy)
    assert _cache().stat().st_mode & 0o777 == 0o600  # rebuilt, owner-only again
    _forge(catalog_copy)  # the same forgery, owner-only: taken (the guard is who could write it)
    assert "not_todesk" in packs.load_catalog(catalog_copy)


@pytest.mark.skipif(not POSIX or os.geteuid() != 0, reason="needs root to give the file to another user")
def test_cache_of_another_owner_is_never_trusted(catalog_copy):
    packs.load_catalog(catalog_copy)
    _forge(catalog_copy)
    os.chown(_cache(), 65534, 65534)
    assert "todesk" in packs.load_catalog(catalog_copy)
    assert _cache().stat().st_uid == 0


@pytest.mark.skipif(not POSIX or os.geteuid() != 0, reason="needs root to give the link to another user")
def test_cache_that_is_another_users_link_is_not_followed(catalog_copy, tmp_path):
    packs.load_catalog(catalog_copy)
    _forge(catalog_copy)
    elsewhere = tmp_path / "forged.json"
    os.replace(_cache(), elsewhere)
    os.chmod(elsewhere, 0o600)
    os.symlink(elsewhere, _cache())
    os.lchown(_cache(), 65534, 65534)
    assert "todesk" in packs.load_catalog(catalog_copy)
    assert not _cache().is_symlink()  # the rebuilt cache replaced the link, never wrote through it
    assert "not_todesk" in elsewhere.read_text(encoding="utf-8")


def test_unwritable_place_still_loads(catalog_copy, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("AUDITOR_STATE_DIR", str(blocker / "state"))
    assert packs.load_catalog(catalog_copy) == packs.load_catalog(CATALOG)
    assert not (blocker / "state").exists()


def test_table_with_the_tag_key_is_parsed_not_cached(tmp_path):
    pack = tmp_path / "odd.toml"
    pack.write_text('"\\u0000toml" = "date"\nv = "2026-12-05"\nwhen = 2026-12-05\n', encoding="utf-8")
    expected = {"\x00toml": "date", "v": "2026-12-05", "when": dt.date(2026, 12, 5)}
    assert packs.load_toml(pack) == expected
    assert not _cache().exists() or f"{tmp_path.name}.odd" not in _entries()
    assert packs.load_toml(pack) == expected


def test_bad_pack_is_a_pack_error_and_not_cached(tmp_path):
    pack = tmp_path / "bad.toml"
    pack.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(PackError, match="not UTF-8"):
        packs.load_toml(pack)
    pack.write_text('name = "unclosed\n', encoding="utf-8")
    with pytest.raises(PackError, match="bad.toml"):
        packs.load_toml(pack)
    assert not _cache().exists() or f"{tmp_path.name}.bad" not in _entries()


def test_datetimes_and_times_round_trip(tmp_path):
    pack = tmp_path / "times.toml"
    pack.write_text("a = 2026-12-05T01:02:03+08:00\nb = 2026-12-05T01:02:03Z\nc = 2026-12-05T01:02:03.5\n"
                    "d = 01:02:03\ne = [2026-12-05, {f = 1979-05-27}]\ng = nan\n", encoding="utf-8")
    first = packs.load_toml(pack)
    assert f"{tmp_path.name}.times" in _entries()
    again = packcache.load(f"{tmp_path.name}.times", tmp_path, ["times.toml"],
                           lambda data, path: pytest.fail("parsed again: the cache was not used"))["times.toml"]
    assert {k: v for k, v in again.items() if k != "g"} == {k: v for k, v in first.items() if k != "g"}
    assert again["g"] != again["g"]  # nan


def _tree(root: Path) -> Path:
    for rel, text in (("etc/os-release", 'PRETTY_NAME="UnionTech OS Desktop 20 Pro"\n'),
                      ("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nwh01:x:1000:1000::/home/wh01:/bin/bash\n"),
                      ("home/wh01/.config/autostart/todesk.desktop",
                       "[Desktop Entry]\nType=Application\nName=ToDesk\nExec=/opt/todesk/bin/ToDesk --hide\n")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (root / "opt/todesk/bin").mkdir(parents=True)
    return root


def _comparable(report: dict) -> dict:
    return {k: report[k] for k in ("findings", "coverage", "summary", "scope", "score")}


def test_scan_reports_are_identical_with_and_without_the_cache(tmp_path):
    """Child processes: a new process is what reads the cache (in one process the packs are loaded once)."""
    root = _tree(tmp_path / "root")
    outs = [tmp_path / f"run{i}.json" for i in range(3)]
    args = ("scan", "--only", "remote", "--root", str(root), "-q", "--fail-on", "none")
    assert not pack_cache_dir().exists()
    assert run_cli(*args, "-o", str(outs[0]), child=True).returncode == 0  # parses, writes the cache
    written = {p.name: p.stat().st_mtime_ns for p in pack_cache_dir().iterdir()}
    assert list(written) == ["packs.json"] and {"remote-tools", "i18n.zh", "rules.remote"} <= set(_entries())
    assert run_cli(*args, "-o", str(outs[1]), child=True).returncode == 0  # reads it
    assert {p.name: p.stat().st_mtime_ns for p in pack_cache_dir().iterdir()} == written
    shutil.rmtree(pack_cache_dir())
    assert run_cli(*args, "-o", str(outs[2]), child=True).returncode == 0  # without it again
    reports = [_comparable(load_report(p)) for p in outs]
    assert any(f["target"].get("tool") == "todesk" or "todesk" in json.dumps(f) for f in reports[0]["findings"])
    assert reports[0] == reports[1] == reports[2]


def test_frozen_bundle_unpacked_elsewhere_keeps_its_cache(tmp_path, monkeypatch):
    """A one-file exe unpacks its packs to a new folder (new file times) at every start: the same executable finds
    its cache again; another executable (the installed agent) keeps its own entry beside it."""
    exe = tmp_path / "auditor.exe"
    exe.write_bytes(b"MZ one file")
    monkeypatch.setattr(sys, "executable", str(exe))
    starts = []
    for n in range(2):
        bundle = tmp_path / f"_MEI{n}"
        shutil.copytree(CATALOG, bundle / "auditor" / "_packs" / "checks" / "remote-tools")
        for path in (bundle / "auditor" / "_packs" / "checks" / "remote-tools").iterdir():
            os.utime(path, ns=(n * 10**9, n * 10**9))  # unpacked at another time
        monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
        starts.append(packs.load_catalog(bundle / "auditor" / "_packs" / "checks" / "remote-tools"))
        if n == 0:
            mtime = _cache().stat().st_mtime_ns
    assert _cache().stat().st_mtime_ns == mtime  # the second start read what the first wrote
    assert starts[0] == starts[1]
    assert list(_entries()) == [f"remote-tools@{exe}"]
    installed = tmp_path / "Program Files" / "auditor.exe"
    installed.parent.mkdir()
    installed.write_bytes(b"MZ one folder")
    monkeypatch.setattr(sys, "executable", str(installed))
    packs.load_catalog(tmp_path / "_MEI1" / "auditor" / "_packs" / "checks" / "remote-tools")
    assert set(_entries()) == {f"remote-tools@{exe}", f"remote-tools@{installed}"}
    exe.write_bytes(b"MZ one file, rebuilt")  # a new build of the same version: its packs are parsed again
    monkeypatch.setattr(sys, "executable", str(exe))
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "_MEI0"))
    before = _entries()[f"remote-tools@{exe}"][0]
    packs.load_catalog(tmp_path / "_MEI0" / "auditor" / "_packs" / "checks" / "remote-tools")
    assert _entries()[f"remote-tools@{exe}"][0] != before
    outside = tmp_path / "site-copy"
    shutil.copytree(CATALOG, outside)
    packs.load_catalog(outside)  # a folder outside the bundle: named by its path, keyed by its files' times
    assert "remote-tools" in _entries()
