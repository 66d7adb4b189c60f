"""`auditor scan`: audit this PC (or an offline tree) and write reports. Exit 0 when no finding is at or above
--fail-on, 1 when one is."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.options import existing_file
from ..core.severity import NAMES, at_least
from ..i18n import t
from ..scan import pipeline
from ..terminal import echo
from .options import add_lang, add_scan_options, add_sign_key, scan_options_from, sign_key


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="audit this PC (or an offline tree) and write reports")
    p.add_argument("--output", "-o", action="append", type=Path, default=[], metavar="FILE",
                   help="report file, may repeat; format from the extension (.json .html .md .xlsx .csv)")
    p.add_argument("--fail-on", choices=[*NAMES, "none"], default="high",
                   help="exit 1 when a finding is at or above this severity (default: high)")
    add_sign_key(p)
    add_lang(p, "language of the summary (default: zh)")
    p.add_argument("--quiet", "-q", action="store_true", help="no terminal summary")
    p.add_argument("--baseline", type=existing_file, metavar="OLD.json",
                   help="previous report: mark findings new / still open / resolved")
    add_scan_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    pipeline.check_outputs(args.output)
    key = sign_key(args)
    opts = scan_options_from(args, progress=not args.quiet and sys.stderr.isatty())
    pipeline.lower_priority()
    report = pipeline.run(opts)
    pipeline.finish(report, baseline=args.baseline, scanned=True)
    pipeline.seal(report, key)
    pipeline.write(report, args.output, args.lang)
    pipeline.record(report, args.output)
    if not args.quiet:
        from ..summary import print_summary  # deferred: rich (some 40 modules) only when a summary is printed

        print_summary(report, args.lang)
        for out in args.output:
            echo(f"{t(args.lang, 'written')}: {out}")
    failing = args.fail_on != "none" and any(at_least(f["severity"], args.fail_on) for f in report["findings"])
    return 1 if failing else 0
