"""`auditor fleet ingest PATH...`: load JSON reports (files, or folders searched for *.json) into the store.

The share is written by others: every file is read, parsed and verified on its own, and nothing of it is stored
before it passed every check. A file that is not a regular file (a FIFO, a link), too large, nested too deeply,
out of the JSON bounds (auditor.boundedjson), not valid against the published schema (auditor.reportschema),
truncated, altered, unsigned (when a key is given) or of an unknown schema version is *rejected* with its
reason and the run goes on. Folders are walked by descriptor (auditor.safeio): no link is followed, and a folder
swapped for a link during the walk is refused. A report's SHA-256 digest is its key, so loading a report twice
changes nothing; a file whose bytes were loaded before is recognised by their SHA-256 without being parsed
again. Large folders are parsed and verified by a pool of worker processes (one per CPU), while this process
writes to the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from .. import boundedjson, isotime, safeio
from ..canonical_json import member_order, string
from ..compliance import finish_report
from ..core.legacy import subject_of
from ..core.severity import NAMES as SEVERITIES
from ..integrity import JCS, TEXT_FORMS, canonicalization_of, check, signature_kind
from ..paths import LAST_RUN
from ..platforms import platforms
from ..report_input import MAX_BYTES, BadReport, as_report, finding_problem, problem as report_problem
from ..reportschema import report_validator
from ..signing import VerifyKey
from .store import Store

BATCH = 400  # reports per transaction
PARALLEL_FROM = 48  # files; fewer are read in this process
MAX_FILES = 1_000_000  # report files found under one PATH; the rest are listed as not read
MAX_FOLDER_DEPTH = 64  # folders below a PATH


@dataclass
class IngestResult:
    store: Path
    files: int = 0
    loaded: int = 0
    known: int = 0  # already in the store (or a copy of a report loaded earlier in this run)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


# --------------------------------------------------------------------------- finding facets


def _text(value: Any, limit: int = 200) -> str | None:
    """A short text fact for the store (anything else is no fact)."""
    return value[:limit] if isinstance(value, str) and value else None


def facets(f: dict[str, Any]) -> tuple[Any, ...]:
    """(tool, tool_category, location, platform, platform_en, records) of one finding, from its typed subject
    (derived from the evidence for reports written before subjects)."""
    s = subject_of(f)
    kind = s.get("kind")
    tool = category = location = platform = platform_en = records = None
    if kind in ("process", "tool", "socket", "setting"):
        tool, category = _text(s.get("tool_name")), _text(s.get("tool_category")) or ""
        if tool is None:
            tool, category = _text((f.get("target") or {}).get("label")) or str(f.get("check_id", "")), "os_feature"
    elif kind in ("file", "download"):
        location = _text(s.get("location"))
        records = s.get("records")
        if s.get("platform"):
            platform, platform_en = platform_names(str(s["platform"]))
    if not isinstance(records, int) or isinstance(records, bool) or records < 0:
        records = None
    return tool, category, location, platform, platform_en, records


def platform_names(platform: str) -> tuple[str, str]:
    """(Chinese, English) name of a platform id or alias (checks/platforms.toml; the text itself when unknown)."""
    pack = platforms()
    found = pack.by_id.get(pack.resolve(platform) or "")
    return (found.name_zh, found.name_en) if found else (platform, platform)


# --------------------------------------------------------------------------- one file (runs in a worker)

class Rejected(Exception):
    pass


_KNOWN: dict[str, str] = {}
_KNOWN_BAD: dict[tuple[str, str], str] = {}
_KEY: VerifyKey | None = None
_SENT: set[str] = set()  # docs, duty definitions and clauses this process already handed over
_VALID_FINDINGS: set[str] = set()  # hashes of finding JSON already found valid in this process
_VALID_CAP = 100_000


def _init(known: dict[str, str], known_bad: dict[tuple[str, str], str], key: VerifyKey | None) -> None:
    global _KNOWN, _KNOWN_BAD, _KEY, _SENT
    _KNOWN, _KNOWN_BAD, _KEY, _SENT = known, known_bad, key, set()
    _SPANS.clear()
    _VALID_FINDINGS.clear()


def examine(task: tuple[str, tuple[int, int] | None]) -> dict[str, Any]:
    """Read, verify and flatten one report file. Never raises: a bad file comes back as status 'rejected'."""
    source, ident = task
    try:
        data = _read(source, ident)
    except OSError as exc:
        return {"status": "rejected", "source": source, "sha": "", "reason": _unreadable(exc)}
    sha = hashlib.sha256(data).hexdigest()
    if sha in _KNOWN:
        return {"status": "known", "source": source, "sha": sha, "digest": _KNOWN[sha]}
    if (source, sha) in _KNOWN_BAD:
        return {"status": "rejected", "source": source, "sha": sha, "reason": _KNOWN_BAD[(source, sha)]}
    try:
        report, parts = _verified(data)
        return {"status": "ok", "source": source, "sha": sha, **_flatten(report, parts, source, sha)}
    except Rejected as exc:
        return {"status": "rejected", "source": source, "sha": sha, "reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the run (a bug: the type says where)
        return {"status": "rejected", "source": source, "sha": sha,
                "reason": f"malformed: cannot be read as a report ({type(exc).__name__})"}


def _read(source: str, ident: tuple[int, int] | None) -> bytes:
    """The file's bytes: a regular file reached without a user's link, at most MAX_BYTES (refused unread when
    larger), and the very file that was listed (same device and inode)."""
    with safeio.open_regular(source, max_size=MAX_BYTES, buffered=False) as fh:
        if ident is not None and ident[1]:
            st = os.fstat(fh.fileno())
            if (st.st_dev, st.st_ino) != ident:
                raise safeio.Refused(source, "replaced while the folder was read")
        return fh.read()


def _unreadable(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "cannot read (no such file or folder)"
    reason = safeio.reason_of(exc)
    if reason.startswith("too large ("):
        return f"too large: {reason[len('too large ('):].rstrip(')')}"
    return f"cannot read ({reason})"


def _verified(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    if not data or data.isspace():
        raise Rejected("malformed: empty file")
    try:
        text = boundedjson.precheck(data)
        report, hits, fresh = _parse(text)
        surrogates = boundedjson.may_hold_surrogates(data)
        if not isinstance(report, dict):
            boundedjson.check_values(report, surrogates=surrogates)
        for key, value in report.items() if isinstance(report, dict) else ():
            if not (key in hits and hits[key][3]):
                boundedjson.check_values(value, surrogates=surrogates)
    except boundedjson.OutOfBounds as exc:
        raise Rejected(f"{'too large' if exc.too_large else 'malformed'}: {exc.reason.removeprefix('too large ')}") \
            from None
    except ValueError as exc:
        raise Rejected(f"malformed: {boundedjson.not_json(exc)}") from None
    try:
        as_report(report)
    except BadReport as exc:
        raise Rejected({"version": "unknown ", "too_large": "too large: "}.get(exc.kind, "malformed: ") + exc.reason) \
            from None
    canonicalization = canonicalization_of(report)
    if canonicalization not in TEXT_FORMS:
        raise Rejected("integrity: the report names an unknown canonicalization")
    try:
        parts = _canonical_parts(report, {**hits, **fresh}, canonicalization)
    except ValueError as exc:  # a value RFC 8785 cannot express (a lone surrogate, a huge integer)
        raise Rejected(f"integrity: the report cannot be canonicalized ({exc})") from None
    problems = check(report, _KEY, parts["canonical"])
    if problems:
        kind = ("altered" if problems[0].startswith("SHA-256") else
                "signature" if "sign" in problems[0] else "integrity")
        raise Rejected(f"{kind}: {'; '.join(problems)}")
    _validate(report, parts, {k for k, e in hits.items() if e[3]})
    host = report["host"]
    if not host["hostname"].strip():
        raise Rejected("malformed: no host.hostname")
    if isotime.parse(report["finished_at"]) is None:
        raise Rejected("malformed: finished_at is not an ISO 8601 time")
    for entry in fresh.values():  # the next report holding the very same text need not check it again
        entry[3] = True
    for entry in hits.values():
        entry[3] = True
    return report, parts


def _validate(report: dict[str, Any], parts: dict[str, Any], valid_members: set[str]) -> None:
    """The report against the published schema. Members whose exact text was validated in an earlier report and
    findings whose canonical JSON was are not walked again."""
    findings = report["findings"]
    if not isinstance(findings, list):
        raise Rejected("malformed: findings: expected array")
    why = report_problem(report, skip=valid_members | {"findings"})
    if why:
        raise Rejected(f"malformed: {why}")
    hashes = parts["hashes"]
    for i, (f, h) in enumerate(zip(findings, hashes)):
        if h in _VALID_FINDINGS:
            continue
        why = finding_problem(f, i)
        if why:
            raise Rejected(f"malformed: {why}")
        if len(_VALID_FINDINGS) >= _VALID_CAP:
            _VALID_FINDINGS.clear()
        _VALID_FINDINGS.add(h)


_DEC = boundedjson.decoder()
_WS = re.compile(r"[ \t\n\r]*")
_SPAN_MIN = 1024  # members at least this long are remembered...
_SPAN_VARIANTS = 8  # ...in up to this many variants per key
# key -> [[exact JSON text, value, {canonicalization: canonical JSON; ("items", canonicalization): each finding's},
#          validated in an accepted report]]
_SPANS: dict[str, list[list[Any]]] = {}


def _parse(text: str) -> tuple[Any, dict[str, list[Any]], dict[str, list[Any]]]:
    """json.loads(text) (within the bounds of auditor.boundedjson, whose precheck the text passed), member by
    member for a top-level object; and the remembered members it holds (met before; met for the first time).

    Reports of one fleet repeat large members word for word (the legal clauses appendix, the duties, the areas):
    when a member's exact text was parsed before, its value and canonical JSON are reused instead of being parsed
    and serialised again (and, once a report holding it was accepted, validated again). Only objects, arrays and
    strings are remembered: they end at their own closing delimiter, so the same text at the same place is the
    same value. Anything unusual goes to the whole-text decoder."""
    end = len(text)
    idx = _WS.match(text, 0).end()
    if text[idx:idx + 1] != "{":
        return _DEC.decode(text), {}, {}
    out: dict[str, Any] = {}
    hits: dict[str, list[Any]] = {}
    fresh: dict[str, list[Any]] = {}
    idx = _WS.match(text, idx + 1).end()
    if text[idx:idx + 1] == "}":
        idx += 1
    else:
        while True:
            if text[idx:idx + 1] != '"':
                return _DEC.decode(text), {}, {}  # let the decoder say what is wrong
            key, idx = json.decoder.scanstring(text, idx + 1)
            idx = _WS.match(text, idx).end()
            if text[idx:idx + 1] != ":":
                return _DEC.decode(text), {}, {}
            idx = _WS.match(text, idx + 1).end()
            hit = None
            for entry in _SPANS.get(key, ()):
                if text.startswith(entry[0], idx):
                    hit = entry
                    idx += len(entry[0])
                    break
            hits.pop(key, None)
            fresh.pop(key, None)
            if hit is None:
                start = idx
                value, idx = _DEC.raw_decode(text, idx)
                if idx - start >= _SPAN_MIN and text[start] in '{["':
                    entry = [text[start:idx], value, {}, False]
                    variants = _SPANS.setdefault(key, [])
                    if len(variants) >= _SPAN_VARIANTS:
                        variants.pop(0)
                    variants.append(entry)
                    fresh[key] = entry
                out[key] = value
            else:
                out[key] = hit[1]
                hits[key] = hit
            idx = _WS.match(text, idx).end()
            sep = text[idx:idx + 1]
            if sep == ",":
                idx = _WS.match(text, idx + 1).end()
                continue
            if sep == "}":
                idx += 1
                break
            return _DEC.decode(text), {}, {}
    if _WS.match(text, idx).end() != end:
        return _DEC.decode(text), {}, {}  # "Extra data"
    return out, hits, fresh


def _canonical_parts(report: dict[str, Any], known: dict[str, list[Any]] | None = None,
                     canonicalization: str = JCS) -> dict[str, Any]:
    """auditor.integrity.canonical(report, canonicalization), member by member: the same bytes (a canonical JSON
    object is the concatenation of its members' canonical JSON in canonical order), reusing the canonical JSON of
    remembered members (``known``: key -> span entry of _parse); each finding's JSON is kept for the store instead
    of being serialised a second time. ValueError for a value the canonicalization cannot express."""
    known = known or {}
    encode = TEXT_FORMS[canonicalization]
    findings = report.get("findings")
    items = None
    if isinstance(findings, list):
        entry = known.get("findings")  # the same findings, word for word, as in a report met before
        items = entry[2].get(("items", canonicalization)) if entry is not None else None
        if items is None:
            items = [encode(f) for f in findings]
            if entry is not None:
                entry[2][("items", canonicalization)] = items
    keys = [k for k in report if k != "integrity"]
    members = []
    for key in (member_order(keys) if canonicalization == JCS else sorted(keys)):
        if key == "findings" and items is not None:
            members.append(f'"findings":[{",".join(items)}]')
            continue
        entry = known.get(key)
        if entry is None:
            text = encode(report[key])
        else:
            text = entry[2].get(canonicalization)
            if text is None:
                text = entry[2][canonicalization] = encode(entry[1])
        members.append(f"{string(key)}:{text}")
    data = ("{" + ",".join(members) + "}").encode("utf-8")
    hashes = [hashlib.sha256(b.encode("utf-8")).hexdigest()[:32] for b in items] if items else []
    return {"canonical": data, "findings": items, "hashes": hashes}


def _flatten(report: dict[str, Any], parts: dict[str, Any], source: str, sha: str) -> dict[str, Any]:
    integ = report["integrity"]
    version = str(report["schema_version"])
    judged = "duties" not in report or "score" not in report
    if judged:  # an older report: judge it now with the current packs (auditor.compliance)

        finish_report(report)
    host = report["host"]
    finished = isotime.parse(report["finished_at"])
    site = str(host.get("site") or "").strip()
    hostname = host["hostname"].strip()
    counts = {s: 0 for s in SEVERITIES}
    findings, docs = [], []
    for f, body, h in zip(report["findings"], parts["findings"], parts["hashes"]):
        counts[f["severity"]] += 1
        if h not in _SENT:
            _SENT.add(h)
            docs.append((h, body))
        title = f.get("title") if isinstance(f.get("title"), dict) else {}
        findings.append((str(f["id"]), f["check_id"], f["area"], f["severity"], title.get("zh"), title.get("en"),
                         str((f.get("target") or {}).get("label") or ""), *facets(f), h))
    duties = []
    duty_defs = []
    for n, d in enumerate(report.get("duties") or []):
        duties.append((d["id"], d["verdict"]))
        if "duty:" + d["id"] not in _SENT:
            _SENT.add("duty:" + d["id"])
            duty_defs.append((d["id"], n, d["title"]["zh"], d["title"]["en"]))
    clauses = []
    for cid, rec in (report.get("clauses") or {}).items():
        if "clause:" + cid not in _SENT:
            _SENT.add("clause:" + cid)
            clauses.append((cid, json.dumps(rec, ensure_ascii=False, sort_keys=True)))
    score = report.get("score") or {}
    row = {
        "digest": integ["digest"], "pc": f"{site}\x1f{hostname.casefold()}", "hostname": hostname, "site": site,
        "role": str(host.get("role") or "unspecified"), "os": host.get("os"), "os_version": host.get("os_version"),
        "kernel": host.get("kernel"), "tool_version": (report.get("tool") or {}).get("version"),
        "schema_version": version, "started_at": report.get("started_at"),
        "finished_at": report["finished_at"],
        "finished_utc": finished.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
        "local_date": finished.date().isoformat(),
        "signed": int(signature_kind(integ) is not None), "signature_checked": int(_KEY is not None),
        "judged_at_ingest": int(judged), "score": score.get("value"), "grade": score.get("grade"),
        "areas": ",".join(score.get("assessed_areas") or []), "total": len(report["findings"]), **counts,
        "source": source, "file_sha256": sha, "ingested_at": "",
        "machine_id": host.get("machine_id") if isinstance(host.get("machine_id"), str) else None,
        "signature": signature_kind(integ),
    }
    return {"row": row, "findings": findings, "docs": docs, "duties": duties, "duty_defs": duty_defs,
            "clauses": clauses}


# --------------------------------------------------------------------------- many files

def _not_reports() -> set[str]:
    """Names of the JSON files a scheduled run keeps beside its reports."""
    return {LAST_RUN}


Found = tuple[str, "tuple[int, int] | None", "str | None"]  # (path, (device, inode) as listed, problem)


def discover(paths: Iterable[Path]) -> Iterator[Found]:
    """(file, identity, None) for every report file to read; (path, None, reason) for what cannot be read.

    Folders are walked by descriptor (auditor.safeio.OpenDir), in sorted order, for *.json files; HTML/XLSX
    renderings beside them, hidden files and the scheduler's own last-run.json are left alone. Nothing found in
    a folder is followed: a link (to a file or a folder) and a *.json that is not a regular file (a FIFO, a
    device) are listed with their reason. A file named on the command line is always read (through a link only
    when root or this account owns it, as everywhere)."""
    skip = _not_reports()
    for path in paths:
        p = Path(path)
        try:
            st = safeio.LIVE.stat(p)
        except OSError as exc:
            yield str(p), None, _unreadable(exc)
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(p, skip)
        elif stat.S_ISREG(st.st_mode):
            yield str(p), (st.st_dev, st.st_ino), None
        else:
            yield str(p), None, f"cannot read ({safeio.kind_of(st.st_mode)}, not a regular file)"


def _walk(top: Path, skip: set[str]) -> Iterator[Found]:
    """Depth first with one open folder per level (never more descriptors than MAX_FOLDER_DEPTH)."""
    files: list[tuple[str, tuple[int, int]]] = []
    problems: list[Found] = []
    try:
        first = safeio.OpenDir.open(top)
    except OSError as exc:
        yield str(top), None, _unreadable(exc)
        return
    stack = [(first, iter(_listing(first, problems)))]
    try:
        while stack:
            folder, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()[0].close()
                continue
            shown = str(entry.path)
            if entry.kind == "dir":
                if len(stack) > MAX_FOLDER_DEPTH:
                    problems.append((shown, None, f"not read (folders nested more than {MAX_FOLDER_DEPTH} deep)"))
                    continue
                try:
                    child = folder.child(entry)
                except OSError as exc:
                    problems.append((shown, None, _unreadable(exc)))
                    continue
                stack.append((child, iter(_listing(child, problems))))
            elif entry.kind == "link":
                problems.append((shown, None, "cannot read (a symbolic link or junction in the folder, not followed)"))
            elif not entry.name.lower().endswith(".json") or entry.name.startswith(".") or entry.name in skip:
                continue
            elif entry.kind != "file":
                problems.append((shown, None, f"cannot read ({safeio.kind_of(entry.mode)}, not a regular file)"))
            elif len(files) >= MAX_FILES:
                problems.append((str(top), None, f"not read beyond {MAX_FILES} report files"))
                break
            else:
                files.append((shown, (entry.dev, entry.ino)))
    finally:
        for folder, _ in stack:
            folder.close()
    yield from problems
    for shown, ident in sorted(files):
        yield shown, ident, None


def _listing(folder: "safeio.OpenDir", problems: list[Found]) -> list["safeio.Entry"]:
    try:
        return folder.entries()
    except OSError as exc:
        problems.append((str(folder.path), None, _unreadable(exc)))
        return []


def _workers(n_files: int) -> int:
    override = os.environ.get("AUDITOR_FLEET_WORKERS")
    if override and override.isdigit():
        return max(1, int(override))
    if n_files < PARALLEL_FROM or getattr(sys, "frozen", False):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def ingest(store: Store, paths: Iterable[Path], key: VerifyKey | None = None, progress=None) -> IngestResult:

    report_validator()  # a schema that cannot be applied is a configuration error (exit 2), not 1000 rejections
    result = IngestResult(store.path)
    files: list[tuple[str, tuple[int, int] | None]] = []
    for source, ident, problem in discover(paths):
        if problem:
            result.files += 1
            result.rejected.append((source, problem))
        else:
            files.append((source, ident))
    result.files += len(files)
    known, known_bad = store.known_files()
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    seen: set[str] = set()
    workers = _workers(len(files))
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if not pending:
            return
        store.begin()
        try:
            for out in pending:
                if out["status"] == "ok":
                    store.add_docs(out["docs"])
                    store.add_duty_defs(out["duty_defs"])
                    store.add_clauses(out["clauses"])
                    out["row"]["ingested_at"] = now
                    if store.add_report(out["row"], out["findings"], out["duties"]):
                        result.loaded += 1
                    else:
                        result.known += 1
                else:
                    store.add_rejected(out["source"], out["sha"], out["reason"], now)
            store.commit()
        except BaseException:
            store.rollback()
            raise
        pending.clear()

    def outcomes() -> Iterator[dict[str, Any]]:
        if workers == 1:
            _init(known, known_bad, key)
            yield from map(examine, files)
            return

        import numpy  # noqa: F401 - used by boundedjson.structure: imported once here, inherited by forked workers

        with ProcessPoolExecutor(workers, initializer=_init, initargs=(known, known_bad, key)) as pool:
            yield from pool.map(examine, files, chunksize=max(1, min(32, len(files) // (workers * 8) or 1)))

    for n, out in enumerate(outcomes(), 1):
        if out["status"] == "known":
            result.known += 1
        elif out["status"] == "rejected":
            result.rejected.append((out["source"], out["reason"]))
            if out["sha"]:
                pending.append(out)
        else:
            digest = out["row"]["digest"]
            if digest in seen:  # a copy of a report met earlier in this run
                result.known += 1
                continue
            seen.add(digest)
            pending.append(out)
        if len(pending) >= BATCH:
            flush()
        if progress:
            progress(n, len(files))
    flush()
    return result
