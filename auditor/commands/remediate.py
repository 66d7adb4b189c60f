"""`auditor remediate mask FILE… | --from-report REPORT.json [--apply]`, `remediate restore ID [--apply]`,
`remediate list`.

mask     replaces each CSV/XLSX export with its masked version (same path, name and format) and moves the
         original into the owner-only quarantine; without --apply it only shows what it would do.
restore  puts a quarantined original back, byte for byte (mode and mtime too); without --apply a dry run.
list     the quarantined originals: ID, time, original path.

Every command first completes or rolls back an operation a crash interrupted, and sets aside (quarantine
`damaged/`) any journal or item that cannot be trusted (see remediate.quarantine).
Exit codes: 0 done (or would be done); 1 a file could not be masked or restored (reason printed, file left
unchanged: not a regular file, a link, inside the quarantine, its folder replaced or reached through a user's
link, formulas that still hold personal data, …); 2 usage error (no such file, unknown ID, altered report,
another remediate command at work)."""

from __future__ import annotations

import argparse
import json
import os
import stat
from pathlib import Path

from .. import safeio
from ..core.options import existing_file
from ..errors import UsageError
from ..files import locator
from ..pii.rules import load_rules
from ..files.textpath import display_path
from ..integrity import check
from ..messages import Text, Worded, localized, os_error
from ..remediate.maskers import CannotMask, format_problem
from ..remediate.quarantine import InQuarantine, Quarantine
from ..terminal import echo
from .options import ERRORS_LANG_HELP, add_lang

FILE_CHECKS = ("PI-001", "PI-002")


def add_parser(sub: argparse._SubParsersAction) -> None:
    remediate = sub.add_parser("remediate", help="mask exports in place (original quarantined), restore, list")
    rem = remediate.add_subparsers(dest="remediate_action", parser_class=type(remediate))
    mask = rem.add_parser("mask", help="replace CSV/XLSX exports with their masked version (dry run without --apply)")
    mask.add_argument("files", nargs="*", type=Path, metavar="FILE")
    mask.add_argument("--from-report", type=existing_file, metavar="REPORT.json",
                      help="mask the files of the report's PI-001/PI-002 findings")
    mask.add_argument("--apply", action="store_true", help="really do it (default: show what would happen)")
    restore = rem.add_parser("restore", help="put a quarantined original back, byte for byte")
    restore.add_argument("id", metavar="ID")
    restore.add_argument("--apply", action="store_true")
    listing = rem.add_parser("list", help="quarantined originals: ID, original path, time")
    for p in (mask, restore, listing):
        add_lang(p, ERRORS_LANG_HELP)
    remediate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "remediate_action", None)
    if action is None:
        raise UsageError("usage.remediate.choose_action")
    q = Quarantine()
    try:
        if q.exists:
            for line in q.recover():
                echo(Text("remediate.recovered", line=line).text(args.lang))
        return {"mask": _mask, "restore": _restore, "list": _list}[action](args, q)
    finally:
        q.release()  # the command is over (also when it runs inside a longer-lived process)


def _files_from_report(path: Path, lang: str) -> tuple[list[Path], int]:
    """(the files of the report's PI-001/PI-002 findings, how many could not be found). Each is found again by
    its finding's locator (the report shows paths masked: ``auditor.files.locator``); a report without locators
    (older versions) by its shown path. What is not found is printed with the reason."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise UsageError("usage.remediate.unreadable_report", path=path, exc=exc) from None
    if not isinstance(report, dict) or not isinstance(report.get("findings"), list):
        raise UsageError("usage.remediate.not_report", path=path)
    problems = check(report)
    if problems:
        raise UsageError("usage.remediate.report_altered", path=path, problems=problems)
    out: list[Path] = []
    unresolved = 0
    for f in report["findings"]:
        if not isinstance(f, dict) or f.get("check_id") not in FILE_CHECKS:
            continue
        ev = f.get("evidence") if isinstance(f.get("evidence"), dict) else {}
        target = f.get("target") if isinstance(f.get("target"), dict) else {}
        shown = ev.get("path") or target.get("ref")
        if not isinstance(shown, str) or not shown:
            continue
        if "locator" not in ev:
            out.append(Path(shown))
            continue
        found, why = locator.resolve(ev["locator"])
        out += found
        if not found:
            said = Text("remediate.in_archive") if why == "a file inside an archive" else Worded(why)
            echo(Text("remediate.skip", path=display_path(shown), why=said).text(lang))
            unresolved += 1
    return out, unresolved


def _not_a_file(path: Path) -> Text | None:
    """Why ``path`` is not a file to mask at all (a folder, a device, a FIFO…), before its extension is asked."""
    mode = os.lstat(path).st_mode
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):  # a link is judged when the file is opened
        return None
    return Text("remediate.not_a_file_folder" if stat.S_ISDIR(mode) else "remediate.not_a_file",
                kind=Worded(safeio.kind_of(mode)))


def _said(exc: Exception, lang: str) -> str:
    """Why a file could not be masked or restored, in ``lang``: our message, or words of safeio/the OS that the
    catalog recognises (``[reason.*]``), else as they are."""
    message = getattr(exc, "message", None)
    return localized(message if isinstance(message, Text) else Worded(str(exc)), lang)


def _mask(args: argparse.Namespace, q: Quarantine) -> int:
    lang = args.lang
    targets = [Path(p) for p in args.files]
    unresolved = 0
    reported: set[str] = set()
    if args.from_report:
        from_report, unresolved = _files_from_report(args.from_report, args.lang)
        if not from_report and not unresolved:
            echo(Text("remediate.no_findings", path=args.from_report).text(lang))
        targets += from_report
        reported = {str(p) for p in from_report}
    if not targets and not unresolved:
        raise UsageError("usage.remediate.mask_needs_files")
    missing = [p for p in args.files if not os.path.lexists(p)]
    if missing:
        raise UsageError("usage.remediate.no_such_file" if len(missing) == 1 else "usage.remediate.no_such_files",
                         path=missing[0], paths="; ".join(map(str, missing)))
    rules = load_rules()
    failed = unresolved
    seen: set[str] = set()
    for path in targets:
        shown = display_path(path)
        if str(path) in seen:
            continue
        seen.add(str(path))
        if "!" in str(path) and not os.path.lexists(path):
            echo(Text("remediate.skip", path=shown, why=Text("remediate.in_archive")).text(lang))
            failed += 1
            continue
        if not os.path.lexists(path):
            echo(Text("remediate.skip", path=shown, why=Text("remediate.no_longer_there")).text(lang))
            failed += 1
            continue
        problem = _not_a_file(path) or format_problem(path)
        if problem:
            echo(Text("remediate.cannot_mask", path=shown, why=problem).text(lang))
            failed += 1
            continue
        try:
            if args.apply:
                qid, outcome = q.mask(path, rules)
                if qid is None:
                    echo(Text("remediate.nothing_to_mask", path=shown).text(lang))
                    continue
                echo(Text("remediate.masked", path=shown, outcome=outcome.describe(lang)).text(lang))
                echo("  " + Text("remediate.quarantined_as", qid=qid).text(lang))
            else:
                outcome = q.preview(path, rules)
                if not outcome.cells_changed:
                    echo(Text("remediate.nothing_to_mask", path=shown).text(lang))
                    continue
                echo(Text("remediate.would_mask", path=shown, outcome=outcome.describe(lang)).text(lang))
        except InQuarantine as exc:
            if str(path) in reported and str(path) not in {str(p) for p in args.files}:
                echo(Text("remediate.passed_over", path=shown, why=_said(exc, lang)).text(lang))
                continue
            echo(Text("remediate.cannot_mask", path=shown, why=_said(exc, lang)).text(lang))
            failed += 1
        except CannotMask as exc:
            echo(Text("remediate.cannot_mask", path=shown, why=_said(exc, lang)).text(lang))
            failed += 1
        except OSError as exc:
            echo(Text("remediate.cannot_mask", path=shown,
                      why=Text("remediate.not_changed", why=os_error(exc))).text(lang))
            failed += 1
    if not args.apply:
        echo(Text("remediate.dry_run_mask").text(lang))
    return 1 if failed else 0


def _restore(args: argparse.Namespace, q: Quarantine) -> int:
    lang = args.lang
    qid = q.resolve(args.id)
    try:
        meta, current = q.restore_check(qid)
        if not args.apply:
            state = Text("remediate.state.missing" if current is None else "remediate.state.masked"
                         if current == meta["masked_sha256"] else "remediate.state.original")
            echo(Text("remediate.would_restore", path=display_path(meta["path"]), qid=qid, at=meta["masked_at"],
                      state=state).text(lang))
            echo(Text("remediate.dry_run_restore").text(lang))
            return 0
        path = q.restore(qid)
    except CannotMask as exc:
        echo(Text("remediate.cannot_restore", qid=qid, why=_said(exc, lang)).text(lang), err=True)
        return 1
    echo(Text("remediate.restored", path=display_path(path), digest=meta["orig_sha256"][:16], qid=qid).text(lang))
    return 0


def _list(args: argparse.Namespace, q: Quarantine) -> int:
    items = q.items()
    damaged = q.damaged() if q.exists else []
    lang = args.lang
    if not items and not damaged:
        echo(Text("remediate.list.empty", root=q.root).text(lang))
        return 0
    echo(Text("remediate.list.head", root=q.root).text(lang))
    for m in items:
        echo(Text("remediate.list.item", qid=m["id"], at=m["masked_at"], path=display_path(m["path"]),
                  format=m["format"], rows=m["rows_changed"]).text(lang))
    if damaged:
        echo(Text("remediate.list.damaged", folder=q.damaged_dir).text(lang))
        for d in damaged:
            echo(f"{d['id']}  {d['at']}  {d['reason']}")
    return 0
