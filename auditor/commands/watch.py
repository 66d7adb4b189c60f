"""`auditor watch [--path DIR]... [--events FILE.jsonl] [--webhook URL]`: alert at once when an unmasked export
appears in an export folder or a remote-control tool starts. Runs until Ctrl-C / SIGTERM (exit 0)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError


def main(args: argparse.Namespace) -> int:
    from ..engine import lower_priority
    from ..watch.alerts import check_webhook_url
    from ..watch.runner import Watch, WatchOptions

    if args.interval < 0.5 or args.interval > 600:
        raise UsageError("--interval: between 0.5 and 600 seconds")
    if args.debounce < 0.05 or args.debounce > 60:
        raise UsageError("--debounce: between 0.05 and 60 seconds")
    if args.webhook:
        check_webhook_url(args.webhook)
    from ..files.walk import resolve_root

    paths = [resolve_root(Path(p)) for p in args.path] or _default_roots()  # a user's link is not resolved
    if not paths and args.no_processes:
        raise UsageError("nothing to watch: no export folders found and --no-processes given")
    lower_priority()
    return Watch(WatchOptions(paths=paths, events=args.events, webhook=args.webhook, interval=args.interval,
                              debounce=args.debounce, processes=not args.no_processes, role=args.role,
                              allowlist=args.allowlist, console=not args.quiet)).run()


def _default_roots() -> list[Path]:
    import socket

    from ..core.context import ScanContext
    from ..files.roots import default_roots
    from ..files.walk import dedupe_roots

    return dedupe_roots([p for p, _ in default_roots(ScanContext(hostname=socket.gethostname()))])
