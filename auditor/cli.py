"""Command line: the parser assembled from the command modules (each declares its own arguments), the dispatch,
and the one place errors are printed. Exit codes: 0 clean, 1 findings at/above --fail-on (or what the command
documents), 2 usage or configuration error, 3 internal error."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from . import __version__, agentlog
from .commands.parser import Parser
from .errors import UsageError
from .leakguard import mask_pi
from .messages import DEFAULT_LANG, LANGS, Text
from .pii.rules import load_rules
from .terminal import echo

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
COMMANDS = ("scan", "report", "verify", "schedule", "watch", "inspect", "remediate", "fleet", "keygen")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; given the command line ``argv``, only of the commands it can need."""
    parser = Parser(prog="auditor", description="Personal-information leak auditor for cloud-warehouse office PCs "
                                                "(云仓个人信息泄露隐患检查).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    for name in COMMANDS if argv is None else needed_commands(argv):
        # by name, on demand: a start imports the modules of the command it runs, not those of the other eight
        importlib.import_module(f"{__package__}.commands.{name}").add_parser(sub)
    _debug_everywhere(parser)
    return parser


def needed_commands(argv: list[str]) -> tuple[str, ...]:
    """The commands whose parsers ``argv`` needs: the one it names (its first word that is not an option) when
    only ``--debug`` comes before it; none for a bare ``--version``; all of them for the help, an unknown command
    or anything else."""
    for i, arg in enumerate(argv):
        if not arg.startswith("-"):
            return (arg,) if arg in COMMANDS and set(argv[:i]) <= {"--debug"} else COMMANDS
    return () if argv and set(argv) <= {"--version", "--debug"} and "--version" in argv else COMMANDS


DEBUG_HELP = "on an internal error (exit 3), print its traceback (personal data masked)"


def _debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` is global: accepted before the command and after any (sub)command's name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                child.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
                _debug_everywhere(child)


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
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv[:argv.index("--")] if "--" in argv else "--debug" in argv
    lang = lang_of(argv)
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        lang = getattr(args, "lang", lang)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        agentlog.start(agentlog.command_line(argv))
        load_rules()  # the leak guard's rules: a site's broken pii.toml is exit 2 for every command, named
        return args.run(args)
    except UsageError as exc:  # messages carry paths and values of the command line: shown, never obeyed
        said = exc.text(lang)
        echo(said if str(exc).startswith("auditor") else f"auditor: {said}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        echo(f"auditor: {Text('cli.interrupted').text(lang)}", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: a message (the traceback with --debug and in the log)
        agentlog.internal_error(exc)
        if debug:
            echo(mask_pi("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()), err=True)
        where = agentlog.log_file()
        said = Text("cli.internal_error_logged" if where else "cli.internal_error", kind=type(exc).__name__,
                    exc=exc, log=where)
        echo(f"auditor: {said.text(lang)}", err=True)
        return EXIT_INTERNAL


def lang_of(argv: list[str]) -> str:
    """The language of messages printed before the command line is parsed (or when it cannot be): the value of
    ``--lang`` in ``argv`` (``--lang en`` or ``--lang=en``, before a ``--``), else the default language."""
    words = argv[:argv.index("--")] if "--" in argv else argv
    for i, word in enumerate(words):
        value = words[i + 1] if word == "--lang" and i + 1 < len(words) else word.partition("=")[2] \
            if word.startswith("--lang=") else None
        if value in LANGS:
            return value
    return DEFAULT_LANG
