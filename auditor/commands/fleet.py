"""`auditor fleet ingest|report|export`: the reports of many PCs in one store, one fleet report, SIEM export.

ingest PATH... [--db FILE] [--sign-key FILE]
    load JSON reports (files, or folders searched recursively for *.json); exit 0 when every file was loaded or
    was already in the store, 1 when a file was rejected (each one is listed with its reason), 2 on usage errors.
report -o FILE.html|.xlsx|.md [--since DATE] [--as-of DATE] [--silent-days N] [--lang zh|en] [--db FILE]
    the fleet report; exit 0.
export --format ecs|ocsf [-o FILE.ndjson] [--push URL] [--db FILE] ...
    one document per finding in the `_bulk` NDJSON format; with --push, POSTed with bounded retries (no
    redirect followed; no credentials over plain http to another machine unless --allow-http-credentials).
    Exit 0 when every document was written (and accepted), 1 when the server refused documents or the push
    failed. A stored document that is not a valid finding is skipped and counted, never a reason to stop.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .. import safeio
from ..core.options import date, existing_file, positive
from ..errors import UsageError
from ..fleet import DEFAULT_SILENT_DAYS, render, siem
from ..fleet.ingest import ingest as run_ingest
from ..fleet.push import PushError, bulk_url, check_api_key, check_credentials, push
from ..fleet.store import Store
from ..fleet.tables import build
from ..fleet.texts import shown, t
from ..i18n import LANGS
from ..terminal import echo
from .options import add_sign_key, sign_key


def run(args: argparse.Namespace) -> int:
    sub = getattr(args, "fleet_command", None)
    if sub == "ingest":
        return ingest(args)
    if sub == "report":
        return report(args)
    if sub == "export":
        return export(args)
    raise UsageError("auditor fleet: choose one of: ingest, report, export")


def ingest(args: argparse.Namespace) -> int:
    key = sign_key(args)
    lang = args.lang
    def progress(n: int, total: int) -> None:
        if n % 200 == 0 or n == total:
            print(f"\r{n}/{total}", end="" if n < total else "\n", file=sys.stderr, flush=True)

    with Store.open(args.db, create=True) as store:
        res = run_ingest(store, args.paths, key, progress if not args.quiet and sys.stderr.isatty() else None)
    if not args.quiet:
        print(t(lang, "ingest.summary", files=res.files, loaded=res.loaded, known=res.known,
                rejected=len(res.rejected)))
        echo(f"{t(lang, 'ingest.store')}: {res.store}")
    if res.rejected:
        print(t(lang, "ingest.rejected"), file=sys.stderr)
        for source, reason in res.rejected:
            echo(f"  {shown(source)}: {shown(reason)}", err=True)  # names from the share: shown, never obeyed
    return 1 if res.rejected else 0


def _tables(args: argparse.Namespace, store):
    return build(store, as_of=args.as_of, since=args.since, silent_days=args.silent_days)


def report(args: argparse.Namespace) -> int:
    for out in args.output:
        render.renderer_for(out)  # unknown formats fail before anything is read
    with Store.open(args.db) as store:
        tables = _tables(args, store)
    for out in args.output:
        try:
            render.write(tables, out, args.lang)
        except OSError as exc:
            raise UsageError(f"--output {out}: cannot write ({exc.strerror or exc})") from None
        if not args.quiet:
            echo(f"{t(args.lang, 'written')}: {out}")
    return 0


def export(args: argparse.Namespace) -> int:
    if not args.output and not args.push:
        raise UsageError("auditor fleet export: give -o FILE.ndjson, --push URL, or both")
    api_key = None
    if args.api_key_file:
        try:
            api_key = safeio.read_text(args.api_key_file, max_size=64 << 10).strip()
            check_api_key(api_key)
        except OSError as exc:
            raise UsageError(f"--api-key-file {args.api_key_file}: cannot read ({safeio.reason_of(exc)})") from None
        except ValueError as exc:
            raise UsageError(f"--api-key-file {args.api_key_file}: {exc}") from None
    if args.push:
        try:
            bulk_url(args.push)
            check_credentials(args.push, bool(api_key), args.allow_http_credentials)
        except ValueError as exc:
            raise UsageError(f"--push {exc}") from None
    skipped: list[str] = []
    with Store.open(args.db) as store:
        silent = [] if args.no_silent else _tables(args, store).silent_findings

        def pairs():
            skipped.clear()  # counted afresh by each pass over the store
            return siem.store_pairs(store, args.format, args.index, since=args.since, as_of=args.as_of,
                                    latest_only=args.latest, silent=silent, skipped=skipped)

        if args.output:
            count = 0

            def chunks():
                nonlocal count
                for action, doc in pairs():
                    count += 1
                    yield action + doc

            try:
                siem.write_stream(args.output, chunks())
            except OSError as exc:
                raise UsageError(f"--output {args.output}: cannot write ({exc.strerror or exc})") from None
            if not args.quiet:
                echo(f"{t(args.lang, 'written')}: {args.output} "
                     f"({t(args.lang, 'export.summary', docs=count, fmt=args.format)}"
                     + (f"; {t(args.lang, 'export.skipped', n=len(skipped))}" if skipped else "") + ")")
            _note_skipped(args, skipped)
        if not args.push:
            return 0
        try:
            res = push(args.push, _pairs_from_file(args.output) if args.output else pairs(), retries=args.retries,
                       max_docs=args.batch, timeout=args.timeout, api_key=api_key)
        except PushError as exc:
            echo(f"auditor fleet export: {t(args.lang, 'push.failed')}: {exc}", err=True)
            return 1
        if not args.output:
            _note_skipped(args, skipped)
    if not args.quiet:
        echo(t(args.lang, "push.ok", ok=res.sent, url=res.url) + f" ({res.batches} batches, {res.retries} retries)"
             + (f"; {t(args.lang, 'export.skipped', n=len(skipped))}" if skipped and not args.output else ""))
    if res.failed:
        print(f"auditor fleet export: {len(res.failed)} documents refused by the server:", file=sys.stderr)
        for doc_id, status, reason in res.failed[:50]:
            echo(f"  {doc_id}: HTTP {status}: {reason}", err=True)  # the server's words: shown, never obeyed
        return 1
    return 0


def _note_skipped(args: argparse.Namespace, skipped: list[str]) -> None:
    """Skipped stored documents: the count (and the first ids) on stderr, whatever --quiet says."""
    if skipped:
        print(f"auditor fleet export: {t(args.lang, 'export.skipped', n=len(skipped))}: "
              f"{', '.join(skipped[:10])}{' …' if len(skipped) > 10 else ''}", file=sys.stderr)


def _pairs_from_file(path: Path):
    with open(path, "rb") as fh:
        while True:
            action = fh.readline()
            if not action:
                return
            doc = fh.readline()
            yield action, doc


def positive_float(value: str) -> float:
    """Seconds: a finite number above 0 (at most an hour)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not math.isfinite(seconds) or not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError(f"seconds must be above 0 and at most 3600, not {value!r}")
    return seconds


def add_parser(sub: argparse._SubParsersAction) -> None:
    fleet = sub.add_parser("fleet", help="many PCs: load their reports, fleet report, SIEM export")
    fleet.set_defaults(run=run)
    fsub = fleet.add_subparsers(dest="fleet_command", parser_class=type(fleet), metavar="ingest|report|export")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", type=Path, metavar="FILE",
                       help="fleet store (SQLite; default: fleet.sqlite in the user's data directory)")
        p.add_argument("--lang", choices=LANGS, default="zh", help="language (default: zh)")
        p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")

    def window(p: argparse.ArgumentParser) -> None:
        p.add_argument("--since", type=date, metavar="DATE", help="only reports from this date on")
        p.add_argument("--as-of", type=date, metavar="DATE",
                       help="judge silence as of this date and leave out later reports (default: today)")
        p.add_argument("--silent-days", type=positive, default=DEFAULT_SILENT_DAYS, metavar="N",
                       help=f"a PC with no report for more than N days is silent (default {DEFAULT_SILENT_DAYS})")

    ing = fsub.add_parser("ingest", help="load JSON reports (files or folders) into the fleet store")
    ing.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="report file or folder (searched for *.json)")
    add_sign_key(ing, "HMAC key file: also verify signatures (unsigned or wrongly signed reports are rejected)")
    common(ing)

    rep = fsub.add_parser("report", help="fleet report: per site and PC, trends, tools, silent PCs")
    rep.add_argument("--output", "-o", action="append", type=Path, default=[], required=True, metavar="FILE",
                     help="report file, may repeat: .html .xlsx .md")
    window(rep)
    common(rep)

    exp = fsub.add_parser("export", help="findings as ECS or OCSF documents (bulk NDJSON) for a SIEM")
    exp.add_argument("--format", choices=("ecs", "ocsf"), required=True, help="document schema")
    exp.add_argument("--output", "-o", type=Path, metavar="FILE.ndjson", help="write the bulk NDJSON here")
    exp.add_argument("--index", metavar="NAME", help="index name in the bulk action lines "
                                                     "(default yuncang-auditor-findings / yuncang-auditor-ocsf)")
    exp.add_argument("--latest", action="store_true", help="only each PC's latest report")
    exp.add_argument("--no-silent", action="store_true", help="leave out the silent-PC findings (FL-001)")
    exp.add_argument("--push", metavar="URL", help="also POST to this Elasticsearch/OpenSearch URL (…/_bulk)")
    exp.add_argument("--api-key-file", type=existing_file, metavar="FILE", help="API key for --push (ApiKey header)")
    exp.add_argument("--allow-http-credentials", action="store_true",
                     help="send --push credentials over plain http to another machine (refused by default; "
                          "loopback is always allowed)")
    exp.add_argument("--retries", type=int, default=3, metavar="N", help="retries per batch (default 3)")
    exp.add_argument("--batch", type=positive, default=500, metavar="N", help="documents per request (500)")
    exp.add_argument("--timeout", type=positive_float, default=30.0, metavar="S",
                     help="seconds per request in all: connecting, sending, the whole answer (30)")
    window(exp)
    common(exp)
