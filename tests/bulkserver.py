"""A small Elasticsearch/OpenSearch stand-in on 127.0.0.1 for the push tests: the `_bulk` endpoint parses the
NDJSON exactly as the bulk API does (action line, then document) and keeps documents by `_id`; component and
composable index templates can be PUT; it can be told to fail, and to speak https with a given certificate.

What a real cluster enforces and the tests rely on:
* a data stream (an index name matching an installed template with ``data_stream``, or ``logs-*-*`` as the
  built-in template of Elasticsearch makes it) accepts only ``create`` actions: ``index`` is refused (400);
* ``create`` of an ``_id`` that is there already is refused with 409 (version_conflict_engine_exception);
* an index template's ``composed_of`` must name component templates that exist.

And what the tests check on top: every document received is valid (tests/siemcheck.py: OCSF 1.3.0, or ECS 9.4),
and every field of a document sent to a data stream whose template was installed is mapped by that template
(``invalid`` lists what is not)."""

from __future__ import annotations

import base64
import fnmatch
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import siemcheck
from auditor.siem import template


@dataclass
class Behaviour:
    fail_requests: int = 0          # answer the first N requests with 503 (Retry-After: 0)
    always_fail: bool = False       # answer every request with 503
    throttle_first: int = 0         # in the first answer, refuse this many documents with 429
    reject_ids: set[str] = field(default_factory=set)  # refuse these _ids for good (mapping error)
    auth: str | None = None         # required Authorization header
    refuse_templates: bool = False  # answer template PUTs with 403 (a key without manage_index_templates)


class BulkServer:
    def __init__(self, behaviour: Behaviour | None = None, tls: tuple[Path, Path] | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.docs: dict[str, dict] = {}
        self.indices: set[str] = set()
        self.ops: set[str] = set()
        self.requests = 0
        self.bad_requests: list[str] = []
        self.invalid: list[str] = []
        self.component_templates: dict[str, dict] = {}
        self.index_templates: dict[str, dict] = {}
        self.template_puts: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def _answer(self, status: int, answer: dict, headers: dict) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._answer(*server.handle(self.path, dict(self.headers), body))

            def do_PUT(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._answer(*server.put(self.path, dict(self.headers), body))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    # ------------------------------------------------------------------ templates
    def put(self, path: str, headers: dict, body: bytes):
        with self.lock:
            self.requests += 1
        if self.behaviour.auth and headers.get("Authorization") != self.behaviour.auth:
            return 401, {"error": "unauthorized"}, {}
        if self.behaviour.refuse_templates:
            return 403, {"error": {"type": "security_exception", "reason": "action [indices:admin/index_template/put]"
                                   " is unauthorized"}, "status": 403}, {}
        parts = path.split("?")[0].strip("/").split("/")
        try:
            spec = json.loads(body)
        except ValueError:
            return 400, {"error": "not JSON"}, {}
        if len(parts) == 2 and parts[0] == "_component_template":
            if "template" not in spec:
                return 400, {"error": "a component template needs 'template'"}, {}
            self.component_templates[parts[1]] = spec
        elif len(parts) == 2 and parts[0] == "_index_template":
            missing = [c for c in spec.get("composed_of", []) if c not in self.component_templates]
            if missing:
                return 404, {"error": {"type": "invalid_index_template_exception",
                                       "reason": f"component templates {missing} do not exist"}}, {}
            self.index_templates[parts[1]] = spec
        else:
            return 404, {"error": "no such endpoint"}, {}
        self.template_puts.append(parts[1])
        return 200, {"acknowledged": True}, {}

    def _template_for(self, index: str) -> dict | None:
        matching = [t for t in self.index_templates.values()
                    if any(fnmatch.fnmatchcase(index, p) for p in t.get("index_patterns", []))]
        return max(matching, key=lambda t: t.get("priority", 0)) if matching else None

    def is_data_stream(self, index: str) -> bool:
        tpl = self._template_for(index)
        if tpl is not None:
            return "data_stream" in tpl
        return fnmatch.fnmatchcase(index, "logs-*-*")

    def _mapped_types(self, tpl: dict) -> dict[str, str]:
        comps = {n: self.component_templates[n] for n in tpl.get("composed_of", [])}
        return template.field_types({"component_templates": comps})

    # ------------------------------------------------------------------ _bulk
    def handle(self, path: str, headers: dict, body: bytes):
        b = self.behaviour
        with self.lock:
            self.requests += 1
            n = self.requests
        if not path.split("?")[0].endswith("/_bulk"):
            return 404, {"error": "no such endpoint"}, {}
        if b.auth and headers.get("Authorization") != b.auth:
            return 401, {"error": "unauthorized"}, {}
        if b.always_fail or n <= b.fail_requests:
            return 503, {"error": "unavailable"}, {"Retry-After": "0"}
        if headers.get("Content-Type") != "application/x-ndjson":
            self.bad_requests.append(f"content type {headers.get('Content-Type')}")
            return 400, {"error": "bad content type"}, {}
        if not body.endswith(b"\n"):
            self.bad_requests.append("body does not end with a newline")
            return 400, {"error": "the bulk request must be terminated by a newline"}, {}
        lines = body.split(b"\n")[:-1]
        if len(lines) % 2:
            self.bad_requests.append("odd number of lines")
            return 400, {"error": "odd number of lines"}, {}
        items, errors = [], False
        throttle = b.throttle_first if n == b.fail_requests + 1 else 0
        for i in range(0, len(lines), 2):
            action = json.loads(lines[i])
            (op, meta), = action.items()
            doc = json.loads(lines[i + 1])
            assert op in ("index", "create") and isinstance(doc, dict)
            _id, index = meta["_id"], meta["_index"]
            self.ops.add(op)
            self._validate(index, doc)
            if throttle:
                throttle -= 1
                items.append({op: {"_index": index, "_id": _id, "status": 429,
                                   "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}})
                errors = True
                continue
            if _id in b.reject_ids:
                items.append({op: {"_index": index, "_id": _id, "status": 400,
                                   "error": {"type": "mapper_parsing_exception", "reason": "failed to parse"}}})
                errors = True
                continue
            if op != "create" and self.is_data_stream(index):
                items.append({op: {"_index": index, "_id": _id, "status": 400,
                                   "error": {"type": "illegal_argument_exception", "reason": "only write ops with "
                                             "an op_type of create are allowed in data streams"}}})
                errors = True
                continue
            with self.lock:
                exists = _id in self.docs
                if op == "create" and exists:
                    items.append({op: {"_index": index, "_id": _id, "status": 409, "error": {
                        "type": "version_conflict_engine_exception",
                        "reason": f"[{_id}]: version conflict, document already exists"}}})
                    errors = True
                    continue
                self.docs[_id] = doc
                self.indices.add(index)
            items.append({op: {"_index": index, "_id": _id, "status": 200 if exists else 201,
                               "result": "updated" if exists else "created"}})
        return 200, {"took": 1, "errors": errors, "items": items}, {}

    def _validate(self, index: str, doc: dict) -> None:
        problems = siemcheck.ocsf_problems(doc) if "class_uid" in doc else siemcheck.ecs_problems(doc)
        tpl = self._template_for(index)
        if tpl is not None:
            problems += siemcheck.template_problems(doc, self._mapped_types(tpl))
        if problems:
            self.invalid.append(f"{index}: {'; '.join(problems[:5])}")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
