"""The SIEM documents as lines of NDJSON.

* ECS: the ``_bulk`` body of Elasticsearch and OpenSearch, ready for ``curl --data-binary @FILE …/_bulk``: a
  ``{"create": {"_index": "logs-yuncang.findings-<namespace>", "_id": …}}`` line, then the document. ``create``
  is the only action a data stream accepts; the ``_id`` (report digest + finding id) makes a second send of the
  same finding a conflict (409, "already there") instead of a duplicate.
* OCSF: one event per line and nothing else (any OCSF consumer reads it as is); ``fleet export --push`` puts the
  action lines in front of each event itself.

Every line is compact UTF-8 JSON ending with a newline."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

from . import ecs, ocsf
from .facts import context_of, doc_id

FORMATS = ("ecs", "ocsf")
OCSF_INDEX = "yuncang-auditor-ocsf"  # OCSF events carry no @timestamp: an index, not a data stream

Mapper = Callable[[dict[str, Any], dict[str, Any], "str | None", str], dict[str, Any]]


def _ocsf(f: dict[str, Any], ctx: dict[str, Any], evidence: str | None, namespace: str) -> dict[str, Any]:
    return ocsf.event(f, ctx, evidence)


MAPPERS: dict[str, Mapper] = {"ecs": ecs.document, "ocsf": _ocsf}


def default_target(fmt: str, namespace: str = ecs.DEFAULT_NAMESPACE) -> str:
    """Where `fleet export --push` sends documents without --index: the ECS data stream, the OCSF index."""
    return ecs.data_stream(namespace) if fmt == "ecs" else OCSF_INDEX


def line(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def create_action(index: str, doc_id_: str) -> bytes:
    return line({"create": {"_index": index, "_id": doc_id_}})


def document_line(fmt: str, finding: dict[str, Any], ctx: dict[str, Any], evidence: str | None = None,
                  namespace: str = ecs.DEFAULT_NAMESPACE) -> tuple[str, bytes]:
    """(document id, the document's line) of one finding."""
    return doc_id(ctx, finding), line(MAPPERS[fmt](finding, ctx, evidence, namespace))


def report_lines(report: dict[str, Any], fmt: str,
                 namespace: str = ecs.DEFAULT_NAMESPACE) -> Iterator[tuple[str, bytes]]:
    ctx = context_of(report)
    for f in report.get("findings", []):
        yield document_line(fmt, f, ctx, namespace=namespace)


def file_chunks(fmt: str, lines: Iterator[tuple[str, bytes]], index: str) -> Iterator[bytes]:
    """What an NDJSON file holds: ECS as a ``_bulk`` body (action + document), OCSF one event per line."""
    for id_, doc in lines:
        yield create_action(index, id_) + doc if fmt == "ecs" else doc


def render_ecs(report: dict[str, Any], lang: str = "zh") -> bytes:
    """`auditor scan -o FILE.ecs.ndjson`: this PC's findings as a ``_bulk`` body for the default data stream."""
    return b"".join(file_chunks("ecs", report_lines(report, "ecs"), ecs.data_stream()))


def render_ocsf(report: dict[str, Any], lang: str = "zh") -> bytes:
    """`auditor scan -o FILE.ocsf.ndjson`: this PC's findings as OCSF events, one per line."""
    return b"".join(file_chunks("ocsf", report_lines(report, "ocsf"), OCSF_INDEX))
