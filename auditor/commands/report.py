"""`auditor report REPORT.json -o FILE...`: render a JSON report again, in any format, in Chinese or English.

The input must be an intact auditor JSON report (its digest, and its signature when a key is given, are
checked: an altered report is never re-rendered and re-sealed), read within the bounds and against the schema of
auditor.report_input (as is --baseline): a crafted report is refused with exit 2 and one line saying why.

Keys: ``--verify-key FILE`` checks the input's signature (an Ed25519 public key, an Ed25519 private key's public
half, or an HMAC key file); ``--sign-key FILE`` signs the re-sealed output. Re-signing with another key is
``--verify-key old.pub --sign-key new.key``. Without ``--verify-key``, ``--sign-key`` also checks a signed input
(as it always did), so a signed report is re-sealed only by a key that signed it. The
duties, score and clauses are judged again with the current packs, so a report written by an older version
renders fully; a .json output is re-sealed and records the digest of the report it was rendered from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core.options import existing_file
from ..errors import UsageError
from ..i18n import t
from ..integrity import check, signature_kind
from ..report_input import load
from ..signing import read_verify_key_file
from ..scan import pipeline
from ..terminal import echo
from .options import add_lang, add_sign_key, sign_key


def load_json_report(path: Path) -> dict[str, Any]:
    return load(path, str(path))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="render a JSON report to HTML, Markdown, XLSX, CSV...")
    p.add_argument("report", type=existing_file, metavar="REPORT.json")
    p.add_argument("--output", "-o", action="append", type=Path, default=[], required=True, metavar="FILE")
    p.add_argument("--baseline", type=existing_file, metavar="OLD.json")
    add_lang(p)
    add_sign_key(p, "sign the re-sealed report with this key; without --verify-key it also checks a signed "
                    "input's signature")
    p.add_argument("--verify-key", type=existing_file, metavar="FILE",
                   help="check the input's signature with this key (an Ed25519 .pub, or the HMAC/private key that "
                        "signed it); --sign-key then only signs the output (re-signing with another key)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    pipeline.check_outputs(args.output)  # unknown formats fail before anything is read
    key = sign_key(args)
    check_key = read_verify_key_file(args.verify_key) if args.verify_key else None
    report = load_json_report(args.report)
    integ = report.get("integrity") if isinstance(report.get("integrity"), dict) else {}
    signed = signature_kind(integ) is not None
    if check_key is None and signed:
        check_key = key  # the earlier rule: --sign-key alone checks a signed input too
    problems = check(report, check_key)
    if problems:
        raise UsageError("usage.report.altered", report=args.report, problems=problems)
    source = {"digest": integ["digest"], "signed": signed}
    baseline = load(args.baseline, f"--baseline {args.baseline}") if args.baseline else None
    pipeline.finish(report, baseline=baseline)
    report["rendered_from"] = source
    pipeline.seal(report, key)
    pipeline.write(report, args.output, args.lang)
    for out in args.output:
        echo(f"{t(args.lang, 'written')}: {out}")
    return 0
