"""`auditor watch [--path DIR]... [--events FILE.jsonl] [--webhook URL]`: alert at once when an unmasked export
appears in an export folder or a remote-control tool starts. Runs until Ctrl-C / SIGTERM (exit 0)."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from ..core.context import ScanContext
from ..core.options import folder_state
from ..errors import UsageError
from ..files.roots import default_folders
from ..files.walk import resolve_root
from ..i18n import t
from ..scan.pipeline import lower_priority
from ..terminal import echo
from ..watch.alerts import check_webhook_url
from ..watch.runner import Watch, WatchOptions
from .options import add_lang, add_scan_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="alert at once on new unmasked exports and newly started remote tools")
    p.add_argument("--events", type=Path, metavar="FILE.jsonl", help="append each alert as a line of JSON")
    p.add_argument("--webhook", metavar="URL", help="also POST each alert as JSON to this http(s) URL")
    p.add_argument("--interval", type=float, default=2.5, metavar="SECONDS", help="process poll interval (default 2.5)")
    p.add_argument("--debounce", type=float, default=0.3, metavar="SECONDS",
                   help="a file is scanned once unchanged for this long (default 0.3)")
    p.add_argument("--no-processes", action="store_true", help="watch files only")
    p.add_argument("--quiet", "-q", action="store_true", help="no alert lines on the console")
    # --path as the scan declares it, except that a folder not there yet is watched for (a warning, not an error)
    p.add_argument("--path", dest="paths", action="append", default=[], type=Path, metavar="DIR",
                   help="export folder, may repeat (default: the usual export folders); one that is not there "
                        "yet is watched for until it appears")
    add_scan_options(p, only=("role", "allowlist"))
    add_lang(p, "language of the terminal lines (default: zh); events are JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.interval < 0.5 or args.interval > 600:
        raise UsageError("usage.watch.bad_interval")
    if args.debounce < 0.05 or args.debounce > 60:
        raise UsageError("usage.watch.bad_debounce")
    if args.webhook:
        check_webhook_url(args.webhook)
    given = [Path(p) for p in args.paths]
    absent = [(p, folder_state(p)) for p in given if folder_state(p) != "ok"]
    if given and len(absent) == len(given):
        raise UsageError(t(args.lang, "watch.none_there", paths=t(args.lang, "sep.items").join(
            f"{p}{t(args.lang, 'sep.pair')}{t(args.lang, 'watch.' + state)}" for p, state in absent)))
    for p, state in absent:  # watched for all the same: a path_lost event now, path_restored when it appears
        echo(t(args.lang, "watch.absent", path=p, why=t(args.lang, f"watch.{state}")), err=True)
    # the files area chooses the folders; a user's link given with --path is not resolved
    paths = [resolve_root(p) for p in given] or default_folders(ScanContext(hostname=socket.gethostname()))
    if not paths and args.no_processes:
        raise UsageError("usage.watch.nothing")
    lower_priority()
    return Watch(WatchOptions(paths=paths, events=args.events, webhook=args.webhook, interval=args.interval,
                              debounce=args.debounce, processes=not args.no_processes, role=args.role,
                              allowlist=args.allowlist, console=not args.quiet, lang=args.lang)).run()
