"""POST bulk NDJSON to an Elasticsearch/OpenSearch `_bulk` endpoint, in batches, with bounded retries; PUT the
index templates first when asked to.

Documents are sent with ``create`` actions (the only action a data stream accepts). A document refused with 409
(its ``_id`` is there already: the same finding of the same report was sent before) counts as stored: sending
again never duplicates and never fails.

A batch is retried (exponential back-off, at most ``retries`` times, honouring a short Retry-After) when the
server cannot be reached, times out, or answers 429 or 5xx. In a 200 answer with ``"errors": true``, the
documents refused with 429/5xx are sent again within the same budget; documents refused for good (a mapping
error, 4xx) are reported with the server's reason. When a batch still fails after its retries the push stops:
nothing is retried forever.

The network between the agent and the SIEM is not trusted:

* **No redirect is followed.** A 3xx answer ends the push with an error naming the status and the host of its
  Location: the documents and the credentials (Basic or ApiKey) are never sent on, to that host or any other.
  (An ``https`` URL redirected to ``http`` is named as a downgrade.)
* **A private CA can be trusted** (``ca_cert``: PEM certificates read by the caller) instead of the system's
  certificate store; the server's name is always checked.
* **No credentials in clear.** Credentials are refused over plain ``http`` unless the host is this machine
  (127.0.0.0/8, ::1, localhost) or the caller allows it explicitly (``--allow-http-credentials``).
* **Bounded answers.** Each request has a total deadline (``timeout``: connecting, sending and the whole answer),
  an answer is read up to ``MAX_ANSWER`` bytes and parsed within the JSON bounds of auditor.boundedjson, and
  every text the server sends back is shown escaped and cut short.
"""

from __future__ import annotations

import ipaddress
import json
import math
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .. import boundedjson
from ..urlcreds import split_credentials
from .texts import shown

RETRYABLE = {429, 502, 503, 504, 500}
MAX_BACKOFF = 8.0
MAX_ANSWER = 16 << 20  # bytes of one answer (a bulk answer for 500 documents is about 100 kB)
ANSWER_LIMITS = boundedjson.Limits(max_bytes=MAX_ANSWER, max_string=64 << 10)
REFUSED = -1  # status of an answer that ends the push (a redirect, an oversized answer)


class PushError(Exception):
    pass


@dataclass
class PushResult:
    url: str
    sent: int = 0  # documents accepted (created)
    existing: int = 0  # documents the server holds already (409 to a create: sent before)
    batches: int = 0
    requests: int = 0
    retries: int = 0
    failed: list[tuple[str, int, str]] = field(default_factory=list)  # (_id, status, reason)
    templates: list[str] = field(default_factory=list)  # templates installed


@dataclass(frozen=True)
class Connection:
    """How to reach the cluster: total seconds per request, an API key, PEM certificates of a private CA."""

    timeout: float = 30.0
    api_key: str | None = None
    ca_cert: str | None = None

    def opener(self) -> urllib.request.OpenerDirector:
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if self.ca_cert is not None:
            handlers.append(urllib.request.HTTPSHandler(context=tls_context(self.ca_cert)))
        return urllib.request.build_opener(*handlers)


def tls_context(ca_cert: str) -> ssl.SSLContext:
    """Certificate checks against ``ca_cert`` (PEM text, one or more certificates) instead of the system store:
    the chain must end at one of them and the name must match. ValueError for text that holds no certificate."""
    if "-----BEGIN CERTIFICATE-----" not in ca_cert:
        raise ValueError("no PEM certificate in it (-----BEGIN CERTIFICATE-----)")
    try:
        return ssl.create_default_context(cadata=ca_cert)  # only this CA: the system store is not loaded
    except ssl.SSLError as exc:
        raise ValueError(f"not a usable certificate ({exc.reason or exc})") from None


def cluster_url(url: str) -> tuple[str, dict[str, str]]:
    """The cluster's base URL (URL without a trailing /_bulk) and the headers its user:password part asks for
    (the credentials are taken out of the URL)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{shown(without_credentials(url), 300)}: not an http(s) URL")
    bare, headers = split_credentials(url)
    path = bare.path.rstrip("/")
    if path.endswith("/_bulk"):
        path = path[:-len("/_bulk")]
    return urllib.parse.urlunsplit((bare.scheme, bare.netloc, path, bare.query, "")), headers


def endpoint(base: str, path: str) -> str:
    """``base`` (a cluster URL, perhaps with a query) with ``path`` appended to its path."""
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path=f"{parts.path}/{path}"))


def bulk_url(url: str) -> tuple[str, dict[str, str]]:
    """The `_bulk` endpoint for URL (a cluster URL or the endpoint itself) and the headers its user:password
    part asks for (the credentials are taken out of the URL)."""
    base, headers = cluster_url(url)
    return endpoint(base, "_bulk"), headers


def without_credentials(url: str) -> str:
    """The URL as it may be shown: any user:password@ part replaced by ***@."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def check_api_key(key: str) -> None:
    """ValueError for a key that cannot be a header value (a line break would end the header: refused before
    anything is sent, and never quoted)."""
    if not key or any(not 0x21 <= ord(c) <= 0x7E for c in key):
        raise ValueError("the API key is empty or holds spaces, line breaks or non-ASCII characters")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_credentials(url: str, api_key: bool, allow_http: bool = False) -> None:
    """ValueError when credentials (user:password@ in URL, or an API key) would cross the network in clear."""
    parts = urllib.parse.urlsplit(url)
    has = api_key or parts.username is not None
    if has and parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise ValueError(f"{shown(parts.hostname or '')}: credentials would be sent in clear over http; use an "
                         "https URL (or --allow-http-credentials on a network you trust)")


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


def _headers(url: str, conn: Connection, content_type: str) -> tuple[str, dict[str, str]]:
    base, headers = cluster_url(url)
    headers["Content-Type"] = content_type
    headers["Accept"] = "application/json"
    if conn.api_key:
        headers["Authorization"] = f"ApiKey {conn.api_key}"
    return base, headers


def install_templates(url: str, requests: Iterable[tuple[str, dict]], conn: Connection = Connection()) -> list[str]:
    """PUT each (path, body) under the cluster URL, in order (component templates before the index template that
    composes them); the names installed. PushError at the first one refused: nothing is pushed then."""
    base, headers = _headers(url, conn, "application/json")
    opener = conn.opener()
    done = []
    for path, body in requests:
        target = endpoint(base, path)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        status, _answer, _retry, problem = _send(opener, "PUT", target, data, headers, conn.timeout)
        if status == REFUSED:
            raise PushError(f"{target}: {problem}")
        if not 200 <= status < 300:
            raise PushError(f"{target}: the template was not installed ("
                            f"{f'HTTP {status}: {problem}' if status else problem})")
        done.append(path.rsplit("/", 1)[-1])
    return done


def push(url: str, pairs: Iterable[tuple[bytes, bytes]], retries: int = 3, max_docs: int = 500,
         max_bytes: int = 5 << 20, conn: Connection = Connection(), backoff: float = 0.5,
         sleep: Callable[[float], None] = time.sleep) -> PushResult:
    base, headers = _headers(url, conn, "application/x-ndjson")
    target = endpoint(base, "_bulk")
    opener = conn.opener()
    result = PushResult(target)
    for batch in batches(pairs, max_docs, max_bytes):
        result.batches += 1
        todo = batch
        attempt = 0
        while todo:
            status, body, retry_after, problem = _send(opener, "POST", target, b"".join(a + d for a, d in todo),
                                                       headers, conn.timeout)
            result.requests += 1
            again: list[tuple[bytes, bytes]] = []
            if status == 200 and body is not None:
                items = body.get("items") if isinstance(body, dict) else None
                if not isinstance(items, list) or len(items) != len(todo):
                    raise PushError(f"{target}: unexpected answer to a bulk request ({len(todo)} documents sent, "
                                    f"{len(items) if isinstance(items, list) else 'no'} items back)")
                for pair, item in zip(todo, items):
                    res = next(iter(item.values()), None) if isinstance(item, dict) else None
                    res = res if isinstance(res, dict) else {}
                    code = _code(res.get("status"))
                    if 200 <= code < 300:
                        result.sent += 1
                    elif code == 409:  # create of an _id that is there already: this finding was sent before
                        result.existing += 1
                    elif code in RETRYABLE:
                        again.append(pair)
                    else:
                        err = res.get("error")
                        reason = (f"{err.get('type')}: {err.get('reason')}" if isinstance(err, dict)
                                  else str(err or "refused"))
                        result.failed.append((_doc_id(pair[0]), code, shown(reason, 300)))
            elif status in RETRYABLE or status == 0:
                again = todo
            elif status == REFUSED:
                raise PushError(f"{target}: {problem}")
            else:
                raise PushError(f"{target}: HTTP {status}: {problem}")
            if not again:
                break
            attempt += 1
            if attempt > retries:
                raise PushError(f"{target}: gave up after {retries} retries "
                                f"({len(again)} documents not accepted; last: {problem or 'some documents refused with 429/5xx'})")
            result.retries += 1
            delay = min(MAX_BACKOFF, backoff * (2 ** (attempt - 1)))
            if retry_after is not None:
                delay = min(MAX_BACKOFF, max(delay, retry_after))
            sleep(delay)
            todo = again
    return result


def _code(value: object) -> int:
    """An item's HTTP status as the server sent it; 0 for anything that is not one."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if 0 <= value < 1000 else 0
    if isinstance(value, str) and value.isdigit() and len(value) <= 3:
        return int(value)
    return 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow: the 3xx answer comes back as an HTTPError (credentials are never sent on)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


def _send(opener: urllib.request.OpenerDirector, method: str, url: str, data: bytes, headers: dict[str, str],
          timeout: float):
    """(status, parsed JSON body or None, Retry-After seconds or None, problem text); status 0 = no answer,
    REFUSED = an answer that must end the push. At most ``timeout`` seconds in all, whatever the server does."""
    box: list[tuple] = []
    worker = threading.Thread(target=lambda: box.append(_send_once(opener, method, url, data, headers, timeout)),
                              daemon=True, name="bulk-push")
    worker.start()
    worker.join(timeout)
    if not box:  # a server that answers byte by byte: the thread is left to its socket timeout
        return 0, None, None, f"no answer within {timeout:g} s"
    return box[0]


def _send_once(opener: urllib.request.OpenerDirector, method: str, url: str, data: bytes, headers: dict[str, str],
               timeout: float):
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with opener.open(req, timeout=timeout) as resp:
            raw = resp.read(MAX_ANSWER + 1)
            status = resp.status
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            return REFUSED, None, None, _redirect_problem(url, exc)
        retry_after = exc.headers.get("Retry-After") if exc.headers else None
        try:
            detail = exc.read(300).decode("utf-8", "replace")
        except (OSError, ValueError):
            detail = ""
        return exc.code, None, _seconds(retry_after), shown(f"{exc.reason} {detail}".strip(), 300)
    except (urllib.error.URLError, OSError, ValueError) as exc:  # ValueError: a malformed answer (http.client)
        reason = getattr(exc, "reason", exc)
        return 0, None, None, f"no answer ({shown(str(reason), 200)})"
    if len(raw) > MAX_ANSWER:
        return REFUSED, None, None, f"HTTP {status}: answer larger than {MAX_ANSWER} bytes, not read"
    try:
        return status, boundedjson.loads(raw, ANSWER_LIMITS), None, ""
    except ValueError:
        return 0 if status >= 500 else status, None, None, "the answer is not JSON"


def _redirect_problem(url: str, exc: urllib.error.HTTPError) -> str:
    location = (exc.headers.get("Location") if exc.headers else None) or ""
    target = urllib.parse.urlsplit(urllib.parse.urljoin(url, location.strip()))
    host = shown(target.hostname or "?", 100)
    downgrade = urllib.parse.urlsplit(url).scheme == "https" and target.scheme == "http"
    return (f"HTTP {exc.code} redirect to {host}{' over plain http (a downgrade from https)' if downgrade else ''}: "
            "not followed (the documents and credentials are never sent to another address; "
            "push to the final URL itself)")


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None
