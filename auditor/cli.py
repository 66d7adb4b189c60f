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
from .signing import SigningKey, read_signing_key
from .terminal import echo

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
        import os

        from .safeio import kind_of

        try:
            kind = kind_of(os.stat(path).st_mode)
        except (OSError, ValueError):
            raise argparse.ArgumentTypeError(f"{value}: no such file") from None
        raise argparse.ArgumentTypeError(f"{value}: {kind}, not a regular file")
    return path


def _size(value: str) -> int:
    units = {"": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}
    text = value.strip().lower()
    num = text.rstrip("kmgb")
    try:
        return int(float(num) * units[text[len(num):]])
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"{value}: not a size like 50M or 2G") from None


def _date(value: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value}: not a date like 2026-11-30") from None


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{value}: not a positive whole number")
    return n


def _mapping(value: str) -> tuple[str, str]:
    field, sep, column = value.partition("=")
    if not sep or not field.strip() or not column.strip():
        raise argparse.ArgumentTypeError(f"{value}: expected FIELD=COLUMN")
    return field.strip(), column.strip()


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
                      help="report file, may repeat; format from the extension (.json .html .md .xlsx .csv)")
    scan.add_argument("--fail-on", choices=[*SEVERITIES, "none"], default="high",
                      help="exit 1 when a finding is at or above this severity (default: high)")
    scan.add_argument("--allowlist", type=_existing_file, metavar="FILE", help="approved remote tools (TOML)")
    scan.add_argument("--root", type=_existing_dir, metavar="DIR",
                      help="audit a mounted disk or copied system tree (file-based sources only)")
    scan.add_argument("--registry-export", action="append", type=_existing_file, default=[], metavar="FILE.reg",
                      help="read Windows registry facts from regedit exports (for --root audits)")
    scan.add_argument("--role", choices=ROLES, help="what this PC does; waybill-printing raises severities")
    scan.add_argument("--site", metavar="LABEL", help="site/warehouse label recorded in the report")
    scan.add_argument("--sign-key", type=_existing_file, metavar="FILE",
                      help="sign reports: an Ed25519 private key (auditor keygen) or an HMAC key file")
    scan.add_argument("--lang", choices=LANGS, default="zh", help="language of the summary (default: zh)")
    scan.add_argument("--quiet", "-q", action="store_true", help="no terminal summary")
    scan.add_argument("--baseline", type=_existing_file, metavar="OLD.json",
                      help="previous report: mark findings new / still open / resolved")

    files = scan.add_argument_group("files area")
    files.add_argument("--path", action="append", type=_existing_dir, default=[], metavar="DIR",
                       help="folder to search for exports, may repeat (default: the usual export folders)")
    files.add_argument("--full", action="store_true", help="ignore the incremental state; re-read every file")
    files.add_argument("--max-file-size", type=_size, metavar="SIZE", help="skip larger files (default 2G)")

    accounts = scan.add_argument_group("accounts area")
    accounts.add_argument("--roster", type=_existing_file, metavar="FILE", help="HR roster (CSV/XLSX)")
    accounts.add_argument("--subaccounts", action="append", type=_existing_file, default=[], metavar="FILE",
                          help="platform/WMS sub-account export, may repeat")
    accounts.add_argument("--logins", action="append", type=_existing_file, default=[], metavar="FILE",
                          help="login log export, may repeat")
    accounts.add_argument("--as-of", type=_date, metavar="DATE", help="audit as of this date (default: today)")
    accounts.add_argument("--stale-days", type=_positive, default=90, metavar="N",
                          help="no login for more than N days is stale (default 90)")
    accounts.add_argument("--map", action="append", type=_mapping, default=[], metavar="FIELD=COLUMN",
                          help="use COLUMN of the input files for FIELD, may repeat")
    accounts.add_argument("--account-map", type=_existing_file, metavar="FILE",
                          help="CSV/XLSX mapping accounts to employee ids")

    trail = scan.add_argument_group("export trail")
    trail.add_argument("--days", type=_positive, default=90, metavar="N",
                       help="look back N days in browser download history (default 90)")
    trail.add_argument("--home", action="append", type=_existing_dir, default=[], metavar="DIR",
                       help="audit the browser data under this user folder instead, may repeat")

    report = sub.add_parser("report", help="render a JSON report to HTML, Markdown, XLSX, CSV...")
    report.add_argument("report", type=_existing_file, metavar="REPORT.json")
    report.add_argument("--output", "-o", action="append", type=Path, default=[], required=True, metavar="FILE")
    report.add_argument("--baseline", type=_existing_file, metavar="OLD.json")
    report.add_argument("--lang", choices=LANGS, default="zh")
    report.add_argument("--sign-key", type=_existing_file, metavar="FILE",
                        help="check the input's HMAC signature and sign the re-sealed report with this key")

    verify = sub.add_parser("verify", help="check a report's or bundle's digest (and signature)")
    verify.add_argument("file", type=_existing_file, metavar="FILE")
    verify.add_argument("--pubkey", type=_existing_file, metavar="NAME.pub",
                        help="Ed25519 public key (auditor keygen): the signature must be this key's")
    verify.add_argument("--sign-key", type=_existing_file, metavar="FILE",
                        help="HMAC key file of earlier versions (or the Ed25519 private key)")

    # ----------------------------------------------------------------- issue #7: operations
    def scan_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--only", action="append", choices=list(AREAS), metavar="AREA", help="area to scan, may repeat")
        p.add_argument("--path", action="append", type=_existing_dir, default=[], metavar="DIR",
                       help="export folder to scan, may repeat")
        p.add_argument("--role", choices=ROLES)
        p.add_argument("--site", metavar="LABEL")
        p.add_argument("--sign-key", type=_existing_file, metavar="FILE")

    def scope_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--user", action="store_true", help="this user's schedule (systemd --user, crontab, S4U task)")
        p.add_argument("--system", action="store_true", help="the machine-wide schedule (needs admin/root)")

    schedule = sub.add_parser("schedule", help="scan on a timetable: install, status, remove, run-now")
    sched = schedule.add_subparsers(dest="schedule_action", parser_class=_Parser)
    install = sched.add_parser("install", help="register the scheduled scan (Task Scheduler, systemd, cron)")
    when = install.add_mutually_exclusive_group()
    when.add_argument("--daily", metavar="HH:MM", help="every day at this time (default 12:30)")
    when.add_argument("--weekly", nargs=2, metavar=("DAY", "HH:MM"), help="every week on DAY (mon..sun) at HH:MM")
    install.add_argument("--output-dir", type=Path, metavar="DIR", help="where the dated reports go")
    install.add_argument("--keep", type=_positive, default=30, metavar="N", help="keep the last N reports (default 30)")
    install.add_argument("--backend", choices=["auto", "schtasks", "systemd", "cron"], default="auto")
    install.add_argument("--print", action="store_true", help="print the task XML / units / cron entry, install nothing")
    scope_options(install)
    scan_options(install)
    scope_options(sched.add_parser("status", help="what is installed, next and last run"))
    scope_options(sched.add_parser("remove", help="unregister the scheduled scan (reports are kept)"))
    run_now = sched.add_parser("run-now", help="one scheduled run now (what the scheduler starts)")
    run_now.add_argument("--output-dir", type=Path, metavar="DIR")
    run_now.add_argument("--keep", type=_positive, default=30, metavar="N")
    scan_options(run_now)

    watch = sub.add_parser("watch", help="alert at once on new unmasked exports and newly started remote tools")
    watch.add_argument("--path", action="append", type=_existing_dir, default=[], metavar="DIR",
                       help="folder to watch, may repeat (default: the usual export folders)")
    watch.add_argument("--events", type=Path, metavar="FILE.jsonl", help="append each alert as a line of JSON")
    watch.add_argument("--webhook", metavar="URL", help="also POST each alert as JSON to this http(s) URL")
    watch.add_argument("--interval", type=float, default=2.5, metavar="SECONDS",
                       help="process poll interval (default 2.5)")
    watch.add_argument("--debounce", type=float, default=0.3, metavar="SECONDS",
                       help="a file is scanned once unchanged for this long (default 0.3)")
    watch.add_argument("--no-processes", action="store_true", help="watch files only")
    watch.add_argument("--role", choices=ROLES)
    watch.add_argument("--allowlist", type=_existing_file, metavar="FILE")
    watch.add_argument("--quiet", "-q", action="store_true", help="no alert lines on the console")

    inspect = sub.add_parser("inspect", help="inspector's spot check: quick scan + checklist into a signed bundle")
    inspect.add_argument("--output", "-o", type=Path, required=True, metavar="BUNDLE.zip")
    inspect.add_argument("--answers", type=_existing_file, metavar="FILE", help="checklist answers (TOML or JSON)")
    inspect.add_argument("--path", action="append", type=_existing_dir, default=[], metavar="DIR",
                         help="export folder to check, may repeat (default: the usual hot folders)")
    inspect.add_argument("--roster", type=_existing_file, metavar="FILE")
    inspect.add_argument("--subaccounts", action="append", type=_existing_file, default=[], metavar="FILE")
    inspect.add_argument("--logins", action="append", type=_existing_file, default=[], metavar="FILE")
    inspect.add_argument("--inspector", metavar="NAME", help="who inspects (recorded in the bundle)")
    inspect.add_argument("--role", choices=ROLES)
    inspect.add_argument("--site", metavar="LABEL")
    inspect.add_argument("--sign-key", type=_existing_file, metavar="FILE")
    inspect.add_argument("--lang", choices=LANGS, default="zh")

    remediate = sub.add_parser("remediate", help="mask exports in place (original quarantined), restore, list")
    rem = remediate.add_subparsers(dest="remediate_action", parser_class=_Parser)
    mask = rem.add_parser("mask", help="replace CSV/XLSX exports with their masked version (dry run without --apply)")
    mask.add_argument("files", nargs="*", type=Path, metavar="FILE")
    mask.add_argument("--from-report", type=_existing_file, metavar="REPORT.json",
                      help="mask the files of the report's PI-001/PI-002 findings")
    mask.add_argument("--apply", action="store_true", help="really do it (default: show what would happen)")
    restore = rem.add_parser("restore", help="put a quarantined original back, byte for byte")
    restore.add_argument("id", metavar="ID")
    restore.add_argument("--apply", action="store_true")
    rem.add_parser("list", help="quarantined originals: ID, original path, time")

    from .commands.fleet import add_parser as add_fleet_parser  # issue #8: fleet ingest|report|export
    from .commands.keygen import add_parser as add_keygen_parser  # issue #19: Ed25519 key pairs

    add_fleet_parser(sub, _Parser, _date, _positive, _existing_file)
    add_keygen_parser(sub)
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
    report = run_scan(ScanOptions(
        only=args.only or [], allowlist=args.allowlist, root=args.root, role=args.role, site=args.site,
        registry=registry, paths=args.path, full=args.full, max_file_size=args.max_file_size, roster=args.roster,
        subaccounts=args.subaccounts, logins=args.logins, as_of=args.as_of, stale_days=args.stale_days,
        column_map=dict(args.map), account_map=args.account_map, days=args.days, homes=args.home,
        progress=not args.quiet and sys.stderr.isatty()))
    from .compliance import finish_report

    finish_report(report, baseline=args.baseline)
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
            echo(f"{t(args.lang, 'written')}: {out}")
    failing = args.fail_on != "none" and any(at_least(f["severity"], args.fail_on) for f in report["findings"])
    return EXIT_FINDINGS if failing else EXIT_OK


def _optional(module: str, name: str):
    """A function of an optional command module; None when this build does not include it."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def _dispatch(module: str, args: argparse.Namespace) -> int:
    func = _optional(module, "main")
    if func is None:
        raise UsageError(f"'{args.command}' is not available in this version")
    return func(args)


def _read_key(path: Path) -> SigningKey:
    """The --sign-key file's key: an Ed25519 private key or an HMAC secret (the rule: auditor.signing)."""
    return read_signing_key(path)


def _output_never_fails() -> None:
    """Redirected output on Windows (a pipe, a file, Task Scheduler) is encoded with the ANSI code page, cp1252 on
    an English PC: Chinese text must not turn a finished scan into an internal error. Consoles are not affected
    (UTF-16), nor is a Chinese PC (cp936)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            encoding = (stream.encoding or "").lower().replace("-", "").replace("_", "")
            if encoding not in ("utf8", "utf8sig", "utf16", "utf32", "gb18030"):
                stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass


def main(argv: list[str] | None = None) -> int:
    _output_never_fails()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        if args.command == "scan":
            return cmd_scan(args)
        return _dispatch(f"auditor.commands.{args.command}", args)
    except UsageError as exc:  # messages carry paths and values of the command line: shown, never obeyed
        echo(f"auditor: {exc}" if not str(exc).startswith("auditor") else str(exc), err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        echo("auditor: interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: a message, not a traceback
        echo(f"auditor: internal error: {type(exc).__name__}: {exc} (please report this)", err=True)
        return EXIT_INTERNAL
