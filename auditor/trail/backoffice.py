"""The back-office catalog (`checks/backoffices.toml`, each back office named by its platform's id in
`checks/platforms.toml`) and the rule "is this download an export?".

Only the platform, the host and the path of a URL are ever kept: query strings, fragments and user info are
dropped here, before anything else sees the URL."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit

from ..errors import PackError
from ..messages import Text
from ..packs import load_toml, string_list
from ..platforms import platforms
from ..resources import pack_dir

# Chromium columns (and the Firefox download URL) in the order they are tried.
PAGE_FIELDS = ("tab_url", "tab_referrer_url", "referrer", "site_url")


@dataclass(frozen=True)
class BackOffice:
    """A shop platform's back office: ``id`` is the platform's (checks/platforms.toml), the names the back
    office's own."""

    id: str
    name_zh: str
    name_en: str
    hosts: tuple[str, ...]
    sites: tuple[str, ...]
    export_pages: tuple[str, ...]

    def has_host(self, host: str) -> bool:
        return any(fnmatch.fnmatchcase(host, pat) for pat in self.hosts)


@dataclass(frozen=True)
class PageMatch:
    platform: BackOffice
    field: str  # which URL matched: tab_url | tab_referrer_url | referrer | site_url | download_url
    host: str
    path: str  # URL path only ("" for a site_url or blob: URL)
    export_page: bool


@dataclass(frozen=True)
class Catalog:
    platforms: tuple[BackOffice, ...]
    extensions: frozenset[str]
    mime_types: frozenset[str]
    max_exports_per_day: int

    def match_url(self, url: str | None, field: str) -> PageMatch | None:
        parts = url_parts(url)
        if parts is None:
            return None
        host, path, blob = parts
        for plat in self.platforms:
            if plat.has_host(host) or (field == "site_url" and host in plat.sites):
                page = any(fnmatch.fnmatchcase(path, pat) for pat in plat.export_pages) if path else False
                return PageMatch(plat, field, host, "" if blob else path, page)
        return None

    def match_pages(self, urls: dict[str, str | None]) -> PageMatch | None:
        """First catalog match among the initiating-page URLs, in PAGE_FIELDS order (then download_url)."""
        for field in (*PAGE_FIELDS, "download_url"):
            if field in urls:
                m = self.match_url(urls[field], field)
                if m:
                    return m
        return None

    def is_export_file(self, file_name: str, mime: str | None) -> bool:
        mime = (mime or "").split(";", 1)[0].strip().lower()
        if mime and mime in self.mime_types:
            return True
        name = file_name.lower()
        return any(name.endswith(ext) for ext in self.extensions)


def url_parts(url: str | None) -> tuple[str, str, bool] | None:
    """(host, path, is_blob) of an http(s) URL or of the origin inside a ``blob:`` URL; None for anything else.
    The query, fragment, port and user info are never returned."""
    if not url:
        return None
    url = url.strip()
    blob = url[:5].lower() == "blob:"
    if blob:
        url = url[5:]
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return host, parts.path or "/", blob


def file_name_of(path: str) -> str:
    """Base name of a Windows or POSIX path as the browser stored it."""
    if "\\" in path or (len(path) > 1 and path[1] == ":"):
        return PureWindowsPath(path).name
    return PurePosixPath(path).name


def load_catalog(path: Path) -> Catalog:
    data = load_toml(path)
    origin = path.name
    known = platforms(path.parent)
    offices: list[BackOffice] = []
    seen: set[str] = set()
    for raw in data.get("platform", []):
        pid = raw.get("id")
        if not isinstance(pid, str) or not pid:
            raise PackError("pack.backoffice.bad_platform_id", origin=origin, pid=pid)
        where = Text("where.platform", origin=origin, id=pid)
        for key in ("name_zh", "name_en"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise PackError("pack.missing", where=where, key=key)
        hosts = tuple(h.lower() for h in string_list(raw, "hosts", where))
        if not hosts:
            raise PackError("pack.backoffice.no_hosts", where=where)
        platform_id = known.require(pid, f"{origin}: [[platform]] id")  # an alias names its platform
        if platform_id in seen:
            raise PackError("pack.backoffice.bad_platform_id", origin=origin, pid=pid)
        seen.add(platform_id)
        offices.append(BackOffice(platform_id, raw["name_zh"], raw["name_en"], hosts,
                                  tuple(s.lower() for s in string_list(raw, "sites", where)),
                                  string_list(raw, "export_pages", where)))
    if not offices:
        raise PackError("pack.backoffice.none", origin=origin)
    files = data.get("export_files", {})
    exts = frozenset(e.lower() for e in string_list(files, "extensions", f"{origin}: export_files"))
    mimes = frozenset(m.lower() for m in string_list(files, "mime_types", f"{origin}: export_files"))
    if not exts:
        raise PackError("pack.backoffice.no_extensions", origin=origin)
    limit = data.get("limits", {}).get("max_exports_per_day", 20)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise PackError("pack.backoffice.bad_max_exports", origin=origin)
    return Catalog(tuple(offices), exts, mimes, limit)


@lru_cache(maxsize=None)
def catalog(path: Path | None = None) -> Catalog:
    return load_catalog(path or pack_dir("checks") / "backoffices.toml")
