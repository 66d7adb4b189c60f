"""This PC's reports in an output folder that other PCs (and whoever can write there) share: report names with
the host in them, the folder read through a descriptor, a report counted as this PC's only when its name and its
content say so. See ``runner`` for the rules a scheduled run keeps."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import safeio
from ..integrity import check
from ..paths import LAST_RUN

#: ``DATE_TIME[_HOST][_N].json|html``; HOST never all digits (see host_tag), so the old ``DATE_TIME_N`` still parses
REPORT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{6})(?:_([^_]*[^_0-9][^_]*))?(?:_([0-9]+))?\.(json|html)$")
MAX_REPORT = 64 << 20  # a report larger than this is not read as a baseline (nor pruned)
HOST_TAG_MAX = 40


def host_tag(hostname: str) -> str:
    """The host as it appears in report names: letters, digits, ``-`` and ``.``; when the name had to change (or
    is all digits), a short hash of the exact name keeps two hosts apart."""
    tag = "".join(ch if (ch.isalnum() and ch.isprintable()) or ch in "-." else "-" for ch in hostname)
    tag = tag.strip(".-")[:HOST_TAG_MAX].strip(".-")
    if tag != hostname or not tag or tag.isdigit():
        digest = hashlib.sha256(hostname.encode("utf-8", "surrogatepass")).hexdigest()[:6]
        tag = f"{tag}-{digest}" if tag else f"host-{digest}"
    return tag


def this_host() -> str:
    return socket.gethostname()


@dataclass(frozen=True)
class Name:
    """A report file name taken apart: its stem, time, sequence in that second and host part (None: an older
    version's name, which says nothing of the host)."""

    stem: str
    time: str
    seq: int
    tag: str | None

    @property
    def key(self) -> tuple[str, int]:
        return (self.time, self.seq)


def parse_name(name: str) -> tuple[Name, str] | None:
    m = REPORT_RE.match(name)
    if not m:
        return None
    return Name(name.rsplit(".", 1)[0], m.group(1), int(m.group(3) or 1), m.group(2)), m.group(4)


class Folder:
    """The output folder held open by descriptor: listing, bounded reads of regular files, deletions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.dir = safeio.OpenDir.open(path)

    def close(self) -> None:
        self.dir.close()

    def __enter__(self) -> "Folder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def entries(self) -> dict[str, safeio.Entry]:
        return {e.name: e for e in self.dir.entries()}

    def read(self, entry: safeio.Entry, max_size: int = MAX_REPORT) -> bytes | None:
        """The bytes of a regular file of the folder, or None (not regular, a link, too large, unreadable)."""
        try:
            with self.dir.open_file(entry, max_size=max_size, buffered=False) as fh:
                return fh.read()
        except OSError:
            return None

    def unlink(self, name: str) -> bool:
        """Delete ``name`` (the entry itself, never what a link points to); False when it is not there or cannot
        be deleted (in use, read-only share): it is then simply kept."""
        try:
            if self.dir.fd is None:
                os.unlink(self.path / name)
            else:
                os.unlink(name, dir_fd=self.dir.fd)
            return True
        except OSError:
            return False

    def create_exclusive(self, name: str, data: bytes) -> bool:
        """Create ``name`` owner-only with ``data``; False when it exists (as anything, links included)."""
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            if self.dir.fd is None:
                fd = os.open(self.path / name, flags, 0o600)
            else:
                fd = os.open(name, flags, 0o600, dir_fd=self.dir.fd)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return True


@dataclass
class Reports:
    """This host's reports in a folder (by name: its own host part, or an older version's name), oldest first."""

    folder: Folder
    hostname: str
    names: list[Name]
    jsons: dict[str, safeio.Entry]
    taken: set[str]  # every stem in use by anything of any host (a new report never takes one)

    @classmethod
    def scan(cls, folder: Folder, hostname: str) -> "Reports":
        tag = host_tag(hostname)
        mine: dict[str, Name] = {}
        jsons: dict[str, safeio.Entry] = {}
        taken: set[str] = set()
        for name, entry in folder.entries().items():
            parsed = parse_name(name)
            if parsed is None:
                continue
            n, ext = parsed
            taken.add(n.stem)
            if n.tag is not None and n.tag != tag:
                continue
            mine[n.stem] = n
            if ext == "json" and entry.kind == "file":
                jsons[n.stem] = entry
        return cls(folder, hostname, sorted(mine.values(), key=lambda n: n.key), jsons, taken)

    def load(self, stem: str) -> tuple[dict[str, Any], bytes] | None:
        """The report of this stem when it is a readable JSON report whose host is this PC; else None."""
        entry = self.jsons.get(stem)
        data = self.folder.read(entry) if entry else None
        if data is None:
            return None
        try:
            report = json.loads(data.decode("utf-8-sig"))
        except (ValueError, RecursionError):  # not JSON, not UTF-8, a huge number, nested too deep
            return None
        if not isinstance(report, dict) or not isinstance(report.get("findings"), list):
            return None
        host = report.get("host")
        hostname = host.get("hostname") if isinstance(host, dict) else None
        if not isinstance(hostname, str) or hostname.casefold() != self.hostname.casefold():
            return None
        return report, data

    def previous(self) -> tuple[str, bytes] | None:
        """(stem, bytes) of the newest intact report of this host."""
        for n in reversed(self.names):
            loaded = self.load(n.stem)
            if loaded is None:
                continue
            try:
                intact = not check(loaded[0])
            except (TypeError, ValueError, RecursionError):
                intact = False
            if intact:
                return n.stem, loaded[1]
        return None

    def prune(self, keep: int, written: str) -> list[str]:
        """Delete this host's reports beyond the newest ``keep`` (the one just ``written`` counts and stays).
        A report is deleted only once read and found to be this host's; its .html goes with it."""
        gone: list[str] = []
        kept = 1
        for n in reversed(self.names):
            if n.stem == written:
                continue
            if n.tag is not None and kept < keep and n.stem in self.jsons:
                kept += 1  # this host's name: counted without reading it
                continue
            if self.load(n.stem) is None:
                continue  # not provably this host's: never deleted, never counted
            if kept < keep:
                kept += 1
                continue
            for ext in (".json", ".html"):
                if self.folder.unlink(f"{n.stem}{ext}"):
                    gone.append(f"{n.stem}{ext}")
        return gone

    def new_stem(self, now: dt.datetime) -> str:
        base = f"{now.strftime('%Y-%m-%d_%H%M%S')}_{host_tag(self.hostname)}"
        stem, n = base, 1
        while stem in self.taken:
            n += 1
            stem = f"{base}_{n}"
        return stem


def report_stems(folder: Path, hostname: str | None = None) -> list[str]:
    """Stems of this host's dated reports, oldest first."""
    try:
        with Folder(Path(folder)) as f:
            return [n.stem for n in Reports.scan(f, hostname or this_host()).names]
    except OSError:
        return []


def last_run_name(hostname: str) -> str:
    return f".last-run.{host_tag(hostname)}"  # JSON; no .json suffix: never taken for a report


def read_last_run(folder: Path, hostname: str | None = None) -> dict[str, Any] | None:
    """This host's last run: its own record, else the folder's ``last-run.json`` when it names this host (or no
    host: an older version's single-PC folder)."""
    hostname = hostname or this_host()
    try:
        with Folder(Path(folder)) as f:
            entries = f.entries()
            for name in (last_run_name(hostname), LAST_RUN):
                entry = entries.get(name)
                data = f.read(entry, max_size=1 << 20) if entry else None
                try:
                    last = json.loads(data.decode("utf-8")) if data else None
                except (ValueError, RecursionError):
                    last = None
                if isinstance(last, dict) and str(last.get("host", hostname)).casefold() == hostname.casefold():
                    return last
    except OSError:
        return None
    return None
