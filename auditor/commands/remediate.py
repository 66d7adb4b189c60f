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
import sys
from pathlib import Path

from ..errors import UsageError
from ..files.rules import load_rules
from ..files.textpath import display_path
from ..remediate.maskers import CannotMask, format_problem
from ..remediate.quarantine import InQuarantine, Quarantine

FILE_CHECKS = ("PI-001", "PI-002")


def main(args: argparse.Namespace) -> int:
    action = getattr(args, "remediate_action", None)
    if action is None:
        raise UsageError("remediate: say mask, restore or list (auditor remediate --help)")
    q = Quarantine()
    if q.exists:
        for line in q.recover():
            print(f"recovered: {line}")
    return {"mask": _mask, "restore": _restore, "list": _list}[action](args, q)


def _files_from_report(path: Path) -> list[Path]:
    from ..integrity import check

    try:
        report = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--from-report {path}: not a readable JSON report ({exc})") from None
    if not isinstance(report, dict) or not isinstance(report.get("findings"), list):
        raise UsageError(f"--from-report {path}: not an auditor JSON report")
    problems = check(report)
    if problems:
        raise UsageError(f"--from-report {path}: {'; '.join(problems)}; refusing to act on it")
    out = []
    for f in report["findings"]:
        if f.get("check_id") in FILE_CHECKS:
            ref = (f.get("evidence") or {}).get("path") or (f.get("target") or {}).get("ref")
            if ref:
                out.append(Path(ref))
    return out


def _mask(args: argparse.Namespace, q: Quarantine) -> int:
    targets = [Path(p) for p in args.files]
    reported: set[str] = set()
    if args.from_report:
        from_report = _files_from_report(args.from_report)
        if not from_report:
            print(f"{args.from_report}: no PI-001/PI-002 file findings: nothing to mask")
        targets += from_report
        reported = {str(p) for p in from_report}
    if not targets:
        raise UsageError("remediate mask: give FILE… or --from-report REPORT.json")
    missing = [p for p in args.files if not os.path.lexists(p)]
    if missing:
        raise UsageError("; ".join(f"{p}: no such file" for p in missing))
    rules = load_rules()
    failed = 0
    seen: set[str] = set()
    for path in targets:
        shown = display_path(path)
        if str(path) in seen:
            continue
        seen.add(str(path))
        if "!" in str(path) and not os.path.lexists(path):
            print(f"skip {shown}: a file inside an archive; unpack the archive and mask the exports inside")
            failed += 1
            continue
        if not os.path.lexists(path):
            print(f"skip {shown}: no longer there")
            failed += 1
            continue
        problem = format_problem(path)
        if problem:
            print(f"cannot mask {shown}: {problem}")
            failed += 1
            continue
        try:
            if args.apply:
                qid, outcome = q.mask(path, rules)
                if qid is None:
                    print(f"nothing to mask in {shown}: no unmasked personal data found")
                    continue
                print(f"masked {shown}: {outcome.describe()}")
                print(f"  original quarantined as {qid} (undo: auditor remediate restore {qid} --apply)")
            else:
                outcome = q.preview(path, rules)
                if not outcome.cells_changed:
                    print(f"nothing to mask in {shown}: no unmasked personal data found")
                    continue
                print(f"would mask {shown}: {outcome.describe()}; the original would go to the quarantine")
        except InQuarantine as exc:
            if str(path) in reported and str(path) not in {str(p) for p in args.files}:
                print(f"note: {shown} passed over: {exc}")
                continue
            print(f"cannot mask {shown}: {exc}")
            failed += 1
        except CannotMask as exc:
            print(f"cannot mask {shown}: {exc}")
            failed += 1
        except OSError as exc:
            print(f"cannot mask {shown}: {exc.strerror or exc}; the file was not changed")
            failed += 1
    if not args.apply:
        print("dry run: nothing changed (add --apply to mask)")
    return 1 if failed else 0


def _restore(args: argparse.Namespace, q: Quarantine) -> int:
    qid = q.resolve(args.id)
    try:
        meta, current = q.restore_check(qid)
        if not args.apply:
            state = ("missing" if current is None else "the masked version" if current == meta["masked_sha256"]
                     else "already the original")
            print(f"would restore {display_path(meta['path'])} from {qid} (masked {meta['masked_at']}; the file is now {state})")
            print("dry run: nothing changed (add --apply to restore)")
            return 0
        path = q.restore(qid)
    except CannotMask as exc:
        print(f"cannot restore {qid}: {exc}", file=sys.stderr)
        return 1
    print(f"restored {display_path(path)} (byte for byte, SHA-256 {meta['orig_sha256'][:16]}…); {qid} removed from the quarantine")
    return 0


def _list(args: argparse.Namespace, q: Quarantine) -> int:
    items = q.items()
    damaged = q.damaged() if q.exists else []
    if not items and not damaged:
        print(f"the quarantine is empty ({q.root})")
        return 0
    print(f"quarantine: {q.root}")
    for m in items:
        print(f"{m['id']}  {m['masked_at']}  {display_path(m['path'])}  ({m['format']}, {m['rows_changed']} rows masked)")
    if damaged:
        print(f"damaged, set aside (kept, never deleted; {q.damaged_dir}):")
        for d in damaged:
            print(f"{d['id']}  {d['at']}  {d['reason']}")
    return 0
