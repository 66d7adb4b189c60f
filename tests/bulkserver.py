"""A small Elasticsearch/OpenSearch `_bulk` endpoint on 127.0.0.1 for the push tests: parses the NDJSON exactly
as the bulk API does (action line, then document), keeps documents by `_id`, and can be told to fail."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    fail_requests: int = 0          # answer the first N requests with 503 (Retry-After: 0)
    always_fail: bool = False       # answer every request with 503
    throttle_first: int = 0         # in the first answer, refuse this many documents with 429
    reject_ids: set[str] = field(default_factory=set)  # refuse these _ids for good (mapping error)
    auth: str | None = None         # required Authorization header


class BulkServer:
    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.docs: dict[str, dict] = {}
        self.indices: set[str] = set()
        self.requests = 0
        self.bad_requests: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                status, answer, headers = server.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

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
            _id = meta["_id"]
            if throttle:
                throttle -= 1
                items.append({op: {"_index": meta["_index"], "_id": _id, "status": 429,
                                   "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}})
                errors = True
                continue
            if _id in b.reject_ids:
                items.append({op: {"_index": meta["_index"], "_id": _id, "status": 400,
                                   "error": {"type": "mapper_parsing_exception", "reason": "failed to parse"}}})
                errors = True
                continue
            with self.lock:
                created = _id not in self.docs
                self.docs[_id] = doc
                self.indices.add(meta["_index"])
            items.append({op: {"_index": meta["_index"], "_id": _id, "status": 201 if created else 200,
                               "result": "created" if created else "updated"}})
        return 200, {"took": 1, "errors": errors, "items": items}, {}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
