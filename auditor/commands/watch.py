"""`auditor watch [--path DIR]... [--events FILE.jsonl] [--webhook URL]`: alert at once when an unmasked export
appears in an export folder or a remote-control tool starts. Runs until Ctrl-C / SIGTERM (exit 0)."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from ..core.context import ScanContext
from ..errors import UsageError
from ..files.roots import default_folders
from ..files.walk import resolve_root
from ..scan.pipeline import lower_priority
from ..watch.alerts import check_webhook_url
from ..watch.runner import Watch, WatchOptions
from .options import add_scan_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="alert at once on new unmasked exports and newly started remote tools")
    p.add_argument("--events", type=Path, metavar="FILE.jsonl", help="append each alert as a line of JSON")
    p.add_argument("--webhook", metavar="URL", help="also POST each alert as JSON to this http(s) URL")
    p.add_argument("--interval", type=float, default=2.5, metavar="SECONDS", help="process poll interval (default 2.5)")
    p.add_argument("--debounce", type=float, default=0.3, metavar="SECONDS",
                   help="a file is scanned once unchanged for this long (default 0.3)")
    p.add_argument("--no-processes", action="store_true", help="watch files only")
    p.add_argument("--quiet", "-q", action="store_true", help="no alert lines on the console")
    add_scan_options(p, only=("paths", "role", "allowlist"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.interval < 0.5 or args.interval > 600:
        raise UsageError("--interval: between 0.5 and 600 seconds")
    if args.debounce < 0.05 or args.debounce > 60:
        raise UsageError("--debounce: between 0.05 and 60 seconds")
    if args.webhook:
        check_webhook_url(args.webhook)
    # the files area chooses the folders; a user's link given with --path is not resolved
    paths = [resolve_root(Path(p)) for p in args.paths] or default_folders(ScanContext(hostname=socket.gethostname()))
    if not paths and args.no_processes:
        raise UsageError("nothing to watch: no export folders found and --no-processes given")
    lower_priority()
    return Watch(WatchOptions(paths=paths, events=args.events, webhook=args.webhook, interval=args.interval,
                              debounce=args.debounce, processes=not args.no_processes, role=args.role,
                              allowlist=args.allowlist, console=not args.quiet)).run()
