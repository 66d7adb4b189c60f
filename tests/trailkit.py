"""Builders for the export-trail tests: real Chromium `History` and Firefox `places.sqlite` databases made with
sqlite3 using the browsers' own schemas, profile folders in the Linux and Windows layouts, a process holding a
database under an exclusive lock, and real shell links (.lnk) made with pylnk3."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

EPOCH_DELTA_S = 11_644_473_600

# Chromium components/history/core/browser/download_database.cc, InitDownloadTable (history DB version 69).
CHROMIUM_DOWNLOADS = """
CREATE TABLE downloads (id INTEGER PRIMARY KEY,guid VARCHAR NOT NULL,current_path LONGVARCHAR NOT NULL,
target_path LONGVARCHAR NOT NULL,start_time INTEGER NOT NULL,received_bytes INTEGER NOT NULL,
total_bytes INTEGER NOT NULL,state INTEGER NOT NULL,danger_type INTEGER NOT NULL,
interrupt_reason INTEGER NOT NULL,hash BLOB NOT NULL,end_time INTEGER NOT NULL,opened INTEGER NOT NULL,
last_access_time INTEGER NOT NULL,transient INTEGER NOT NULL,referrer VARCHAR NOT NULL,site_url VARCHAR NOT NULL,
embedder_download_data VARCHAR NOT NULL,tab_url VARCHAR NOT NULL,tab_referrer_url VARCHAR NOT NULL,
http_method VARCHAR NOT NULL,by_ext_id VARCHAR NOT NULL,by_ext_name VARCHAR NOT NULL,
by_web_app_id VARCHAR NOT NULL,etag VARCHAR NOT NULL,last_modified VARCHAR NOT NULL,
mime_type VARCHAR(255) NOT NULL,original_mime_type VARCHAR(255) NOT NULL);
CREATE TABLE downloads_url_chains (id INTEGER NOT NULL,chain_index INTEGER NOT NULL,url LONGVARCHAR NOT NULL,
PRIMARY KEY (id, chain_index) );
CREATE TABLE downloads_slices (download_id INTEGER NOT NULL,offset INTEGER NOT NULL,
received_bytes INTEGER NOT NULL,finished INTEGER NOT NULL DEFAULT 0,PRIMARY KEY (download_id, offset) );
"""
# An old profile: the v24 "reason/path/danger" table plus the columns migrations added before guid/tab_url/
# site_url (referrer, by_ext_*, etag/last_modified, mime types).
CHROMIUM_DOWNLOADS_OLD = """
CREATE TABLE downloads (id INTEGER PRIMARY KEY,current_path LONGVARCHAR NOT NULL,target_path LONGVARCHAR NOT NULL,
start_time INTEGER NOT NULL,received_bytes INTEGER NOT NULL,total_bytes INTEGER NOT NULL,state INTEGER NOT NULL,
danger_type INTEGER NOT NULL,interrupt_reason INTEGER NOT NULL,end_time INTEGER NOT NULL,opened INTEGER NOT NULL,
referrer VARCHAR NOT NULL DEFAULT "",by_ext_id VARCHAR NOT NULL DEFAULT "",by_ext_name VARCHAR NOT NULL DEFAULT "",
etag VARCHAR NOT NULL DEFAULT "",last_modified VARCHAR NOT NULL DEFAULT "",
mime_type VARCHAR(255) NOT NULL DEFAULT "",original_mime_type VARCHAR(255) NOT NULL DEFAULT "");
CREATE TABLE downloads_url_chains (id INTEGER NOT NULL,chain_index INTEGER NOT NULL,url LONGVARCHAR NOT NULL,
PRIMARY KEY (id, chain_index) );
"""
# Browsing history lives beside downloads; the auditor must never read it.
CHROMIUM_HISTORY = """
CREATE TABLE meta(key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR);
CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT,url LONGVARCHAR,title LONGVARCHAR,
visit_count INTEGER DEFAULT 0 NOT NULL,typed_count INTEGER DEFAULT 0 NOT NULL,last_visit_time INTEGER NOT NULL,
hidden INTEGER DEFAULT 0 NOT NULL);
CREATE TABLE visits(id INTEGER PRIMARY KEY,url INTEGER NOT NULL,visit_time INTEGER NOT NULL,
from_visit INTEGER,transition INTEGER DEFAULT 0 NOT NULL,segment_id INTEGER,visit_duration INTEGER DEFAULT 0 NOT NULL);
"""
# Firefox places.sqlite (the tables the download history touches).
FIREFOX_PLACES = """
CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR, rev_host LONGVARCHAR,
visit_count INTEGER DEFAULT 0, hidden INTEGER DEFAULT 0 NOT NULL, typed INTEGER DEFAULT 0 NOT NULL,
frecency INTEGER DEFAULT -1 NOT NULL, last_visit_date INTEGER , guid TEXT, foreign_count INTEGER DEFAULT 0 NOT NULL,
url_hash INTEGER DEFAULT 0 NOT NULL , description TEXT, preview_image_url TEXT, site_name TEXT, origin_id INTEGER);
CREATE TABLE moz_historyvisits (id INTEGER PRIMARY KEY, from_visit INTEGER, place_id INTEGER, visit_date INTEGER,
visit_type INTEGER, session INTEGER, source INTEGER DEFAULT 0 NOT NULL, triggeringPlaceId INTEGER);
CREATE TABLE moz_anno_attributes (id INTEGER PRIMARY KEY, name VARCHAR(32) UNIQUE NOT NULL);
CREATE TABLE moz_annos (id INTEGER PRIMARY KEY, place_id INTEGER NOT NULL, anno_attribute_id INTEGER,
content LONGVARCHAR, flags INTEGER DEFAULT 0, expiration INTEGER DEFAULT 0, type INTEGER DEFAULT 0,
dateAdded INTEGER DEFAULT 0, lastModified INTEGER DEFAULT 0);
"""

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def webkit(when: dt.datetime) -> int:
    return int((when.timestamp() + EPOCH_DELTA_S) * 1_000_000)


def window_start(days: int, today: dt.date | None = None) -> dt.datetime:
    """Start of the auditor's window: local midnight ``days - 1`` days before today."""
    today = today or dt.date.today()
    return dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time()).astimezone()


@dataclass
class Dl:
    target_path: str
    start: dt.datetime
    tab_url: str = ""
    referrer: str = ""
    site_url: str = ""
    tab_referrer_url: str = ""
    mime: str = XLSX
    state: int = 1
    size: int = 20480
    chain: tuple[str, ...] = ()


def make_history(path: Path, downloads: list[Dl], old: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(CHROMIUM_HISTORY + (CHROMIUM_DOWNLOADS_OLD if old else CHROMIUM_DOWNLOADS))
    con.execute("INSERT INTO meta VALUES ('version', ?)", ("32" if old else "69",))
    con.execute("INSERT INTO urls(url,title,last_visit_time) VALUES ('https://private.example/diary?who=me','私人',1)")
    for i, d in enumerate(downloads, start=1):
        start = webkit(d.start)
        end = start + 3_000_000 if d.state == 1 else 0
        if old:
            con.execute("INSERT INTO downloads (id,current_path,target_path,start_time,received_bytes,total_bytes,state,"
                        "danger_type,interrupt_reason,end_time,opened,referrer,mime_type,original_mime_type) "
                        "VALUES (?,?,?,?,?,?,?,0,0,?,0,?,?,?)",
                        (i, d.target_path, d.target_path, start, d.size, d.size, d.state, end, d.referrer, d.mime,
                         d.mime))
        else:
            con.execute(
                "INSERT INTO downloads VALUES (?,?,?,?,?,?,?,?,0,0,?,?,0,?,0,?,?,'',?,?,'GET','','','','','',?,?)",
                (i, str(uuid.uuid4()), d.target_path, d.target_path, start, d.size, d.size, d.state,
                 hashlib.sha256(d.target_path.encode()).digest(), end, end, d.referrer, d.site_url, d.tab_url,
                 d.tab_referrer_url, d.mime, d.mime))
        for j, url in enumerate(d.chain or ("https://download.example/f",)):
            con.execute("INSERT INTO downloads_url_chains VALUES (?,?,?)", (i, j, url))
    con.commit()
    con.close()
    return path


@dataclass
class FfDl:
    target_path: str
    start: dt.datetime
    url: str
    state: int = 1
    size: int = 4096


def make_places(path: Path, downloads: list[FfDl], wal: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")  # as Firefox runs places.sqlite
    con.executescript(FIREFOX_PLACES)
    con.execute("INSERT INTO moz_anno_attributes(id,name) VALUES (1,'downloads/destinationFileURI'),"
                "(2,'downloads/metaData'),(3,'bookmarkProperties/description')")
    con.execute("INSERT INTO moz_places(id,url,title) VALUES (1,'https://private.example/secret-page','私人')")
    for i, d in enumerate(downloads, start=10):
        us = int(d.start.timestamp() * 1_000_000)
        con.execute("INSERT INTO moz_places(id,url,title,visit_count) VALUES (?,?,?,1)", (i, d.url, Path(d.target_path).name))
        con.execute("INSERT INTO moz_historyvisits(place_id,visit_date,visit_type) VALUES (?,?,7)", (i, us))
        con.execute("INSERT INTO moz_annos(place_id,anno_attribute_id,content,dateAdded,lastModified) VALUES (?,1,?,?,?)",
                    (i, Path(d.target_path).as_uri() if d.target_path.startswith("/") else d.target_path, us, us))
        meta = {"state": d.state, "deleted": False, "endTime": us // 1000 + 2000, "fileSize": d.size}
        con.execute("INSERT INTO moz_annos(place_id,anno_attribute_id,content,dateAdded,lastModified) VALUES (?,2,?,?,?)",
                    (i, json.dumps(meta), us, us))
    con.commit()
    con.close()
    return path


def local_state(user_data: Path, profiles: list[str]) -> None:
    user_data.mkdir(parents=True, exist_ok=True)
    cache = {p: {"name": f"用户 {n}", "user_name": f"person{n}@example.com"} for n, p in enumerate(profiles)}
    (user_data / "Local State").write_text(json.dumps({"profile": {"info_cache": cache}}), encoding="utf-8")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_state(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its hash (to prove a scan changed nothing and left nothing)."""
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def hold_exclusive(db: Path) -> subprocess.Popen:
    """Another process holding ``db`` the way a running Chromium does: exclusive locking mode, inside an
    exclusive transaction. Returns once the lock is held."""
    code = ("import sqlite3,sys,time\n"
            "c=sqlite3.connect(sys.argv[1],isolation_level=None)\n"
            "c.execute('PRAGMA locking_mode=EXCLUSIVE')\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "c.execute('SELECT count(*) FROM downloads').fetchone()\n"
            "print('locked',flush=True)\n"
            "sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def hold_with_wal(db: Path, *statements: str) -> subprocess.Popen:
    """Another process holding ``db`` the way a running Firefox does (exclusive locking, write-ahead log never
    checkpointed), with ``statements`` committed only to the -wal file. Returns once they are."""
    code = ("import sqlite3,sys\n"
            "c=sqlite3.connect(sys.argv[1],isolation_level=None)\n"
            "c.execute('PRAGMA locking_mode=EXCLUSIVE'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
            "for sql in sys.argv[2:]: c.execute(sql)\n"
            "print('ready',flush=True)\n"
            "sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db), *statements], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=10)


class _GbkStr(str):
    """pylnk3 sizes LinkInfo strings with len(); give it the byte length of the ANSI (GBK) encoding."""

    def __len__(self) -> int:
        return len(self.encode("gbk"))


def make_lnk(lnk_path: Path, target: str, removable: bool, serial: int = 0x1C2D3E4F, label: str = "KINGSTON",
             item_time: dt.datetime | None = None) -> Path:
    """A real shell link (as Explorer writes into Recent) with LinkInfo/VolumeID, written by pylnk3. The
    shell items of the target's path segments carry ``item_time`` (pylnk3 takes the time of writing): pylnk3
    writes a DOS time's seconds undivided into its 5-bit field of two-second steps, so second 30 or 31 is read
    as 60 or 62, an invalid DOS time, as a damaged shortcut has (32 and later spill into the minutes and read
    as valid times)."""
    import pylnk3

    pylnk3.DEFAULT_CHARSET = "gbk"  # the ANSI code page of Chinese Windows
    lnk = pylnk3.for_file(target)
    if item_time is not None:
        for item in lnk.shell_item_id_list.items:
            if isinstance(item, pylnk3.PathSegmentEntry):
                item.modified = item.created = item.accessed = item_time
    lnk.link_info = pylnk3.LinkInfo()
    lnk.link_flags.HasLinkInfo = True
    lnk.specify_local_location(_GbkStr(target), drive_type=pylnk3.DRIVE_REMOVABLE if removable else pylnk3.DRIVE_FIXED,
                               drive_serial=serial, volume_label=_GbkStr(label))
    lnk_path.parent.mkdir(parents=True, exist_ok=True)
    lnk.save(str(lnk_path))
    return lnk_path


def make_jump_list(path: Path, lnk_streams: dict[str, bytes]) -> Path:
    """An AutomaticDestinations Jump List: an MS-CFB (v3, 512-byte sectors) compound file holding one LNK per
    stream plus a ``DestList`` stream, written per [MS-CFB] (small streams in the mini stream, as Windows
    stores them). No library writes compound files, so the layout is built here; olefile reads it back."""
    import struct

    END, FREE, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    streams = dict(lnk_streams)
    streams["DestList"] = struct.pack("<IIIf", 4, len(lnk_streams), len(lnk_streams), 1.0) + b"\0" * 16
    mini = bytearray()
    minifat: list[int] = []
    starts: dict[str, int] = {}
    for name, data in streams.items():
        n = (len(data) + 63) // 64
        starts[name] = len(minifat)
        minifat.extend(range(len(minifat) + 1, len(minifat) + n))
        minifat.append(END)
        mini += data.ljust(n * 64, b"\0")
    mini_sectors = (len(mini) + 511) // 512
    minifat_sectors = (len(minifat) * 4 + 511) // 512
    names = list(streams)
    dir_entries = 1 + len(names)
    dir_sectors = (dir_entries * 128 + 511) // 512
    # sector map: 0 FAT, then directory, MiniFAT, mini stream
    first_dir, first_minifat = 1, 1 + dir_sectors
    first_mini = first_minifat + minifat_sectors
    total = first_mini + mini_sectors
    assert total <= 128, "one FAT sector is enough for a test Jump List"
    fat = [FREE] * 128
    fat[0] = FATSECT

    def chain(start: int, count: int) -> None:
        for i in range(count):
            fat[start + i] = start + i + 1 if i < count - 1 else END

    chain(first_dir, dir_sectors)
    chain(first_minifat, minifat_sectors)
    chain(first_mini, mini_sectors)

    def entry(name: str, kind: int, left: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), kind, 1, left, right, child) + b"\0" * 16
                + struct.pack("<I", 0) + b"\0" * 16 + struct.pack("<IQ", start, size))

    # a valid (all-black, sorted by length then upper-case name) binary tree: a chain of right siblings
    order = sorted(names, key=lambda n: (len(n), n.upper()))
    ids = {n: i + 1 for i, n in enumerate(order)}
    directory = entry("Root Entry", 5, FREE, FREE, ids[order[0]], first_mini, len(mini))
    for i, n in enumerate(order):
        right = ids[order[i + 1]] if i + 1 < len(order) else FREE
        directory += entry(n, 2, FREE, right, FREE, starts[n], len(streams[n]))
    directory = directory.ljust(dir_sectors * 512, b"\0")
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, first_dir, 0, 4096, first_minifat, minifat_sectors, END, 0)
              + struct.pack("<109I", 0, *([FREE] * 108)))
    body = (struct.pack("<128I", *fat) + directory
            + struct.pack(f"<{len(minifat)}I", *minifat).ljust(minifat_sectors * 512, b"\xff")
            + bytes(mini).ljust(mini_sectors * 512, b"\0"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + body)
    return path
