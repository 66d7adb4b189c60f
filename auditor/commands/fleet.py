"""`auditor fleet ingest|report|export`: the reports of many PCs in one store, one fleet report, SIEM export.

ingest PATH... [--db FILE] [--sign-key FILE]
    load JSON reports (files, or folders searched recursively for *.json); exit 0 when every file was loaded or
    was already in the store, 1 when a file was rejected (each one is listed with its reason), 2 on usage errors.
report -o FILE.html|.xlsx|.md [--since DATE] [--as-of DATE] [--silent-days N] [--lang zh|en] [--db FILE]
    the fleet report; exit 0.
export --format ecs|ocsf [-o FILE.ndjson] [--push URL] [--namespace NS] [--install-template] [--ca-cert FILE] ...
    one document per finding: ECS as a `_bulk` body (`create` actions on the data stream
    logs-yuncang.findings-<namespace>), OCSF 1.3.0 one event per line; with --push, POSTed with bounded retries
    (`create` actions; no redirect followed; no credentials over plain http to another machine unless
    --allow-http-credentials; --ca-cert trusts a private CA). Exit 0 when every document was written (and
    accepted, or there already), 1 when the server refused documents or the push failed. A stored document that
    is not a valid finding is skipped and counted, never a reason to stop.
export --template [elasticsearch|opensearch]
    print the component templates and the composable index template for the ECS data stream (JSON); exit 0.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Iterator

from .. import boundedjson, safeio
from ..core.options import date, existing_file, positive
from ..errors import UsageError
from ..fleet import DEFAULT_SILENT_DAYS
from ..fleet.ingest import ingest as run_ingest
from ..fleet.push import (Connection, PushError, bulk_url, check_api_key, check_credentials, install_templates, push,
                          tls_context)
from ..fleet.siem import store_lines, write_stream
from ..fleet.store import Store
from ..fleet.texts import shown, t
from ..i18n import LANGS
from ..messages import Text, Worded, os_error
from ..siem import ecs, template
from ..siem.ndjson import FORMATS, create_action, default_target, file_chunks
from ..signing import read_verify_key
from ..terminal import echo
from .options import add_sign_key


def run(args: argparse.Namespace) -> int:
    sub = getattr(args, "fleet_command", None)
    if sub == "ingest":
        return ingest(args)
    if sub == "report":
        return report(args)
    if sub == "export":
        return export(args)
    raise UsageError("usage.fleet.choose_action")


def ingest(args: argparse.Namespace) -> int:
    key = read_verify_key(args.pubkey, args.sign_key)
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
    from ..fleet.tables import build  # deferred: pandas costs half a second at every start of every command
    return build(store, as_of=args.as_of, since=args.since, silent_days=args.silent_days)


def report(args: argparse.Namespace) -> int:
    from ..fleet import render  # deferred: the fleet tables bring pandas (see _tables)
    for out in args.output:
        render.renderer_for(out)  # unknown formats fail before anything is read
    with Store.open(args.db) as store:
        tables = _tables(args, store)
    for out in args.output:
        try:
            render.write(tables, out, args.lang)
        except OSError as exc:
            raise UsageError("usage.cannot_write_output", path=out, why=os_error(exc)) from None
        if not args.quiet:
            echo(f"{t(args.lang, 'written')}: {out}")
    return 0


def export(args: argparse.Namespace) -> int:
    if args.template:
        if args.output or args.push or args.format:
            raise UsageError("usage.fleet.template_alone")
        print(json.dumps(template.load(args.template), ensure_ascii=False, indent=2))
        return 0
    if not args.format:
        raise UsageError("usage.fleet.export_needs_format")
    if not args.output and not args.push:
        raise UsageError("usage.fleet.export_needs_target")
    try:
        ecs.check_namespace(args.namespace)
    except ValueError as exc:
        raise UsageError("usage.fleet.bad_namespace", exc=exc) from None
    if args.install_template and (not args.push or args.format != "ecs"):
        raise UsageError("usage.fleet.install_template_needs")
    conn = _connection(args)
    if args.push:
        try:
            bulk_url(args.push)
            check_credentials(args.push, bool(conn.api_key), args.allow_http_credentials)
        except ValueError as exc:
            raise UsageError("usage.fleet.bad_push", exc=exc) from None
    target = args.index or default_target(args.format, args.namespace)
    skipped: list[str] = []
    with Store.open(args.db) as store:
        silent = [] if args.no_silent else _tables(args, store).silent_findings

        def lines():
            skipped.clear()  # counted afresh by each pass over the store
            return store_lines(store, args.format, since=args.since, as_of=args.as_of, latest_only=args.latest,
                               silent=silent, skipped=skipped, namespace=args.namespace)

        if args.output:
            count = 0

            def chunks():
                nonlocal count
                for chunk in file_chunks(args.format, lines(), target):
                    count += 1
                    yield chunk

            try:
                write_stream(args.output, chunks())
            except OSError as exc:
                raise UsageError("usage.cannot_write_output", path=args.output, why=os_error(exc)) from None
            if not args.quiet:
                echo(f"{t(args.lang, 'written')}: {args.output} "
                     f"({t(args.lang, 'export.summary', docs=count, fmt=args.format)}"
                     + (f"; {t(args.lang, 'export.skipped', n=len(skipped))}" if skipped else "") + ")")
            _note_skipped(args, skipped)
        if not args.push:
            return 0
        pairs = (_pairs_from_file(args.output, args.format, target) if args.output else
                 ((create_action(target, id_), doc) for id_, doc in lines()))
        try:
            installed = (install_templates(args.push, template.requests(args.install_template), conn)
                         if args.install_template else [])
            res = push(args.push, pairs, retries=args.retries, max_docs=args.batch, conn=conn)
        except PushError as exc:
            echo(f"auditor fleet export: {t(args.lang, 'push.failed')}: {exc}", err=True)
            return 1
        if not args.output:
            _note_skipped(args, skipped)
    if not args.quiet:
        if installed:
            echo(f"{t(args.lang, 'push.templates')}: {', '.join(installed)}")
        echo(t(args.lang, "push.ok", ok=res.sent, url=res.url)
             + Text("fleet.push.batches", batches=res.batches, retries=res.retries).text(args.lang)
             + (f"; {t(args.lang, 'push.existing', n=res.existing)}" if res.existing else "")
             + (f"; {t(args.lang, 'export.skipped', n=len(skipped))}" if skipped and not args.output else ""))
    if res.failed:
        echo("auditor fleet export: " + Text("fleet.push.refused", count=len(res.failed)).text(args.lang), err=True)
        for doc_id, status, reason in res.failed[:50]:
            echo(f"  {doc_id}: HTTP {status}: {reason}", err=True)  # the server's words: shown, never obeyed
        return 1
    return 0


def _connection(args: argparse.Namespace) -> Connection:
    """Timeout, API key (--api-key-file) and private CA (--ca-cert) of --push, read and checked up front."""
    api_key = ca_cert = None
    if args.api_key_file:
        api_key = _read_small(args.api_key_file, "--api-key-file").strip()
        try:
            check_api_key(api_key)
        except ValueError as exc:
            raise UsageError("usage.fleet.bad_api_key_file", path=args.api_key_file, exc=exc) from None
    if args.ca_cert:
        ca_cert = _read_small(args.ca_cert, "--ca-cert")
        try:
            tls_context(ca_cert)
        except ValueError as exc:
            raise UsageError("usage.fleet.bad_ca_cert", path=args.ca_cert, exc=exc) from None
    return Connection(timeout=args.timeout, api_key=api_key, ca_cert=ca_cert)


def _read_small(path: Path, option: str) -> str:
    """A small text input named on the command line (auditor.safeio: no FIFO, device or user's link)."""
    try:
        return safeio.read_text(path, max_size=1 << 20)
    except OSError as exc:
        raise UsageError("usage.cannot_read_what", what=option, path=path, why=Worded(safeio.reason_of(exc))) from None
    except ValueError:
        raise UsageError("usage.not_utf8_what", what=option, path=path) from None


def _note_skipped(args: argparse.Namespace, skipped: list[str]) -> None:
    """Skipped stored documents: the count (and the first ids) on stderr, whatever --quiet says."""
    if skipped:
        echo(f"auditor fleet export: {t(args.lang, 'export.skipped', n=len(skipped))}: "
             f"{', '.join(skipped[:10])}{' …' if len(skipped) > 10 else ''}", err=True)  # ids from the store


def _pairs_from_file(path: Path, fmt: str, target: str) -> Iterator[tuple[bytes, bytes]]:
    """The (action, document) pairs of the file just written: ECS holds them as they are sent; an OCSF event gets
    its create action (its metadata.uid is the _id)."""
    with safeio.open_regular(path) as fh:
        while True:
            first = fh.readline()
            if not first:
                return
            if fmt == "ecs":
                yield first, fh.readline()
            else:
                uid = boundedjson.loads(first)["metadata"]["uid"]
                yield create_action(target, uid), first


def positive_float(value: str) -> float:
    """Seconds: a finite number above 0 (at most an hour)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(Text("arg.not_seconds", value=value)) from None
    if not math.isfinite(seconds) or not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError(Text("arg.seconds_range", value=value))
    return seconds


def add_parser(sub: argparse._SubParsersAction) -> None:
    fleet = sub.add_parser("fleet", help="many PCs: load their reports, fleet report, SIEM export")
    fleet.set_defaults(run=run)
    fsub = fleet.add_subparsers(dest="fleet_command", parser_class=type(fleet), metavar="ingest|report|export")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", type=Path, metavar="FILE",
                       help="fleet store (SQLite; default: fleet.sqlite in the agent's data folder: "
                            "/var/lib/yuncang-auditor as root, the user's data folder otherwise)")
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
    ing.add_argument("--pubkey", type=existing_file, metavar="NAME.pub",
                     help="Ed25519 public key: also verify signatures (unsigned or wrongly signed reports are "
                          "rejected)")
    add_sign_key(ing, "HMAC key file of earlier versions: also verify signatures")
    common(ing)

    rep = fsub.add_parser("report", help="fleet report: per site and PC, trends, tools, silent PCs")
    rep.add_argument("--output", "-o", action="append", type=Path, default=[], required=True, metavar="FILE",
                     help="report file, may repeat: .html .xlsx .md")
    window(rep)
    common(rep)

    exp = fsub.add_parser("export", help="findings as ECS or OCSF documents (NDJSON) for a SIEM")
    exp.add_argument("--format", choices=FORMATS, help="document schema (required unless --template)")
    exp.add_argument("--output", "-o", type=Path, metavar="FILE.ndjson",
                     help="write the NDJSON here (ECS: a _bulk body; OCSF: one event per line)")
    exp.add_argument("--template", nargs="?", const="elasticsearch", choices=template.FLAVOURS,
                     help="print the index templates for the ECS data stream and exit (default: elasticsearch)")
    exp.add_argument("--namespace", default=ecs.DEFAULT_NAMESPACE, metavar="NS",
                     help="data stream namespace: logs-yuncang.findings-NS (default: default)")
    exp.add_argument("--index", metavar="NAME", help="data stream or index to create the documents in (default "
                                                     "logs-yuncang.findings-NS / yuncang-auditor-ocsf)")
    exp.add_argument("--install-template", nargs="?", const="elasticsearch", choices=template.FLAVOURS,
                     help="with --push --format ecs: install the index templates first (needs the "
                          "manage_index_templates privilege)")
    exp.add_argument("--ca-cert", type=existing_file, metavar="FILE",
                     help="PEM certificate(s) of a private CA to trust for --push https (instead of the system's)")
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
