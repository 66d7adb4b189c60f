"""Command line: the parser assembled from the command modules (each declares its own arguments), the dispatch,
and the one place errors are printed. Exit codes: 0 clean, 1 findings at/above --fail-on (or what the command
documents), 2 usage or configuration error, 3 internal error."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .commands import fleet, inspect, keygen, remediate, report, scan, schedule, verify, watch
from .commands.options import Parser
from .errors import UsageError
from .terminal import echo

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
COMMANDS = (scan, report, verify, schedule, watch, inspect, remediate, fleet, keygen)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="auditor", description="Personal-information leak auditor for cloud-warehouse office PCs "
                                                "(云仓个人信息泄露隐患检查).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


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
        return args.run(args)
    except UsageError as exc:  # messages carry paths and values of the command line: shown, never obeyed
        echo(f"auditor: {exc}" if not str(exc).startswith("auditor") else str(exc), err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        echo("auditor: interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: a message, not a traceback
        echo(f"auditor: internal error: {type(exc).__name__}: {exc} (please report this)", err=True)
        return EXIT_INTERNAL
