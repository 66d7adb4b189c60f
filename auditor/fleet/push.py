"""POST bulk NDJSON to an Elasticsearch/OpenSearch `_bulk` endpoint, in batches, with bounded retries.

A batch is retried (exponential back-off, at most ``retries`` times, honouring a short Retry-After) when the
server cannot be reached, times out, or answers 429 or 5xx. In a 200 answer with ``"errors": true``, the
documents refused with 429/5xx are sent again within the same budget; documents refused for good (a mapping
error, 4xx) are reported with the server's reason. When a batch still fails after its retries the push stops:
nothing is retried forever.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

RETRYABLE = {429, 502, 503, 504, 500}
MAX_BACKOFF = 8.0


class PushError(Exception):
    pass


@dataclass
class PushResult:
    url: str
    sent: int = 0  # documents accepted
    batches: int = 0
    requests: int = 0
    retries: int = 0
    failed: list[tuple[str, int, str]] = field(default_factory=list)  # (_id, status, reason)


def bulk_url(url: str) -> tuple[str, dict[str, str]]:
    """The `_bulk` endpoint for URL (a cluster URL or the endpoint itself) and the headers its user:password
    part asks for (the credentials are taken out of the URL)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url}: not an http(s) URL")
    headers = {}
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        pw = urllib.parse.unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    path = parts.path.rstrip("/")
    if not path.endswith("/_bulk"):
        path += "/_bulk"
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, parts.query, "")), headers


def batches(pairs: Iterable[tuple[bytes, bytes]], max_docs: int, max_bytes: int) -> Iterator[list[tuple[bytes, bytes]]]:
    batch: list[tuple[bytes, bytes]] = []
    size = 0
    for pair in pairs:
        n = len(pair[0]) + len(pair[1])
        if batch and (len(batch) >= max_docs or size + n > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(pair)
        size += n
    if batch:
        yield batch


def _doc_id(action: bytes) -> str:
    try:
        meta = json.loads(action)
        return str(next(iter(meta.values())).get("_id", "?"))
    except (ValueError, StopIteration, AttributeError):
        return "?"


def push(url: str, pairs: Iterable[tuple[bytes, bytes]], retries: int = 3, max_docs: int = 500,
         max_bytes: int = 5 << 20, timeout: float = 30.0, api_key: str | None = None, backoff: float = 0.5,
         sleep: Callable[[float], None] = time.sleep) -> PushResult:
    endpoint, headers = bulk_url(url)
    headers["Content-Type"] = "application/x-ndjson"
    headers["Accept"] = "application/json"
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    result = PushResult(endpoint)
    for batch in batches(pairs, max_docs, max_bytes):
        result.batches += 1
        todo = batch
        attempt = 0
        while todo:
            status, body, retry_after, problem = _post(endpoint, b"".join(a + d for a, d in todo), headers, timeout)
            result.requests += 1
            again: list[tuple[bytes, bytes]] = []
            if status == 200 and body is not None:
                items = body.get("items") if isinstance(body, dict) else None
                if not isinstance(items, list) or len(items) != len(todo):
                    raise PushError(f"{endpoint}: unexpected answer to a bulk request ({len(todo)} documents sent, "
                                    f"{len(items) if isinstance(items, list) else 'no'} items back)")
                for pair, item in zip(todo, items):
                    res = next(iter(item.values())) if isinstance(item, dict) and item else {}
                    code = int(res.get("status", 0)) if isinstance(res, dict) else 0
                    if 200 <= code < 300:
                        result.sent += 1
                    elif code in RETRYABLE:
                        again.append(pair)
                    else:
                        err = res.get("error") if isinstance(res, dict) else None
                        reason = (f"{err.get('type')}: {err.get('reason')}" if isinstance(err, dict)
                                  else str(err or "refused"))
                        result.failed.append((_doc_id(pair[0]), code, reason))
            elif status in RETRYABLE or status == 0:
                again = todo
            else:
                raise PushError(f"{endpoint}: HTTP {status}: {problem}")
            if not again:
                break
            attempt += 1
            if attempt > retries:
                raise PushError(f"{endpoint}: gave up after {retries} retries "
                                f"({len(again)} documents not accepted; last: {problem or 'some documents refused with 429/5xx'})")
            result.retries += 1
            delay = min(MAX_BACKOFF, backoff * (2 ** (attempt - 1)))
            if retry_after is not None:
                delay = min(MAX_BACKOFF, max(delay, retry_after))
            sleep(delay)
            todo = again
    return result


def _post(url: str, data: bytes, headers: dict[str, str], timeout: float):
    """(status, parsed JSON body or None, Retry-After seconds or None, problem text); status 0 = no answer."""
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        retry_after = exc.headers.get("Retry-After") if exc.headers else None
        try:
            detail = exc.read()[:300].decode("utf-8", "replace")
        except OSError:
            detail = ""
        return exc.code, None, _seconds(retry_after), f"{exc.reason} {detail}".strip()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return 0, None, None, f"no answer ({reason})"
    try:
        return status, json.loads(raw), None, ""
    except ValueError:
        return 0 if status >= 500 else status, None, None, "the answer is not JSON"


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
