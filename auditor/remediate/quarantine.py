"""The quarantine and its journal: masking a file in place and restoring it, so that a crash at any point loses
nothing and the next `auditor remediate …` completes or rolls back what was interrupted.

Layout (owner-only folders, owner-only files)::

    <quarantine>/items/<ID>/original.<ext>   the original, byte for byte
    <quarantine>/items/<ID>/masked.<ext>     the masked version that replaced it
    <quarantine>/items/<ID>/meta.json        original path, time, SHA-256 of both, mode, mtime, owner
    <quarantine>/journal/<ID>.json           an operation in progress

Masking: journal `begin` → original copied into the item (fsync, rename, verified by SHA-256) → masked
version written and re-scanned → meta → journal `ready` → masked version copied beside the file (fsync) and
renamed over it (atomic) → journal removed. Recovery: `begin` = the file was never touched: the item is
deleted. `ready` = the file is the original or the masked version (a rename is atomic): the rename is done (again)
from the item's masked copy.

Restoring: journal `begin` → original copied beside the file and renamed over it, mode and mtime restored →
journal `restored` → item deleted → journal removed. Recovery: the file is the original = finish (delete the
item); otherwise the item is kept and the restore can simply be run again.

Every write goes to a temporary file that is fsynced before an atomic rename, and folders are fsynced after
renames. ``AUDITOR_QUARANTINE_DIR`` moves the quarantine (default: the user data folder)."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import stat
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import platformdirs

from ..durable import CHUNK, copy_durable, fsync_dir, private_dir, sha256_file, write_bytes, write_chunks
from ..errors import UsageError
from ..files.rules import PiiRules
from .maskers import CannotMask, MaskOutcome, mask_file

NAME = "yuncang-auditor"


def quarantine_dir() -> Path:
    override = os.environ.get("AUDITOR_QUARANTINE_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(NAME, appauthor=False)) / "quarantine"


def checkpoint(step: str) -> None:
    """Test hook for the crash tests: with AUDITOR_TEST_PAUSE_AT=<step>, announce the step in the file named by
    AUDITOR_TEST_PAUSE_FILE and wait there to be killed (SIGKILL) by the test."""
    if os.environ.get("AUDITOR_TEST_PAUSE_AT") == step:
        Path(os.environ["AUDITOR_TEST_PAUSE_FILE"]).write_text(step, encoding="utf-8")
        time.sleep(300)


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _sha_or_none(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _remove_temps(path: Path) -> None:
    """Our temporary files beside ``path`` left by an interrupted write."""
    try:
        for p in path.parent.glob(f".{path.name}.*.auditor-*.tmp"):
            try:
                p.unlink()
            except OSError:
                pass
    except OSError:
        pass


def _restore_metadata(path: Path, meta: dict[str, Any]) -> None:
    if sys.platform != "win32":
        try:
            os.chmod(path, meta["mode"])
        except OSError:
            pass
        if meta.get("uid") is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
            try:
                os.chown(path, meta["uid"], meta["gid"])
            except OSError:
                pass
    try:
        os.utime(path, ns=(time.time_ns(), meta["mtime_ns"]))
    except OSError:
        pass


class Quarantine:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or quarantine_dir())
        self.items_dir = self.root / "items"
        self.journal_dir = self.root / "journal"

    @property
    def exists(self) -> bool:
        return self.root.is_dir()

    def ensure(self) -> None:
        try:
            for d in (self.root, self.items_dir, self.journal_dir):
                private_dir(d)
        except OSError as exc:
            raise UsageError(f"quarantine {self.root}: cannot create ({exc.strerror or exc})") from None

    # ------------------------------------------------------------------ records
    def item(self, qid: str) -> Path:
        return self.items_dir / qid

    def new_id(self) -> str:
        while True:
            qid = secrets.token_hex(4)
            if not self.item(qid).exists() and not (self.journal_dir / f"{qid}.json").exists():
                return qid

    def meta(self, qid: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.item(qid) / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def items(self) -> list[dict[str, Any]]:
        out = []
        if self.items_dir.is_dir():
            for d in self.items_dir.iterdir():
                m = self.meta(d.name)
                if m is not None and not (self.journal_dir / f"{d.name}.json").exists():
                    out.append(m)
        return sorted(out, key=lambda m: (m.get("masked_at", ""), m["id"]))

    def resolve(self, text: str) -> str:
        text = text.strip().lower()
        if len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
            raise UsageError(f"{text!r}: not a quarantine ID (a short hex string, see `auditor remediate list`)")
        matches = [m["id"] for m in self.items() if m["id"].startswith(text)]
        if not matches:
            raise UsageError(f"no quarantined file with ID {text} (see `auditor remediate list`)")
        if len(matches) > 1:
            raise UsageError(f"ID {text} is ambiguous ({', '.join(matches)}): give more of it")
        return matches[0]

    def _journal(self, qid: str, entry: dict[str, Any]) -> None:
        # JSON in ASCII here and in meta.json: a path that is not UTF-8 (a GBK name) survives as \udcXX escapes
        write_bytes(self.journal_dir / f"{qid}.json", json.dumps(entry).encode("ascii"),
                    private=True, tag="auditor-journal")

    def _unjournal(self, qid: str) -> None:
        try:
            (self.journal_dir / f"{qid}.json").unlink()
        except FileNotFoundError:
            pass
        fsync_dir(self.journal_dir)

    def journals(self) -> list[dict[str, Any]]:
        out = []
        if self.journal_dir.is_dir():
            for p in sorted(self.journal_dir.glob("*.json")):
                try:
                    out.append(json.loads(p.read_text(encoding="utf-8")))
                except (OSError, ValueError):
                    # a journal is written atomically: an unreadable one was never complete; only its item may
                    # exist, and the file it names was not yet touched
                    qid = p.stem
                    out.append({"id": qid, "op": "mask", "state": "begin", "path": ""})
        return out

    def _drop_item(self, qid: str) -> None:
        shutil.rmtree(self.item(qid), ignore_errors=True)
        fsync_dir(self.items_dir)

    # ------------------------------------------------------------------ recovery
    def recover(self) -> list[str]:
        """Complete or roll back every interrupted operation; what was done, one line each."""
        done = []
        for entry in self.journals():
            qid, op, state = entry["id"], entry.get("op"), entry.get("state")
            path = Path(entry["path"]) if entry.get("path") else None
            if path is not None:
                _remove_temps(path)
            if op == "mask" and state == "begin":
                self._drop_item(qid)
                self._unjournal(qid)
                done.append(f"interrupted masking of {path} rolled back: the file was not changed")
            elif op == "mask" and state == "ready":
                done.append(self._recover_mask_ready(qid, entry, path))
            elif op == "restore" and state == "begin":
                meta = self.meta(qid)
                if meta is not None and _sha_or_none(path) == entry["orig_sha256"]:
                    _restore_metadata(path, meta)
                    self._drop_item(qid)
                    self._unjournal(qid)
                    done.append(f"interrupted restore of {path} completed ({qid})")
                else:
                    self._unjournal(qid)
                    done.append(f"interrupted restore of {path} rolled back: {qid} is still in quarantine")
            elif op == "restore" and state == "restored":
                self._drop_item(qid)
                self._unjournal(qid)
                done.append(f"interrupted restore of {path} completed ({qid})")
            else:
                done.append(f"journal {qid}: unknown state {op}/{state}; left for inspection")
        return done

    def _recover_mask_ready(self, qid: str, entry: dict[str, Any], path: Path) -> str:
        meta = self.meta(qid)
        current = _sha_or_none(path)
        if current == entry["masked_sha256"]:
            self._unjournal(qid)
            return f"interrupted masking of {path} completed (original in quarantine as {qid})"
        if current == entry["orig_sha256"] and meta is not None:
            masked = self.item(qid) / meta["masked"]
            if _sha_or_none(masked) == entry["masked_sha256"]:
                self._replace_with(masked, path, meta, "auditor-mask")
                self._unjournal(qid)
                return f"interrupted masking of {path} completed (original in quarantine as {qid})"
            self._drop_item(qid)
            self._unjournal(qid)
            return f"interrupted masking of {path} rolled back (masked copy incomplete): the file is the original"
        self._unjournal(qid)
        return (f"{path} is missing or was changed after an interrupted masking; the original stays in quarantine "
                f"as {qid}")

    # ------------------------------------------------------------------ operations
    def _replace_with(self, src: Path, dest: Path, meta: dict[str, Any], tag: str, step: str | None = None) -> str:
        return copy_durable(src, dest, mode=meta["mode"], tag=tag,
                            before_replace=(lambda: checkpoint(step)) if step else None)

    def mask(self, path: Path, rules: PiiRules) -> tuple[str | None, MaskOutcome]:
        """Mask ``path`` in place; (quarantine ID, outcome). ID None: nothing to mask, nothing changed.
        CannotMask: nothing changed (whatever was started is rolled back)."""
        self.ensure()
        path = Path(os.path.abspath(path))
        st = path.stat()
        orig_sha = sha256_file(path)
        qid = self.new_id()
        ext = path.suffix.lower()
        entry: dict[str, Any] = {"id": qid, "op": "mask", "state": "begin", "path": str(path),
                                 "orig_sha256": orig_sha, "started": _now()}
        self._journal(qid, entry)
        checkpoint("mask:begun")
        try:
            item = private_dir(self.item(qid))
            original = item / f"original{ext}"
            copied = self._copy_in(path, original)
            if copied != orig_sha:
                raise CannotMask("the file changed while it was being copied to the quarantine; try again")
            checkpoint("mask:original-copied")
            masked = item / f"masked{ext}"
            outcome = mask_file(original, masked, rules)
            if not outcome.cells_changed:
                self._drop_item(qid)
                self._unjournal(qid)
                return None, outcome
            if sys.platform != "win32":
                os.chmod(masked, 0o600)
            with open(masked, "rb+") as fh:
                os.fsync(fh.fileno())
            masked_sha = sha256_file(masked)
            meta = {"id": qid, "path": str(path), "name": path.name, "format": outcome.format,
                    "original": original.name, "masked": masked.name, "orig_sha256": orig_sha,
                    "masked_sha256": masked_sha, "size": st.st_size, "mode": stat.S_IMODE(st.st_mode),
                    "mtime_ns": st.st_mtime_ns, "uid": getattr(st, "st_uid", None), "gid": getattr(st, "st_gid", None),
                    "masked_at": _now(), "rows_changed": outcome.rows_changed, "cells_changed": outcome.cells_changed,
                    "columns": [{k: c.get(k) for k in ("index", "header", "kind")} | {"sheet": s.sheet}
                                for s in outcome.sheets for c in s.columns if c.get("changed")]}
            write_bytes(item / "meta.json", json.dumps(meta, indent=1).encode("ascii"),
                        private=True, tag="auditor-meta")
            if sha256_file(path) != orig_sha:
                raise CannotMask("the file was changed while it was being masked; try again")
            entry.update(state="ready", masked_sha256=masked_sha)
            self._journal(qid, entry)
        except BaseException:
            _remove_temps(path)
            self._drop_item(qid)
            self._unjournal(qid)
            raise
        checkpoint("mask:ready")
        try:
            self._replace_with(masked, path, meta, "auditor-mask", "mask:temp-written")
        except OSError as exc:
            _remove_temps(path)
            if _sha_or_none(path) == orig_sha:
                self._drop_item(qid)
                self._unjournal(qid)
            raise CannotMask(f"cannot write beside the file ({exc.strerror or exc}); the file was not changed") from None
        if meta["uid"] is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
            try:
                os.chown(path, meta["uid"], meta["gid"])
            except OSError:
                pass
        checkpoint("mask:replaced")
        self._unjournal(qid)
        return qid, outcome

    def _copy_in(self, src: Path, dest: Path) -> str:
        import hashlib

        h = hashlib.sha256()

        def chunks() -> Iterator[bytes]:
            with open(src, "rb") as fh:
                first = True
                for chunk in iter(lambda: fh.read(CHUNK), b""):
                    if not first:
                        checkpoint("mask:copying")  # half a copy written: the crash tests stop here
                    first = False
                    h.update(chunk)
                    yield chunk

        write_chunks(dest, chunks(), private=True, tag="auditor-quarantine")
        return h.hexdigest()

    def restore_check(self, qid: str) -> tuple[dict[str, Any], str | None]:
        """(meta, current SHA-256 of the file or None); UsageError-free refusals raise CannotMask."""
        meta = self.meta(qid)
        if meta is None:
            raise UsageError(f"no quarantined file with ID {qid} (see `auditor remediate list`)")
        original = self.item(qid) / meta["original"]
        if _sha_or_none(original) != meta["orig_sha256"]:
            raise CannotMask(f"the quarantined original of {qid} is damaged or missing (SHA-256 differs); "
                             "nothing changed")
        path = Path(meta["path"])
        current = _sha_or_none(path)
        if current not in (None, meta["masked_sha256"], meta["orig_sha256"]):
            raise CannotMask(f"{path} was changed after it was masked; restoring would overwrite those changes. "
                             "Move it away first, then restore")
        return meta, current

    def restore(self, qid: str) -> Path:
        meta, current = self.restore_check(qid)
        path = Path(meta["path"])
        entry = {"id": qid, "op": "restore", "state": "begin", "path": str(path), "orig_sha256": meta["orig_sha256"],
                 "masked_sha256": meta["masked_sha256"], "started": _now()}
        self._journal(qid, entry)
        checkpoint("restore:begun")
        if current != meta["orig_sha256"]:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self._unjournal(qid)
                raise CannotMask(f"cannot recreate the folder {path.parent} ({exc.strerror or exc})") from None
            written = self._replace_with(self.item(qid) / meta["original"], path, meta, "auditor-restore",
                                         "restore:temp-written")
            if written != meta["orig_sha256"]:
                raise CannotMask("the restored copy does not match the original's SHA-256 (read error?)")
        _restore_metadata(path, meta)
        checkpoint("restore:replaced")
        entry["state"] = "restored"
        self._journal(qid, entry)
        try:
            (self.item(qid) / meta["original"]).unlink()
        except FileNotFoundError:
            pass
        checkpoint("restore:cleanup")
        self._drop_item(qid)
        self._unjournal(qid)
        return path
