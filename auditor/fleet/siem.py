"""The fleet store's findings as SIEM documents (`auditor fleet export`): one per finding of every stored report
(of each PC's latest report with --latest), oldest report first, then one per silent PC (FL-001). The mappings
and the NDJSON forms are auditor.siem's; this module only reads the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Iterator

from .. import __version__, boundedjson
from ..durable import write_chunks
from ..report_input import finding_problem
from ..siem import ecs
from ..siem.facts import evidence_json
from ..siem.ndjson import document_line


def store_lines(store, fmt: str, since: dt.date | None = None, as_of: dt.date | None = None,
                latest_only: bool = False, silent: Iterable[dict[str, Any]] = (), skipped: list[str] | None = None,
                namespace: str = ecs.DEFAULT_NAMESPACE) -> Iterator[tuple[str, bytes]]:
    """(document id, document line) for every finding of every stored report (of each PC's latest report with
    latest_only), oldest report first, then the fleet's own findings (PCs that stopped reporting).

    A stored document that is not a valid finding (a store filled by an earlier version that did not validate
    reports, or edited by hand) is skipped, never a reason to stop: the id of each skipped document is appended
    to ``skipped``."""
    skipped = skipped if skipped is not None else []
    clauses = {}
    for cid, js in store.query("SELECT id, json FROM clauses"):
        rec = _stored_json(js)
        if isinstance(rec, dict):
            clauses[cid] = rec
    where, params = ["1=1"], []
    if since:
        where.append("r.local_date >= ?")
        params.append(since.isoformat())
    if as_of:
        where.append("r.local_date <= ?")
        params.append(as_of.isoformat())
    base = f"SELECT r.* FROM reports r WHERE {' AND '.join(where)}"
    if latest_only:
        base = (f"SELECT * FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY r.pc ORDER BY r.finished_utc DESC, "
                f"r.digest DESC) AS rn FROM reports r WHERE {' AND '.join(where)}) WHERE rn = 1")
    sql = (f"SELECT rr.digest, rr.hostname, rr.site, rr.role, rr.os, rr.os_version, rr.kernel, rr.tool_version, "
           f"rr.schema_version, rr.started_at, rr.finished_at, rr.signature, f.doc, f.fid, rr.machine_id FROM ({base}) rr "
           f"JOIN findings f ON f.digest = rr.digest ORDER BY rr.finished_utc, rr.digest, f.rowid")
    docs: dict[str, tuple[dict[str, Any], str] | None] = {}  # a finding repeated scan after scan is parsed once
    for row in store.db.execute(sql, params).fetchall():
        ctx = {"digest": row[0], "hostname": row[1], "site": row[2], "role": row[3], "os": row[4] or "",
               "os_version": row[5] or "", "kernel": row[6] or "", "platform": "", "tool_version": row[7] or "",
               "schema_version": row[8], "started_at": row[9], "finished_at": row[10],
               "signature": row[11] or None, "machine_id": row[14] or "", "clauses": clauses}
        if row[12] not in docs:
            if len(docs) > 20000:
                docs.clear()
            docs[row[12]] = _stored_finding(store, row[12])
        line = _line_or_none(fmt, docs[row[12]], ctx, namespace)
        if line is None:
            skipped.append(f"{str(row[0])[:24]}-{row[13]}")
            continue
        yield line
    for f in silent:
        ev = f["evidence"]
        last = store.query("SELECT os, os_version, kernel, machine_id FROM reports WHERE digest = ?",
                           (ev.get("last_report_digest"),))
        os_name, os_version, kernel, machine_id = last[0] if last else ("", "", "", "")
        ctx = {"digest": ev.get("last_report_digest") or "", "hostname": ev["hostname"], "site": ev.get("site") or "",
               "role": ev.get("role") or "", "os": os_name or "", "os_version": os_version or "",
               "kernel": kernel or "", "platform": "", "tool_version": __version__, "schema_version": "",
               "started_at": None, "finished_at": f"{ev['as_of']}T00:00:00+00:00", "signature": None,
               "machine_id": machine_id or "", "clauses": clauses}
        yield document_line(fmt, f, ctx, namespace=namespace)


def _stored_json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return boundedjson.loads(text.encode("utf-8", "surrogatepass"))
    except ValueError:
        return None


def _stored_finding(store, key: str) -> tuple[dict[str, Any], str] | None:
    """A stored finding document and its evidence JSON, or None when it is missing or not a valid finding."""
    rows = store.query("SELECT json FROM docs WHERE hash = ?", (key,))
    f = _stored_json(rows[0][0]) if rows else None
    if f is None or finding_problem(f, 0) is not None:
        return None
    return f, evidence_json(f)


def _line_or_none(fmt: str, doc: tuple[dict[str, Any], str] | None, ctx: dict[str, Any],
                  namespace: str) -> tuple[str, bytes] | None:
    if doc is None:
        return None
    try:
        return document_line(fmt, doc[0], ctx, doc[1], namespace)
    except (TypeError, ValueError, KeyError, AttributeError):  # valid, yet a mapping cannot use it: skipped too
        return None


def write_stream(path: Path, chunks: Iterable[bytes]) -> int:
    """Stream ``chunks`` to ``path`` atomically, owner-only, without holding the whole file in memory.
    Returns the number of bytes written."""
    return write_chunks(Path(path), chunks)
