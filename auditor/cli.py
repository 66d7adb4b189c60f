"""Command line: `auditor scan ...`. Exit codes: 0 clean, 1 findings at/above --fail-on, 2 usage or
configuration error, 3 internal error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import UsageError
from .i18n import LANGS, t
from .severity import SEVERITIES, at_least

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, exit 2, no usage dump
        raise UsageError(f"{self.prog}: {message}")


def _existing_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: not a directory")
    return path


def _existing_file(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value}: no such file")
    return path


def build_parser() -> argparse.ArgumentParser:
    from .areas import AREAS
    from .context import ROLES

    parser = _Parser(prog="auditor", description="Personal-information leak auditor for cloud-warehouse office PCs "
                                                 "(云仓个人信息泄露隐患检查).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    scan = sub.add_parser("scan", help="audit this PC (or an offline tree) and write reports")
    scan.add_argument("--only", action="append", choices=list(AREAS), metavar="AREA",
                      help=f"area to run, may repeat ({'|'.join(AREAS)}); default: every area that needs no input")
    scan.add_argument("--output", "-o", action="append", type=Path, default=[], metavar="FILE",
                      help="report file, may repeat; format from the extension (.json)")
    scan.add_argument("--fail-on", choices=[*SEVERITIES, "none"], default="high",
                      help="exit 1 when a finding is at or above this severity (default: high)")
    scan.add_argument("--allowlist", type=_existing_file, metavar="FILE", help="approved remote tools (TOML)")
    scan.add_argument("--root", type=_existing_dir, metavar="DIR",
                      help="audit a mounted disk or copied system tree (file-based sources only)")
    scan.add_argument("--registry-export", action="append", type=_existing_file, default=[], metavar="FILE.reg",
                      help="read Windows registry facts from regedit exports (for --root audits)")
    scan.add_argument("--role", choices=ROLES, help="what this PC does; waybill-printing raises severities")
    scan.add_argument("--site", metavar="LABEL", help="site/warehouse label recorded in the report")
    scan.add_argument("--sign-key", type=_existing_file, metavar="FILE", help="HMAC key file to sign reports with")
    scan.add_argument("--lang", choices=LANGS, default="zh", help="language of the summary (default: zh)")
    scan.add_argument("--quiet", "-q", action="store_true", help="no terminal summary")
    return parser


def cmd_scan(args: argparse.Namespace) -> int:
    from . import render
    from .engine import ScanOptions, lower_priority, run_scan
    from .integrity import seal

    for out in args.output:
        render.renderer_for(out)  # unknown formats fail before the scan, not after it
    registry = None
    if args.registry_export:
        from .adapters.regfile import RegFile

        registry = RegFile.from_files(args.registry_export)
    key = _read_key(args.sign_key) if args.sign_key else None
    lower_priority()
    report = run_scan(ScanOptions(only=args.only or [], allowlist=args.allowlist, root=args.root, role=args.role,
                                  site=args.site, registry=registry))
    seal(report, key)
    for out in args.output:
        try:
            render.write(report, out, args.lang)
        except OSError as exc:
            raise UsageError(f"--output {out}: cannot write ({exc.strerror or exc})") from None
    if not args.quiet:
        from .summary import print_summary

        print_summary(report, args.lang)
        for out in args.output:
            print(f"{t(args.lang, 'written')}: {out}")
    failing = args.fail_on != "none" and any(at_least(f["severity"], args.fail_on) for f in report["findings"])
    return EXIT_FINDINGS if failing else EXIT_OK


def _read_key(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise UsageError(f"--sign-key {path}: cannot read ({exc.strerror or exc})") from None
    if len(key) < 16:
        raise UsageError(f"--sign-key {path}: key too short (at least 16 bytes)")
    return key


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return {"scan": cmd_scan}[args.command](args)
    except UsageError as exc:
        print(f"auditor: {exc}" if not str(exc).startswith("auditor") else str(exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("auditor: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: a message, not a traceback
        print(f"auditor: internal error: {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return EXIT_INTERNAL
