#!/usr/bin/env python3
"""Compare the remote-tool catalog (checks/remote-tools/) with the public LOLRMM catalog, by hand.

LOLRMM (https://github.com/magicsword-io/LOLRMM, https://lolrmm.io) keeps one YAML file per remote
monitoring/management tool and publishes the same data as ``website/public/api/rmm_tools.json``. This script
lists, as tables:

1. LOLRMM tools that match no catalog entry (candidates to add, or to skip with a reason);
2. catalog tools that match no LOLRMM tool (ours only: mostly Chinese tools and tunnels);
3. with ``--matched``, the pairs that did match and how.

A LOLRMM tool matches a catalog tool when one of its executable names (the base names in
``Details.InstallationPaths``, ``Details.PEMetadata`` and ``Artifacts.Disk`` that end in ``.exe``) is named
by the catalog exactly as the agent's detector names a running process (``ToolIndex.by_name``: exact name,
name without ``.exe``, or one of the catalog's globs); or when its name, or a part of it in brackets or after
a slash or dash ("NinjaOne (formerly NinjaRMM)"), equals a catalog tool's id, name or such a part once case,
spaces and punctuation are dropped (generic words such as "Agent" or "Remote" alone never match); or when one
of its domains is a catalog domain or a subdomain of one (or the other way round). The "how" column of
``--matched`` says which; a match by domain only deserves a look (two tools may share a CDN or a parent).

Usage (from the repository root, run by hand; the agent never imports it, and tests/test_catalog_freshness.py only
runs it on a small made-up file)::

    git clone --depth 1 https://github.com/magicsword-io/LOLRMM /tmp/LOLRMM
    .venv/bin/python tools/catalog_compare.py /tmp/LOLRMM                 # a checkout (yaml/ or the API json)
    .venv/bin/python tools/catalog_compare.py /tmp/LOLRMM/yaml            # the YAML folder (needs PyYAML)
    .venv/bin/python tools/catalog_compare.py rmm_tools.json              # https://lolrmm.io/api/rmm_tools.json
    .venv/bin/python tools/catalog_compare.py /tmp/LOLRMM --format csv > compare.csv
    .venv/bin/python tools/catalog_compare.py /tmp/LOLRMM --matched --catalog path/to/remote-tools

Output formats: ``text`` (aligned columns, default), ``md`` (Markdown tables, for an issue comment) and
``csv`` (one row per tool, with a ``section`` column). Exit status 0 whatever the differences; 2 when the
input cannot be read.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from auditor import packs  # noqa: E402
from auditor.remote.tool_index import ToolIndex  # noqa: E402

CATALOG = REPO / "checks" / "remote-tools"
MAX_LISTED = 4  # names/domains shown per row in text and Markdown tables


@dataclass
class LolTool:
    name: str
    category: str
    source: str  # yaml file name, or the JSON file
    exes: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading LOLRMM

def _basename(path: str) -> str:
    return re.split(r"[\\/]", path.strip())[-1]


def _exe_names(entry: dict) -> list[str]:
    details = entry.get("Details") or {}
    raw: list[str] = list(details.get("InstallationPaths") or [])
    pe = details.get("PEMetadata") or []
    for item in pe if isinstance(pe, list) else [pe]:
        if isinstance(item, dict):
            raw += [item.get("Filename") or "", item.get("OriginalFileName") or ""]
    for disk in (entry.get("Artifacts") or {}).get("Disk") or []:
        if isinstance(disk, dict):
            raw.append(disk.get("File") or "")
    names: dict[str, None] = {}
    for value in raw:
        if not isinstance(value, str):
            continue
        base = _basename(value)
        literal = base.casefold().removesuffix(".exe").replace("*", "").replace("?", "")
        if base.casefold().endswith(".exe") and len(literal) >= 3:
            names.setdefault(base, None)
    return list(names)


def _domains(entry: dict) -> list[str]:
    out: dict[str, None] = {}
    for net in (entry.get("Artifacts") or {}).get("Network") or []:
        for dom in (net or {}).get("Domains") or []:
            if isinstance(dom, str) and "." in dom and dom != "user_managed":
                out.setdefault(dom.strip().lstrip("*.").casefold(), None)
    return list(out)


def _from_entry(entry: dict, source: str) -> LolTool:
    return LolTool(name=str(entry.get("Name") or source), category=str(entry.get("Category") or ""),
                   source=source, exes=_exe_names(entry), domains=_domains(entry))


def read_lolrmm(path: Path) -> list[LolTool]:
    """A LOLRMM checkout, its ``yaml/`` folder, or ``rmm_tools.json``."""
    if path.is_dir():
        if (path / "yaml").is_dir():
            return read_lolrmm(path / "yaml")
        api = path / "website" / "public" / "api" / "rmm_tools.json"
        if api.is_file():
            return read_lolrmm(api)
        files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
        if not files:
            raise ValueError(f"{path}: neither a LOLRMM checkout, nor a yaml/ folder, nor rmm_tools.json")
        try:
            import yaml
        except ImportError:
            raise ValueError("reading LOLRMM's yaml/ folder needs PyYAML; pass rmm_tools.json instead") from None
        return [_from_entry(yaml.safe_load(f.read_text(encoding="utf-8")) or {}, f.name) for f in files]
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of tools (LOLRMM rmm_tools.json)")
    return [_from_entry(e, path.name) for e in data if isinstance(e, dict)]


# --------------------------------------------------------------------------- matching

def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "", text.casefold())


# Words that name no tool on their own (a part of a name such as "NinjaOne (NinjaRMM) Agent").
_GENERIC_PARTS = {"agent", "client", "server", "remote", "desktop", "viewer", "control", "support", "access",
                  "manager", "service", "tunnel", "connect", "formerly", "beta", "rmm", "vnc", "rdp"}


def _name_parts(name: str) -> set[str]:
    """The whole name and its parts between brackets, slashes and dashes, normalised."""
    keys = {_norm(name)}
    for part in re.split(r"[()/]| - |-(?=[A-Za-z ])|\baka\b|\bformerly\b|\balso known as\b", name):
        if len(_norm(part)) >= 4 and _norm(part) not in _GENERIC_PARTS:
            keys.add(_norm(part))
    return {k for k in keys if k}


def _domain_hit(lol_domain: str, ours: str) -> bool:
    """Same host, or one is a subdomain of the other (``*.`` prefixes already removed)."""
    ours = ours.casefold().lstrip("*.")
    return lol_domain == ours or lol_domain.endswith("." + ours) or ours.endswith("." + lol_domain)


def match(lol: list[LolTool], catalog: dict[str, packs.Tool]) -> dict[str, list[tuple[str, str]]]:
    """LOLRMM tool name -> [(catalog id, how)]."""
    index = ToolIndex(catalog)
    by_name: dict[str, str] = {}
    for tool in catalog.values():
        for key in {_norm(tool.id)} | _name_parts(tool.name):
            by_name.setdefault(key, tool.id)
    out: dict[str, list[tuple[str, str]]] = {}
    for item in lol:
        hits: dict[str, str] = {}
        for exe in item.exes:
            tool = index.by_name(exe)
            if tool:
                hits.setdefault(tool.id, f"exe {exe}")
        for key in sorted(_name_parts(item.name)):
            if key in by_name:
                hits.setdefault(by_name[key], "name")
        for dom in item.domains:
            for tool in catalog.values():
                if any(_domain_hit(dom, ours) for ours in tool.domains):
                    hits.setdefault(tool.id, f"domain {dom}")
        out[item.name] = sorted(hits.items())
    return out


# --------------------------------------------------------------------------- output

def _short(values: list[str]) -> str:
    head = ", ".join(values[:MAX_LISTED])
    return head + (f" (+{len(values) - MAX_LISTED})" if len(values) > MAX_LISTED else "")


def _table(title: str, header: list[str], rows: list[list[str]], fmt: str) -> str:
    if fmt == "md":
        lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    widths = [min(48, max([len(h)] + [len(r[i]) for r in rows])) for i, h in enumerate(header)]
    fmt_row = "  ".join("{:<%d}" % w for w in widths)
    lines = [title, "=" * len(title), fmt_row.format(*header), fmt_row.format(*("-" * w for w in widths))]
    lines += [fmt_row.format(*(c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(row, widths))) for row in rows]
    return "\n".join(lines) + "\n"


def render(lol: list[LolTool], catalog: dict[str, packs.Tool], matches: dict[str, list[tuple[str, str]]],
           fmt: str, show_matched: bool) -> str:
    missing = [t for t in sorted(lol, key=lambda t: t.name.casefold()) if not matches[t.name]]
    covered = {tid for hits in matches.values() for tid, _ in hits}
    ours_only = [t for t in sorted(catalog.values(), key=lambda t: t.id) if t.id not in covered]
    matched = [t for t in sorted(lol, key=lambda t: t.name.casefold()) if matches[t.name]]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["section", "name", "category", "exe_names", "domains", "source", "catalog_ids", "how"])
        for t in missing:
            w.writerow(["lolrmm_only", t.name, t.category, " ".join(t.exes), " ".join(t.domains), t.source, "", ""])
        for c in ours_only:
            w.writerow(["catalog_only", c.name, c.category, " ".join(c.processes), " ".join(c.domains), c.origin,
                        c.id, ""])
        if show_matched:
            for t in matched:
                hits = matches[t.name]
                w.writerow(["matched", t.name, t.category, " ".join(t.exes), " ".join(t.domains), t.source,
                            " ".join(tid for tid, _ in hits), "; ".join(how for _, how in hits)])
        return buf.getvalue()
    parts = [f"LOLRMM tools read: {len(lol)}; catalog tools: {len(catalog)}; LOLRMM tools matched: "
             f"{len(matched)}; LOLRMM only: {len(missing)}; catalog only: {len(ours_only)}\n"]
    parts.append(_table(f"LOLRMM tools not in the catalog ({len(missing)})",
                        ["LOLRMM name", "category", "exe names", "domains", "source"],
                        [[t.name, t.category, _short(t.exes) or "-", _short(t.domains) or "-", t.source]
                         for t in missing], fmt))
    parts.append(_table(f"Catalog tools not in LOLRMM ({len(ours_only)})", ["id", "name", "category"],
                        [[c.id, c.name, c.category] for c in ours_only], fmt))
    if show_matched:
        parts.append(_table(f"Matched ({len(matched)})", ["LOLRMM name", "catalog ids", "how"],
                            [[t.name, ", ".join(tid for tid, _ in matches[t.name]),
                              "; ".join(how for _, how in matches[t.name])] for t in matched], fmt))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lolrmm", type=Path, help="LOLRMM checkout, its yaml/ folder, or rmm_tools.json")
    ap.add_argument("--catalog", type=Path, default=CATALOG, help="catalog folder (default: %(default)s)")
    ap.add_argument("--format", choices=("text", "md", "csv"), default="text")
    ap.add_argument("--matched", action="store_true", help="also list the LOLRMM tools that matched, and how")
    args = ap.parse_args(argv)
    try:
        lol = read_lolrmm(args.lolrmm)
        catalog = packs.load_catalog(args.catalog)
    except (OSError, ValueError, packs.PackError) as exc:
        print(f"catalog_compare: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render(lol, catalog, match(lol, catalog), args.format, args.matched))
    return 0


if __name__ == "__main__":
    sys.exit(main())
