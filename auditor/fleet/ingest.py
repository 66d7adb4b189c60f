"""`auditor fleet ingest PATH...`: load JSON reports (files, or folders searched for *.json) into the store.

Every file is read, parsed and verified on its own: a malformed, truncated, altered, unsigned (when a key is
given) or unknown-schema-version file is *rejected* with its reason and the run goes on. A report's SHA-256
digest is its key, so loading a report twice changes nothing; a file whose bytes were loaded before is
recognised by their SHA-256 without being parsed again. Large folders are parsed and verified by a pool of
worker processes (one per CPU), while this process writes to the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import UsageError
from ..model import SCHEMA_VERSION
from .store import Store

BATCH = 400  # reports per transaction
PARALLEL_FROM = 48  # files; fewer are read in this process
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass
class IngestResult:
    store: Path
    files: int = 0
    loaded: int = 0
    known: int = 0  # already in the store (or a copy of a report loaded earlier in this run)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


# --------------------------------------------------------------------------- finding facets

_DRIVE = re.compile(r"^([A-Za-z]):[\\/]")
_LOCATION_WORDS = (  # (folder names, casefolded) -> location key; first match wins, innermost folder first
    ({"wechat files", "xwechat_files", "msgattach"}, "wechat"),
    ({"tencent files", "filerecv"}, "qq"),
    ({"dingtalk", "钉钉"}, "dingtalk"),
    ({"desktop", "桌面"}, "desktop"),
    ({"downloads", "下载", "download"}, "downloads"),
    ({"documents", "my documents", "文档", "我的文档"}, "documents"),
    ({"temp", "tmp", "cache"}, "temp"),
)


def location_of(path: Any) -> str | None:
    """Where an export lay, as a key the fleet report can count: desktop, downloads, documents, wechat, qq,
    dingtalk, temp, removable (/media, /run/media, /mnt), other_drive (a Windows drive other than C:), other."""
    if not isinstance(path, str) or not path:
        return None
    parts = [p.casefold() for p in re.split(r"[\\/]+", path) if p]
    for part in reversed(parts[:-1]):
        for names, key in _LOCATION_WORDS:
            if part in names:
                return key
    if path.startswith(("/media/", "/run/media/", "/mnt/")):
        return "removable"
    drive = _DRIVE.match(path)
    if drive and drive.group(1).upper() != "C":
        return "other_drive"
    return "other"


def facets(f: dict[str, Any]) -> tuple[Any, ...]:
    """(tool, tool_category, location, platform, platform_en, records) of one finding."""
    ev = f.get("evidence") if isinstance(f.get("evidence"), dict) else {}
    cid = str(f.get("check_id", ""))
    tool = category = location = platform = platform_en = records = None
    if cid.startswith("RC-"):
        t = ev.get("tool")
        if not isinstance(t, dict) and isinstance(ev.get("port_of"), list) and ev["port_of"]:
            t = ev["port_of"][0]
        if isinstance(t, dict) and t.get("name"):
            tool, category = str(t["name"]), str(t.get("category") or "")
        else:
            tool, category = str((f.get("target") or {}).get("label") or cid), "os_feature"
    elif cid.startswith("PI-"):
        location = location_of(ev.get("path"))
        records = ev.get("records")
    elif cid.startswith("TR-") and cid != "TR-007":
        location = "removable" if (cid == "TR-006" or ev.get("saved_to_usb_device")) else location_of(
            ev.get("target_path"))
        names = ev.get("platform_name")
        if isinstance(names, dict):
            platform, platform_en = names.get("zh"), names.get("en")
        verdict = ev.get("file_verdict")
        if isinstance(verdict, dict):
            records = verdict.get("records")
    if not isinstance(records, int) or isinstance(records, bool):
        records = None
    return tool, category, location, platform, platform_en, records


# --------------------------------------------------------------------------- one file (runs in a worker)

class Rejected(Exception):
    pass


_KNOWN: dict[str, str] = {}
_KNOWN_BAD: dict[tuple[str, str], str] = {}
_KEY: bytes | None = None
_SENT: set[str] = set()  # docs, duty definitions and clauses this process already handed over


def _init(known: dict[str, str], known_bad: dict[tuple[str, str], str], key: bytes | None) -> None:
    global _KNOWN, _KNOWN_BAD, _KEY, _SENT
    _KNOWN, _KNOWN_BAD, _KEY, _SENT = known, known_bad, key, set()
    _SPANS.clear()


def examine(source: str) -> dict[str, Any]:
    """Read, verify and flatten one report file. Never raises: a bad file comes back as status 'rejected'."""
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        return {"status": "rejected", "source": source, "sha": "", "reason": f"cannot read ({exc.strerror or exc})"}
    sha = hashlib.sha256(data).hexdigest()
    if sha in _KNOWN:
        return {"status": "known", "source": source, "sha": sha, "digest": _KNOWN[sha]}
    if (source, sha) in _KNOWN_BAD:
        return {"status": "rejected", "source": source, "sha": sha, "reason": _KNOWN_BAD[(source, sha)]}
    try:
        report, parts = _verified(data)
        return {"status": "ok", "source": source, "sha": sha, **_flatten(report, parts["findings"], source, sha)}
    except Rejected as exc:
        return {"status": "rejected", "source": source, "sha": sha, "reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the run
        return {"status": "rejected", "source": source, "sha": sha,
                "reason": f"malformed: cannot be read as a report ({type(exc).__name__}: {exc})"}


def _verified(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..compliance import check_report_shape

    if not data.strip():
        raise Rejected("malformed: empty file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Rejected("malformed: not UTF-8 text (not a JSON report)") from None
    try:
        report, known = _parse(text)
    except ValueError as exc:
        hint = " (truncated?)" if "Expecting" in str(exc) or "Unterminated" in str(exc) else ""
        raise Rejected(f"malformed: not valid JSON{hint}: {exc}") from None
    if not isinstance(report, dict) or "schema_version" not in report or "findings" not in report:
        raise Rejected("malformed: not an auditor JSON report (no schema_version/findings)")
    version = str(report["schema_version"])
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0] or not re.fullmatch(r"\d+\.\d+", version):
        raise Rejected(f"unknown schema version {version!r} (this version reads "
                       f"{SCHEMA_VERSION.split('.')[0]}.x)")
    parts = _canonical_parts(report, known)
    problems = _check(report, parts)
    if problems:
        kind = ("altered" if problems[0].startswith("SHA-256") else
                "signature" if "sign" in problems[0] else "integrity")
        raise Rejected(f"{kind}: {'; '.join(problems)}")
    try:
        check_report_shape(report, "report")
    except UsageError as exc:
        raise Rejected(f"malformed: {str(exc).removeprefix('report: ')}") from None
    host = report.get("host")
    if not isinstance(host, dict) or not isinstance(host.get("hostname"), str) or not host["hostname"].strip():
        raise Rejected("malformed: no host.hostname")
    if _when(report.get("finished_at")) is None:
        raise Rejected(f"malformed: finished_at {report.get('finished_at')!r} is not an ISO 8601 time")
    return report, parts


_ENC = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))  # as integrity.canonical
_DEC = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")
_SPAN_MIN = 1024  # members at least this long are remembered...
_SPAN_VARIANTS = 8  # ...in up to this many variants per key
_SPANS: dict[str, list[tuple[str, Any, str]]] = {}  # key -> [(exact JSON text, value, canonical JSON)]


def _parse(text: str) -> tuple[Any, dict[str, str]]:
    """json.loads(text), member by member for a top-level object, and the canonical JSON of members already met.

    Reports of one fleet repeat large members word for word (the legal clauses appendix, the duties, the areas):
    when a member's exact text was parsed before, its value and canonical JSON are reused instead of being parsed
    and serialised again. Only objects, arrays and strings are remembered: they end at their own closing
    delimiter, so the same text at the same place is the same value. Anything unusual goes to json.loads."""
    end = len(text)
    idx = _WS.match(text, 0).end()
    if text[idx:idx + 1] != "{":
        return json.loads(text), {}
    out: dict[str, Any] = {}
    known: dict[str, str] = {}
    idx = _WS.match(text, idx + 1).end()
    if text[idx:idx + 1] == "}":
        idx += 1
    else:
        while True:
            if text[idx:idx + 1] != '"':
                return json.loads(text), {}  # let json.loads say what is wrong
            key, idx = json.decoder.scanstring(text, idx + 1)
            idx = _WS.match(text, idx).end()
            if text[idx:idx + 1] != ":":
                return json.loads(text), {}
            idx = _WS.match(text, idx + 1).end()
            hit = None
            for span, value, canon in _SPANS.get(key, ()):
                if text.startswith(span, idx):
                    hit = (value, canon)
                    idx += len(span)
                    break
            if hit is None:
                start = idx
                value, idx = _DEC.raw_decode(text, idx)
                known.pop(key, None)
                if idx - start >= _SPAN_MIN and text[start] in '{["':
                    canon = _ENC.encode(value)
                    variants = _SPANS.setdefault(key, [])
                    if len(variants) >= _SPAN_VARIANTS:
                        variants.pop(0)
                    variants.append((text[start:idx], value, canon))
                    known[key] = canon
                out[key] = value
            else:
                out[key], known[key] = hit
            idx = _WS.match(text, idx).end()
            sep = text[idx:idx + 1]
            if sep == ",":
                idx = _WS.match(text, idx + 1).end()
                continue
            if sep == "}":
                idx += 1
                break
            return json.loads(text), {}
    if _WS.match(text, idx).end() != end:
        return json.loads(text), {}  # "Extra data"
    return out, known


def _canonical_parts(report: dict[str, Any], known: dict[str, str] | None = None) -> dict[str, Any]:
    """auditor.integrity.canonical(report), member by member: the same bytes (a compact, key-sorted JSON object is
    the concatenation of its members' JSON), reusing the canonical JSON of members met before; each finding's JSON
    is kept for the store instead of being serialised a second time."""
    known = known or {}
    findings = report.get("findings")
    items = [_ENC.encode(f) for f in findings] if isinstance(findings, list) else None
    members = []
    for key in sorted(k for k in report if k != "integrity"):
        if key == "findings" and items is not None:
            members.append(f'"findings":[{",".join(items)}]')
        else:
            members.append(f"{_ENC.encode(key)}:{known.get(key) or _ENC.encode(report[key])}")
    return {"canonical": ("{" + ",".join(members) + "}").encode("utf-8"), "findings": items}


def _check(report: dict[str, Any], parts: dict[str, Any]) -> list[str]:
    """auditor.integrity.check on the canonical bytes computed above."""
    import hmac

    integ = report.get("integrity")
    if not isinstance(integ, dict) or "digest" not in integ:
        return ["the report carries no integrity digest"]
    data = parts["canonical"]
    problems = []
    if hashlib.sha256(data).hexdigest() != integ["digest"]:
        problems.append("SHA-256 digest does not match the content: the report was altered")
    if _KEY is not None:
        mac = integ.get("hmac_sha256")
        if not mac:
            problems.append("the report is not signed (no hmac_sha256)")
        elif not hmac.compare_digest(str(mac), hmac.new(_KEY, data, hashlib.sha256).hexdigest()):
            problems.append("HMAC signature does not match: altered, or signed with another key")
    return problems


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _flatten(report: dict[str, Any], bodies: list[str], source: str, sha: str) -> dict[str, Any]:
    integ = report["integrity"]
    version = str(report["schema_version"])
    judged = "duties" not in report or "score" not in report
    if judged:  # an older report: judge it now with the current packs (auditor.compliance)
        from ..compliance import finish_report

        finish_report(report)
    host = report["host"]
    finished = _when(report["finished_at"])
    site = str(host.get("site") or "").strip()
    hostname = host["hostname"].strip()
    counts = {s: 0 for s in SEVERITIES}
    findings, docs = [], []
    for f, body in zip(report["findings"], bodies):
        counts[f["severity"]] += 1
        h = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]
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
        "signed": int(bool(integ.get("hmac_sha256"))), "signature_checked": int(_KEY is not None),
        "judged_at_ingest": int(judged), "score": score.get("value"), "grade": score.get("grade"),
        "areas": ",".join(score.get("assessed_areas") or []), "total": len(report["findings"]), **counts,
        "source": source, "file_sha256": sha, "ingested_at": "",
    }
    return {"row": row, "findings": findings, "docs": docs, "duties": duties, "duty_defs": duty_defs,
            "clauses": clauses}


# --------------------------------------------------------------------------- many files

def _not_reports() -> set[str]:
    """Names of the JSON files a scheduled run keeps beside its reports (auditor.schedule.runner)."""
    try:
        from ..schedule.runner import LAST_RUN
    except ImportError:  # pragma: no cover - a build without the schedule command
        LAST_RUN = "last-run.json"
    return {LAST_RUN}


def discover(paths: Iterable[Path]) -> Iterator[tuple[str, str | None]]:
    """(file, None) for every report file to read; (path, reason) for a PATH that is neither file nor folder.
    Folders are searched recursively for *.json (HTML/XLSX renderings beside them, hidden files and the
    scheduler's own last-run.json are left alone); a file named on the command line is always read."""
    skip = _not_reports()
    for path in paths:
        p = Path(path)
        if p.is_dir():
            for f in sorted(p.rglob("*.json")):
                if f.is_file() and not f.name.startswith(".") and f.name not in skip:
                    yield str(f), None
        elif p.is_file():
            yield str(p), None
        else:
            yield str(p), "cannot read (no such file or folder)"


def _workers(n_files: int) -> int:
    override = os.environ.get("AUDITOR_FLEET_WORKERS")
    if override and override.isdigit():
        return max(1, int(override))
    if n_files < PARALLEL_FROM or getattr(sys, "frozen", False):
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def ingest(store: Store, paths: Iterable[Path], key: bytes | None = None, progress=None) -> IngestResult:
    result = IngestResult(store.path)
    files: list[str] = []
    for source, problem in discover(paths):
        if problem:
            result.files += 1
            result.rejected.append((source, problem))
        else:
            files.append(source)
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
        from concurrent.futures import ProcessPoolExecutor

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
