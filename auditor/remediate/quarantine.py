"""The quarantine and its journal: masking a file in place and restoring it, so that a crash at any point loses
nothing and the next `auditor remediate …` completes or rolls back what was interrupted.

Layout (owner-only folders, owner-only files)::

    <quarantine>/items/<ID>/original.<ext>   the original, byte for byte
    <quarantine>/items/<ID>/masked.<ext>     the masked version that replaced it
    <quarantine>/items/<ID>/meta.json        original path, time, SHA-256 of both, mode, mtime, owner, folder id
    <quarantine>/journal/<ID>.json           an operation in progress
    <quarantine>/damaged/<ID>/               an item or journal that could not be trusted, set aside with
                                             reason.json (never deleted: it may hold an original)
    <quarantine>/lock                        held by the one remediate command at work

Masking: journal `begin` → original copied into the item (fsync, rename, verified by SHA-256) → masked
version written and re-scanned → meta → journal `ready` → masked version written beside the file (fsync) and
renamed over it (atomic) → journal removed. Recovery: `begin` = the file was never touched: the item is
deleted. `ready` = the file is the original or the masked version (a rename is atomic): the rename is done (again)
from the item's masked copy.

Restoring: journal `begin` → original copied beside the file and renamed over it, mode, owner and mtime restored
→ journal `restored` → item deleted → journal removed. Recovery: the file is the original = finish (delete the
item); otherwise the item is kept and the restore can simply be run again.

The user's folder is held by descriptor for the whole operation and checked before every rename
(remediate.folder): a folder swapped for a link is refused, nothing is written through the link. The file is
read through safeio (a FIFO or device is refused, never waited on). Every write goes to a temporary file that
is fsynced before an atomic rename, and folders are fsynced after renames. ``AUDITOR_QUARANTINE_DIR`` moves the
quarantine (default: the user data folder)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from .. import safeio
from ..durable import (CHUNK, fsync_dir, mkdir_private, private_dir, private_temp_dir, restrict_to_owner, sha256_file,
                       sha256_stream, write_bytes, write_chunks)
from ..errors import UsageError
from ..messages import Text, Worded, os_error
from ..paths import prepare, quarantine_dir
from ..pii.rules import PiiRules
from ..files.textpath import display_path
from .folder import Folder, FolderChanged
from .maskers import CannotMask, MaskOutcome, mask_file
from .records import MAX_RECORD, Damaged, is_item_id, parse_journal, parse_meta

LOCK_WAIT = 10.0  # seconds another remediate command may hold the quarantine before we give up


class InQuarantine(CannotMask):
    """The target lies inside the quarantine itself (a quarantined original is never a mask target)."""


_PAUSED: set[str] = set()


def checkpoint(step: str) -> None:
    """Test hook for the crash and race tests: with AUDITOR_TEST_PAUSE_AT=<step>, announce the step in the file
    named by AUDITOR_TEST_PAUSE_FILE and wait there, to be killed (SIGKILL) by the test or let go on when the
    test deletes that file (once per step: a step inside a loop pauses the first time)."""
    if os.environ.get("AUDITOR_TEST_PAUSE_AT") == step and step not in _PAUSED:
        _PAUSED.add(step)
        pause = Path(os.environ["AUDITOR_TEST_PAUSE_FILE"])
        pause.write_text(step, encoding="utf-8")
        deadline = time.monotonic() + 300
        while pause.exists() and time.monotonic() < deadline:
            time.sleep(0.01)


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _owner(meta: dict[str, Any]) -> tuple[int, int] | None:
    if meta.get("uid") is None or meta.get("gid") is None:
        return None
    return meta["uid"], meta["gid"]


def _chunks(fh: BinaryIO, h: Any = None) -> Iterator[bytes]:
    for chunk in iter(lambda: fh.read(CHUNK), b""):
        if h is not None:
            h.update(chunk)
        yield chunk


def _why(exc: BaseException) -> Text | Worded:
    """The short reason of a failed step, whatever raised it (English as a str; in a message, in its language)."""
    if isinstance(getattr(exc, "message", None), Text):
        return exc.message
    if isinstance(exc, safeio.Refused):
        return Worded(exc.reason)
    if isinstance(exc, OSError) and exc.strerror:
        return Worded(exc.strerror)
    return Worded(str(exc))


def _current(folder: Folder | None, name: str) -> str | None:
    """SHA-256 of the file now at ``name`` (None: no file); CannotMask when something else is there."""
    if folder is None:
        return None
    try:
        return folder.sha256(name)
    except safeio.Refused as exc:
        raise CannotMask(Text("remediate.problem.now_is", path=display_path(folder.path / name),
                              why=Worded(exc.reason))) from None


def _current_or_none(folder: Folder | None, name: str) -> str | None:
    """As _current, with anything but a regular file counted as no file."""
    try:
        return _current(folder, name)
    except CannotMask:
        return None


@dataclass
class Target:
    """A file to mask, its folder held open (see remediate.folder): ``with target.folder:`` closes it."""

    path: Path
    folder: Folder
    name: str
    entry: safeio.Entry
    st: os.stat_result  # of the opened file: mode, owner, mtime recorded in meta


class Quarantine:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or quarantine_dir())
        self.items_dir = self.root / "items"
        self.journal_dir = self.root / "journal"
        self.damaged_dir = self.root / "damaged"
        self._lock: int | None = None

    @property
    def exists(self) -> bool:
        return os.path.isdir(self.root)  # False, never an exception, when a folder above cannot be searched

    def ensure(self) -> None:
        try:
            prepare(self.root)
            for d in (self.items_dir, self.journal_dir):
                private_dir(d)
        except OSError as exc:
            raise UsageError("usage.remediate.cannot_create", root=self.root, why=os_error(exc)) from None

    def acquire(self) -> None:
        """Hold the quarantine's lock until the process ends: one remediate command at a time, so one
        command's recovery never rolls back another's work in progress."""
        if self._lock is not None:
            return
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.root / "lock", flags, 0o600)
        except OSError as exc:
            raise UsageError("usage.remediate.cannot_lock", root=self.root, why=os_error(exc)) from None
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                if sys.platform == "win32":
                    import msvcrt

                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                else:
                    import fcntl

                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise UsageError("usage.remediate.busy", root=self.root) from None
                time.sleep(0.1)
        self._lock = fd

    def release(self) -> None:
        """Let go of the lock (the process ending does the same)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    # ------------------------------------------------------------------ records
    def item(self, qid: str) -> Path:
        return self.items_dir / qid

    def _journal_path(self, qid: str) -> Path:
        return self.journal_dir / f"{qid}.json"

    def new_id(self) -> str:
        while True:
            qid = secrets.token_hex(4)
            if not os.path.lexists(self.item(qid)) and not os.path.lexists(self._journal_path(qid)):
                return qid

    def _read_record(self, path: Path) -> bytes:
        try:
            return safeio.read_bytes(path, max_size=MAX_RECORD)
        except OSError as exc:
            raise Damaged(f"{path.name}: {safeio.reason_of(exc)}") from None

    def meta(self, qid: str) -> dict[str, Any]:
        """The item's record, checked (Damaged otherwise), with its original present as a regular file."""
        meta = parse_meta(self._read_record(self.item(qid) / "meta.json"), qid)
        try:
            st = os.lstat(self.item(qid) / meta["original"])
        except OSError:
            raise Damaged("the quarantined original is missing") from None
        if not stat.S_ISREG(st.st_mode):
            raise Damaged(f"the quarantined original is {safeio.kind_of(st.st_mode)}")
        return meta

    def _meta_or_none(self, qid: str) -> dict[str, Any] | None:
        try:
            return self.meta(qid)
        except Damaged:
            return None

    def items(self) -> list[dict[str, Any]]:
        out = []
        if self.items_dir.is_dir():
            for d in self.items_dir.iterdir():
                if not is_item_id(d.name) or os.path.lexists(self._journal_path(d.name)):
                    continue
                m = self._meta_or_none(d.name)
                if m is not None:
                    out.append(m)
        return sorted(out, key=lambda m: (m.get("masked_at", ""), m["id"]))

    def damaged(self) -> list[dict[str, Any]]:
        """What was set aside: {id, reason, at, folder}, oldest first."""
        out = []
        if self.damaged_dir.is_dir():
            for d in sorted(self.damaged_dir.iterdir()):
                info: dict[str, Any] = {"id": d.name, "reason": "reason not recorded", "at": "", "folder": str(d)}
                try:
                    rec = json.loads(safeio.read_bytes(d / "reason.json", max_size=MAX_RECORD))
                    if isinstance(rec, dict):
                        info.update({k: str(rec[k]) for k in ("reason", "at") if k in rec})
                except (OSError, ValueError, RecursionError):
                    pass
                out.append(info)
        return sorted(out, key=lambda i: (i["at"], i["id"]))

    def resolve(self, text: str) -> str:
        text = text.strip().lower()
        if len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
            raise UsageError("usage.remediate.not_id", text=text)
        matches = [m["id"] for m in self.items() if m["id"].startswith(text)]
        if not matches:
            raise UsageError("usage.remediate.no_such_id", text=text)
        if len(matches) > 1:
            raise UsageError("usage.remediate.ambiguous_id", text=text, matches=', '.join(matches))
        return matches[0]

    def _journal(self, qid: str, entry: dict[str, Any]) -> None:
        # JSON in ASCII here and in meta.json: a path that is not UTF-8 (a GBK name) survives as \udcXX escapes
        write_bytes(self._journal_path(qid), json.dumps(entry).encode("ascii"),
                    tag="auditor-journal")

    def _unjournal(self, qid: str) -> None:
        try:
            self._journal_path(qid).unlink()
        except FileNotFoundError:
            pass
        fsync_dir(self.journal_dir)

    def _drop_item(self, qid: str) -> None:
        shutil.rmtree(self.item(qid), ignore_errors=True)
        fsync_dir(self.items_dir)

    def _set_aside(self, name: str, reason: str, *, item: bool, journal: bool | Path) -> Text:
        """Move a damaged item and/or journal entry (``journal``: True for ``<name>.json``, or the entry's own
        path) into damaged/ with the reason; never delete it."""
        private_dir(self.damaged_dir)
        base = re.sub(r"[^0-9A-Za-z_.-]", "_", name)[:64].lstrip(".") or "entry"
        dest, n = self.damaged_dir / base, 1
        while os.path.lexists(dest):
            n += 1
            dest = self.damaged_dir / f"{base}-{n}"
        mkdir_private(dest)
        moved = []
        if item and os.path.lexists(self.item(name)):
            os.rename(self.item(name), dest / "item")
            moved.append("item")
        entry = self._journal_path(name) if journal is True else journal or None
        if entry is not None and os.path.lexists(entry):
            os.rename(entry, dest / "journal.json")
            moved.append("journal")
        write_bytes(dest / "reason.json", json.dumps({"id": name, "reason": reason, "at": _now(), "moved": moved},
                                                     ensure_ascii=False).encode("utf-8"),
                    tag="auditor-damaged")
        for d in (self.items_dir, self.journal_dir, self.damaged_dir):
            fsync_dir(d)
        return Text("remediate.recover.set_aside", name=name, why=Worded(reason), folder=dest)

    # ------------------------------------------------------------------ recovery
    def recover(self) -> list[Text]:
        """Complete or roll back every interrupted operation, then set aside what cannot be trusted; what was
        done, one line each. One damaged record never stops the others."""
        self.acquire()
        done = []
        if self.journal_dir.is_dir():
            for p in sorted(self.journal_dir.iterdir()):
                qid = p.name[:-5] if p.name.endswith(".json") else p.name
                try:
                    if p.name.startswith(".") and p.name.endswith(".tmp"):
                        p.unlink()  # a journal write a crash interrupted: the previous state still stands
                        continue
                    if not p.name.endswith(".json") or not is_item_id(qid):
                        raise Damaged(f"{p.name}: not a journal entry")
                    entry = parse_journal(self._read_record(p), qid)
                except Damaged as exc:
                    ours = p.name.endswith(".json") and is_item_id(qid)
                    # an item with a valid record stays an item (it may hold the only copy of an original)
                    keep_item = not ours or self._meta_or_none(qid) is not None
                    done.append(self._set_aside(qid if ours else p.name, exc.reason, item=not keep_item, journal=p))
                    continue
                except OSError as exc:
                    done.append(Text("remediate.recover.journal_unreadable", qid=qid,
                                     why=Worded(safeio.reason_of(exc))))
                    continue
                try:
                    done.append(self._recover_one(qid, entry))
                except (OSError, CannotMask) as exc:
                    done.append(Text("remediate.recover.unfinished", qid=qid, why=_why(exc)))
        done += self._sweep()
        return done

    def _sweep(self) -> list[Text]:
        """Set aside every item that is not one (a stray file or link, a missing or damaged meta.json or
        original). Items with a journal are left to the journal."""
        done = []
        if not self.items_dir.is_dir():
            return done
        for d in sorted(self.items_dir.iterdir()):
            if is_item_id(d.name) and os.path.lexists(self._journal_path(d.name)):
                continue
            try:
                if not is_item_id(d.name):
                    raise Damaged("not a quarantine item")
                st = os.lstat(d)
                if not stat.S_ISDIR(st.st_mode):
                    raise Damaged(f"{safeio.kind_of(st.st_mode)}, not an item folder")
                self.meta(d.name)
            except Damaged as exc:
                done.append(self._set_aside(d.name, exc.reason, item=True, journal=False))
            except OSError:
                continue
        return done

    def _folder(self, path: Path, recorded: list[int] | None) -> tuple[Folder | None, Text | Worded | None]:
        """The folder of ``path`` held open and checked against ``recorded``; (None, why) when it cannot be."""
        try:
            folder = Folder.open(path.parent)
        except safeio.Refused as exc:
            return None, Worded(exc.reason)
        except OSError as exc:
            return None, Worded(safeio.reason_of(exc))
        try:
            folder.verify(recorded)
        except FolderChanged as exc:
            folder.close()
            return None, exc.message
        return folder, None

    def _recover_one(self, qid: str, entry: dict[str, Any]) -> Text:
        op, state = entry["op"], entry["state"]
        path = Path(entry["path"])
        shown = display_path(path)
        folder, why = self._folder(path, entry.get("parent"))
        try:
            if folder is not None:
                folder.remove_temps(path.name)
            if op == "mask" and state == "begin":
                self._drop_item(qid)
                self._unjournal(qid)
                return Text("remediate.recover.mask_rolled_back", path=shown)
            if op == "mask":
                return self._recover_mask_ready(qid, entry, path, folder, why)
            meta = self._meta_or_none(qid)
            if state == "restored":
                self._drop_item(qid)
                self._unjournal(qid)
                return Text("remediate.recover.restore_completed", path=shown, qid=qid)
            if meta is None:
                self._unjournal(qid)
                return self._set_aside(qid, "item damaged during an interrupted restore", item=True, journal=False)
            if folder is not None and _current_or_none(folder, path.name) == entry["orig_sha256"]:
                folder.set_metadata(path.name, mode=meta["mode"], owner=_owner(meta), mtime_ns=meta["mtime_ns"])
                self._drop_item(qid)
                self._unjournal(qid)
                return Text("remediate.recover.restore_completed", path=shown, qid=qid)
            self._unjournal(qid)
            return Text("remediate.recover.restore_rolled_back_because" if why else
                        "remediate.recover.restore_rolled_back", path=shown, qid=qid, why=why)
        finally:
            if folder is not None:
                folder.close()

    def _recover_mask_ready(self, qid: str, entry: dict[str, Any], path: Path, folder: Folder | None,
                            why: Text | Worded | None) -> Text:
        shown = display_path(path)
        meta = self._meta_or_none(qid)
        if folder is None:
            if meta is None:
                self._unjournal(qid)
                return self._set_aside(qid, f"interrupted masking; folder unusable ({why})", item=True, journal=False)
            self._unjournal(qid)
            return Text("remediate.recover.mask_left", path=shown, why=why, qid=qid)
        current = _current_or_none(folder, path.name)
        if current == entry["masked_sha256"]:
            self._unjournal(qid)
            return Text("remediate.recover.mask_completed", path=shown, qid=qid)
        if current == entry["orig_sha256"] and meta is not None:
            masked = self.item(qid) / meta["masked"]
            if meta["masked_sha256"] == entry["masked_sha256"] and self._sha_in_item(masked) == entry["masked_sha256"]:
                with safeio.open_regular(masked) as fh:
                    folder.replace(path.name, _chunks(fh), mode=meta["mode"], owner=_owner(meta), tag="auditor-mask")
                self._unjournal(qid)
                return Text("remediate.recover.mask_completed", path=shown, qid=qid)
            self._drop_item(qid)
            self._unjournal(qid)
            return Text("remediate.recover.mask_incomplete", path=shown)
        if meta is None:
            self._unjournal(qid)
            return self._set_aside(qid, "interrupted masking; item record damaged", item=True, journal=False)
        self._unjournal(qid)
        return Text("remediate.recover.mask_changed", path=shown, qid=qid)

    @staticmethod
    def _sha_in_item(path: Path) -> str | None:
        """SHA-256 of a copy in the quarantine; None when it is missing or not a regular file."""
        try:
            with safeio.open_regular(path) as fh:
                return sha256_stream(fh)
        except OSError:
            return None

    # ------------------------------------------------------------------ targets
    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.root)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def open_target(self, path: Path) -> Target:
        """The file to mask, checked: inside the quarantine (InQuarantine), reached through a user's link, a
        link itself, not a regular file, hard-linked: CannotMask with the reason."""
        path = Path(os.path.abspath(path))
        try:
            folder = Folder.open(path.parent)
        except safeio.Refused as exc:
            raise CannotMask(Text("remediate.problem.folder_unusable", why=Worded(exc.reason))) from None
        except FileNotFoundError:
            raise CannotMask(Text("remediate.no_longer_there")) from None
        except OSError as exc:
            raise CannotMask(Text("remediate.problem.folder_unopenable", why=Worded(safeio.reason_of(exc)))) from None
        try:
            ident = self._identity()
            if ident is not None and folder.within(ident):
                raise InQuarantine(Text("remediate.problem.in_quarantine", root=display_path(self.root)))
            entry = folder.entry(path.name)
            if entry is None:
                raise CannotMask(Text("remediate.no_longer_there"))
            if entry.kind == "link":
                raise CannotMask(Text("remediate.problem.symlink"))
            try:
                with folder.open_file(path.name, entry) as fh:
                    st = os.fstat(fh.fileno())
            except safeio.Refused as exc:
                raise CannotMask(exc.reason) from None
            if st.st_nlink > 1:
                raise CannotMask(Text("remediate.problem.hard_links", links=st.st_nlink))
        except BaseException:
            folder.close()
            raise
        return Target(path, folder, path.name, entry, st)

    def _copy_out(self, target: Target, dest: Path, progress: bool = False) -> str:
        """Copy the target file (the very one that was checked) to ``dest`` in our own place; its SHA-256."""
        h = hashlib.sha256()

        def chunks(fh: BinaryIO) -> Iterator[bytes]:
            first = True
            for chunk in _chunks(fh, h):
                if progress and not first:
                    checkpoint("mask:copying")  # half a copy written: the crash tests stop here
                first = False
                yield chunk

        try:
            with target.folder.open_file(target.name, target.entry) as fh:
                write_chunks(dest, chunks(fh), tag="auditor-quarantine")
        except safeio.Refused as exc:
            raise CannotMask(exc.reason) from None
        return h.hexdigest()

    def preview(self, path: Path, rules: PiiRules) -> MaskOutcome:
        """What masking ``path`` would do, worked out on a private copy; nothing changes."""
        target = self.open_target(path)
        tmp = Path(private_temp_dir("auditor-mask-"))  # the copy holds personal data
        try:
            with target.folder:
                ext = target.path.suffix.lower()
                copy = tmp / f"original{ext}"
                self._copy_out(target, copy)
                return mask_file(copy, tmp / f"preview{ext}", rules)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # ------------------------------------------------------------------ operations
    def mask(self, path: Path, rules: PiiRules) -> tuple[str | None, MaskOutcome]:
        """Mask ``path`` in place; (quarantine ID, outcome). ID None: nothing to mask, nothing changed.
        CannotMask: nothing changed (whatever was started is rolled back)."""
        self.ensure()
        self.acquire()
        target = self.open_target(path)
        with target.folder:
            return self._mask(target, rules)

    def _mask(self, target: Target, rules: PiiRules) -> tuple[str | None, MaskOutcome]:
        folder, name, path, st = target.folder, target.name, target.path, target.st
        owner = (None, None) if sys.platform == "win32" else (st.st_uid, st.st_gid)
        try:
            orig_sha = folder.sha256(name)
        except safeio.Refused as exc:
            raise CannotMask(exc.reason) from None
        if orig_sha is None:
            raise CannotMask(Text("remediate.no_longer_there"))
        qid = self.new_id()
        ext = path.suffix.lower()
        entry: dict[str, Any] = {"id": qid, "op": "mask", "state": "begin", "path": str(path),
                                 "orig_sha256": orig_sha, "parent": list(folder.identity), "started": _now()}
        self._journal(qid, entry)
        checkpoint("mask:begun")
        try:
            item = private_dir(self.item(qid))
            original = item / f"original{ext}"
            if self._copy_out(target, original, progress=True) != orig_sha:
                raise CannotMask(Text("remediate.problem.changed_while_copied"))
            checkpoint("mask:original-copied")
            masked = item / f"masked{ext}"
            outcome = mask_file(original, masked, rules)
            if not outcome.cells_changed:
                self._drop_item(qid)
                self._unjournal(qid)
                return None, outcome
            restrict_to_owner(masked)
            with open(masked, "rb+") as fh:
                os.fsync(fh.fileno())
            masked_sha = sha256_file(masked)
            meta = {"id": qid, "path": str(path), "name": path.name, "format": outcome.format,
                    "original": original.name, "masked": masked.name, "orig_sha256": orig_sha,
                    "masked_sha256": masked_sha, "size": st.st_size, "mode": stat.S_IMODE(st.st_mode),
                    "mtime_ns": st.st_mtime_ns, "uid": owner[0], "gid": owner[1],
                    "parent": list(folder.identity), "masked_at": _now(), "rows_changed": outcome.rows_changed,
                    "cells_changed": outcome.cells_changed,
                    "columns": [{k: c.get(k) for k in ("index", "header", "kind")} | {"sheet": s.sheet}
                                for s in outcome.sheets for c in s.columns if c.get("changed")]}
            write_bytes(item / "meta.json", json.dumps(meta, indent=1).encode("ascii"),
                        tag="auditor-meta")
            folder.still_there()
            entry.update(state="ready", masked_sha256=masked_sha)
            self._journal(qid, entry)
        except FolderChanged as exc:
            self._drop_item(qid)
            self._unjournal(qid)
            raise CannotMask(Text("remediate.not_changed", why=_why(exc))) from None
        except BaseException:
            folder.remove_temps(name)
            self._drop_item(qid)
            self._unjournal(qid)
            raise
        checkpoint("mask:ready")

        def last_look() -> None:
            checkpoint("mask:temp-written")
            if _current(folder, name) != orig_sha:
                raise CannotMask(Text("remediate.problem.changed_while_masked"))

        try:
            with open(masked, "rb") as fh:
                folder.replace(name, _chunks(fh), mode=meta["mode"], owner=_owner(meta), tag="auditor-mask",
                               before_replace=last_look)
        except (OSError, FolderChanged, CannotMask) as exc:
            why = _why(exc)
            if self._settle_failed_mask(qid, folder, name, orig_sha, masked_sha):
                raise CannotMask(Text("remediate.not_changed", why=why)) from None
            if _current(folder, name) != masked_sha:
                raise CannotMask(Text("remediate.problem.stays_quarantined", why=why, qid=qid)) from None
        checkpoint("mask:replaced")
        self._unjournal(qid)
        return qid, outcome

    def _settle_failed_mask(self, qid: str, folder: Folder, name: str, orig_sha: str, masked_sha: str) -> bool:
        """After a failed replace: True (item dropped) when the file is still the original; otherwise the item
        is kept (or, when the file is the masked version, the masking stands)."""
        folder.remove_temps(name)
        if _current_or_none(folder, name) == orig_sha:
            self._drop_item(qid)
            self._unjournal(qid)
            return True
        self._unjournal(qid)
        return False

    def restore_check(self, qid: str) -> tuple[dict[str, Any], str | None]:
        """(meta, current SHA-256 of the file or None); refusals raise CannotMask."""
        meta, current, folder = self._restore_state(qid)
        if folder is not None:
            folder.close()
        return meta, current

    def _restore_state(self, qid: str) -> tuple[dict[str, Any], str | None, Folder | None]:
        try:
            meta = self.meta(qid)
        except Damaged as exc:
            raise CannotMask(Text("remediate.problem.item_damaged", qid=qid, why=Worded(exc.reason))) from None
        if self._sha_in_item(self.item(qid) / meta["original"]) != meta["orig_sha256"]:
            raise CannotMask(Text("remediate.problem.original_damaged", qid=qid))
        path = Path(meta["path"])
        try:
            folder: Folder | None = Folder.open(path.parent)
        except FileNotFoundError:
            folder = None
        except safeio.Refused as exc:
            raise CannotMask(Text("remediate.problem.target_folder_unusable", folder=display_path(path.parent),
                                  why=Worded(exc.reason))) from None
        except OSError as exc:
            raise CannotMask(Text("remediate.problem.target_folder_unopenable", folder=display_path(path.parent),
                                  why=Worded(safeio.reason_of(exc)))) from None
        try:
            if folder is not None:
                folder.verify(meta.get("parent"))
            current = _current(folder, path.name)
        except FolderChanged as exc:
            folder.close()  # type: ignore[union-attr]
            raise CannotMask(Text("remediate.problem.check_folder", why=_why(exc))) from None
        except BaseException:
            if folder is not None:
                folder.close()
            raise
        if current not in (None, meta["masked_sha256"], meta["orig_sha256"]):
            if folder is not None:
                folder.close()
            raise CannotMask(Text("remediate.problem.changed_after_mask", path=display_path(path)))
        return meta, current, folder

    def restore(self, qid: str) -> Path:
        self.acquire()
        meta, current, folder = self._restore_state(qid)
        path = Path(meta["path"])
        try:
            if folder is None:
                try:
                    folder = Folder.make(path.parent, _owner(meta))
                except OSError as exc:
                    raise CannotMask(Text("remediate.problem.cannot_recreate_folder", folder=display_path(path.parent),
                                          why=Worded(safeio.reason_of(exc)))) from None
            return self._restore(qid, meta, current, folder)
        finally:
            if folder is not None:
                folder.close()

    def _restore(self, qid: str, meta: dict[str, Any], current: str | None, folder: Folder) -> Path:
        path = Path(meta["path"])
        entry = {"id": qid, "op": "restore", "state": "begin", "path": str(path), "orig_sha256": meta["orig_sha256"],
                 "masked_sha256": meta["masked_sha256"], "parent": list(folder.identity), "started": _now()}
        self._journal(qid, entry)
        checkpoint("restore:begun")
        original = self.item(qid) / meta["original"]
        try:
            if current != meta["orig_sha256"]:
                h = hashlib.sha256()

                def last_look() -> None:
                    checkpoint("restore:temp-written")
                    if _current(folder, path.name) != current:
                        raise CannotMask(Text("remediate.problem.changed_while_restored", path=display_path(path)))

                with safeio.open_regular(original) as fh:
                    folder.replace(path.name, _chunks(fh, h), mode=meta["mode"], owner=_owner(meta),
                                   mtime_ns=meta["mtime_ns"], tag="auditor-restore", before_replace=last_look)
                if h.hexdigest() != meta["orig_sha256"]:
                    raise CannotMask(Text("remediate.problem.restored_copy_differs"))
            else:
                folder.set_metadata(path.name, mode=meta["mode"], owner=_owner(meta), mtime_ns=meta["mtime_ns"])
        except (OSError, FolderChanged, CannotMask) as exc:
            folder.remove_temps(path.name)
            if _current_or_none(folder, path.name) != meta["orig_sha256"]:
                self._unjournal(qid)
                raise CannotMask(Text("remediate.problem.stays_in_quarantine", why=_why(exc), qid=qid)) from None
        checkpoint("restore:replaced")
        entry["state"] = "restored"
        self._journal(qid, entry)
        try:
            original.unlink()
        except FileNotFoundError:
            pass
        checkpoint("restore:cleanup")
        self._drop_item(qid)
        self._unjournal(qid)
        return path

