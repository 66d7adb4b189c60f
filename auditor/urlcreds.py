"""Credentials written into an http(s) URL (``https://user:password@host/path``): taken out of the URL and sent as
an ``Authorization: Basic`` header, as browsers and curl do (urllib would take ``user:password@host`` for a host
name). Used by every outgoing request the agent makes: the watch webhook and the SIEM push."""

from __future__ import annotations

import base64
import urllib.parse


def split_credentials(url: str) -> tuple[urllib.parse.SplitResult, dict[str, str]]:
    """``url``'s parts without user:password, and the headers that carry them (empty when there are none)."""
    parts = urllib.parse.urlsplit(url)
    headers: dict[str, str] = {}
    host = parts.hostname or ""
    netloc = host if ":" not in host else f"[{host}]"
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        pw = urllib.parse.unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    return parts._replace(netloc=netloc), headers
